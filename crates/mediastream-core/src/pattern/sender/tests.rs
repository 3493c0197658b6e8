use std::time::{Duration, Instant};

use super::*;
use crate::settings::StreamSettings;
use crate::wire::ConnectionId;
use crate::wire::{payload, Datagram};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Sends everything due at `now`; returns (sequence, length, timestamp).
fn burst(tx: &mut FrameSender, now: Instant) -> Vec<(i64, usize, i64)> {
    let mut buf = vec![0u8; 65_507];
    std::iter::from_fn(|| {
        let len = tx.poll_transmit(now, &mut buf)?;
        match wire::parse(&buf[..len]) {
            Ok(Datagram::Data(repr, body)) => {
                assert_eq!(payload::verify(body), Ok(()));
                assert_eq!(repr.frequency, 1_000_000_000);
                Some((repr.sequence_number, len, repr.timestamp))
            }
            Ok(Datagram::ConnectionId(_)) => Some((-1, len, 0)),
            other => panic!("sender emitted {other:?}"),
        }
    })
    .collect()
}

#[test]
fn frames_leave_on_schedule_split_back_to_back() {
    // 8 Mbit/s, 50 frames/s, 3 s: 150 frames of 14 x 1400 + 400.
    let plan = StreamSettings::new(8_000_000, 50, 3).plan().unwrap();
    let t0 = Instant::now();
    let mut tx = FrameSender::new(plan, SenderConfig::default(), t0);
    let first = burst(&mut tx, t0);
    assert_eq!(first.len(), 15);
    assert!(first.iter().all(|&(seq, _, ts)| seq == 1 && ts == 0));
    assert_eq!(first.iter().map(|d| d.1).sum::<usize>(), 20_000);
    assert_eq!(first[14].1, 400);
    // Frame 2 is due at 20 ms; at 17.9 ms it is more than 2 ms ahead.
    assert_eq!(tx.poll_timeout(), Some(t0 + ms(20)));
    assert!(burst(&mut tx, t0 + Duration::from_micros(17_900)).is_empty());
    // Within 2 ms it goes at once (ctsTraffic's rule).
    let second = burst(&mut tx, t0 + ms(19));
    assert_eq!(second.len(), 15);
    assert!(second
        .iter()
        .all(|&(seq, _, ts)| seq == 2 && ts == 19_000_000));
    assert_eq!(tx.stats().lateness.late_frames, 0);
}

#[test]
fn a_late_sender_catches_up_without_drifting() {
    let plan = StreamSettings::new(8_000_000, 50, 3).plan().unwrap();
    let t0 = Instant::now();
    let mut tx = FrameSender::new(plan, SenderConfig::default(), t0);
    // Woken 105 ms late: frames 1..=6 (due 0..100 ms) all go now.
    let sent = burst(&mut tx, t0 + ms(105));
    assert_eq!(sent.len(), 6 * 15);
    assert_eq!(sent.last().unwrap().0, 6);
    // Frame 7 is still due at 120 ms, not 105 + 20.
    assert_eq!(tx.poll_timeout(), Some(t0 + ms(120)));
    let l = &tx.stats().lateness;
    assert_eq!((l.frames, l.late_frames, l.max), (6, 6, ms(105)));
    // (105 + 85 + 65 + 45 + 25 + 5) / 6
    assert_eq!(l.mean(), ms(55));
}

#[test]
fn the_whole_stream_is_sent_then_completed() {
    let plan = StreamSettings::new(8_000_000, 50, 3).plan().unwrap();
    let t0 = Instant::now();
    let id = ConnectionId::from_u128(7);
    let config = SenderConfig {
        greeting: Greeting::ConnectionId(id),
        ..SenderConfig::default()
    };
    let mut tx = FrameSender::new(plan, config, t0);
    assert_eq!(tx.poll_timeout(), Some(t0));
    let mut all = Vec::new();
    while let Some(at) = tx.poll_timeout() {
        all.extend(burst(&mut tx, at));
    }
    assert_eq!(all[0], (-1, 39, 0), "connection id first");
    assert_eq!(all.len(), 1 + 150 * 15);
    assert_eq!(tx.status(), Status::Completed);
    let s = tx.stats();
    assert_eq!(
        (
            s.frames_sent,
            s.datagrams_sent,
            s.bytes_sent,
            s.control_sent
        ),
        (150, 2250, 3_000_000, 1)
    );
    assert_eq!(s.bytes_sent, plan.total_bytes());
    let mut buf = [0u8; 1400];
    assert_eq!(tx.poll_transmit(t0 + ms(10_000), &mut buf), None);
}

