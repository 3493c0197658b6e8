//! What a server admits whatever a request asks: the consent it grants,
//! the jitter buffer a receiving stream may hold, and the totals (rate,
//! receive memory) over every admitted stream. Per-stream rate, length,
//! frame rate and datagram size are [`Limits`](crate::settings::Limits);
//! this holds what a single request cannot be checked against alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::pattern::{FrameReceiver, Role};
use crate::settings::StreamPlan;

/// Server-side caps on what v1 requests get, with defaults meant for a
/// server left running on a reachable address (docs/SECURITY.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Admission {
    /// Longest consent the server grants: a stream stops this long after
    /// the peer's last report, whatever the request asked (default 5 s).
    pub max_consent_timeout: Duration,
    /// Most bits per second over every admitted stream, both directions
    /// (default 4 Gbit/s).
    pub max_total_bits_per_second: u64,
    /// Largest jitter buffer a receiving stream may ask for, in bytes of
    /// frames it holds: buffered frames x frame size (default 64 MiB).
    pub max_buffer_bytes: u64,
    /// Memory all receiving streams' state may take together, counted at
    /// its bound for each stream when it is admitted (default 256 MiB).
    pub receive_memory: u64,
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            max_consent_timeout: Duration::from_secs(5),
            max_total_bits_per_second: 4_000_000_000,
            max_buffer_bytes: 64 << 20,
            receive_memory: 256 << 20,
        }
    }
}

/// Why a request was not admitted: the limit it hit, for the REFUSE and
/// the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A request over a per-stream limit (the message names it).
    OverLimit(String),
    /// The server's totals are used up for now (the message names which).
    Full(String),
}

/// The totals admitted streams hold, reserved when a stream starts and
/// released when it ends.
#[derive(Debug, Default)]
pub(crate) struct Admitted {
    bits_per_second: AtomicU64,
    receive_memory: AtomicU64,
}

/// What one stream holds of the totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Share {
    bits_per_second: u64,
    receive_memory: u64,
}

impl Share {
    /// What a stream of `plan` in `role` (the server's) holds.
    pub(crate) fn of(plan: &StreamPlan, role: Role) -> Self {
        Self {
            bits_per_second: plan.bits_per_second(),
            receive_memory: match role {
                Role::Receiver => FrameReceiver::memory_bound(plan),
                Role::Sender => 0,
            },
        }
    }
}

impl Admission {
    /// No caps beyond what the wire allows: for a server only its own
    /// process talks to (a loopback run), never for one others can reach.
    pub fn unlimited() -> Self {
        Self {
            max_consent_timeout: Duration::from_millis(super::MAX_CONSENT_TIMEOUT_MS.into()),
            max_total_bits_per_second: u64::MAX,
            max_buffer_bytes: u64::MAX,
            receive_memory: u64::MAX,
        }
    }

    /// Checks what one v1 request asks against the per-request caps.
    pub(crate) fn check_request(&self, plan: &StreamPlan, role: Role) -> Result<(), Refusal> {
        if role == Role::Receiver {
            let bytes = plan.buffered_frames().saturating_mul(plan.frame_size());
            if bytes > self.max_buffer_bytes {
                return Err(Refusal::OverLimit(format!(
                    "max-buffer-bytes {}: this buffer is {} frames x {} B = {bytes} B",
                    self.max_buffer_bytes,
                    plan.buffered_frames(),
                    plan.frame_size(),
                )));
            }
        }
        if plan.bits_per_second() > self.max_total_bits_per_second {
            return Err(Refusal::OverLimit(format!(
                "max-total-rate {} bit/s: asked for {}",
                self.max_total_bits_per_second,
                plan.bits_per_second(),
            )));
        }
        Ok(())
    }

    /// The consent timeout granted for `asked`, never above the cap.
    pub(crate) fn consent(&self, asked: Duration) -> Duration {
        asked.min(self.max_consent_timeout)
    }
}

