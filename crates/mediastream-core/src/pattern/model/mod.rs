//! Frame-size models (sans-IO): how big each frame of a v1 stream is and
//! what kind it is. A plain ctsTraffic stream is always [`FrameSizes::Cbr`].
//!
//! A model is resolved against a [`StreamPlan`](crate::settings::StreamPlan) into a [`FrameModel`],
//! whose [`FrameModel::frame`] is a pure function of the sequence number:
//! the sender, a skipped frame and a test's independent model all get the
//! same frame for the same number. Every frame is then cut into datagrams
//! by the stream's usual rule ([`crate::settings::FrameSplit`]).
//!
//! Average rate (over the whole stream, `StreamLength x FrameRate`
//! frames, headers included):
//! - `cbr`, `gop` without variation, `trace` scaled to a rate: the
//!   requested rate to within one byte per frame ([`DETERMINISTIC_SLACK_BYTES`]);
//! - `lognormal` and `gop` with variation draw every frame independently
//!   (as iperf2's `--isochronous` does), so the average is a sample mean:
//!   within 1 % + 5 standard errors, `0.01 + 5 x cv / sqrt(frames)` of
//!   the rate, where cv is the standard deviation over the mean
//!   ([`FrameModel::rate_tolerance`]).
//!
//! ```
//! use mediastream_core::pattern::model::{FrameKind, FrameSizes, Gop};
//! use mediastream_core::settings::StreamSettings;
//!
//! let plan = StreamSettings::new(2_400_000, 30, 4).plan().unwrap();
//! let model = FrameSizes::Gop(Gop::every_frames(30, 10.0)).resolve(&plan).unwrap();
//! assert_eq!(model.frame(1).kind, FrameKind::Key);
//! assert_eq!(model.frame(2).kind, FrameKind::Delta);
//! assert_eq!(model.frame(2).key, 1);
//! assert_eq!(model.frame(31).key, 31);
//! let total: u64 = (1..=120).map(|n| model.frame(n).size).sum();
//! assert!(total.abs_diff(plan.total_bytes()) <= 120);
//! ```

mod profile;
mod request;
mod resolve;
mod trace;

use std::sync::Arc;

pub use profile::{profile, Profile, PROFILE_NAMES};
pub use resolve::MIN_MODEL_DATAGRAM;
pub use trace::{Trace, TraceEnd, TraceError, TraceFrame};

use crate::rand::SplitMix64;

/// How far a deterministic model's stream total may be from the request:
/// one byte per frame (rounding each frame to whole bytes).
pub const DETERMINISTIC_SLACK_BYTES: u64 = 1;

/// What a frame is to a decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameKind {
    /// Decodable alone and nothing depends on it (CBR, log-normal, audio).
    Independent,
    /// A keyframe: decodable alone; later deltas depend on it.
    Key,
    /// A delta frame: decodable only with its keyframe.
    Delta,
}

impl FrameKind {
    /// The byte the frame data header carries (PROTOCOL.md).
    pub fn code(self) -> u8 {
        match self {
            FrameKind::Independent => 0,
            FrameKind::Key => 1,
            FrameKind::Delta => 2,
        }
    }

    /// The kind for a header byte; unknown values are `None`.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(FrameKind::Independent),
            1 => Some(FrameKind::Key),
            2 => Some(FrameKind::Delta),
            _ => None,
        }
    }

    /// Lower-case name, as JSON and text print it.
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Independent => "independent",
            FrameKind::Key => "key",
            FrameKind::Delta => "delta",
        }
    }
}

/// One frame of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Frame {
    /// Bytes on the wire, every datagram's header included.
    pub size: u64,
    /// Its kind.
    pub kind: FrameKind,
    /// The sequence number of the keyframe it depends on: itself for a
    /// keyframe, 0 for an independent frame.
    pub key: u64,
}

impl Frame {
    /// A frame of `size` bytes of `kind` depending on keyframe `key`.
    pub fn new(size: u64, kind: FrameKind, key: u64) -> Self {
        Self { size, kind, key }
    }
}

