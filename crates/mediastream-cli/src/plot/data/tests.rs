#![allow(clippy::unwrap_used)] // a test fails loudly

use super::*;

/// A document with a sender (no timeline) then a receiver whose timeline
/// has the given outcomes, one frame each at 50 frames/s from seq 1.
fn doc(outcomes: &[&str]) -> String {
    let timeline: Vec<String> = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let delay = if *o == "dropped" {
                "null".to_owned()
            } else {
                format!("{}", 1.0 + i as f64 / 10.0)
            };
            format!(
                r#"{{"seq": {}, "due_ms": {}, "outcome": "{o}", "first_ms": {delay}, "last_ms": {delay}, "datagrams": 3}}"#,
                i + 1,
                1000.0 + i as f64 * 20.0
            )
        })
        .collect();
    format!(
        r#"{{"schema": 1, "streams": [
            {{"role": "sender", "settings": {{"frame_rate": 50}}, "timeline": null, "metrics": null}},
            {{"role": "receiver", "local": "127.0.0.1:1", "remote": "127.0.0.1:2",
              "settings": {{"frame_rate": 50, "bits_per_second": 8000000}},
              "frames_completed": 7, "frames_dropped": 3, "jitter_ms": 0.5,
              "timeline": [{}]}}
        ]}}"#,
        timeline.join(",")
    )
}

fn runtime(r: Result<PlotData, CliError>) -> String {
    match r {
        Err(CliError::Runtime(m)) => m,
        other => panic!("expected a run-time error, got {other:?}"),
    }
}

#[test]
fn the_first_stream_with_a_timeline_is_chosen() {
    let d = parse(&doc(&["completed", "dropped"]), "run.json", None).unwrap();
    assert_eq!((d.index, d.count, d.role.as_str()), (1, 2, "receiver"));
    assert_eq!(d.frames.len(), 2);
    assert_eq!(d.frames[0].due_s, 1.0);
    assert_eq!(d.frames[1].last_ms, None);
    assert!((d.frame_interval_s - 0.02).abs() < 1e-12);
}

#[test]
fn freeze_runs_are_consecutive_frames_not_shown() {
    let d = parse(
        &doc(&[
            "completed",
            "dropped",
            "completed",
            "dropped",
            "dropped",
            "late",
            "completed",
            "repeated",
            "dropped",
            "completed",
        ]),
        "run.json",
        None,
    )
    .unwrap();
    let runs: Vec<(u64, u64)> = d.freezes.iter().map(|f| (f.first_seq, f.frames)).collect();
    // seq 2; seq 4-6 (two dropped and a late one); seq 9. A repeated frame
    // (seq 8) was shown: it ends nothing and starts nothing.
    assert_eq!(runs, vec![(2, 1), (4, 3), (9, 1)]);
    let long = d.freezes[1];
    assert!((long.start_s - 1.06).abs() < 1e-9);
    assert!((long.ms() - 60.0).abs() < 1e-9);
    assert_eq!(d.count_of(Outcome::Dropped), 4);
    assert_eq!(d.late(), 1);
    // No playout metrics in the document: computed from the timeline.
    let (n, total, longest) = d.freeze_summary();
    assert_eq!(n, 3);
    assert!((total - 100.0).abs() < 1e-9);
    assert!((longest - 60.0).abs() < 1e-9);
}

#[test]
fn a_gap_in_sequence_numbers_ends_a_freeze() {
    let f = |seq, outcome| Frame {
        seq,
        due_s: seq as f64 * 0.01,
        outcome,
        first_ms: None,
        last_ms: None,
        key: false,
    };
    let frames = [
        f(1, Outcome::Dropped),
        f(2, Outcome::Dropped),
        f(4, Outcome::Dropped),
    ];
    let runs: Vec<(u64, u64)> = freezes(&frames, 0.01)
        .iter()
        .map(|r| (r.first_seq, r.frames))
        .collect();
    assert_eq!(runs, vec![(1, 2), (4, 1)]);
}

