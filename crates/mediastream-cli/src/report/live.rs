//! Live output while streams run: what each stream has counted so far,
//! turned into interval and cumulative counts for the status rows and for
//! `--json-stream` (one JSON object per status interval, then the final
//! document; docs/json.md).
//!
//! Every count of an entry only grows, and an entry's last count is the
//! one its finished stream has in the final document: the intervals of
//! every row and every line add up to the document's totals.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Instant;

use serde::Serialize;

use mediastream_core::pattern::Role;
use mediastream_core::server::{LiveStream, StreamResult};
use mediastream_core::sys::StreamProgress;
use mediastream_core::wire::ConnectionId;

use super::text::{StatusRow, Text};
use super::Frames;
use crate::cmd::{CliError, StatusClock};

/// The counts an interval object carries, per stream and in all: the
/// document's names, the values the document has once a stream ends
/// (the receiving end's view for frames and bytes received).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub frames_completed: u64,
    pub frames_dropped: u64,
    pub frames_repeated: u64,
    pub frames_error: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

impl Counts {
    fn zip(self, o: Self, f: impl Fn(u64, u64) -> u64) -> Self {
        Counts {
            frames_completed: f(self.frames_completed, o.frames_completed),
            frames_dropped: f(self.frames_dropped, o.frames_dropped),
            frames_repeated: f(self.frames_repeated, o.frames_repeated),
            frames_error: f(self.frames_error, o.frames_error),
            bytes_received: f(self.bytes_received, o.bytes_received),
            bytes_sent: f(self.bytes_sent, o.bytes_sent),
        }
    }

    pub fn plus(self, o: Self) -> Self {
        self.zip(o, u64::saturating_add)
    }

    fn minus(self, o: Self) -> Self {
        self.zip(o, u64::saturating_sub)
    }

    /// Each count the larger of the two.
    pub fn max(self, o: Self) -> Self {
        self.zip(o, u64::max)
    }

    /// A finished stream's counts, as its `streams[]` object has them.
    pub fn of_result(r: &StreamResult) -> Self {
        let (f, _) = super::frames(r);
        Counts {
            frames_completed: f.completed,
            frames_dropped: f.dropped,
            frames_repeated: f.repeated,
            frames_error: f.error,
            bytes_received: f.bytes_received,
            bytes_sent: r.stats.bytes_sent,
        }
    }

    /// A running server stream's counts so far (nothing received yet
    /// for a sending stream before the client's first report).
    pub fn of_live(s: &LiveStream) -> Self {
        let r = s.received.as_ref();
        let get = |f: fn(&mediastream_core::pattern::ReceivedView) -> u64| r.map_or(0, f);
        Counts {
            frames_completed: get(|r| r.frames_completed),
            frames_dropped: get(|r| r.frames_dropped),
            frames_repeated: get(|r| r.frames_repeated),
            frames_error: get(|r| r.frames_error),
            bytes_received: get(|r| r.bytes_received),
            bytes_sent: s.bytes_sent,
        }
    }

    /// A running client stream's counts so far: the receiving end's view
    /// (a sending stream's from the receiver's reports, nothing before
    /// the first).
    pub fn of_progress(p: &StreamProgress<'_>) -> Self {
        let r = p.stats.received(p.role);
        let get = |f: fn(&mediastream_core::pattern::ReceivedView) -> u64| r.as_ref().map_or(0, f);
        Counts {
            frames_completed: get(|r| r.frames_completed),
            frames_dropped: get(|r| r.frames_dropped),
            frames_repeated: get(|r| r.frames_repeated),
            frames_error: get(|r| r.frames_error),
            bytes_received: get(|r| r.bytes_received),
            bytes_sent: p.stats.bytes_sent,
        }
    }

    /// The counts a status row shows.
    pub fn frames(&self) -> Frames {
        Frames {
            completed: self.frames_completed,
            dropped: self.frames_dropped,
            repeated: self.frames_repeated,
            error: self.frames_error,
            ..Frames::default()
        }
    }
}

/// What an entry of `streams` is: the keys a `streams[]` object of the
/// final document has for the same stream (`local`, `connection_id`:
/// null when not known yet), and how many streams it counts (a client
/// counts each `--target`'s `--connections` together).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct About {
    pub role: &'static str,
    pub local: Option<String>,
    pub remote: String,
    pub connection_id: Option<String>,
    pub streams: usize,
}

#[derive(Debug)]
struct Entry {
    key: String,
    about: About,
    /// Counts at the last interval.
    last: Counts,
    /// Counts now.
    now: Counts,
    running: bool,
    /// Its final counts are in: once reported, the entry is retired.
    settled: bool,
}