/// Log-normal frame sizes: iperf2's `--isochronous=fps:mean,stdev`.
/// iperf2 draws a rate from a log-normal distribution of mean `mean` and
/// standard deviation `stdev` (bits/s) and sends rate / (8 x fps) bytes;
/// here the mean is the stream's rate and each frame is
/// drawn the same way, independently, from `seed` and its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LogNormal {
    /// Standard deviation of the rate, bits/s (at most 4 x the rate).
    pub stdev_bps: u64,
    /// Seed of the draws.
    pub seed: u64,
}

impl LogNormal {
    /// Log-normal sizes with this standard deviation (bits/s) and seed.
    pub fn new(stdev_bps: u64, seed: u64) -> Self {
        Self { stdev_bps, seed }
    }
}

/// How often a GOP model sends a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GopInterval {
    /// Every this many frames (1 to 100,000).
    Frames(u32),
    /// Every this many milliseconds, rounded to whole frames (at least one).
    Millis(u32),
}

/// Keyframes and deltas: a keyframe every interval, `key_ratio` times the
/// size of a delta, sizes chosen so the stream's total is the request.
/// `variation` (standard deviation over mean, 0 for none) multiplies each
/// frame by an independent log-normal factor of mean 1.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Gop {
    /// Keyframe interval.
    pub interval: GopInterval,
    /// Keyframe size over delta size (1 to 1000).
    pub key_ratio: f64,
    /// Coefficient of variation of every frame (0 to 4).
    pub variation: f64,
    /// Seed of the variation.
    pub seed: u64,
}

impl Gop {
    /// A keyframe every `frames` frames, `key_ratio` times a delta's size.
    pub fn every_frames(frames: u32, key_ratio: f64) -> Self {
        Self {
            interval: GopInterval::Frames(frames),
            key_ratio,
            variation: 0.0,
            seed: 0,
        }
    }
}

/// The frame-size model of a stream, as a user chooses it.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum FrameSizes {
    /// Every frame the plan's frame size (ctsTraffic's; the default).
    #[default]
    Cbr,
    /// Log-normal sizes (iperf2's isochronous mode).
    LogNormal(LogNormal),
    /// Keyframes and deltas.
    Gop(Gop),
    /// Sizes and kinds replayed from a trace.
    Trace(Trace),
}

/// Why a model does not fit a stream; `option` names the command-line
/// option and `accepted` what it takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--frame-sizes: {what}: accepted {accepted}")]
#[non_exhaustive]
pub struct ModelError {
    /// What is wrong.
    pub what: String,
    /// What is accepted.
    pub accepted: String,
}

impl ModelError {
    /// An error saying what is wrong and what is accepted.
    pub fn new(what: impl Into<String>, accepted: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            accepted: accepted.into(),
        }
    }
}

/// A model resolved against a stream: frame `n`'s size and kind.
#[derive(Debug, Clone)]
pub struct FrameModel {
    kind: Resolved,
    mean: f64,
    frames: u64,
    max_size: u64,
    datagram_size: u32,
}

#[derive(Debug, Clone)]
enum Resolved {
    Cbr(u64),
    LogNormal { mu: f64, sigma: f64, seed: u64 },
    Gop(ResolvedGop),
    Trace { trace: Arc<Trace>, factor: f64 },
}

#[derive(Debug, Clone, Copy)]
struct ResolvedGop {
    every: u64,
    key: f64,
    delta: f64,
    sigma: f64,
    seed: u64,
}

/// A standard normal draw, a pure function of `seed` and `sequence`
/// (Box-Muller over two SplitMix64 outputs).
fn normal(seed: u64, sequence: u64) -> f64 {
    let base = SplitMix64::mix(seed).wrapping_add(sequence.wrapping_mul(2));
    let u1 = ((SplitMix64::mix(base) >> 11) + 1) as f64 / (1u64 << 53) as f64;
    let u2 = (SplitMix64::mix(base.wrapping_add(1)) >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests;
