//! What one receiving stream holds on the heap, part by part: a frame
//! sender and a frame receiver on a virtual clock, joined by a link with
//! loopback-like delays (30 µs plus a seeded spread, now and then a few
//! milliseconds), under a global allocator that counts live bytes.
//!
//! `cargo run --release --example stream_memory [-- RATE FPS SECS]`
//! (default 100000 50 10: the voice-sized stream of bench/scale.sh).
//! Prints the receiver's live heap bytes after the run and its peak, and
//! what each delay histogram takes on its own; bench/scale.sh prints it
//! beside the server's RSS per stream. A measurement, not a test.

#![allow(clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use mediastream::pattern::metrics::DelayHistogram;
use mediastream::pattern::{FrameReceiver, FrameSender, IoPattern, ReceiverConfig, SenderConfig};
use mediastream::rand::SplitMix64;
use mediastream::settings::StreamSettings;
use mediastream::time::Timebase;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counters
// only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live =
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let grown = new_size as isize - layout.size() as isize;
        let live = LIVE.fetch_add(grown, Ordering::Relaxed) + grown;
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// A loopback-like one-way delay: 30 µs, plus up to 200 µs, plus 1 in
/// 200 datagrams up to 5 ms late.
fn delay(rng: &mut SplitMix64) -> Duration {
    let mut d = Duration::from_micros(30) + rng.duration(Duration::from_micros(200));
    if rng.chance(0.005) {
        d += rng.duration(Duration::from_millis(5));
    }
    d
}

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .map(|s| s.parse().expect("arguments: RATE FPS SECS, whole numbers"))
        .unwrap_or(default)
}

fn main() {
    let (rate, fps, secs) = (arg(1, 100_000), arg(2, 50), arg(3, 10));
    let plan = StreamSettings::new(rate, fps as u32, secs as u32)
        .plan()
        .expect("valid stream settings");
    let t0 = Instant::now();
    let clock = Timebase::new(t0);
    let mut tx_config = SenderConfig::default();
    tx_config.timebase = Some(clock);
    let mut tx = FrameSender::new(plan, tx_config, t0);
    let mut rx_config = ReceiverConfig::default();
    rx_config.timebase = Some(clock);

    let before = live();
    let mut rx = FrameReceiver::new(plan, rx_config, t0);
    let created = live() - before;
    PEAK.store(live(), Ordering::Relaxed);

    let mut rng = SplitMix64::new(7);
    let mut buf = vec![0u8; plan.max_datagram()];
    let mut in_flight: Vec<(Instant, Vec<u8>)> = Vec::new();
    let mut now = t0;
    let mut rx_peak = 0isize;
    for _ in 0..10_000_000 {
        while let Some(len) = tx.poll_transmit(now, &mut buf) {
            in_flight.push((now + delay(&mut rng), buf[..len].to_vec()));
        }
        in_flight.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        while in_flight.last().is_some_and(|(at, _)| *at <= now) {
            let (_, datagram) = in_flight.pop().expect("checked");
            // The receiver's growth alone: the link's buffers are freed
            // before the peak is read.
            let base = live();
            PEAK.store(base, Ordering::Relaxed);
            rx.handle_datagram(now, &datagram);
            rx_peak = rx_peak.max(PEAK.load(Ordering::Relaxed) - base + (base - before));
        }
        if rx.poll_timeout().is_some_and(|t| t <= now) {
            rx.handle_timeout(now);
        }
        if rx.status().is_finished() {
            break;
        }
        let next = [
            tx.poll_timeout(),
            rx.poll_timeout(),
            in_flight.last().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
        .expect("the receiver has a deadline while it runs");
        now = now.max(next);
    }
    drop(in_flight);
    drop(buf);
    let held = live() - before;
    let stats = rx.stats();
    let m = stats
        .metrics
        .as_ref()
        .expect("a frame receiver keeps metrics");
    let histograms = [
        ("datagram_delay", &m.datagram_delay),
        ("frame_first_delay", &m.frame_first_delay),
        ("frame_last_delay", &m.frame_last_delay),
        ("ipdv", &m.ipdv),
    ];
    println!(
        "stream: {rate} bit/s, {fps} frames/s, {secs} s: {} frames completed, {} dropped",
        stats.frames_completed, stats.frames_dropped
    );
    println!("receiver heap: {created} bytes when created, {held} bytes after the run, peak {rx_peak} bytes");
    println!(
        "inline (size_of::<FrameReceiver>): {} bytes",
        size_of::<FrameReceiver>()
    );
    for (name, h) in histograms {
        println!(
            "  {name}: {} bytes on the heap ({} values)",
            heap_of(h),
            h.count()
        );
    }
}

/// The heap a histogram holds: what a clone of it allocates.
fn heap_of(h: &DelayHistogram) -> isize {
    let before = live();
    let copy = h.clone();
    let bytes = live() - before;
    drop(copy);
    bytes
}
