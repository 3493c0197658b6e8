//! What every backend's client takes and reports.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::ClientConfig;
use crate::pattern::{FrameRecord, IoPattern, Role, StreamStats};
use crate::server::StreamResult;

/// Where and how a client connects.
#[derive(Clone)]
#[non_exhaustive]
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
    /// sockets, timers, GSO runs and kernel receive timestamps. What the
    /// built-in session does beyond the [`IoPattern`] contract is then the
    /// factory's to do: apply [`key`](Self::key) (it is not applied for
    /// it; `ClientSession::with_key` does it for a wrapped session), and
    /// the result's `connection_id` is `None` and
    /// [`ClientObserver::on_record`] is not called.
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

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("target", &self.target)
            .field("bind", &self.bind)
            .field("connections", &self.connections)
            .field("socket_buffer", &self.socket_buffer)
            .field("time_limit", &self.time_limit)
            .field("status_interval", &self.status_interval)
            .field("spin", &self.spin)
            .field("keyed", &self.key.is_some())
            .field("custom_pattern", &self.pattern.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds the pattern each connection of a client run drives, for a
/// client that speaks something other than the built-in session (see
/// [`ClientOptions::pattern`]). A closure with `create`'s arguments is
/// one:
///
/// ```
/// use std::sync::Arc;
/// use mediastream_core::client::{ClientConfig, ClientSession};
/// use mediastream_core::pattern::IoPattern;
/// use mediastream_core::sys::ClientOptions;
///
/// let mut options = ClientOptions::new("127.0.0.1:4444".parse().unwrap());
/// options.pattern = Some(Arc::new(|_index: usize, config: &ClientConfig, now| {
///     // The built-in session; a real factory would wrap it or replace it.
///     let session = ClientSession::new(config.clone(), now)?;
///     Ok(Box::new(session) as Box<dyn IoPattern + Send>)
/// }));
/// ```
///
/// A pattern that wraps another must forward every [`IoPattern`] method it
/// does not mean to change, `on_unsent` included (its default does
/// nothing, and then the stream's counts would include datagrams that
/// never left).
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
pub trait ClientPatternFactory: Send + Sync {
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

impl<F> ClientPatternFactory for F
where
    F: Fn(usize, &ClientConfig, Instant) -> io::Result<Box<dyn IoPattern + Send>> + Send + Sync,
{
    fn create(
        &self,
        index: usize,
        config: &ClientConfig,
        now: Instant,
    ) -> io::Result<Box<dyn IoPattern + Send>> {
        self(index, config, now)
    }
}

/// Totals across a client's streams so far, for status lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
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
            total.merge(p);
        }
        total
    }

    /// Adds one stream's counters.
    pub(crate) fn add(&mut self, s: &StreamStats, running: bool) {
        self.merge(&Self {
            elapsed: Duration::ZERO,
            running: usize::from(running),
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            frames_completed: s.frames_completed,
            frames_dropped: s.frames_dropped,
            frames_repeated: s.frames_repeated,
            frames_error: s.frames_error,
        });
    }

    fn merge(&mut self, p: &ClientStatus) {
        self.running += p.running;
        self.bytes_sent += p.bytes_sent;
        self.bytes_received += p.bytes_received;
        self.frames_completed += p.frames_completed;
        self.frames_dropped += p.frames_dropped;
        self.frames_repeated += p.frames_repeated;
        self.frames_error += p.frames_error;
    }
}

/// One client stream while it runs, as a status tick sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct StreamProgress<'a> {
    /// The stream's own address.
    pub local: SocketAddr,
    /// The server.
    pub remote: SocketAddr,
    /// The role this end plays.
    pub role: Role,
    /// False once the stream ended (its counters are then final).
    pub running: bool,
    /// Its counters so far: [`StreamStats::received`] with `role` gives
    /// the receiving end's numbers (a sending stream's come with the
    /// receiver's reports).
    pub stats: &'a StreamStats,
}

/// What a client run tells its caller while it runs. Every method has a
/// default that ignores the event.
pub trait ClientObserver {
    /// A frame was rendered (receiving, with `record_frames`).
    fn on_record(&mut self, _connection: usize, _record: FrameRecord) {}
    /// One stream's counters so far, for each stream at each status tick
    /// ([`ClientOptions::status_interval`]), just before
    /// [`on_status`](Self::on_status) gives the totals.
    fn on_stream_status(&mut self, _connection: usize, _progress: &StreamProgress<'_>) {}
    /// Periodic totals ([`ClientOptions::status_interval`]).
    fn on_status(&mut self, _status: &ClientStatus) {}
    /// A stream finished.
    fn on_finished(&mut self, _connection: usize, _result: &StreamResult) {}
}

/// Observes nothing.
impl ClientObserver for () {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_sum_field_by_field() {
        let mut a = ClientStatus::default();
        let mut stats = StreamStats {
            bytes_sent: 10,
            frames_completed: 3,
            frames_dropped: 1,
            ..StreamStats::default()
        };
        a.add(&stats, true);
        let mut b = ClientStatus::default();
        stats.bytes_received = 7;
        stats.frames_repeated = 2;
        stats.frames_error = 5;
        b.add(&stats, false);
        let total = ClientStatus::sum([&a, &b], Duration::from_secs(4));
        assert_eq!(
            total,
            ClientStatus {
                elapsed: Duration::from_secs(4),
                running: 1,
                bytes_sent: 20,
                bytes_received: 7,
                frames_completed: 6,
                frames_dropped: 2,
                frames_repeated: 2,
                frames_error: 5,
            }
        );
    }
}
