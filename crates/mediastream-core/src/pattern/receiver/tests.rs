use std::time::{Duration, Instant};

use super::*;
use crate::settings::StreamSettings;

/// 10 frames/s for 2 s, frames of 1000 bytes in one datagram, 300 ms
/// buffer: B = 3 frames, ring of 6 slots, frame interval 100 ms.
fn plan() -> StreamPlan {
    let s = StreamSettings {
        buffer_depth_ms: 300,
        ..StreamSettings::new(1000 * 8 * 10, 10, 2)
    };
    let plan = s.plan().unwrap();
    assert_eq!(
        (plan.frame_size(), plan.buffered_frames(), plan.ring_slots()),
        (1000, 3, 6)
    );
    plan
}

fn datagram(sequence: i64, sent_ns: i64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    let repr = DataRepr {
        sequence_number: sequence,
        timestamp: sent_ns,
        frequency: 1_000_000_000,
    };
    repr.emit_datagram(&mut buf, len).unwrap();
    buf
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn recording() -> ReceiverConfig {
    ReceiverConfig {
        record_frames: true,
        ..ReceiverConfig::default()
    }
}

/// Delivers frame `seq` (one 1000-byte datagram) at `t0 + at`.
fn deliver(rx: &mut FrameReceiver, t0: Instant, seq: i64, at: Duration) {
    rx.handle_timeout(t0 + at);
    rx.handle_datagram(t0 + at, &datagram(seq, at.as_nanos() as i64, 1000));
}

fn drain(rx: &mut FrameReceiver) -> Vec<FrameRecord> {
    std::iter::from_fn(|| rx.poll_record()).collect()
}

#[test]
fn clean_stream_completes_every_frame_on_schedule() {
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan(), recording(), t0);
    assert_eq!(rx.poll_timeout(), Some(t0 + ms(300)), "no-data deadline");
    for seq in 1..=20u64 {
        deliver(&mut rx, t0, seq as i64, ms(100 * (seq - 1) + 5));
    }
    // Anchor is frame 1's arrival (5 ms); frame n renders at 5 + 300 + 100(n-1).
    assert_eq!(rx.render_time(1), Some(t0 + ms(305)));
    // Frames render lazily (at arrivals and wake-ups): the only wake-up
    // a plain receiver needs is the last frame's tick.
    assert_eq!(
        rx.poll_timeout(),
        Some(t0 + ms(2205)),
        "the last frame's tick"
    );
    assert_eq!(
        rx.stats().frames_completed,
        17,
        "frames 1..=17 rendered on arrivals"
    );
    rx.handle_timeout(t0 + ms(2204));
    assert_eq!(rx.status(), Status::Running);
    rx.handle_timeout(t0 + ms(2205));
    assert_eq!(rx.status(), Status::Completed);
    let s = rx.stats();
    assert_eq!(
        (
            s.frames_completed,
            s.frames_dropped,
            s.frames_repeated,
            s.frames_error
        ),
        (20, 0, 0, 0)
    );
    assert_eq!((s.datagrams_received, s.bytes_received), (20, 20_000));
    assert_eq!(s.jitter_secs, 0.0);
    let records = drain(&mut rx);
    assert_eq!(records.len(), 20);
    assert!(records
        .iter()
        .enumerate()
        .all(|(i, r)| r.sequence_number == i as u64 + 1
            && r.outcome == FrameOutcome::Completed
            && r.relative_in_flight_ms.abs() < 1e-9));
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn a_datagram_at_its_render_tick_is_late() {
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan(), recording(), t0);
    deliver(&mut rx, t0, 1, ms(0));
    // Frame 2 renders at 300 + 100 = 400 ms.
    deliver(&mut rx, t0, 2, ms(400));
    // Frame 3 renders at 500 ms; arriving a microsecond before is in time.
    rx.handle_datagram(
        t0 + ms(500) - Duration::from_micros(1),
        &datagram(3, 0, 1000),
    );
    rx.handle_timeout(t0 + ms(599));
    let s = rx.stats();
    assert_eq!(
        (s.frames_completed, s.frames_dropped, s.frames_error),
        (2, 1, 1)
    );
    let outcomes: Vec<_> = drain(&mut rx).iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            FrameOutcome::Completed,
            FrameOutcome::Dropped,
            FrameOutcome::Completed
        ]
    );
}

