//! A running pattern whose `poll_timeout` is `None` waits for its next
//! datagram: neither backend loop may drive it again and again. Alone in
//! its own test binary, so the process's CPU time is this test's.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design
#![cfg(target_os = "linux")]

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediastream::client::{ClientConfig, Direction};
use mediastream::pattern::{IoPattern, Status, StreamStats};
use mediastream::server::{ConnectedSocketFactory, Server, ServerConfig, StreamRequest};
use mediastream::settings::StreamSettings;
use mediastream::sys::{
    start_client, start_server, Backend, ClientOptions, ClientPatternFactory, ServerOptions,
};

/// Runs forever, never due: it only reacts to datagrams.
struct Idle {
    stats: StreamStats,
    status: Status,
    drives: Arc<AtomicU64>,
}

impl Idle {
    fn boxed(drives: &Arc<AtomicU64>) -> Box<dyn IoPattern + Send> {
        Box::new(Idle {
            stats: StreamStats::default(),
            status: Status::Running,
            drives: drives.clone(),
        })
    }
}

impl IoPattern for Idle {
    fn poll_transmit(&mut self, _: Instant, _: &mut [u8]) -> Option<usize> {
        self.drives.fetch_add(1, Ordering::Relaxed);
        None
    }
    fn handle_datagram(&mut self, _: Instant, _: &[u8]) {}
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _: Instant) {}
    fn status(&self) -> Status {
        self.status.clone()
    }
    fn stats(&self) -> &StreamStats {
        &self.stats
    }
    fn abort(&mut self, reason: &str) {
        self.status.abort(reason);
    }
}

struct IdleServerStreams(Arc<AtomicU64>);

impl ConnectedSocketFactory for IdleServerStreams {
    fn create(&self, _: &StreamRequest, _: Instant) -> Result<Box<dyn IoPattern + Send>, String> {
        Ok(Idle::boxed(&self.0))
    }
}

struct IdleClientStreams(Arc<AtomicU64>);

impl ClientPatternFactory for IdleClientStreams {
    fn create(
        &self,
        _: usize,
        _: &ClientConfig,
        _: Instant,
    ) -> io::Result<Box<dyn IoPattern + Send>> {
        Ok(Idle::boxed(&self.0))
    }
}

/// CPU time this process has used (user + system), from /proc: clock
/// ticks of 10 ms.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may hold spaces) in brackets.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[test]
fn idle_patterns_cost_under_one_percent_of_a_core() {
    let server_drives = Arc::new(AtomicU64::new(0));
    let client_drives = Arc::new(AtomicU64::new(0));
    let mut config = ServerConfig::default();
    config.compat_settings = Some(StreamSettings::new(100_000, 10, 2));
    let server = Server::with_factory(config, IdleServerStreams(server_drives.clone())).unwrap();
    let mut options = ServerOptions::new(["127.0.0.1:0".parse().unwrap()]);
    options.shards = 1;
    let handle = start_server(Backend::Mio, Arc::new(server), &options).unwrap();
    let addr = handle.local_addrs()[0];
    // A plain START (loopback may speak plain ctsTraffic) starts one idle
    // server stream; the client run is one idle client stream.
    let plain = UdpSocket::bind("127.0.0.1:0").unwrap();
    plain.send_to(b"START", addr).unwrap();
    let mut client_options = ClientOptions::new(addr);
    client_options.pattern = Some(Arc::new(IdleClientStreams(client_drives.clone())));
    let mut config = ClientConfig::new(StreamSettings::new(1_000_000, 50, 1), 3);
    config.direction = Direction::Send;
    let client = start_client(Backend::Mio, client_options, config, ()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while server_drives.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        server_drives.load(Ordering::Relaxed) > 0,
        "the server stream started"
    );
    let (cpu_before, wall_before) = (cpu_time(), Instant::now());
    let drives_before = (
        server_drives.load(Ordering::Relaxed),
        client_drives.load(Ordering::Relaxed),
    );
    std::thread::sleep(Duration::from_secs(5));
    let cpu = cpu_time() - cpu_before;
    let wall = wall_before.elapsed();
    let drives = (
        server_drives.load(Ordering::Relaxed) - drives_before.0,
        client_drives.load(Ordering::Relaxed) - drives_before.1,
    );
    let results = client.stop().unwrap();
    let left = handle.stop().unwrap();
    eprintln!("over {wall:?}: {cpu:?} of CPU, drives (server, client) {drives:?}");
    assert_eq!(results.len(), 1, "the client stream ended when stopped");
    assert_eq!(
        left.len(),
        1,
        "the server stream ran until the server stopped"
    );
    assert!(
        cpu.as_secs_f64() < wall.as_secs_f64() * 0.01,
        "{cpu:?} of CPU in {wall:?} for two idle streams (drives {drives:?})"
    );
}