/// One entry of an interval object's `streams`.
#[derive(Debug, Serialize)]
pub struct StreamLine {
    #[serde(flatten)]
    pub about: About,
    pub running: bool,
    pub interval: Counts,
    pub cumulative: Counts,
}

/// Each stream's counts as they grow, and their intervals.
#[derive(Debug, Default)]
pub struct Tracker {
    entries: Vec<Entry>,
    /// Where each key's entry is in `entries`.
    index: HashMap<String, usize>,
    /// Keys retired at the last two intervals: a late look at a stream
    /// already reported cannot count it again. Older ones are forgotten
    /// (a server may run for months): a stream is reported after it left
    /// the server's table, so no later look sees it.
    retired: [HashSet<String>; 2],
    retired_total: Counts,
    last_total: Counts,
    /// No intervals but the last (no status rows): an ended stream goes
    /// straight into the totals, so a server that runs for months keeps
    /// nothing of it.
    retire_at_once: bool,
}

impl Tracker {
    fn entry(&mut self, key: &str, about: impl FnOnce() -> About) -> Option<&mut Entry> {
        if self.retired.iter().any(|r| r.contains(key)) {
            return None;
        }
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                self.index.insert(key.to_owned(), self.entries.len());
                self.entries.push(Entry {
                    key: key.to_owned(),
                    about: about(),
                    last: Counts::default(),
                    now: Counts::default(),
                    running: true,
                    settled: false,
                });
                self.entries.len() - 1
            }
        };
        self.entries.get_mut(i)
    }

    /// A stream's counts so far (never taken below what was seen).
    pub fn observe(
        &mut self,
        key: &str,
        about: impl FnOnce() -> About,
        now: Counts,
        running: bool,
    ) {
        if let Some(e) = self.entry(key, about) {
            e.now = e.now.max(now);
            e.running = running;
        }
    }

    /// A stream's final counts: the document's. Ignored once reported.
    pub fn settle(&mut self, key: &str, about: impl FnOnce() -> About, last: Counts) {
        if self.retire_at_once {
            if let Some(i) = self.index.remove(key) {
                self.entries.remove(i);
                self.reindex();
            }
            self.retired_total = self.retired_total.plus(last);
            return;
        }
        if let Some(e) = self.entry(key, about) {
            e.now = last;
            e.running = false;
            e.settled = true;
        }
    }

    /// Counts over every stream so far.
    pub fn total(&self) -> Counts {
        self.entries
            .iter()
            .fold(self.retired_total, |t, e| t.plus(e.now))
    }

    /// Every entry's interval since the last call and its cumulative
    /// counts, and the totals' (interval, cumulative); entries whose
    /// final counts are now reported are retired.
    pub fn interval(&mut self) -> (Vec<StreamLine>, Counts, Counts) {
        let total = self.total();
        let lines = self
            .entries
            .iter_mut()
            .map(|e| {
                let interval = e.now.minus(e.last);
                e.last = e.now;
                StreamLine {
                    about: e.about.clone(),
                    running: e.running,
                    interval,
                    cumulative: e.now,
                }
            })
            .collect();
        let mut retired = HashSet::new();
        for e in self.entries.iter().filter(|e| e.settled) {
            retired.insert(e.key.clone());
            self.retired_total = self.retired_total.plus(e.now);
        }
        if !retired.is_empty() {
            self.entries.retain(|e| !e.settled);
            self.reindex();
        }
        self.retired.swap(0, 1);
        self.retired[0] = retired;
        let interval = total.minus(self.last_total);
        self.last_total = total;
        (lines, interval, total)
    }

    fn reindex(&mut self) {
        self.index = (self.entries.iter().enumerate())
            .map(|(i, e)| (e.key.clone(), i))
            .collect();
    }

    /// Entries running now.
    pub fn running(&self) -> usize {
        self.entries.iter().filter(|e| e.running).count()
    }
}

/// One `--json-stream` line per status interval.
#[derive(Debug, Serialize)]
pub struct IntervalLine<'a> {
    pub event: &'static str,
    pub schema: u32,
    pub command: &'a str,
    pub time_slice: f64,
    pub interval_secs: f64,
    pub bits_per_second: f64,
    pub streams_running: usize,
    pub interval: Counts,
    pub cumulative: Counts,
    pub streams: Vec<StreamLine>,
}

/// The `--json-stream` output: a line per object, flushed as written.
pub struct JsonStream {
    out: Box<dyn Write + Send>,
    error: Option<io::Error>,
}

impl std::fmt::Debug for JsonStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonStream").finish_non_exhaustive()
    }
}

