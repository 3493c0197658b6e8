//! The completion port.

use std::io;
use std::time::Duration;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE, WAIT_TIMEOUT};
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatusEx, PostQueuedCompletionStatus, OVERLAPPED,
    OVERLAPPED_ENTRY,
};

/// An I/O completion port, closed on drop.
#[derive(Debug)]
pub(super) struct Port {
    handle: HANDLE,
}

// SAFETY: a completion port handle may be used from any thread; the
// kernel object does its own synchronisation.
unsafe impl Send for Port {}
// SAFETY: as above; every method takes &self and only passes the handle
// to thread-safe kernel calls.
unsafe impl Sync for Port {}

impl Port {
    pub(super) fn new(threads: u32) -> io::Result<Self> {
        // SAFETY: INVALID_HANDLE_VALUE with no existing port asks for a new
        // port; no pointers are passed.
        let handle = unsafe {
            CreateIoCompletionPort(INVALID_HANDLE_VALUE, std::ptr::null_mut(), 0, threads)
        };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { handle })
    }

    /// Associates a socket (or any overlapped handle) with the port; its
    /// completions carry `key`.
    pub(super) fn associate(&self, handle: HANDLE, key: usize) -> io::Result<()> {
        // SAFETY: `handle` is a live socket owned by the caller and
        // `self.handle` our live port; no pointers beyond the handles.
        let r = unsafe { CreateIoCompletionPort(handle, self.handle, key, 0) };
        if r.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Queues a packet with `key` and no overlapped (a wake-up or quit).
    pub(super) fn post(&self, key: usize) -> io::Result<()> {
        // SAFETY: a null OVERLAPPED is allowed and never dereferenced.
        let ok = unsafe {
            PostQueuedCompletionStatus(self.handle, 0, key, std::ptr::null::<OVERLAPPED>())
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Takes up to `entries.len()` completions, waiting at most `timeout`
    /// (`None`: forever). Returns how many were filled in.
    pub(super) fn wait(
        &self,
        entries: &mut [OVERLAPPED_ENTRY],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let ms = timeout.map_or(u32::MAX, |t| {
            u32::try_from(t.as_millis()).unwrap_or(u32::MAX - 1)
        });
        let mut removed = 0u32;
        // SAFETY: `entries` is a live, writable slice of its stated length;
        // `removed` outlives the call.
        let ok = unsafe {
            GetQueuedCompletionStatusEx(
                self.handle,
                entries.as_mut_ptr(),
                entries.len() as u32,
                &mut removed,
                ms,
                0,
            )
        };
        if ok == 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(WAIT_TIMEOUT as i32) {
                return Ok(0);
            }
            return Err(e);
        }
        Ok(removed as usize)
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        // SAFETY: the handle is ours and closed exactly once, here.
        unsafe { CloseHandle(self.handle) };
    }
}
