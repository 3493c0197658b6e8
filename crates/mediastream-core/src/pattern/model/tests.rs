use proptest::prelude::*;

use super::*;
use crate::settings::{StreamPlan, StreamSettings, MIN_FRAME_SIZE};

fn plan(rate: u64, fps: u32, secs: u32) -> StreamPlan {
    StreamSettings::new(rate, fps, secs).plan().unwrap()
}

fn stream_bytes(model: &FrameModel) -> u64 {
    (1..=model.stream_frames())
        .map(|n| model.frame(n).size)
        .sum()
}

#[test]
fn cbr_is_the_plan_frame_size() {
    let p = plan(8_000_000, 50, 3);
    let m = FrameSizes::Cbr.resolve(&p).unwrap();
    assert!(m.is_cbr());
    assert_eq!(m.frame(7), Frame::new(20_000, FrameKind::Independent, 0));
    assert_eq!(stream_bytes(&m), p.total_bytes());
}

#[test]
fn lognormal_has_the_requested_mean_and_deviation() {
    // 20 Mbit/s at 60 fps with a 5 Mbit/s deviation: frames of mean
    // 41,666 bytes and deviation 10,416 bytes (iperf2 --isochronous=60:20m,5m).
    let p = plan(20_000_000, 60, 600);
    let m = FrameSizes::LogNormal(LogNormal::new(5_000_000, 9))
        .resolve(&p)
        .unwrap();
    let sizes: Vec<f64> = (1..=36_000).map(|n| m.frame(n).size as f64).collect();
    let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
    let var = sizes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / sizes.len() as f64;
    assert!((mean / 41_666.0 - 1.0).abs() < 0.01, "mean {mean}");
    assert!(
        (var.sqrt() / 10_416.0 - 1.0).abs() < 0.03,
        "stdev {}",
        var.sqrt()
    );
    // Skewed right, as a log-normal is: the median is below the mean.
    let mut sorted = sizes.clone();
    sorted.sort_by(f64::total_cmp);
    assert!(sorted[sorted.len() / 2] < mean);
    assert_eq!(m.frame(5), m.frame(5), "a pure function of the sequence");
    let other = FrameSizes::LogNormal(LogNormal::new(5_000_000, 10))
        .resolve(&p)
        .unwrap();
    assert_ne!(m.frame(5).size, other.frame(5).size, "the seed matters");
}

#[test]
fn gop_sends_keys_on_schedule_at_the_ratio() {
    let p = plan(3_000_000, 30, 10);
    let gop = Gop {
        interval: GopInterval::Millis(2000),
        ..Gop::every_frames(1, 8.0)
    };
    let m = FrameSizes::Gop(gop).resolve(&p).unwrap();
    let keys: Vec<u64> = (1..=300)
        .filter(|&n| m.frame(n).kind == FrameKind::Key)
        .collect();
    assert_eq!(keys, vec![1, 61, 121, 181, 241]);
    assert_eq!(m.frame(100).key, 61);
    assert_eq!(m.frame(100).kind, FrameKind::Delta);
    let (key, delta) = (m.frame(61).size as f64, m.frame(62).size as f64);
    assert!((key / delta - 8.0).abs() < 0.01, "{key} / {delta}");
    assert!(stream_bytes(&m).abs_diff(p.total_bytes()) <= 300);
}

#[test]
fn model_errors_name_the_option_and_range() {
    let p = plan(1_000_000, 30, 10);
    let err = FrameSizes::Gop(Gop::every_frames(0, 5.0))
        .resolve(&p)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--frame-sizes: gop every 0 frames: accepted 1 to 100000 frames"
    );
    let err = FrameSizes::Gop(Gop::every_frames(30, 0.5))
        .resolve(&p)
        .unwrap_err();
    assert!(err.to_string().contains("accepted 1 to 1000"), "{err}");
    let err = FrameSizes::LogNormal(LogNormal::new(5_000_000, 1))
        .resolve(&p)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("0 to 4 x the rate (4000000 bit/s)"),
        "{err}"
    );
    let mut small = StreamSettings::new(1_000_000, 30, 10);
    small.datagram_size = 60;
    let err = FrameSizes::LogNormal(LogNormal::new(1, 1))
        .resolve(&small.plan().unwrap())
        .unwrap_err();
    assert!(
        err.to_string().contains("--datagram-size 81 or more"),
        "{err}"
    );
}

const FFPROBE: &str =
    "0.000000,5000,K__\n0.033367,700,___\n0.066733,650,___\n0.100100,4800,K__\n0.133467,720,___\n";

#[test]
fn an_ffprobe_trace_replays_sizes_kinds_and_keys() {
    let t = Trace::parse(FFPROBE).unwrap();
    assert_eq!(t.frames().len(), 5);
    assert_eq!(t.frame_rate(), 30);
    let p = plan(1_000_000, 30, 1);
    let m = FrameSizes::Trace(t.clone()).resolve(&p).unwrap();
    let got: Vec<(u64, FrameKind, u64)> = (1..=8)
        .map(|n| m.frame(n))
        .map(|f| (f.size, f.kind, f.key))
        .collect();
    use FrameKind::{Delta, Key};
    assert_eq!(
        got,
        vec![
            (5000, Key, 1),
            (700, Delta, 1),
            (650, Delta, 1),
            (4800, Key, 4),
            (720, Delta, 4),
            (5000, Key, 6),
            (700, Delta, 6),
            (650, Delta, 6),
        ]
    );
    assert_eq!(
        t.bits_per_second(30),
        (5000 + 700 + 650 + 4800 + 720) * 8 * 30 / 5
    );
}

