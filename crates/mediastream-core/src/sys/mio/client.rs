//! Client streams on one thread: a poll over every connection's socket
//! and one timer, the shared driver (`sys::client_driver`) doing the rest.

use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use super::super::client_driver::{report_status, ClientControl, ClientStream, Next};
use super::super::schedule::Schedule;
use super::super::socket::{connect_client, is_peer_error};
use super::super::{ClientObserver, ClientOptions};
use super::timer::{spin_until, wake_time, Timer};
use super::udp::{datagrams, Udp};
use crate::client::ClientConfig;
use crate::server::StreamResult;

const TIMER: Token = Token(usize::MAX - 1);
/// How often a stop flag is looked at while nothing else happens.
const STOP_CHECK: Duration = Duration::from_millis(50);

struct Connection {
    udp: Udp,
    stream: ClientStream,
}

/// Runs `options.connections` client streams on the calling thread until
/// every one ended (or the stop flag or the time limit ended them) and
/// returns one result per stream; see [`crate::sys::run_client`].
pub(crate) fn run_client(
    options: &ClientOptions,
    config: &ClientConfig,
    observer: &mut dyn ClientObserver,
) -> io::Result<Vec<StreamResult>> {
    let mut control = ClientControl::check(options, config)?;
    let mut poll = Poll::new()?;
    let timer = Timer::new()?;
    timer.register(poll.registry(), TIMER)?;
    let start = control.start();
    let mut connections = Vec::with_capacity(options.connections);
    let mut schedule = Schedule::new();
    for i in 0..options.connections {
        let (std_socket, _) = connect_client(
            options.target,
            options.bind,
            options.socket_buffer,
            options.marking,
        )?;
        let local = std_socket.local_addr()?;
        let mut udp = Udp::new(mio::net::UdpSocket::from_std(std_socket));
        poll.registry()
            .register(&mut udp.socket, Token(i), Interest::READABLE)?;
        let stream = ClientStream::new(i, options, config, local, start)?;
        connections.push(Connection { udp, stream });
        schedule.set(i, start);
    }
    let mut events = Events::with_capacity(256);
    let mut rx_buf = vec![0u8; Udp::RUNS_BUFFER];
    let mut runs = Vec::new();
    let mut driver = Driver {
        remaining: connections.len(),
        schedule,
        tx_buf: vec![0u8; 65_536],
        observer,
    };
    while driver.remaining > 0 {
        let next = [
            wake_time(driver.schedule.next(), options.spin),
            control.next_status(),
        ]
        .into_iter()
        .flatten()
        .min();
        let mut timeout = timer.poll_timeout(next);
        if control.needs_checks() {
            timeout = Some(timeout.map_or(STOP_CHECK, |t| t.min(STOP_CHECK)));
        }
        timer.arm(next)?;
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let now = Instant::now();
        if let Some(why) = control.abort_reason(now) {
            for (i, c) in connections.iter_mut().enumerate() {
                c.stream.abort(why);
                driver.schedule.set(i, now);
            }
        }
        for event in events.iter() {
            match event.token() {
                TIMER => timer.clear(),
                Token(i) => {
                    // Driven at once rather than scheduled for now: one
                    // heap entry per datagram instead of two.
                    receive(&mut connections[i], &mut rx_buf, &mut runs);
                    driver.step(&mut connections[i], i);
                }
            }
        }
        spin_until(driver.schedule.next(), options.spin);
        // Streams due when the pass starts, for at most PASS_LIMIT: with
        // thousands of streams a thread that cannot keep up would
        // otherwise find new ones due forever and never read the
        // reports that keep its senders' consent.
        let pass = Instant::now();
        while let Some(i) = driver.schedule.pop_due(pass) {
            driver.step(&mut connections[i], i);
            if pass.elapsed() >= super::PASS_LIMIT {
                break;
            }
        }
        if let Some(elapsed) = control.status_due(Instant::now()) {
            let streams = connections.iter().map(|c| &c.stream);
            report_status(streams, elapsed, driver.observer);
        }
    }
    Ok(connections
        .into_iter()
        .filter_map(|c| c.stream.into_result())
        .collect())
}

/// What driving a connection needs besides the connection.
struct Driver<'a> {
    schedule: Schedule<usize>,
    tx_buf: Vec<u8>,
    observer: &'a mut dyn ClientObserver,
    /// Connections not finished yet.
    remaining: usize,
}

impl Driver<'_> {
    /// Drives connection `i` now (each stream at its own time, see the
    /// mio shard's loop) and schedules it for when it next needs it.
    fn step(&mut self, c: &mut Connection, i: usize) {
        if c.stream.is_done() {
            return;
        }
        let next = drive(c, Instant::now(), &mut self.tx_buf);
        while let Some(record) = c.stream.poll_record() {
            self.observer.on_record(i, record);
        }
        match next {
            Next::At(at) => self.schedule.set(i, at),
            Next::Datagram => self.schedule.remove(i),
            Next::Finished => {
                self.schedule.remove(i);
                self.remaining -= 1;
                if let Some(result) = c.stream.result() {
                    self.observer.on_finished(i, result);
                }
            }
        }
    }
}

fn receive(c: &mut Connection, buf: &mut [u8], runs: &mut Vec<super::udp::Run>) {
    loop {
        runs.clear();
        match c.udp.recv_runs(buf, runs) {
            Ok(more) => {
                for run in runs.iter() {
                    for d in datagrams(&buf[run.at..run.at + run.len], run.segment) {
                        c.stream.handle_datagram(run.arrival, d, run.tos);
                    }
                }
                if !more {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            // No server (yet): ICMP port unreachable. The session's own
            // deadlines decide when to give up.
            Err(e) if e.kind() == io::ErrorKind::Interrupted || is_peer_error(&e) => {}
            Err(e) => {
                c.stream.abort(&format!("receive failed: {e}"));
                return;
            }
        }
    }
}

fn drive(c: &mut Connection, now: Instant, buf: &mut [u8]) -> Next {
    let udp = &c.udp;
    let target = c.stream.target();
    c.stream.drive(now, buf, udp.batching(), |bytes, segment| {
        udp.send_run(target, bytes, segment)
    })
}
