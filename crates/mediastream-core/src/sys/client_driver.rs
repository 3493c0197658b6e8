//! The client driver both backends share: building each connection's
//! pattern, one drive step, the stop flag, the time limit, status rows and
//! the final account. A backend only owns the sockets and decides when to
//! call these (mio: one thread over a poll; IOCP: the engine's threads).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::client_api::{ClientObserver, ClientOptions, ClientStatus, StreamProgress};
use crate::client::{ClientConfig, ClientSession, Direction};
use crate::pattern::{FrameRecord, IoPattern, Role};
use crate::server::{Batching, StreamResult};
use crate::settings::StreamPlan;

/// What a connection runs: the built-in session, or an embedder's pattern
/// from [`ClientOptions::pattern`].
enum Pattern {
    Session(Box<ClientSession>),
    Custom(Box<dyn IoPattern + Send>),
}

impl Pattern {
    fn io(&mut self) -> &mut dyn IoPattern {
        match self {
            Pattern::Session(s) => s.as_mut(),
            Pattern::Custom(p) => p.as_mut(),
        }
    }

    fn get(&self) -> &dyn IoPattern {
        match self {
            Pattern::Session(s) => s.as_ref(),
            Pattern::Custom(p) => p.as_ref(),
        }
    }
}

/// One client connection: its pattern, its socket's address and, once it
/// ended, its account.
pub(crate) struct ClientStream {
    pattern: Pattern,
    config: ClientConfig,
    plan: StreamPlan,
    local: SocketAddr,
    target: SocketAddr,
    started: Instant,
    result: Option<StreamResult>,
}

/// What a connection wants after a drive step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Drive it again at this instant (or when a datagram arrives).
    At(Instant),
    /// Running with no deadline: drive it when a datagram arrives, never
    /// before (a pattern whose `poll_timeout` is `None` must not spin).
    Datagram,
    /// It ended: its result is ready in [`ClientStream::result`].
    Finished,
}

impl ClientStream {
    /// Connection `index` of a run that started at `start`, on a socket
    /// bound to `local`. Its token is derived from `config.token`, so
    /// every connection of a run has its own.
    pub(crate) fn new(
        index: usize,
        options: &ClientOptions,
        config: &ClientConfig,
        local: SocketAddr,
        start: Instant,
    ) -> io::Result<Self> {
        let mut config = config.clone();
        config.token = token_for(config.token, index);
        let plan = config.plan()?;
        let pattern = match &options.pattern {
            Some(factory) => Pattern::Custom(factory.create(index, &config, start)?),
            None => Pattern::Session(Box::new(
                ClientSession::new(config.clone(), start)?.with_key(options.key.clone()),
            )),
        };
        Ok(Self {
            pattern,
            config,
            plan,
            local,
            target: options.target,
            started: start,
            result: None,
        })
    }

    /// The server.
    pub(crate) fn target(&self) -> SocketAddr {
        self.target
    }

    /// The account, once the stream ended.
    pub(crate) fn result(&self) -> Option<&StreamResult> {
        self.result.as_ref()
    }

    /// Takes the account out (at the end of a run).
    pub(crate) fn into_result(self) -> Option<StreamResult> {
        self.result
    }

    /// True once the stream ended and its account is made.
    pub(crate) fn is_done(&self) -> bool {
        self.result.is_some()
    }

    /// A datagram from the server, received at `arrival` with the TOS /
    /// traffic-class byte `tos` (where the backend reads it).
    pub(crate) fn handle_datagram(&mut self, arrival: Instant, bytes: &[u8], tos: Option<u8>) {
        if !self.is_done() {
            self.pattern
                .io()
                .handle_marked_datagram(arrival, bytes, tos);
        }
    }

    /// Ends a running stream now (stop flag, time limit, socket failure).
    pub(crate) fn abort(&mut self, why: &str) {
        if !self.is_done() {
            self.pattern.io().abort(why);
        }
    }

    /// Frame records the session has ready (receiving, `record_frames`).
    pub(crate) fn poll_record(&mut self) -> Option<FrameRecord> {
        match &mut self.pattern {
            Pattern::Session(s) => s.poll_record(),
            Pattern::Custom(_) => None,
        }
    }

