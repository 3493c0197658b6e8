use super::*;

fn frame(sequence: u64, outcome: FrameOutcome, datagrams: u64, bytes: u64) -> FrameAtTick {
    FrameAtTick {
        sequence,
        outcome,
        bytes,
        datagrams,
        due: Duration::from_millis(20 * (sequence - 1)),
        first_delay_ns: (datagrams > 0).then_some(1_000),
        last_delay_ns: (datagrams > 0).then_some(2_000),
        shape: None,
    }
}

#[test]
fn late_datagrams_complete_a_frame_and_are_not_lost() {
    // 4 datagrams of 100 B per frame; frame 2 had 3 at its tick, the 4th
    // came after: a late frame, dropped at the tick, and no datagram lost.
    let mut m = ReceiveMetrics::new(400, 4, 8, true);
    m.on_render(frame(1, FrameOutcome::Completed, 4, 400));
    m.on_render(frame(2, FrameOutcome::Dropped, 3, 300));
    m.on_render(frame(3, FrameOutcome::Completed, 4, 400));
    assert!(m.on_late(2, 100));
    assert!(!m.on_late(9, 100), "never rendered");
    m.finish();
    assert_eq!(m.playout.late_frames, 1);
    assert_eq!((m.playout.freezes, m.playout.frozen_frames), (1, 1));
    let d = m.datagrams;
    assert_eq!(
        (d.expected, d.received_unique, d.lost(), d.late),
        (12, 12, 0, 1)
    );
    let timeline = m.timeline.as_ref().unwrap();
    let outcomes: Vec<_> = timeline.iter().map(|f| f.outcome).collect();
    assert_eq!(
        outcomes,
        [
            TimelineOutcome::Completed,
            TimelineOutcome::Late,
            TimelineOutcome::Completed
        ]
    );
    assert_eq!(timeline[1].due, Duration::from_millis(20));
    assert_eq!(m.frame_last_delay.count(), 3);
}

#[test]
fn losses_duplicates_and_reordering_are_told_apart() {
    let mut m = ReceiveMetrics::new(400, 4, 2, false);
    // Frame 2's datagrams arrive before the last of frame 1: reordered.
    for seq in [1, 1, 1, 2, 2, 1, 2, 2] {
        m.on_datagram(seq, Some(10_000));
    }
    assert_eq!(m.datagrams.reordered, 1);
    m.on_render(frame(1, FrameOutcome::Completed, 4, 400));
    m.on_render(frame(2, FrameOutcome::Completed, 4, 400));
    // Frame 3 lost 1 of 4; frame 4 got one twice.
    m.on_render(frame(3, FrameOutcome::Dropped, 3, 300));
    m.on_render(frame(4, FrameOutcome::Repeated, 5, 500));
    m.finish();
    let d = m.datagrams;
    assert_eq!(
        (d.expected, d.received_unique, d.lost(), d.duplicates),
        (16, 15, 1, 1)
    );
    assert!((d.loss_percent() - 6.25).abs() < 1e-12);
    assert_eq!((m.loss_runs.bursts, m.loss_runs.gap_losses), (0, 1));
    assert!(m.timeline.is_none());
    // Every delay was 10 µs: no variation.
    assert_eq!(m.ipdv.max(), Some(0));
    assert_eq!(m.datagram_delay.quantile(0.99), Some(10_000));
}
