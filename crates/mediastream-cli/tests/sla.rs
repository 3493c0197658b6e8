//! SLA checks as a user runs them: `--expect` runs that pass (exit 0),
//! fail (exit 1, every violation listed with its value) and do not parse
//! (exit 2, before any traffic); the verdicts of a run through
//! `mediastream relay` with 5 ms of jitter and 1% loss. Loopback only,
//! short streams, every child process with a time limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod common;
use common::{bin, finish};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{read_json as json, run_bin as run};

fn temp(name: &str) -> PathBuf {
    common::temp_in("sla", name)
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A one-second loopback run at 1 Mbit/s, 50 frames/s each way, with
/// `extra` options, its JSON at `path`.
fn loopback(path: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "loopback",
        "--bits-per-second",
        "1M",
        "--frame-rate",
        "50",
        "--stream-length",
        "1",
        "--status-interval",
        "0",
        "--json",
        path.to_str().unwrap(),
    ];
    args.extend(extra);
    run(&args, Duration::from_secs(60))
}

#[test]
fn expectations_that_hold_exit_0_and_are_recorded() {
    let path = temp("pass.json");
    let o = loopback(
        &path,
        &[
            "--expect",
            "loss < 5%",
            "--expect",
            "freezes == 0",
            "--expect",
            "sum(frames_completed) == 100",
            "--expect",
            "max(frame_delay_p99) < 900ms",
        ],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains("expect freezes == 0: met (stream 0 (receiver "),
        "{out}"
    );
    assert!(
        out.contains("expect sum(frames_completed) == 100: met (100)"),
        "{out}"
    );
    let doc = json(&path);
    let e = doc["expectations"].as_array().unwrap();
    assert_eq!(e.len(), 4);
    assert!(e.iter().all(|x| x["outcome"] == "met" && x["met"] == true));
    assert_eq!(e[0]["expression"], "loss < 5%");
    assert_eq!(e[0]["unit"], "%");
    // Per stream: only the receiving stream measured loss.
    assert_eq!(e[0]["measured"].as_array().unwrap().len(), 1);
    assert_eq!(e[0]["measured"][0]["stream"], 0);
    assert_eq!(e[2]["measured"][0]["value"], 100.0);
    assert!(e[2]["measured"][0]["stream"].is_null());
    let p99 = doc["streams"][0]["metrics"]["frame_delay_ms"]["last"]["p99"]
        .as_f64()
        .unwrap();
    assert_eq!(e[3]["measured"][0]["value"].as_f64().unwrap(), p99);
}

#[test]
fn violated_expectations_exit_1_listing_each_with_its_value() {
    let path = temp("fail.json");
    let o = loopback(
        &path,
        &[
            "--expect",
            "loss < 5%",
            "--expect",
            "frame_delay_p99 < 1us",
            "--expect",
            "rtt_max < 1us",
            "--expect",
            "totals.frames_dropped > 1000",
        ],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("expect loss < 5%: met"), "{out}");
    let doc = json(&path);
    let s0 = &doc["streams"][0];
    let p99_us = s0["metrics"]["frame_delay_ms"]["last"]["p99"]
        .as_f64()
        .unwrap()
        * 1e3;
    let rtt_us = doc["streams"][1]["rtt_ms"]["max"].as_f64().unwrap() * 1e3;
    let line = |prefix: &str| {
        err.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix}: {err}"))
            .to_owned()
    };
    let l = line("expect frame_delay_p99 < 1us: VIOLATED: stream 0 (receiver 127.0.0.1:");
    let shown: f64 = l
        .rsplit(": ")
        .next()
        .unwrap()
        .trim_end_matches("us")
        .parse()
        .unwrap();
    assert!(
        (shown - p99_us).abs() <= 1e-3 * p99_us.max(1.0),
        "{l} vs {p99_us}"
    );
    let l = line("expect rtt_max < 1us: VIOLATED: stream 1 (sender 127.0.0.1:");
    let shown: f64 = l
        .rsplit(": ")
        .next()
        .unwrap()
        .trim_end_matches("us")
        .parse()
        .unwrap();
    assert!(
        (shown - rtt_us).abs() <= 1e-3 * rtt_us.max(1.0),
        "{l} vs {rtt_us}"
    );
    line("expect totals.frames_dropped > 1000: VIOLATED: 0");
    let e = doc["expectations"].as_array().unwrap();
    let outcomes: Vec<&str> = e.iter().map(|x| x["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["met", "violated", "violated", "violated"]);
    assert_eq!(e[1]["measured"][0]["met"], false);
    assert_eq!(e[3]["measured"][0]["value"], 0.0);
}

#[test]
fn bad_expressions_exit_2_naming_them_before_any_traffic() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["--expect", "lossy < 1%"],
            "--expect 'lossy < 1%': unknown metric 'lossy'",
        ),
        (
            &["--expect", "loss < 5ms"],
            "--expect 'loss < 5ms': loss is a ratio",
        ),
        (
            &["--expect", "loss 1%"],
            "--expect 'loss 1%': no comparison",
        ),
        (
            &["--expect", "jitter < 2"],
            "jitter is a time: give the number a unit",
        ),
        (&["--emodel", "opus"], "publishes no Ie/Bpl for Opus"),
    ];
    for (extra, want) in cases {
        // A client pointed nowhere: it must stop at its arguments.
        let mut client = vec![
            "client",
            "--target",
            "127.0.0.1:9",
            "--bits-per-second",
            "1M",
            "--frame-rate",
            "50",
            "--stream-length",
            "1",
        ];
        client.extend(extra);
        let mut lo = vec!["loopback", "--stream-length", "1"];
        lo.extend(extra);
        for args in [client, lo] {
            let o = run(&args, Duration::from_secs(20));
            let (out, err) = text(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {out}{err}");
            assert!(err.contains(want), "{args:?}: {err}");
            assert!(
                !out.contains("UDP connection"),
                "{args:?} sent traffic: {out}"
            );
        }
    }
    // The accepted names are listed.
    let o = run(
        &["loopback", "--expect", "lossy < 1%"],
        Duration::from_secs(20),
    );
    let (_, err) = text(&o);
    for name in [
        "loss",
        "frame_delay_{min,mean,p50,p90,p99,p999,max}",
        "freezes",
        "mos",
    ] {
        assert!(err.contains(name), "{name}: {err}");
    }
}

