//! A mio UDP socket with the best send and receive paths the platform
//! offers: on Linux UDP GSO / sendmmsg / sendto, UDP GRO and kernel
//! receive timestamps (see `offload`); elsewhere one datagram per
//! call, stamped when read.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::UdpSocket;

use crate::server::Batching;
#[cfg(not(target_os = "linux"))]
use crate::sys::socket::send_with_retry;

/// Receives one [`Udp::recv_runs`] batches (Linux's `recvmmsg`).
#[cfg(target_os = "linux")]
const RECV_BATCH: usize = super::offload::RECV_BATCH;
#[cfg(not(target_os = "linux"))]
const RECV_BATCH: usize = 1;

/// What one receive returned.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    /// Where its bytes start in the buffer given.
    pub(super) at: usize,
    /// Bytes received.
    pub(super) len: usize,
    /// The size of each datagram within them.
    pub(super) segment: usize,
    /// The sender.
    pub(super) from: Option<SocketAddr>,
    /// When it arrived.
    pub(super) arrival: Instant,
    /// The TOS / traffic-class byte, where read.
    pub(super) tos: Option<u8>,
}

#[derive(Debug)]
pub(super) struct Udp {
    pub(super) socket: UdpSocket,
    #[cfg(target_os = "linux")]
    path: super::offload::SendPath,
}

impl Udp {
    pub(super) fn new(socket: UdpSocket) -> Self {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            if !super::offload::enable_gro(socket.as_raw_fd()) {
                log::debug!("UDP_GRO not available: one datagram per receive");
            }
            if !super::offload::enable_timestamps(socket.as_raw_fd()) {
                log::debug!("SO_TIMESTAMPNS not available: arrival is when a datagram is read");
            }
            let ipv6 = socket.local_addr().is_ok_and(|a| a.is_ipv6());
            if !super::offload::enable_recv_tos(socket.as_raw_fd(), ipv6) {
                log::debug!("IP_RECVTOS / IPV6_RECVTCLASS not available: markings are not read");
            }
            Self {
                socket,
                path: Default::default(),
            }
        }
        #[cfg(not(target_os = "linux"))]
        Self { socket }
    }

    /// How much one send may carry.
    pub(super) fn batching(&self) -> Batching {
        #[cfg(target_os = "linux")]
        {
            let segments = self.path.max_segments(1);
            Batching {
                max_segments: segments.min(super::offload::MAX_GSO_SEGMENTS),
                max_bytes: 65_000,
            }
        }
        #[cfg(not(target_os = "linux"))]
        Batching::NONE
    }

    /// The send path in use ("gso", "sendmmsg", "sendto").
    pub(super) fn send_path(&self) -> &'static str {
        #[cfg(target_os = "linux")]
        {
            self.path.name()
        }
        #[cfg(not(target_os = "linux"))]
        "sendto"
    }

    /// Sends a run of datagrams of `segment` bytes (the last may be
    /// shorter). `Ok(false)`: the send buffer stayed full, dropped locally.
    pub(super) fn send_run(&self, to: SocketAddr, data: &[u8], segment: usize) -> io::Result<bool> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let addr = socket2::SockAddr::from(to);
            match super::offload::send(self.socket.as_raw_fd(), &addr, data, segment, &self.path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
                Err(e) => Err(e),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut all = true;
            for chunk in data.chunks(segment.max(1)) {
                all &= send_with_retry(|| self.socket.send_to(chunk, to))?;
            }
            Ok(all)
        }
    }

    /// One receive: bytes, datagram size within them, sender, when it
    /// arrived (the kernel's timestamp where there is one, else now) and
    /// its TOS / traffic-class byte (Linux; a GRO run shares one).
    pub(super) fn recv_run(&self, buf: &mut [u8]) -> io::Result<Run> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let r = super::offload::recv(self.socket.as_raw_fd(), buf)?;
            Ok(Run {
                at: 0,
                len: r.len,
                segment: r.segment,
                from: r.from,
                arrival: r.arrival.unwrap_or_else(Instant::now),
                tos: r.tos,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let (len, from) = self.socket.recv_from(buf)?;
            Ok(Run {
                at: 0,
                len,
                segment: len.max(1),
                from: Some(from),
                arrival: Instant::now(),
                tos: None,
            })
        }
    }
}

impl Udp {
    /// The buffer [`Udp::recv_runs`] wants: room for a GRO run (64 KiB)
    /// per receive it batches.
    pub(super) const RUNS_BUFFER: usize = RECV_BATCH * 65_536;

    /// Several receives at once where the platform has `recvmmsg`
    /// (Linux; one elsewhere), appended to `runs`, each in its own part of
    /// `buf` ([`Run::at`]). Returns whether more may be waiting: false
    /// when the batch was not full, so an edge-triggered poller need not
    /// read again to see the queue empty (a later datagram raises a new
    /// event). With one datagram per wake-up, as thousands of small
    /// streams have, that saves the second `recvmsg` that only said
    /// "would block".
    pub(super) fn recv_runs(&self, buf: &mut [u8], runs: &mut Vec<Run>) -> io::Result<bool> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let now = Instant::now();
            let got = super::offload::recv_many(self.socket.as_raw_fd(), buf, |at, r| {
                runs.push(Run {
                    at,
                    len: r.len,
                    segment: r.segment,
                    from: r.from,
                    arrival: r.arrival.unwrap_or(now),
                    tos: r.tos,
                });
            })?;
            Ok(got == RECV_BATCH)
        }
        #[cfg(not(target_os = "linux"))]
        {
            runs.push(self.recv_run(buf)?);
            Ok(true)
        }
    }

    /// Linux: queue ICMP errors our sends draw, with their destination
    /// (IP_RECVERR), so that a server hears when a peer's port closed.
    /// Elsewhere a no-op. Only for a server's listeners: a client's own
    /// errors already arrive as receive errors on its connected socket.
    pub(super) fn report_unreachable(&self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let ipv6 = self.socket.local_addr().is_ok_and(|a| a.is_ipv6());
            if !super::offload::enable_recverr(self.socket.as_raw_fd(), ipv6) {
                log::debug!("IP_RECVERR not available: a vanished plain client is not noticed");
            }
        }
    }

    /// The peers an ICMP port unreachable says are gone, taken off the
    /// error queue (at most `max`); other ICMP errors are logged and
    /// dropped (an unreachable host or net may be a passing outage, which
    /// is what a stream is there to measure).
    pub(super) fn unreachable_peers(&self, max: usize) -> Vec<SocketAddr> {
        #[cfg(target_os = "linux")]
        {
            use super::offload::{recv_icmp_error, Queued};
            use std::os::fd::AsRawFd;
            let mut gone = Vec::new();
            for _ in 0..max {
                match recv_icmp_error(self.socket.as_raw_fd()) {
                    Ok(Queued::Icmp(e)) if e.error.kind() == io::ErrorKind::ConnectionRefused => {
                        gone.push(e.remote);
                    }
                    Ok(Queued::Icmp(e)) => log::debug!("ICMP for {}: {}", e.remote, e.error),
                    Ok(Queued::Other) => {}
                    Ok(Queued::Empty) | Err(_) => break,
                }
            }
            gone
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = max;
            Vec::new()
        }
    }
}

/// Splits a received run into its datagrams.
pub(super) fn datagrams(buf: &[u8], segment: usize) -> impl Iterator<Item = &[u8]> {
    buf.chunks(segment.max(1))
}
