//! A frame sender and a frame receiver joined by a simulated link with
//! seeded loss, duplication, reordering, delay, jitter and corruption, on a
//! virtual clock. For every seed the receiver's counters, frame by frame,
//! must equal what the link's own log implies.

mod support;

use std::time::{Duration, Instant};

use mediastream::pattern::{
    FrameReceiver, FrameRecord, FrameSender, IoPattern, ReceiverConfig, SenderConfig, Status,
    StreamError,
};
use mediastream::settings::{StreamPlan, StreamSettings};
use mediastream::time::Timebase;
use support::link::{Impairments, Link, CLEAN};
use support::model;

/// 2 Mbit/s, 50 frames/s, 4 s: 200 frames of 5000 bytes (1400 x 3 + 800),
/// a 200 ms buffer (10 frames, a 20-slot ring).
fn plan() -> StreamPlan {
    let mut s = StreamSettings::new(2_000_000, 50, 4);
    s.buffer_depth_ms = 200;
    s.plan().expect("valid settings")
}

struct Run {
    rx: FrameReceiver,
    records: Vec<FrameRecord>,
    link: Link,
}

/// Steps both patterns and the link on a virtual clock until the receiver
/// finishes. Bounded: a stream of 4 s cannot need more than a few
/// thousand events per datagram.
fn run(plan: StreamPlan, seed: u64, imp: Impairments) -> Run {
    run_with_stall(plan, seed, imp, Duration::ZERO)
}

/// As [`run`], with the sender's schedule starting `stall` before the
/// receiver exists: its first wake-up sends every frame due by then back
/// to back (the catch-up rule).
fn run_with_stall(plan: StreamPlan, seed: u64, imp: Impairments, stall: Duration) -> Run {
    let t0 = Instant::now() + stall;
    // One clock at both ends: the receiver's delays are the link's.
    let clock = Timebase::new(t0 - stall);
    let mut tx_config = SenderConfig::default();
    tx_config.timebase = Some(clock);
    let mut tx = FrameSender::new(plan, tx_config, t0 - stall);
    let mut config = ReceiverConfig::default();
    config.record_frames = true;
    config.timebase = Some(clock);
    let mut rx = FrameReceiver::new(plan, config, t0);
    let mut link = Link::new(seed, imp);
    let mut buf = vec![0u8; plan.max_datagram()];
    let mut records = Vec::new();
    let mut now = t0;
    for _ in 0..1_000_000 {
        while let Some(len) = tx.poll_transmit(now, &mut buf) {
            link.send(now, &buf[..len]);
        }
        while let Some(datagram) = link.poll_arrival(now) {
            rx.handle_datagram(now, &datagram);
        }
        if rx.poll_timeout().is_some_and(|t| t <= now) {
            rx.handle_timeout(now);
        }
        records.extend(std::iter::from_fn(|| rx.poll_record()));
        if rx.status().is_finished() {
            return Run { rx, records, link };
        }
        let next = [tx.poll_timeout(), rx.poll_timeout(), link.next_arrival()]
            .into_iter()
            .flatten()
            .min()
            .expect("the receiver always has a deadline while running");
        now = now.max(next);
    }
    panic!("seed {seed}: the simulation did not finish");
}

fn check(name: &str, imp: Impairments, seeds: std::ops::Range<u64>) -> model::Expected {
    check_with_stall(name, imp, seeds, Duration::ZERO)
}

fn check_with_stall(
    name: &str,
    imp: Impairments,
    seeds: std::ops::Range<u64>,
    stall: Duration,
) -> model::Expected {
    let plan = plan();
    let mut total = model::Expected::default();
    for seed in seeds {
        let Run { rx, records, link } = run_with_stall(plan, seed, imp, stall);
        let want = model::expected(&plan, link.log());
        let s = rx.stats();
        let got = (
            s.frames_completed,
            s.frames_dropped,
            s.frames_repeated,
            s.frames_error,
        );
        let exp = (want.completed, want.dropped, want.repeated, want.errors);
        assert_eq!(
            got, exp,
            "{name} seed {seed}: completed/dropped/repeated/errors"
        );
        assert_eq!(
            s.datagrams_corrupt, want.corrupt,
            "{name} seed {seed}: corrupt"
        );
        assert_eq!(
            s.datagrams_received, want.datagrams,
            "{name} seed {seed}: datagrams"
        );
        check_metrics(name, seed, &plan, &rx, &want);
        let outcomes: Vec<_> = records.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes, want.outcomes,
            "{name} seed {seed}: per-frame outcomes"
        );
        let expected_status = if want.corrupt > 0 {
            "corrupt"
        } else {
            "completed"
        };
        match (rx.status(), expected_status) {
            (Status::Completed, "completed") => {}
            (Status::Failed(StreamError::CorruptPayload { datagrams, .. }), "corrupt") => {
                assert_eq!(datagrams, want.corrupt, "{name} seed {seed}");
            }
            (status, _) => {
                panic!("{name} seed {seed}: status {status:?}, expected {expected_status}")
            }
        }
        total.completed += want.completed;
        total.dropped += want.dropped;
        total.repeated += want.repeated;
        total.errors += want.errors;
        total.corrupt += want.corrupt;
    }
    total
}

