//! The receiver's DSCP / ECN counts and when its REPORTs carry them.

use std::time::{Duration, Instant};

use super::{FrameReceiver, FrameSender, IoPattern, ReceiverConfig, SenderConfig, V1Session};
use crate::settings::StreamSettings;
use crate::wire::v1::{ReportRepr, V1Message};
use crate::wire::{self, Datagram};

/// Runs a v1 stream over a perfect link; every datagram to the receiver
/// arrives with `tos`, and control datagrams arrive with `None` (a
/// backend that does not read markings for them changes nothing: they
/// are not counted). Returns the receiver and every REPORT it sent.
fn run(report_blocks: bool, tos: u8) -> (FrameReceiver, Vec<ReportRepr>) {
    let plan = StreamSettings::new(80_000, 10, 2).plan().unwrap();
    let start = Instant::now();
    let mut session = V1Session::new(9);
    session.report_interval = Duration::from_millis(100);
    let mut tx = FrameSender::new(
        plan,
        SenderConfig {
            v1: Some(V1Session::new(9)),
            ..Default::default()
        },
        start,
    );
    session.report_blocks = report_blocks;
    let mut rx = FrameReceiver::new(
        plan,
        ReceiverConfig {
            v1: Some(session),
            ..Default::default()
        },
        start,
    );
    let mut buf = vec![0u8; 65_536];
    let mut reports = Vec::new();
    let mut now = start;
    for _ in 0..100_000 {
        while let Some(len) = tx.poll_transmit(now, &mut buf) {
            let is_data = matches!(wire::parse(&buf[..len]), Ok(Datagram::Data(..)));
            rx.handle_marked_datagram(now, &buf[..len], is_data.then_some(tos));
        }
        while let Some(len) = rx.poll_transmit(now, &mut buf) {
            if let Ok(Datagram::V1(V1Message::Report(r))) = wire::parse(&buf[..len]) {
                reports.push(*r);
            }
            tx.handle_datagram(now, &buf[..len]);
        }
        if rx.status().is_finished() && tx.status().is_finished() {
            break;
        }
        let next = [tx.poll_timeout(), rx.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { break };
        now = now.max(next);
        rx.handle_timeout(now);
        tx.handle_timeout(now);
    }
    (rx, reports)
}

#[test]
fn data_datagrams_are_counted_by_their_marking() {
    let (rx, _) = run(true, 0xbb); // EF, CE
    let s = rx.stats();
    assert!(s.datagrams_received > 0);
    let marks = s.marks.as_deref().expect("markings were read");
    assert_eq!(marks.datagrams, s.datagrams_received);
    assert_eq!(marks.dscp[46], s.datagrams_received);
    assert_eq!(marks.ce(), s.datagrams_received);
}

#[test]
fn reports_carry_the_counts_only_to_a_sender_that_reads_them() {
    // The peer announced REPORT blocks: every report after data has them.
    let (rx, reports) = run(true, 0x8a);
    let last = reports.last().unwrap();
    assert!(last.is_final);
    assert_eq!(last.marks, rx.stats().marks.clone());
    assert!(reports
        .iter()
        .filter(|r| r.datagrams_received > 0)
        .all(|r| r
            .marks
            .as_deref()
            .is_some_and(|m| m.datagrams == r.datagrams_received)));
    // It did not: only once the sender's END said it reads them, when
    // every datagram is in (the reports after END and the final ones).
    let (rx, reports) = run(false, 0x8a);
    let all = rx.stats().datagrams_received;
    assert!(reports
        .iter()
        .any(|r| r.marks.is_none() && r.datagrams_received > 0));
    assert!(reports
        .iter()
        .filter(|r| r.marks.is_some())
        .all(|r| r.datagrams_received == all && r.marks == rx.stats().marks.clone()));
    assert!(reports
        .iter()
        .filter(|r| r.is_final)
        .all(|r| r.marks.is_some()));
}
