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
    let l = tx.stats().lateness;
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
