//! The `--json` document -> one stream's series, as plain data (nothing
//! here draws). Every key is optional: a document from an older build, or
//! a stream without `metrics`, still loads, with fewer numbers.

use serde::Deserialize;

use crate::cmd::CliError;

/// What became of a frame at its render tick (the timeline's `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Dropped,
    Repeated,
    Late,
    /// A value this build does not know; drawn as not shown on time.
    Other,
}

impl Outcome {
    fn parse(s: &str) -> Self {
        match s {
            "completed" => Outcome::Completed,
            "dropped" => Outcome::Dropped,
            "repeated" => Outcome::Repeated,
            "late" => Outcome::Late,
            _ => Outcome::Other,
        }
    }

    /// Shown on time: completed, or repeated (all its bytes arrived, and
    /// duplicates besides). Dropped and late frames leave the picture
    /// frozen on the frame before.
    pub fn shown(self) -> bool {
        matches!(self, Outcome::Completed | Outcome::Repeated)
    }
}

/// One frame of the timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub seq: u64,
    /// Render tick, seconds from the stream's start.
    pub due_s: f64,
    pub outcome: Outcome,
    /// Delay of the frame's first / last datagram, ms (None: none arrived).
    pub first_ms: Option<f64>,
    pub last_ms: Option<f64>,
    /// A keyframe (frame data streams: the timeline's `kind`).
    pub key: bool,
}

/// A freeze: a run of consecutive frames not shown on time (dropped or
/// late), during which the picture holds the frame before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Freeze {
    pub first_seq: u64,
    pub frames: u64,
    /// From the first frame's render tick to the tick after the last one.
    pub start_s: f64,
    pub end_s: f64,
}

impl Freeze {
    pub fn ms(&self) -> f64 {
        (self.end_s - self.start_s) * 1e3
    }
}

// The `metrics` leaf objects, as `--json` writes them.
pub use crate::report::metrics::{
    Datagrams, FrameDelay, LossRunsJson as LossRuns, Pct, PlayoutJson as Playout,
};

/// The stream's `metrics` object.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Metrics {
    pub delay_basis: Option<String>,
    pub frame_delay_ms: Option<FrameDelay>,
    pub datagram_delay_ms: Option<Pct>,
    pub pdv_ms: Option<Pct>,
    pub ipdv_ms: Option<Pct>,
    pub datagrams: Option<Datagrams>,
    pub loss_runs: Option<LossRuns>,
    pub playout: Option<Playout>,
    pub packets_per_second: Option<f64>,
    pub goodput_bps: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub bits_per_second: Option<u64>,
    pub frame_rate: Option<u32>,
    pub stream_length_secs: Option<u32>,
    pub datagram_size: Option<u32>,
    pub buffer_depth_ms: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct TimelineEntry {
    seq: u64,
    due_ms: f64,
    outcome: Option<String>,
    first_ms: Option<f64>,
    last_ms: Option<f64>,
    kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct StreamDoc {
    role: Option<String>,
    local: Option<String>,
    remote: Option<String>,
    status: Option<String>,
    settings: Option<Settings>,
    frames_completed: Option<u64>,
    frames_dropped: Option<u64>,
    frames_repeated: Option<u64>,
    jitter_ms: Option<f64>,
    metrics: Option<Metrics>,
    timeline: Option<Vec<TimelineEntry>>,
}

#[derive(Debug, Deserialize)]
struct Document {
    streams: Vec<serde_json::Value>,
}

/// Everything a report shows about one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotData {
    /// The input file, as given.
    pub file: String,
    /// Which of `streams[]` (from 0), and how many there are.
    pub index: usize,
    pub count: usize,
    pub role: String,
    pub local: String,
    pub remote: String,
    pub status: String,
    pub settings: Settings,
    pub frames_completed: Option<u64>,
    pub frames_dropped: Option<u64>,
    pub frames_repeated: Option<u64>,
    pub jitter_ms: Option<f64>,
    pub metrics: Option<Metrics>,
    /// The timeline, in sequence order.
    pub frames: Vec<Frame>,
    pub freezes: Vec<Freeze>,
    /// Seconds between render ticks.
    pub frame_interval_s: f64,
}

const HOW_TO_GET_A_TIMELINE: &str = "rerun the client with --json FILE (a receiving \
    client keeps each frame's timeline unless given --no-timeline); the server records \
    timelines only with --timeline";

/// Reads and loads `path` (`-`: standard input); see [`parse`].
pub fn load(path: &str, stream: Option<usize>) -> Result<PlotData, CliError> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| CliError::Runtime(format!("cannot read {path}: {e}")))?;
    parse(&text, path, stream)
}

