//! `server --metrics-listen`: a server scraped with a real HTTP client
//! (Python's `urllib`) while a JOIN and a receive stream run, its text
//! parsed with the `prometheus_client` parsers
//! (tests/data/scrape_metrics.py): counters rise as the run goes, never
//! fall, and once the streams have ended they equal the server's final
//! `--json` document. Loopback only; every process has a time limit.
//! Skipped, saying why, without python3 or its `prometheus_client`
//! (`.ci/run` installs it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly
#![cfg(unix)] // the server is stopped with SIGTERM, as a service manager would

mod common;
use common::{bin, finish};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/scrape_metrics.py")
}

fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Why the test cannot run here, if it cannot.
fn missing_python() -> Option<String> {
    let out = Command::new("timeout")
        .args(["30", "python3"])
        .arg(script())
        .arg("--probe")
        .output();
    match out {
        Err(e) => Some(format!("no python3: {e}")),
        Ok(o) if o.status.code() == Some(0) => None,
        Ok(o) => Some(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
    }
}

/// One scrape: every sample by `name{labels}`.
#[derive(Debug, Clone, PartialEq)]
struct Scrape {
    types: BTreeMap<String, String>,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    fn get(&self, key: &str) -> f64 {
        *self.samples.get(key).unwrap_or_else(|| panic!("no {key}"))
    }

    /// A counter summed over its label sets.
    fn sum(&self, name: &str) -> f64 {
        let prefix = format!("{name}{{");
        (self.samples.iter())
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v)
            .sum()
    }

    fn running(&self) -> f64 {
        self.sum("mediastream_streams_running")
    }

    /// Every counter sample (the `_total`s and histogram parts).
    fn counters(&self) -> impl Iterator<Item = (&String, &f64)> {
        self.samples.iter().filter(|(k, _)| {
            k.contains("_total{") || k.contains("_bucket{") || k.contains("_count{")
        })
    }
}

fn scrape(url: &str) -> Scrape {
    let out = Command::new("timeout")
        .args(["30", "python3"])
        .arg(script())
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scrape failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let map = |v: &Value| v.as_object().unwrap().clone().into_iter();
    Scrape {
        types: map(&v["types"])
            .map(|(k, t)| (k, t.as_str().unwrap().to_owned()))
            .collect(),
        samples: map(&v["samples"])
            .map(|(k, n)| (k, n.as_f64().unwrap()))
            .collect(),
    }
}

/// A client of `addr` streaming 3 s in `direction`, exit 0.
fn client(addr: String, direction: &'static str) -> std::thread::JoinHandle<Output> {
    std::thread::spawn(move || {
        let child = common::spawn_piped(
            bin()
                .args(["client", "--target", &addr, "--direction", direction])
                .args(["--bits-per-second", "800k", "--frame-rate", "50"])
                .args(["--stream-length", "3", "--status-interval", "0"]),
        );
        let out = finish(child, LIMIT);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        out
    })
}

