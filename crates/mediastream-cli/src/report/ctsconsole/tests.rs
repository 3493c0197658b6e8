#![allow(clippy::unwrap_used)]
use super::*;

use crate::report::ctsfiles::tests::result;
use mediastream_core::pattern::StreamError;

#[test]
fn each_verbosity_prints_what_ctstraffics_does() {
    // (level, status rows, connection lines, errors, ours)
    let levels = [
        (0, false, false, false, false),
        (1, true, false, false, false),
        (2, true, false, true, false),
        (3, false, true, false, false),
        (4, false, true, true, false),
        (5, true, true, true, false),
        (6, true, true, true, true),
    ];
    for (level, status, connections, errors, ours) in levels {
        let c = CtsConsole::new(level, false, None);
        assert_eq!(c.prints_status(), status, "level {level}");
        assert_eq!(c.prints_connections(), connections, "level {level}");
        assert_eq!(c.prints_errors(), errors, "level {level}");
        assert_eq!(c.prints_ours(), ours, "level {level}");
    }
}

#[test]
fn the_header_comes_again_every_40_rows() {
    let mut c = CtsConsole::new(1, false, None);
    let due: Vec<u64> = (0..100).filter(|_| c.header_due()).collect();
    assert_eq!(due.len(), 2);
    let mut c = CtsConsole::new(1, false, None);
    let rows: Vec<bool> = (0..81).map(|_| c.header_due()).collect();
    assert!(!rows[0] && !rows[39] && rows[40] && !rows[41] && rows[80]);
}

#[test]
fn connection_lines_are_ctstraffics() {
    let start = Instant::now();
    let ok = result(start, Status::Completed, 100);
    assert_eq!(
        connection_line(&ok, start, ""),
        "[3.250] UDP connection succeeded : [127.0.0.1:50000 - 127.0.0.1:4444] [0123abcd-0000-4000-8000-00000000cafe] : BitsPerSecond [8000000]  Completed [100]  Dropped [0]  Repeated [0]  Errors [0]"
    );
    assert!(connection_line(&ok, start, "  Jitter [0.000 ms]")
        .ends_with("Errors [0]  Jitter [0.000 ms]"));
    let network = result(start, Status::Failed(StreamError::NoData), 0);
    assert_eq!(
        connection_line(&network, start, ""),
        "[3.250] UDP connection failed with the error no data arrived within the buffer depth: is the sender running and reachable? : [127.0.0.1:50000 - 127.0.0.1:4444] [0123abcd-0000-4000-8000-00000000cafe] : BitsPerSecond [8000000]  Completed [0]  Dropped [100]  Repeated [0]  Errors [0]"
    );
    let mut protocol = result(
        start,
        Status::Failed(StreamError::Malformed { datagrams: 3 }),
        99,
    );
    protocol.connection_id = None;
    assert!(
        connection_line(&protocol, start, "").starts_with(
            "[3.250] UDP connection failed with the protocol error 3 malformed datagram(s) arrived on the stream : [127.0.0.1:50000 - 127.0.0.1:4444] [] : "
        ),
        "{}",
        connection_line(&protocol, start, "")
    );
}

#[test]
fn the_summary_is_ctstraffics_with_total_time() {
    let start = Instant::now();
    let results = [
        result(start, Status::Completed, 100),
        result(start, Status::Failed(StreamError::NoData), 0),
    ];
    let client = CtsConsole::new(1, false, Some(1500));
    let lines = client.summary(
        &super::super::Finished::of(&results),
        Duration::from_millis(1500),
    );
    let want = [
        "",
        "  **** Time-limit of 1500 reached ****",
        "",
        "",
        "  Historic Connection Statistics (all connections over the complete lifetime)  ",
        "-------------------------------------------------------------------------------",
        "  SuccessfulConnections [1]   NetworkErrors [1]   ProtocolErrors [0]",
        "",
        "  Total Bytes Recv : 4000000",
        "  Total Successful Frames : 100 (50.000000)",
        "  Total Dropped Frames : 100 (50.000000)",
        "  Total Duplicate Frames : 0 (0.000000)",
        "  Total Error Frames : 0 (0.000000)",
        "  Total Time : 1500 ms.",
    ];
    assert_eq!(lines, want);
    // Under the limit: no notice. A server that only sent: no frames.
    let mut sent = result(start, Status::Completed, 100);
    sent.role = mediastream_core::pattern::Role::Sender;
    let server = CtsConsole::new(0, true, Some(1500));
    let lines = server.summary(
        &super::super::Finished::of(&[sent]),
        Duration::from_millis(1000),
    );
    assert_eq!(lines[2], want[4]);
    assert_eq!(
        lines[4],
        "  SuccessfulConnections [1]   NetworkErrors [0]   ProtocolErrors [0]"
    );
    assert_eq!(lines[5], "  Total Time : 1000 ms.");
    assert_eq!(lines.len(), 6);
}

#[test]
fn the_legend_and_header_are_followed_by_ctstraffics_blank_lines() {
    let lines = legend_and_header();
    assert_eq!(lines[0], "Legend:");
    let n = lines.len();
    assert_eq!(&lines[n - 4..], ["", "", TABLE_HEADER, ""]);
    assert!(lines[n - 5].starts_with("* Stream Errors"));
}
