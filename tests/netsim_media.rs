//! Frame-size models over the simulated link: a sender of log-normal, GOP
//! and trace frames (v1 frame data) and a receiver that learns every
//! frame's size and kind from the data, under loss, duplication,
//! reordering, delay and jitter. For every seed each frame's outcome, the
//! per-kind counts and the decodable frames equal an independent model's
//! (tests/support/model.rs's rules with the model's sizes, and the
//! dependency rule restated here).

// Library config types are built with default() and assigned field by field
// (they are becoming #[non_exhaustive]).
#![allow(clippy::field_reassign_with_default)]

mod support;

use std::time::{Duration, Instant};

use mediastream::pattern::metrics::{Decoder, TimelineFrame};
use mediastream::pattern::model::{
    FrameKind, FrameModel, FrameSizes, Gop, LogNormal, Trace, TraceFrame,
};
use mediastream::pattern::{
    FrameOutcome, FrameReceiver, FrameSender, IoPattern, ReceiverConfig, SenderConfig,
};
use mediastream::settings::{FrameSplit, StreamPlan, StreamSettings};
use mediastream::time::Timebase;
use mediastream::wire::MIN_FRAME_DATA_DATAGRAM;
use support::link::{Impairments, Link, CLEAN};
use support::model;

/// 2 Mbit/s, 30 frames/s, 4 s: 120 frames of 8333 bytes on average, a
/// 200 ms buffer (6 frames).
fn plan() -> StreamPlan {
    let mut s = StreamSettings::new(2_000_000, 30, 4);
    s.buffer_depth_ms = 200;
    s.plan().expect("valid settings")
}

fn lognormal(seed: u64) -> FrameSizes {
    FrameSizes::LogNormal(LogNormal::new(1_000_000, seed))
}

fn gop(seed: u64) -> FrameSizes {
    let mut g = Gop::every_frames(15, 8.0);
    g.variation = 0.2;
    g.seed = seed;
    FrameSizes::Gop(g)
}

/// A trace of 45 frames, keyframes at 0 and 20, sizes from the index,
/// scaled to the stream's rate.
fn trace(_seed: u64) -> FrameSizes {
    let frames = (0..45u64)
        .map(|i| {
            let key = i % 20 == 0;
            let kind = if key {
                FrameKind::Key
            } else {
                FrameKind::Delta
            };
            TraceFrame::new(
                i as f64 / 30.0,
                if key { 30_000 } else { 2_000 + 97 * i },
                kind,
            )
        })
        .collect();
    let mut t = Trace::from_frames(frames).expect("frames");
    t.scale = true;
    FrameSizes::Trace(t)
}

struct Run {
    rx: FrameReceiver,
    outcomes: Vec<FrameOutcome>,
    link: Link,
}

