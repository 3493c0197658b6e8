//! Resolving a [`FrameSizes`] against a stream, and frame `n` of it.

use std::sync::Arc;

use super::{
    normal, Frame, FrameKind, FrameModel, FrameSizes, Gop, GopInterval, ModelError, Resolved,
    ResolvedGop, DETERMINISTIC_SLACK_BYTES,
};
use crate::settings::{Limits, StreamPlan, MIN_FRAME_SIZE};
use crate::wire::FRAME_DATA_HEADER_LEN;

/// The smallest datagram size a variable model runs with: every frame of
/// 40 bytes or more must split into datagrams that each hold the frame
/// data header and a payload byte (2 x 37 - 1).
pub const MIN_MODEL_DATAGRAM: u32 = 2 * (FRAME_DATA_HEADER_LEN as u32 + 1) - 1;

/// (sigma, mu) of a log-normal whose mean is `mean` and whose standard
/// deviation is `cv x mean`.
fn lognormal_params(mean: f64, cv: f64) -> (f64, f64) {
    let sigma2 = (1.0 + cv * cv).ln();
    (sigma2.sqrt(), mean.ln() - sigma2 / 2.0)
}

impl FrameSizes {
    /// This model for `plan`, checked against the default [`Limits`].
    pub fn resolve(&self, plan: &StreamPlan) -> Result<FrameModel, ModelError> {
        self.resolve_with(plan, &Limits::default())
    }

    /// This model for `plan`; no frame is larger than `limits` allow.
    pub fn resolve_with(
        &self,
        plan: &StreamPlan,
        limits: &Limits,
    ) -> Result<FrameModel, ModelError> {
        let mean = plan.frame_size() as f64;
        let frames = plan.stream_frames();
        let datagram_size = plan.settings().datagram_size;
        if !matches!(self, FrameSizes::Cbr) && datagram_size < MIN_MODEL_DATAGRAM {
            return Err(ModelError::new(
                format!("datagram size {datagram_size} is too small for a variable model"),
                format!("--datagram-size {MIN_MODEL_DATAGRAM} or more"),
            ));
        }
        let kind = match self {
            FrameSizes::Cbr => Resolved::Cbr(plan.frame_size()),
            FrameSizes::LogNormal(l) => {
                let rate = plan.bits_per_second() as f64;
                let cv = l.stdev_bps as f64 / rate;
                if cv > 4.0 {
                    return Err(ModelError::new(
                        format!("lognormal standard deviation {} bit/s", l.stdev_bps),
                        format!("0 to 4 x the rate ({} bit/s)", plan.bits_per_second() * 4),
                    ));
                }
                let (sigma, mu) = lognormal_params(mean, cv);
                Resolved::LogNormal {
                    mu,
                    sigma,
                    seed: l.seed,
                }
            }
            FrameSizes::Gop(g) => Resolved::Gop(resolve_gop(g, plan)?),
            FrameSizes::Trace(t) => {
                let factor = t.factor_for(plan)?;
                Resolved::Trace {
                    trace: Arc::new(t.clone()),
                    factor,
                }
            }
        };
        Ok(FrameModel {
            kind,
            mean,
            frames,
            max_size: limits.max_frame_size,
            datagram_size,
        })
    }
}

