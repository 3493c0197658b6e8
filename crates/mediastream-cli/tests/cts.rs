//! `mediastream cts` (ctsTraffic's command line) end to end, on 127.0.0.1:
//! against itself in both directions and against our regular server and
//! client; a binary named ctsTraffic; ctsTraffic's exit codes. Every
//! child process has a time limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod common;
use common::{bin, finish};

use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(40);

fn run(cmd: &mut Command) -> Output {
    finish(common::spawn_piped(cmd), LIMIT)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Starts a server from these arguments on a free loopback port; the
/// child, its port, and what it printed up to saying where it listens.
fn start(args: &[&str]) -> (Child, String, String) {
    let (child, addr, printed) = common::start_listening(args);
    let port = addr
        .strip_prefix("127.0.0.1:")
        .unwrap_or_else(|| panic!("a loopback address: {addr}"))
        .to_owned();
    (child, port, printed)
}

const STREAM: [&str; 4] = [
    "-Protocol:UDP",
    "-BitsPerSecond:4000000",
    "-FrameRate:50",
    "-StreamLength:2",
];

fn cts_server(exit_limit: &str, extra: &[&str]) -> (Child, String, String) {
    let mut args = vec!["cts", "-Listen:127.0.0.1", "-Port:0", "-StatusUpdate:1000"];
    args.extend(STREAM);
    let limit = format!("-ServerExitLimit:{exit_limit}");
    args.extend([limit.as_str(), "-TimeLimit:30000"]);
    args.extend(extra);
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

/// The connection lines in `shown`, each checked to be ctsTraffic's for
/// a stream with the server on `port`, all 100 frames completed.
fn connection_lines<'a>(shown: &'a str, port: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains("] UDP connection "))
        .collect();
    for line in &lines {
        let (time, rest) = line[1..]
            .split_once("] UDP connection succeeded : [127.0.0.1:")
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(
            time.split_once('.').map(|(_, ms)| ms.len()),
            Some(3),
            "{line}"
        );
        let (_, rest) = rest
            .split_once(&format!(" - 127.0.0.1:{port}] ["))
            .unwrap_or_else(|| panic!("{line}"));
        let (id, rest) = rest.split_once("] : BitsPerSecond [").unwrap();
        assert_eq!(id.len(), 36, "a GUID: {line}");
        let (bps, rest) = rest.split_once(']').unwrap();
        assert!(bps.parse::<u64>().is_ok(), "{line}");
        assert!(
            rest.starts_with("  Completed [100]  Dropped [0]  Repeated [0]  Errors [0]"),
            "{line}"
        );
    }
    lines
}