#[test]
fn nothing_received_fails_with_every_frame_dropped() {
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan(), recording(), t0);
    rx.handle_timeout(t0 + ms(299));
    assert_eq!(rx.status(), Status::Running);
    rx.handle_timeout(t0 + ms(300));
    assert_eq!(rx.status(), Status::Failed(StreamError::NoData));
    assert_eq!(rx.stats().frames_dropped, 20);
    let records = drain(&mut rx);
    assert_eq!(records.len(), 20);
    assert!(records
        .iter()
        .all(|r| *r == FrameRecord::dropped(r.sequence_number)));
}

#[test]
fn duplicates_repeat_and_partial_frames_drop() {
    // 2000-byte frames in 1400 + 600.
    let s = StreamSettings {
        buffer_depth_ms: 300,
        ..StreamSettings::new(2000 * 8 * 10, 10, 1)
    };
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(s.plan().unwrap(), recording(), t0);
    let send = |rx: &mut FrameReceiver, seq: i64, len: usize| {
        rx.handle_datagram(t0, &datagram(seq, 0, len));
    };
    send(&mut rx, 1, 1400);
    send(&mut rx, 1, 600);
    send(&mut rx, 2, 1400);
    send(&mut rx, 2, 600);
    send(&mut rx, 2, 600); // duplicate
    send(&mut rx, 3, 1400); // half a frame
    rx.handle_timeout(t0 + ms(2000));
    let outcomes: Vec<_> = drain(&mut rx).iter().map(|r| r.outcome).take(4).collect();
    assert_eq!(
        outcomes,
        vec![
            FrameOutcome::Completed,
            FrameOutcome::Repeated,
            FrameOutcome::Dropped,
            FrameOutcome::Dropped
        ]
    );
    let st = rx.stats();
    assert_eq!(
        (st.frames_completed, st.frames_repeated, st.frames_dropped),
        (1, 1, 8)
    );
    assert_eq!(
        rx.status(),
        Status::Completed,
        "drops alone do not fail a stream"
    );
}

#[test]
fn out_of_window_sequence_numbers_are_errors() {
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan(), recording(), t0);
    deliver(&mut rx, t0, 1, ms(0));
    for seq in [0, -5, 21, i64::MAX, 7] {
        // 7 is beyond the ring (head 1, 6 slots: 1..=6).
        rx.handle_datagram(t0 + ms(1), &datagram(seq, 0, 1000));
    }
    rx.handle_datagram(t0 + ms(1), &datagram(6, 0, 1000));
    assert_eq!(rx.stats().frames_error, 5);
    // Once frame 1 rendered (300 ms) the window is 2..=7 and 7 fits.
    deliver(&mut rx, t0, 7, ms(300));
    assert_eq!(rx.stats().frames_error, 5);
    rx.handle_timeout(t0 + ms(5000));
    let s = rx.stats();
    assert_eq!((s.frames_completed, s.frames_dropped), (3, 17));
}

#[test]
fn a_first_datagram_after_losses_anchors_to_the_schedule() {
    let t0 = Instant::now();
    // Created at 800 ms, so data may come until 1100 ms.
    let mut rx = FrameReceiver::new(plan(), recording(), t0 + ms(800));
    // Frames 1..=4 lost; frame 5 arrives at 1000 ms, so frame 1 was due at
    // 600 ms and renders at 900 ms: frames 1 and 2 (900, 1000 ms) render as
    // dropped before frame 5 is placed, which then fits the ring (3..=8).
    deliver(&mut rx, t0, 5, ms(1000));
    assert_eq!(rx.render_time(1), Some(t0 + ms(900)));
    assert_eq!(rx.stats().frames_dropped, 2, "frames 1 and 2 rendered");
    assert_eq!(rx.stats().frames_error, 0);
    rx.handle_timeout(t0 + ms(10_000));
    assert_eq!(rx.stats().frames_completed, 1);
    assert_eq!(rx.stats().frames_dropped, 19);
}