/// The stream to plot from a `--json` document's text: `stream` (an
/// index into `streams[]`), or else the first stream with a timeline.
/// `file` names the document in errors.
pub fn parse(text: &str, file: &str, stream: Option<usize>) -> Result<PlotData, CliError> {
    let doc: Document = serde_json::from_str(text).map_err(|e| {
        CliError::Runtime(format!(
            "{file} is not a mediastream --json document ({e}); write one with \
             'mediastream client ... --json FILE'"
        ))
    })?;
    let count = doc.streams.len();
    let streams: Vec<StreamDoc> = doc
        .streams
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v).map_err(|e| {
                CliError::Runtime(format!("{file}: streams[{i}] is not a stream object: {e}"))
            })
        })
        .collect::<Result<_, _>>()?;
    let index = pick(&streams, stream, file)?;
    let Some(s) = streams.into_iter().nth(index) else {
        return Err(CliError::Runtime(format!(
            "{file}: stream {index} vanished"
        )));
    };
    let settings = s.settings.unwrap_or_default();
    let frames = frames(s.timeline.unwrap_or_default());
    let frame_interval_s = match settings.frame_rate {
        Some(r) if r > 0 => 1.0 / f64::from(r),
        _ => median_step(&frames).unwrap_or(1.0 / 60.0),
    };
    let freezes = freezes(&frames, frame_interval_s);
    Ok(PlotData {
        file: file.to_owned(),
        index,
        count,
        role: s.role.unwrap_or_else(|| "stream".into()),
        local: s.local.unwrap_or_default(),
        remote: s.remote.unwrap_or_default(),
        status: s.status.unwrap_or_default(),
        settings,
        frames_completed: s.frames_completed,
        frames_dropped: s.frames_dropped,
        frames_repeated: s.frames_repeated,
        jitter_ms: s.jitter_ms,
        metrics: s.metrics,
        frames,
        freezes,
        frame_interval_s,
    })
}

/// Which of `streams` to plot: `stream`, when it is one with a timeline,
/// or else the first with one. `file` names the document in errors.
fn pick(streams: &[StreamDoc], stream: Option<usize>, file: &str) -> Result<usize, CliError> {
    let has_timeline = |s: &StreamDoc| s.timeline.as_ref().is_some_and(|t| !t.is_empty());
    let count = streams.len();
    match stream {
        Some(i) if i >= count => Err(CliError::Usage(if count == 0 {
            format!("--stream {i}: {file} has no streams")
        } else {
            format!(
                "--stream {i} is out of range: {file} has {count} stream(s), 0 to {}",
                count - 1
            )
        })),
        Some(i) if !has_timeline(&streams[i]) => {
            let with: Vec<String> = (0..count)
                .filter(|&j| has_timeline(&streams[j]))
                .map(|j| j.to_string())
                .collect();
            let others = if with.is_empty() {
                format!("no stream of {file} has one: {HOW_TO_GET_A_TIMELINE}")
            } else {
                format!("streams with one: {}", with.join(", "))
            };
            Err(CliError::Runtime(format!(
                "stream {i} of {file} ({}) has no per-frame timeline to plot; {others}",
                streams[i].role.as_deref().unwrap_or("unknown role")
            )))
        }
        Some(i) => Ok(i),
        None => streams.iter().position(has_timeline).ok_or_else(|| {
            CliError::Runtime(format!(
                "{file} has no stream with a per-frame timeline ({count} stream(s), \
                 none with frames): {HOW_TO_GET_A_TIMELINE}"
            ))
        }),
    }
}

/// A timeline's entries as frames, in sequence order; a delay that is
/// not a number is no delay.
fn frames(timeline: Vec<TimelineEntry>) -> Vec<Frame> {
    let mut frames: Vec<Frame> = timeline
        .into_iter()
        .map(|e| Frame {
            seq: e.seq,
            due_s: e.due_ms / 1e3,
            outcome: Outcome::parse(e.outcome.as_deref().unwrap_or("")),
            first_ms: e.first_ms.filter(|v| v.is_finite()),
            last_ms: e.last_ms.filter(|v| v.is_finite()),
            key: e.kind.as_deref() == Some("key"),
        })
        .collect();
    frames.sort_by_key(|f| f.seq);
    frames
}

/// The median gap between consecutive render ticks.
fn median_step(frames: &[Frame]) -> Option<f64> {
    let mut steps: Vec<f64> = frames
        .windows(2)
        .filter(|w| w[1].seq == w[0].seq + 1)
        .map(|w| w[1].due_s - w[0].due_s)
        .filter(|d| *d > 0.0)
        .collect();
    steps.sort_by(f64::total_cmp);
    steps.get(steps.len() / 2).copied()
}

