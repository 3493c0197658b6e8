use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

use super::schedule::Schedule;
use super::socket::{connect_client, is_peer_error, send_with_retry};
use super::timer::Timer;
use crate::client::{ClientConfig, ClientSession, Direction};
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
        }
    }
}

const TIMER: Token = Token(usize::MAX - 1);
/// How often a stop flag is looked at while nothing else happens.
const STOP_CHECK: Duration = Duration::from_millis(50);

struct Connection {
    socket: UdpSocket,
    local: SocketAddr,
    session: ClientSession,
    started: Instant,
    result: Option<StreamResult>,
}

/// Runs `options.connections` client streams to completion (or until the
/// stop flag or time limit) and returns one result per stream. Each stream
/// gets its own token, derived from `config.token`. `on_record` receives
/// every frame record (with `config.record_frames`), tagged with the
/// connection's index.
pub fn run_client(
    options: &ClientOptions,
    config: &ClientConfig,
    observer: &mut dyn ClientObserver,
) -> io::Result<Vec<StreamResult>> {
    config
        .plan()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let mut poll = Poll::new()?;
    let timer = Timer::new()?;
    timer.register(poll.registry(), TIMER)?;
    let start = Instant::now();
    let mut connections = Vec::with_capacity(options.connections);
    for i in 0..options.connections {
        let (std_socket, _) = connect_client(options.target, options.bind, options.socket_buffer)?;
        let local = std_socket.local_addr()?;
        let mut socket = UdpSocket::from_std(std_socket);
        poll.registry()
            .register(&mut socket, Token(i), Interest::READABLE)?;
        let token = config.token ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let session = ClientSession::new(ClientConfig { token, ..*config }, start)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        connections.push(Connection {
            socket,
            local,
            session,
            started: start,
            result: None,
        });
    }
    let mut schedule = Schedule::new();
    for i in 0..connections.len() {
        schedule.set(i, start);
    }
    let mut events = Events::with_capacity(256);
    let mut rx_buf = vec![0u8; 65_536];
    let mut tx_buf = vec![0u8; 65_536];
    let deadline = options.time_limit.map(|d| start + d);
    let mut remaining = connections.len();
    let mut next_status = options.status_interval.map(|i| start + i);
    while remaining > 0 {
        let next = [schedule.next(), next_status].into_iter().flatten().min();
        let mut timeout = timer.poll_timeout(next);
        if options.stop.is_some() || deadline.is_some() {
            timeout = Some(timeout.map_or(STOP_CHECK, |t| t.min(STOP_CHECK)));
        }
        timer.arm(next)?;
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let stopping = options
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::SeqCst));
        let now = Instant::now();
        if stopping || deadline.is_some_and(|d| now >= d) {
            let why = if stopping {
                "interrupted"
            } else {
                "time limit reached"
            };
            for c in connections.iter_mut().filter(|c| c.result.is_none()) {
                c.session.abort(why);
            }
            for i in 0..connections.len() {
                schedule.set(i, now);
            }
        }
        for event in events.iter() {
            match event.token() {
                TIMER => timer.clear(),
                Token(i) => {
                    receive(&mut connections[i], &mut rx_buf);
                    schedule.set(i, now);
                }
            }
        }
        while let Some(i) = schedule.pop_due(Instant::now()) {
            let c = &mut connections[i];
            if c.result.is_some() {
                continue;
            }
            let now = Instant::now();
            match drive(c, now, &mut tx_buf) {
                Some(at) => schedule.set(i, at),
                None => {
                    remaining -= 1;
                    while let Some(record) = c.session.poll_record() {
                        observer.on_record(i, record);
                    }
                    let result = result_of(c, options.target, now);
                    observer.on_finished(i, &result);
                    c.result = Some(result);
                }
            }
            while let Some(record) = c.session.poll_record() {
                observer.on_record(i, record);
            }
        }
        if let (Some(at), Some(interval)) = (next_status, options.status_interval) {
            let now = Instant::now();
            if now >= at {
                observer.on_status(&status_of(&connections, now - start));
                next_status = Some(at + interval);
            }
        }
    }
    Ok(connections.into_iter().filter_map(|c| c.result).collect())
}

fn receive(c: &mut Connection, buf: &mut [u8]) {
    loop {
        match c.socket.recv(buf) {
            Ok(len) => c.session.handle_datagram(Instant::now(), &buf[..len]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            // No server (yet): ICMP port unreachable. The session's own
            // deadlines decide when to give up.
            Err(e) if e.kind() == io::ErrorKind::Interrupted || is_peer_error(&e) => {}
            Err(e) => {
                c.session.abort(&format!("receive failed: {e}"));
                return;
            }
        }
    }
}

/// Runs due work; returns when to come back, or `None` once finished.
fn drive(c: &mut Connection, now: Instant, buf: &mut [u8]) -> Option<Instant> {
    if c.session.poll_timeout().is_some_and(|t| t <= now) {
        c.session.handle_timeout(now);
    }
    while let Some(len) = c.session.poll_transmit(now, buf) {
        match send_with_retry(|| c.socket.send(&buf[..len])) {
            Ok(_) => {}
            Err(e) if is_peer_error(&e) => {}
            Err(e) => {
                c.session.abort(&format!("send failed: {e}"));
                break;
            }
        }
    }
    let next = c.session.poll_timeout();
    if c.session.status().is_finished() && next.is_none() {
        return None;
    }
    Some(next.unwrap_or(now))
}

fn result_of(c: &Connection, target: SocketAddr, now: Instant) -> StreamResult {
    let config = c.session.config();
    StreamResult {
        role: match config.direction {
            Direction::Receive => Role::Receiver,
            Direction::Send => Role::Sender,
        },
        local: c.local,
        remote: target,
        connection_id: c.session.connection_id(),
        plan: *c.session.plan(),
        v1: !config.compat,
        status: c.session.status(),
        stats: c.session.stats().clone(),
        started: c.started,
        ended: now,
    }
}

fn status_of(connections: &[Connection], elapsed: Duration) -> ClientStatus {
    let mut status = ClientStatus {
        elapsed,
        ..ClientStatus::default()
    };
    for c in connections {
        let s = c
            .result
            .as_ref()
            .map_or_else(|| c.session.stats(), |r| &r.stats);
        status.running += usize::from(c.result.is_none());
        status.bytes_sent += s.bytes_sent;
        status.bytes_received += s.bytes_received;
        status.frames_completed += s.frames_completed;
        status.frames_dropped += s.frames_dropped;
        status.frames_repeated += s.frames_repeated;
        status.frames_error += s.frames_error;
    }
    status
}
