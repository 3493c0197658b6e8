//! A greedy request cannot stall the server (docs/SECURITY.md): in a
//! network namespace of its own (so the loopback counters are this test's
//! alone), one client asks for 100 Gbit/s, ten times what this host can
//! send, and then stops reading (SIGSTOP); beside it a legitimate 8 Mbit/s
//! stream must complete, the server must stop within a second of SIGINT
//! with its JSON written, and the greedy stream's reported bytes and rate
//! must match what the kernel says left (the namespace's `lo` tx_bytes).
//! Runs as root (CI); skips, saying why, where namespaces cannot be made.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;
use common::{finish, sh};

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Namespace(String);

impl Namespace {
    fn make() -> Result<Self, String> {
        let ns = Self(format!("ms-greedy-{}", std::process::id()));
        common::netns_add(&ns.0)?;
        Ok(ns)
    }

    /// Bytes the namespace's loopback has carried: everything any process
    /// in it sent, as the kernel counts it.
    fn lo_tx_bytes(&self) -> u64 {
        let out = sh(&[
            "ip",
            "netns",
            "exec",
            &self.0,
            "cat",
            "/sys/class/net/lo/statistics/tx_bytes",
        ]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &self.0, env!("CARGO_BIN_EXE_mediastream")])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.0]);
    }
}

fn signal(child: &Child, sig: &str) {
    let out = sh(&["kill", sig, &child.id().to_string()]);
    assert!(out.status.success(), "kill {sig}");
}

fn json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_greedy_stream_stalls_nothing_and_reports_what_left() {
    let ns = match Namespace::make() {
        Ok(ns) => ns,
        Err(why) => return common::skip_without_netns(&why),
    };
    let dir = std::env::temp_dir().join(format!("ms-greedy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (server_json, legit_json) = (dir.join("server.json"), dir.join("legit.json"));
    let before = ns.lo_tx_bytes();
    // The rate limits raised for the test, and consent long enough to
    // outlast it: what is tested is the stall, not consent.
    let mut server = ns.spawn(&[
        "server",
        "--listen",
        "127.0.0.1:4444",
        "--status-interval",
        "0",
        "--max-rate",
        "100G",
        "--max-total-rate",
        "200G",
        "--max-consent",
        "20s",
        "--json",
        server_json.to_str().unwrap(),
    ]);
    let mut first = String::new();
    BufReader::new(server.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("listening on"), "{first}");
    let greedy = ns.spawn(&[
        "client",
        "--target",
        "127.0.0.1:4444",
        "--bits-per-second",
        "100G",
        "--frame-rate",
        "1000",
        "--stream-length",
        "30",
        "--status-interval",
        "0",
    ]);
    // Long enough for the handshake; then it never reads again.
    std::thread::sleep(Duration::from_millis(500));
    signal(&greedy, "-STOP");
    let legit = ns.spawn(&[
        "client",
        "--target",
        "127.0.0.1:4444",
        "--bits-per-second",
        "8M",
        "--frame-rate",
        "50",
        "--stream-length",
        "3",
        "--status-interval",
        "0",
        "--json",
        legit_json.to_str().unwrap(),
    ]);
    let legit_out = finish(legit, Duration::from_secs(30));
    signal(&server, "-INT");
    let asked = Instant::now();
    let server_out = finish(server, Duration::from_secs(30));
    let stopped_in = asked.elapsed();
    signal(&greedy, "-KILL");
    let _ = finish(greedy, Duration::from_secs(10));
    let sent_by_kernel = ns.lo_tx_bytes() - before;

    let legit_text = String::from_utf8_lossy(&legit_out.stdout);
    let frames = json(&legit_json)["streams"][0]["frames_completed"]
        .as_u64()
        .unwrap();
    assert!(
        frames >= 149,
        "legitimate stream: {frames} of 150\n{legit_text}"
    );
    assert!(
        stopped_in < Duration::from_secs(1),
        "the server took {stopped_in:?} to stop after SIGINT\n{}",
        String::from_utf8_lossy(&server_out.stderr)
    );
    let doc = json(&server_json);
    assert_eq!(doc["interrupted"], true, "{doc}");
    let streams = doc["streams"].as_array().unwrap();
    let rate = |s: &Value| s["settings"]["bits_per_second"].as_u64().unwrap_or(0);
    let greedy_stream = streams
        .iter()
        .find(|s| rate(s) == 100_000_000_000)
        .expect("the greedy stream is reported");
    let others: u64 = streams
        .iter()
        .filter(|s| rate(s) != 100_000_000_000)
        .map(|s| s["bytes_sent"].as_u64().unwrap())
        .sum();
    let greedy_bytes = greedy_stream["bytes_sent"].as_u64().unwrap();
    // What the kernel carried, less the other stream's data: the greedy
    // stream's data plus every control datagram of the run (a few KB).
    let kernel = sent_by_kernel - others;
    let off = (kernel as f64 - greedy_bytes as f64).abs() / kernel as f64;
    eprintln!(
        "greedy: {greedy_bytes} B reported, {kernel} B by the kernel ({:.3}% apart), {} Gbit/s reported; legit {frames}/150; stop {stopped_in:?}",
        off * 100.0,
        greedy_stream["bits_per_second"].as_f64().unwrap() / 1e9
    );
    assert!(
        off < 0.05,
        "greedy reported {greedy_bytes} B, kernel {kernel} B"
    );
    let secs = greedy_stream["duration_secs"].as_f64().unwrap();
    let kernel_rate = kernel as f64 * 8.0 / secs;
    let reported = greedy_stream["bits_per_second"].as_f64().unwrap();
    assert!(
        (reported - kernel_rate).abs() / kernel_rate < 0.05,
        "reported {reported} bit/s, the kernel's {kernel_rate} bit/s"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
