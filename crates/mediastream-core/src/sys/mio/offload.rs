//! Linux UDP segmentation offload: a run of equal-size datagrams leaves
//! in one `sendmsg` with UDP_SEGMENT (GSO); where the kernel refuses,
//! `sendmmsg`; where that is missing, one `sendto` each. Receives use
//! UDP_GRO, so one `recvmsg` can return many coalesced datagrams. Each
//! fallback is chosen at run time, once, from what the kernel answers.
// The FFI boundary: every unsafe block says why it holds.
#![allow(unsafe_code)]

use std::io;
use std::mem::{size_of, zeroed};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use socket2::{SockAddr, SockAddrStorage};

/// Most segments one GSO send may carry (the kernel's UDP_MAX_SEGMENTS).
pub(crate) const MAX_GSO_SEGMENTS: usize = 64;
/// Most bytes one GSO send may carry.
const MAX_GSO_BYTES: usize = 65_000;

/// The send paths, best first.
const GSO: u8 = 0;
const MMSG: u8 = 1;
const PLAIN: u8 = 2;

/// Which send path the kernel accepted; shared by a socket's users.
#[derive(Debug)]
pub(crate) struct SendPath(AtomicU8);

impl Default for SendPath {
    fn default() -> Self {
        Self(AtomicU8::new(GSO))
    }
}

impl SendPath {
    /// How many datagrams of `segment` bytes one send may take.
    pub(crate) fn max_segments(&self, segment: usize) -> usize {
        if self.0.load(Ordering::Relaxed) == PLAIN {
            1
        } else {
            (MAX_GSO_BYTES / segment.max(1)).clamp(1, MAX_GSO_SEGMENTS)
        }
    }

    /// The path in use, for reports: "gso", "sendmmsg" or "sendto".
    pub(crate) fn name(&self) -> &'static str {
        match self.0.load(Ordering::Relaxed) {
            GSO => "gso",
            MMSG => "sendmmsg",
            _ => "sendto",
        }
    }

    fn downgrade(&self, from: u8, e: &io::Error) {
        if self
            .0
            .compare_exchange(from, from + 1, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            log::info!(
                "UDP send path {} refused ({e}); falling back",
                ["gso", "sendmmsg"][from as usize]
            );
        }
    }
}

/// Errors that mean "this kernel or device does not do that", not "this
/// send failed".
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP | libc::ENOSYS)
    )
}

/// Retries a send while the socket buffer is full, for a bounded time.
///
/// With IP_RECVERR on, an ICMP error caused by an earlier send to any
/// peer sets the socket's pending error, and the next call on the socket,
/// whichever peer it is for, fails with it once (and clears it). That
/// error belongs to the error queue (`recv_icmp_error`), not to this
/// send: try again, a few times, so that a send that really cannot go
/// (no route) still fails.
fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut pending = 0;
    for _ in 0..10_000 {
        match op() {
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted =>
            {
                std::thread::yield_now()
            }
            Err(e) if pending < 3 && crate::sys::socket::is_peer_error(&e) => pending += 1,
            other => return other,
        }
    }
    Err(io::Error::from(io::ErrorKind::WouldBlock))
}

/// ENOBUFS: a queue on the way out (a qdisc, the device) dropped what
/// this call handed over. The kernel says so only with IP_RECVERR on
/// (otherwise it counts the drop and reports success); either way the
/// datagrams left our hands, so this is a loss on the path, not a failed
/// send, and nothing is sent again.
fn dropped_locally(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOBUFS)
}

fn cvt(rc: isize) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