/// Scrapes every 250 ms while the clients run, then until both streams
/// have ended and two scrapes in a row agree (nothing more comes in).
fn scrapes_of_a_run(url: &str, clients: Vec<std::thread::JoinHandle<Output>>) -> Vec<Scrape> {
    let start = Instant::now();
    let mut scrapes = vec![scrape(url)];
    while clients.iter().any(|c| !c.is_finished()) {
        assert!(start.elapsed() < LIMIT, "clients ran past {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(250));
        scrapes.push(scrape(url));
    }
    for c in clients {
        c.join().unwrap();
    }
    loop {
        assert!(start.elapsed() < LIMIT, "streams never ended");
        std::thread::sleep(Duration::from_millis(100));
        let s = scrape(url);
        let settled = s.sum("mediastream_streams_ended_total") == 2.0 && s.running() == 0.0;
        let same = scrapes.last() == Some(&s);
        scrapes.push(s);
        if settled && same {
            return scrapes;
        }
    }
}

/// No counter goes down from one scrape to the next; the ones that count
/// data rise between two scrapes taken while both streams ran.
fn assert_counters_rise(scrapes: &[Scrape]) {
    for pair in scrapes.windows(2) {
        for (k, v) in pair[0].counters() {
            let next = pair[1].samples.get(k).copied().unwrap_or(-1.0);
            assert!(next >= *v, "{k} went from {v} to {next}");
        }
    }
    let running: Vec<&Scrape> = scrapes.iter().filter(|s| s.running() == 2.0).collect();
    assert!(
        running.len() >= 2,
        "{} scrapes saw both streams run",
        running.len()
    );
    let (first, last) = (running[0], running[running.len() - 1]);
    for key in [
        "mediastream_frames_completed_total{direction=receive}",
        "mediastream_received_bytes_total{direction=receive}",
        "mediastream_sent_bytes_total{direction=send}",
        "mediastream_sent_datagrams_total{direction=send}",
    ] {
        let (a, b) = (first.get(key), last.get(key));
        say(&format!("during the run: {key} {a} -> {b}"));
        assert!(
            b > a,
            "{key} did not rise while the streams ran: {a} -> {b}"
        );
    }
}

/// The last scrape against the document: totals, stream states, the
/// request counters and the histograms' counts.
fn assert_matches_the_document(s: &Scrape, doc: &Value) {
    let totals = &doc["totals"];
    for (metric, key) in [
        ("mediastream_frames_completed_total", "frames_completed"),
        ("mediastream_frames_dropped_total", "frames_dropped"),
        ("mediastream_frames_repeated_total", "frames_repeated"),
        ("mediastream_frames_error_total", "frames_error"),
        ("mediastream_received_bytes_total", "bytes_received"),
        ("mediastream_received_datagrams_total", "datagrams_received"),
        ("mediastream_sent_bytes_total", "bytes_sent"),
        ("mediastream_sent_datagrams_total", "datagrams_sent"),
    ] {
        let json = totals[key].as_f64().unwrap();
        say(&format!(
            "after the run: {metric} {} = totals.{key} {json}",
            s.sum(metric)
        ));
        assert_eq!(s.sum(metric), json, "{metric} vs totals.{key}");
    }
    let completed = s.sum("mediastream_streams_ended_total") - failed(s);
    assert_eq!(completed, totals["succeeded"].as_f64().unwrap());
    let server = doc["server"].as_object().unwrap();
    for (name, v) in server {
        let outcome = format!("mediastream_requests_total{{outcome={name}}}");
        let own = format!("mediastream_server_{name}_total{{}}");
        let scraped = s.samples.get(&outcome).or(s.samples.get(&own));
        assert_eq!(scraped, Some(&v.as_f64().unwrap()), "server.{name}");
    }
    let streams = doc["streams"].as_array().unwrap();
    let sum = |f: &dyn Fn(&Value) -> Option<f64>| streams.iter().filter_map(f).sum::<f64>();
    let late = sum(&|st| st["metrics"]["playout"]["late_frames"].as_f64());
    assert_eq!(s.sum("mediastream_frames_late_total"), late);
    let delays = sum(&|st| st["metrics"]["frame_delay_ms"]["last"]["count"].as_f64());
    assert!(delays > 0.0);
    assert_eq!(s.get("mediastream_frame_delay_seconds_count{}"), delays);
    let sent = sum(&|st| st["lateness_us"]["frames"].as_f64());
    let lateness = s.get("mediastream_send_lateness_seconds_count{}");
    assert!(
        lateness > 0.0 && lateness <= sent,
        "{lateness} of {sent} frames"
    );
}

fn failed(s: &Scrape) -> f64 {
    ["send", "receive"]
        .iter()
        .map(|d| {
            s.get(&format!(
                "mediastream_streams_ended_total{{direction={d},state=failed}}"
            ))
        })
        .sum()
}

#[test]
fn metrics_are_scraped_during_a_run_and_match_the_document() {
    if let Some(why) = missing_python() {
        say(&format!("skipped: {why}"));
        return;
    }
    let doc = std::env::temp_dir().join(format!("mediastream-metrics-{}.json", std::process::id()));
    let (server, addr, printed) = common::start_listening(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--status-interval",
        "0",
        "--time-limit",
        "50",
        "--json",
        doc.to_str().unwrap(),
    ]);
    let url = printed
        .split("metrics at ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no metrics address: {printed}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let clients = vec![client(addr.clone(), "send"), client(addr, "receive")];
    let scrapes = scrapes_of_a_run(&url, clients);
    let last = scrapes.last().unwrap().clone();
    say(&format!(
        "{} scrapes; types {:?}",
        scrapes.len(),
        last.types
    ));
    assert_eq!(last.types["mediastream_frames_completed"], "counter");
    assert_eq!(last.types["mediastream_streams_running"], "gauge");
    assert_eq!(last.types["mediastream_frame_delay_seconds"], "histogram");
    assert_counters_rise(&scrapes);
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = finish(server, LIMIT);
    assert!(out.status.code().is_some(), "{out:?}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&doc).unwrap()).unwrap();
    assert_eq!(doc["interrupted"], true);
    assert_matches_the_document(&last, &doc);
}

/// A bad `--metrics-listen` is a usage error; a port that cannot be
/// bound fails the run before the server's own sockets are opened.
#[test]
fn bad_metrics_addresses_exit_2_and_a_taken_port_exits_1() {
    let run = |addr: &str| {
        let child = common::spawn_piped(
            bin()
                .args(["server", "--listen", "127.0.0.1:0", "--time-limit", "5"])
                .args(["--metrics-listen", addr]),
        );
        finish(child, LIMIT)
    };
    for bad in ["localhost", "127.0.0.1", "70000", ""] {
        let out = run(bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert!(err.contains("--metrics-listen"), "{bad:?}: {err}");
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run(&port);
    let (text, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{text}{err}");
    assert!(
        err.contains(&format!("--metrics-listen 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(!text.contains("listening on"), "{text}");
}