#[test]
fn abort_stops_the_stream() {
    let plan = StreamSettings::new(8_000_000, 50, 3).plan().unwrap();
    let t0 = Instant::now();
    let mut tx = FrameSender::new(plan, SenderConfig::default(), t0);
    tx.handle_datagram(t0, b"START");
    tx.handle_datagram(t0, b"x");
    assert_eq!(
        (tx.stats().datagrams_ignored, tx.stats().datagrams_malformed),
        (1, 1)
    );
    tx.abort("shutdown");
    assert_eq!(
        tx.status(),
        Status::Failed(StreamError::Aborted {
            reason: "shutdown".into()
        })
    );
    assert_eq!(tx.poll_timeout(), None);
    let mut buf = [0u8; 1400];
    assert_eq!(tx.poll_transmit(t0, &mut buf), None);
}

#[test]
fn batches_are_runs_of_one_frame_with_a_shorter_last() {
    let plan = StreamSettings::new(8_000_000, 50, 3).plan().unwrap();
    let t0 = Instant::now();
    let mut tx = FrameSender::new(plan, SenderConfig::default(), t0);
    let mut buf = vec![0u8; 65_536];
    // The whole frame (14 x 1400 + 400) in one run.
    let t = tx.poll_transmit_batch(t0, &mut buf, 64).unwrap();
    assert_eq!((t.len, t.segment_size, t.segments()), (20_000, 1400, 15));
    for (i, d) in buf[..t.len].chunks(t.segment_size).enumerate() {
        match wire::parse(d) {
            Ok(Datagram::Data(repr, body)) => {
                assert_eq!(repr.sequence_number, 1, "datagram {i}");
                assert_eq!(payload::verify(body), Ok(()));
            }
            other => panic!("{other:?}"),
        }
    }
    // Frame 2 is not due yet: a run never crosses frames.
    assert!(tx.poll_transmit_batch(t0, &mut buf, 64).is_none());
    // At most 4 per run: 4 + 4 + 4 + 3.
    let runs: Vec<usize> = std::iter::from_fn(|| tx.poll_transmit_batch(t0 + ms(20), &mut buf, 4))
        .map(|t| t.segments())
        .collect();
    assert_eq!(runs, vec![4, 4, 4, 3]);
    assert_eq!(tx.stats().datagrams_sent, 30);
    // A shortened datagram ends a run, as the last one.
    let odd = StreamSettings::new(1410 * 8 * 10, 10, 1).plan().unwrap();
    let mut tx = FrameSender::new(odd, SenderConfig::default(), t0);
    let t = tx.poll_transmit_batch(t0, &mut buf, 64).unwrap();
    assert_eq!((t.len, t.segment_size), (1410, 1383));
}

#[test]
fn a_spread_frame_leaves_in_sub_bursts_one_step_apart() {
    // 15 datagrams per frame spread over 5 ms: 5 sub-bursts of 3, due at
    // 0, 1, 2, 3 and 4 ms after the frame; each sub-burst is one run.
    let plan = StreamSettings::new(8_000_000, 50, 3).plan().unwrap();
    let t0 = Instant::now();
    let config = SenderConfig {
        spread: ms(5),
        ..SenderConfig::default()
    };
    let mut tx = FrameSender::new(plan, config, t0);
    let mut buf = vec![0u8; 65_536];
    for step in 0..5u64 {
        let at = t0 + ms(step);
        assert_eq!(tx.poll_timeout(), Some(at), "sub-burst {step}");
        let t = tx.poll_transmit_batch(at, &mut buf, 64).unwrap();
        assert_eq!(t.segments(), 3, "sub-burst {step}");
        assert!(tx.poll_transmit_batch(at, &mut buf, 64).is_none());
    }
    // The frame is done: the next one is due at 20 ms, and its lateness
    // counts from its first datagram only.
    assert_eq!(tx.stats().frames_sent, 1);
    assert_eq!(tx.poll_timeout(), Some(t0 + ms(20)));
    assert_eq!(tx.stats().lateness.max, Duration::ZERO);
    // Every byte still goes: the whole stream adds up.
    while let Some(at) = tx.poll_timeout() {
        while tx.poll_transmit_batch(at, &mut buf, 64).is_some() {}
    }
    assert_eq!(tx.stats().bytes_sent, plan.total_bytes());
    assert_eq!(tx.status(), Status::Completed);
}

