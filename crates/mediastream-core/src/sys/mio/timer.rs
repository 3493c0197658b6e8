//! A one-shot timer the poll loop can wait on.
// The only unsafe code in this backend: timerfd through libc.
#![allow(unsafe_code)]

use std::io;
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
pub(super) use linux::Timer;

/// When to arm the timer for `deadline` with an opt-in `spin` margin.
pub(super) fn wake_time(deadline: Option<Instant>, spin: Duration) -> Option<Instant> {
    deadline.map(|at| at.checked_sub(spin).unwrap_or(at))
}

/// Busy-waits until `deadline` when it is at most `spin` away: the
/// opt-in precision for the last microseconds a timer wake-up cannot
/// give. Costs a core for at most `spin` per deadline; off (zero) by
/// default.
pub(super) fn spin_until(deadline: Option<Instant>, spin: Duration) {
    let Some(at) = deadline else { return };
    if spin.is_zero() {
        return;
    }
    let now = Instant::now();
    if at > now && at - now <= spin {
        while Instant::now() < at {
            std::hint::spin_loop();
        }
    }
}
#[cfg(not(target_os = "linux"))]
pub(super) use portable::Timer;

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use std::cell::Cell;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use mio::unix::SourceFd;
    use mio::{Interest, Registry, Token};

    use crate::sys::clock::{monotonic, paired_with};

    /// A timerfd on CLOCK_MONOTONIC (the clock `Instant` reads on Linux),
    /// armed with absolute times (TFD_TIMER_ABSTIME): a relative time
    /// would be measured from when the kernel takes the call, later than
    /// the `Instant::now()` it was computed from (by the syscall's entry,
    /// or by a preemption in between), so every wake-up would drift late
    /// by that much. Timer slack (PR_SET_TIMERSLACK) does not apply to a
    /// timerfd; the poll that waits on it has no timeout.
    ///
    /// Arming costs a syscall and, in a virtual machine, a trap to the
    /// hypervisor to program the host's timer; a deadline that has already
    /// passed would also take a timer interrupt at once. So the timer is
    /// armed only for a deadline still ahead and different from the one
    /// it is armed for, and a deadline that has passed is a zero poll
    /// timeout instead. A loop at 30 Gbit/s wakes thousands of times a
    /// second for the same next frame.
    #[derive(Debug)]
    pub(in super::super) struct Timer {
        fd: OwnedFd,
        /// The deadline the timerfd is armed for and has not yet been
        /// seen to fire (`clear`); `None`: disarmed.
        armed: Cell<Option<Instant>>,
        /// An `Instant` and the CLOCK_MONOTONIC reading it stands for.
        base: (Instant, Duration),
    }

    impl Timer {
        pub(in super::super) fn new() -> io::Result<Self> {
            // SAFETY: timerfd_create takes no pointers; a negative return is
            // an error, otherwise a fresh fd this struct now owns.
            let fd = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` is valid and owned by nobody else.
            Ok(Self {
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
                armed: Cell::new(None),
                // CLOCK_MONOTONIC never fails on Linux; were it to, the
                // timer could not be armed anyway.
                base: paired_with(monotonic, 8, Duration::ZERO)
                    .ok_or_else(|| io::Error::other("CLOCK_MONOTONIC cannot be read"))?,
            })
        }

        pub(in super::super) fn register(
            &self,
            registry: &Registry,
            token: Token,
        ) -> io::Result<()> {
            registry.register(
                &mut SourceFd(&self.fd.as_raw_fd()),
                token,
                Interest::READABLE,
            )
        }

        /// Fires at `deadline`; `None` disarms. A deadline that has passed
        /// is left to [`Self::poll_timeout`] (zero), and one the timer is
        /// already armed for costs nothing. A timer left armed for a
        /// later deadline only wakes the loop once more than needed.
        pub(in super::super) fn arm(&self, deadline: Option<Instant>) -> io::Result<()> {
            if deadline == self.armed.get() {
                return Ok(());
            }
            let value = match deadline {
                // A zero it_value disarms.
                None => Duration::ZERO,
                Some(at) if at <= Instant::now() => return Ok(()),
                // CLOCK_MONOTONIC's reading at `at` (ahead, so not zero).
                Some(at) => {
                    let (base, mono) = self.base;
                    match at.checked_duration_since(base) {
                        Some(after) => mono.saturating_add(after),
                        None => mono.saturating_sub(base - at),
                    }
                    .max(Duration::from_nanos(1))
                }
            };
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: value.as_secs().min(i64::MAX as u64) as libc::time_t,
                    tv_nsec: value.subsec_nanos().into(),
                },
            };
            // SAFETY: the fd is our live timerfd; `spec` is a valid
            // itimerspec for the call's duration; old_value may be null.
            let rc = unsafe {
                libc::timerfd_settime(
                    self.fd.as_raw_fd(),
                    libc::TFD_TIMER_ABSTIME,
                    &spec,
                    std::ptr::null_mut(),
                )
            };
            if rc != 0 {
                self.armed.set(None);
                return Err(io::Error::last_os_error());
            }
            self.armed.set(deadline);
            Ok(())
        }

        /// Consumes the expiration count so the fd stops being readable.
        pub(in super::super) fn clear(&self) {
            let mut count = 0u64;
            // SAFETY: reads at most 8 bytes into a live u64 from our fd.
            let _ = unsafe { libc::read(self.fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
            // Fired: the next `arm` must program it again.
            self.armed.set(None);
        }

        /// The poll timeout to use: zero when `deadline` has passed (the
        /// timer is not armed for it), else none: the timerfd wakes the
        /// poll.
        pub(in super::super) fn poll_timeout(&self, deadline: Option<Instant>) -> Option<Duration> {
            deadline
                .filter(|&at| at <= Instant::now())
                .map(|_| Duration::ZERO)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn remaining(timer: &Timer) -> Duration {
            // SAFETY: an all-zero itimerspec is valid; gettime writes one.
            let mut spec: libc::itimerspec = unsafe { std::mem::zeroed() };
            // SAFETY: the fd is the timer's live timerfd; `spec` is writable.
            let rc = unsafe { libc::timerfd_gettime(timer.fd.as_raw_fd(), &mut spec) };
            assert_eq!(rc, 0);
            Duration::new(spec.it_value.tv_sec as u64, spec.it_value.tv_nsec as u32)
        }

        fn readable(timer: &Timer, wait_ms: i32) -> bool {
            let mut fds = libc::pollfd {
                fd: timer.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one live pollfd for the call's duration.
            unsafe { libc::poll(&mut fds, 1, wait_ms) == 1 }
        }

        #[test]
        fn absolute_deadlines_arm_disarm_and_fire() {
            let timer = Timer::new().unwrap();
            let hour = Duration::from_secs(3600);
            timer.arm(Some(Instant::now() + hour)).unwrap();
            let left = remaining(&timer);
            assert!(!left.is_zero() && left <= hour, "{left:?}");
            assert!(!readable(&timer, 0));
            timer.arm(None).unwrap();
            assert!(remaining(&timer).is_zero(), "disarmed");
            // A deadline 30 ms ahead, as an absolute CLOCK_MONOTONIC time:
            // the kernel's remaining time is at most that, and it fires.
            timer
                .arm(Some(Instant::now() + Duration::from_millis(30)))
                .unwrap();
            assert!(remaining(&timer) <= Duration::from_millis(30));
            assert!(readable(&timer, 10_000));
            timer.clear();
            assert!(!readable(&timer, 0), "the count was read");
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod portable {
    use super::*;
    use mio::{Registry, Token};

    /// No timer object: the poll timeout does the waiting.
    #[derive(Debug)]
    pub(in super::super) struct Timer;

    impl Timer {
        pub(in super::super) fn new() -> io::Result<Self> {
            Ok(Self)
        }
        pub(in super::super) fn register(&self, _: &Registry, _: Token) -> io::Result<()> {
            Ok(())
        }
        pub(in super::super) fn arm(&self, _: Option<Instant>) -> io::Result<()> {
            Ok(())
        }
        pub(in super::super) fn clear(&self) {}
        /// Rounded up to a whole millisecond, the poll's resolution.
        pub(in super::super) fn poll_timeout(&self, deadline: Option<Instant>) -> Option<Duration> {
            let wait = deadline?.saturating_duration_since(Instant::now());
            Some(Duration::from_millis(
                wait.as_nanos().div_ceil(1_000_000) as u64
            ))
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use mio::{Events, Poll, Token};

    /// Polls until the timer's event arrives (true) or `limit` passes.
    fn fires(poll: &mut Poll, limit: Duration) -> bool {
        let mut events = Events::with_capacity(4);
        let end = Instant::now() + limit;
        while Instant::now() < end {
            // An interrupted poll just goes round again.
            let _ = poll.poll(
                &mut events,
                Some(end.saturating_duration_since(Instant::now())),
            );
            if events.iter().any(|e| e.token() == Token(7)) {
                return true;
            }
        }
        false
    }

    #[test]
    fn armed_once_per_deadline_fires_and_passed_deadlines_are_zero_timeouts() {
        let mut poll = Poll::new().unwrap();
        let timer = Timer::new().unwrap();
        timer.register(poll.registry(), Token(7)).unwrap();
        // A deadline that has passed: not armed, the poll does not wait.
        let past = Instant::now();
        timer.arm(Some(past)).unwrap();
        assert_eq!(timer.poll_timeout(Some(past)), Some(Duration::ZERO));
        assert_eq!(timer.poll_timeout(None), None);
        // A deadline ahead: the timerfd wakes the poll (no poll timeout),
        // also when armed again for the same deadline.
        let ahead = Instant::now() + Duration::from_millis(5);
        timer.arm(Some(ahead)).unwrap();
        timer.arm(Some(ahead)).unwrap();
        assert!(fires(&mut poll, Duration::from_secs(10)));
        timer.clear();
        // Fired and cleared: a new deadline is armed again and fires.
        timer
            .arm(Some(Instant::now() + Duration::from_millis(5)))
            .unwrap();
        assert!(fires(&mut poll, Duration::from_secs(10)));
        timer.clear();
        // Disarmed: nothing fires.
        timer
            .arm(Some(Instant::now() + Duration::from_millis(5)))
            .unwrap();
        timer.arm(None).unwrap();
        assert!(!fires(&mut poll, Duration::from_millis(50)));
    }
}
