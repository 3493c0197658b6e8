//! What every backend's client takes and reports.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{ClientSession, Direction};
use crate::pattern::{FrameRecord, IoPattern, Role};
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
        }
    }
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
    /// Adds one stream's counters.
    pub(crate) fn add(&mut self, s: &crate::pattern::StreamStats, running: bool) {
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

/// A finished client session's account.
pub(crate) fn result_of(
    session: &ClientSession,
    local: SocketAddr,
    target: SocketAddr,
    started: Instant,
    now: Instant,
) -> StreamResult {
    let config = session.config();
    StreamResult {
        role: match config.direction {
            Direction::Receive => Role::Receiver,
            Direction::Send => Role::Sender,
        },
        local,
        remote: target,
        connection_id: session.connection_id(),
        plan: *session.plan(),
        v1: !config.compat,
        status: session.status(),
        stats: session.stats().clone(),
        started,
        ended: now,
    }
}

/// The token of connection `index`: distinct per stream of one run.
pub(crate) fn token_for(base: u64, index: usize) -> u64 {
    base ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}