#[test]
fn a_spread_longer_than_the_frame_interval_is_cut_to_it() {
    // 2 datagrams per frame (10 frames/s of 2800 B), spread asked 500 ms:
    // cut to the 100 ms interval, so the second goes 50 ms in.
    let plan = StreamSettings::new(2800 * 8 * 10, 10, 1).plan().unwrap();
    let t0 = Instant::now();
    let config = SenderConfig {
        spread: ms(500),
        ..SenderConfig::default()
    };
    let mut tx = FrameSender::new(plan, config, t0);
    assert_eq!(burst(&mut tx, t0).len(), 1);
    assert_eq!(tx.poll_timeout(), Some(t0 + ms(50)));
    assert_eq!(burst(&mut tx, t0 + ms(50)).len(), 1);
    assert_eq!(tx.poll_timeout(), Some(t0 + ms(100)));
}

#[test]
fn frames_more_than_a_buffer_depth_late_are_skipped_and_counted() {
    // 50 frames/s, 1 s buffer, 20 s; first driven 10 s late.
    let plan = StreamSettings {
        buffer_depth_ms: 1000,
        ..StreamSettings::new(800_000, 50, 20)
    }
    .plan()
    .unwrap();
    let t0 = Instant::now();
    let mut tx = FrameSender::new(plan, SenderConfig::default(), t0);
    let now = t0 + ms(10_000);
    let sent = burst(&mut tx, now);
    // Frame n is due at (n - 1) x 20 ms. Frames due before 9 s (1..=450)
    // could only arrive after the receiver played them: skipped. Frame
    // 451 (due at 9 s, a buffer depth ago) still counts, as do 452..=501.
    assert_eq!(tx.stats().frames_skipped, 450);
    let sequences: Vec<i64> = sent.iter().map(|d| d.0).collect();
    assert_eq!(sequences.first(), Some(&451));
    assert_eq!(sequences.last(), Some(&501));
    assert_eq!(tx.stats().frames_sent, 51);
    // Whatever is skipped, the last frame still goes and the stream ends.
    let end = t0 + ms(60_000);
    let last = burst(&mut tx, end);
    assert_eq!(last.last().map(|d| d.0), Some(1000));
    assert_eq!(tx.status(), Status::Completed);
    assert_eq!(tx.stats().frames_sent + tx.stats().frames_skipped, 1000);
}

#[test]
fn a_sender_millions_of_frames_behind_jumps_in_one_step() {
    let plan = StreamSettings {
        buffer_depth_ms: 10,
        ..StreamSettings::new(80_000_000, 10_000, 604_800)
    }
    .plan()
    .unwrap();
    let t0 = Instant::now();
    let mut tx = FrameSender::new(plan, SenderConfig::default(), t0);
    let mut buf = vec![0u8; 2048];
    let now = t0 + Duration::from_secs(3600);
    assert!(tx.poll_transmit(now, &mut buf).is_some());
    // Due before 3599.99 s: 35,999,900 frames skipped at 10,000 frames/s.
    assert_eq!(tx.stats().frames_skipped, 35_999_900);
}

#[test]
fn what_the_kernel_did_not_take_is_not_counted_as_sent() {
    let plan = StreamSettings::new(8_000_000, 50, 3).plan().unwrap();
    let t0 = Instant::now();
    let mut tx = FrameSender::new(plan, SenderConfig::default(), t0);
    let first = burst(&mut tx, t0);
    assert_eq!((first.len(), tx.stats().bytes_sent), (15, 20_000));
    // The last run (4 datagrams, 4 x 1400 + 400 bytes) never left.
    tx.on_unsent(4, 4600);
    let s = tx.stats();
    assert_eq!(
        (s.datagrams_sent, s.bytes_sent, s.datagrams_unsent),
        (11, 15_400, 4)
    );
}
