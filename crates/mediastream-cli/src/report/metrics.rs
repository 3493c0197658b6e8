//! The receive metrics in the JSON document (`streams[].metrics`,
//! `streams[].timeline`) and the histogram CSV. Definitions:
//! docs/metrics.md.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use mediastream_core::pattern::metrics::{DelayHistogram, TimelineOutcome, GMIN};
use mediastream_core::pattern::ReceiveMetrics;
use mediastream_core::server::StreamResult;

/// Percentiles of a delay, milliseconds. The leaf objects of `metrics`
/// are read back by `plot` with the same structs; absent keys read as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pct {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrameDelay {
    pub first: Option<Pct>,
    pub last: Option<Pct>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Datagrams {
    pub expected: u64,
    pub received_unique: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub reordered: u64,
    pub late: u64,
    pub loss_percent: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LossRunsJson {
    pub gmin: u64,
    pub bursts: u64,
    pub burst_density: f64,
    pub gap_density: f64,
    pub burst_ms_mean: f64,
    pub gap_ms_mean: f64,
    pub longest_loss_run: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlayoutJson {
    pub late_frames: u64,
    pub freezes: u64,
    pub freeze_ms_total: f64,
    pub freeze_ms_longest: f64,
}

#[derive(Debug, Serialize)]
pub struct MetricsJson {
    pub delay_basis: &'static str,
    pub frame_delay_ms: FrameDelay,
    pub datagram_delay_ms: Option<Pct>,
    pub pdv_ms: Option<Pct>,
    pub ipdv_ms: Option<Pct>,
    pub datagrams: Datagrams,
    pub loss_runs: LossRunsJson,
    pub playout: PlayoutJson,
    pub packets_per_second: f64,
    pub goodput_bps: f64,
    pub timeline_truncated: bool,
    /// Frame data streams only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoder: Option<super::decoder::DecoderJson>,
}

#[derive(Debug, Serialize)]
pub struct TimelineJson {
    pub seq: u64,
    pub due_ms: f64,
    pub outcome: &'static str,
    pub first_ms: Option<f64>,
    pub last_ms: Option<f64>,
    pub datagrams: u32,
    /// Frame data streams: the frame's size and kind as its datagrams
    /// said (absent when none came in time) and whether it was decodable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decodable: Option<bool>,
}

/// Where delays are measured from: the raw value on one host's clock, or
/// the stream's smallest delay.
#[derive(Debug, Clone, Copy)]
pub struct Basis {
    pub name: &'static str,
    offset_ns: i64,
}

impl Basis {
    /// Absolute one-way delay when both ends are on this host (they stamp
    /// with its monotonic clock) and the smallest delay is plausible;
    /// otherwise delays relative to the smallest one.
    pub fn of(m: &ReceiveMetrics, local: SocketAddr, remote: SocketAddr) -> Self {
        let min = m
            .datagram_delay
            .min()
            .or_else(|| m.frame_first_delay.min())
            .unwrap_or(0);
        let same_host = remote.ip().is_loopback() || remote.ip() == local.ip();
        if same_host && (0..10_000_000_000).contains(&min) {
            Basis {
                name: "same_host",
                offset_ns: 0,
            }
        } else {
            Basis {
                name: "relative",
                offset_ns: min,
            }
        }
    }

    pub fn ms(&self, raw_ns: i64) -> f64 {
        (i128::from(raw_ns) - i128::from(self.offset_ns)) as f64 / 1e6
    }
}

/// Percentiles of `h` in ms, each value shifted by `offset_ns`.
fn pct(h: &DelayHistogram, shift: impl Fn(i64) -> f64) -> Option<Pct> {
    let q = |x| h.quantile(x).map(&shift).unwrap_or(0.0);
    Some(Pct {
        count: h.count(),
        min: shift(h.min()?),
        mean: h.mean().map_or(0.0, |m| shift(m.round() as i64)),
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        p999: q(0.999),
        max: shift(h.max()?),
    })
}

/// The `metrics` object of a stream this end received.
pub fn metrics(r: &StreamResult) -> Option<MetricsJson> {
    let m = r.stats.metrics.as_deref()?;
    let basis = Basis::of(m, r.local, r.remote);
    let delay = |h: &DelayHistogram| pct(h, |ns| basis.ms(ns));
    let min = m.datagram_delay.min().unwrap_or(0);
    let plan = &r.plan;
    let frame_ms = plan.frame_interval().as_secs_f64() * 1e3;
    let datagram_ms = frame_ms / plan.split().datagram_count().max(1) as f64;
    let lr = &m.loss_runs;
    let s = &r.stats;
    let rendered = s.frames_completed + s.frames_dropped + s.frames_repeated;
    let span = match (s.first_received, s.last_received) {
        (Some(a), Some(b)) if b > a => (b - a).as_secs_f64(),
        _ => 0.0,
    };
    Some(MetricsJson {
        delay_basis: basis.name,
        frame_delay_ms: FrameDelay {
            first: delay(&m.frame_first_delay),
            last: delay(&m.frame_last_delay),
        },
        datagram_delay_ms: delay(&m.datagram_delay),
        pdv_ms: pct(&m.datagram_delay, |ns| (ns - min) as f64 / 1e6),
        ipdv_ms: pct(&m.ipdv, |ns| ns as f64 / 1e6),
        datagrams: Datagrams {
            expected: m.datagrams.expected,
            received_unique: m.datagrams.received_unique,
            lost: m.datagrams.lost(),
            duplicates: m.datagrams.duplicates,
            reordered: m.datagrams.reordered,
            late: m.datagrams.late,
            loss_percent: m.datagrams.loss_percent(),
        },
        loss_runs: LossRunsJson {
            gmin: GMIN,
            bursts: lr.bursts,
            burst_density: lr.burst_density(),
            gap_density: lr.gap_density(),
            burst_ms_mean: lr.burst_mean() * datagram_ms,
            gap_ms_mean: lr.gap_mean() * datagram_ms,
            longest_loss_run: lr.longest_loss_run,
        },
        playout: PlayoutJson {
            late_frames: m.playout.late_frames,
            freezes: m.playout.freezes,
            freeze_ms_total: m.playout.frozen_frames as f64 * frame_ms,
            freeze_ms_longest: m.playout.longest_freeze_frames as f64 * frame_ms,
        },
        packets_per_second: if span > 0.0 {
            s.datagrams_received as f64 / span
        } else {
            0.0
        },
        goodput_bps: if rendered > 0 {
            (m.completed_bytes * 8) as f64 / (rendered as f64 * frame_ms / 1e3)
        } else {
            0.0
        },
        timeline_truncated: m.timeline_truncated,
        decoder: super::decoder::DecoderJson::of(&m.decoder, frame_ms),
    })
}

/// The `timeline` array of a stream this end received, when kept.
pub fn timeline(r: &StreamResult) -> Option<Vec<TimelineJson>> {
    let m = r.stats.metrics.as_deref()?;
    let basis = Basis::of(m, r.local, r.remote);
    let frames = m.timeline.as_ref()?;
    Some(
        frames
            .iter()
            .map(|f| TimelineJson {
                seq: f.sequence,
                due_ms: f.due.as_secs_f64() * 1e3,
                outcome: match f.outcome {
                    TimelineOutcome::Completed => "completed",
                    TimelineOutcome::Dropped => "dropped",
                    TimelineOutcome::Repeated => "repeated",
                    TimelineOutcome::Late => "late",
                },
                first_ms: f.first_delay_ns.map(|ns| basis.ms(ns)),
                last_ms: f.last_delay_ns.map(|ns| basis.ms(ns)),
                datagrams: f.datagrams,
                size: f.shape.map(|s| s.size),
                kind: f.shape.map(|s| s.kind.name()),
                decodable: f.decodable,
            })
            .collect(),
    )
}
