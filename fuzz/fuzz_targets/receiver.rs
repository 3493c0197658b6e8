//! The frame receiver fed arbitrary datagrams at arbitrary times: never a
//! panic, and its counters always account for every frame once it ends.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mediastream_core::pattern::{FrameReceiver, IoPattern, ReceiverConfig, V1Session};
use mediastream_core::settings::StreamSettings;

fuzz_target!(|input: (bool, Vec<(u16, Vec<u8>)>)| {
    let (v1, datagrams) = input;
    let settings = StreamSettings { buffer_depth_ms: 100, ..StreamSettings::new(400_000, 10, 2) };
    let plan = settings.plan().unwrap();
    let t0 = Instant::now();
    let config = ReceiverConfig { record_frames: true, v1: v1.then(|| V1Session::new(7)), ..Default::default() };
    let mut rx = FrameReceiver::new(plan, config, t0);
    let mut now = t0;
    let mut buf = [0u8; 256];
    for (gap_ms, bytes) in datagrams.iter().take(500) {
        now += Duration::from_millis(u64::from(*gap_ms % 200));
        rx.handle_datagram(now, bytes);
        while rx.poll_transmit(now, &mut buf).is_some() {}
        rx.handle_timeout(now);
    }
    rx.handle_timeout(now + Duration::from_secs(10));
    while rx.poll_transmit(now, &mut buf).is_some() {}
    assert!(rx.status().is_finished());
    let s = rx.stats();
    assert_eq!(s.frames_completed + s.frames_dropped + s.frames_repeated, plan.stream_frames());
    let records = std::iter::from_fn(|| rx.poll_record()).count() as u64;
    assert_eq!(records, plan.stream_frames());
});
