//! Stream arithmetic on any inputs: never a panic, never an overflow, and
//! every accepted plan's split adds up within bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediastream_core::settings::{FrameSplit, StreamSettings};

fuzz_target!(|input: (u64, u32, u32, u32, u32, u64)| {
    let (bits_per_second, frame_rate, stream_length_secs, datagram_size, buffer_depth_ms, frame) = input;
    let mut settings = StreamSettings::new(bits_per_second, frame_rate, stream_length_secs);
    settings.datagram_size = datagram_size;
    settings.buffer_depth_ms = buffer_depth_ms;
    if let Ok(plan) = settings.plan() {
        let sizes: Vec<u32> = plan.split().sizes().collect();
        assert_eq!(sizes.iter().map(|&s| u64::from(s)).sum::<u64>(), plan.frame_size());
        assert!(sizes.iter().all(|&s| (27..=datagram_size).contains(&s)));
        assert_eq!(plan.frame_size() * plan.stream_frames(), plan.total_bytes());
        let _ = plan.frame_offset(plan.stream_frames());
    }
    if let Ok(split) = FrameSplit::new(frame, datagram_size) {
        assert!(split.datagram_count() >= 1);
    }
});
