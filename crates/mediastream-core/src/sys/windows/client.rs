//! Client streams on the completion port. The engine's threads drive the
//! sessions; the calling thread only relays records, status and results
//! to the observer (which need not be `Send`).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::SockAddr;

use super::engine::{self, Sink};
use super::udp::UdpSocket;
use super::DEFAULT_PREPOST;
use crate::client::{ClientConfig, ClientSession};
use crate::pattern::{FrameRecord, IoPattern};
use crate::server::StreamResult;
use crate::sys::client_api::{result_of, token_for};
use crate::sys::schedule::Schedule;
use crate::sys::socket::{connect_client, is_peer_error};
use crate::sys::{ClientObserver, ClientOptions, ClientStatus};

enum Event {
    Record(usize, FrameRecord),
    Finished(usize, Box<StreamResult>),
}

struct Connection {
    session: ClientSession,
    local: SocketAddr,
    done: bool,
}

struct ClientSink {
    target: SocketAddr,
    target_addr: SockAddr,
    started: Instant,
    connections: Vec<Mutex<Connection>>,
    schedule: Mutex<Schedule<usize>>,
    events: Mutex<mpsc::Sender<Event>>,
    remaining: std::sync::atomic::AtomicUsize,
}

impl ClientSink {
    fn send_event(&self, event: Event) {
        let _ = self
            .events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(event);
    }

    fn drive(&self, shared: &engine::Shared<Self>, i: usize, now: Instant) {
        let mut c = self.connections[i]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if c.done {
            return;
        }
        if c.session.poll_timeout().is_some_and(|t| t <= now) {
            c.session.handle_timeout(now);
        }
        let mut buf = [0u8; 65_536];
        while let Some(len) = c.session.poll_transmit(now, &mut buf) {
            match shared.sockets[i].send_to(&buf[..len], &self.target_addr) {
                Ok(_) => {}
                Err(e) if is_peer_error(&e) => {}
                Err(e) => {
                    c.session.abort(&format!("send failed: {e}"));
                    break;
                }
            }
        }
        while let Some(record) = c.session.poll_record() {
            self.send_event(Event::Record(i, record));
        }
        let next = c.session.poll_timeout();
        let mut sched = self.schedule.lock().unwrap_or_else(|p| p.into_inner());
        if c.session.status().is_finished() && next.is_none() {
            c.done = true;
            sched.remove(i);
            let result = result_of(&c.session, c.local, self.target, self.started, now);
            self.remaining.fetch_sub(1, Ordering::SeqCst);
            self.send_event(Event::Finished(i, Box::new(result)));
            shared.timer.wake();
        } else {
            let at = next.unwrap_or(now);
            sched.set(i, at);
            shared.timer.wake_if_earlier(at);
        }
    }
}

impl Sink for ClientSink {
    fn on_datagram(
        &self,
        shared: &engine::Shared<Self>,
        i: usize,
        from: SocketAddr,
        bytes: &[u8],
        now: Instant,
    ) {
        if from != self.target {
            return;
        }
        {
            let mut c = self.connections[i]
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if c.done {
                return;
            }
            c.session.handle_datagram(now, bytes);
        }
        self.drive(shared, i, now);
    }

    fn on_timer(&self, shared: &engine::Shared<Self>, now: Instant) {
        loop {
            let due = self
                .schedule
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_due(now);
            // Due as of `now`, driven at its own time (see the mio shard).
            match due {
                Some(i) => self.drive(shared, i, Instant::now()),
                None => break,
            }
        }
        let sched = self.schedule.lock().unwrap_or_else(|p| p.into_inner());
        let mut sched = sched;
        shared.timer.set_armed(sched.next());
    }

    fn done(&self) -> bool {
        self.remaining.load(Ordering::SeqCst) == 0
    }
}

fn status_of(sink: &ClientSink, elapsed: Duration) -> ClientStatus {
    let mut status = ClientStatus {
        elapsed,
        ..ClientStatus::default()
    };
    for c in &sink.connections {
        let c = c.lock().unwrap_or_else(|p| p.into_inner());
        status.add(c.session.stats(), !c.done);
    }
    status
}

/// Runs `options.connections` client streams on an I/O completion port;
/// same contract as [`crate::sys::mio::run_client`].
pub fn run_client(
    options: &ClientOptions,
    config: &ClientConfig,
    observer: &mut dyn ClientObserver,
) -> io::Result<Vec<StreamResult>> {
    config
        .plan()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let start = Instant::now();
    let mut sockets = Vec::new();
    let mut connections = Vec::new();
    for i in 0..options.connections {
        let (std_socket, _) = connect_client(options.target, options.bind, options.socket_buffer)?;
        std_socket.set_nonblocking(false)?;
        let socket = UdpSocket::new(socket2::Socket::from(std_socket))?;
        let session = ClientSession::new(
            ClientConfig {
                token: token_for(config.token, i),
                ..*config
            },
            start,
        )
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?
        .with_key(options.key.clone());
        connections.push(Mutex::new(Connection {
            session,
            local: socket.local,
            done: false,
        }));
        sockets.push(socket);
    }
    let (tx, rx) = mpsc::channel();
    let mut schedule = Schedule::new();
    for i in 0..connections.len() {
        schedule.set(i, start);
    }
    let sink = ClientSink {
        target: options.target,
        target_addr: SockAddr::from(options.target),
        started: start,
        remaining: std::sync::atomic::AtomicUsize::new(connections.len()),
        connections,
        schedule: Mutex::new(schedule),
        events: Mutex::new(tx),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let running = engine::start(
        sockets,
        sink,
        1,
        DEFAULT_PREPOST,
        stop,
        "mediastream-client",
    )?;
    let shared = running.shared.clone();
    shared.timer.wake();
    let deadline = options.time_limit.map(|d| start + d);
    let mut next_status = options.status_interval.map(|i| start + i);
    let mut results: Vec<Option<StreamResult>> = (0..options.connections).map(|_| None).collect();
    let mut aborted = false;
    let mut remaining = options.connections;
    while remaining > 0 {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(Event::Record(i, r)) => observer.on_record(i, r),
            Ok(Event::Finished(i, r)) => {
                observer.on_finished(i, &r);
                results[i] = Some(*r);
                remaining -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if let (Some(at), Some(interval)) = (next_status, options.status_interval) {
            if now >= at {
                observer.on_status(&status_of(&shared.sink, now - start));
                next_status = Some(at + interval);
            }
        }
        let stopping = options
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::SeqCst));
        if !aborted && (stopping || deadline.is_some_and(|d| now >= d)) {
            aborted = true;
            let why = if stopping {
                "interrupted"
            } else {
                "time limit reached"
            };
            for (i, c) in shared.sink.connections.iter().enumerate() {
                c.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .session
                    .abort(why);
                shared
                    .sink
                    .schedule
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .set(i, now);
            }
            shared.timer.wake();
        }
    }
    (running.stopper)();
    for t in running.threads {
        match t.join() {
            Ok(r) => r?,
            Err(_) => return Err(io::Error::other("a client worker panicked")),
        }
    }
    Ok(results.into_iter().flatten().collect())
}