/// Maximal runs of consecutive (by sequence number) frames not shown on
/// time. A gap in the sequence numbers ends a run.
pub fn freezes(frames: &[Frame], interval_s: f64) -> Vec<Freeze> {
    let mut out: Vec<Freeze> = Vec::new();
    let mut last_seq: Option<u64> = None;
    for f in frames {
        let continues = last_seq.is_some_and(|s| s + 1 == f.seq);
        last_seq = Some(f.seq);
        if f.outcome.shown() {
            continue;
        }
        match out.last_mut() {
            Some(run) if continues && run.first_seq + run.frames == f.seq => {
                run.frames += 1;
                run.end_s = f.due_s + interval_s;
            }
            _ => out.push(Freeze {
                first_seq: f.seq,
                frames: 1,
                start_s: f.due_s,
                end_s: f.due_s + interval_s,
            }),
        }
    }
    out
}

/// The q-quantile (0 to 1) of `values`, nearest rank; None when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return None;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

impl PlotData {
    pub fn count_of(&self, outcome: Outcome) -> usize {
        self.frames.iter().filter(|f| f.outcome == outcome).count()
    }

    /// Frames late, or with an outcome this build does not know.
    pub fn late(&self) -> usize {
        self.frames
            .iter()
            .filter(|f| matches!(f.outcome, Outcome::Late | Outcome::Other))
            .count()
    }

    /// The last-datagram delays of the frames that have one.
    pub fn last_delays(&self) -> Vec<f64> {
        self.frames.iter().filter_map(|f| f.last_ms).collect()
    }

    /// p50 and p99 of the frame delay (last datagram): the document's
    /// `metrics` when present, else computed from the timeline.
    pub fn frame_delay_p50_p99(&self) -> Option<(f64, f64)> {
        let from_doc = self
            .metrics
            .as_ref()
            .and_then(|m| m.frame_delay_ms)
            .and_then(|d| d.last)
            .filter(|p| p.count > 0)
            .map(|p| (p.p50, p.p99));
        from_doc.or_else(|| {
            let v = self.last_delays();
            Some((quantile(&v, 0.5)?, quantile(&v, 0.99)?))
        })
    }

    /// Freezes as (count, total ms, longest ms): the document's playout
    /// metrics when present, else from the timeline.
    pub fn freeze_summary(&self) -> (u64, f64, f64) {
        if let Some(p) = self.metrics.as_ref().and_then(|m| m.playout) {
            return (p.freezes, p.freeze_ms_total, p.freeze_ms_longest);
        }
        (
            self.freezes.len() as u64,
            // fold, not sum: an empty f64 sum is -0, printed "-0".
            self.freezes.iter().map(Freeze::ms).fold(0.0, |a, b| a + b),
            self.freezes.iter().map(Freeze::ms).fold(0.0, f64::max),
        )
    }

    /// Both ends on one host's clock: delays are absolute one-way delays.
    pub fn delay_is_one_way(&self) -> bool {
        self.metrics
            .as_ref()
            .and_then(|m| m.delay_basis.as_deref())
            .is_some_and(|b| b == "same_host")
    }

    pub fn delay_is_relative(&self) -> bool {
        self.metrics
            .as_ref()
            .and_then(|m| m.delay_basis.as_deref())
            .is_some_and(|b| b == "relative")
    }

    fn completed(&self) -> u64 {
        self.frames_completed
            .unwrap_or(self.count_of(Outcome::Completed) as u64)
    }

    /// Dropped at their tick, late frames included (as the document
    /// counts them).
    fn dropped(&self) -> u64 {
        self.frames_dropped
            .unwrap_or((self.count_of(Outcome::Dropped) + self.late()) as u64)
    }

    fn loss_percent(&self) -> Option<f64> {
        self.metrics
            .as_ref()
            .and_then(|m| m.datagrams)
            .map(|d| d.loss_percent)
    }

