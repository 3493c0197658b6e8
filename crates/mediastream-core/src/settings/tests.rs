use proptest::prelude::*;

use super::*;

fn sizes(plan: &StreamPlan) -> Vec<u32> {
    plan.split().sizes().collect()
}

#[test]
fn known_case_8mbit_50fps_3s() {
    let plan = StreamSettings::new(8_000_000, 50, 3).plan().unwrap();
    assert_eq!(plan.stream_frames(), 150);
    assert_eq!(plan.total_bytes(), 3_000_000);
    assert_eq!(plan.frame_size(), 20_000);
    let s = sizes(&plan);
    assert_eq!(s.len(), 15);
    assert!(s[..14].iter().all(|&d| d == 1400));
    assert_eq!(s[14], 400);
    assert_eq!(plan.total_datagrams(), 15 * 150);
    assert_eq!(plan.buffered_frames(), 50);
    assert_eq!(plan.ring_slots(), 100);
    assert_eq!(plan.frame_interval(), Duration::from_millis(20));
    assert_eq!(plan.frame_offset(1), Duration::ZERO);
    assert_eq!(plan.frame_offset(150), Duration::from_millis(2980));
    assert_eq!(plan.start_retry_interval(), Duration::from_millis(520));
}

#[test]
fn frame_offset_is_the_same_past_64_bit_nanoseconds() {
    let plan = StreamSettings::new(8_000_000, 7, 3).plan().unwrap();
    for sequence in [
        2,
        8,
        18_446_744_073,
        18_446_744_074,
        18_446_744_075,
        u64::MAX,
    ] {
        let nanos = u128::from(sequence - 1) * 1_000_000_000 / 7;
        let want = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        assert_eq!(plan.frame_offset(sequence), want, "frame {sequence}");
    }
}

#[test]
fn remainder_under_27_shortens_the_datagram_before_it() {
    // 1410-byte frames in 1400-byte datagrams: 1400 + 10 would leave 10,
    // so the first is cut to 1383 to leave 27.
    let mut s = StreamSettings::new(1410 * 8 * 10, 10, 1);
    let plan = s.plan().unwrap();
    assert_eq!(plan.frame_size(), 1410);
    assert_eq!(sizes(&plan), vec![1383, 27]);
    // Three datagrams: 1400 + 1400 + 1 -> 1400, 1374, 27.
    s.bits_per_second = 2801 * 8 * 10;
    assert_eq!(sizes(&s.plan().unwrap()), vec![1400, 1374, 27]);
    // A remainder of exactly 27 needs no shortening.
    s.bits_per_second = 1427 * 8 * 10;
    assert_eq!(sizes(&s.plan().unwrap()), vec![1400, 27]);
    // A frame of exactly the datagram size is one datagram.
    s.bits_per_second = 1400 * 8 * 10;
    assert_eq!(sizes(&s.plan().unwrap()), vec![1400]);
}

#[test]
fn rate_and_total_round_down() {
    // 8,000,007 bit/s -> 8,000,000; 1,000,000 B/s x 7 s = 7,000,000 B over
    // 7 x 3 = 21 frames -> 333,333 B/frame, total 6,999,993.
    let plan = StreamSettings::new(8_000_007, 3, 7).plan().unwrap();
    assert_eq!(plan.bits_per_second(), 8_000_000);
    assert_eq!(plan.stream_frames(), 21);
    assert_eq!(plan.frame_size(), 333_333);
    assert_eq!(plan.total_bytes(), 6_999_993);
}

#[test]
fn extreme_inputs_are_rejected_with_the_parameter_named() {
    let ok = StreamSettings::new(8_000_000, 50, 3);
    let cases: Vec<(StreamSettings, Param)> = vec![
        (
            StreamSettings {
                bits_per_second: 0,
                ..ok
            },
            Param::BitsPerSecond,
        ),
        (
            StreamSettings {
                bits_per_second: u64::MAX,
                ..ok
            },
            Param::BitsPerSecond,
        ),
        (
            StreamSettings {
                frame_rate: 0,
                ..ok
            },
            Param::FrameRate,
        ),
        (
            StreamSettings {
                frame_rate: u32::MAX,
                ..ok
            },
            Param::FrameRate,
        ),
        (
            StreamSettings {
                stream_length_secs: 0,
                ..ok
            },
            Param::StreamLength,
        ),
        (
            StreamSettings {
                stream_length_secs: u32::MAX,
                ..ok
            },
            Param::StreamLength,
        ),
        (
            StreamSettings {
                datagram_size: 20,
                ..ok
            },
            Param::DatagramSize,
        ),
        (
            StreamSettings {
                datagram_size: 26,
                ..ok
            },
            Param::DatagramSize,
        ),
        (
            StreamSettings {
                datagram_size: 65_508,
                ..ok
            },
            Param::DatagramSize,
        ),
        (
            StreamSettings {
                datagram_size: 70_000,
                ..ok
            },
            Param::DatagramSize,
        ),
        (
            StreamSettings {
                buffer_depth_ms: 0,
                ..ok
            },
            Param::BufferDepth,
        ),
    ];
    for (settings, param) in cases {
        match settings.plan() {
            Err(SettingsError::OutOfRange { param: p, .. }) => assert_eq!(p, param, "{settings:?}"),
            other => panic!("{settings:?}: expected OutOfRange({param}), got {other:?}"),
        }
    }
    let msg = StreamSettings {
        datagram_size: 20,
        ..ok
    }
    .plan()
    .unwrap_err()
    .to_string();
    assert_eq!(
        msg,
        "datagram-size 20 bytes is out of range: accepted 27 to 65507 bytes"
    );
}

