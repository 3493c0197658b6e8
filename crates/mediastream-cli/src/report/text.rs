//! Human-readable output in ctsTraffic's shapes: status lines, one line
//! per finished stream, and the summary; plus the loopback table.

use std::io::{self, IsTerminal, Write};
use std::time::Instant;

use super::ctsconsole::{self, CtsConsole};
use super::{bits_per_second, frames, Source};
use mediastream_core::pattern::{Role, Status};
use mediastream_core::server::StreamResult;

/// One status row: ctsTraffic's columns.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatusRow {
    pub time_slice: f64,
    pub bits_per_second: f64,
    pub streams: usize,
    pub completed: u64,
    pub dropped: u64,
    pub repeated: u64,
    pub errors: u64,
}

pub const STATUS_HEADER: &str = "TimeSlice,Bits/Sec,Streams,Completed,Dropped,Repeated,Errors";

/// ctsTraffic's legend of the UDP status table.
pub const LEGEND: [&str; 9] = [
    "Legend:",
    "* TimeSlice - (seconds) cumulative runtime",
    "* Streams - count of current number of UDP streams",
    "* Bits/Sec - bits streamed within the TimeSlice period",
    "* Completed Frames - count of frames successfully processed within the TimeSlice",
    "* Dropped Frames - count of frames that were never seen within the TimeSlice",
    "* Repeated Frames - count of frames received multiple times within the TimeSlice",
    "* Stream Errors - count of invalid frames or buffers within the TimeSlice",
    "",
];

/// The header of ctsTraffic's UDP status table (80 columns).
pub const TABLE_HEADER: &str =
    " TimeSlice       Bits/Sec    Streams   Completed   Dropped   Repeated    Errors ";

/// Each column of the table: the column its value ends at, and the most
/// characters it may take.
const TABLE_COLUMNS: [(usize, usize); 7] = [
    (10, 10),
    (25, 12),
    (36, 8),
    (48, 9),
    (58, 7),
    (69, 7),
    (79, 7),
];

/// A value in at most `width` characters: as is, else in units of
/// 10^6, 10^9 or 10^12 with one decimal (`12.3x^6`), as ctsTraffic does.
fn fit(value: String, number: f64, width: usize) -> String {
    if value.len() <= width {
        return value;
    }
    for (scale, suffix) in [(1e6, "x^6"), (1e9, "x^9"), (1e12, "x^12")] {
        let scaled = format!("{:.1}{suffix}", number / scale);
        if scaled.len() <= width {
            return scaled;
        }
    }
    "9+++T".to_owned()
}

/// One status row as ctsTraffic's fixed-width console line: each value
/// right-justified to its column, 79 characters.
pub fn table_row(row: &StatusRow) -> String {
    let bits = row.bits_per_second.max(0.0).floor();
    let values = [
        (format!("{:.3}", row.time_slice), row.time_slice),
        (format!("{bits:.0}"), bits),
        (row.streams.to_string(), row.streams as f64),
        (row.completed.to_string(), row.completed as f64),
        (row.dropped.to_string(), row.dropped as f64),
        (row.repeated.to_string(), row.repeated as f64),
        (row.errors.to_string(), row.errors as f64),
    ];
    let mut line = String::new();
    for ((text, number), (end, width)) in values.into_iter().zip(TABLE_COLUMNS) {
        let text = fit(text, number, width);
        let pad = end.saturating_sub(line.len() + text.len());
        line.push_str(&" ".repeat(pad));
        line.push_str(&text);
    }
    line
}

/// Where text goes: stdout, or stderr when stdout carries JSON.
pub struct Text {
    out: Box<dyn Write + Send>,
    /// A terminal gets one refreshed status line instead of a scroll.
    tty: bool,
    header_done: bool,
    status_pending: bool,
    start: Instant,
    /// ctsTraffic's status, connection and error files, if asked for.
    files: Option<super::ctsfiles::CtsFiles>,
    /// Status rows as ctsTraffic's fixed-width console table.
    table: bool,
    /// ctsTraffic's whole console instead of ours.
    cts: Option<CtsConsole>,
    /// The marking this run's senders set (`--dscp`, `--ecn`).
    requested: super::Requested,
}

impl Text {
    pub fn new(to_stderr: bool, start: Instant) -> Self {
        let (out, tty): (Box<dyn Write + Send>, bool) = if to_stderr {
            (Box::new(io::stderr()), io::stderr().is_terminal())
        } else {
            (Box::new(io::stdout()), io::stdout().is_terminal())
        };
        Self {
            out,
            tty,
            header_done: false,
            status_pending: false,
            start,
            files: None,
            table: false,
            cts: None,
            requested: Default::default(),
        }
    }