    /// Runs due work at `now`: the pattern's timeout if due, then every
    /// run of datagrams it has, through `send(bytes, segment_size)`, in
    /// runs as long as `batching` allows. `send` returns `Ok(false)`
    /// when the send buffer stayed full: what did not leave is given back
    /// to the pattern. Any other send error ends the stream.
    pub(crate) fn drive(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        batching: Batching,
        mut send: impl FnMut(&[u8], usize) -> io::Result<bool>,
    ) -> Next {
        if self.is_done() {
            return Next::Finished;
        }
        let max_segments = batching.segments_for(self.plan.max_datagram());
        let p = self.pattern.io();
        if p.poll_timeout().is_some_and(|t| t <= now) {
            p.handle_timeout(now);
        }
        while let Some(t) = p.poll_transmit_batch(now, buf, max_segments) {
            match send(&buf[..t.len], t.segment_size) {
                Ok(true) => {}
                Ok(false) => {
                    p.on_unsent(t.segments() as u64, t.len as u64);
                    break;
                }
                Err(e) if super::socket::is_peer_error(&e) => {}
                Err(e) => {
                    p.abort(&format!("send failed: {e}"));
                    break;
                }
            }
        }
        let next = p.poll_timeout();
        match next {
            Some(at) => Next::At(at),
            None if p.status().is_finished() => {
                self.result = Some(self.account(now));
                Next::Finished
            }
            None => Next::Datagram,
        }
    }

    /// Where the stream stands, for a status tick.
    pub(crate) fn progress(&self) -> StreamProgress<'_> {
        StreamProgress {
            local: self.local,
            remote: self.target,
            role: match self.config.direction {
                Direction::Receive => Role::Receiver,
                Direction::Send => Role::Sender,
            },
            running: !self.is_done(),
            stats: self.stats(),
        }
    }

    /// Counters so far (final once done).
    fn stats(&self) -> &crate::pattern::StreamStats {
        self.result
            .as_ref()
            .map_or_else(|| self.pattern.get().stats(), |r| &r.stats)
    }

    fn account(&self, now: Instant) -> StreamResult {
        let config = &self.config;
        let connection_id = match &self.pattern {
            Pattern::Session(s) => s.connection_id(),
            Pattern::Custom(_) => None,
        };
        StreamResult {
            role: match config.direction {
                Direction::Receive => Role::Receiver,
                Direction::Send => Role::Sender,
            },
            local: self.local,
            remote: self.target,
            connection_id,
            plan: self.plan,
            v1: !config.compat,
            status: self.pattern.get().status(),
            stats: self.pattern.get().stats().clone(),
            started: self.started,
            ended: now,
        }
    }
}

/// The token of connection `index`: distinct per stream of one run.
fn token_for(base: u64, index: usize) -> u64 {
    base ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The run as a whole: when it started, the stop flag, the time limit and
/// the status interval.
#[derive(Debug)]
pub(crate) struct ClientControl {
    start: Instant,
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    deadline: Option<Instant>,
    status_interval: Option<Duration>,
    next_status: Option<Instant>,
    aborted: bool,
}

impl ClientControl {
    /// Checks the configuration (so that no socket is opened for a run
    /// that cannot start) and starts the run's clock.
    pub(crate) fn check(options: &ClientOptions, config: &ClientConfig) -> io::Result<Self> {
        config.plan()?;
        let start = Instant::now();
        Ok(Self {
            start,
            stop: options.stop.clone(),
            deadline: options.time_limit.map(|d| start + d),
            status_interval: options.status_interval,
            next_status: options.status_interval.map(|i| start + i),
            aborted: false,
        })
    }

    /// When the run started.
    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    /// The next status row's time.
    pub(crate) fn next_status(&self) -> Option<Instant> {
        self.next_status
    }

    /// True when the stop flag or the time limit has to be looked at
    /// regularly (nothing wakes the backend for them).
    pub(crate) fn needs_checks(&self) -> bool {
        self.stop.is_some() || self.deadline.is_some()
    }

    /// Once, when the stop flag is set or the time limit passed: why the
    /// streams still running must end now.
    pub(crate) fn abort_reason(&mut self, now: Instant) -> Option<&'static str> {
        if self.aborted {
            return None;
        }
        let stopping = self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
        let why = if stopping {
            "interrupted"
        } else if self.deadline.is_some_and(|d| now >= d) {
            "time limit reached"
        } else {
            return None;
        };
        self.aborted = true;
        Some(why)
    }

    /// When a status row is due at `now`: the time since the start, and
    /// the next row is scheduled.
    pub(crate) fn status_due(&mut self, now: Instant) -> Option<Duration> {
        let (at, interval) = (self.next_status?, self.status_interval?);
        if now < at {
            return None;
        }
        self.next_status = Some(at + interval);
        Some(now - self.start)
    }
}