impl Admitted {
    /// Reserves `share` if the totals allow it.
    pub(crate) fn reserve(&self, admission: &Admission, share: Share) -> Result<(), Refusal> {
        reserve_one(
            &self.bits_per_second,
            share.bits_per_second,
            admission.max_total_bits_per_second,
        )
        .map_err(|held| {
            Refusal::Full(format!(
                "busy: max-total-rate {} bit/s, {held} taken; retry later",
                admission.max_total_bits_per_second
            ))
        })?;
        reserve_one(
            &self.receive_memory,
            share.receive_memory,
            admission.receive_memory,
        )
        .map_err(|held| {
            release_one(&self.bits_per_second, share.bits_per_second);
            Refusal::Full(format!(
                "busy: receive-memory {} B, {held} taken; retry later",
                admission.receive_memory
            ))
        })
    }

    /// Whether `share` would fit now (for the reason in a REFUSE; the
    /// reservation when the stream starts decides).
    pub(crate) fn fits(&self, admission: &Admission, share: Share) -> Result<(), Refusal> {
        self.reserve(admission, share)?;
        self.release(share);
        Ok(())
    }

    /// Gives `share` back.
    pub(crate) fn release(&self, share: Share) {
        release_one(&self.bits_per_second, share.bits_per_second);
        release_one(&self.receive_memory, share.receive_memory);
    }

    /// Bits per second and receive memory held now.
    pub(crate) fn held(&self) -> (u64, u64) {
        (
            self.bits_per_second.load(Ordering::Relaxed),
            self.receive_memory.load(Ordering::Relaxed),
        )
    }
}

/// Adds `amount` to `total` unless that would pass `max`; on refusal,
/// returns what is held.
fn reserve_one(total: &AtomicU64, amount: u64, max: u64) -> Result<(), u64> {
    total
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
            held.checked_add(amount).filter(|&sum| sum <= max)
        })
        .map(|_| ())
}

fn release_one(total: &AtomicU64, amount: u64) {
    let _ = total.fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
        Some(held.saturating_sub(amount))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::StreamSettings;
    use crate::wire::v1::MAX_REASON_LEN;

    /// A REFUSE carries at most MAX_REASON_LEN bytes of reason: with the
    /// widest numbers every reason still fits whole, limit name first.
    #[test]
    fn every_reason_fits_a_refuse_with_its_limit_named() {
        let wide = Admission {
            max_consent_timeout: Duration::from_secs(600),
            max_total_bits_per_second: u64::MAX - 1,
            max_buffer_bytes: 1,
            receive_memory: u64::MAX - 1,
        };
        let plan = StreamSettings::new(100_000_000_000, 10_000, 604_800)
            .plan()
            .unwrap();
        let mut reasons = Vec::new();
        if let Err(Refusal::OverLimit(r)) = wide.check_request(&plan, Role::Receiver) {
            reasons.push(r);
        }
        let tight = Admission {
            max_total_bits_per_second: 1,
            ..wide
        };
        if let Err(Refusal::OverLimit(r)) = tight.check_request(&plan, Role::Sender) {
            reasons.push(r);
        }
        let full = Admitted::default();
        full.bits_per_second.store(u64::MAX - 2, Ordering::Relaxed);
        if let Err(Refusal::Full(r)) = full.reserve(&wide, Share::of(&plan, Role::Sender)) {
            reasons.push(r);
        }
        full.bits_per_second.store(0, Ordering::Relaxed);
        full.receive_memory.store(u64::MAX - 2, Ordering::Relaxed);
        if let Err(Refusal::Full(r)) = full.reserve(&wide, Share::of(&plan, Role::Receiver)) {
            reasons.push(r);
        }
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        for (reason, name) in reasons.iter().zip([
            "max-buffer-bytes",
            "max-total-rate",
            "max-total-rate",
            "receive-memory",
        ]) {
            assert!(
                reason.len() <= MAX_REASON_LEN,
                "{} > {MAX_REASON_LEN}: {reason}",
                reason.len()
            );
            assert!(reason.contains(name), "{reason}");
        }
        // Nothing leaked from the refused reservations.
        assert_eq!(full.held(), (0, u64::MAX - 2));
    }
}
