//! Throughput of the hot paths that run once per datagram: payload fill
//! and verify, and a whole datagram through sender and receiver patterns.
//!
//! `cargo bench --bench payload` (a plain harness: no extra dependencies).
//! Prints one line per case; `-- --quick` runs each for a tenth of the time.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::hint::black_box;
use std::time::{Duration, Instant};

use mediastream::pattern::{FrameReceiver, FrameSender, IoPattern};
use mediastream::settings::StreamSettings;
use mediastream::wire::payload;

/// Runs `f` (which processes `bytes` bytes) repeatedly for `budget` and
/// returns bytes per second.
fn measure(budget: Duration, bytes: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..100 {
        f();
    }
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            f();
        }
        rounds += 64;
    }
    rounds as f64 * bytes as f64 / start.elapsed().as_secs_f64()
}

fn payload_cases(budget: Duration) {
    for len in [1374usize, 8974, 65_481] {
        let mut buf = vec![0u8; len];
        let fill = measure(budget, len, || payload::fill(black_box(&mut buf)));
        payload::fill(&mut buf);
        let verify = measure(budget, len, || {
            black_box(payload::verify(black_box(&buf))).ok();
        });
        println!(
            "payload {len:>6} B: fill {:6.2} GB/s   verify {:6.2} GB/s",
            fill / 1e9,
            verify / 1e9
        );
    }
}

/// A whole stream through sender and receiver with no socket in between:
/// what the state machines cost per datagram.
fn pattern_case(budget: Duration) {
    let mut settings = StreamSettings::new(1_000_000_000, 1000, 10);
    settings.buffer_depth_ms = 1000;
    let plan = settings.plan().expect("valid settings");
    let mut datagrams = 0u64;
    let mut bytes = 0u64;
    let start = Instant::now();
    while start.elapsed() < budget {
        let t0 = Instant::now();
        let mut tx = FrameSender::new(plan, Default::default(), t0);
        let mut rx = FrameReceiver::new(plan, Default::default(), t0);
        let mut buf = vec![0u8; plan.max_datagram()];
        // Virtual time: each frame leaves and arrives at its due time.
        while let Some(now) = tx.poll_timeout() {
            while let Some(len) = tx.poll_transmit(now, &mut buf) {
                rx.handle_datagram(now, black_box(&buf[..len]));
                datagrams += 1;
                bytes += len as u64;
            }
        }
        rx.handle_timeout(t0 + Duration::from_secs(12));
        assert_eq!(rx.stats().frames_completed, plan.stream_frames());
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "sender+receiver patterns, 1400-byte datagrams: {:.2} M datagrams/s ({:.1} Gbit/s) on one core",
        datagrams as f64 / secs / 1e6,
        bytes as f64 * 8.0 / secs / 1e9
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 100 } else { 1000 });
    payload_cases(budget);
    pattern_case(budget * 2);
}