    /// The stream in one line: who, and the settings.
    pub fn settings_line(&self) -> String {
        let s = &self.settings;
        let mut parts = vec![format!(
            "{} {} \u{2190} {}",
            self.role, self.local, self.remote
        )];
        if let Some(b) = s.bits_per_second {
            parts.push(rate(b as f64));
        }
        if let Some(r) = s.frame_rate {
            parts.push(format!("{r} frames/s"));
        }
        if let Some(l) = s.stream_length_secs {
            parts.push(format!("{l} s"));
        }
        if let Some(d) = s.datagram_size {
            parts.push(format!("{d}-byte datagrams"));
        }
        if let Some(b) = s.buffer_depth_ms {
            parts.push(format!("buffer {b} ms"));
        }
        // Indexed from 0, as --stream is: "streams[1] of 2", not "1 of 2".
        parts.push(format!(
            "streams[{}] of {} in {}",
            self.index,
            self.count,
            file_name(&self.file)
        ));
        if !self.status.is_empty() && self.status != "completed" {
            parts.push(self.status.to_uppercase());
        }
        parts.join(" \u{b7} ")
    }

    /// The headline numbers in one line.
    pub fn headline(&self) -> String {
        let late = self.late();
        let dropped = if late > 0 {
            format!("dropped {} ({late} late)", self.dropped())
        } else {
            format!("dropped {}", self.dropped())
        };
        let mut parts = vec![format!("completed {}", self.completed()), dropped];
        if let Some(l) = self.loss_percent() {
            parts.push(format!("loss {l:.2} %"));
        }
        if let Some(j) = self.jitter_ms {
            parts.push(format!("jitter {} ms", num(j)));
        }
        if let Some((_, p99)) = self.frame_delay_p50_p99() {
            parts.push(format!("p99 frame delay {} ms", num(p99)));
        }
        let (n, total, _) = self.freeze_summary();
        parts.push(format!("freezes {n} ({} ms)", num(total)));
        parts.join(" \u{b7} ")
    }

    /// Name and value of every key number, for the report's table.
    pub fn key_numbers(&self) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = Vec::new();
        let mut row = |k: &str, v: String| rows.push((k.to_owned(), v));
        row(
            "frames completed / dropped / repeated",
            format!(
                "{} / {} / {}",
                self.completed(),
                self.dropped(),
                self.frames_repeated
                    .unwrap_or(self.count_of(Outcome::Repeated) as u64)
            ),
        );
        let m = self.metrics.clone().unwrap_or_default();
        let late = m.playout.map_or(self.late() as u64, |p| p.late_frames);
        row("frames late", late.to_string());
        if let Some(d) = m.datagrams {
            row(
                "datagrams lost",
                format!("{} of {} ({:.2} %)", d.lost, d.expected, d.loss_percent),
            );
            row(
                "datagrams duplicated / reordered",
                format!("{} / {}", d.duplicates, d.reordered),
            );
        }
        if let Some(j) = self.jitter_ms {
            row("jitter (RFC 3550)", format!("{} ms", num(j)));
        }
        let basis = if self.delay_is_relative() {
            " (relative)"
        } else {
            ""
        };
        if let Some((p50, p99)) = self.frame_delay_p50_p99() {
            row(
                &format!("frame delay{basis} p50 / p99"),
                format!("{} / {} ms", num(p50), num(p99)),
            );
        }
        let pct = |p: Option<Pct>| p.filter(|p| p.count > 0);
        if let Some(p) = pct(m.datagram_delay_ms) {
            row(
                "datagram delay p50 / p99",
                format!("{} / {} ms", num(p.p50), num(p.p99)),
            );
        }
        if let Some(p) = pct(m.pdv_ms) {
            row(
                "PDV p50 / p99",
                format!("{} / {} ms", num(p.p50), num(p.p99)),
            );
        }
        if let Some(p) = pct(m.ipdv_ms) {
            row(
                "IPDV p50 / p99",
                format!("{} / {} ms", num(p.p50), num(p.p99)),
            );
        }
        let (n, total, longest) = self.freeze_summary();
        row(
            "freezes / total / longest",
            format!("{n} / {} ms / {} ms", num(total), num(longest)),
        );
        if let Some(l) = m.loss_runs {
            row(
                "loss bursts / longest run",
                format!("{} / {} datagrams", l.bursts, l.longest_loss_run),
            );
        }
        if let Some(g) = m.goodput_bps {
            row("goodput", rate(g));
        }
        if let Some(p) = m.packets_per_second {
            row("packets per second", format!("{p:.0}"));
        }
        rows
    }
}

/// A number of milliseconds with about three significant digits.
pub fn num(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Bits per second with a unit.
pub fn rate(bps: f64) -> String {
    if bps >= 1e9 {
        format!("{} Gbit/s", num(bps / 1e9))
    } else if bps >= 1e6 {
        format!("{} Mbit/s", num(bps / 1e6))
    } else if bps >= 1e3 {
        format!("{} kbit/s", num(bps / 1e3))
    } else {
        format!("{bps:.0} bit/s")
    }
}

/// The last component of a path.
pub fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests;
