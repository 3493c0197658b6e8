//! Conversion between `Instant` and the tick counts carried on the wire.

use std::time::{Duration, Instant};

/// Maps instants to sender/receiver tick counts (nanoseconds).
///
/// The wire carries a clock reading and its frequency, like Windows'
/// QueryPerformanceCounter / QueryPerformanceFrequency. We use nanoseconds
/// (frequency 1e9) counted from `epoch`, plus an offset the embedder may
/// set so that two processes on one host share a timebase (for example the
/// host's monotonic clock reading at `epoch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timebase {
    epoch: Instant,
    offset_ticks: i64,
}

impl Timebase {
    /// Ticks per second of every timebase.
    pub const FREQUENCY: i64 = 1_000_000_000;

    /// A timebase whose tick 0 is `epoch`.
    pub fn new(epoch: Instant) -> Self {
        Self {
            epoch,
            offset_ticks: 0,
        }
    }

    /// A timebase whose reading at `epoch` is `ticks_at_epoch`.
    pub fn with_offset(epoch: Instant, ticks_at_epoch: i64) -> Self {
        Self {
            epoch,
            offset_ticks: ticks_at_epoch,
        }
    }

    /// The tick count at `at`. Instants before the epoch count backwards;
    /// the result saturates instead of overflowing.
    pub fn ticks(&self, at: Instant) -> i64 {
        let signed = match at.checked_duration_since(self.epoch) {
            Some(after) => duration_ticks(after),
            None => duration_ticks(self.epoch - at).saturating_neg(),
        };
        self.offset_ticks.saturating_add(signed)
    }
}

fn duration_ticks(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A timestamp of `ticks` at `frequency` ticks/s in nanoseconds (the
/// caller checks that `frequency` is positive). Nanosecond ticks, what
/// every mediastream sender uses, are returned as they are: a 128-bit
/// division costs more than the rest of a received datagram's
/// bookkeeping, and this runs for every one.
#[inline]
pub(crate) fn ticks_to_ns(ticks: i64, frequency: i64) -> i128 {
    if frequency == Timebase::FREQUENCY {
        i128::from(ticks)
    } else {
        i128::from(ticks) * i128::from(Timebase::FREQUENCY) / i128::from(frequency)
    }
}

/// Converts a tick difference at `frequency` ticks/s to seconds; 0 when the
/// frequency is not positive (a malformed peer).
pub fn ticks_to_secs(ticks: i64, frequency: i64) -> f64 {
    if frequency <= 0 {
        return 0.0;
    }
    ticks as f64 / frequency as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nanoseconds_from_epoch_plus_offset() {
        let epoch = Instant::now();
        let tb = Timebase::with_offset(epoch, 1_000);
        assert_eq!(tb.ticks(epoch), 1_000);
        assert_eq!(tb.ticks(epoch + Duration::from_micros(3)), 4_000);
        let later = Timebase::new(epoch + Duration::from_secs(1));
        assert_eq!(later.ticks(epoch), -1_000_000_000);
        assert_eq!(ticks_to_secs(1_500_000_000, Timebase::FREQUENCY), 1.5);
        assert_eq!(ticks_to_secs(5, 0), 0.0);
    }

    #[test]
    fn ticks_to_ns_is_exact_at_any_frequency() {
        for ticks in [0, 1, -1, 1_234_567_891_234, i64::MAX, i64::MIN] {
            for frequency in [1, 90_000, 10_000_000, Timebase::FREQUENCY, 3_000_000_000] {
                let slow = i128::from(ticks) * 1_000_000_000 / i128::from(frequency);
                assert_eq!(
                    ticks_to_ns(ticks, frequency),
                    slow,
                    "{ticks} at {frequency}"
                );
            }
        }
    }
}
