//! A bounded flood against a server that is serving one real stream:
//! 200,000 START, v1 REQUEST and garbage datagrams from 200 source ports
//! on 40 loopback addresses (127.0.0.2 to 127.0.0.41) within 20 s. The
//! real stream must complete at least 99% of its frames, the server must
//! never hold more streams than its limit, and memory must stay bounded.

#![cfg(target_os = "linux")] // binds 127.0.0.2-41, which Linux routes to loopback
#![allow(clippy::unwrap_used, clippy::print_stderr)] // test helpers fail loudly; the figures are reported

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediastream::client::ClientConfig;
use mediastream::server::{ConnectionManager, Server, ServerConfig, SourceLimits};
use mediastream::settings::StreamSettings;
use mediastream::sys::{run_client, start_server, Backend, ClientOptions, ServerOptions};
use mediastream::wire::v1::{RequestRepr, REQUEST_LEN};

const MAX_STREAMS: usize = 16;

/// This process's peak resident memory, KiB (Linux; 0 elsewhere).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn flood(target: SocketAddr, total: u32, limit: Duration) -> u32 {
    let sockets: Vec<UdpSocket> = (2..42u8)
        .flat_map(|host| (0..5).map(move |_| host))
        .filter_map(|host| UdpSocket::bind(SocketAddr::from(([127, 0, 0, host], 0))).ok())
        .collect();
    assert!(
        sockets.len() >= 100,
        "loopback addresses 127.0.0.2-41 bind on Linux"
    );
    let mut request = [0u8; REQUEST_LEN];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let started = Instant::now();
    let mut sent = 0u32;
    while sent < total && started.elapsed() < limit {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let socket = &sockets[(state >> 40) as usize % sockets.len()];
        let kind = (state >> 20) % 10;
        let bytes: Vec<u8> = match kind {
            0..=3 => b"START".to_vec(),
            4 | 5 => {
                let r = RequestRepr {
                    token: state,
                    bits_per_second: 8_000_000,
                    frame_rate: 50,
                    stream_length_secs: 3,
                    datagram_size: 1400,
                    buffer_depth_ms: 1000,
                    report_interval_ms: 250,
                    consent_timeout_ms: 3000,
                    cookie: None,
                    media: None,
                };
                r.emit(false, &mut request).unwrap();
                request.to_vec()
            }
            _ => (0..(state >> 56) as usize % 120)
                .map(|i| (state >> (i % 8 * 8)) as u8)
                .collect(),
        };
        if socket.send_to(&bytes, target).is_ok() {
            sent += 1;
        }
        if sent.is_multiple_of(500) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    sent
}

#[test]
fn a_flood_neither_stops_a_real_stream_nor_grows_the_server() {
    let mut config = ServerConfig::default();
    config.compat_settings = Some(StreamSettings::new(8_000_000, 50, 3));
    config.max_streams = MAX_STREAMS;
    config.sources = SourceLimits::default();
    config.sources.requests_per_second = 20.0;
    config.sources.burst = 40.0;
    config.sources.streams_per_source = 4;
    let server = Arc::new(Server::with_defaults(config).unwrap());
    let mut options = ServerOptions::new(vec!["127.0.0.1:0".parse().unwrap()]);
    options.shards = 2;
    let handle = start_server(Backend::Mio, server.clone(), &options).unwrap();
    let target = handle.local_addrs()[0];
    let rss_before = peak_rss_kib();

    // Watch how many streams the server holds, every 5 ms.
    let watching = Arc::new(AtomicBool::new(true));
    let most = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (server, watching, most) = (server.clone(), watching.clone(), most.clone());
        std::thread::spawn(move || {
            while watching.load(Ordering::SeqCst) {
                most.fetch_max(server.manager().len(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    // The real stream: 5 s, 250 frames; the flood starts once it runs.
    let real = std::thread::spawn(move || {
        let settings = StreamSettings::new(8_000_000, 50, 5);
        let mut options = ClientOptions::new(target);
        options.time_limit = Some(Duration::from_secs(30));
        run_client(
            Backend::Mio,
            &options,
            &ClientConfig::new(settings, 0xf00d),
            &mut (),
        )
        .unwrap()
        .remove(0)
    });
    std::thread::sleep(Duration::from_millis(300));
    let flood_started = Instant::now();
    let sent = flood(target, 200_000, Duration::from_secs(20));
    let flood_secs = flood_started.elapsed().as_secs_f64();
    let r = real.join().unwrap();
    watching.store(false, Ordering::SeqCst);
    watcher.join().unwrap();
    let stats = server.stats();
    let rss_after = peak_rss_kib();
    handle.stop().unwrap();

    eprintln!(
        "flood: {sent} datagrams in {flood_secs:.1} s; real stream {}/{} frames; most streams held {}; \
         rate-limited {}, malformed {}, unknown {}, starts {}, requests {} (challenged {}), streams started {}; \
         peak RSS {rss_before} -> {rss_after} KiB",
        r.stats.frames_completed,
        r.plan.stream_frames(),
        most.load(Ordering::SeqCst),
        stats.rate_limited,
        stats.malformed,
        stats.unknown,
        stats.starts,
        stats.requests,
        stats.challenged,
        stats.streams_started
    );
    assert_eq!(sent, 200_000);
    assert!(
        r.stats.frames_completed * 100 >= r.plan.stream_frames() * 99,
        "{:?}",
        r.stats
    );
    // One direction is used (the server sends): at most MAX_STREAMS.
    assert!(
        most.load(Ordering::SeqCst) <= MAX_STREAMS,
        "held {}",
        most.load(Ordering::SeqCst)
    );
    assert!(
        stats.rate_limited > 0,
        "the per-source limits were exercised"
    );
    assert!(
        rss_after.saturating_sub(rss_before) < 64 * 1024,
        "peak RSS grew by {} KiB",
        rss_after - rss_before
    );
}