/// Sends `data`, a run of datagrams of `segment` bytes (the last may be
/// shorter), to `to`.
pub(crate) fn send(
    fd: RawFd,
    to: &SockAddr,
    data: &[u8],
    segment: usize,
    path: &SendPath,
) -> io::Result<()> {
    if data.len() <= segment {
        return match retry(|| sendto(fd, to, data)) {
            Err(e) if !dropped_locally(&e) => Err(e),
            _ => Ok(()),
        };
    }
    if path.0.load(Ordering::Relaxed) == GSO {
        match retry(|| sendmsg_gso(fd, to, data, segment)) {
            Ok(_) => return Ok(()),
            Err(e) if dropped_locally(&e) => return Ok(()),
            Err(e) if unsupported(&e) => path.downgrade(GSO, &e),
            Err(e) => return Err(e),
        }
    }
    if path.0.load(Ordering::Relaxed) == MMSG {
        match sendmmsg_all(fd, to, data, segment) {
            Ok(()) => return Ok(()),
            Err(e) if unsupported(&e) => path.downgrade(MMSG, &e),
            Err(e) => return Err(e),
        }
    }
    for chunk in data.chunks(segment) {
        match retry(|| sendto(fd, to, chunk)) {
            Err(e) if !dropped_locally(&e) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn sendto(fd: RawFd, to: &SockAddr, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `data` is a live slice of the given length, only read; `to`
    // is a valid address of its stated length.
    cvt(unsafe {
        libc::sendto(
            fd,
            data.as_ptr().cast(),
            data.len(),
            0,
            to.as_ptr().cast(),
            to.len(),
        )
    })
}

/// Control-message space for one cmsg carrying an int, 8-byte aligned.
#[repr(C, align(8))]
struct Cmsg([u8; 64]);

fn sendmsg_gso(fd: RawFd, to: &SockAddr, data: &[u8], segment: usize) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    let mut control = Cmsg([0; 64]);
    // SAFETY: an all-zero msghdr is a valid empty message.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = to.as_ptr().cast_mut().cast();
    msg.msg_namelen = to.len();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as _;
    // SAFETY: msg_control points at 64 aligned bytes, more than
    // CMSG_SPACE(2); CMSG_FIRSTHDR returns a pointer inside them, and the
    // u16 is written within the header's data area.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_UDP;
        (*cmsg).cmsg_type = libc::UDP_SEGMENT;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment as u16);
    }
    // SAFETY: every pointer in `msg` refers to live locals or to `data`
    // and `to`, which outlive the call; the kernel only reads them.
    cvt(unsafe { libc::sendmsg(fd, &msg, 0) })
}

fn sendmmsg_all(fd: RawFd, to: &SockAddr, data: &[u8], segment: usize) -> io::Result<()> {
    let chunks: Vec<&[u8]> = data.chunks(segment).collect();
    let mut iovs: Vec<libc::iovec> = chunks
        .iter()
        .map(|c| libc::iovec {
            iov_base: c.as_ptr().cast_mut().cast(),
            iov_len: c.len(),
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = iovs
        .iter_mut()
        .map(|iov| {
            // SAFETY: an all-zero mmsghdr is a valid empty message.
            let mut m: libc::mmsghdr = unsafe { zeroed() };
            m.msg_hdr.msg_name = to.as_ptr().cast_mut().cast();
            m.msg_hdr.msg_namelen = to.len();
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    let mut done = 0;
    while done < msgs.len() {
        let rest = &mut msgs[done..];
        // SAFETY: `rest` is a live array of initialised mmsghdr whose
        // pointers refer to `iovs`, `data` and `to`, all alive here.
        let sent = match retry(|| {
            cvt(unsafe { libc::sendmmsg(fd, rest.as_mut_ptr(), rest.len() as u32, 0) } as isize)
        }) {
            Ok(sent) => sent,
            // The first message was dropped on the way out: go on after it.
            Err(e) if dropped_locally(&e) => 1,
            Err(e) => return Err(e),
        };
        if sent == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero));
        }
        done += sent;
    }
    Ok(())
}

/// Sets an int socket option to 1; false when the kernel refuses.
fn switch_on(fd: RawFd, level: libc::c_int, name: libc::c_int) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: the option value is a live c_int of the size given.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as u32,
        )
    };
    rc == 0
}

/// Turns UDP_GRO on; false when the kernel does not have it.
pub(crate) fn enable_gro(fd: RawFd) -> bool {
    switch_on(fd, libc::SOL_UDP, libc::UDP_GRO)
}

/// Turns on SO_TIMESTAMPNS: the kernel stamps each datagram when it
/// arrives, so a busy receiver still measures arrival, not its own read.
/// False when the kernel refuses.
pub(crate) fn enable_timestamps(fd: RawFd) -> bool {
    switch_on(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS)
}

/// Turns on IP_RECVERR (IPV6_RECVERR on an IPv6 socket): ICMP errors our
/// sends cause are queued on the socket with the destination they were
/// for, where an unconnected socket would otherwise never hear of them.
/// False when the kernel refuses.
pub(crate) fn enable_recverr(fd: RawFd, ipv6: bool) -> bool {
    if ipv6 {
        switch_on(fd, libc::SOL_IPV6, libc::IPV6_RECVERR)
    } else {
        switch_on(fd, libc::SOL_IP, libc::IP_RECVERR)
    }
}

