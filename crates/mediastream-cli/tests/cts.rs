//! `mediastream cts` (ctsTraffic's command line) end to end, on 127.0.0.1:
//! against itself in both directions and against our regular server and
//! client; a binary named ctsTraffic; ctsTraffic's exit codes. Every
//! child process has a time limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod common;
use common::{bin, finish};

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(40);

fn run(cmd: &mut Command) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child, LIMIT)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Starts a server from these arguments on a free loopback port; the
/// child and its port.
fn start(args: &[&str]) -> (Child, String) {
    let (child, addr, _) = common::start_listening(args);
    let port = addr
        .strip_prefix("127.0.0.1:")
        .unwrap_or_else(|| panic!("a loopback address: {addr}"))
        .to_owned();
    (child, port)
}

const STREAM: [&str; 4] = [
    "-Protocol:UDP",
    "-BitsPerSecond:4000000",
    "-FrameRate:50",
    "-StreamLength:2",
];

fn cts_server(exit_limit: &str) -> (Child, String) {
    let mut args = vec!["cts", "-Listen:127.0.0.1", "-Port:0", "-StatusUpdate:1000"];
    args.extend(STREAM);
    let limit = format!("-ServerExitLimit:{exit_limit}");
    args.extend([limit.as_str(), "-TimeLimit:30000"]);
    start(&args)
}

fn cts_client(port: &str, extra: &[&str]) -> Output {
    let port = format!("-pOrT:{port}");
    let mut args = vec!["cts", "-target:127.0.0.1", &port, "-Iterations:1"];
    args.extend(STREAM);
    args.extend(extra);
    run(bin().args(&args))
}

/// A file in ctsTraffic's encoding (byte order mark, UTF-16LE, CRLF) as
/// text.
fn utf16(path: &str) -> String {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "{path}: byte order mark");
    let units: Vec<u16> = bytes[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).unwrap();
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "{path}: CRLF"
    );
    text
}

fn assert_ok(out: &Output, what: &str) {
    assert_eq!(out.status.code(), Some(0), "{what}: {}", text(out));
    assert!(
        text(out).contains("UDP connection succeeded"),
        "{what}: {}",
        text(out)
    );
}

#[test]
fn cts_server_and_cts_client_stream_both_ways() {
    let (server, port) = cts_server("2");
    let dir = std::env::temp_dir().join(format!("mediastream-cts-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let options = [
        format!("-StatusFilename:{}", file("status.csv")),
        format!("-ConnectionFilename:{}", file("connections.csv")),
        format!("-ErrorFilename:{}", file("errors.log")),
        format!("-JitterFilename:{}", file("jitter.csv")),
    ];
    let mut options: Vec<&str> = options.iter().map(String::as_str).collect();
    options.push("-StatusUpdate:500");
    let recv = cts_client(&port, &options);
    assert_ok(&recv, "plain START, the server sends");
    let shown = text(&recv);
    assert!(shown.contains("Completed [100]"), "{shown}");
    // ctsTraffic's console: the legend, then the fixed-width table.
    assert!(
        shown.contains("Legend:\n* TimeSlice - (seconds) cumulative runtime\n"),
        "{shown}"
    );
    let header =
        " TimeSlice       Bits/Sec    Streams   Completed   Dropped   Repeated    Errors \n";
    let table = shown.split(header).nth(1).expect("the table header");
    let first = table.lines().next().unwrap();
    assert_eq!(first.len(), 79, "{first:?}");
    assert_eq!(first.split_whitespace().count(), 7, "{first:?}");
    let status = utf16(&file("status.csv"));
    assert!(
        status.starts_with("TimeSlice,Bits/Sec,Streams,Completed,Dropped,Repeated,Errors\r\n"),
        "{status}"
    );
    let connections = utf16(&file("connections.csv"));
    let rows: Vec<&str> = connections.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{connections}");
    assert!(rows[0].contains(",100,0,0,0,Succeeded,"), "{connections}");
    assert_eq!(utf16(&file("errors.log")), "");
    assert_eq!(utf16(&file("jitter.csv")).lines().count(), 101);
    let _ = std::fs::remove_dir_all(&dir);
    let send = cts_client(&port, &["-Direction:send"]);
    assert_ok(&send, "ours: JOIN, the client sends");
    let out = finish(server, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(text(&out).matches("UDP connection succeeded").count(), 2);
}

#[test]
fn cts_client_against_our_server_and_our_client_against_cts_server() {
    let (server, addr_port) = start(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--bits-per-second",
        "4M",
        "--frame-rate",
        "50",
        "--stream-length",
        "2",
        "--server-exit-limit",
        "1",
        "--status-interval",
        "0",
    ]);
    assert_ok(&cts_client(&addr_port, &[]), "cts client, our server");
    assert_eq!(finish(server, LIMIT).status.code(), Some(0));

    let (server, port) = cts_server("2");
    let target = format!("127.0.0.1:{port}");
    for direction in ["recv", "send"] {
        let out = run(bin().args([
            "client",
            "--target",
            &target,
            "--direction",
            direction,
            "--bits-per-second",
            "4M",
            "--frame-rate",
            "50",
            "--stream-length",
            "2",
        ]));
        assert_ok(&out, direction);
    }
    assert_eq!(finish(server, LIMIT).status.code(), Some(0));
}

#[test]
fn the_exit_code_counts_failed_connections() {
    // A socket that never answers: every connection fails at -TimeLimit.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let out = cts_client(&port, &["-Connections:3", "-TimeLimit:1500"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

#[test]
fn refused_options_exit_2_naming_them() {
    let out = run(bin().args(["cts", "-Target:127.0.0.1", "-Protocol:udp", "-Pattern:push"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("-Pattern is not supported: TCP"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_binary_named_ctstraffic_takes_ctstraffic_arguments() {
    let dir = std::env::temp_dir().join(format!("mediastream-cts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name: PathBuf = dir.join(format!("ctsTraffic{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(env!("CARGO_BIN_EXE_mediastream"), &name).unwrap();
    let out = run(Command::new(&name).arg("-Help"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("-BitsPerSecond:N"), "{}", text(&out));
    let out = run(Command::new(&name).args(["-Listen:*", "-Protocol:tcp"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("-Protocol:tcp is not supported"),
        "{}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