#[test]
fn a_plain_trace_and_its_first_deltas() {
    let text = "time_ms,bytes,type\n0,300,D\n20,900,key\n40,310,P\n# comment\n\n60,320,delta\n";
    let t = Trace::parse(text).unwrap();
    assert_eq!(t.frame_rate(), 50);
    let p = plan(200_000, 50, 1);
    let m = FrameSizes::Trace(t).resolve(&p).unwrap();
    // Before the first keyframe a delta has nothing to depend on.
    assert_eq!(m.frame(1).kind, FrameKind::Independent);
    assert_eq!(m.frame(3), Frame::new(310, FrameKind::Delta, 2));
    // In the second pass frame 5 (the trace's first) depends on frame 2.
    assert_eq!(m.frame(5), Frame::new(300, FrameKind::Delta, 2));
}

#[test]
fn trace_errors_name_the_line() {
    let err = Trace::parse("0.0,100,K_\n0.1,abc,__\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.what.contains("\"abc\""), "{err}");
    assert!(Trace::parse("0,100,zebra\n")
        .unwrap_err()
        .what
        .contains("frame type"));
    assert!(Trace::parse("# nothing\n").is_err());
    let mut stop = Trace::parse(FFPROBE).unwrap();
    stop.at_end = TraceEnd::Stop;
    let err = FrameSizes::Trace(stop)
        .resolve(&plan(1_000_000, 30, 1))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the stream has 30 frames, the trace 5"),
        "{err}"
    );
}

fn any_model() -> impl Strategy<Value = FrameSizes> {
    prop_oneof![
        Just(FrameSizes::Cbr),
        (0.0f64..1.0, any::<u64>())
            .prop_map(|(cv, seed)| FrameSizes::LogNormal(LogNormal::new((cv * 1e6) as u64, seed))),
        (
            1u32..300,
            1.0f64..20.0,
            prop_oneof![Just(0.0), 0.0f64..0.5],
            any::<u64>()
        )
            .prop_map(|(every, ratio, variation, seed)| FrameSizes::Gop(Gop {
                variation,
                seed,
                ..Gop::every_frames(every, ratio)
            })),
        proptest::collection::vec((100u64..200_000, any::<bool>()), 1..200).prop_map(|frames| {
            let frames = frames
                .into_iter()
                .enumerate()
                .map(|(i, (b, k))| {
                    let kind = if k { FrameKind::Key } else { FrameKind::Delta };
                    TraceFrame::new(i as f64 / 30.0, b, kind)
                })
                .collect();
            let mut t = Trace::from_frames(frames).unwrap();
            t.scale = true;
            FrameSizes::Trace(t)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Done-when: over a 60 s stream every model's average rate is within
    /// its stated tolerance of the request.
    #[test]
    fn a_minute_averages_the_requested_rate(
        model in any_model(),
        fps in 1u32..=120,
        mean_frame in 1_000u64..100_000,
    ) {
        // The lognormal strategy's deviation is a fraction of 1 Mbit/s:
        // make it a fraction of the rate instead.
        let rate = mean_frame * 8 * u64::from(fps);
        let model = match model {
            FrameSizes::LogNormal(l) => FrameSizes::LogNormal(LogNormal::new(
                (l.stdev_bps as f64 / 1e6 * rate as f64) as u64, l.seed)),
            other => other,
        };
        let p = plan(rate, fps, 60);
        let m = model.resolve(&p).unwrap();
        let average = stream_bytes(&m) as f64 * 8.0 / 60.0;
        let error = (average / p.bits_per_second() as f64 - 1.0).abs();
        prop_assert!(error <= m.rate_tolerance(), "{:?}: error {} > tolerance {}", model, error, m.rate_tolerance());
    }
}

/// Found by `a_minute_averages_the_requested_rate`: scaled down to
/// 1000-byte frames, the trace's 100-byte frame falls below the smallest
/// frame (40 bytes) and is sent at 40; the other frames are scaled to the
/// rest, so the stream still carries exactly its rate (it was 0.75% over).
#[test]
fn a_scaled_trace_makes_up_for_frames_raised_to_the_minimum() {
    let frames = vec![
        TraceFrame::new(0.0, 100, FrameKind::Delta),
        TraceFrame::new(1.0 / 30.0, 7968, FrameKind::Delta),
    ];
    let mut t = Trace::from_frames(frames).unwrap();
    t.scale = true;
    let p = plan(8000, 1, 60);
    let m = FrameSizes::Trace(t).resolve(&p).unwrap();
    let sizes: Vec<u64> = (1..=4).map(|n| m.frame(n).size).collect();
    assert_eq!(sizes, vec![MIN_FRAME_SIZE, 1960, MIN_FRAME_SIZE, 1960]);
    assert_eq!(stream_bytes(&m), p.total_bytes());
}
