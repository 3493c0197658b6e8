//! What every backend's server returns: a handle to stop it, its
//! addresses, and its counters.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::SocketBuffers;
use crate::server::{ConnectedSocketFactory, ConnectionManager, Server, StreamResult};

/// How a server listens, whatever the backend. There is no default
/// address: [`ServerOptions::new`] takes the addresses, so that a server
/// reachable from the network is always asked for in so many words
/// ([`expand_listen`](super::expand_listen) gives every interface).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Addresses to listen on (port 0 picks one; every shard then uses it).
    pub listen: Vec<SocketAddr>,
    /// Worker threads (mio: shards with their own sockets; IOCP: threads
    /// draining the completion port); 0 means one per core.
    pub shards: usize,
    /// Socket buffer size to ask for, bytes.
    pub socket_buffer: usize,
    /// Receives kept posted per socket (IOCP; ctsTraffic's PrePostRecvs).
    /// mio has no posted receives and ignores it.
    pub prepost: usize,
    /// Opt-in pacing precision (mio): wake this much before a frame is
    /// due and spin for the rest. Zero (the default) never spins.
    pub spin: std::time::Duration,
    /// The DSCP and ECN every datagram the server sends carries (IP_TOS or
    /// IPV6_TCLASS on its listening sockets); default: none set. Windows
    /// ignores it without the QoS2 API (docs/PROTOCOL.md).
    pub marking: crate::marking::Marking,
}

impl ServerOptions {
    /// Listens on `listen`, one worker per core, 4 MiB socket buffers,
    /// 2 posted receives per socket (IOCP), no spinning.
    pub fn new(listen: impl IntoIterator<Item = SocketAddr>) -> Self {
        Self {
            listen: listen.into_iter().collect(),
            shards: 0,
            socket_buffer: 4 << 20,
            prepost: 2,
            spin: std::time::Duration::ZERO,
            marking: Default::default(),
        }
    }