#[test]
fn corrupt_payload_is_counted_and_fails_the_stream_at_the_end() {
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan(), recording(), t0);
    deliver(&mut rx, t0, 1, ms(0));
    let mut bad = datagram(2, 0, 1000);
    bad[26 + 99] ^= 1;
    rx.handle_datagram(t0 + ms(100), &bad);
    assert_eq!(rx.status(), Status::Running);
    rx.handle_timeout(t0 + ms(5000));
    assert_eq!(
        rx.status(),
        Status::Failed(StreamError::CorruptPayload {
            datagrams: 1,
            first_offset: 99
        })
    );
    let s = rx.stats();
    assert_eq!(
        (s.frames_completed, s.frames_dropped, s.datagrams_corrupt),
        (1, 19, 1)
    );

    let abort = ReceiverConfig {
        verify: Verify::Abort,
        ..recording()
    };
    let mut rx = FrameReceiver::new(plan(), abort, t0);
    rx.handle_datagram(t0, &bad);
    assert!(matches!(
        rx.status(),
        Status::Failed(StreamError::CorruptPayload { .. })
    ));

    let off = ReceiverConfig {
        verify: Verify::Off,
        ..recording()
    };
    let mut rx = FrameReceiver::new(plan(), off, t0);
    rx.handle_datagram(t0, &bad);
    rx.handle_timeout(t0 + ms(5000));
    assert_eq!(
        rx.stats().frames_completed,
        1,
        "frame 2 completed unverified"
    );
    assert_eq!(rx.stats().frames_dropped, 19);
}

#[test]
fn control_and_garbage_datagrams() {
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan(), recording(), t0);
    let id = ConnectionId::from_u128(42);
    let mut buf = [0; 39];
    id.emit(&mut buf);
    rx.handle_datagram(t0, &buf);
    rx.handle_datagram(t0, b"START");
    rx.handle_datagram(t0, &[1, 2, 3]);
    assert_eq!(rx.connection_id(), Some(id));
    assert!(!rx.has_received_data());
    let s = rx.stats();
    assert_eq!(
        (
            s.datagrams_ignored,
            s.datagrams_malformed,
            s.datagrams_received
        ),
        (1, 1, 0)
    );
}

#[test]
fn jitter_file_columns_follow_ctstraffic() {
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan(), recording(), t0);
    // Sent at 0, 100, 200 ms; transit 10, 13, 11 ms.
    for (seq, transit) in [(1u64, 10u64), (2, 13), (3, 11)] {
        let sent = ms(100 * (seq - 1));
        rx.handle_datagram(
            t0 + sent + ms(transit),
            &datagram(seq as i64, sent.as_nanos() as i64, 1000),
        );
    }
    rx.handle_timeout(t0 + ms(10_000));
    let r = drain(&mut rx);
    assert!((r[0].relative_in_flight_ms - 0.0).abs() < 1e-6);
    assert!(
        (r[1].relative_in_flight_ms - 3.0).abs() < 1e-6,
        "{}",
        r[1].relative_in_flight_ms
    );
    assert!((r[1].jitter_ms - 3.0).abs() < 1e-6);
    assert!((r[2].relative_in_flight_ms - 1.0).abs() < 1e-6);
    assert!((r[2].jitter_ms - 2.0).abs() < 1e-6);
    assert_eq!(r[1].sender_ticks, 100_000_000);
    assert_eq!(r[1].receiver_ticks, 113_000_000);
    assert_eq!(
        (r[1].sender_frequency, r[1].receiver_frequency),
        (1_000_000_000, 1_000_000_000)
    );
    // RFC 3550: D = 3, 2 ms -> J = 3/16 + (2 - 3/16)/16 ms.
    let expected = (3.0 / 16.0 + (2.0 - 3.0 / 16.0) / 16.0) / 1e3;
    assert!((rx.stats().jitter_secs - expected).abs() < 1e-12);
}

