//! The v1 extension between a sender and a receiver on the simulated
//! network: reports flow back, RTT is measured, END and the final report
//! give each end the other's view, and consent stops a sender whose
//! receiver went away.

mod support;

use std::time::{Duration, Instant};

use mediastream::pattern::{
    FrameReceiver, FrameSender, IoPattern, ReceiverConfig, SenderConfig, Status, StreamError,
    V1Session,
};
use mediastream::settings::{StreamPlan, StreamSettings};
use support::link::{Impairments, Link, CLEAN};
use support::model;

fn plan() -> StreamPlan {
    let mut s = StreamSettings::new(2_000_000, 50, 4);
    s.buffer_depth_ms = 200;
    s.plan().expect("valid settings")
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

struct Pair {
    tx: FrameSender,
    rx: FrameReceiver,
    forward: Link,
    reverse: Link,
}

/// Runs until both ends finish; the reverse path dies at `cut` if given.
fn run(seed: u64, forward: Impairments, reverse: Impairments, cut: Option<Duration>) -> Pair {
    let plan = plan();
    let t0 = Instant::now();
    let session = V1Session::new(seed ^ 0xabcd);
    let mut tx_config = SenderConfig::default();
    tx_config.v1 = Some(session);
    let mut rx_config = ReceiverConfig::default();
    rx_config.v1 = Some(session);
    let mut p = Pair {
        tx: FrameSender::new(plan, tx_config, t0),
        rx: FrameReceiver::new(plan, rx_config, t0),
        forward: Link::new(seed, forward),
        reverse: Link::new(seed.wrapping_add(1_000), reverse),
    };
    let mut buf = vec![0u8; plan.max_datagram()];
    let mut now = t0;
    for _ in 0..1_000_000 {
        while let Some(len) = p.tx.poll_transmit(now, &mut buf) {
            p.forward.send(now, &buf[..len]);
        }
        while let Some(len) = p.rx.poll_transmit(now, &mut buf) {
            if cut.is_none_or(|c| now < t0 + c) {
                p.reverse.send(now, &buf[..len]);
            }
        }
        while let Some(d) = p.forward.poll_arrival(now) {
            p.rx.handle_datagram(now, &d);
        }
        while let Some(d) = p.reverse.poll_arrival(now) {
            p.tx.handle_datagram(now, &d);
        }
        for end in [&mut p.tx as &mut dyn IoPattern, &mut p.rx] {
            if end.poll_timeout().is_some_and(|t| t <= now) {
                end.handle_timeout(now);
            }
        }
        let done = |e: &dyn IoPattern| e.status().is_finished() && e.poll_timeout().is_none();
        if done(&p.tx) && done(&p.rx) {
            return p;
        }
        let next = [
            p.tx.poll_timeout(),
            p.rx.poll_timeout(),
            p.forward.next_arrival(),
            p.reverse.next_arrival(),
        ]
        .into_iter()
        .flatten()
        .min();
        now = match next {
            Some(next) => now.max(next),
            None => return p,
        };
    }
    panic!("seed {seed}: did not finish");
}

#[test]
fn clean_v1_stream_exchanges_both_views() {
    let p = run(1, CLEAN, CLEAN, None);
    assert_eq!(p.rx.status(), Status::Completed);
    assert_eq!(p.tx.status(), Status::Completed);
    let (tx, rx) = (p.tx.stats(), p.rx.stats());
    assert_eq!(rx.frames_completed, 200);
    let end = rx.peer_end.expect("END arrived");
    assert_eq!(
        (end.frames_sent, end.datagrams_sent, end.bytes_sent),
        (200, 800, 1_000_000)
    );
    let report = tx.peer_report.as_deref().cloned().expect("reports arrived");
    assert!(report.is_final, "the sender waited for the final report");
    assert_eq!(report.frames_completed, 200);
    assert_eq!(report.datagrams_received, 800);
    assert_eq!(report.bytes_received, rx.bytes_received);
    // Reports every 250 ms over ~4.2 s, plus two final copies.
    assert!(rx.reports >= 17 && rx.reports <= 20, "{}", rx.reports);
    assert!(tx.reports >= 15, "{}", tx.reports);
    // 2 ms each way on the virtual clock: the echo gives exactly 4 ms.
    assert!(tx.rtt.samples >= 15);
    assert_eq!((tx.rtt.min, tx.rtt.max), (ms(4), ms(4)));
}

#[test]
fn consent_stops_a_sender_whose_receiver_vanished() {
    let p = run(2, CLEAN, CLEAN, Some(ms(1000)));
    match p.tx.status() {
        Status::Failed(StreamError::ConsentExpired { silent_ms }) => assert_eq!(silent_ms, 3000),
        other => panic!("sender status {other:?}"),
    }
    // Reports leave at 250, 500 and 750 ms (the path dies at 1000 ms) and
    // arrive 2 ms later; consent expires at 752 + 3000 ms, by which frames
    // 1..=188 (due every 20 ms from 0) have been sent, and no more.
    assert_eq!(p.tx.stats().frames_sent, 188);
    assert_eq!(p.tx.stats().reports, 3);
}

#[test]
fn lossy_v1_streams_count_exactly_and_end_cleanly() {
    let mut imp = Impairments::default();
    imp.loss = 0.02;
    imp.duplicate = 0.02;
    imp.reorder = 0.05;
    imp.reorder_max = ms(60);
    imp.delay = ms(5);
    imp.jitter = ms(20);
    imp.corrupt = 0.0;
    for seed in 0..20 {
        let p = run(seed, imp, imp, None);
        let want = model::expected(&plan(), p.forward.log());
        let s = p.rx.stats();
        assert_eq!(
            (
                s.frames_completed,
                s.frames_dropped,
                s.frames_repeated,
                s.frames_error
            ),
            (want.completed, want.dropped, want.repeated, want.errors),
            "seed {seed}"
        );
        assert_eq!(
            p.tx.status(),
            Status::Completed,
            "seed {seed}: linger ends the sender"
        );
        assert!(p.tx.stats().rtt.samples > 0, "seed {seed}");
        assert!(p.tx.stats().rtt.min >= ms(10), "seed {seed}: two 5 ms legs");
    }
}