#[test]
fn cts_server_and_cts_client_stream_both_ways() {
    let (server, port, _) = cts_server("3", &[]);
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
    options.extend(["-StatusUpdate:500", "-ConsoleVerbosity:0"]);
    let recv = cts_client(&port, &options);
    // Level 0: ctsTraffic's settings and summary, nothing in between.
    let shown = text(&recv);
    assert_eq!(recv.status.code(), Some(0), "{shown}");
    assert!(shown.starts_with("  Configured Settings  \n"), "{shown}");
    assert!(
        shown.contains("  Total Successful Frames : 100 (100.000000)\n"),
        "{shown}"
    );
    for absent in [
        "Legend:",
        " TimeSlice ",
        "UDP connection",
        "mediastream client:",
    ] {
        assert!(
            !shown.contains(absent),
            "level 0 prints no {absent:?}: {shown}"
        );
    }
    // ... while the status file still gets its rows.
    let status = utf16(&file("status.csv"));
    assert!(
        status.starts_with("TimeSlice,Bits/Sec,Streams,Completed,Dropped,Repeated,Errors\r\n"),
        "{status}"
    );
    assert!(status.lines().count() >= 4, "rows every 500 ms: {status}");
    let connections = utf16(&file("connections.csv"));
    let rows: Vec<&str> = connections.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{connections}");
    assert!(rows[0].contains(",100,0,0,0,Succeeded,"), "{connections}");
    assert_eq!(utf16(&file("errors.log")), "");
    assert_eq!(utf16(&file("jitter.csv")).lines().count(), 101);
    let _ = std::fs::remove_dir_all(&dir);

    // Level 4, ctsTraffic's default: its connection line, no status rows.
    let recv = cts_client(&port, &[]);
    assert_ok(&recv, "plain START, the server sends");
    let shown = text(&recv);
    let lines = connection_lines(&shown, &port);
    assert_eq!(lines.len(), 1, "{shown}");
    assert!(
        lines[0].ends_with("Errors [0]"),
        "ctsTraffic's fields only: {shown}"
    );
    assert!(!shown.contains("Legend:"), "{shown}");

    // Level 6: ours too, after ctsTraffic's fields, and our own lines.
    let send = cts_client(&port, &["-Direction:send", "-ConsoleVerbosity:6"]);
    assert_ok(&send, "ours: JOIN, the client sends");
    let shown = text(&send);
    let lines = connection_lines(&shown, &port);
    assert_eq!(lines.len(), 1, "{shown}");
    assert!(lines[0].contains("Errors [0]  Jitter ["), "{shown}");
    assert!(lines[0].contains("  SendLatenessP99 ["), "{shown}");
    assert!(shown.contains("\nmediastream client: "), "{shown}");
    assert!(shown.contains("\n TimeSlice       Bits/Sec"), "{shown}");
    assert!(
        shown.contains("IoPattern: MediaStream <UDP controlled stream from client to server>"),
        "{shown}"
    );

    let out = finish(server, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(text(&out).matches("UDP connection succeeded").count(), 3);
}

/// The column each value of a status row ends at, as ctsTraffic's
/// header places them.
const ROW_ENDS: [usize; 7] = [10, 25, 36, 48, 58, 69, 79];

/// Whether `line` is a row of ctsTraffic's console table: 79 columns,
/// each value right-justified to its column end, the TimeSlice with 3
/// decimals and the rest whole numbers.
fn is_table_row(line: &str) -> bool {
    if line.len() != 79 {
        return false;
    }
    let mut from = 0;
    ROW_ENDS.iter().enumerate().all(|(i, &end)| {
        let field = &line[from..end];
        from = end;
        let value = field.trim_start();
        let number = if i == 0 {
            value.split_once('.').is_some_and(|(s, ms)| {
                s.parse::<u64>().is_ok() && ms.len() == 3 && ms.parse::<u64>().is_ok()
            })
        } else {
            value.parse::<u64>().is_ok()
        };
        number && field.len() > value.len()
    })
}

/// `shown` with what varies from run to run made constant: each run of
/// status rows becomes `<rows>` (counted in the second value), the total
/// time `T`.
fn normalize(shown: &str) -> (String, usize) {
    let mut out = Vec::new();
    let mut rows = 0;
    for line in shown.lines() {
        if is_table_row(line) {
            rows += 1;
            if out.last() != Some(&"<rows>".to_owned()) {
                out.push("<rows>".to_owned());
            }
        } else if let Some(ms) = line.strip_prefix("  Total Time : ") {
            let ms = ms.strip_suffix(" ms.").unwrap_or_else(|| panic!("{line}"));
            assert!(ms.parse::<u64>().unwrap() >= 2000, "{line}");
            out.push("  Total Time : T ms.".to_owned());
        } else {
            out.push(line.to_owned());
        }
    }
    (out.join("\n") + "\n", rows)
}

const LEGEND_AND_HEADER: &str = "Legend:
* TimeSlice - (seconds) cumulative runtime
* Streams - count of current number of UDP streams
* Bits/Sec - bits streamed within the TimeSlice period
* Completed Frames - count of frames successfully processed within the TimeSlice
* Dropped Frames - count of frames that were never seen within the TimeSlice
* Repeated Frames - count of frames received multiple times within the TimeSlice
* Stream Errors - count of invalid frames or buffers within the TimeSlice


 TimeSlice       Bits/Sec    Streams   Completed   Dropped   Repeated    Errors 

";

/// ctsTraffic's whole console at -ConsoleVerbosity:1, both ends, on
/// loopback: the Configured Settings block, the legend, the table (each
/// row's columns, widths and number formats), and the summary with its
/// number formats; no connection lines. Only the rows' values and the
/// total time vary, and are checked for their form.
#[test]
fn the_console_at_verbosity_1_is_ctstraffics() {
    let (server, port, head) = cts_server("1", &["-ConsoleVerbosity:1"]);
    let client = cts_client(&port, &["-ConsoleVerbosity:1", "-StatusUpdate:500"]);
    assert_eq!(client.status.code(), Some(0), "{}", text(&client));
    let stream = "\tBuffer used for each IO request: 10000 [0x2710] bytes
\tTotal transfer per connection: 1000000 bytes
\t\tUDP Stream BitsPerSecond: 4000000 bits per second
\t\tUDP Stream FrameRate: 50 frames per second
";
    let settings = |io: &str| {
        format!(
            "  Configured Settings  
-----------------------
\tProtocol: UDP
\tOptions: SO_RCVBUF(4194304) SO_SNDBUF(4194304)
\tIO function: MediaStream {io}
\tIoPattern: MediaStream <UDP controlled stream from server to client>
"
        )
    };
    let summary = "

  Historic Connection Statistics (all connections over the complete lifetime)  
-------------------------------------------------------------------------------
  SuccessfulConnections [1]   NetworkErrors [0]   ProtocolErrors [0]
";
    let want_client = format!(
        "{}\tPrePostSends: 1
\tLevel of verification: Connections & Data
\tPort: {port}
{stream}\t\tUDP Stream BufferDepth: 1 seconds
\t\tUDP Stream StreamLength: 2 seconds (100 frames)
\t\tUDP Stream FrameSize: 10000 bytes
\tConnecting out to addresses:
\t\t127.0.0.1:{port}
\tBinding to local addresses for outgoing connections:
\t\t0.0.0.0
\tConnection limit (maximum established connections): 1 [0x1]
\tConnection throttling rate (maximum pended connection attempts): 1000 [0x3e8]
\tTotal outgoing connections before exit (iterations * concurrent connections) : 1 [0x1]

{LEGEND_AND_HEADER}<rows>
{summary}
  Total Bytes Recv : 1000000
  Total Successful Frames : 100 (100.000000)
  Total Dropped Frames : 0 (0.000000)
  Total Duplicate Frames : 0 (0.000000)
  Total Error Frames : 0 (0.000000)
  Total Time : T ms.
",
        settings("Client")
    );
    let shown = String::from_utf8(client.stdout).unwrap();
    let (got, rows) = normalize(&shown);
    assert_eq!(got, want_client, "{shown}");
    assert!(rows >= 3, "a row every 500 ms of a 2 s stream: {shown}");

    let out = finish(server, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = head + &String::from_utf8(out.stdout).unwrap();
    let want_server = format!(
        "{}\tPrePostRecvs: 2
\tPrePostSends: 1
\tLevel of verification: Connections & Data
\tPort: 0
{stream}\t\tUDP Stream StreamLength: 2 seconds (100 frames)
\t\tUDP Stream FrameSize: 10000 bytes
\tAccepting connections on addresses:
\t\t127.0.0.1:{port}
\tServer-accepted connections before exit : 1 [0x1]

{LEGEND_AND_HEADER}<rows>
{summary}  Total Time : T ms.
",
        settings("Server")
    );
    let (got, rows) = normalize(&shown);
    assert_eq!(got, want_server, "{shown}");
    assert!(rows >= 1, "{shown}");
}

#[test]
fn cts_client_against_our_server_and_our_client_against_cts_server() {
    let (server, addr_port, _) = start(&[
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

    let (server, port, _) = cts_server("2", &[]);
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
    // A socket that never answers: every connection fails.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let out = cts_client(&port, &["-Connections:3", "-TimeLimit:1500"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    // Level 4: a connection line and an error line (stderr) for each.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout
            .matches("] UDP connection failed with the error no answer from ")
            .count(),
        3,
        "{stdout}"
    );
    assert_eq!(
        stderr.matches("] UDP connection failed : [").count(),
        3,
        "{stderr}"
    );
    assert!(
        stdout.contains("  SuccessfulConnections [0]   NetworkErrors [3]   ProtocolErrors [0]\n"),
        "{stdout}"
    );
    // A stream cut by -TimeLimit fails, and ctsTraffic's notice comes
    // before the summary.
    let (server, port, _) = cts_server("1", &[]);
    let out = cts_client(&port, &["-TimeLimit:1000"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "\n\n  **** Time-limit of 1000 reached ****\n\n\n  Historic Connection Statistics"
        ),
        "{stdout}"
    );
    finish(server, LIMIT);
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