impl JsonStream {
    /// `--json-stream`, if given, beside `--json`: both cannot be stdout
    /// or one file (exit 2); opened now, before any traffic.
    pub fn of_args(json: Option<&str>, stream: Option<&str>) -> Result<Option<Self>, CliError> {
        let Some(target) = stream else {
            return Ok(None);
        };
        if json == Some(target) {
            let what = if target == "-" {
                "stdout".to_owned()
            } else {
                super::escape(target)
            };
            return Err(CliError::Usage(format!(
                "--json and --json-stream both write to {what}: give them different places"
            )));
        }
        Self::open(target).map(Some)
    }

    /// Checks and opens `target` (`-`: stdout) before any traffic; a
    /// file is created, or truncated.
    pub fn open(target: &str) -> Result<Self, CliError> {
        super::output::check("--json-stream", target, super::output::Write::InPlace)?;
        let out: Box<dyn Write + Send> = if target == "-" {
            Box::new(io::stdout())
        } else {
            let file = std::fs::File::create(target).map_err(|e| {
                CliError::Usage(format!("--json-stream {}: {e}", super::escape(target)))
            })?;
            Box::new(io::BufWriter::new(file))
        };
        Ok(Self { out, error: None })
    }

    /// Writes `value` as one line and flushes it; the first error is kept
    /// for [`finish`](Self::finish), and nothing is written after it.
    pub fn line<T: Serialize>(&mut self, value: &T) {
        if self.error.is_some() {
            return;
        }
        let written = serde_json::to_writer(&mut self.out, value)
            .map_err(io::Error::other)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    /// The first error writing, if any.
    pub fn finish(mut self) -> Result<(), CliError> {
        let flushed = self.out.flush();
        match self.error.take().map_or(flushed, Err) {
            Ok(()) => Ok(()),
            Err(e) => Err(CliError::Runtime(format!("--json-stream: {e}"))),
        }
    }
}

/// The status rows and `--json-stream` of one run: the clock, the
/// tracker and the stream, ticked together.
#[derive(Debug)]
pub struct Live {
    pub tracker: Tracker,
    pub clock: StatusClock,
    pub start: Instant,
    command: &'static str,
    stream: Option<JsonStream>,
    last_slice: f64,
}

impl Live {
    pub fn new(
        command: &'static str,
        clock: StatusClock,
        start: Instant,
        stream: Option<JsonStream>,
    ) -> Self {
        let tracker = Tracker {
            retire_at_once: clock.interval().is_none(),
            ..Tracker::default()
        };
        Self {
            tracker,
            clock,
            start,
            command,
            stream,
            last_slice: 0.0,
        }
    }

    /// True when a row is due at `now` (the time to look at the streams).
    pub fn due(&self, now: Instant) -> bool {
        self.clock.due(now)
    }

    /// A row and a line when one is due at `now`; `bytes` is the total
    /// the row's rate counts, `streams` the streams running (default:
    /// the entries running).
    pub fn tick(
        &mut self,
        text: &mut Text,
        now: Instant,
        bytes: u64,
        streams: Option<usize>,
    ) -> bool {
        let running = streams.unwrap_or_else(|| self.tracker.running());
        let frames = self.tracker.total().frames();
        match self.clock.tick(now, self.start, running, bytes, frames) {
            Some(row) => {
                self.emit(text, &row);
                true
            }
            None => false,
        }
    }

    /// The end of the run, every stream settled: a last row when anything
    /// happened since the previous one, and a last line (always).
    pub fn last(&mut self, text: &mut Text, now: Instant, bytes: u64) {
        let frames = self.tracker.total().frames();
        let row = self.clock.last(now, self.start, 0, bytes, frames);
        if let Some(row) = &row {
            text.status(row);
        }
        if self.stream.is_some() {
            let row = row.unwrap_or(StatusRow {
                time_slice: now.saturating_duration_since(self.start).as_secs_f64(),
                ..StatusRow::default()
            });
            self.line(&row);
        }
    }

    fn emit(&mut self, text: &mut Text, row: &StatusRow) {
        text.status(row);
        self.line(row);
    }

    /// The interval (finished streams retired, even with no line to
    /// write) and its line.
    fn line(&mut self, row: &StatusRow) {
        let (streams, interval, cumulative) = self.tracker.interval();
        let Some(stream) = &mut self.stream else {
            return;
        };
        stream.line(&IntervalLine {
            event: "interval",
            schema: super::json::SCHEMA,
            command: self.command,
            time_slice: millis(row.time_slice),
            interval_secs: millis((row.time_slice - self.last_slice).max(0.0)),
            bits_per_second: row.bits_per_second,
            streams_running: row.streams,
            interval,
            cumulative,
            streams,
        });
        self.last_slice = row.time_slice;
    }

