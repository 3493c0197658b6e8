//! The machinery shared by the IOCP server and client: sockets on one
//! completion port, receives kept posted, worker threads draining
//! completions in batches, a timer thread, and an orderly shutdown.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{ERROR_HANDLES_CLOSED, ERROR_OPERATION_ABORTED};
use windows_sys::Win32::System::IO::OVERLAPPED_ENTRY;

use super::super::handle::{IoAccounting, Stopper};
use super::op::RecvOp;
use super::port::Port;
use super::timer::Timer;
use super::udp::UdpSocket;

/// What the engine calls. Implementations lock what they share.
pub(super) trait Sink: Send + Sync + Sized + 'static {
    /// A datagram arrived on socket `index` from `from`.
    fn on_datagram(
        &self,
        engine: &Shared<Self>,
        index: usize,
        from: SocketAddr,
        bytes: &[u8],
        now: Instant,
    );
    /// Runs the work due at `now` and arms the engine's timer for the next
    /// deadline (under the lock producers use, see [`Timer::set_armed`]).
    fn on_timer(&self, engine: &Shared<Self>, now: Instant);
    /// True when the engine should stop by itself.
    fn done(&self) -> bool;
}

/// Completion key of a quit packet (socket keys are their indices).
const QUIT: usize = usize::MAX;
/// Completions taken per GetQueuedCompletionStatusEx call.
const BATCH: usize = 64;
/// How long shutdown waits for cancelled receives to complete before it
/// gives up and leaks them (never frees them) rather than hang.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// The running engine's shared state.
pub(super) struct Shared<S> {
    pub(super) port: Port,
    pub(super) sockets: Vec<UdpSocket>,
    pub(super) sink: S,
    pub(super) timer: Timer,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) accounting: Arc<IoAccounting>,
    /// Receives handed to the OS and not yet completed.
    outstanding: AtomicUsize,
    workers: usize,
}

/// A started engine: its threads and how to stop it.
pub(super) struct Running<S> {
    pub(super) shared: Arc<Shared<S>>,
    pub(super) threads: Vec<JoinHandle<io::Result<()>>>,
    pub(super) stopper: Stopper,
}