#[test]
fn metrics_of_a_known_arrival_sequence() {
    // Same clock at both ends (timebase epoch t0). Frames 1..=20, one
    // datagram each, sent at (n - 1) x 100 ms. Frames 3 and 4 swap
    // places (reordered, not lost); frames 8, 9, 10 never come (a freeze
    // of 3); frame 12 comes 450 ms late, after its tick at 1400 ms but
    // within the ring (a late frame, counted dropped at its tick: a
    // freeze of 1). Every other frame takes 5 ms; frame 4 takes 2 ms.
    let t0 = Instant::now();
    let config = ReceiverConfig {
        timeline: true,
        timebase: Some(Timebase::new(t0)),
        ..ReceiverConfig::default()
    };
    let mut rx = FrameReceiver::new(plan(), config, t0);
    let sent = |seq: u64| ms(100 * (seq - 1));
    let mut arrivals: Vec<(u64, Duration)> = (1..=20u64)
        .filter(|s| ![8, 9, 10].contains(s))
        .map(|s| (s, sent(s) + ms(5)))
        .collect();
    arrivals.retain(|&(s, _)| s != 3 && s != 4 && s != 12);
    // Frame 4 left early, at 200 ms, and takes 2 ms: it beats frame 3.
    let early = ms(100);
    arrivals.push((4, sent(4) - early + ms(2)));
    arrivals.push((3, sent(3) + ms(5)));
    arrivals.push((12, sent(12) + ms(450)));
    arrivals.sort_by_key(|&(_, at)| at);
    for (seq, at) in arrivals {
        let left = if seq == 4 { sent(4) - early } else { sent(seq) };
        rx.handle_timeout(t0 + at);
        rx.handle_datagram(t0 + at, &datagram(seq as i64, left.as_nanos() as i64, 1000));
    }
    rx.handle_timeout(t0 + ms(5000));
    assert_eq!(rx.status(), Status::Completed);
    let s = rx.stats();
    assert_eq!((s.frames_completed, s.frames_dropped), (16, 4));
    let m = s.metrics.as_ref().unwrap();
    let d = m.datagrams;
    assert_eq!(
        (d.expected, d.received_unique, d.lost(), d.reordered, d.late),
        (20, 17, 3, 2, 1),
        "reordered: frame 3 after 4, and frame 12 after 13 to 16"
    );
    assert_eq!(
        (
            m.playout.freezes,
            m.playout.frozen_frames,
            m.playout.longest_freeze_frames
        ),
        (2, 4, 3)
    );
    assert_eq!(m.playout.late_frames, 1);
    // One burst: 3 losses in a row, nothing isolated.
    assert_eq!((m.loss_runs.bursts, m.loss_runs.burst_losses), (1, 3));
    assert_eq!(m.loss_runs.longest_loss_run, 3);
    // Delays: 15 x 5 ms, 1 x 2 ms, 1 x 450 ms; exact min and max.
    assert_eq!(m.datagram_delay.count(), 17);
    assert_eq!(m.datagram_delay.min(), Some(2_000_000));
    assert_eq!(m.datagram_delay.max(), Some(450_000_000));
    let p50 = m.datagram_delay.quantile(0.5).unwrap();
    assert!((5_000_000..=5_050_000).contains(&p50), "{p50}");
    // Frame 12 arrived after its tick: its frame has no delay recorded.
    assert_eq!(m.frame_last_delay.count(), 16);
    let timeline = m.timeline.as_ref().unwrap();
    assert_eq!(timeline.len(), 20);
    let late: Vec<u64> = timeline
        .iter()
        .filter(|f| f.outcome == super::super::metrics::TimelineOutcome::Late)
        .map(|f| f.sequence)
        .collect();
    assert_eq!(late, [12]);
    assert_eq!(timeline[3].first_delay_ns, Some(2_000_000));
    assert_eq!(timeline[7].first_delay_ns, None);
}

#[test]
fn the_ring_grows_only_as_data_arrives() {
    // About the deepest buffer the default limits allow (873 frames/s for
    // 600 s): a ring of over a million slots, none held until data comes.
    let plan = StreamSettings {
        buffer_depth_ms: 600_000,
        ..StreamSettings::new(873 * 100 * 8, 873, 3600)
    }
    .plan()
    .unwrap();
    assert_eq!(plan.ring_slots(), 1_047_600);
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan, ReceiverConfig::default(), t0);
    assert_eq!(rx.ring.capacity(), 0);
    rx.handle_datagram(t0, &datagram(1, 0, 100));
    assert_eq!(rx.ring.len(), 1);
    // A datagram 99 frames ahead holds 100 slots, not a million.
    rx.handle_datagram(t0, &datagram(100, 0, 100));
    assert_eq!(rx.ring.len(), 100);
    assert!(rx.ring.capacity() < 1024, "{}", rx.ring.capacity());
    // Past the ring: an error, and nothing allocated for it.
    rx.handle_datagram(t0, &datagram(1 + 1_047_600, 0, 100));
    assert_eq!(rx.stats().frames_error, 1);
    assert_eq!(rx.ring.len(), 100);
}

#[test]
fn a_stream_that_never_got_data_fails_in_one_step_whatever_its_length() {
    // A week at 10,000 frames/s: 6 billion frames, all dropped at once,
    // with the same metrics as rendering each (checked small below).
    let long = StreamSettings {
        buffer_depth_ms: 100,
        ..StreamSettings::new(100_000_000, 10_000, 604_800)
    }
    .plan()
    .unwrap();
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(long, ReceiverConfig::default(), t0);
    rx.handle_timeout(t0 + ms(1000));
    assert_eq!(rx.status(), Status::Failed(StreamError::NoData));
    let frames = 6_048_000_000;
    assert_eq!(rx.stats().frames_dropped, frames);
    let m = rx.stats().metrics.as_ref().unwrap();
    assert_eq!(m.playout.freezes, 1);
    assert_eq!(m.playout.frozen_frames, frames);
    assert_eq!(m.datagrams.expected, frames * long.split().datagram_count());
    assert_eq!(m.loss_runs.longest_loss_run, m.datagrams.expected);
}

