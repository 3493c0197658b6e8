//! The library as an embedder uses it: handles that own their threads, a
//! client run stopped half way, and a custom client pattern that keeps the
//! backend's GSO runs and kernel receive timestamps. Loopback only; every
//! run is bounded.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mediastream::client::{ClientConfig, ClientSession, Direction};
use mediastream::pattern::{IoPattern, Status, StreamError, StreamStats, Transmit};
use mediastream::server::{Server, ServerConfig};
use mediastream::settings::StreamSettings;
use mediastream::sys::{
    start_client, start_server, Backend, ClientOptions, ClientPatternFactory, ServerOptions,
};

/// A default server that also serves plain ctsTraffic START (a short,
/// slow stream), so a bare `START` gets an answer.
fn config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.compat_settings = Some(StreamSettings::new(100_000, 10, 2));
    config
}

fn server() -> (impl Drop, SocketAddr) {
    let server = Server::with_defaults(config()).unwrap();
    let mut options = ServerOptions::new(["127.0.0.1:0".parse().unwrap()]);
    options.shards = 1;
    let handle = start_server(Backend::Mio, Arc::new(server), &options).unwrap();
    let addr = handle.local_addrs()[0];
    (handle, addr)
}

/// Sends a plain ctsTraffic START from a new socket and waits up to
/// `wait` for any answer.
fn answers_start(addr: SocketAddr, wait: Duration) -> bool {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(wait)).unwrap();
    socket.send_to(b"START", addr).unwrap();
    let mut buf = [0u8; 2048];
    // A closed port may answer with ICMP (an error here): no answer either.
    matches!(socket.recv_from(&mut buf), Ok((n, from)) if n > 0 && from == addr)
}

#[test]
fn dropping_the_server_handle_stops_the_server() {
    let (handle, addr) = server();
    assert!(
        answers_start(addr, Duration::from_secs(5)),
        "a live server answers"
    );
    drop(handle);
    assert!(
        !answers_start(addr, Duration::from_secs(1)),
        "a request after the drop gets no answer"
    );
}

#[test]
fn a_detached_server_keeps_serving() {
    let (addr, before) = {
        let server = Server::with_defaults(config()).unwrap();
        let mut options = ServerOptions::new(["127.0.0.1:0".parse().unwrap()]);
        options.shards = 1;
        let handle = start_server(Backend::Mio, Arc::new(server), &options).unwrap();
        let addr = handle.local_addrs()[0];
        handle.detach();
        (addr, Instant::now())
    };
    assert!(answers_start(addr, Duration::from_secs(5)), "still serving");
    assert!(before.elapsed() < Duration::from_secs(5));
}

#[test]
fn stopping_a_client_ends_a_long_stream_at_once_with_partial_results() {
    let (_server, addr) = server();
    for direction in [Direction::Receive, Direction::Send] {
        let config = ClientConfig {
            direction,
            ..ClientConfig::new(StreamSettings::new(1_000_000, 50, 30), 0x5eed)
        };
        let run = start_client(Backend::Mio, ClientOptions::new(addr), config, ()).unwrap();
        std::thread::sleep(Duration::from_secs(2));
        assert!(
            !run.is_finished(),
            "{direction:?}: a 30 s stream is running"
        );
        let asked = Instant::now();
        let results = run.stop().unwrap();
        let took = asked.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "{direction:?}: stop took {took:?}"
        );
        assert_eq!(results.len(), 1);
        let r = &results[0];
        assert!(
            matches!(&r.status, Status::Failed(StreamError::Aborted { reason }) if reason == "interrupted"),
            "{direction:?}: {:?}",
            r.status
        );
        let moved = r.stats.bytes_sent + r.stats.bytes_received;
        // Two seconds of 1 Mbit/s is about 250 kB: partial, not nothing
        // and not the whole 30 s (3.75 MB).
        assert!(
            (100_000..1_000_000).contains(&moved),
            "{direction:?}: {moved} bytes"
        );
    }
}

#[test]
fn a_run_that_cannot_start_is_refused_before_any_thread() {
    let config = ClientConfig {
        direction: Direction::Send,
        compat: true,
        ..ClientConfig::new(StreamSettings::new(1_000_000, 50, 1), 1)
    };
    let options = ClientOptions::new("127.0.0.1:9".parse().unwrap());
    let err = start_client(Backend::Mio, options, config, ()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

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

#[derive(Debug)]
struct ProbeFactory(Arc<Mutex<Seen>>);

impl ClientPatternFactory for ProbeFactory {
    fn create(
        &self,
        _index: usize,
        config: &ClientConfig,
        now: Instant,
    ) -> io::Result<Box<dyn IoPattern + Send>> {
        let inner = ClientSession::new(*config, now)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        Ok(Box::new(Probe {
            inner,
            seen: self.0.clone(),
        }))
    }
}

fn probe_run(addr: SocketAddr, direction: Direction) -> (Seen, mediastream::server::StreamResult) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut options = ClientOptions::new(addr);
    options.time_limit = Some(Duration::from_secs(20));
    options.pattern = Some(Arc::new(ProbeFactory(seen.clone())));
    // 20 Mbit/s at 25 frames/s: 100 kB frames, 72 datagrams each.
    let config = ClientConfig {
        direction,
        ..ClientConfig::new(StreamSettings::new(20_000_000, 25, 2), 0xfeed)
    };
    let mut results = start_client(Backend::Mio, options, config, ())
        .unwrap()
        .join()
        .unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (seen, results.remove(0))
}

#[cfg(target_os = "linux")]
#[test]
fn a_custom_client_pattern_keeps_gso_runs_and_kernel_timestamps() {
    let (_server, addr) = server();
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
