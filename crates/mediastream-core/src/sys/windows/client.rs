//! Client streams on the completion port. The engine's threads drive the
//! streams through the shared driver (`sys::client_driver`); the calling
//! thread only relays records, status and results to the observer (which
//! need not be `Send`).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use socket2::SockAddr;

use super::engine::{self, Sink};
use super::udp::UdpSocket;
use super::DEFAULT_PREPOST;
use crate::client::ClientConfig;
use crate::pattern::FrameRecord;
use crate::server::{Batching, StreamResult};
use crate::sys::client_driver::{report_status, ClientControl, ClientStream, Next};
use crate::sys::schedule::Schedule;
use crate::sys::socket::connect_client;
use crate::sys::{ClientObserver, ClientOptions};

enum Event {
    Record(usize, FrameRecord),
    Finished(usize, Box<StreamResult>),
}

struct ClientSink {
    target: SockAddr,
    streams: Vec<Mutex<ClientStream>>,
    schedule: Mutex<Schedule<usize>>,
    events: Mutex<mpsc::Sender<Event>>,
    remaining: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ClientSink {
    fn send_event(&self, event: Event) {
        let _ = lock(&self.events).send(event);
    }

    fn drive(&self, shared: &engine::Shared<Self>, i: usize, now: Instant) {
        let mut stream = lock(&self.streams[i]);
        if stream.is_done() {
            return;
        }
        let mut buf = [0u8; 65_536];
        let socket = &shared.sockets[i];
        // No segmentation offload here (Batching::NONE): one datagram each.
        let next = stream.drive(now, &mut buf, Batching::NONE, |bytes, _| {
            socket.send_to(bytes, &self.target).map(|_| true)
        });
        while let Some(record) = stream.poll_record() {
            self.send_event(Event::Record(i, record));
        }
        let mut schedule = lock(&self.schedule);
        match next {
            Next::At(at) => {
                schedule.set(i, at);
                shared.timer.wake_if_earlier(at);
            }
            Next::Datagram => schedule.remove(i),
            Next::Finished => {
                schedule.remove(i);
                if let Some(result) = stream.result() {
                    self.send_event(Event::Finished(i, Box::new(result.clone())));
                }
                self.remaining.fetch_sub(1, Ordering::SeqCst);
                shared.timer.wake();
            }
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
        {
            let mut stream = lock(&self.streams[i]);
            if from != stream.target() || stream.is_done() {
                return;
            }
            stream.handle_datagram(now, bytes, None);
        }
        self.drive(shared, i, now);
    }

    fn on_timer(&self, shared: &engine::Shared<Self>, now: Instant) {
        loop {
            let due = lock(&self.schedule).pop_due(now);
            // Due as of `now`, driven at its own time (see the mio shard).
            match due {
                Some(i) => self.drive(shared, i, Instant::now()),
                None => break,
            }
        }
        shared.timer.set_armed(lock(&self.schedule).next());
    }

    fn done(&self) -> bool {
        self.remaining.load(Ordering::SeqCst) == 0
    }
}

/// Runs `options.connections` client streams on an I/O completion port;
/// see [`crate::sys::run_client`].
pub(crate) fn run_client(
    options: &ClientOptions,
    config: &ClientConfig,
    observer: &mut dyn ClientObserver,
) -> io::Result<Vec<StreamResult>> {
    let mut control = ClientControl::check(options, config)?;
    let start = control.start();
    let mut sockets = Vec::new();
    let mut streams = Vec::new();
    let mut schedule = Schedule::new();
    for i in 0..options.connections {
        let (std_socket, _) = connect_client(
            options.target,
            options.bind,
            options.socket_buffer,
            options.marking,
        )?;
        std_socket.set_nonblocking(false)?;
        let socket = UdpSocket::new(socket2::Socket::from(std_socket))?;
        streams.push(Mutex::new(ClientStream::new(
            i,
            options,
            config,
            socket.local,
            start,
        )?));
        sockets.push(socket);
        schedule.set(i, start);
    }
    let (tx, rx) = mpsc::channel();
    let sink = ClientSink {
        target: SockAddr::from(options.target),
        remaining: AtomicUsize::new(streams.len()),
        streams,
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
    let mut results: Vec<Option<StreamResult>> = (0..options.connections).map(|_| None).collect();
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
        if let Some(elapsed) = control.status_due(now) {
            let streams: Vec<_> = shared.sink.streams.iter().map(lock).collect();
            report_status(streams.iter().map(|s| &**s), elapsed, observer);
        }
        if let Some(why) = control.abort_reason(now) {
            for (i, s) in shared.sink.streams.iter().enumerate() {
                lock(s).abort(why);
                lock(&shared.sink.schedule).set(i, now);
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