/// Control-message space for a receive: UDP_GRO's int, SCM_TIMESTAMPNS's
/// timespec or IP_RECVERR's extended error and address, with room to
/// spare, 8-byte aligned.
#[repr(C, align(8))]
struct RecvCmsg([u8; 256]);

/// Reads a `T` from a control message's data, if it is long enough.
fn cmsg_value<T: Copy>(data: &[u8]) -> Option<T> {
    // SAFETY: `data` holds at least size_of::<T>() initialised bytes, and
    // the read is unaligned; callers only use plain-old-data kernel
    // structs, for which any bytes are a valid value.
    (data.len() >= size_of::<T>())
        .then(|| unsafe { std::ptr::read_unaligned(data.as_ptr().cast()) })
}

/// One `recvmsg(fd, flags)` into `buf`: the length and the message's
/// address (the sender; for the error queue, the original destination).
/// `on_cmsg` sees each control message's level, type and data.
fn recvmsg_with(
    fd: RawFd,
    buf: &mut [u8],
    flags: libc::c_int,
    mut on_cmsg: impl FnMut(libc::c_int, libc::c_int, &[u8]),
) -> io::Result<(usize, Option<SocketAddr>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut storage = SockAddrStorage::zeroed();
    let mut control = RecvCmsg([0; 256]);
    // SAFETY: an all-zero msghdr is a valid empty message.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut storage as *mut SockAddrStorage).cast();
    msg.msg_namelen = storage.size_of();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len() as _;
    // SAFETY: every pointer in `msg` refers to live, writable locals or to
    // `buf`, each with the length given.
    let len = cvt(unsafe { libc::recvmsg(fd, &mut msg, flags) })?;
    // SAFETY: the kernel has just filled `msg` (control messages and
    // address) for this call.
    let from = unsafe { walk_received(&msg, storage, &mut on_cmsg) };
    Ok((len, from))
}

/// Walks the control messages of a `msghdr` the kernel has just filled
/// and returns its address.
///
/// # Safety
/// `msg` must be one the kernel filled in a receive call: its control
/// buffer holds msg_controllen valid bytes, and `storage` is the buffer
/// its msg_name pointed to.
unsafe fn walk_received(
    msg: &libc::msghdr,
    storage: SockAddrStorage,
    on_cmsg: &mut impl FnMut(libc::c_int, libc::c_int, &[u8]),
) -> Option<SocketAddr> {
    // SAFETY: the kernel filled msg_controllen bytes of the control
    // buffer; the CMSG_* macros walk only within them, and each message's
    // data runs from CMSG_DATA to the end of its cmsg_len.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            let header = libc::CMSG_LEN(0) as usize;
            let data_len = ((*cmsg).cmsg_len as usize).saturating_sub(header);
            let data = std::slice::from_raw_parts(libc::CMSG_DATA(cmsg), data_len);
            on_cmsg((*cmsg).cmsg_level, (*cmsg).cmsg_type, data);
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    let namelen = msg.msg_namelen;
    // SAFETY: the kernel wrote an address of `namelen` bytes of its family
    // into `storage` (or nothing: then the length is 0 and as_socket()
    // says None).
    unsafe { SockAddr::new(storage, namelen) }.as_socket()
}

/// An ICMP error the kernel queued for one of our sends.
#[derive(Debug)]
pub(crate) struct IcmpError {
    /// Where the datagram that drew it was going.
    pub(crate) remote: SocketAddr,
    /// What the ICMP message says (ECONNREFUSED: port unreachable).
    pub(crate) error: io::Error,
}

/// One entry of a socket's error queue.
#[derive(Debug)]
pub(crate) enum Queued {
    /// The queue is empty.
    Empty,
    /// An ICMP error for one of our sends.
    Icmp(IcmpError),
    /// Something else (a local error): taken off, nothing to act on.
    Other,
}

