//! A waitable timer the engine's timer thread sleeps on, plus an event to
//! wake it early when a nearer deadline appears.
//!
//! High resolution first (CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, Windows
//! 10 1803 and later: sub-millisecond), else a plain waitable timer, whose
//! resolution is the system tick (15.6 ms unless something raised it);
//! which one is in use is logged and reported by [`Timer::high_resolution`].

use std::io;
use std::sync::Mutex;
use std::time::Instant;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, WAIT_OBJECT_0};
use windows_sys::Win32::System::Threading::{
    CreateEventW, CreateWaitableTimerExW, SetEvent, SetWaitableTimer, WaitForMultipleObjects,
    CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, INFINITE, TIMER_ALL_ACCESS,
};

#[derive(Debug)]
pub(super) struct Timer {
    timer: HANDLE,
    wake: HANDLE,
    high_resolution: bool,
    /// The deadline the timer thread is sleeping toward.
    armed: Mutex<Option<Instant>>,
}

// SAFETY: waitable timers and events are kernel objects usable from any
// thread; `armed` is behind a mutex.
unsafe impl Send for Timer {}
// SAFETY: as above.
unsafe impl Sync for Timer {}

fn create_timer(flags: u32) -> HANDLE {
    // SAFETY: no attributes, no name: an anonymous timer; returns null on
    // failure.
    unsafe { CreateWaitableTimerExW(std::ptr::null(), std::ptr::null(), flags, TIMER_ALL_ACCESS) }
}

impl Timer {
    pub(super) fn new() -> io::Result<Self> {
        let mut high_resolution = true;
        let mut timer = create_timer(CREATE_WAITABLE_TIMER_HIGH_RESOLUTION);
        if timer.is_null() {
            high_resolution = false;
            log::info!("high-resolution waitable timer unavailable; using the system tick");
            timer = create_timer(0);
        }
        if timer.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: an anonymous auto-reset event, initially unset.
        let wake = unsafe { CreateEventW(std::ptr::null(), 0, 0, std::ptr::null()) };
        if wake.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: closing the timer we just created, once.
            unsafe { CloseHandle(timer) };
            return Err(e);
        }
        Ok(Self {
            timer,
            wake,
            high_resolution,
            armed: Mutex::new(None),
        })
    }

    pub(super) fn high_resolution(&self) -> bool {
        self.high_resolution
    }

    /// Records the deadline the next [`wait`](Self::wait) sleeps toward.
    /// Callers do this under the same lock under which producers call
    /// [`wake_if_earlier`](Self::wake_if_earlier), so no nearer deadline
    /// can slip in unseen between reading the schedule and sleeping.
    pub(super) fn set_armed(&self, deadline: Option<Instant>) {
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = deadline;
    }

    /// Sleeps until the armed deadline (forever with none) or until woken.
    pub(super) fn wait(&self) {
        let deadline = *self.armed.lock().unwrap_or_else(|p| p.into_inner());
        let handles = [self.wake, self.timer];
        let count = match deadline {
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                // Relative due time: negative, in 100 ns units; at least 1.
                let due = -((wait.as_nanos() / 100).max(1) as i64);
                // SAFETY: `due` outlives the call; no completion routine.
                let ok =
                    unsafe { SetWaitableTimer(self.timer, &due, 0, None, std::ptr::null(), 0) };
                if ok == 0 {
                    log::warn!("SetWaitableTimer: {}", io::Error::last_os_error());
                }
                2
            }
            None => 1,
        };
        // SAFETY: both handles are live for the call; waiting for any one.
        let r = unsafe { WaitForMultipleObjects(count, handles.as_ptr(), 0, INFINITE) };
        if r == WAIT_OBJECT_0 + 2 || r > WAIT_OBJECT_0 + 1 {
            log::debug!("timer wait returned {r}");
        }
    }

    /// Wakes the timer thread now.
    pub(super) fn wake(&self) {
        // SAFETY: setting our live event.
        unsafe { SetEvent(self.wake) };
    }

    /// Wakes the timer thread if `deadline` is nearer than what it sleeps
    /// toward.
    pub(super) fn wake_if_earlier(&self, deadline: Instant) {
        let armed = *self.armed.lock().unwrap_or_else(|p| p.into_inner());
        if armed.is_none_or(|a| deadline < a) {
            self.wake();
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: both handles are ours and closed once, here.
        unsafe {
            CloseHandle(self.timer);
            CloseHandle(self.wake);
        }
    }
}