impl<S: Sink> Shared<S> {
    fn bump(&self, counter: &std::sync::atomic::AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Posts `op` on its socket, counting it; a failed post drops it.
    fn post(&self, op: Box<RecvOp>) {
        let socket = &self.sockets[op.socket];
        self.outstanding.fetch_add(1, Ordering::SeqCst);
        match socket.post_recv(op) {
            Ok(()) => self.bump(&self.accounting.posted),
            Err((op, e)) => {
                self.outstanding.fetch_sub(1, Ordering::SeqCst);
                log::warn!("posting a receive on {} failed: {e}", socket.local);
                drop(op);
            }
        }
    }

    /// Sets the stop flag, cancels every pending receive, and tells each
    /// worker to finish once the cancellations have completed.
    fn stop_all(&self) {
        if self.stop.swap(true, Ordering::SeqCst) {
            return;
        }
        for s in &self.sockets {
            s.cancel_all();
        }
        for _ in 0..self.workers {
            if let Err(e) = self.port.post(QUIT) {
                log::warn!("posting quit: {e}");
            }
        }
        self.timer.wake();
    }

    /// One completion: hand the datagram over and post the receive again,
    /// or, when stopping, let the operation go now that the OS is done.
    fn complete(&self, entry: &OVERLAPPED_ENTRY) {
        // SAFETY: every OVERLAPPED this port carries (quit packets have
        // none and were filtered out) is the first field of a RecvOp that
        // post() leaked; its completion has just been dequeued, so the OS
        // no longer references it and the box is ours again, once.
        let op = unsafe { Box::from_raw(entry.lpOverlapped.cast::<RecvOp>()) };
        self.outstanding.fetch_sub(1, Ordering::SeqCst);
        self.bump(&self.accounting.completed);
        // `Internal` is the NTSTATUS: 0 is success.
        if entry.Internal == 0 {
            let len = entry.dwNumberOfBytesTransferred as usize;
            match op.sender() {
                Some(from) => {
                    self.sink
                        .on_datagram(self, op.socket, from, &op.buffer[..len], Instant::now())
                }
                None => log::debug!("a datagram without an IP source address"),
            }
        } else {
            let code = ntstatus_to_win32(entry.Internal);
            if code == ERROR_OPERATION_ABORTED || code == ERROR_HANDLES_CLOSED {
                self.bump(&self.accounting.cancelled);
            } else {
                // Per-peer errors (ICMP resets, a datagram too large) end
                // nothing: the receive is simply posted again.
                log::debug!("receive completed with status {:#x}", entry.Internal);
            }
        }
        if !self.stop.load(Ordering::SeqCst) {
            self.post(op);
        }
    }

    /// Runs one worker until shutdown, then passes the quit on: one
    /// GetQueuedCompletionStatusEx batch can take several quit packets,
    /// so each worker re-posts one as it leaves, and none is left waiting.
    fn worker(&self) -> io::Result<()> {
        let result = self.drain_completions();
        if let Err(e) = self.port.post(QUIT) {
            log::warn!("passing the quit on: {e}");
        }
        result
    }

    fn drain_completions(&self) -> io::Result<()> {
        let mut entries = [OVERLAPPED_ENTRY::default(); BATCH];
        let mut quitting: Option<Instant> = None;
        loop {
            let timeout = quitting.map(|_| Duration::from_millis(20));
            let n = self.port.wait(&mut entries, timeout)?;
            for entry in &entries[..n] {
                if entry.lpCompletionKey == QUIT || entry.lpOverlapped.is_null() {
                    quitting.get_or_insert_with(Instant::now);
                    continue;
                }
                self.complete(entry);
            }
            if let Some(since) = quitting {
                if self.outstanding.load(Ordering::SeqCst) == 0 {
                    return Ok(());
                }
                if since.elapsed() > DRAIN_LIMIT {
                    // Leak, never free, what the OS may still write to.
                    log::error!(
                        "{} receive(s) never completed after cancellation; leaving their memory",
                        self.outstanding.load(Ordering::SeqCst)
                    );
                    return Ok(());
                }
            }
        }
    }

    fn timer_thread(&self) -> io::Result<()> {
        while !self.stop.load(Ordering::SeqCst) {
            self.sink.on_timer(self, Instant::now());
            if self.sink.done() {
                self.stop_all();
                break;
            }
            self.timer.wait();
        }
        Ok(())
    }
}

/// NTSTATUS codes the port reports for cancelled receives, mapped to the
/// Win32 errors they stand for.
fn ntstatus_to_win32(status: usize) -> u32 {
    match status as u32 {
        0xC000_0120 => ERROR_OPERATION_ABORTED, // STATUS_CANCELLED
        0x8000_000A => ERROR_HANDLES_CLOSED,    // STATUS_HANDLES_CLOSED (Wine)
        other => other,
    }
}

/// Starts the engine: associates the sockets, posts `prepost` receives on
/// each, and starts `workers` worker threads and one timer thread.
pub(super) fn start<S: Sink>(
    sockets: Vec<UdpSocket>,
    sink: S,
    workers: usize,
    prepost: usize,
    stop: Arc<AtomicBool>,
    name: &str,
) -> io::Result<Running<S>> {
    let workers = workers.max(1);
    let port = Port::new(workers as u32)?;
    for (i, s) in sockets.iter().enumerate() {
        port.associate(s.handle(), i)?;
    }
    let shared = Arc::new(Shared {
        port,
        sockets,
        sink,
        timer: Timer::new()?,
        stop,
        accounting: Arc::new(IoAccounting::default()),
        outstanding: AtomicUsize::new(0),
        workers,
    });
    if !shared.timer.high_resolution() {
        log::warn!("no high-resolution timer: pacing follows the system tick");
    }
    for i in 0..shared.sockets.len() {
        for _ in 0..prepost.max(1) {
            shared.post(RecvOp::new(i));
        }
    }
    let mut threads = Vec::new();
    for w in 0..workers {
        let s = shared.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("{name}-iocp-{w}"))
                .spawn(move || s.worker())?,
        );
    }
    let s = shared.clone();
    threads.push(
        std::thread::Builder::new()
            .name(format!("{name}-timer"))
            .spawn(move || s.timer_thread())?,
    );
    let s = shared.clone();
    let stopper: Stopper = Arc::new(move || s.stop_all());
    Ok(Running {
        shared,
        threads,
        stopper,
    })
}