/// Takes one entry off the socket's error queue (see [`enable_recverr`]).
pub(crate) fn recv_icmp_error(fd: RawFd) -> io::Result<Queued> {
    // The queued datagram itself is not needed: a small buffer truncates it.
    let mut data = [0u8; 64];
    let mut errno = None;
    let read = recvmsg_with(
        fd,
        &mut data,
        libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        |level, kind, value| {
            let extended = (level == libc::SOL_IP && kind == libc::IP_RECVERR)
                || (level == libc::SOL_IPV6 && kind == libc::IPV6_RECVERR);
            if let Some(ee) = cmsg_value::<libc::sock_extended_err>(value).filter(|_| extended) {
                if ee.ee_origin == libc::SO_EE_ORIGIN_ICMP
                    || ee.ee_origin == libc::SO_EE_ORIGIN_ICMP6
                {
                    errno = i32::try_from(ee.ee_errno).ok();
                }
            }
        },
    );
    let (_, remote) = match read {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Queued::Empty),
        other => other?,
    };
    Ok(match (remote, errno) {
        (Some(remote), Some(errno)) => Queued::Icmp(IcmpError {
            remote,
            error: io::Error::from_raw_os_error(errno),
        }),
        _ => Queued::Other,
    })
}

/// What one `recvmsg` returned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    /// Bytes received.
    pub(crate) len: usize,
    /// The size of each datagram in them (GRO may have coalesced several;
    /// equal to the length when it did not).
    pub(crate) segment: usize,
    /// The sender.
    pub(crate) from: Option<SocketAddr>,
    /// When the kernel received it (SO_TIMESTAMPNS), on `Instant`'s clock.
    pub(crate) arrival: Option<Instant>,
    /// Its TOS / traffic-class byte (IP_RECVTOS, IPV6_RECVTCLASS). The
    /// kernel coalesces only datagrams with the same byte, so a GRO run
    /// shares one.
    pub(crate) tos: Option<u8>,
}

/// The TOS / traffic-class byte a receive's control message carries:
/// IP_TOS (one byte, IPv4 with IP_RECVTOS) or IPV6_TCLASS (an int, IPv6
/// with IPV6_RECVTCLASS); `None` for any other message.
pub(crate) fn tos_of_cmsg(level: libc::c_int, kind: libc::c_int, data: &[u8]) -> Option<u8> {
    if level == libc::SOL_IP && kind == libc::IP_TOS {
        data.first().copied()
    } else if level == libc::SOL_IPV6 && kind == libc::IPV6_TCLASS {
        cmsg_value::<libc::c_int>(data).and_then(|v| u8::try_from(v).ok())
    } else {
        None
    }
}

/// Turns on IP_RECVTOS (and IPV6_RECVTCLASS on an IPv6 socket): each
/// receive says what TOS / traffic class its datagram arrived with.
/// False when the kernel refuses.
pub(crate) fn enable_recv_tos(fd: RawFd, ipv6: bool) -> bool {
    if ipv6 {
        switch_on(fd, libc::SOL_IPV6, libc::IPV6_RECVTCLASS)
    } else {
        switch_on(fd, libc::SOL_IP, libc::IP_RECVTOS)
    }
}

/// The kernel's receive time (CLOCK_REALTIME) on `Instant`'s clock: now
/// minus how long ago it was. `None` when the wall clock stepped (the
/// stamp is in the future or over a second old).
fn arrival_of(stamp: &libc::timespec) -> Option<Instant> {
    // The tighter of up to three pairings (a try under 20 us is kept at
    // once): this runs for every receive.
    let wall_clock = || SystemTime::now().duration_since(UNIX_EPOCH).ok();
    let (now, wall) = crate::sys::clock::paired_with(wall_clock, 3, Duration::from_micros(20))?;
    let kernel = Duration::new(
        u64::try_from(stamp.tv_sec).ok()?,
        u32::try_from(stamp.tv_nsec).ok()?,
    );
    let age = wall.checked_sub(kernel)?;
    if age > Duration::from_secs(1) {
        return None;
    }
    now.checked_sub(age)
}

/// What a receive's control messages say: GRO's segment size, the
/// kernel's timestamp, the TOS byte.
#[derive(Default)]
struct Meta {
    segment: Option<usize>,
    arrival: Option<Instant>,
    tos: Option<u8>,
}

impl Meta {
    fn on_cmsg(&mut self, level: libc::c_int, kind: libc::c_int, value: &[u8]) {
        if level == libc::SOL_UDP && kind == libc::UDP_GRO {
            self.segment = cmsg_value::<libc::c_int>(value)
                .and_then(|size| usize::try_from(size).ok())
                .filter(|&size| size > 0);
        } else if level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS {
            self.arrival = cmsg_value::<libc::timespec>(value).and_then(|t| arrival_of(&t));
        } else if let Some(byte) = tos_of_cmsg(level, kind, value) {
            self.tos = Some(byte);
        }
    }

