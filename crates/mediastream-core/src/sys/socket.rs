use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};

use crate::marking::Marking;

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
///
/// Both options are given `size` itself, as SO_RCVBUF / SO_SNDBUF were:
/// the kernel doubles either (the other half pays for its bookkeeping),
/// so a forced buffer is what the plain option grants below the cap,
/// 2 x `size` (what iperf3 `-w size` gets), never less. Forcing half of
/// `size` would *shrink* a buffer the plain option had already doubled.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn force_buffers(socket: &Socket, size: usize) {
    use std::os::fd::AsRawFd;
    // The kernel takes an int and doubles it (saturating at INT_MAX).
    let value = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
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
    marking: Marking,
) -> io::Result<(std::net::UdpSocket, SocketBuffers)> {
    let socket = new_socket(&addr)?;
    set_marking(&socket, addr.is_ipv6(), marking)?;
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
    marking: Marking,
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
    set_marking(&socket, target.is_ipv6(), marking)?;
    let buffers = size_buffers(&socket, buffer);
    socket
        .bind(&local.into())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {local}: {e}")))?;
    socket
        .connect(&target.into())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot reach {target}: {e}")))?;
    Ok((socket.into(), buffers))
}

/// Sets the TOS byte (IPv4: IP_TOS) or traffic class (IPv6: IPV6_TCLASS)
/// every datagram of `socket` carries; nothing when `marking` sets
/// neither DSCP nor ECN. An error names the option: a marking asked for
/// and not set would make the measurement a lie.
///
/// Windows accepts IP_TOS and ignores it unless the host's policy lets
/// applications mark (real marking takes the QoS2 API); Wine passes it
/// on to the Linux socket.
pub(crate) fn set_marking(socket: &Socket, ipv6: bool, marking: Marking) -> io::Result<()> {
    let Some(tos) = marking.tos() else {
        return Ok(());
    };
    let set = if ipv6 {
        set_tclass(socket, tos)
    } else {
        socket.set_tos_v4(tos.into())
    };
    set.map_err(|e| {
        let option = if ipv6 { "IPV6_TCLASS" } else { "IP_TOS" };
        io::Error::new(
            e.kind(),
            format!("cannot set the marking ({marking}, {option} {tos:#04x}): {e}"),
        )
    })
}

#[cfg(unix)]
fn set_tclass(socket: &Socket, tos: u8) -> io::Result<()> {
    socket.set_tclass_v6(tos.into())
}

/// socket2 has no IPV6_TCLASS on Windows: the option itself (39).
#[cfg(windows)]
#[allow(unsafe_code)]
fn set_tclass(socket: &Socket, tos: u8) -> io::Result<()> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{setsockopt, IPPROTO_IPV6, IPV6_TCLASS};
    let value = i32::from(tos);
    // SAFETY: the socket is live and owned by `socket`; the value points
    // at an i32 that outlives the call, with its size.
    let rc = unsafe {
        setsockopt(
            socket.as_raw_socket() as _,
            IPPROTO_IPV6,
            IPV6_TCLASS,
            (&value as *const i32).cast(),
            size_of::<i32>() as i32,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marking::{Dscp, Ecn};

    /// Forcing past the sysctl cap never grants less than the plain
    /// option would: the kernel doubles `size` either way.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_forced_buffer_is_never_smaller_than_the_plain_one() {
        let cap = |name: &str| {
            std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
        };
        let size = 1 << 20;
        let socket = new_socket(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
        let granted = size_buffers(&socket, size);
        assert_eq!(granted.requested, size);
        // SO_RCVBUF alone: 2 x min(size, rmem_max).
        for (got, max) in [(granted.receive, "rmem_max"), (granted.send, "wmem_max")] {
            let Some(max) = cap(max) else { continue };
            assert!(got >= 2 * size.min(max), "{got} < 2 x min({size}, {max})");
            // Forced (root) or not, never more than twice what was asked.
            assert!(got <= 2 * size, "{got} > 2 x {size}");
        }
    }

    #[test]
    fn the_marking_is_set_on_the_socket_or_refused_by_name() {
        let v4 = new_socket(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
        assert_eq!(v4.tos_v4().unwrap(), 0);
        // Nothing asked: the socket is left alone.
        set_marking(&v4, false, Marking::default()).unwrap();
        assert_eq!(v4.tos_v4().unwrap(), 0);
        let af41 = Marking::new(Some(Dscp::AF41), Some(Ecn::Ect0));
        set_marking(&v4, false, af41).unwrap();
        assert_eq!(v4.tos_v4().unwrap(), 0x8a);
        // IPv6: set (Linux), or an error naming the option (Wine 8).
        let Ok(v6) = new_socket(&SocketAddr::from((Ipv6Addr::LOCALHOST, 0))) else {
            return; // no IPv6 here
        };
        match set_marking(&v6, true, af41) {
            Ok(()) => {
                #[cfg(target_os = "linux")]
                {
                    use std::os::fd::AsRawFd;
                    let mut value: libc::c_int = 0;
                    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
                    // SAFETY: a live socket; value and len are live locals
                    // of the sizes given.
                    #[allow(unsafe_code)]
                    let rc = unsafe {
                        libc::getsockopt(
                            v6.as_raw_fd(),
                            libc::IPPROTO_IPV6,
                            libc::IPV6_TCLASS,
                            (&mut value as *mut libc::c_int).cast(),
                            &mut len,
                        )
                    };
                    assert_eq!((rc, value), (0, 0x8a));
                }
            }
            // Linux sets it; only Windows (Wine) may refuse.
            #[cfg(not(windows))]
            Err(e) => panic!("{e}"),
            #[cfg(windows)]
            Err(e) => assert!(e.to_string().contains("IPV6_TCLASS"), "{e}"),
        }
    }
}