fn resolve_gop(g: &Gop, plan: &StreamPlan) -> Result<ResolvedGop, ModelError> {
    let fps = u64::from(plan.settings().frame_rate);
    let every = match g.interval {
        GopInterval::Frames(n) if (1..=100_000).contains(&n) => u64::from(n),
        GopInterval::Millis(ms) if (1..=3_600_000).contains(&ms) => {
            ((u64::from(ms) * fps + 500) / 1000).max(1)
        }
        GopInterval::Frames(n) => {
            return Err(ModelError::new(
                format!("gop every {n} frames"),
                "1 to 100000 frames",
            ))
        }
        GopInterval::Millis(ms) => {
            return Err(ModelError::new(
                format!("gop every {ms} ms"),
                "1 to 3600000 ms",
            ))
        }
    };
    if !(1.0..=1000.0).contains(&g.key_ratio) {
        return Err(ModelError::new(
            format!("gop key ratio {}", g.key_ratio),
            "1 to 1000",
        ));
    }
    if !(0.0..=4.0).contains(&g.variation) {
        return Err(ModelError::new(
            format!("gop variation {}", g.variation),
            "0 to 4",
        ));
    }
    // Keyframes in the stream: frames 1, 1 + every, ...
    let frames = plan.stream_frames();
    let keys = frames.div_ceil(every);
    let deltas = frames - keys;
    let delta = plan.total_bytes() as f64 / (keys as f64 * g.key_ratio + deltas as f64);
    let (sigma, _) = lognormal_params(1.0, g.variation);
    Ok(ResolvedGop {
        every,
        key: delta * g.key_ratio,
        delta,
        sigma,
        seed: g.seed,
    })
}

impl FrameModel {
    /// Frame `sequence` (1-based) of the stream.
    pub fn frame(&self, sequence: u64) -> Frame {
        let (size, kind, key) = match &self.kind {
            Resolved::Cbr(size) => return Frame::new(*size, FrameKind::Independent, 0),
            Resolved::LogNormal { mu, sigma, seed } => {
                let x = (mu + sigma * normal(*seed, sequence)).exp();
                (x, FrameKind::Independent, 0)
            }
            Resolved::Gop(g) => gop_frame(g, sequence),
            Resolved::Trace { trace, factor } => {
                let (bytes, kind, key) = trace.frame_at(sequence);
                (bytes as f64 * factor, kind, key)
            }
        };
        Frame::new(self.clamp(size), kind, key)
    }

    fn clamp(&self, size: f64) -> u64 {
        let size = if size.is_finite() { size.round() } else { 0.0 };
        (size as u64).clamp(MIN_FRAME_SIZE, self.max_size)
    }

    /// True for ctsTraffic's constant frames.
    pub fn is_cbr(&self) -> bool {
        matches!(self.kind, Resolved::Cbr(_))
    }

    /// The mean frame size the model aims at (the plan's frame size).
    pub fn mean_frame_size(&self) -> f64 {
        self.mean
    }

    /// Frames in the stream.
    pub fn stream_frames(&self) -> u64 {
        self.frames
    }

    /// The datagram size frames are split with.
    pub fn datagram_size(&self) -> u32 {
        self.datagram_size
    }

    /// The stated tolerance of the stream's average rate, as a fraction
    /// of the requested rate (module documentation).
    pub fn rate_tolerance(&self) -> f64 {
        let deterministic = DETERMINISTIC_FRACTION * DETERMINISTIC_SLACK_BYTES as f64 / self.mean;
        let cv = match &self.kind {
            Resolved::LogNormal { sigma, .. } => ((sigma * sigma).exp() - 1.0).sqrt(),
            Resolved::Gop(g) if g.sigma > 0.0 => ((g.sigma * g.sigma).exp() - 1.0).sqrt(),
            _ => return deterministic,
        };
        0.01 + 5.0 * cv / (self.frames as f64).sqrt()
    }
}

/// One byte per frame, as a fraction of the mean frame (plus rounding).
const DETERMINISTIC_FRACTION: f64 = 1.0;

fn gop_frame(g: &ResolvedGop, sequence: u64) -> (f64, FrameKind, u64) {
    let into = (sequence.max(1) - 1) % g.every;
    let key = sequence - into;
    let factor = if g.sigma > 0.0 {
        (g.sigma * normal(g.seed, sequence) - g.sigma * g.sigma / 2.0).exp()
    } else {
        1.0
    };
    if into == 0 {
        (g.key * factor, FrameKind::Key, key)
    } else {
        (g.delta * factor, FrameKind::Delta, key)
    }
}