/// The receive metrics against the model: datagram loss, duplicates,
/// reordering and late copies, late frames, freezes, and the delays'
/// exact extremes.
fn check_metrics(
    name: &str,
    seed: u64,
    plan: &StreamPlan,
    rx: &FrameReceiver,
    want: &model::Expected,
) {
    let m = rx.stats().metrics.as_ref().expect("a receiver has metrics");
    let d = m.datagrams;
    let expected = plan.stream_frames() * plan.split().datagram_count();
    assert_eq!(
        (
            d.expected,
            d.received_unique,
            d.lost(),
            d.duplicates,
            d.reordered,
            d.late
        ),
        (
            expected,
            want.received_unique,
            expected - want.received_unique,
            want.duplicates,
            want.reordered,
            want.late
        ),
        "{name} seed {seed}: expected/unique/lost/duplicates/reordered/late datagrams"
    );
    let p = m.playout;
    assert_eq!(
        (
            p.late_frames,
            (p.freezes, p.frozen_frames, p.longest_freeze_frames)
        ),
        (want.late_frames, want.freezes),
        "{name} seed {seed}: late frames, freezes"
    );
    let h = &m.datagram_delay;
    assert_eq!(
        (
            h.count(),
            h.min().unwrap_or(i64::MAX),
            h.max().unwrap_or(i64::MIN)
        ),
        want.delays,
        "{name} seed {seed}: delays"
    );
    // The loss pattern accounts every datagram once.
    assert_eq!(m.loss_runs.datagrams, expected, "{name} seed {seed}");
    assert_eq!(
        m.loss_runs.burst_losses + m.loss_runs.gap_losses,
        d.lost(),
        "{name} seed {seed}: loss runs"
    );
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn clean_link_completes_every_frame() {
    let total = check("clean", CLEAN, 0..5);
    assert_eq!(
        (total.completed, total.dropped, total.repeated, total.errors),
        (5 * 200, 0, 0, 0)
    );
}

#[test]
fn loss() {
    let mut imp = CLEAN;
    imp.loss = 0.02;
    let total = check("loss", imp, 0..50);
    // 2% of 4 datagrams: about 7.8% of frames lose one.
    assert!(total.dropped > 300 && total.dropped < 1300, "{total:?}");
    assert_eq!(total.errors, 0);
}

#[test]
fn duplication() {
    let mut imp = CLEAN;
    imp.duplicate = 0.03;
    let total = check("duplicate", imp, 0..50);
    assert!(total.repeated > 500, "{total:?}");
    assert_eq!(total.dropped, 0);
}

#[test]
fn reordering_within_the_buffer_is_not_loss() {
    let mut imp = CLEAN;
    imp.reorder = 0.1;
    imp.reorder_max = ms(60);
    let total = check("reorder", imp, 0..50);
    assert_eq!((total.dropped, total.errors), (0, 0), "{total:?}");
}

#[test]
fn jitter_beyond_the_buffer_makes_late_datagrams() {
    let mut imp = CLEAN;
    imp.delay = ms(5);
    imp.jitter = ms(300);
    let total = check("jitter", imp, 0..50);
    assert!(total.errors > 0 && total.dropped > 0, "{total:?}");
}

#[test]
fn long_holds_make_stale_and_future_datagrams() {
    let mut imp = CLEAN;
    imp.reorder = 0.05;
    imp.reorder_max = ms(2000);
    let total = check("hold", imp, 0..50);
    assert!(total.errors > 0, "{total:?}");
}

#[test]
fn a_sender_stalled_past_its_buffer_skips_what_would_be_dropped() {
    // The sender starts 500 ms late with a 200 ms buffer. Frames 1..=15
    // (due before 300 ms) could only arrive more than a buffer depth late:
    // it skips them and sends frame 16 on, on schedule, and the receiver,
    // anchored on frame 16, completes all of those. (Sending them all, as
    // ctsTraffic's sender does, anchors the receiver 25 frames behind the
    // schedule: every later frame then arrives past the 20-slot ring, 20
    // completed of 200.)
    let total = check_with_stall("stall", CLEAN, 0..3, ms(500));
    assert_eq!(
        (total.completed, total.dropped),
        (3 * 185, 3 * 15),
        "{total:?}"
    );
    assert_eq!(total.errors, 0, "{total:?}");
    let mut imp = CLEAN;
    imp.loss = 0.02;
    imp.duplicate = 0.02;
    imp.jitter = ms(30);
    let total = check_with_stall("stall+mixed", imp, 0..50, ms(500));
    assert!(total.dropped >= 50 * 15, "{total:?}");
}

#[test]
fn everything_at_once_including_corruption() {
    let mut imp = Impairments::default();
    imp.loss = 0.01;
    imp.duplicate = 0.02;
    imp.reorder = 0.05;
    imp.reorder_max = ms(100);
    imp.delay = ms(10);
    imp.jitter = ms(40);
    imp.corrupt = 0.01;
    let total = check("mixed", imp, 0..50);
    assert!(
        total.corrupt > 0 && total.repeated > 0 && total.dropped > 0,
        "{total:?}"
    );
}

#[test]
fn one_corrupted_byte_fails_the_stream() {
    // Corrupt about one datagram in 800 and find a seed where exactly one
    // was hit: it must be reported, and only its frame lost.
    let mut imp = CLEAN;
    imp.corrupt = 1.0 / 800.0;
    let plan = plan();
    let seed = (0..100)
        .find(|&seed| {
            let r = run(plan, seed, imp);
            r.rx.stats().datagrams_corrupt == 1
        })
        .expect("some seed corrupts exactly one datagram");
    let r = run(plan, seed, imp);
    assert!(matches!(
        r.rx.status(),
        Status::Failed(StreamError::CorruptPayload { datagrams: 1, .. })
    ));
    assert_eq!(r.rx.stats().frames_dropped, 1);
    assert_eq!(r.rx.stats().frames_completed, 199);
}
