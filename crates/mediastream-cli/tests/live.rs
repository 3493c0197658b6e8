//! Live output while a run goes on: status rows whose Completed column
//! adds up to the run's final count at every end (a receiving client, a
//! receiving server, loopback), and `--json-stream` read line by line
//! while the process still runs. Loopback only; every process has a
//! time limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod common;
use common::{bin, finish};

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Output};
use std::sync::mpsc;
use std::time::Duration;

use common::read_json as json;
use serde_json::Value;

fn temp(name: &str) -> PathBuf {
    common::temp_in("live", name)
}
fn run(args: &[&str]) -> Output {
    common::run_bin(args, LIMIT)
}

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
fn one_stream_server(doc: &Path, interval: &str, extra: &[&str]) -> (Child, String) {
    streams_server(doc, interval, "1", extra)
}

/// A server that exits after `streams` streams.
fn streams_server(doc: &Path, interval: &str, streams: &str, extra: &[&str]) -> (Child, String) {
    let mut args = vec![
        "server",
        "--listen",
        "127.0.0.1:0",
        "--status-interval",
        interval,
        "--server-exit-limit",
        streams,
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

/// What a process wrote to `--json-stream -`, read line by line while
/// it ran: each line, and whether the process was still running when the
/// line had been read.
struct Followed {
    lines: Vec<(Value, bool)>,
    output: Output,
}

/// Reads `child`'s stdout a line at a time as it comes (a thread reads,
/// this one looks at the process after each line), until it ends; kills
/// it past `LIMIT`.
fn follow(mut child: Child) -> Followed {
    let stdout: ChildStdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + LIMIT;
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                let running = child.try_wait().unwrap().is_none();
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
                lines.push((value, running));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("process ran past {LIMIT:?}");
        }
    }
    reader.join().unwrap();
    Followed {
        lines,
        output: finish(child, LIMIT),
    }
}

/// The counts every interval object carries, as the document names them.
const COUNTS: [&str; 6] = [
    "frames_completed",
    "frames_dropped",
    "frames_repeated",
    "frames_error",
    "bytes_received",
    "bytes_sent",
];

/// The key that ties a stream of the document to its entries in the
/// interval objects: the connection id, or for a client's streams (whose
/// running entries do not know it yet) the stream's own address.
fn stream_key(command: &str, s: &Value) -> String {
    let key = if command == "client" {
        "local"
    } else {
        "connection_id"
    };
    s[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} of {s}"))
        .to_owned()
}

/// Checks a followed `--json-stream`: interval lines came while the
/// process ran, the document came last, and the intervals add up to its
/// totals and to each stream's counts. The document, and how many
/// interval lines were read before the process ended.
fn check_stream(followed: &Followed, command: &str) -> (Value, usize) {
    let lines = &followed.lines;
    let err = String::from_utf8_lossy(&followed.output.stderr);
    assert_eq!(followed.output.status.code(), Some(0), "{err}");
    let (doc, intervals) = lines.split_last().expect("at least the document");
    let doc = &doc.0;
    assert_eq!(doc["schema"], 1, "the document comes last: {doc}");
    assert_eq!(doc["command"], command);
    assert!(doc.get("event").is_none());
    assert!(intervals.iter().all(|(l, _)| l["event"] == "interval"));
    // Read while the process ran, and written while its streams ran.
    let live = intervals
        .iter()
        .filter(|(l, running)| *running && l["streams_running"].as_u64() > Some(0))
        .count();
    assert!(
        live >= 1,
        "no interval line mid-run before the process ended: {err}"
    );
    assert!(
        live >= 1,
        "no interval line before the process ended: {err}"
    );
    let mut by_stream = std::collections::HashMap::<String, Vec<u64>>::new();
    for (line, _) in intervals {
        assert_eq!(line["command"], command);
        for s in line["streams"].as_array().unwrap() {
            let sums = by_stream
                .entry(stream_key(command, s))
                .or_insert_with(|| vec![0; COUNTS.len()]);
            for (sum, name) in sums.iter_mut().zip(COUNTS) {
                *sum += s["interval"][name].as_u64().unwrap();
            }
        }
    }
    for (i, name) in COUNTS.iter().enumerate() {
        let total: u64 = intervals
            .iter()
            .map(|(l, _)| l["interval"][name].as_u64().unwrap())
            .sum();
        assert_eq!(Some(total), doc["totals"][name].as_u64(), "{name}");
        let last = &intervals.last().unwrap().0;
        assert_eq!(last["cumulative"][name], doc["totals"][name], "{name}");
        let mut expected = std::collections::HashMap::<String, u64>::new();
        for s in doc["streams"].as_array().unwrap() {
            *expected.entry(stream_key(command, s)).or_default() += s[name].as_u64().unwrap();
        }
        for (key, value) in expected {
            assert_eq!(by_stream[&key][i], value, "{name} of {key}");
        }
    }
    // Counted as they complete: frames show up in more than one interval.
    let counting = intervals
        .iter()
        .filter(|(l, _)| l["interval"]["frames_completed"].as_u64() > Some(0))
        .count();
    assert!(counting >= 2, "frames in {counting} intervals");
    let _ = writeln!(
        std::io::stderr(),
        "{command}: {} interval lines, {live} read mid-run before the process ended, frames in {counting}; totals {}",
        intervals.len(),
        doc["totals"]
    );
    (doc.clone(), live)
}

