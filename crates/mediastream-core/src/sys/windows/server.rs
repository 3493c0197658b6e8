//! The MediaStream server on the completion port.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::SockAddr;

use super::engine::{self, Sink};
use super::udp::UdpSocket;
use crate::server::{
    Batching, ConnectedSocketFactory, ConnectionManager, Drive, Handled, ListenerHandler,
    ListenerId, Received, Server, StreamKey, StreamRequest,
};
use crate::sys::handle::{ServerHandle, ServerOptions, WorkerTraffic};
use crate::sys::schedule::Schedule;
use crate::sys::socket::{bind_listener, is_peer_error, SocketBuffers};
use crate::sys::Backend;

/// How often waiting requests are expired.
const MAINTAIN_EVERY: Duration = Duration::from_millis(100);
/// Longest the timer thread drives due streams before it looks at the
/// stop flag and upkeep again.
const PASS_LIMIT: Duration = Duration::from_millis(20);

thread_local! {
    /// Each thread's send buffer for [`Server::drive`].
    static TX: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 65_536]);
}

struct ServerSink<M, F> {
    server: Arc<Server<M, F>>,
    /// The listening sockets' addresses, by listener id, for sends.
    locals: Vec<SocketAddr>,
    schedule: Mutex<(Schedule<StreamKey>, Instant)>,
    traffic: Arc<WorkerTraffic>,
    send_drops: Arc<AtomicU64>,
}

impl<M, F> ServerSink<M, F>
where
    M: ConnectionManager + 'static,
    F: ConnectedSocketFactory + 'static,
{
    fn drive(&self, shared: &engine::Shared<Self>, key: StreamKey, now: Instant) {
        let sockets = &shared.sockets;
        let traffic = &self.traffic;
        // No segmentation offload here (Batching::NONE): one datagram each.
        let mut send = |request: &StreamRequest, bytes: &[u8], _segment: usize| {
            let socket = &sockets[request.listener.0 as usize];
            match socket.send_to(bytes, &SockAddr::from(request.key.remote)) {
                Ok(_) => {
                    traffic.sent_run(1, bytes.len());
                    Ok(())
                }
                Err(e) if e.raw_os_error() == Some(10035) => {
                    // WSAEWOULDBLOCK: counted as a local drop, as mio does;
                    // Server::drive takes it out of the stream's counts.
                    self.send_drops.fetch_add(1, Ordering::Relaxed);
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        };
        let outcome = TX.with(|tx| {
            self.server
                .drive(key, now, &mut tx.borrow_mut(), Batching::NONE, &mut send)
        });
        let mut sched = self.schedule.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Drive::Wake(at) => {
                sched.0.set(key, at);
                shared.timer.wake_if_earlier(at);
            }
            Drive::Finished { started, .. } => {
                sched.0.remove(key);
                // The exit limit may now be reached: let the timer look.
                shared.timer.wake();
                drop(sched);
                if let Some(next) = started {
                    self.drive(shared, next, now);
                }
            }
            Drive::Idle | Drive::Gone => sched.0.remove(key),
        }
    }
}

impl<M, F> Sink for ServerSink<M, F>
where
    M: ConnectionManager + 'static,
    F: ConnectedSocketFactory + 'static,
{
    fn on_datagram(
        &self,
        shared: &engine::Shared<Self>,
        index: usize,
        from: SocketAddr,
        bytes: &[u8],
        now: Instant,
    ) {
        self.traffic.received(bytes.len());
        let local = self.locals[index];
        let received = Received::new(ListenerId(index as u32), local, from, bytes, now);
        match self.server.on_datagram(received) {
            Handled::Delivered(key) | Handled::Started(key) => self.drive(shared, key, now),
            Handled::Reply(reply) => {
                let socket = &shared.sockets[reply.listener.0 as usize];
                if let Err(e) = socket.send_to(reply.bytes(), &SockAddr::from(reply.remote)) {
                    if !is_peer_error(&e) {
                        log::debug!("reply to {} failed: {e}", reply.remote);
                    }
                }
            }
            Handled::Queued | Handled::Ignored(_) => {}
        }
    }

    fn on_timer(&self, shared: &engine::Shared<Self>, now: Instant) {
        loop {
            let due = self
                .schedule
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .0
                .pop_due(now);
            // Due as of `now`, driven at its own time (see the mio shard).
            match due {
                Some(key) => self.drive(shared, key, Instant::now()),
                None => break,
            }
            // What is still due stays due: the timer comes back at once.
            if now.elapsed() >= PASS_LIMIT {
                break;
            }
        }
        let mut sched = self.schedule.lock().unwrap_or_else(|p| p.into_inner());
        if now >= sched.1 + MAINTAIN_EVERY {
            self.server.maintain(now);
            sched.1 = now;
        }
        // Wake up for upkeep at least every MAINTAIN_EVERY.
        let next = sched
            .0
            .next()
            .map_or(now + MAINTAIN_EVERY, |t| t.min(now + MAINTAIN_EVERY));
        shared.timer.set_armed(Some(next));
    }

    fn done(&self) -> bool {
        self.server.is_done()
    }
}

/// Starts `server` on an I/O completion port: the listening sockets on
/// one port, `options.shards` worker threads (one per core by default),
/// and a timer thread.
pub(crate) fn start_server<M, F>(
    server: Arc<Server<M, F>>,
    options: &ServerOptions,
) -> io::Result<ServerHandle<M, F>>
where
    M: ConnectionManager + 'static,
    F: ConnectedSocketFactory + 'static,
{
    options.check_listen()?;
    let mut sockets = Vec::new();
    let mut buffers = SocketBuffers::default();
    for (i, addr) in options.listen.iter().enumerate() {
        let (std_socket, granted) =
            bind_listener(*addr, false, options.socket_buffer, options.marking)?;
        if i == 0 {
            buffers = granted;
        }
        // The listener was created non-blocking for mio; IOCP sends are
        // synchronous, so make it blocking again.
        std_socket.set_nonblocking(false)?;
        sockets.push(UdpSocket::new(socket2::Socket::from(std_socket))?);
    }
    let locals: Vec<SocketAddr> = sockets.iter().map(|s| s.local).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let send_drops = Arc::new(AtomicU64::new(0));
    let traffic = Arc::new(WorkerTraffic::default());
    let sink = ServerSink {
        server: server.clone(),
        locals: locals.clone(),
        schedule: Mutex::new((Schedule::new(), Instant::now())),
        traffic: traffic.clone(),
        send_drops: send_drops.clone(),
    };
    let running = engine::start(
        sockets,
        sink,
        options.workers(),
        options.prepost,
        stop.clone(),
        "mediastream",
    )?;
    log::info!(
        "IOCP listening on {locals:?} with {} worker(s)",
        options.workers()
    );
    Ok(ServerHandle {
        server,
        workers: options.workers(),
        threads: running.threads,
        stop,
        stopper: running.stopper,
        local: locals,
        buffers,
        send_drops,
        traffic: vec![traffic],
        accounting: Some(running.shared.accounting.clone()),
        backend: Backend::Iocp,
    })
}