    /// The final document as the last line, and the first error writing
    /// any line.
    pub fn finish<T: Serialize>(self, document: &T) -> Result<(), CliError> {
        let Some(mut stream) = self.stream else {
            return Ok(());
        };
        stream.line(document);
        stream.finish()
    }
}

/// Seconds to the millisecond, as the status rows print them.
fn millis(secs: f64) -> f64 {
    (secs * 1e3).round() / 1e3
}

/// A server's stream (running or finished) as an entry: its key (the
/// connection id), what it is and its counts. The server's own stream
/// (`server`); or, for `loopback`, whose document has the clients'
/// streams, the client's stream it is the other end of: the role
/// turned round, the same frames and bytes received (the receiving end's
/// view), and as the client's bytes sent what arrived from it.
pub fn server_side(
    (role, local, remote): (Role, SocketAddr, SocketAddr),
    connection_id: Option<ConnectionId>,
    counts: Counts,
    clients_view: bool,
) -> (String, About, Counts) {
    let cid = connection_id.map(|c| c.to_string());
    let key = cid.clone().unwrap_or_else(|| format!("{role:?} {remote}"));
    if !clients_view {
        let about = About {
            role: role_name(role),
            local: Some(local.to_string()),
            remote: remote.to_string(),
            connection_id: cid,
            streams: 1,
        };
        return (key, about, counts);
    }
    let (client_role, bytes_sent) = match role {
        Role::Receiver => (Role::Sender, counts.bytes_received),
        Role::Sender => (Role::Receiver, 0),
    };
    let about = About {
        role: role_name(client_role),
        local: Some(remote.to_string()),
        remote: local.to_string(),
        connection_id: cid,
        streams: 1,
    };
    (
        key,
        about,
        Counts {
            bytes_sent,
            ..counts
        },
    )
}

/// A finished stream of this end as an entry: its key as
/// [`server_side`] makes it, and its final counts.
pub fn own_result(r: &StreamResult) -> (String, About, Counts) {
    server_side(
        (r.role, r.local, r.remote),
        r.connection_id,
        Counts::of_result(r),
        false,
    )
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Sender => "sender",
        Role::Receiver => "receiver",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about() -> About {
        About {
            role: "receiver",
            local: None,
            remote: "127.0.0.1:9".into(),
            connection_id: None,
            streams: 1,
        }
    }

    fn completed(n: u64) -> Counts {
        Counts {
            frames_completed: n,
            bytes_received: n * 10,
            ..Counts::default()
        }
    }

    /// Intervals add up to the settled counts whatever the looks saw in
    /// between: a look that saw less (a stream between the server's
    /// table and its report) takes nothing back, a settled stream is
    /// counted once, and a look after it was reported adds nothing.
    #[test]
    fn intervals_add_up_to_the_settled_counts() {
        let mut t = Tracker::default();
        let mut sum = Counts::default();
        t.observe("a", about, completed(5), true);
        t.observe("b", about, completed(2), true);
        let (lines, interval, total) = t.interval();
        assert_eq!(
            (lines.len(), interval, total),
            (2, completed(7), completed(7))
        );
        sum = sum.plus(interval);
        t.observe("a", about, completed(3), true);
        t.settle("b", about, completed(4));
        let (lines, interval, _) = t.interval();
        assert_eq!(lines.len(), 2, "b's last interval is listed");
        assert_eq!(lines[1].interval, completed(2));
        assert!(!lines[1].running);
        sum = sum.plus(interval);
        t.observe("b", about, completed(9), true);
        t.settle("b", about, completed(9));
        t.settle("a", about, completed(8));
        let (lines, interval, total) = t.interval();
        assert_eq!(lines.len(), 1, "b is retired: {lines:?}");
        sum = sum.plus(interval);
        assert_eq!(total, completed(12));
        assert_eq!(sum, total);
        assert_eq!(t.running(), 0);
        let (lines, interval, _) = t.interval();
        assert!(lines.is_empty());
        assert_eq!(interval, Counts::default());
    }

    /// Without status rows nothing is kept of an ended stream but its
    /// share of the totals.
    #[test]
    fn without_rows_ended_streams_go_straight_into_the_totals() {
        let mut t = Tracker {
            retire_at_once: true,
            ..Tracker::default()
        };
        t.observe("a", about, completed(1), true);
        t.settle("a", about, completed(3));
        t.settle("b", about, completed(4));
        assert!(t.entries.is_empty() && t.index.is_empty());
        let (lines, interval, total) = t.interval();
        assert!(lines.is_empty());
        assert_eq!((interval, total), (completed(7), completed(7)));
    }
}
