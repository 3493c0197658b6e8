use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};

/// Socket buffer sizes: what was asked for and what the kernel granted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketBuffers {
    /// Requested size of each buffer, bytes.
    pub requested: usize,
    /// Receive buffer the kernel reports.
    pub receive: usize,
    /// Send buffer the kernel reports.
    pub send: usize,
}

/// Every interface on `port`: `0.0.0.0` and `[::]`. What a command line's
/// `*` means; the library never listens there unless asked.
pub fn expand_listen(port: u16) -> Vec<SocketAddr> {
    vec![
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
    ]
}

/// Asks for `size`-byte buffers; as root on Linux, past the sysctl cap.
fn size_buffers(socket: &Socket, size: usize) -> SocketBuffers {
    if size > 0 {
        if let Err(e) = socket.set_recv_buffer_size(size) {
            log::debug!("SO_RCVBUF {size}: {e}");
        }
        if let Err(e) = socket.set_send_buffer_size(size) {
            log::debug!("SO_SNDBUF {size}: {e}");
        }
        #[cfg(target_os = "linux")]
        force_buffers(socket, size);
    }
    SocketBuffers {
        requested: size,
        receive: socket.recv_buffer_size().unwrap_or(0),
        send: socket.send_buffer_size().unwrap_or(0),
    }
}

/// SO_RCVBUFFORCE / SO_SNDBUFFORCE exceed net.core.[rw]mem_max when the
/// process may (CAP_NET_ADMIN); failure just leaves the capped size.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn force_buffers(socket: &Socket, size: usize) {
    use std::os::fd::AsRawFd;
    let Ok(value) = libc::c_int::try_from(size) else {
        return;
    };
    // The kernel doubles what it is given; ask for half to get `size`.
    let value = value / 2;
    for option in [libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE] {
        // SAFETY: the fd is a live socket owned by `socket`; the option
        // value points at a c_int that outlives the call, with its size.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&value as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            log::debug!(
                "forcing socket buffer to {size}: {}",
                io::Error::last_os_error()
            );
        }
    }
}

fn new_socket(addr: &SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(*addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // `*` binds 0.0.0.0 and [::] separately on the same port.
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Claims `addr` for a server whose shards will share its port through
/// SO_REUSEPORT: binds it once *without* SO_REUSEPORT, which fails when
/// any other socket holds the port (with or without SO_REUSEPORT: another
/// mediastream server, or anything else), and returns the address bound
/// (port 0 resolved). The probe is closed again; the shards then bind
/// what it returned. Without it the kernel would let a second server
/// with SO_REUSEPORT join the port and split the clients between them.
pub(crate) fn claim_port(addr: SocketAddr) -> io::Result<SocketAddr> {
    let socket = new_socket(&addr)?;
    socket.bind(&addr.into()).map_err(|e| {
        let why = if e.kind() == io::ErrorKind::AddrInUse {
            "the port is in use by another process (or another server)".to_owned()
        } else {
            e.to_string()
        };
        io::Error::new(e.kind(), format!("cannot listen on {addr}: {why}"))
    })?;
    let local = socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other(format!("cannot listen on {addr}: no address")))?;
    Ok(local)
}

/// A non-blocking UDP socket bound to `addr`, sharing the port with the
/// other shards when `reuse_port` is set.
pub(crate) fn bind_listener(
    addr: SocketAddr,
    reuse_port: bool,
    buffer: usize,
) -> io::Result<(std::net::UdpSocket, SocketBuffers)> {
    let socket = new_socket(&addr)?;
    if reuse_port {
        #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
        socket.set_reuse_port(true)?;
    }
    let buffers = size_buffers(&socket, buffer);
    socket
        .bind(&addr.into())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    Ok((socket.into(), buffers))
}

/// A non-blocking UDP socket connected to `target`, bound to `bind` (or
/// the unspecified address of the target's family).
pub(crate) fn connect_client(
    target: SocketAddr,
    bind: Option<SocketAddr>,
    buffer: usize,
) -> io::Result<(std::net::UdpSocket, SocketBuffers)> {
    let local = bind.unwrap_or(match target {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    });
    let socket = Socket::new(
        Domain::for_address(target),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    socket.set_nonblocking(true)?;
    let buffers = size_buffers(&socket, buffer);
    socket
        .bind(&local.into())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {local}: {e}")))?;
    socket
        .connect(&target.into())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot reach {target}: {e}")))?;
    Ok((socket.into(), buffers))
}

/// Errors that concern one peer (an ICMP error came back), not the socket.
pub(crate) fn is_peer_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
    )
}

/// Sends one datagram; waits briefly if the send buffer is full. Returns
/// `Ok(false)` when it stayed full (the datagram is dropped locally).
#[cfg(not(target_os = "linux"))]
pub(crate) fn send_with_retry(mut send: impl FnMut() -> io::Result<usize>) -> io::Result<bool> {
    for _ in 0..1000 {
        match send() {
            Ok(_) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}
