//! A custom client pattern runs through the mio backend as the built-in
//! session does: it is offered GSO runs and gets the kernel's receive
//! timestamps. Linux, where both exist; loopback only, every run bounded.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design
#![cfg(target_os = "linux")]

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mediastream::client::{ClientConfig, ClientSession, Direction};
use mediastream::pattern::{IoPattern, Status, StreamStats, Transmit};
use mediastream::server::{Server, ServerConfig, StreamResult};
use mediastream::settings::StreamSettings;
use mediastream::sys::{
    start_client, start_server, Backend, ClientOptions, ClientPatternFactory, ServerOptions,
};

/// What the probe saw of the backend.
#[derive(Debug, Default)]
struct Seen {
    /// Most datagrams the backend let one run carry.
    max_segments_offered: usize,
    /// Most datagrams one run really carried.
    longest_run: usize,
    /// Datagrams received.
    datagrams: u64,
    /// Longest time from a datagram's arrival stamp to its delivery.
    max_stamp_lag: Duration,
    /// The probe stalled its thread once, while data was arriving.
    stalled: bool,
}

/// The built-in session inside a custom pattern that watches what the
/// backend gives it.
struct Probe {
    inner: ClientSession,
    seen: Arc<Mutex<Seen>>,
}

impl IoPattern for Probe {
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.inner.poll_transmit(now, buf)
    }

    fn poll_transmit_batch(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        max: usize,
    ) -> Option<Transmit> {
        let t = self.inner.poll_transmit_batch(now, buf, max)?;
        let mut seen = self.seen.lock().unwrap();
        seen.max_segments_offered = seen.max_segments_offered.max(max);
        seen.longest_run = seen.longest_run.max(t.segments());
        Some(t)
    }

    fn handle_datagram(&mut self, arrival: Instant, datagram: &[u8]) {
        let lag = Instant::now().saturating_duration_since(arrival);
        let mut seen = self.seen.lock().unwrap();
        seen.datagrams += 1;
        seen.max_stamp_lag = seen.max_stamp_lag.max(lag);
        drop(seen);
        self.inner.handle_datagram(arrival, datagram);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        let mut seen = self.seen.lock().unwrap();
        if seen.datagrams > 20 && !seen.stalled {
            // Datagrams that arrive during this stall (a frame every
            // 40 ms) wait in the socket.
            // Stamped by the kernel, they carry their arrival; stamped when
            // read, they would look as if they had just arrived.
            seen.stalled = true;
            drop(seen);
            std::thread::sleep(Duration::from_millis(150));
        } else {
            drop(seen);
        }
        self.inner.handle_timeout(now);
    }

    fn status(&self) -> Status {
        self.inner.status()
    }

    fn stats(&self) -> &StreamStats {
        self.inner.stats()
    }

    fn abort(&mut self, reason: &str) {
        self.inner.abort(reason);
    }
}

struct ProbeFactory(Arc<Mutex<Seen>>);

impl ClientPatternFactory for ProbeFactory {
    fn create(
        &self,
        _index: usize,
        config: &ClientConfig,
        now: Instant,
    ) -> io::Result<Box<dyn IoPattern + Send>> {
        let inner = ClientSession::new(config.clone(), now)?;
        Ok(Box::new(Probe {
            inner,
            seen: self.0.clone(),
        }))
    }
}

fn probe_run(addr: SocketAddr, direction: Direction) -> (Seen, StreamResult) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut options = ClientOptions::new(addr);
    options.time_limit = Some(Duration::from_secs(20));
    options.pattern = Some(Arc::new(ProbeFactory(seen.clone())));
    // 20 Mbit/s at 25 frames/s: 100 kB frames, 72 datagrams each.
    let mut config = ClientConfig::new(StreamSettings::new(20_000_000, 25, 2), 0xfeed);
    config.direction = direction;
    let mut results = start_client(Backend::Mio, options, config, ())
        .unwrap()
        .join()
        .unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (seen, results.remove(0))
}

#[test]
fn a_custom_client_pattern_keeps_gso_runs_and_kernel_timestamps() {
    let server = Server::with_defaults(ServerConfig::default()).unwrap();
    let mut options = ServerOptions::new(["127.0.0.1:0".parse().unwrap()]);
    options.shards = 1;
    let _server = start_server(Backend::Mio, Arc::new(server), &options).unwrap();
    let addr = _server.local_addrs()[0];
    let (sending, r) = probe_run(addr, Direction::Send);
    eprintln!("sending through the probe: {sending:?}, {:?}", r.status);
    assert!(r.succeeded(), "{:?}", r.status);
    assert!(
        sending.max_segments_offered > 1 && sending.longest_run > 1,
        "the backend offered runs of {} and the probe sent runs of {}: no GSO",
        sending.max_segments_offered,
        sending.longest_run
    );
    let (receiving, r) = probe_run(addr, Direction::Receive);
    eprintln!("receiving through the probe: {receiving:?}, {:?}", r.status);
    assert!(receiving.stalled && receiving.datagrams > 100);
    assert!(
        receiving.max_stamp_lag >= Duration::from_millis(60),
        "datagrams that waited through a 150 ms stall were stamped at most {:?} \
         before delivery: the stamps are not the kernel's",
        receiving.max_stamp_lag
    );
}
