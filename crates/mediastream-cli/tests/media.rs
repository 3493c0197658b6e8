//! Real media from the command line: `--profile call` (an audio and a
//! video stream on one connection, reported per stream and combined) and
//! the project's sample trace served by `server --frame-sizes trace:FILE`.
//! Every child process has a time limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod common;
use common::{bin, finish};

use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use common::quiet_server as server;
use serde_json::Value;

fn temp(name: &str) -> PathBuf {
    common::temp_in("media", name)
}

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/traces/sample_720p30.csv"
);

fn client(args: &[&str]) -> (std::process::Output, Value) {
    let out = temp(&format!(
        "{}.json",
        args.join("_").replace(['/', ':', '.'], "-")
    ));
    let child = common::spawn_piped(
        bin()
            .arg("client")
            .args(args)
            .args(["--status-interval", "0", "--time-limit", "30", "--json"])
            .arg(&out),
    );
    let output = finish(child, Duration::from_secs(60));
    let doc = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (output, doc)
}

fn stop(mut server: Child) {
    let _ = server.kill();
    let _ = finish(server, Duration::from_secs(10));
}

#[test]
fn profile_call_runs_voice_and_video_on_one_connection() {
    let (server, addr) = server(&[]);
    let (out, doc) = client(&[
        "--target",
        &addr,
        "--profile",
        "call",
        "--stream-length",
        "2",
    ]);
    stop(server);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let streams = doc["streams"].as_array().unwrap();
    let rates: Vec<u64> = streams
        .iter()
        .map(|s| s["settings"]["bits_per_second"].as_u64().unwrap())
        .collect();
    assert_eq!(rates, [40_000, 1_200_000], "voice, then 720p30");
    for s in streams {
        let d = &s["metrics"]["decoder"];
        let frames = s["settings"]["frame_rate"].as_u64().unwrap() * 2;
        assert_eq!(d["decodable"].as_u64(), Some(frames), "{d}");
    }
    let video = &streams[1]["metrics"]["decoder"];
    assert_eq!(
        video["key"]["completed"].as_u64(),
        Some(1),
        "one keyframe in 2 s of a 3 s GOP"
    );
    let totals = &doc["totals"];
    assert_eq!(
        totals["frames_completed"].as_u64(),
        Some(100 + 60),
        "{totals}"
    );
}

#[test]
fn the_server_replays_the_sample_trace() {
    let (server, addr) = server(&["--frame-sizes", &format!("trace:{SAMPLE}")]);
    let (out, doc) = client(&[
        "--target",
        &addr,
        "--frame-sizes",
        &format!("trace:{SAMPLE}"),
        "--stream-length",
        "2",
    ]);
    stop(server);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = &doc["streams"][0];
    assert_eq!(
        s["settings"]["frame_rate"].as_u64(),
        Some(30),
        "the trace's own rate"
    );
    let sizes: Vec<u64> = s["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["size"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = std::fs::read_to_string(SAMPLE)
        .unwrap()
        .lines()
        .take(60)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(sizes, want);
    let goodput = want.iter().sum::<u64>() as f64 * 8.0 / 2.0;
    let got = s["metrics"]["goodput_bps"].as_f64().unwrap();
    assert!(
        (got - goodput).abs() < 1e-6 * goodput,
        "goodput {got}, the frames' {goodput}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Key [1/0/0]  Delta [59/0/0]  Decodable [60 of 60]"),
        "{text}"
    );
}

#[test]
fn bad_media_options_exit_2_naming_them() {
    for (args, says) in [
        (vec!["--profile", "8k"], "--profile '8k': accepted voice"),
        (
            vec!["--profile", "voice", "--frame-rate", "30"],
            "--profile sets the rate",
        ),
        (
            vec![
                "--frame-sizes",
                "gop:2s,0",
                "--bits-per-second",
                "1M",
                "--frame-rate",
                "30",
            ],
            "--frame-sizes gop ratio '0'",
        ),
        (
            vec!["--frame-sizes", "lognormal:1M"],
            "--frame-rate is required",
        ),
        (
            vec![
                "--compat",
                "--frame-sizes",
                "cbr",
                "--bits-per-second",
                "1M",
                "--frame-rate",
                "30",
            ],
            "--frame-sizes needs v1",
        ),
    ] {
        let child = common::spawn_piped(
            bin()
                .args(["client", "--target", "127.0.0.1:9", "--stream-length", "1"])
                .args(&args),
        );
        let out = finish(child, Duration::from_secs(20));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
