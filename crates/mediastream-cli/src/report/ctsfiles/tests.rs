#![allow(clippy::unwrap_used)]
use super::*;

use std::time::Duration;

use mediastream_core::pattern::{Role, StreamError};
use mediastream_core::settings::StreamSettings;
use mediastream_core::wire::ConnectionId;

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ms-ctsfiles-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The file as text, after checking ctsTraffic's encoding: the UTF-16LE
/// byte order mark, whole code units, every line ended by CRLF.
fn utf16_text(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "byte order mark");
    assert_eq!(bytes.len() % 2, 0, "whole UTF-16 code units");
    let units: Vec<u16> = bytes[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).unwrap();
    assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "CRLF only: {text:?}"
    );
    text
}

/// A receiving stream of 100 frames, `completed` of them completed and
/// the rest dropped, ended 3.25 s after `start` (also the fixture of
/// `ctsconsole`'s tests).
pub(crate) fn result(start: Instant, status: Status, completed: u64) -> StreamResult {
    let mut settings = StreamSettings::new(8_000_000, 50, 2);
    settings.datagram_size = 1400;
    settings.buffer_depth_ms = 1000;
    let plan = settings.plan().unwrap();
    let mut stats = mediastream_core::pattern::StreamStats::default();
    stats.frames_completed = completed;
    stats.frames_dropped = 100 - completed;
    stats.bytes_received = 2_000_000;
    stats.first_received = Some(start);
    stats.last_received = Some(start + Duration::from_millis(1980));
    let local = "127.0.0.1:50000".parse().unwrap();
    let remote = "127.0.0.1:4444".parse().unwrap();
    let mut r = StreamResult::new(Role::Receiver, local, remote, plan, start);
    r.connection_id =
        Some(ConnectionId::parse_text(b"0123abcd-0000-4000-8000-00000000cafe").unwrap());
    r.status = status;
    r.stats = stats;
    r.ended = start + Duration::from_millis(3250);
    r
}

#[test]
fn status_connection_and_error_files_as_ctstraffic_writes_them() {
    let d = dir("golden");
    let names = FileNames {
        status: Some(d.join("status.csv").to_str().unwrap().to_owned()),
        connection: Some(d.join("connections.csv").to_str().unwrap().to_owned()),
        error: Some(d.join("errors.log").to_str().unwrap().to_owned()),
        utf16: true,
    };
    let start = Instant::now();
    let mut files = CtsFiles::create(&names, start).unwrap();
    files.status(&StatusRow {
        time_slice: 5.0004,
        bits_per_second: 8_000_123.6,
        streams: 1,
        completed: 250,
        dropped: 0,
        repeated: 0,
        errors: 0,
    });
    files.stream(&result(start, Status::Completed, 100));
    files.stream(&result(start, Status::Failed(StreamError::NoData), 0));
    files.finish().unwrap();

    let status = utf16_text(&d.join("status.csv"));
    assert_eq!(
        status,
        "TimeSlice,Bits/Sec,Streams,Completed,Dropped,Repeated,Errors\r\n5.000,8000124,1,250,0,0,0\r\n"
    );
    let connections = utf16_text(&d.join("connections.csv"));
    let lines: Vec<&str> = connections.lines().collect();
    assert_eq!(lines[0], CONNECTION_HEADER);
    assert_eq!(
        lines[1],
        "3.250,127.0.0.1:50000,127.0.0.1:4444,8000000,100,0,0,0,Succeeded,0123abcd-0000-4000-8000-00000000cafe"
    );
    assert!(
        lines[2]
            .starts_with("3.250,127.0.0.1:50000,127.0.0.1:4444,8000000,0,100,0,0,no data arrived"),
        "{}",
        lines[2]
    );
    for line in &lines {
        assert_eq!(line.split(',').count(), 10, "{line}");
    }
    let errors = utf16_text(&d.join("errors.log"));
    assert_eq!(
        errors,
        "[3.250] UDP connection failed : [127.0.0.1:50000 - 127.0.0.1:4444] : no data arrived within the buffer depth: is the sender running and reachable?\r\n"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn no_failures_leave_just_the_mark_and_utf8_is_plain() {
    let d = dir("empty");
    let path = d.join("errors.log");
    let names = FileNames {
        error: Some(path.to_str().unwrap().to_owned()),
        utf16: true,
        ..FileNames::default()
    };
    let start = Instant::now();
    let mut files = CtsFiles::create(&names, start).unwrap();
    files.stream(&result(start, Status::Completed, 100));
    files.finish().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), [0xFF, 0xFE]);

    let plain = d.join("status.csv");
    let names = FileNames {
        status: Some(plain.to_str().unwrap().to_owned()),
        utf16: false,
        ..FileNames::default()
    };
    CtsFiles::create(&names, start).unwrap().finish().unwrap();
    assert_eq!(
        std::fs::read_to_string(&plain).unwrap(),
        format!("{STATUS_HEADER}\n")
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_jitter_file_in_ctstraffic_encoding_has_seven_columns() {
    let d = dir("jitter");
    let path = d.join("jitter.csv");
    let mut file = super::super::jitter::JitterFile::create(path.to_str().unwrap(), true).unwrap();
    let mut record = mediastream_core::pattern::FrameRecord::dropped(1);
    record.outcome = mediastream_core::pattern::FrameOutcome::Completed;
    record.sender_ticks = 10_000_000;
    record.sender_frequency = 10_000_000;
    record.receiver_ticks = 10_020_000;
    record.receiver_frequency = 10_000_000;
    record.relative_in_flight_ms = 2.0;
    record.jitter_ms = 0.25;
    file.row(&record).unwrap();
    file.finish().unwrap();
    let text = utf16_text(&path);
    assert_eq!(
        text,
        format!(
            "{}\r\n1,10000000,10000000,10020000,10000000,2.000,0.250\r\n",
            super::super::jitter::HEADER
        )
    );
    for line in text.lines() {
        assert_eq!(line.split(',').count(), 7, "{line}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}