#[test]
fn derived_limits_are_enforced() {
    // 1000 bit/s at 10 frames/s is 12-byte frames.
    let e = StreamSettings::new(1000, 10, 1).plan().unwrap_err();
    assert!(
        matches!(e, SettingsError::FrameTooSmall { frame_size: 12, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("frame-rate"));
    // 100 Gbit/s at 1 frame/s is a 12.5 GB frame.
    let e = StreamSettings::new(100_000_000_000, 1, 1)
        .plan()
        .unwrap_err();
    assert!(matches!(e, SettingsError::FrameTooLarge { .. }), "{e:?}");
    // 40 Gbit/s in 100-byte datagrams is 50 million datagrams/s.
    let s = StreamSettings {
        datagram_size: 100,
        ..StreamSettings::new(40_000_000_000, 1000, 1)
    };
    assert!(matches!(
        s.plan(),
        Err(SettingsError::TooManyDatagrams { .. })
    ));
    // 10 minutes of buffer at 10,000 frames/s is 6 million frames.
    let s = StreamSettings {
        buffer_depth_ms: 600_000,
        ..StreamSettings::new(1_000_000_000, 10_000, 1000)
    };
    assert!(matches!(s.plan(), Err(SettingsError::BufferTooDeep { .. })));
    // 41-byte frames in 30-byte datagrams: 30 + 11 must become 14 + 27.
    let s = StreamSettings {
        datagram_size: 30,
        ..StreamSettings::new(41 * 8, 1, 1)
    };
    let e = s.plan().unwrap_err();
    assert_eq!(
        e,
        SettingsError::Unsplittable {
            frame_size: 41,
            datagram_size: 30,
            suggested: 53
        }
    );
    let s = StreamSettings {
        datagram_size: 53,
        ..s
    };
    assert_eq!(sizes(&s.plan().unwrap()), vec![41]);
}

#[test]
fn buffer_never_exceeds_the_stream() {
    let s = StreamSettings {
        buffer_depth_ms: 5000,
        ..StreamSettings::new(8_000_000, 50, 2)
    };
    assert_eq!(s.plan().unwrap().buffered_frames(), 100);
    let s = StreamSettings {
        buffer_depth_ms: 1,
        ..StreamSettings::new(8_000_000, 50, 2)
    };
    assert_eq!(s.plan().unwrap().buffered_frames(), 1, "at least one frame");
}

proptest! {
    #[test]
    fn every_split_adds_up(
        bps in 8u64..20_000_000_000,
        fps in 1u32..2000,
        secs in 1u32..30,
        dgram in 27u32..=65_507,
    ) {
        let s = StreamSettings { datagram_size: dgram, ..StreamSettings::new(bps, fps, secs) };
        let Ok(plan) = s.plan() else { return Ok(()) };
        let sizes: Vec<u32> = plan.split().sizes().collect();
        prop_assert_eq!(sizes.len() as u64, plan.split().datagram_count());
        prop_assert!(sizes.iter().all(|&d| (27..=dgram).contains(&d)), "{:?}", sizes);
        prop_assert_eq!(sizes.iter().map(|&d| u64::from(d)).sum::<u64>(), plan.frame_size());
        prop_assert_eq!(plan.frame_size() * plan.stream_frames(), plan.total_bytes());
        prop_assert!(plan.total_bytes() <= plan.bits_per_second() / 8 * u64::from(secs));
        prop_assert_eq!(plan.max_datagram() as u32, *sizes.iter().max().unwrap());
        // Every datagram but the last two is full-size.
        let n = sizes.len();
        prop_assert!(sizes[..n.saturating_sub(2)].iter().all(|&d| d == dgram));
    }

    #[test]
    fn split_never_panics(frame in any::<u64>(), dgram in any::<u32>()) {
        if let Ok(split) = FrameSplit::new(frame, dgram) {
            prop_assert!(split.datagram_count() >= 1);
            let last = split.size_of(split.datagram_count() - 1).unwrap();
            prop_assert!(last >= 27);
        }
    }
}
