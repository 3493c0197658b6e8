//! A UDP socket for the completion port: overlapped receives, synchronous
//! sends, ICMP resets off.

use std::io;
use std::net::SocketAddr;
use std::os::windows::io::AsRawSocket;

use socket2::{SockAddr, Socket};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Networking::WinSock::{
    WSAGetLastError, WSAIoctl, WSARecvFrom, WSASendTo, SIO_UDP_CONNRESET, SOCKADDR, SOCKET,
    SOCKET_ERROR, WSABUF, WSA_IO_PENDING,
};

use super::op::RecvOp;

/// A bound, overlapped UDP socket.
#[derive(Debug)]
pub(super) struct UdpSocket {
    socket: Socket,
    pub(super) local: SocketAddr,
}

impl UdpSocket {
    /// Wraps a bound socket2 socket (socket2 creates Windows sockets with
    /// WSA_FLAG_OVERLAPPED) and turns SIO_UDP_CONNRESET off, so that an
    /// ICMP port unreachable never fails a later receive.
    pub(super) fn new(socket: Socket) -> io::Result<Self> {
        let local = socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("socket has no IP address"))?;
        let this = Self { socket, local };
        this.disable_connreset()?;
        Ok(this)
    }

    fn raw(&self) -> SOCKET {
        self.socket.as_raw_socket() as SOCKET
    }

    /// The socket as a handle, for the completion port.
    pub(super) fn handle(&self) -> HANDLE {
        self.raw() as HANDLE
    }

    fn disable_connreset(&self) -> io::Result<()> {
        let off: u32 = 0;
        let mut returned = 0u32;
        // SAFETY: the input buffer is a live u32 of the size given; no
        // output buffer, no overlapped: a synchronous ioctl.
        let rc = unsafe {
            WSAIoctl(
                self.raw(),
                SIO_UDP_CONNRESET,
                (&off as *const u32).cast(),
                4,
                std::ptr::null_mut(),
                0,
                &mut returned,
                std::ptr::null_mut(),
                None,
            )
        };
        if rc == SOCKET_ERROR {
            // Not fatal: Wine accepts it, and without it only a later
            // receive may report a reset, which the engine reposts.
            log::debug!("SIO_UDP_CONNRESET: error {}", last_wsa_error());
        }
        Ok(())
    }

    /// Posts `op` as an overlapped WSARecvFrom. On success the OS owns the
    /// operation until its completion is dequeued; on failure it is handed
    /// back with the error.
    pub(super) fn post_recv(&self, mut op: Box<RecvOp>) -> Result<(), (Box<RecvOp>, io::Error)> {
        op.reset();
        let raw = Box::into_raw(op);
        // SAFETY: `raw` points to a live RecvOp that we stop touching until
        // its completion comes back through the port (or the error path
        // below reclaims it). Its WSABUF, flags, address buffer and length
        // live inside the same allocation, which does not move.
        let rc = unsafe {
            WSARecvFrom(
                self.raw(),
                &(*raw).wsabuf,
                1,
                std::ptr::null_mut(),
                &mut (*raw).flags,
                (&mut (*raw).from as *mut socket2::SockAddrStorage).cast::<SOCKADDR>(),
                &mut (*raw).from_len,
                &mut (*raw).overlapped,
                None,
            )
        };
        if rc == SOCKET_ERROR {
            let code = last_wsa_error();
            if code != WSA_IO_PENDING {
                // SAFETY: the call failed without starting an operation, so
                // the OS holds no reference: the box is ours again.
                let op = unsafe { Box::from_raw(raw) };
                return Err((op, io::Error::from_raw_os_error(code)));
            }
        }
        // Pending, or completed at once: either way a completion packet
        // will come (completion-port skipping is not enabled).
        Ok(())
    }

    /// Sends one datagram to `to` with a synchronous WSASendTo.
    pub(super) fn send_to(&self, bytes: &[u8], to: &SockAddr) -> io::Result<usize> {
        let buf = WSABUF {
            len: bytes.len() as u32,
            buf: bytes.as_ptr().cast_mut(),
        };
        let mut sent = 0u32;
        // SAFETY: `buf` describes the live slice `bytes` (WSASendTo only
        // reads it); `to` is a valid address of the length given; a null
        // overlapped makes the call complete before it returns.
        let rc = unsafe {
            WSASendTo(
                self.raw(),
                &buf,
                1,
                &mut sent,
                0,
                to.as_ptr().cast::<SOCKADDR>(),
                to.len(),
                std::ptr::null_mut(),
                None,
            )
        };
        if rc == SOCKET_ERROR {
            return Err(io::Error::from_raw_os_error(last_wsa_error()));
        }
        Ok(sent as usize)
    }

    /// Cancels every operation pending on this socket (from any thread).
    pub(super) fn cancel_all(&self) {
        // SAFETY: cancelling by handle with a null OVERLAPPED touches no
        // memory of ours; completions still arrive through the port.
        unsafe { windows_sys::Win32::System::IO::CancelIoEx(self.handle(), std::ptr::null()) };
    }
}

fn last_wsa_error() -> i32 {
    // SAFETY: reads this thread's last Winsock error; no arguments.
    unsafe { WSAGetLastError() }
}
