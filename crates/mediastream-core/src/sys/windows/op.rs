//! The overlapped receive: an OVERLAPPED and everything the OS writes
//! while the operation is in flight, in one heap block that does not move.

use std::net::SocketAddr;

use socket2::{SockAddr, SockAddrStorage};
use windows_sys::Win32::Networking::WinSock::WSABUF;
use windows_sys::Win32::System::IO::OVERLAPPED;

/// Largest datagram a receive takes (the UDP maximum fits).
pub(super) const RECV_BUFFER: usize = 65_536;

/// One receive operation. `overlapped` is the first field of a `repr(C)`
/// struct, so the OVERLAPPED pointer the port hands back is the pointer to
/// the whole operation.
///
/// Lifetime rule (the reason this type exists): while the OS owns the
/// operation (from a successful post until its completion is dequeued) the
/// box is leaked into a raw pointer and nothing touches it; only the
/// completion turns it back into a `Box`, so the memory cannot be freed
/// while the OS may still write to it.
#[repr(C)]
pub(super) struct RecvOp {
    pub(super) overlapped: OVERLAPPED,
    /// Which socket of the engine it reads.
    pub(super) socket: usize,
    pub(super) wsabuf: WSABUF,
    pub(super) flags: u32,
    pub(super) from: SockAddrStorage,
    pub(super) from_len: i32,
    pub(super) buffer: Box<[u8]>,
}

impl RecvOp {
    pub(super) fn new(socket: usize) -> Box<Self> {
        Box::new(Self {
            overlapped: OVERLAPPED::default(),
            socket,
            wsabuf: WSABUF {
                len: 0,
                buf: std::ptr::null_mut(),
            },
            flags: 0,
            from: SockAddrStorage::zeroed(),
            from_len: 0,
            buffer: vec![0u8; RECV_BUFFER].into_boxed_slice(),
        })
    }

    /// Clears what the last completion left and points the WSABUF at the
    /// buffer, ready to post again.
    pub(super) fn reset(&mut self) {
        self.overlapped = OVERLAPPED::default();
        self.flags = 0;
        self.from = SockAddrStorage::zeroed();
        self.from_len = self.from.size_of();
        self.wsabuf = WSABUF {
            len: self.buffer.len() as u32,
            buf: self.buffer.as_mut_ptr(),
        };
    }

    /// The sender's address, as the completed receive wrote it.
    pub(super) fn sender(&self) -> Option<SocketAddr> {
        // SAFETY: SockAddrStorage is plain data; copying it is a bitwise
        // copy of what the OS wrote, and `from_len` is the length it
        // reported for that address.
        let storage = unsafe { std::ptr::read(&self.from) };
        // SAFETY: the storage holds an address of the family it says, of
        // `from_len` bytes, as WSARecvFrom filled it in.
        let addr = unsafe { SockAddr::new(storage, self.from_len) };
        addr.as_socket()
    }
}