/// A status tick: each stream's progress, then the totals, to `observer`.
pub(crate) fn report_status<'a, I>(streams: I, elapsed: Duration, observer: &mut dyn ClientObserver)
where
    I: Iterator<Item = &'a ClientStream> + Clone,
{
    for (i, s) in streams.clone().enumerate() {
        observer.on_stream_status(i, &s.progress());
    }
    observer.on_status(&status_of(streams, elapsed));
}

/// Totals over `streams` for a status row.
pub(crate) fn status_of<'a>(
    streams: impl IntoIterator<Item = &'a ClientStream>,
    elapsed: Duration,
) -> ClientStatus {
    let mut status = ClientStatus {
        elapsed,
        ..ClientStatus::default()
    };
    for s in streams {
        status.add(s.stats(), !s.is_done());
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::StreamSettings;

    fn options() -> ClientOptions {
        ClientOptions::new("127.0.0.1:9".parse().unwrap())
    }

    #[test]
    fn tokens_differ_per_connection() {
        let config = ClientConfig::new(StreamSettings::new(80_000, 10, 1), 42);
        let local = "127.0.0.1:1000".parse().unwrap();
        let now = Instant::now();
        let a = ClientStream::new(0, &options(), &config, local, now).unwrap();
        let b = ClientStream::new(1, &options(), &config, local, now).unwrap();
        assert_ne!(a.config.token, b.config.token);
        assert_eq!(a.config.token, 42, "connection 0 keeps the run's token");
    }

    #[test]
    fn the_time_limit_aborts_once() {
        let mut o = options();
        o.time_limit = Some(Duration::from_millis(10));
        let config = ClientConfig::new(StreamSettings::new(80_000, 10, 1), 1);
        let mut c = ClientControl::check(&o, &config).unwrap();
        assert_eq!(c.abort_reason(c.start()), None);
        let late = c.start() + Duration::from_millis(10);
        assert_eq!(c.abort_reason(late), Some("time limit reached"));
        assert_eq!(c.abort_reason(late), None, "only once");
    }

    #[test]
    fn status_rows_come_at_each_interval() {
        let mut o = options();
        o.status_interval = Some(Duration::from_secs(1));
        let config = ClientConfig::new(StreamSettings::new(80_000, 10, 1), 1);
        let mut c = ClientControl::check(&o, &config).unwrap();
        let s = c.start();
        assert_eq!(c.status_due(s + Duration::from_millis(999)), None);
        assert_eq!(
            c.status_due(s + Duration::from_millis(1000)),
            Some(Duration::from_millis(1000))
        );
        assert_eq!(c.next_status(), Some(s + Duration::from_secs(2)));
    }

    #[test]
    fn a_stream_that_cannot_send_gives_its_datagrams_back() {
        let config = ClientConfig::new(StreamSettings::new(80_000, 10, 1), 7);
        let local = "127.0.0.1:1000".parse().unwrap();
        let now = Instant::now();
        let mut s = ClientStream::new(0, &options(), &config, local, now).unwrap();
        let mut buf = vec![0u8; 65_536];
        let mut offered = 0;
        let next = s.drive(now, &mut buf, Batching::NONE, |_, _| {
            offered += 1;
            Ok(false)
        });
        assert_eq!(offered, 1, "a full buffer ends the step");
        assert!(matches!(next, Next::At(_)));
    }
}
