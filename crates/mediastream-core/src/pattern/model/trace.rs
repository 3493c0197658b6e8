//! Frame traces: sizes and kinds replayed from a file.
//!
//! Two CSV formats, told apart line by line by the third field:
//! - ffprobe's `pts_time,size,flags` (`ffprobe -select_streams v:0
//!   -show_entries packet=pts_time,size,flags -of csv=p=0 FILE`): seconds,
//!   bytes, flags of `K` (keyframe), `D`, `C` and `_`, at least two;
//! - plain `time_ms,bytes,type`, type `K`/`key`/`I` (keyframe),
//!   `D`/`delta`/`P`/`B` (delta) or `N`/`independent`/`A`/`audio`.
//!
//! Blank lines, `#` comments and a header line (first field not a number)
//! are skipped. Frames are replayed in file order (ffprobe prints packets
//! in decode order, the order an encoder sends them) at the stream's frame
//! rate ([`Trace::frame_rate`] derives one from the times).

use std::sync::Arc;

use super::{FrameKind, ModelError};
use crate::settings::{StreamPlan, MIN_FRAME_SIZE};

/// One frame of a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct TraceFrame {
    /// Its time in seconds (presentation time for ffprobe's format).
    pub time_secs: f64,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its kind.
    pub kind: FrameKind,
}

impl TraceFrame {
    /// A frame of `bytes` of `kind` at `time_secs`.
    pub fn new(time_secs: f64, bytes: u64, kind: FrameKind) -> Self {
        Self {
            time_secs,
            bytes,
            kind,
        }
    }
}

/// What a stream longer than its trace does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TraceEnd {
    /// Starts again from the first frame (the default).
    #[default]
    Loop,
    /// The stream may be no longer than the trace (checked when resolved).
    Stop,
}

/// A trace line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
#[non_exhaustive]
pub struct TraceError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub what: String,
}

/// A frame trace, with what to do at its end and whether to scale its
/// sizes to the stream's rate.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Trace {
    frames: Arc<[TraceFrame]>,
    /// Frames back from each frame to its keyframe, across the loop; `None`
    /// when the trace has no keyframe.
    key_back: Option<Arc<[u32]>>,
    /// Loop or stop.
    pub at_end: TraceEnd,
    /// Scale every size so the stream's average is its requested rate.
    pub scale: bool,
}

fn kind_of(field: &str) -> Option<(FrameKind, bool)> {
    let ffprobe = field.len() >= 2 && field.chars().all(|c| matches!(c, 'K' | 'D' | 'C' | '_'));
    if ffprobe {
        let kind = if field.starts_with('K') {
            FrameKind::Key
        } else {
            FrameKind::Delta
        };
        return Some((kind, true));
    }
    let kind = match field.to_ascii_lowercase().as_str() {
        "k" | "key" | "i" => FrameKind::Key,
        "d" | "delta" | "p" | "b" => FrameKind::Delta,
        "n" | "independent" | "a" | "audio" => FrameKind::Independent,
        _ => return None,
    };
    Some((kind, false))
}

fn parse_line(line: &str, number: usize) -> Result<Option<TraceFrame>, TraceError> {
    let err = |what: String| TraceError { line: number, what };
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [time, size, flags, ..] = fields[..] else {
        return Err(err(format!(
            "{line:?} has {} field(s), needs 3",
            fields.len()
        )));
    };
    let Ok(time) = time.parse::<f64>() else {
        return if number == 1 {
            Ok(None)
        } else {
            Err(err(format!("time {time:?} is not a number")))
        };
    };
    let bytes: u64 = size
        .parse()
        .map_err(|_| err(format!("size {size:?} is not a whole number of bytes")))?;
    let (kind, ffprobe) = kind_of(flags).ok_or_else(|| {
        err(format!("frame type {flags:?}: accepted ffprobe flags (K_, __) or K, D, N, key, delta, I, P, B, audio"))
    })?;
    if !time.is_finite() || bytes == 0 {
        return Err(err(format!(
            "time {time} and size {bytes}: need a finite time and a size above 0"
        )));
    }
    let time_secs = if ffprobe { time } else { time / 1000.0 };
    Ok(Some(TraceFrame::new(time_secs, bytes, kind)))
}

