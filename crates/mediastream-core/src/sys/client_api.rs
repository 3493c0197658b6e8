//! What every backend's client takes and reports.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::ClientConfig;
use crate::pattern::{FrameRecord, IoPattern, StreamStats};
use crate::server::StreamResult;

/// Where and how a client connects.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The server.
    pub target: SocketAddr,
    /// Local address to bind (port 0 for any); `None`: any.
    pub bind: Option<SocketAddr>,
    /// Concurrent streams, each on its own socket.
    pub connections: usize,
    /// Socket buffer size to ask for, bytes.
    pub socket_buffer: usize,
    /// Set to stop early (Ctrl-C): streams are aborted and reported.
    pub stop: Option<Arc<AtomicBool>>,
    /// Abort streams still running after this long.
    pub time_limit: Option<Duration>,
    /// Call [`ClientObserver::on_status`] this often.
    pub status_interval: Option<Duration>,
    /// Opt-in pacing precision (mio): wake this much before a frame is
    /// due and spin for the rest. Zero (the default) never spins.
    pub spin: Duration,
    /// Keyed access: the key every session's v1 datagrams carry (see
    /// [`crate::auth`]).
    pub key: Option<crate::auth::AccessKey>,
    /// Run this pattern on every connection instead of the built-in
    /// [`ClientSession`](crate::client::ClientSession). It gets the same
    /// sockets, timers, GSO runs and kernel receive timestamps.
    pub pattern: Option<Arc<dyn ClientPatternFactory>>,
    /// The DSCP and ECN every datagram of every connection carries (IP_TOS
    /// or IPV6_TCLASS on its socket); default: none set. Windows ignores
    /// it without the QoS2 API (docs/PROTOCOL.md).
    pub marking: crate::marking::Marking,
}

impl ClientOptions {
    /// One connection to `target` with default buffers.
    pub fn new(target: SocketAddr) -> Self {
        Self {
            target,
            bind: None,
            connections: 1,
            socket_buffer: 4 << 20,
            stop: None,
            time_limit: None,
            status_interval: None,
            spin: Duration::ZERO,
            key: None,
            pattern: None,
            marking: Default::default(),
        }
    }
}

/// Builds the pattern each connection of a client run drives, for a
/// client that speaks something other than the built-in session (see
/// [`ClientOptions::pattern`]).
///
/// The backend drives the pattern by the [`IoPattern`] contract: it sends
/// what `poll_transmit_batch` hands it (a run of several datagrams is one
/// GSO send where the platform has it), feeds every datagram from the
/// server to `handle_datagram` with its arrival time (the kernel's
/// receive timestamp where there is one), and calls `handle_timeout` at
/// `poll_timeout`. The connection ends once `status` is finished and
/// `poll_timeout` is `None`; while running, `None` means "call me when a
/// datagram arrives". The stream's result takes its role and plan from
/// the run's [`ClientConfig`].
pub trait ClientPatternFactory: Send + Sync + fmt::Debug {
    /// The pattern of connection `index` (from 0) of a run that started
    /// at `now`. `config` is the run's configuration with this
    /// connection's own token. An error ends the run before any stream
    /// starts.
    fn create(
        &self,
        index: usize,
        config: &ClientConfig,
        now: Instant,
    ) -> io::Result<Box<dyn IoPattern + Send>>;
}

/// Totals across a client's streams so far, for status lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStatus {
    /// Time since the run started.
    pub elapsed: Duration,
    /// Streams still running.
    pub running: usize,
    /// Data bytes sent so far (all streams).
    pub bytes_sent: u64,
    /// Data bytes received so far (all streams).
    pub bytes_received: u64,
    /// Frames completed so far.
    pub frames_completed: u64,
    /// Frames dropped so far.
    pub frames_dropped: u64,
    /// Frames repeated so far.
    pub frames_repeated: u64,
    /// Error datagrams so far.
    pub frames_error: u64,
}

impl ClientStatus {
    /// The totals of finished streams (none running; `elapsed` zero).
    pub fn of_results<'a>(results: impl IntoIterator<Item = &'a StreamResult>) -> Self {
        let mut status = Self::default();
        for r in results {
            status.add(&r.stats, false);
        }
        status
    }

    /// The sum of several runs' totals (say, one per target), at
    /// `elapsed`.
    pub fn sum<'a>(parts: impl IntoIterator<Item = &'a ClientStatus>, elapsed: Duration) -> Self {
        let mut total = Self {
            elapsed,
            ..Self::default()
        };
        for p in parts {
            total.running += p.running;
            total.bytes_sent += p.bytes_sent;
            total.bytes_received += p.bytes_received;
            total.frames_completed += p.frames_completed;
            total.frames_dropped += p.frames_dropped;
            total.frames_repeated += p.frames_repeated;
            total.frames_error += p.frames_error;
        }
        total
    }

    /// Adds one stream's counters.
    pub(crate) fn add(&mut self, s: &StreamStats, running: bool) {
        self.running += usize::from(running);
        self.bytes_sent += s.bytes_sent;
        self.bytes_received += s.bytes_received;
        self.frames_completed += s.frames_completed;
        self.frames_dropped += s.frames_dropped;
        self.frames_repeated += s.frames_repeated;
        self.frames_error += s.frames_error;
    }
}

/// What a client run tells its caller while it runs. Every method has a
/// default that ignores the event.
pub trait ClientObserver {
    /// A frame was rendered (receiving, with `record_frames`).
    fn on_record(&mut self, _connection: usize, _record: FrameRecord) {}
    /// Periodic totals ([`ClientOptions::status_interval`]).
    fn on_status(&mut self, _status: &ClientStatus) {}
    /// A stream finished.
    fn on_finished(&mut self, _connection: usize, _result: &StreamResult) {}
}

/// Observes nothing.
impl ClientObserver for () {}