    /// The marking this run's sending streams set, for each stream line's
    /// `Marking [...]` verdict.
    pub fn set_requested(&mut self, requested: super::Requested) {
        self.requested = requested;
    }

    /// Prints status rows as ctsTraffic's fixed-width table, after its
    /// legend, instead of CSV.
    pub fn use_table(&mut self, table: bool) {
        self.table = table;
    }

    /// Prints ctsTraffic's console from now on, starting with its
    /// Configured Settings block (`settings`, printed at every level),
    /// then its legend and table header when the level prints status
    /// rows. Our own lines (`line`) are then printed at level 6 only.
    pub fn use_cts(&mut self, console: CtsConsole, settings: &[String]) {
        for line in settings {
            self.emit(line);
        }
        if console.prints_status() {
            for line in ctsconsole::legend_and_header() {
                self.emit(line);
            }
        }
        self.header_done = true;
        self.cts = Some(console);
    }

    /// Also writes status rows and finished streams to these files.
    pub fn attach(&mut self, files: Option<super::ctsfiles::CtsFiles>) {
        self.files = files;
    }

    /// Flushes the attached files; the first error writing them.
    pub fn finish_files(&mut self) -> io::Result<()> {
        self.files
            .take()
            .map_or(Ok(()), super::ctsfiles::CtsFiles::finish)
    }

    /// A warning: on stderr, whatever carries the rest, so that it is
    /// seen even when stdout goes to a file or a pipe.
    pub fn warn(&mut self, text: &str) {
        if self.status_pending {
            let _ = writeln!(self.out);
            self.status_pending = false;
        }
        let _ = self.out.flush();
        let _ = writeln!(io::stderr(), "{text}");
    }

    /// Writes one of mediastream's lines; under ctsTraffic's console, at
    /// level 6 only.
    pub fn line(&mut self, text: &str) {
        if self.cts.as_ref().is_none_or(CtsConsole::prints_ours) {
            self.emit(text);
        }
    }

