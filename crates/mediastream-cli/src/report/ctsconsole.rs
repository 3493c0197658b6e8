//! ctsTraffic's console (`--cts-console LEVEL`, the console of
//! `mediastream cts`): what each `-ConsoleVerbosity` level prints, the
//! per-connection lines and the "Historic Connection Statistics" summary
//! in ctsTraffic's words and number formats. docs/cts.md has the levels.

use std::time::{Duration, Instant};

use mediastream_core::pattern::Status;
use mediastream_core::server::StreamResult;

use super::text::{LEGEND, TABLE_HEADER};
use super::{bits_per_second, failure, frames, Failure};

/// ctsTraffic reprints the table header every this many status rows.
const HEADER_EVERY: u64 = 40;

/// One run's console settings.
#[derive(Debug, Clone)]
pub struct CtsConsole {
    verbosity: u8,
    /// A server (`-Listen`): its summary has no frame totals unless it
    /// received streams.
    listening: bool,
    time_limit_ms: Option<u32>,
    rows: u64,
}

impl CtsConsole {
    pub fn new(verbosity: u8, listening: bool, time_limit_ms: Option<u32>) -> Self {
        Self {
            verbosity,
            listening,
            time_limit_ms,
            rows: 0,
        }
    }

    /// The legend, the table and its rows: levels 1, 2, 5 and 6.
    pub fn prints_status(&self) -> bool {
        matches!(self.verbosity, 1 | 2 | 5 | 6)
    }

    /// A line per finished connection: levels 3 to 6.
    pub fn prints_connections(&self) -> bool {
        self.verbosity >= 3
    }

    /// A line per failure, on stderr: levels 2, 4, 5 and 6.
    pub fn prints_errors(&self) -> bool {
        matches!(self.verbosity, 2 | 4 | 5 | 6)
    }

    /// mediastream's own lines and fields: level 6 (ctsTraffic's debug
    /// output).
    pub fn prints_ours(&self) -> bool {
        self.verbosity >= 6
    }

    /// Counts a status row; true when the table header is due before it
    /// again (every 40 rows, as ctsTraffic).
    pub fn header_due(&mut self) -> bool {
        let due = self.rows > 0 && self.rows.is_multiple_of(HEADER_EVERY);
        self.rows += 1;
        due
    }

    /// The summary, with the time-limit notice before it when the run
    /// reached `-TimeLimit`.
    pub fn summary(&self, finished: &super::Finished, elapsed: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(ms) = self.time_limit_ms {
            if elapsed >= Duration::from_millis(ms.into()) {
                lines.push(String::new());
                lines.push(format!("  **** Time-limit of {ms} reached ****"));
            }
        }
        lines.extend(summary(finished, !self.listening || finished.received));
        lines.push(format!("  Total Time : {} ms.", elapsed.as_millis()));
        lines
    }
}

/// What ctsTraffic prints after its settings when status rows are on:
/// the legend, two blank lines, the table header and a blank line.
pub fn legend_and_header() -> Vec<&'static str> {
    let mut lines = LEGEND.to_vec();
    lines.extend(["", TABLE_HEADER, ""]);
    lines
}

/// ctsTraffic's line for a finished UDP connection, `additions` (our
/// fields, at level 6) after it.
pub fn connection_line(r: &StreamResult, start: Instant, additions: &str) -> String {
    let elapsed = r.ended.saturating_duration_since(start).as_secs_f64();
    let outcome = match (&r.status, failure(r)) {
        (Status::Failed(e), Some(kind)) => {
            let kind = match kind {
                Failure::Protocol => "protocol error",
                Failure::Network => "error",
            };
            format!("failed with the {kind} {}", super::escape(&e.to_string()))
        }
        _ => "succeeded".to_owned(),
    };
    let id = r.connection_id.map_or_else(String::new, |c| c.to_string());
    let (f, _) = frames(r);
    let counts = format!(
        "Completed [{}]  Dropped [{}]  Repeated [{}]  Errors [{}]",
        f.completed, f.dropped, f.repeated, f.error
    );
    format!(
        "[{elapsed:.3}] UDP connection {outcome} : [{} - {}] [{id}] : BitsPerSecond [{:.0}]  {counts}{additions}",
        r.local,
        r.remote,
        bits_per_second(r)
    )
}

/// "Historic Connection Statistics" up to `Total Time`: the frame totals
/// when `with_frames` (ctsTraffic prints them on the client), each with
/// its share of all frames (`%f`: 6 decimals, no percent sign).
fn summary(finished: &super::Finished, with_frames: bool) -> Vec<String> {
    let t = finished.totals();
    let mut lines = vec![
        String::new(),
        String::new(),
        "  Historic Connection Statistics (all connections over the complete lifetime)  ".into(),
        "-".repeat(79),
        format!(
            "  SuccessfulConnections [{}]   NetworkErrors [{}]   ProtocolErrors [{}]",
            t.succeeded, t.network_errors, t.protocol_errors
        ),
    ];
    if with_frames {
        let f = &t.frames;
        let all = f.completed + f.dropped + f.repeated + f.error;
        let share = |n: u64| {
            if all == 0 {
                0.0
            } else {
                n as f64 / all as f64 * 100.0
            }
        };
        lines.push(String::new());
        lines.push(format!("  Total Bytes Recv : {}", f.bytes_received));
        for (name, n) in [
            ("Successful", f.completed),
            ("Dropped", f.dropped),
            ("Duplicate", f.repeated),
            ("Error", f.error),
        ] {
            lines.push(format!("  Total {name} Frames : {n} ({:.6})", share(n)));
        }
    }
    lines
}

#[cfg(test)]
mod tests;