impl Trace {
    /// Reads a trace in either format (module documentation).
    pub fn parse(text: &str) -> Result<Self, TraceError> {
        let mut frames = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if let Some(frame) = parse_line(line, i + 1)? {
                frames.push(frame);
            }
        }
        Self::from_frames(frames).ok_or(TraceError {
            line: text.lines().count(),
            what: "no frames in the trace".into(),
        })
    }

    /// A trace of these frames (`None` when empty); loops, not scaled.
    pub fn from_frames(frames: Vec<TraceFrame>) -> Option<Self> {
        if frames.is_empty() {
            return None;
        }
        let key_back = key_distances(&frames);
        Some(Self {
            frames: frames.into(),
            key_back,
            at_end: TraceEnd::Loop,
            scale: false,
        })
    }

    /// The frames, in replay order.
    pub fn frames(&self) -> &[TraceFrame] {
        &self.frames
    }

    /// Frames per second from the times: (frames - 1) / (last - first
    /// time), rounded; 1 when the times do not say.
    pub fn frame_rate(&self) -> u32 {
        let (lo, hi) = self
            .frames
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), f| {
                (lo.min(f.time_secs), hi.max(f.time_secs))
            });
        let span = hi - lo;
        if self.frames.len() < 2 || span <= 0.0 {
            return 1;
        }
        ((self.frames.len() - 1) as f64 / span)
            .round()
            .clamp(1.0, 10_000.0) as u32
    }

    /// The trace's own rate at `frame_rate` frames/s, bits/s.
    pub fn bits_per_second(&self, frame_rate: u32) -> u64 {
        let bytes: u64 = self.frames.iter().map(|f| f.bytes).sum();
        bytes * 8 * u64::from(frame_rate) / self.frames.len() as u64
    }

    /// Whole seconds the trace lasts at `frame_rate` (at least 1).
    pub fn length_secs(&self, frame_rate: u32) -> u32 {
        (self.frames.len() as u64 / u64::from(frame_rate.max(1))).clamp(1, u64::from(u32::MAX))
            as u32
    }

    /// Frame `sequence`'s bytes, kind and keyframe sequence number.
    pub(super) fn frame_at(&self, sequence: u64) -> (u64, FrameKind, u64) {
        let len = self.frames.len() as u64;
        let index = match self.at_end {
            TraceEnd::Loop => (sequence.max(1) - 1) % len,
            TraceEnd::Stop => (sequence.max(1) - 1).min(len - 1),
        };
        let frame = self.frames[index as usize];
        let back = self.key_back.as_ref().map(|k| u64::from(k[index as usize]));
        match (frame.kind, back) {
            (FrameKind::Key, _) => (frame.bytes, FrameKind::Key, sequence),
            (FrameKind::Delta, Some(back)) if back < sequence => {
                (frame.bytes, FrameKind::Delta, sequence - back)
            }
            // Before the trace's first keyframe, or a trace without any.
            _ => (frame.bytes, FrameKind::Independent, 0),
        }
    }

    /// The factor every size is multiplied by for `plan`.
    pub(super) fn factor_for(&self, plan: &StreamPlan) -> Result<f64, ModelError> {
        let frames = plan.stream_frames();
        let len = self.frames.len() as u64;
        if self.at_end == TraceEnd::Stop && frames > len {
            return Err(ModelError::new(
                format!("the stream has {frames} frames, the trace {len} (trace:FILE,stop)"),
                "a --stream-length no longer than the trace, or loop",
            ));
        }
        if !self.scale {
            return Ok(1.0);
        }
        // Trace frame i plays `times(i)` times in the stream.
        let times = |i: usize| frames / len + u64::from((i as u64) < frames % len);
        let total = plan.total_bytes() as f64;
        let bytes: f64 = (self.frames.iter().enumerate())
            .map(|(i, f)| times(i) as f64 * f.bytes as f64)
            .sum();
        let mut factor = total / bytes;
        // A frame scaled below the smallest frame is sent at that size,
        // which would put the stream over its rate: give those frames
        // their size and scale the others to the rest (a few rounds: each
        // can only pull more frames up to the minimum).
        let floor = MIN_FRAME_SIZE as f64;
        for _ in 0..8 {
            let (mut fixed, mut scaled) = (0.0, 0.0);
            for (i, f) in self.frames.iter().enumerate() {
                let n = times(i) as f64;
                if f.bytes as f64 * factor < floor {
                    fixed += n * floor;
                } else {
                    scaled += n * f.bytes as f64;
                }
            }
            if scaled == 0.0 || fixed == 0.0 || total <= fixed {
                break;
            }
            let next = (total - fixed) / scaled;
            if next == factor {
                break;
            }
            factor = next;
        }
        Ok(factor)
    }
}

/// For every frame, how many frames back its keyframe is, counting
/// across the loop (a trace's first deltas depend on its last keyframe
/// after the first pass).
fn key_distances(frames: &[TraceFrame]) -> Option<Arc<[u32]>> {
    let last_key = frames.iter().rposition(|f| f.kind == FrameKind::Key)?;
    let mut back = Vec::with_capacity(frames.len());
    let mut since = (frames.len() - 1 - last_key) as u32;
    for f in frames {
        since = if f.kind == FrameKind::Key {
            0
        } else {
            since.saturating_add(1)
        };
        back.push(since);
    }
    Some(back.into())
}