/// `mediastream relay` on a free port: the child and its address.
fn relay(forward: &str, extra: &[&str]) -> (std::process::Child, String) {
    let mut args = vec![
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--forward",
        forward,
        "--time-limit",
        "40",
    ];
    args.extend(extra);
    let mut child = common::spawn_piped(bin().args(&args));
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    // "mediastream relay: 127.0.0.1:PORT -> ..."
    let addr = first
        .strip_prefix("mediastream relay: ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("relay said: {first}"))
        .to_owned();
    (child, addr)
}

/// The Done-when run: a voice-like stream (G.711-sized packets, 50 per
/// second, 10 s) through a relay with up to 5 ms of jitter and 1% loss
/// each way. It meets Y.1541 class 5 only: 1% loss is ten times class 0
/// to 4's IPLR bound of 1e-3, while its delay (a few ms) and delay
/// variation (under 50 ms) would meet class 0.
#[test]
fn a_relay_with_5ms_jitter_and_1_percent_loss_meets_class_5_and_misses_class_4_on_loss() {
    let (server, addr) = {
        let (child, addr, _) = common::start_listening(&[
            "server",
            "--listen",
            "127.0.0.1:0",
            "--status-interval",
            "0",
            "--server-exit-limit",
            "1",
        ]);
        (child, addr)
    };
    let (relay, via) = relay(&addr, &["--loss", "0.01", "--jitter", "5", "--seed", "7"]);
    let path = temp("relay.json");
    let o = run(
        &[
            "client",
            "--target",
            &via,
            "--bits-per-second",
            "87.2k",
            "--frame-rate",
            "50",
            "--stream-length",
            "10",
            "--buffer-depth",
            "200ms",
            "--status-interval",
            "0",
            "--json",
            path.to_str().unwrap(),
            "--expect",
            "loss < 0.1%",
        ],
        Duration::from_secs(60),
    );
    let (out, err) = text(&o);
    let _ = finish(server, Duration::from_secs(20));
    let mut relay = relay;
    let _ = relay.kill();
    let _ = relay.wait();
    assert_eq!(
        o.status.code(),
        Some(1),
        "only the expectation fails: {out}{err}"
    );
    assert!(
        err.contains("expect loss < 0.1%: VIOLATED: stream 0 (receiver "),
        "{err}"
    );
    let doc = json(&path);
    let s = &doc["streams"][0];
    assert_eq!(s["status"], "completed");
    let y = &s["verdicts"]["y1541"];
    let m = &y["measured"];
    let iplr = m["iplr"].as_f64().unwrap();
    let lost = s["metrics"]["datagrams"]["lost"].as_f64().unwrap();
    let expected = s["metrics"]["datagrams"]["expected"].as_f64().unwrap();
    assert_eq!(iplr, lost / expected);
    assert!(iplr > 1e-3, "1% loss: {iplr}");
    assert!(m["iptd_ms"].as_f64().unwrap() < 100.0, "{m}");
    assert_eq!(y["best_class"], 5, "{y}");
    assert_eq!(y["next_missed"]["class"], 4);
    let why = y["next_missed"]["why"].as_str().unwrap();
    assert!(
        why.starts_with("IPLR ") && why.ends_with("> 1.0e-3"),
        "{why}"
    );
    // Class 4 fails on IPLR alone; so does every class with an IPLR bound.
    for c in y["classes"].as_array().unwrap() {
        let failed: Vec<&str> = c["failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["parameter"].as_str().unwrap())
            .collect();
        match c["class"].as_u64().unwrap() {
            5 => assert!(c["met"] == true && failed.is_empty()),
            4 | 3 => assert_eq!(failed, ["IPLR"], "{c}"),
            _ => assert!(c["met"] == false && failed.contains(&"IPLR"), "{c}"),
        }
    }
    assert!(
        out.contains("ITU-T Y.1541: class 5; misses class 4: IPLR "),
        "{out}"
    );
    // Voice-like: the E-model estimate, from the loss it saw.
    let e = &s["verdicts"]["emodel"];
    assert_eq!(e["estimate"], true);
    assert_eq!(e["codec"], "G.711");
    let ppl = e["ppl_percent"].as_f64().unwrap();
    let dropped = s["frames_dropped"].as_f64().unwrap();
    let completed = s["frames_completed"].as_f64().unwrap();
    assert!((ppl - 100.0 * dropped / (dropped + completed)).abs() < 1e-9);
    let r = e["r"].as_f64().unwrap();
    assert!(r < 93.2 && r > 0.0, "{e}");
    assert!(out.contains("ITU-T G.107 E-model estimate: R "), "{out}");
    assert!(s["verdicts"]["webrtc_freeze"]["freezes"].is_u64());
}