    /// Writes a whole line (ending a refreshed status line first).
    fn emit(&mut self, text: &str) {
        if self.status_pending {
            let _ = writeln!(self.out);
            self.status_pending = false;
        }
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    pub fn status(&mut self, row: &StatusRow) {
        if let Some(files) = &mut self.files {
            files.status(row);
        }
        if let Some(cts) = &mut self.cts {
            let (print, header) = (cts.prints_status(), cts.header_due());
            if header && print {
                self.emit(TABLE_HEADER);
            }
            if print {
                self.emit(&table_row(row));
            }
            return;
        }
        let text = format!(
            "{:.3},{:.0},{},{},{},{},{}",
            row.time_slice,
            row.bits_per_second,
            row.streams,
            row.completed,
            row.dropped,
            row.repeated,
            row.errors
        );
        if self.table {
            if !self.header_done {
                for line in LEGEND {
                    self.emit(line);
                }
                self.emit(TABLE_HEADER);
                self.header_done = true;
            }
            self.emit(&table_row(row));
        } else if self.tty {
            let _ = write!(self.out, "\r{STATUS_HEADER}: {text}   ");
            self.status_pending = true;
            let _ = self.out.flush();
        } else {
            if !self.header_done {
                self.emit(STATUS_HEADER);
                self.header_done = true;
            }
            self.emit(&text);
        }
    }

    /// ctsTraffic's per-connection line, with our additions after it.
    pub fn stream(&mut self, r: &StreamResult) {
        if let Some(files) = &mut self.files {
            files.stream(r);
        }
        if let Some(cts) = &self.cts {
            let (errors, connections, ours) = (
                cts.prints_errors(),
                cts.prints_connections(),
                cts.prints_ours(),
            );
            if let Some(line) = super::ctsfiles::error_line(r, self.start).filter(|_| errors) {
                self.warn(&line);
            }
            if connections {
                let additions = if ours { additions(r) } else { String::new() };
                let line = ctsconsole::connection_line(r, self.start, &additions);
                self.emit(&line);
            }
            return;
        }
        let elapsed = r.ended.saturating_duration_since(self.start).as_secs_f64();
        let id = r
            .connection_id
            .map_or_else(|| "-".to_owned(), |c| c.to_string());
        let outcome = match &r.status {
            Status::Completed | Status::Running => "succeeded".to_owned(),
            // The error may quote the peer (a REFUSE reason): escaped
            // again here, whoever built the result.
            Status::Failed(e) => format!("failed ({})", super::escape(&e.to_string())),
            other => format!("ended ({other:?})"),
        };
        let (f, source) = frames(r);
        let mut line = format!(
            "[{elapsed:.3}] UDP connection {outcome} : [{} - {}] [{id}] : BitsPerSecond [{:.0}]",
            r.local,
            r.remote,
            bits_per_second(r)
        );
        match source {
            Source::Unknown => line += &format!("  FramesSent [{}]", r.stats.frames_sent),
            _ => {
                line += &format!(
                    "  Completed [{}]  Dropped [{}]  Repeated [{}]  Errors [{}]",
                    f.completed, f.dropped, f.repeated, f.error
                );
            }
        }
        line += &additions(r);
        line += &marking(r, self.requested.of(r));
        self.emit(&line);
    }

    pub fn summary(&mut self, finished: &super::Finished) {
        if let Some(cts) = &self.cts {
            for line in cts.summary(finished, self.start.elapsed()) {
                self.emit(&line);
            }
            return;
        }
        let t = finished.totals();
        let pct = |n: u64| {
            if t.frames_total() == 0 {
                0.0
            } else {
                n as f64 * 100.0 / t.frames_total() as f64
            }
        };
        self.line("");
        self.line("  Historic Connection Statistics (all connections over the complete lifetime)");
        self.line(
            "-------------------------------------------------------------------------------",
        );
        self.line(&format!(
            "  SuccessfulConnections [{}]   NetworkErrors [{}]   ProtocolErrors [{}]",
            t.succeeded, t.network_errors, t.protocol_errors
        ));
        self.line("");
        self.line(&format!("  Total Bytes Recv : {}", t.frames.bytes_received));
        self.line(&format!("  Total Bytes Sent : {}", t.bytes_sent));
        for (name, n) in [
            ("Successful", t.frames.completed),
            ("Dropped", t.frames.dropped),
            ("Duplicate", t.frames.repeated),
            ("Error", t.frames.error),
        ] {
            self.line(&format!("  Total {name} Frames : {n} ({:.3}%)", pct(n)));
        }
        self.line(&format!(
            "  Jitter (RFC 3550) : mean {:.3} ms, max {:.3} ms",
            t.frames.jitter_ms, t.jitter_ms_max
        ));
        let lateness = &finished.lateness;
        if let (Some(p50), Some(p99)) = (lateness.quantile(0.5), lateness.quantile(0.99)) {
            self.line(&format!(
                "  Frame send lateness : p50 {:.3} ms, p99 {:.3} ms",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            ));
        }
        self.line(&format!(
            "  Total Time : {} ms.",
            self.start.elapsed().as_millis()
        ));
    }

    /// The loopback results table: one row per stream, from the client's
    /// result and the server's result for the same stream (the sender
    /// knows its lateness and the round-trip time).
    pub fn table(&mut self, rows: &[(StreamResult, Option<StreamResult>)]) {
        self.line("");
        self.line(&format!(
            "{:<16} {:>9} {:>7} {:>9} {:>7} {:>8} {:>6} {:>7} {:>9} {:>12} {:>11} {:>7} {:>9}",
            "direction",
            "status",
            "frames",
            "completed",
            "dropped",
            "repeated",
            "errors",
            "loss%",
            "jitter_ms",
            "delay_p99_ms",
            "late_p99_ms",
            "rtt_ms",
            "Mbit/s"
        ));
        for (client, server) in rows {
            let (f, _) = frames(client);
            let expected = client.plan.stream_frames();
            let lost = expected.saturating_sub(f.completed);
            let loss = if expected == 0 {
                0.0
            } else {
                lost as f64 * 100.0 / expected as f64
            };
            let direction = match client.role {
                Role::Receiver => "server->client",
                Role::Sender => "client->server",
            };
            let both_ok = client.succeeded() && server.as_ref().is_none_or(|s| s.succeeded());
            let status = if both_ok { "completed" } else { "FAILED" };
            let sender = match client.role {
                Role::Sender => Some(client),
                Role::Receiver => server.as_ref(),
            };
            let ms = |d: Option<std::time::Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e3);
            let late = ms(sender.and_then(|s| s.stats.lateness.histogram.quantile(0.99)));
            let receiver = match client.role {
                Role::Receiver => Some(client),
                Role::Sender => server.as_ref(),
            };
            // Frame delay (last datagram), absolute on one host.
            let delay = receiver
                .and_then(super::metrics::metrics)
                .and_then(|m| m.frame_delay_ms.last)
                .map_or(0.0, |d| d.p99);
            let rtt = ms(sender.and_then(|s| s.stats.rtt.mean()));
            self.line(&format!(
                "{direction:<16} {status:>9} {expected:>7} {:>9} {:>7} {:>8} {:>6} {loss:>7.3} {:>9.3} {delay:>12.3} {late:>11.3} {rtt:>7.3} {:>9.1}",
                f.completed,
                f.dropped,
                f.repeated,
                f.error,
                f.jitter_ms,
                bits_per_second(client) / 1e6
            ));
        }
    }
}

