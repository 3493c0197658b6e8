//! The frame receiver fed arbitrary datagrams at arbitrary times: never a
//! panic, and its counters always account for every frame once it ends.
//! Inputs starting 0xD0 become well-formed data datagrams (frame number,
//! size and timestamp from the next bytes), so the jitter buffer and the
//! receive metrics see real frames, duplicates, gaps and late arrivals;
//! time may step back a little, as kernel receive stamps can.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mediastream_core::pattern::{FrameReceiver, IoPattern, ReceiverConfig, V1Session};
use mediastream_core::settings::StreamSettings;
use mediastream_core::wire::DataRepr;

/// A data datagram from `spec`: [frame, size hi, size lo, timestamp...].
fn data(spec: &[u8]) -> Option<Vec<u8>> {
    let sequence = i64::from(*spec.first()?) % 24;
    let size = usize::from(u16::from_be_bytes([*spec.get(1)?, *spec.get(2)?])) % 1500 + 26;
    let timestamp = spec.get(3..11).map_or(0, |b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let repr = DataRepr { sequence_number: sequence, timestamp, frequency: 1_000_000_000 };
    let mut buf = vec![0u8; size];
    repr.emit_datagram(&mut buf, size)?;
    Some(buf)
}

fuzz_target!(|input: (bool, Vec<(u16, Vec<u8>)>)| {
    let (v1, datagrams) = input;
    // 10 frames/s, 2 s: 20 frames of 5000 B (4 x 1400 - in 1400-byte datagrams: 3 x 1400 + 800).
    let mut settings = StreamSettings::new(400_000, 10, 2);
    settings.buffer_depth_ms = 100;
    let plan = settings.plan().unwrap();
    let t0 = Instant::now();
    let mut config = ReceiverConfig::default();
    config.record_frames = true;
    config.timeline = true;
    config.v1 = v1.then(|| V1Session::new(7));
    let mut rx = FrameReceiver::new(plan, config, t0);
    let mut now = t0;
    let mut buf = [0u8; 256];
    for (gap, bytes) in datagrams.iter().take(500) {
        // The high bit steps back up to 32 ms instead of forward.
        let step = Duration::from_millis(u64::from(*gap & 0x7fff) % 200);
        now = if gap & 0x8000 != 0 { now.checked_sub(step / 6).unwrap_or(now).max(t0) } else { now + step };
        match bytes.split_first() {
            Some((0xD0, spec)) => {
                if let Some(d) = data(spec) {
                    rx.handle_datagram(now, &d);
                }
            }
            _ => rx.handle_datagram(now, bytes),
        }
        while rx.poll_transmit(now, &mut buf).is_some() {}
        rx.handle_timeout(now);
    }
    rx.handle_timeout(now + Duration::from_secs(10));
    while rx.poll_transmit(now, &mut buf).is_some() {}
    assert!(rx.status().is_finished());
    let frames = plan.stream_frames();
    let records = std::iter::from_fn(|| rx.poll_record()).count() as u64;
    assert_eq!(records, frames);
    let s = rx.stats();
    assert_eq!(s.frames_completed + s.frames_dropped + s.frames_repeated, frames);
    // The metrics account for every frame and datagram exactly once.
    let m = s.metrics.as_ref().expect("a receiver has metrics");
    let per_frame = plan.split().datagram_count();
    // Frame data (flag 0x3000) announces each frame's own datagram count.
    let framed = datagrams.iter().any(|(_, b)| b.starts_with(&[0x00, 0x30]));
    if framed {
        assert!(m.datagrams.expected >= frames);
    } else {
        assert_eq!(m.datagrams.expected, frames * per_frame);
    }
    assert!(m.datagrams.received_unique <= m.datagrams.expected);
    assert_eq!(m.loss_runs.datagrams, m.datagrams.expected);
    assert_eq!(m.loss_runs.burst_losses + m.loss_runs.gap_losses, m.datagrams.lost());
    assert_eq!(m.timeline.as_ref().map(Vec::len), Some(frames as usize));
    assert!(m.playout.frozen_frames <= s.frames_dropped);
    assert!(m.playout.late_frames <= s.frames_dropped);
    for q in [0.0, 0.5, 0.99, 1.0] {
        if let (Some(v), Some(lo), Some(hi)) = (m.datagram_delay.quantile(q), m.datagram_delay.min(), m.datagram_delay.max()) {
            assert!(lo <= v && v <= hi);
        }
    }
});
