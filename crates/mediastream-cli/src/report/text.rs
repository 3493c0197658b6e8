//! Human-readable output in ctsTraffic's shapes: status lines, one line
//! per finished stream, and the summary; plus the loopback table.

use std::io::{self, IsTerminal, Write};
use std::time::Instant;

use super::{bits_per_second, frames, Source, Totals};
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
        }
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

    /// Writes a whole line (ending a refreshed status line first).
    pub fn line(&mut self, text: &str) {
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
        if self.tty {
            let _ = write!(self.out, "\r{STATUS_HEADER}: {text}   ");
            self.status_pending = true;
            let _ = self.out.flush();
        } else {
            if !self.header_done {
                self.line(STATUS_HEADER);
                self.header_done = true;
            }
            self.line(&text);
        }
    }

    /// ctsTraffic's per-connection line, with our additions after it.
    pub fn stream(&mut self, r: &StreamResult) {
        if let Some(files) = &mut self.files {
            files.stream(r);
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
                    "  Completed [{}]  Dropped [{}]  Repeated [{}]  Errors [{}]  Jitter [{:.3} ms]",
                    f.completed, f.dropped, f.repeated, f.error, f.jitter_ms
                );
            }
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
        }
        self.line(&line);
    }

    pub fn summary(&mut self, results: &[StreamResult]) {
        let t = Totals::of(results);
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
        let mut lateness = mediastream_core::pattern::DurationHistogram::default();
        for r in results.iter().filter(|r| r.role == Role::Sender) {
            lateness.merge(&r.stats.lateness.histogram);
        }
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