#[test]
fn nothing_arrived_counts_as_rendering_every_frame_dropped() {
    let plan = plan();
    let mut bulk = ReceiveMetrics::new(1000, 1, 6, true);
    bulk.on_nothing_arrived(plan.stream_frames(), |n| plan.frame_offset(n));
    bulk.finish();
    let mut each = ReceiveMetrics::new(1000, 1, 6, true);
    for sequence in 1..=plan.stream_frames() {
        each.on_render(FrameAtTick {
            sequence,
            outcome: FrameOutcome::Dropped,
            bytes: 0,
            datagrams: 0,
            due: plan.frame_offset(sequence),
            first_delay_ns: None,
            last_delay_ns: None,
            shape: None,
        });
    }
    each.finish();
    assert_eq!(format!("{bulk:?}"), format!("{each:?}"));
}

/// Delivers frame `seq` at `t0 + at` with the sender timestamp and
/// frequency given.
fn deliver_stamped(
    rx: &mut FrameReceiver,
    t0: Instant,
    seq: i64,
    at: Duration,
    timestamp: i64,
    frequency: i64,
) {
    let mut buf = vec![0; 1000];
    let repr = DataRepr {
        sequence_number: seq,
        timestamp,
        frequency,
    };
    repr.emit_datagram(&mut buf, 1000).unwrap();
    rx.handle_timeout(t0 + at);
    rx.handle_datagram(t0 + at, &buf);
}

/// 20 frames, one datagram each, with a one-way delay of 2, 5 or 9 ms;
/// the frames in `extreme` carry the given absurd timestamps instead.
/// Returns the receiver, finished, and the jitter of the plausible
/// datagrams alone, computed independently.
fn with_extremes(extreme: &[(i64, i64, i64)]) -> (FrameReceiver, InterarrivalJitter) {
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan(), ReceiverConfig::default(), t0);
    let mut expected = InterarrivalJitter::default();
    for seq in 1..=20i64 {
        let sent = Duration::from_millis(100 * (seq as u64 - 1));
        let at = sent + ms([2, 5, 9][seq as usize % 3]);
        match extreme.iter().find(|e| e.0 == seq) {
            Some(&(_, timestamp, frequency)) => {
                deliver_stamped(&mut rx, t0, seq, at, timestamp, frequency)
            }
            None => {
                let sent_ns = sent.as_nanos() as i64;
                deliver_stamped(&mut rx, t0, seq, at, sent_ns, 1_000_000_000);
                expected.on_datagram(sent_ns, 1_000_000_000, at.as_nanos() as i64);
            }
        }
    }
    rx.handle_timeout(t0 + ms(5000));
    assert_eq!(rx.status(), Status::Completed);
    assert_eq!(rx.stats().frames_completed, 20, "their bytes still count");
    (rx, expected)
}

#[test]
fn implausible_timestamps_are_counted_and_kept_out_of_jitter_and_delay() {
    // What a few extreme values did before: 13,634,737,759 ms of jitter.
    let extremes = [
        (5, i64::MAX / 3, 1_000_000_000),
        (6, i64::MIN / 2, 1_000_000_000),
        (11, 1, 0),                          // no frequency
        (12, i64::MAX, 1),                   // overflows any delay
        (17, 40_000_000_000, 1_000_000_000), // 40 s late on a 4 s stream
    ];
    let (rx, expected) = with_extremes(&extremes);
    let s = rx.stats();
    assert_eq!(s.timestamps_implausible, 5);
    assert!(expected.secs() > 0.0 && expected.secs() < 0.01);
    assert_eq!(
        s.jitter_secs,
        expected.secs(),
        "exactly the plausible ones'"
    );
    let m = s.metrics.as_deref().unwrap();
    assert_eq!(m.datagram_delay.count(), 15);
    assert_eq!(m.datagram_delay.min(), Some(2_000_000));
    assert_eq!(m.datagram_delay.max(), Some(9_000_000));
    assert_eq!(m.frame_first_delay.max(), Some(9_000_000));
    assert_eq!(m.ipdv.count(), 14);
    assert!(m.ipdv.max().unwrap() <= 7_000_000);
    // The echo in reports is never an implausible timestamp.
    assert_eq!(rx.latest.map(|(ts, _)| ts), Some(1_900_000_000));
    // Within the spread (10 s + the 300 ms buffer) is plausible.
    let (rx, _) = with_extremes(&[(9, -9_000_000_000, 1_000_000_000)]);
    assert_eq!(rx.stats().timestamps_implausible, 0);
    assert!(rx.stats().jitter_secs > 0.5, "a 9 s outlier is measured");
}

