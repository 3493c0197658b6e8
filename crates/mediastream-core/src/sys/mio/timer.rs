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
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use mio::unix::SourceFd;
    use mio::{Interest, Registry, Token};

    /// A timerfd on CLOCK_MONOTONIC (the clock `Instant` reads on Linux).
    #[derive(Debug)]
    pub(in super::super) struct Timer {
        fd: OwnedFd,
        /// The deadline the fd is armed for and has not yet reported:
        /// arming it again for the same one is skipped (a loop woken by
        /// sockets thousands of times a second keeps the same earliest
        /// deadline, and each timerfd_settime is a syscall).
        armed: std::cell::Cell<Option<Instant>>,
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
                armed: std::cell::Cell::new(None),
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

        /// Fires at `deadline` (at once if it has passed); `None` disarms.
        pub(in super::super) fn arm(&self, deadline: Option<Instant>) -> io::Result<()> {
            if deadline.is_some() && deadline == self.armed.get() {
                return Ok(());
            }
            self.armed.set(deadline);
            let value = match deadline {
                None => Duration::ZERO,
                // A zero it_value would disarm: fire in 1 ns instead.
                Some(at) => at
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_nanos(1)),
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
                libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut())
            };
            if rc != 0 {
                self.armed.set(None);
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }

        /// Consumes the expiration count so the fd stops being readable.
        pub(in super::super) fn clear(&self) {
            self.armed.set(None);
            let mut count = 0u64;
            // SAFETY: reads at most 8 bytes into a live u64 from our fd.
            let _ = unsafe { libc::read(self.fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        }

        /// The poll timeout to use: none, the timerfd wakes the poll.
        pub(in super::super) fn poll_timeout(
            &self,
            _deadline: Option<Instant>,
        ) -> Option<Duration> {
            None
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