    fn received(self, len: usize, from: Option<SocketAddr>) -> Received {
        Received {
            len,
            segment: self.segment.unwrap_or(len).max(1),
            from,
            arrival: self.arrival,
            tos: self.tos,
        }
    }
}

/// One `recvmsg`, with GRO's segment size and the kernel's timestamp.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
    let mut meta = Meta::default();
    let (len, from) = recvmsg_with(fd, buf, 0, |level, kind, value| {
        meta.on_cmsg(level, kind, value);
    })?;
    Ok(meta.received(len, from))
}

/// Most receives one [`recv_many`] takes.
pub(crate) const RECV_BATCH: usize = 8;

/// Up to [`RECV_BATCH`] receives in one `recvmmsg`, into consecutive
/// chunks of `buf` (`buf.len() / RECV_BATCH` bytes each; a GRO run needs
/// 64 KiB); `each` gets where each receive's bytes start in `buf` and
/// what it returned; the count is returned. Fewer than asked means
/// the socket's queue was empty when the call returned, so an
/// edge-triggered poller needs no further read to learn it: a datagram
/// that arrives later raises a new event.
pub(crate) fn recv_many(
    fd: RawFd,
    buf: &mut [u8],
    mut each: impl FnMut(usize, Received),
) -> io::Result<usize> {
    let chunk = (buf.len() / RECV_BATCH).max(1);
    // SAFETY: an all-zero iovec is a valid empty one.
    let mut iovs: [libc::iovec; RECV_BATCH] = unsafe { zeroed() };
    let mut n = 0;
    for (iov, c) in iovs.iter_mut().zip(buf.chunks_exact_mut(chunk)) {
        iov.iov_base = c.as_mut_ptr().cast();
        iov.iov_len = c.len();
        n += 1;
    }
    let mut storages: [SockAddrStorage; RECV_BATCH] =
        std::array::from_fn(|_| SockAddrStorage::zeroed());
    let mut controls: [RecvCmsg; RECV_BATCH] = std::array::from_fn(|_| RecvCmsg([0; 256]));
    // SAFETY: an all-zero mmsghdr is a valid empty message.
    let mut msgs: [libc::mmsghdr; RECV_BATCH] = unsafe { zeroed() };
    for i in 0..n {
        let hdr = &mut msgs[i].msg_hdr;
        hdr.msg_name = (&mut storages[i] as *mut SockAddrStorage).cast();
        hdr.msg_namelen = storages[i].size_of();
        hdr.msg_iov = &mut iovs[i];
        hdr.msg_iovlen = 1;
        hdr.msg_control = controls[i].0.as_mut_ptr().cast();
        hdr.msg_controllen = controls[i].0.len() as _;
    }
    // SAFETY: the first `n` headers point at live, writable locals and at
    // disjoint chunks of `buf`, each with the length given; the timeout
    // is null (the socket is non-blocking).
    let rc = unsafe { libc::recvmmsg(fd, msgs.as_mut_ptr(), n as _, 0, std::ptr::null_mut()) };
    let got = cvt(rc as isize)?;
    for (i, (msg, storage)) in msgs.iter().zip(storages).take(got).enumerate() {
        let mut meta = Meta::default();
        // SAFETY: the kernel filled this header in the call above.
        let from = unsafe {
            walk_received(&msg.msg_hdr, storage, &mut |level, kind, value| {
                meta.on_cmsg(level, kind, value);
            })
        };
        each(i * chunk, meta.received(msg.msg_len as usize, from));
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_run_leaves_as_separate_datagrams_whatever_the_path() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = SockAddr::from(rx.local_addr().unwrap());
        // 3 x 100 + 40: four datagrams in one call.
        let data: Vec<u8> = (0..340u32).map(|i| (i / 100) as u8).collect();
        for start in [GSO, MMSG, PLAIN] {
            let path = SendPath(AtomicU8::new(start));
            send(tx.as_raw_fd(), &to, &data, 100, &path).unwrap();
            let mut buf = [0u8; 2048];
            let sizes: Vec<usize> = (0..4).map(|_| rx.recv(&mut buf).unwrap()).collect();
            assert_eq!(sizes, vec![100, 100, 100, 40], "path {start}");
        }
    }

    #[test]
    fn recv_many_takes_what_is_queued_in_one_call() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(enable_timestamps(rx.as_raw_fd()));
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..(RECV_BATCH + 3) {
            tx.send_to(&[i as u8; 100], rx.local_addr().unwrap())
                .unwrap();
        }
        // Loopback delivers within the send call; give it a moment anyway.
        std::thread::sleep(Duration::from_millis(20));
        rx.set_nonblocking(true).unwrap();
        let mut buf = vec![0u8; RECV_BATCH * 2048];
        let mut seen = Vec::new();
        let full = recv_many(rx.as_raw_fd(), &mut buf, |at, r| seen.push((at, r))).unwrap();
        assert_eq!(full, RECV_BATCH, "a full batch: more may wait");
        // Each in its own chunk of the buffer, in the order sent.
        for (i, &(at, _)) in seen.iter().enumerate() {
            assert_eq!(buf[at], i as u8, "receive {i} at {at}");
        }
        let rest = recv_many(rx.as_raw_fd(), &mut buf, |at, r| seen.push((at, r))).unwrap();
        assert_eq!(rest, 3, "the rest: fewer than a batch, the queue is empty");
        for (i, &(at, _)) in seen[RECV_BATCH..].iter().enumerate() {
            assert_eq!(
                buf[at],
                (RECV_BATCH + i) as u8,
                "receive {} at {at}",
                RECV_BATCH + i
            );
        }
        let offsets: Vec<usize> = seen.iter().map(|(at, _)| *at).collect();
        let want: Vec<usize> = (0..RECV_BATCH).chain(0..3).map(|i| i * 2048).collect();
        assert_eq!(offsets, want);
        for (n, (_, r)) in seen.iter().enumerate() {
            assert_eq!(
                (r.len, r.from),
                (100, Some(tx.local_addr().unwrap())),
                "receive {n}"
            );
            assert!(r.arrival.is_some(), "kernel timestamp of receive {n}");
        }
        let empty = recv_many(rx.as_raw_fd(), &mut buf, |_, _| {});
        assert_eq!(empty.unwrap_err().kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn gro_receive_splits_into_the_sent_datagrams() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let gro = enable_gro(rx.as_raw_fd());
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = SockAddr::from(rx.local_addr().unwrap());
        let data = vec![7u8; 1400 * 10];
        send(tx.as_raw_fd(), &to, &data, 1400, &SendPath::default()).unwrap();
        let mut buf = vec![0u8; 65_536];
        let mut total = 0;
        let mut datagrams = 0;
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        while datagrams < 10 {
            let r = recv(rx.as_raw_fd(), &mut buf).unwrap();
            assert_eq!(r.from, Some(tx.local_addr().unwrap()));
            assert_eq!(r.segment, 1400.min(r.len), "gro enabled: {gro}");
            total += r.len;
            datagrams += r.len.div_ceil(r.segment);
        }
        assert_eq!((total, datagrams), (14_000, 10));
    }

    #[test]
    fn port_unreachable_is_queued_with_the_destination_and_sends_go_on() {
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(enable_recverr(tx.as_raw_fd(), false));
        // A port nobody listens on: bind one, learn it, close it.
        let gone = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let alive = UdpSocket::bind("127.0.0.1:0").unwrap();
        alive
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let path = SendPath::default();
        send(tx.as_raw_fd(), &SockAddr::from(gone), b"anyone?", 64, &path).unwrap();
        // The ICMP error is now pending on the socket: a send to another
        // peer still goes (the pending error is not its failure).
        std::thread::sleep(Duration::from_millis(20));
        let to = SockAddr::from(alive.local_addr().unwrap());
        send(tx.as_raw_fd(), &to, b"still here", 64, &path).unwrap();
        let mut buf = [0u8; 64];
        let (n, _) = alive.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"still here");
        // The queue names the destination that drew it.
        match recv_icmp_error(tx.as_raw_fd()).unwrap() {
            Queued::Icmp(e) => {
                assert_eq!(e.remote, gone);
                assert_eq!(e.error.kind(), io::ErrorKind::ConnectionRefused);
            }
            other => panic!("expected port unreachable, got {other:?}"),
        }
        assert!(matches!(
            recv_icmp_error(tx.as_raw_fd()).unwrap(),
            Queued::Empty
        ));
    }

    #[test]
    fn kernel_timestamps_say_when_a_datagram_arrived_not_when_it_was_read() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(enable_timestamps(rx.as_raw_fd()));
        // The first socket to ask makes the kernel start stamping on
        // receive from a deferred work item; until it has run, a datagram
        // is stamped when read. Give it time (a server's sockets live far
        // longer than this).
        std::thread::sleep(Duration::from_millis(200));
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = Instant::now();
        tx.send_to(b"stamp me", rx.local_addr().unwrap()).unwrap();
        let sent = Instant::now();
        // Read it 50 ms later: the stamp still says when it came in.
        std::thread::sleep(Duration::from_millis(50));
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 64];
        let r = recv(rx.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..r.len], b"stamp me");
        let arrival = r.arrival.expect("loopback stamps every datagram");
        // Wall and monotonic clocks are read a moment apart: allow 5 ms.
        let slack = Duration::from_millis(5);
        assert!(
            arrival + slack >= before,
            "{:?} before the send",
            before - arrival
        );
        assert!(
            arrival <= sent + slack,
            "{:?} after the send",
            arrival - sent
        );
    }

    #[test]
    fn tos_comes_from_ip_tos_or_ipv6_tclass_and_nothing_else() {
        assert_eq!(tos_of_cmsg(libc::SOL_IP, libc::IP_TOS, &[0x8a]), Some(0x8a));
        assert_eq!(tos_of_cmsg(libc::SOL_IP, libc::IP_TOS, &[]), None);
        let tclass = 0xb9i32.to_ne_bytes();
        assert_eq!(
            tos_of_cmsg(libc::SOL_IPV6, libc::IPV6_TCLASS, &tclass),
            Some(0xb9)
        );
        // Short or out of range: not a traffic class.
        assert_eq!(
            tos_of_cmsg(libc::SOL_IPV6, libc::IPV6_TCLASS, &[1, 0]),
            None
        );
        let big = 256i32.to_ne_bytes();
        assert_eq!(tos_of_cmsg(libc::SOL_IPV6, libc::IPV6_TCLASS, &big), None);
        // Same numbers at other levels are other options.
        assert_eq!(tos_of_cmsg(libc::SOL_SOCKET, libc::IP_TOS, &[1]), None);
        assert_eq!(tos_of_cmsg(libc::SOL_IP, libc::IPV6_TCLASS, &tclass), None);
        assert_eq!(tos_of_cmsg(libc::SOL_UDP, libc::UDP_GRO, &tclass), None);
    }

    /// A marked socket's datagrams arrive with their TOS / traffic class
    /// read in the same recvmsg as GRO's segment size and the timestamp,
    /// one byte for a whole GRO run; IPv4 and IPv6.
    #[test]
    fn marking_is_read_with_gro_and_timestamps() {
        use crate::marking::{Dscp, Ecn, Marking};
        use crate::sys::socket::set_marking;
        for (any, tos, ecn) in [
            ("127.0.0.1:0", 0x8a, Ecn::Ect0),
            ("[::1]:0", 0x89, Ecn::Ect1),
        ] {
            let v6 = any.starts_with('[');
            let Ok(rx) = UdpSocket::bind(any) else {
                assert!(v6, "no IPv4 loopback");
                continue; // no IPv6 on this host
            };
            enable_gro(rx.as_raw_fd());
            assert!(enable_timestamps(rx.as_raw_fd()));
            assert!(enable_recv_tos(rx.as_raw_fd(), v6));
            let tx = socket2::Socket::from(UdpSocket::bind(any).unwrap());
            let marking = Marking::new(Some(Dscp::AF41), Some(ecn));
            assert_eq!(marking.tos(), Some(tos));
            set_marking(&tx, v6, marking).unwrap();
            let to = SockAddr::from(rx.local_addr().unwrap());
            let data = vec![7u8; 1000 * 8];
            send(tx.as_raw_fd(), &to, &data, 1000, &SendPath::default()).unwrap();
            rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = vec![0u8; 65_536];
            let mut datagrams = 0;
            while datagrams < 8 {
                let r = recv(rx.as_raw_fd(), &mut buf).unwrap();
                assert_eq!(r.tos, Some(tos), "{any}");
                assert!(r.arrival.is_some(), "{any}");
                datagrams += r.len.div_ceil(r.segment);
            }
            assert_eq!(datagrams, 8);
        }
    }
}