/// Runs the stream; `drop_frame` frames never reach the link.
fn run(
    plan: StreamPlan,
    model: &FrameModel,
    seed: u64,
    imp: Impairments,
    drop_frame: &dyn Fn(i64) -> bool,
) -> Run {
    let t0 = Instant::now();
    let clock = Timebase::new(t0);
    let mut tx_config = SenderConfig::default();
    tx_config.timebase = Some(clock);
    let mut tx = FrameSender::new(plan, tx_config, t0).with_model(model.clone());
    let mut config = ReceiverConfig::default();
    config.record_frames = true;
    config.timeline = true;
    config.timebase = Some(clock);
    let mut rx = FrameReceiver::new(plan, config, t0).expect_frame_data();
    let mut link = Link::new(seed, imp);
    let mut buf = vec![0u8; 65_536];
    let mut outcomes = Vec::new();
    let mut now = t0;
    for _ in 0..1_000_000 {
        while let Some(len) = tx.poll_transmit(now, &mut buf) {
            let seq = i64::from_le_bytes(buf[2..10].try_into().expect("8 bytes"));
            if !drop_frame(seq) {
                link.send(now, &buf[..len]);
            }
        }
        while let Some(datagram) = link.poll_arrival(now) {
            rx.handle_datagram(now, &datagram);
        }
        if rx.poll_timeout().is_some_and(|t| t <= now) {
            rx.handle_timeout(now);
        }
        outcomes.extend(std::iter::from_fn(|| rx.poll_record()).map(|r| r.outcome));
        if rx.status().is_finished() {
            return Run { rx, outcomes, link };
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

/// The decoder's view, restated: per kind (unknown when nothing came in
/// time) completed / dropped / late, and decodable frames by the rule.
#[derive(Debug, Default, PartialEq, Eq)]
struct View {
    /// (completed, dropped, late) for key, delta, independent, unknown.
    kinds: [(u64, u64, u64); 4],
    decodable: u64,
    spoiled: u64,
    /// Runs of undecodable frames: (count, frames, longest).
    freezes: (u64, u64, u64),
}

fn independent_view(model: &FrameModel, want: &model::Expected) -> View {
    let mut v = View::default();
    let mut good_key = None;
    let mut run = 0;
    let mut decodable_flags = Vec::new();
    for (i, outcome) in want.outcomes.iter().enumerate() {
        let n = i as u64 + 1;
        let frame = model.frame(n);
        let known = want.in_time_bytes[n as usize] > 0;
        let slot = if !known {
            3
        } else {
            match frame.kind {
                FrameKind::Key => 0,
                FrameKind::Delta => 1,
                _ => 2,
            }
        };
        let complete = *outcome != FrameOutcome::Dropped;
        if complete {
            v.kinds[slot].0 += 1
        } else {
            v.kinds[slot].1 += 1
        }
        if want.became_complete[n as usize] {
            v.kinds[slot].2 += 1
        }
        let ok = match (known, frame.kind) {
            (false, _) => false,
            (true, FrameKind::Key) => {
                good_key = complete.then_some(n);
                complete
            }
            (true, FrameKind::Delta) => {
                let ok = complete && good_key == Some(frame.key);
                v.spoiled += u64::from(complete && !ok);
                ok
            }
            (true, _) => complete,
        };
        decodable_flags.push(ok);
        v.decodable += u64::from(ok);
    }
    for (i, &ok) in decodable_flags.iter().enumerate() {
        if !ok {
            run += 1
        }
        if run > 0 && (ok || i + 1 == decodable_flags.len()) {
            v.freezes.0 += 1;
            v.freezes.1 += run;
            v.freezes.2 = v.freezes.2.max(run);
            run = 0;
        }
    }
    v
}

fn view_of(d: &Decoder) -> View {
    let k = |c: mediastream::pattern::metrics::KindCounts| (c.completed, c.dropped, c.late);
    View {
        kinds: [k(d.key), k(d.delta), k(d.independent), k(d.unknown)],
        decodable: d.decodable,
        spoiled: d.spoiled,
        freezes: (
            d.freezes.freezes,
            d.freezes.frozen_frames,
            d.freezes.longest_freeze_frames,
        ),
    }
}

fn datagrams_of(model: &FrameModel, n: u64) -> u64 {
    let size = model.frame(n).size;
    FrameSplit::with_min(size, model.datagram_size(), MIN_FRAME_DATA_DATAGRAM as u32)
        .expect("a model frame splits")
        .datagram_count()
}

/// Checks one run against the independent model; returns its view.
fn check_run(name: &str, seed: u64, model: &FrameModel, r: &Run) -> View {
    let plan = plan();
    let per_plan = plan.split().datagram_count();
    let want = model::expected_sized(
        &plan,
        r.link.log(),
        &|n| model.frame(n).size,
        &|n, copies| {
            if copies > 0 {
                datagrams_of(model, n)
            } else {
                per_plan
            }
        },
    );
    let s = r.rx.stats();
    assert_eq!(
        r.outcomes, want.outcomes,
        "{name} seed {seed}: per-frame outcomes"
    );
    assert_eq!(
        (
            s.frames_completed,
            s.frames_dropped,
            s.frames_repeated,
            s.frames_error
        ),
        (want.completed, want.dropped, want.repeated, want.errors),
        "{name} seed {seed}: completed/dropped/repeated/errors"
    );
    let m = s.metrics.as_ref().expect("metrics");
    assert_eq!(
        m.playout.late_frames, want.late_frames,
        "{name} seed {seed}: late frames"
    );
    assert_eq!(
        (m.datagrams.received_unique, m.datagrams.duplicates),
        (want.received_unique, want.duplicates),
        "{name} seed {seed}: unique datagrams, duplicates"
    );
    let view = view_of(&m.decoder);
    assert_eq!(
        view,
        independent_view(model, &want),
        "{name} seed {seed}: decoder's view"
    );
    check_sizes(
        name,
        seed,
        model,
        &want,
        m.timeline.as_deref().expect("timeline"),
    );
    view
}

/// Every frame that got data in time knows the model's size, kind and key.
fn check_sizes(
    name: &str,
    seed: u64,
    model: &FrameModel,
    want: &model::Expected,
    timeline: &[TimelineFrame],
) {
    for t in timeline {
        let f = model.frame(t.sequence);
        let got = t.shape.map(|s| (s.size, s.kind, s.key));
        let expect =
            (want.in_time_bytes[t.sequence as usize] > 0).then_some((f.size, f.kind, f.key));
        assert_eq!(
            got, expect,
            "{name} seed {seed}: frame {} as the receiver learned it",
            t.sequence
        );
    }
}

fn check(
    name: &str,
    sizes: fn(u64) -> FrameSizes,
    imp: Impairments,
    seeds: std::ops::Range<u64>,
) -> View {
    let plan = plan();
    let mut total = View::default();
    for seed in seeds {
        let model = sizes(seed).resolve(&plan).expect("model fits");
        let r = run(plan, &model, seed, imp, &|_| false);
        let v = check_run(name, seed, &model, &r);
        for (t, k) in total.kinds.iter_mut().zip(v.kinds) {
            *t = (t.0 + k.0, t.1 + k.1, t.2 + k.2);
        }
        total.decodable += v.decodable;
        total.spoiled += v.spoiled;
    }
    total
}

fn impairments() -> Vec<(&'static str, Impairments)> {
    let mut loss = CLEAN;
    loss.loss = 0.03;
    let mut reorder = CLEAN;
    reorder.reorder = 0.1;
    reorder.reorder_max = Duration::from_millis(60);
    let mut jitter = CLEAN;
    jitter.delay = Duration::from_millis(30);
    jitter.jitter = Duration::from_millis(225);
    let mut all = CLEAN;
    all.loss = 0.02;
    all.duplicate = 0.02;
    all.reorder = 0.05;
    all.reorder_max = Duration::from_millis(300);
    all.jitter = Duration::from_millis(150);
    vec![
        ("loss", loss),
        ("reorder", reorder),
        ("jitter", jitter),
        ("all", all),
    ]
}

#[test]
fn lognormal_frames_match_the_model() {
    for (name, imp) in impairments() {
        let v = check(&format!("lognormal {name}"), lognormal, imp, 0..25);
        assert_eq!(v.kinds[0], (0, 0, 0), "no keyframes in a log-normal stream");
        assert!(v.decodable > 0);
    }
}

#[test]
fn gop_frames_match_the_model() {
    let mut spoiled = 0;
    for (name, imp) in impairments() {
        let v = check(&format!("gop {name}"), gop, imp, 0..25);
        eprintln!("gop {name}: {v:?}");
        assert!(v.kinds[0].0 > 0 && v.kinds[1].0 > 0, "{name}: {v:?}");
        if name == "jitter" {
            assert!(
                v.kinds.iter().map(|k| k.2).sum::<u64>() > 0,
                "late frames: {v:?}"
            );
        }
        spoiled += v.spoiled;
    }
    assert!(spoiled > 0, "some keyframe loss spoiled deltas");
}

#[test]
fn trace_frames_match_the_model() {
    for (name, imp) in impairments() {
        check(&format!("trace {name}"), trace, imp, 0..25);
    }
}

#[test]
fn a_clean_link_shows_every_frame() {
    let plan = plan();
    for sizes in [lognormal as fn(u64) -> FrameSizes, gop, trace] {
        let model = sizes(3).resolve(&plan).expect("model fits");
        let r = run(plan, &model, 3, CLEAN, &|_| false);
        let v = check_run("clean", 3, &model, &r);
        assert_eq!((v.decodable, v.freezes), (120, (0, 0, 0)));
        let bytes: u64 = (1..=120).map(|n| model.frame(n).size).sum();
        assert_eq!(r.rx.stats().bytes_received, bytes);
    }
}

#[test]
fn a_lost_keyframe_spoils_exactly_its_deltas() {
    // GOP of 15: keyframes 1, 16, 31, ... Keyframe 31 never arrives.
    let plan = plan();
    let model = FrameSizes::Gop(Gop::every_frames(15, 8.0))
        .resolve(&plan)
        .expect("fits");
    let r = run(plan, &model, 1, CLEAN, &|seq| seq == 31);
    let v = check_run("lost key", 1, &model, &r);
    assert_eq!(
        v.decodable,
        120 - 15,
        "frames 31..=45 are lost to the decoder"
    );
    assert_eq!(
        v.spoiled, 14,
        "the 14 deltas of the lost keyframe, complete but undecodable"
    );
    assert_eq!(v.freezes, (1, 15, 15));
    assert_eq!(v.kinds[3], (0, 1, 0), "the lost keyframe's kind is unknown");
    let dropped: Vec<u64> =
        r.rx.stats()
            .metrics
            .as_ref()
            .and_then(|m| m.timeline.as_ref())
            .expect("timeline")
            .iter()
            .filter(|t| t.decodable == Some(false))
            .map(|t| t.sequence)
            .collect();
    assert_eq!(dropped, (31..=45).collect::<Vec<_>>());
    // A lost delta spoils only itself.
    let r = run(plan, &model, 1, CLEAN, &|seq| seq == 33);
    let v = check_run("lost delta", 1, &model, &r);
    assert_eq!((v.decodable, v.spoiled, v.freezes), (119, 0, (1, 1, 1)));
}