#[test]
fn no_timeline_is_a_clear_error_naming_the_file() {
    let text =
        r#"{"schema": 1, "streams": [{"role": "sender", "timeline": null}, {"role": "receiver"}]}"#;
    let m = runtime(parse(text, "results.json", None));
    assert!(m.contains("results.json"), "{m}");
    assert!(m.contains("rerun the client with --json"), "{m}");
    assert!(m.contains("--timeline"), "{m}");
    let m = runtime(parse(r#"{"streams": []}"#, "empty.json", None));
    assert!(m.contains("empty.json") && m.contains("no stream"), "{m}");
    // An empty timeline has nothing to draw either.
    let m = runtime(parse(
        r#"{"streams": [{"role": "receiver", "timeline": []}]}"#,
        "e.json",
        None,
    ));
    assert!(m.contains("e.json"), "{m}");
}

#[test]
fn not_a_document_is_a_clear_error() {
    let m = runtime(parse("hello", "notes.txt", None));
    assert!(
        m.contains("notes.txt is not a mediastream --json document"),
        "{m}"
    );
    let m = runtime(parse(r#"{"tool": "iperf3"}"#, "iperf.json", None));
    assert!(m.contains("iperf.json"), "{m}");
}

#[test]
fn stream_chooses_by_index() {
    let text = doc(&["completed"]);
    assert_eq!(parse(&text, "r.json", Some(1)).unwrap().index, 1);
    // The sender has no timeline: say which streams do.
    let m = runtime(parse(&text, "r.json", Some(0)));
    assert!(
        m.contains("stream 0 of r.json (sender)") && m.contains("streams with one: 1"),
        "{m}"
    );
    // Past the end: a usage error naming the range.
    match parse(&text, "r.json", Some(2)) {
        Err(CliError::Usage(m)) => assert!(m.contains("--stream 2") && m.contains("0 to 1"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_keys_degrade_and_metrics_win_when_present() {
    // Only a timeline: no settings, counts or metrics.
    let bare = r#"{"streams": [{"timeline": [
        {"seq": 1, "due_ms": 0, "outcome": "completed", "first_ms": 1, "last_ms": 2},
        {"seq": 2, "due_ms": 40, "outcome": "mystery", "first_ms": null, "last_ms": null},
        {"seq": 3, "due_ms": 80, "outcome": "completed", "first_ms": 1, "last_ms": 4}
    ]}]}"#;
    let d = parse(bare, "bare.json", None).unwrap();
    assert!((d.frame_interval_s - 0.04).abs() < 1e-12, "from the ticks");
    assert_eq!(d.frames[1].outcome, Outcome::Other);
    assert_eq!(d.freezes.len(), 1);
    assert_eq!(d.frame_delay_p50_p99(), Some((2.0, 4.0)));
    // An unknown outcome is drawn and counted as not shown on time.
    assert!(
        d.headline()
            .contains("completed 2 \u{b7} dropped 1 (1 late)"),
        "{}",
        d.headline()
    );

    let with_metrics = r#"{"streams": [{"role": "receiver", "frames_completed": 1,
        "metrics": {"delay_basis": "relative",
            "frame_delay_ms": {"first": null, "last": {"count": 9, "min": 0, "mean": 1, "p50": 1.5, "p90": 2, "p99": 2.5, "p999": 3, "max": 3}},
            "datagrams": {"expected": 100, "received_unique": 97, "lost": 3, "duplicates": 0, "reordered": 1, "loss_percent": 3.0},
            "playout": {"late_frames": 0, "freezes": 7, "freeze_ms_total": 116.7, "freeze_ms_longest": 50}},
        "timeline": [{"seq": 1, "due_ms": 0, "outcome": "completed", "first_ms": 1, "last_ms": 2}]}]}"#;
    let d = parse(with_metrics, "m.json", None).unwrap();
    assert!(d.delay_is_relative());
    assert_eq!(d.frame_delay_p50_p99(), Some((1.5, 2.5)));
    assert_eq!(d.freeze_summary(), (7, 116.7, 50.0));
    let h = d.headline();
    assert!(
        h.contains("loss 3.00 %") && h.contains("p99 frame delay 2.50 ms"),
        "{h}"
    );
    let rows = d.key_numbers();
    assert!(rows
        .iter()
        .any(|(k, v)| k == "datagrams lost" && v == "3 of 100 (3.00 %)"));
}

#[test]
fn quantiles_are_nearest_rank() {
    let v: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(quantile(&v, 0.5), Some(50.0));
    assert_eq!(quantile(&v, 0.99), Some(99.0));
    assert_eq!(quantile(&v, 1.0), Some(100.0));
    assert_eq!(quantile(&[], 0.5), None);
}

#[test]
fn keyframes_are_read_from_the_timeline_kind() {
    let text = doc(&["completed", "completed", "completed"])
        .replacen(
            r#""datagrams": 3}"#,
            r#""datagrams": 3, "size": 9000, "kind": "key"}"#,
            1,
        )
        .replacen(
            r#""datagrams": 3}"#,
            r#""datagrams": 3, "kind": "delta"}"#,
            1,
        );
    let d = parse(&text, "gop.json", None).unwrap();
    let keys: Vec<bool> = d.frames.iter().map(|f| f.key).collect();
    assert_eq!(keys, [true, false, false]);
}