    /// Refuses options with no address to listen on (every backend).
    pub(crate) fn check_listen(&self) -> io::Result<()> {
        if self.listen.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no address to listen on",
            ));
        }
        Ok(())
    }

    /// The worker count `shards` asks for.
    pub(crate) fn workers(&self) -> usize {
        match self.shards {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Datagrams and bytes a server moved, all workers together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Traffic {
    /// Datagrams received (every kind).
    pub datagrams_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Datagrams sent (every kind).
    pub datagrams_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
}

/// One worker's counters: written by that worker only, so no cache line
/// is shared between workers on the hot path.
#[derive(Debug, Default)]
pub(crate) struct WorkerTraffic {
    datagrams_received: AtomicU64,
    bytes_received: AtomicU64,
    datagrams_sent: AtomicU64,
    bytes_sent: AtomicU64,
}

impl WorkerTraffic {
    pub(crate) fn received(&self, bytes: usize) {
        self.datagrams_received.fetch_add(1, Ordering::Relaxed);
        self.bytes_received
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn load(&self) -> Traffic {
        Traffic {
            datagrams_received: self.datagrams_received.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            datagrams_sent: self.datagrams_sent.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
        }
    }

    /// A run of `datagrams` that left in one call, `bytes` in all: two
    /// atomic adds per run, not per datagram.
    pub(crate) fn sent_run(&self, datagrams: usize, bytes: usize) {
        self.datagrams_sent
            .fetch_add(datagrams as u64, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// Each worker's traffic counters, readable from any thread for as long
/// as the probe is kept (also after the server stopped), from
/// [`ServerHandle::traffic_probe`]: for a monitoring thread that wants
/// the load per worker (shard) without holding the handle. Reading is a
/// few relaxed atomic loads per worker; the workers never wait for it.
#[derive(Debug, Clone)]
pub struct TrafficProbe {
    workers: Vec<Arc<WorkerTraffic>>,
}

impl TrafficProbe {
    /// Each worker's datagrams and bytes so far, in worker order.
    pub fn per_worker(&self) -> Vec<Traffic> {
        self.workers.iter().map(|w| w.load()).collect()
    }

    /// All workers together.
    pub fn total(&self) -> Traffic {
        self.per_worker()
            .into_iter()
            .fold(Traffic::default(), |mut t, w| {
                t.datagrams_received += w.datagrams_received;
                t.bytes_received += w.bytes_received;
                t.datagrams_sent += w.datagrams_sent;
                t.bytes_sent += w.bytes_sent;
                t
            })
    }
}

/// Backend-specific I/O accounting, for tests and diagnostics: how many
/// overlapped operations were posted, completed, and (never, if the
/// backend is right) released while still pending.
#[derive(Debug, Default)]
pub struct IoAccounting {
    /// Operations handed to the OS.
    pub posted: AtomicU64,
    /// Operations the OS reported complete (cancelled ones included).
    pub completed: AtomicU64,
    /// Of those, completions that reported cancellation at shutdown.
    pub cancelled: AtomicU64,
    /// Operations whose memory was freed before their completion arrived.
    pub released_pending: AtomicU64,
}

/// Stops the workers: sets the flag and wakes every one of them.
pub(crate) type Stopper = Arc<dyn Fn() + Send + Sync>;

/// A running server: its workers, its addresses, and how to stop it.
///
/// The handle owns the worker threads: [`stop`](Self::stop) ends them and
/// returns what the streams still running had done; [`join`](Self::join)
/// waits for a server with an exit limit to end by itself. Dropping the
/// handle stops and joins the server too (the streams still running are
/// aborted and their results dropped), so a server never outlives its
/// handle by accident; [`detach`](Self::detach) lets it run on for the
/// rest of the process.
pub struct ServerHandle<M: ConnectionManager + 'static, F: ConnectedSocketFactory + 'static> {
    pub(crate) server: Arc<Server<M, F>>,
    pub(crate) threads: Vec<JoinHandle<io::Result<()>>>,
    /// Worker threads (IOCP adds a timer thread to `threads`).
    pub(crate) workers: usize,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) stopper: Stopper,
    pub(crate) local: Vec<SocketAddr>,
    pub(crate) buffers: SocketBuffers,
    pub(crate) send_drops: Arc<AtomicU64>,
    pub(crate) traffic: Vec<Arc<WorkerTraffic>>,
    pub(crate) accounting: Option<Arc<IoAccounting>>,
    pub(crate) backend: super::Backend,
}

impl<M: ConnectionManager + 'static, F: ConnectedSocketFactory + 'static> std::fmt::Debug
    for ServerHandle<M, F>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("backend", &self.backend)
            .field("local", &self.local)
            .field("workers", &self.threads.len())
            .field("buffers", &self.buffers)
            .finish_non_exhaustive()
    }
}

impl<M: ConnectionManager + 'static, F: ConnectedSocketFactory + 'static> ServerHandle<M, F> {
    /// The addresses actually bound (with the port chosen for port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// Socket buffer sizes requested and granted (first socket).
    pub fn buffers(&self) -> SocketBuffers {
        self.buffers
    }

    /// Worker threads serving (mio: shards; IOCP: threads draining the
    /// completion port, not counting its timer thread).
    pub fn shards(&self) -> usize {
        self.workers
    }

    /// The backend serving.
    pub fn backend(&self) -> super::Backend {
        self.backend
    }

    /// Datagrams dropped because a socket's send buffer stayed full.
    pub fn send_drops(&self) -> u64 {
        self.send_drops.load(Ordering::Relaxed)
    }

    /// Datagrams and bytes moved so far, all workers together.
    pub fn traffic(&self) -> Traffic {
        self.traffic_probe().total()
    }

    /// Each worker's traffic counters, to read from another thread
    /// ([`TrafficProbe`]).
    pub fn traffic_probe(&self) -> TrafficProbe {
        TrafficProbe {
            workers: self.traffic.clone(),
        }
    }

    /// Overlapped-operation accounting (IOCP backend only).
    pub fn io_accounting(&self) -> Option<Arc<IoAccounting>> {
        self.accounting.clone()
    }

    /// The server the workers drive.
    pub fn server(&self) -> &Arc<Server<M, F>> {
        &self.server
    }

    /// True once every worker has stopped (the exit limit was reached).
    pub fn is_finished(&self) -> bool {
        self.threads.iter().all(|t| t.is_finished())
    }

    /// Stops every worker, joins every thread, aborts the streams still
    /// running and returns their results. Returns within a worker's pass
    /// (tens of milliseconds).
    pub fn stop(mut self) -> io::Result<Vec<StreamResult>> {
        (self.stopper)();
        self.join_workers()
    }

    /// Blocks until the workers stop by themselves (the server's exit
    /// limit), then returns as [`stop`](Self::stop). Without an exit
    /// limit this waits forever: use `stop`.
    pub fn join(mut self) -> io::Result<Vec<StreamResult>> {
        self.join_workers()
    }

    /// Lets the server run on without this handle, until the process
    /// ends (or, with an exit limit, until it stops by itself). Its
    /// threads are detached: nothing can stop or join them any more.
    pub fn detach(mut self) {
        // Dropping the join handles detaches the threads; with none left,
        // the handle's drop has nothing to stop.
        self.threads.clear();
    }

    fn join_workers(&mut self) -> io::Result<Vec<StreamResult>> {
        let mut first_error = None;
        for t in std::mem::take(&mut self.threads) {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert(io::Error::other("a server worker panicked"));
                }
            }
        }
        debug_assert!(self.stop.load(Ordering::SeqCst));
        let left = self.server.shutdown(Instant::now(), "server stopped");
        match first_error {
            Some(e) => Err(e),
            None => Ok(left),
        }
    }
}

impl<M: ConnectionManager + 'static, F: ConnectedSocketFactory + 'static> Drop
    for ServerHandle<M, F>
{
    /// Stops and joins the server unless [`stop`](Self::stop),
    /// [`join`](Self::join) or [`detach`](Self::detach) already did.
    fn drop(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        (self.stopper)();
        if let Err(e) = self.join_workers() {
            log::warn!("the server dropped with its handle ended with an error: {e}");
        }
    }
}
