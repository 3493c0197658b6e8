use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};

use super::super::handle::{ServerHandle, ServerOptions, Stopper, WorkerTraffic};
use super::super::schedule::Schedule;
use super::super::socket::{bind_listener, claim_port, is_peer_error, SocketBuffers};
use super::super::Backend;
use super::timer::{spin_until, wake_time, Timer};
use super::udp::{datagrams, Udp};
use crate::server::{
    ConnectedSocketFactory, ConnectionManager, Drive, Handled, ListenerHandler, ListenerId,
    Received, Server, StreamKey, StreamRequest,
};

const TIMER: Token = Token(usize::MAX - 1);
const WAKE: Token = Token(usize::MAX - 2);
/// Datagrams read from one socket before timers get a turn.
const RECV_BUDGET: usize = 256;
/// How often waiting requests are expired.
const MAINTAIN_EVERY: Duration = Duration::from_millis(100);
use super::PASS_LIMIT;

struct Listener {
    id: ListenerId,
    local: SocketAddr,
    udp: Udp,
}

/// Starts the server's shards on `options.listen`.
pub(crate) fn start_server<M, F>(
    server: Arc<Server<M, F>>,
    options: &ServerOptions,
) -> io::Result<ServerHandle<M, F>>
where
    M: ConnectionManager + 'static,
    F: ConnectedSocketFactory + 'static,
{
    options.check_listen()?;
    // Without SO_REUSEPORT the shards could not share the port.
    let shards = if cfg!(unix) { options.workers() } else { 1 };
    let reuse = shards > 1;
    // Our shards may share the port; nobody else may: claim each address
    // without SO_REUSEPORT first (a single shard binds without it anyway).
    let claimed = if reuse {
        options
            .listen
            .iter()
            .map(|&addr| claim_port(addr))
            .collect::<io::Result<Vec<_>>>()?
    } else {
        options.listen.clone()
    };
    let mut local = Vec::new();
    let mut buffers = SocketBuffers::default();
    let mut per_shard: Vec<Vec<Listener>> = Vec::new();
    for shard in 0..shards {
        let mut listeners = Vec::new();
        for (i, &claimed) in claimed.iter().enumerate() {
            // Shards after the first bind the port the first one got.
            let addr = if shard == 0 { claimed } else { local[i] };
            let (std_socket, granted) =
                bind_listener(addr, reuse, options.socket_buffer, options.marking)?;
            if shard == 0 {
                local.push(std_socket.local_addr()?);
                if i == 0 {
                    buffers = granted;
                }
            }
            let udp = Udp::new(mio::net::UdpSocket::from_std(std_socket));
            udp.report_unreachable();
            listeners.push(Listener {
                id: ListenerId(i as u32),
                local: local[i],
                udp,
            });
        }
        per_shard.push(listeners);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let send_drops = Arc::new(AtomicU64::new(0));
    let mut polls = Vec::new();
    let mut wakers = Vec::new();
    for listeners in &mut per_shard {
        let poll = Poll::new()?;
        for (i, l) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(&mut l.udp.socket, Token(i), Interest::READABLE)?;
        }
        wakers.push(Arc::new(Waker::new(poll.registry(), WAKE)?));
        polls.push(poll);
    }
    let stopper: Stopper = {
        let (stop, wakers) = (stop.clone(), wakers.clone());
        Arc::new(move || {
            stop.store(true, Ordering::SeqCst);
            for w in &wakers {
                let _ = w.wake();
            }
        })
    };
    let path = per_shard
        .first()
        .and_then(|l| l.first())
        .map_or("sendto", |l| l.udp.send_path());
    let mut threads = Vec::new();
    let mut traffic = Vec::new();
    for (index, (listeners, poll)) in per_shard.into_iter().zip(polls).enumerate() {
        let timer = Timer::new()?;
        timer.register(poll.registry(), TIMER)?;
        let counters = Arc::new(WorkerTraffic::default());
        traffic.push(counters.clone());
        let shard = Shard {
            spin: options.spin,
            traffic: counters,
            stopper: stopper.clone(),
            server: server.clone(),
            listeners,
            poll,
            timer,
            schedule: Schedule::new(),
            rx_buf: vec![0u8; 65_536],
            tx_buf: vec![0u8; 65_536],
            stop: stop.clone(),
            send_drops: send_drops.clone(),
            readable: Vec::new(),
            errored: Vec::new(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("mediastream-shard-{index}"))
            .spawn(move || shard.run())?;
        threads.push(thread);
    }
    log::info!("listening on {local:?} with {shards} shard(s), socket buffers {buffers:?}, send path {path}");
    Ok(ServerHandle {
        server,
        workers: threads.len(),
        threads,
        stop,
        stopper,
        local,
        buffers,
        send_drops,
        traffic,
        accounting: None,
        backend: Backend::Mio,
    })
}

struct Shard<M, F> {
    server: Arc<Server<M, F>>,
    spin: Duration,
    traffic: Arc<WorkerTraffic>,
    stopper: Stopper,
    listeners: Vec<Listener>,
    poll: Poll,
    timer: Timer,
    schedule: Schedule<StreamKey>,
    rx_buf: Vec<u8>,
    tx_buf: Vec<u8>,
    stop: Arc<AtomicBool>,
    send_drops: Arc<AtomicU64>,
    /// Sockets whose receive budget ran out: read them again before waiting.
    readable: Vec<usize>,
    /// Sockets with ICMP errors queued (see `Udp::report_unreachable`).
    errored: Vec<usize>,
}

impl<M: ConnectionManager, F: ConnectedSocketFactory> Shard<M, F> {
    fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        let mut last_maintain = Instant::now();
        loop {
            let timeout = if self.readable.is_empty() {
                self.timer
                    .poll_timeout(wake_time(self.schedule.next(), self.spin))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let mut timer_fired = false;
            for event in events.iter() {
                match event.token() {
                    TIMER => timer_fired = true,
                    WAKE => {}
                    Token(i) => {
                        if event.is_error() && !self.errored.contains(&i) {
                            self.errored.push(i);
                        }
                        if !self.readable.contains(&i) {
                            self.readable.push(i);
                        }
                    }
                }
            }
            for i in std::mem::take(&mut self.errored) {
                self.end_unreachable(i);
            }
            // Frames due first: a receive burst must not make them late,
            // and nothing else comes between the wake-up and the first
            // send, not even reading the timer (a syscall): that waits.
            if !self.spin.is_zero() {
                spin_until(self.schedule.next(), self.spin);
            }
            self.run_due();
            if timer_fired {
                self.timer.clear();
            }
            for i in std::mem::take(&mut self.readable) {
                self.receive(i);
            }
            self.run_due();
            let now = Instant::now();
            if now >= last_maintain + MAINTAIN_EVERY {
                self.server.maintain(now);
                last_maintain = now;
            }
            if self.server.is_done() {
                (self.stopper)();
                return Ok(());
            }
            self.timer.arm(wake_time(self.schedule.next(), self.spin))?;
        }
    }

    fn run_due(&mut self) {
        // What is due as of this pass (so that a pass ends), each driven
        // at its own time: under load a pass can take long, and a stale
        // clock would understate lateness and misdate the stream's end.
        // A pass ends after PASS_LIMIT even with streams still due (they
        // stay due): receives, the stop flag and upkeep come first.
        let pass = Instant::now();
        while let Some(key) = self.schedule.pop_due(pass) {
            self.drive(key, Instant::now());
            if pass.elapsed() >= PASS_LIMIT {
                break;
            }
        }
    }

    fn receive(&mut self, index: usize) {
        for _ in 0..RECV_BUDGET {
            let listener = &self.listeners[index];
            match listener.udp.recv_run(&mut self.rx_buf) {
                Ok(super::udp::Run {
                    len,
                    segment,
                    from: Some(remote),
                    arrival,
                    tos,
                    ..
                }) => {
                    // Patterns see when it arrived; sending uses the clock.
                    let now = arrival;
                    let (id, local) = (listener.id, listener.local);
                    // GRO may have coalesced several datagrams of one peer.
                    let run = std::mem::take(&mut self.rx_buf);
                    for bytes in datagrams(&run[..len], segment) {
                        self.traffic.received(bytes.len());
                        let mut received = Received::new(id, local, remote, bytes, now);
                        received.tos = tos;
                        let handled = self.server.on_datagram(received);
                        self.act(handled, Instant::now());
                    }
                    self.rx_buf = run;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A peer's ICMP error, reported once on the shared socket.
                Err(e) if is_peer_error(&e) => self.end_unreachable(index),
                Err(e) => {
                    log::warn!("receiving on {}: {e}", listener.local);
                    return;
                }
            }
        }
        // Edge-triggered: more may be waiting, and no new event will say so.
        self.readable.push(index);
    }

    /// Ends the streams of every peer whose port an ICMP error on socket
    /// `index` says has closed (a plain client that went away would
    /// otherwise be sent its whole stream).
    fn end_unreachable(&mut self, index: usize) {
        for remote in self.listeners[index].udp.unreachable_peers(256) {
            let reason = format!("{remote} is unreachable (ICMP port unreachable)");
            for key in self.server.on_unreachable(remote, &reason) {
                self.drive(key, Instant::now());
            }
        }
    }

    fn act(&mut self, handled: Handled, now: Instant) {
        match handled {
            Handled::Delivered(key) | Handled::Started(key) => self.drive(key, now),
            Handled::Reply(reply) => {
                // The stream's send path: it retries past another peer's
                // pending ICMP error and a full buffer.
                let udp = &self.listeners[reply.listener.0 as usize].udp;
                let bytes = reply.bytes();
                match udp.send_run(reply.remote, bytes, bytes.len()) {
                    Ok(true) => {}
                    Ok(false) => log::debug!("reply to {}: send buffer full", reply.remote),
                    Err(e) => log::debug!("reply to {} failed: {e}", reply.remote),
                }
            }
            Handled::Queued | Handled::Ignored(_) => {}
        }
    }

    fn drive(&mut self, key: StreamKey, now: Instant) {
        let listeners = &self.listeners;
        let drops = &self.send_drops;
        let traffic = &self.traffic;
        let mut send = |request: &StreamRequest, bytes: &[u8], segment: usize| {
            let udp = &listeners[request.listener.0 as usize].udp;
            let count = bytes.len().div_ceil(segment.max(1));
            if udp.send_run(request.key.remote, bytes, segment)? {
                traffic.sent_run(count, bytes.len());
                Ok(())
            } else {
                drops.fetch_add(count as u64, Ordering::Relaxed);
                // Server::drive takes them out of the stream's counts.
                Err(io::ErrorKind::WouldBlock.into())
            }
        };
        let batching = listeners[0].udp.batching();
        match self
            .server
            .drive(key, now, &mut self.tx_buf, batching, &mut send)
        {
            Drive::Wake(at) => self.schedule.set(key, at),
            Drive::Finished { started, .. } => {
                self.schedule.remove(key);
                if let Some(next) = started {
                    self.drive(next, now);
                }
            }
            Drive::Idle | Drive::Gone => self.schedule.remove(key),
        }
    }
}