/// What a connection line carries after ctsTraffic's fields: jitter
/// when the receiver's view is known; at a receiving end the p99 frame
/// delay with its basis, datagram loss, late frames and freezes; at a
/// sending end send lateness and RTT.
/// `  Dscp [af41 x 1000]  Ecn [ect0 990, ce 10]  Marking [sent dscp
/// af41, ecn ect0: kept]`, for what is known of the stream's marking.
fn marking(r: &StreamResult, requested: Option<mediastream_core::marking::Marking>) -> String {
    let mut line = String::new();
    let counts = super::marks(r);
    if let Some((m, _)) = &counts {
        line += &format!("  Dscp [{}]", super::dscp_text(m));
        let ecn: Vec<String> = mediastream_core::marking::Ecn::ALL
            .iter()
            .filter(|&&e| m.ecn_count(e) > 0)
            .map(|&e| format!("{e} {}", m.ecn_count(e)))
            .collect();
        line += &format!("  Ecn [{}]", ecn.join(", "));
    }
    if let Some(asked) = requested {
        let verdict = match counts.map(|(m, _)| m.kept(asked)) {
            None => "not read".to_owned(),
            Some(k) => {
                let part = |name: &str, kept: Option<bool>| match kept {
                    Some(true) => Some(format!("{name} kept")),
                    Some(false) => Some(format!("{name} CHANGED")),
                    None => None,
                };
                [part("dscp", k.dscp), part("ecn", k.ecn)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        line += &format!("  Marking [sent {asked}: {verdict}]");
    }
    line
}

fn additions(r: &StreamResult) -> String {
    let (f, source) = frames(r);
    let mut line = String::new();
    if source != Source::Unknown {
        line += &format!("  Jitter [{:.3} ms]", f.jitter_ms);
    }
    if r.stats.timestamps_implausible > 0 {
        line += &format!(
            "  ImplausibleTimestamps [{}]",
            r.stats.timestamps_implausible
        );
    }
    if r.role == Role::Sender {
        if let Some(p99) = r.stats.lateness.histogram.quantile(0.99) {
            line += &format!("  SendLatenessP99 [{:.3} ms]", p99.as_secs_f64() * 1e3);
        }
    }
    if let Some(rtt) = r.stats.rtt.mean() {
        line += &format!("  Rtt [{:.3} ms]", rtt.as_secs_f64() * 1e3);
    }
    if let Some(m) = super::metrics::metrics(r) {
        if let Some(d) = &m.frame_delay_ms.last {
            line += &format!("  FrameDelayP99 [{:.3} ms {}]", d.p99, m.delay_basis);
        }
        line += &format!(
            "  DatagramLoss [{:.3}%]  Late [{}]  Freezes [{}, longest {:.0} ms]",
            m.datagrams.loss_percent,
            m.playout.late_frames,
            m.playout.freezes,
            m.playout.freeze_ms_longest
        );
        if let Some(d) = &m.decoder {
            line += &d.text();
        }
    }
    line
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn the_status_table_is_ctstraffics_fixed_width_console_table() {
        assert_eq!(TABLE_HEADER.len(), 80);
        let row = StatusRow {
            time_slice: 5.0004,
            bits_per_second: 8_000_123.6,
            streams: 1,
            completed: 250,
            dropped: 2,
            repeated: 0,
            errors: 0,
        };
        let line = table_row(&row);
        assert_eq!(
            line,
            "     5.000        8000123          1         250         2          0         0"
        );
        assert_eq!(line.len(), 79);
        // Each value ends where its header word ends.
        for word in [
            "TimeSlice",
            "Bits/Sec",
            "Streams",
            "Completed",
            "Dropped",
            "Repeated",
            "Errors",
        ] {
            let end = TABLE_HEADER.find(word).unwrap_or(0) + word.len();
            assert_ne!(
                line.as_bytes()[end - 1],
                b' ',
                "{word} ends at column {end}"
            );
        }
        let huge = StatusRow {
            bits_per_second: 123_456_789_012_345.0,
            completed: 1_234_567_890,
            ..row
        };
        let line = table_row(&huge);
        assert!(line.contains(" 123456.8x^9 "), "{line}");
        assert!(line.contains(" 1234.6x^6 "), "{line}");
        assert_eq!(line.len(), 79);
    }
}
