//! Live output while a run goes on: status rows whose Completed column
//! adds up to the run's final count at every end (a receiving client, a
//! receiving server, loopback), and `--json-stream` read line by line
//! while the process still runs. Loopback only; every process has a
//! time limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod common;
use common::{bin, finish};

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// 100 frames in 2 s: short, and long enough for several status rows.
const STREAM: [&str; 6] = [
    "--bits-per-second",
    "800k",
    "--frame-rate",
    "50",
    "--stream-length",
    "2",
];

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mediastream-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn json(path: &PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run(args: &[&str]) -> Output {
    let child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child, LIMIT)
}

/// The status rows (CSV after ctsTraffic's header) in `text`: each row's
/// seven columns.
fn rows(text: &str) -> Vec<Vec<f64>> {
    text.lines()
        .filter(|l| l.split(',').count() == 7 && !l.starts_with("TimeSlice"))
        .filter_map(|l| l.split(',').map(|c| c.parse().ok()).collect())
        .collect()
}

/// The sum of one column (3: Completed) over the rows.
fn column(rows: &[Vec<f64>], index: usize) -> u64 {
    rows.iter().map(|r| r[index] as u64).sum()
}

/// Rows are live: frames are counted as they complete, spread over the
/// rows of the stream's 2 s, not all in the one row after it ended.
fn assert_live(rows: &[Vec<f64>], text: &str) {
    let counting = rows.iter().filter(|r| r[3] > 0.0).count();
    assert!(counting >= 2, "{counting} rows count frames: {text}");
}

/// A server on a free loopback port that exits after one stream, its
/// status rows every `interval` ms, its document in `doc`; `extra` added.
fn one_stream_server(doc: &PathBuf, interval: &str, extra: &[&str]) -> (Child, String) {
    let mut args = vec![
        "server",
        "--listen",
        "127.0.0.1:0",
        "--status-interval",
        interval,
        "--server-exit-limit",
        "1",
        "--json",
        doc.to_str().unwrap(),
    ];
    args.extend(extra);
    let (child, addr, _) = common::start_listening(&args);
    (child, addr)
}

/// A client streaming to `addr` in `direction`, rows every 100 ms.
fn client(addr: &str, direction: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "client",
        "--target",
        addr,
        "--direction",
        direction,
        "--status-interval",
        "100",
    ];
    args.extend(STREAM);
    args.extend(extra);
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The server receives (the client sends: a JOIN): its status rows count
/// the frames it completes, and add up to its document's count. Before
/// the fix every row of a receiving server said 0.
#[test]
fn a_receiving_servers_rows_add_up_to_its_completed_frames() {
    let doc = temp("rows-server.json");
    let (server, addr) = one_stream_server(&doc, "100", &[]);
    let _ = client(&addr, "send", &[]);
    let out = finish(server, LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let doc = json(&doc);
    let completed = doc["totals"]["frames_completed"].as_u64().unwrap();
    assert_eq!(doc["streams"][0]["role"], "receiver");
    assert!(completed > 0, "{doc}");
    let rows = rows(&text);
    assert_live(&rows, &text);
    assert_eq!(column(&rows, 3), completed, "Completed column: {text}");
}

/// Loopback's rows count both directions' frames, as its document does.
#[test]
fn loopbacks_rows_add_up_to_its_completed_frames() {
    let doc = temp("rows-loopback.json");
    let mut args = vec!["loopback", "--status-interval", "100"];
    args.extend(STREAM);
    args.extend(["--json", doc.to_str().unwrap()]);
    let out = run(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let doc = json(&doc);
    let completed = doc["totals"]["frames_completed"].as_u64().unwrap();
    assert_eq!(doc["streams"].as_array().unwrap().len(), 2);
    assert!(completed > 0, "{doc}");
    let rows = rows(&text);
    assert_live(&rows, &text);
    assert_eq!(column(&rows, 3), completed, "{text}");
}

/// A receiving client's rows add up to its document's count.
#[test]
fn a_receiving_clients_rows_add_up_to_its_completed_frames() {
    let server_doc = temp("rows-client-server.json");
    let (server, addr) = one_stream_server(&server_doc, "0", &[]);
    let doc = temp("rows-client.json");
    let out = client(&addr, "recv", &["--json", doc.to_str().unwrap()]);
    let _ = finish(server, LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    let doc = json(&doc);
    let completed = doc["totals"]["frames_completed"].as_u64().unwrap();
    assert!(completed > 0, "{doc}");
    let rows = rows(&text);
    assert_live(&rows, &text);
    assert_eq!(column(&rows, 3), completed, "{text}");
}