#[test]
fn an_implausible_first_timestamp_does_not_become_the_reference() {
    let (rx, expected) = with_extremes(&[(1, i64::MAX / 3, 1_000_000_000)]);
    let s = rx.stats();
    // Frame 1 and frame 2 disagree: frame 1 (the older) is dropped, frame
    // 2 waits for frame 3, which agrees and makes it the reference.
    assert_eq!(s.timestamps_implausible, 1);
    assert_eq!(s.jitter_secs, expected.secs());
    let m = s.metrics.as_deref().unwrap();
    assert_eq!(m.datagram_delay.count(), 19);
    assert_eq!(m.datagram_delay.max(), Some(9_000_000));
    assert_eq!(m.frame_first_delay.count(), 19);
    assert_eq!(m.frame_first_delay.min(), Some(2_000_000));
}

#[test]
fn a_receiver_that_asked_for_frame_data_judges_plain_data_as_before() {
    // An older sender ignores the request's model and sends plain data:
    // every frame is judged against the plan and decodable alone.
    let plan = plan();
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan, ReceiverConfig::default(), t0).expect_frame_data();
    for n in 1..=20i64 {
        if n != 7 {
            let at = t0 + ms(100 * (n as u64 - 1));
            rx.handle_datagram(at, &datagram(n, 0, 1000));
        }
    }
    rx.handle_timeout(t0 + ms(10_000));
    let s = rx.stats();
    assert_eq!((s.frames_completed, s.frames_dropped), (19, 1));
    let d = &s.metrics.as_ref().unwrap().decoder;
    assert_eq!(
        (d.decodable, d.independent.completed, d.unknown.dropped),
        (19, 19, 1)
    );
    assert_eq!((d.freezes.freezes, d.freezes.frozen_frames), (1, 1));
}

#[test]
fn frame_data_of_any_size_is_judged_by_its_own_size() {
    use crate::pattern::model::FrameKind;
    use crate::wire::FrameDataRepr;
    let plan = plan();
    let t0 = Instant::now();
    let mut rx = FrameReceiver::new(plan, ReceiverConfig::default(), t0).expect_frame_data();
    let frame = |n: i64, size: u32, index: u32, len: usize, kind: FrameKind, back: u32| {
        let data = DataRepr {
            sequence_number: n,
            timestamp: 0,
            frequency: 1_000_000_000,
        };
        let mut buf = vec![0; len];
        FrameDataRepr::new(data, size, index, kind.code(), back)
            .emit_datagram(&mut buf, len)
            .unwrap();
        buf
    };
    // Frame 1: a 2500-byte keyframe in two datagrams; frame 2: a 300-byte
    // delta; frame 3: a delta that lost one of its two datagrams; frame 4
    // on: 300-byte deltas of frame 1's GOP.
    let arrivals = [
        (1, frame(1, 2500, 0, 1400, FrameKind::Key, 0)),
        (1, frame(1, 2500, 1, 1100, FrameKind::Key, 0)),
        (2, frame(2, 300, 0, 300, FrameKind::Delta, 1)),
        (3, frame(3, 1500, 0, 1400, FrameKind::Delta, 2)),
    ];
    for (n, d) in arrivals {
        rx.handle_datagram(t0 + ms(100 * (n - 1)), &d);
    }
    for n in 4..=20u64 {
        let d = frame(n as i64, 300, 0, 300, FrameKind::Delta, n as u32 - 1);
        rx.handle_datagram(t0 + ms(100 * (n - 1)), &d);
    }
    rx.handle_timeout(t0 + ms(10_000));
    let s = rx.stats();
    assert_eq!((s.frames_completed, s.frames_dropped), (19, 1));
    let d = &s.metrics.as_ref().unwrap().decoder;
    assert_eq!(
        (d.key.completed, d.delta.completed, d.delta.dropped),
        (1, 18, 1)
    );
    assert_eq!(
        (d.decodable, d.spoiled),
        (19, 0),
        "a lost delta spoils only itself"
    );
}