fn spawn(args: &[&str]) -> Child {
    common::spawn_piped(bin().args(args))
}

/// A receiving client's `--json-stream -`, read as it runs: the
/// document last is the one `--json` writes.
#[test]
fn json_stream_of_a_receiving_client_is_read_while_it_runs() {
    let server_doc = temp("stream-client-server.json");
    let (server, addr) = streams_server(&server_doc, "0", "2", &[]);
    let doc_file = temp("stream-client.json");
    let mut args = vec![
        "client",
        "--target",
        &addr,
        "--connections",
        "2",
        "--direction",
        "recv",
        "--status-interval",
        "200",
        "--json-stream",
        "-",
        "--json",
        doc_file.to_str().unwrap(),
    ];
    args.extend(STREAM);
    let followed = follow(spawn(&args));
    let _ = finish(server, LIMIT);
    let (doc, live) = check_stream(&followed, "client");
    assert!(live >= 1);
    assert_eq!(doc["streams"][0]["role"], "receiver");
    // One entry per stream, not per target: two streams to one target.
    let entries: std::collections::HashSet<String> = followed.lines[..followed.lines.len() - 1]
        .iter()
        .flat_map(|(l, _)| l["streams"].as_array().unwrap().clone())
        .map(|s| stream_key("client", &s))
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(doc["totals"]["frames_completed"].as_u64() > Some(0));
    // The last line is the --json document (but for its layout).
    assert_eq!(doc, json(&doc_file));
    let text = String::from_utf8_lossy(&followed.output.stderr);
    assert!(
        text.contains("TimeSlice,Bits/Sec"),
        "text on stderr: {text}"
    );
}

/// A server receiving (a JOIN) writes `--json-stream -` as it runs.
#[test]
fn json_stream_of_a_receiving_server_is_read_while_it_runs() {
    let mut server = spawn(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--status-interval",
        "200",
        "--server-exit-limit",
        "1",
        "--json-stream",
        "-",
    ]);
    // The text is on stderr: where it listens, then the rest, drained.
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no address");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split([' ', ',']).next().unwrap().to_owned();
        }
    };
    let drain = std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let client = std::thread::spawn(move || client(&addr, "send", &[]));
    let followed = follow(server);
    client.join().unwrap();
    drain.join().unwrap().unwrap();
    let (doc, _) = check_stream(&followed, "server");
    assert_eq!(doc["streams"][0]["role"], "receiver");
    assert!(doc["server"]["joins"].as_u64() >= Some(1), "{doc}");
}

/// Loopback's `--json-stream -`: its entries are the clients' streams,
/// seen through its server while they run.
#[test]
fn json_stream_of_loopback_is_read_while_it_runs() {
    let mut args = vec!["loopback", "--status-interval", "200", "--json-stream", "-"];
    args.extend(STREAM);
    let followed = follow(spawn(&args));
    let (doc, _) = check_stream(&followed, "loopback");
    assert_eq!(doc["streams"].as_array().unwrap().len(), 2);
}

/// `--json-stream` cannot share stdout or a file with `--json`, and a
/// place it cannot write is refused before any traffic: exit 2 naming it.
#[test]
fn json_stream_clashes_and_unwritable_places_exit_2() {
    let doc = temp("clash.json");
    let doc = doc.to_str().unwrap();
    let missing = temp("no/such/dir/stream.jsonl");
    let missing = missing.to_str().unwrap();
    let cases: [&[&str]; 4] = [
        &["loopback", "--json", "-", "--json-stream", "-"],
        &["loopback", "--json", doc, "--json-stream", doc],
        &["loopback", "--json-stream", missing],
        &[
            "server",
            "--listen",
            "127.0.0.1:0",
            "--json-stream",
            missing,
        ],
    ];
    for args in cases {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--json-stream"), "{args:?}: {err}");
    }
    let out = run(&[
        "client",
        "--target",
        "127.0.0.1:9",
        "--json-stream",
        missing,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let help = run(&["client", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--json-stream"), "{help}");
}
