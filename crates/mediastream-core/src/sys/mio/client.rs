use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use super::super::client_api::{result_of, token_for};
use super::super::schedule::Schedule;
use super::super::socket::{connect_client, is_peer_error};
use super::super::{ClientObserver, ClientOptions, ClientStatus};
use super::timer::{spin_until, wake_time, Timer};
use super::udp::{datagrams, Udp};
use crate::client::{ClientConfig, ClientSession};
use crate::pattern::IoPattern;
use crate::server::StreamResult;

const TIMER: Token = Token(usize::MAX - 1);
/// How often a stop flag is looked at while nothing else happens.
const STOP_CHECK: Duration = Duration::from_millis(50);

struct Connection {
    udp: Udp,
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
        let mut udp = Udp::new(mio::net::UdpSocket::from_std(std_socket));
        poll.registry()
            .register(&mut udp.socket, Token(i), Interest::READABLE)?;
        let token = token_for(config.token, i);
        let session = ClientSession::new(ClientConfig { token, ..*config }, start)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?
            .with_key(options.key.clone());
        connections.push(Connection {
            udp,
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
        let next = [wake_time(schedule.next(), options.spin), next_status]
            .into_iter()
            .flatten()
            .min();
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
        spin_until(schedule.next(), options.spin);
        while let Some(i) = schedule.pop_due(Instant::now()) {
            let c = &mut connections[i];
            if c.result.is_some() {
                continue;
            }
            let now = Instant::now();
            match drive(c, options.target, now, &mut tx_buf) {
                Some(at) => schedule.set(i, at),
                None => {
                    remaining -= 1;
                    while let Some(record) = c.session.poll_record() {
                        observer.on_record(i, record);
                    }
                    let result = result_of(&c.session, c.local, options.target, c.started, now);
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
        match c.udp.recv_run(buf) {
            Ok((len, segment, _, arrival)) => {
                for d in datagrams(&buf[..len], segment) {
                    c.session.handle_datagram(arrival, d);
                }
            }
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
fn drive(c: &mut Connection, target: SocketAddr, now: Instant, buf: &mut [u8]) -> Option<Instant> {
    if c.session.poll_timeout().is_some_and(|t| t <= now) {
        c.session.handle_timeout(now);
    }
    let segments = c
        .udp
        .batching()
        .segments_for(c.session.plan().max_datagram());
    while let Some(t) = c.session.poll_transmit_batch(now, buf, segments) {
        match c.udp.send_run(target, &buf[..t.len], t.segment_size) {
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
        status.add(s, c.result.is_none());
    }
    status
}
