//! The host's monotonic clock as the wire timebase.
//!
//! Two processes on one host that both stamp datagrams with the host's
//! monotonic clock (nanoseconds since boot on Linux; QueryPerformanceCounter
//! on Windows, which ctsTraffic uses too) share a clock, so a receiver can
//! read the absolute one-way delay instead of only its variation.
#![allow(unsafe_code)]

use std::time::{Duration, Instant};

use crate::time::Timebase;

/// A timebase that reads the host's monotonic clock in nanoseconds, or
/// `None` where this build cannot read it (then each stream uses its own).
pub fn host_timebase() -> Option<Timebase> {
    let (now, host) = paired_with(|| host_nanos().map(nanos_duration), 8, Duration::ZERO)?;
    let ns = i64::try_from(host.as_nanos()).ok()?;
    Some(Timebase::with_offset(now, ns))
}

/// `Instant::now()` and another clock's reading at the same moment.
///
/// `Instant` does not expose its clock's value, so the other clock is
/// read on both sides of `Instant::now()` and the midpoint kept, the
/// tightest of up to `tries` (a try whose reads are at most `enough`
/// apart is kept at once). One read beside the other was off by as long
/// as the thread was preempted between them: a process's stamps then ran
/// behind another's on the same host, and one-way delays on loopback came
/// out negative (a CLI test saw it as a "relative" delay basis). Used for
/// the host timebase, the timerfd's absolute deadlines and kernel receive
/// stamps.
pub(crate) fn paired_with(
    mut read: impl FnMut() -> Option<Duration>,
    tries: usize,
    enough: Duration,
) -> Option<(Instant, Duration)> {
    let mut best: Option<(Duration, Instant, Duration)> = None;
    for _ in 0..tries {
        let before = read()?;
        let now = Instant::now();
        let after = read()?;
        let gap = after.saturating_sub(before);
        if best.is_none_or(|(g, _, _)| gap < g) {
            best = Some((gap, now, before + gap / 2));
        }
        if gap <= enough {
            break;
        }
    }
    best.map(|(_, now, other)| (now, other))
}

fn nanos_duration(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

/// CLOCK_MONOTONIC now (the clock `Instant` reads on Linux), as a
/// duration since its zero.
#[cfg(target_os = "linux")]
pub(crate) fn monotonic() -> Option<Duration> {
    host_nanos().map(nanos_duration)
}

#[cfg(target_os = "linux")]
// time_t and c_long are 32 bits on some Linux targets.
#[allow(clippy::useless_conversion)]
fn host_nanos() -> Option<i64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the
    // call; CLOCK_MONOTONIC is the clock `Instant` reads on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (rc == 0).then(|| i64::from(ts.tv_sec) * 1_000_000_000 + i64::from(ts.tv_nsec))
}

#[cfg(windows)]
fn host_nanos() -> Option<i64> {
    use windows_sys::Win32::System::Performance::{
        QueryPerformanceCounter, QueryPerformanceFrequency,
    };
    let (mut counter, mut frequency) = (0i64, 0i64);
    // SAFETY: both pointers are to live, writable i64s for the duration of
    // the calls; the functions only write through them.
    let ok = unsafe {
        QueryPerformanceFrequency(&mut frequency) != 0 && QueryPerformanceCounter(&mut counter) != 0
    };
    if !ok || frequency <= 0 {
        return None;
    }
    let ns = i128::from(counter) * 1_000_000_000 / i128::from(frequency);
    i64::try_from(ns).ok()
}

#[cfg(not(any(target_os = "linux", windows)))]
fn host_nanos() -> Option<i64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_readings_of_the_host_clock_agree() {
        // Two timebases made at different moments read the same clock: a
        // later instant gives the same tick count through either.
        let Some(a) = host_timebase() else { return };
        std::thread::sleep(Duration::from_millis(5));
        let b = host_timebase().expect("the clock was readable a moment ago");
        let at = Instant::now();
        let skew = (a.ticks(at) - b.ticks(at)).abs();
        // Each pairing is off by at most half its tightest of 8 tries
        // (tens of ns); a millisecond would take every try preempted.
        assert!(skew < 1_000_000, "the two readings differ by {skew} ns");
        assert!(a.ticks(at) > 0);
    }
}
