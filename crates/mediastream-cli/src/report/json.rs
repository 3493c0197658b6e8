//! The JSON document (`--json`). Schema in docs/json.md; keys are added,
//! never renamed.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::{bits_per_second, failure, frames, Failure, Totals};
use mediastream_core::pattern::Role;
use mediastream_core::server::StreamResult;

/// Version of the document's layout.
pub const SCHEMA: u32 = 1;

#[derive(Serialize)]
pub struct Document<'a> {
    pub schema: u32,
    pub tool: &'static str,
    pub version: &'static str,
    pub command: &'a str,
    pub interrupted: bool,
    pub streams: Vec<Stream>,
    pub totals: TotalsJson,
}

#[derive(Serialize)]
pub struct Settings {
    pub bits_per_second: u64,
    pub frame_rate: u32,
    pub stream_length_secs: u32,
    pub datagram_size: u32,
    pub buffer_depth_ms: u32,
    pub frame_size: u64,
    pub stream_frames: u64,
}

#[derive(Serialize)]
pub struct Quantiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub steady_max: f64,
    pub steady: bool,
    pub frames: u64,
}

#[derive(Serialize)]
pub struct Rtt {
    pub samples: u64,
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

#[derive(Serialize)]
pub struct PeerReport {
    pub is_final: bool,
    pub frames_completed: u64,
    pub frames_dropped: u64,
    pub frames_repeated: u64,
    pub frames_error: u64,
    pub datagrams_received: u64,
    pub bytes_received: u64,
    pub datagrams_corrupt: u64,
    pub jitter_ms: f64,
}

#[derive(Serialize)]
pub struct PeerEnd {
    pub frames_sent: u64,
    pub datagrams_sent: u64,
    pub bytes_sent: u64,
}

#[derive(Serialize)]
pub struct Peer {
    pub report: Option<PeerReport>,
    pub end: Option<PeerEnd>,
}

#[derive(Serialize)]
pub struct Stream {
    pub role: &'static str,
    pub local: String,
    pub remote: String,
    pub connection_id: Option<String>,
    pub v1: bool,
    pub status: &'static str,
    pub error: Option<String>,
    pub error_kind: Option<&'static str>,
    pub settings: Settings,
    pub duration_secs: f64,
    pub view: &'static str,
    pub frames_completed: u64,
    pub frames_dropped: u64,
    pub frames_repeated: u64,
    pub frames_error: u64,
    pub bytes_received: u64,
    pub datagrams_received: u64,
    pub jitter_ms: f64,
    pub bits_per_second: f64,
    pub datagrams_corrupt: u64,
    pub datagrams_malformed: u64,
    pub frames_sent: u64,
    pub datagrams_sent: u64,
    pub bytes_sent: u64,
    pub lateness_us: Option<Quantiles>,
    pub rtt_ms: Option<Rtt>,
    pub peer: Option<Peer>,
}

#[derive(Serialize)]
pub struct TotalsJson {
    pub streams: u64,
    pub succeeded: u64,
    pub network_errors: u64,
    pub protocol_errors: u64,
    pub frames_completed: u64,
    pub frames_dropped: u64,
    pub frames_repeated: u64,
    pub frames_error: u64,
    pub bytes_received: u64,
    pub datagrams_received: u64,
    pub jitter_ms: f64,
    pub jitter_ms_max: f64,
    pub bytes_sent: u64,
    pub datagrams_sent: u64,
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn stream(r: &StreamResult) -> Stream {
    let s = &r.stats;
    let (f, source) = frames(r);
    let p = r.plan.settings();
    let lateness = (s.lateness.frames > 0).then(|| {
        let q = |x| {
            s.lateness
                .histogram
                .quantile(x)
                .unwrap_or_default()
                .as_secs_f64()
                * 1e6
        };
        Quantiles {
            p50: q(0.5),
            p99: q(0.99),
            max: s.lateness.max.as_secs_f64() * 1e6,
            steady_max: s.lateness.steady_max.as_secs_f64() * 1e6,
            steady: s.lateness.steady,
            frames: s.lateness.frames,
        }
    });
    let rtt = s.rtt.mean().map(|mean| Rtt {
        samples: s.rtt.samples,
        min: ms(s.rtt.min),
        mean: ms(mean),
        max: ms(s.rtt.max),
    });
    let peer = r.v1.then(|| Peer {
        report: s.peer_report.map(|p| PeerReport {
            is_final: p.is_final,
            frames_completed: p.frames_completed,
            frames_dropped: p.frames_dropped,
            frames_repeated: p.frames_repeated,
            frames_error: p.frames_error,
            datagrams_received: p.datagrams_received,
            bytes_received: p.bytes_received,
            datagrams_corrupt: p.datagrams_corrupt,
            jitter_ms: p.jitter_ns as f64 / 1e6,
        }),
        end: s.peer_end.map(|e| PeerEnd {
            frames_sent: e.frames_sent,
            datagrams_sent: e.datagrams_sent,
            bytes_sent: e.bytes_sent,
        }),
    });
    Stream {
        role: match r.role {
            Role::Sender => "sender",
            Role::Receiver => "receiver",
        },
        local: r.local.to_string(),
        remote: r.remote.to_string(),
        connection_id: r.connection_id.map(|c| c.to_string()),
        v1: r.v1,
        status: if r.succeeded() { "completed" } else { "failed" },
        error: match &r.status {
            mediastream_core::pattern::Status::Failed(e) => Some(e.to_string()),
            _ => None,
        },
        error_kind: failure(r).map(|f| match f {
            Failure::Network => "network",
            Failure::Protocol => "protocol",
        }),
        settings: Settings {
            bits_per_second: r.plan.bits_per_second(),
            frame_rate: p.frame_rate,
            stream_length_secs: p.stream_length_secs,
            datagram_size: p.datagram_size,
            buffer_depth_ms: p.buffer_depth_ms,
            frame_size: r.plan.frame_size(),
            stream_frames: r.plan.stream_frames(),
        },
        duration_secs: r.ended.saturating_duration_since(r.started).as_secs_f64(),
        view: source.name(),
        frames_completed: f.completed,
        frames_dropped: f.dropped,
        frames_repeated: f.repeated,
        frames_error: f.error,
        bytes_received: f.bytes_received,
        datagrams_received: f.datagrams_received,
        jitter_ms: f.jitter_ms,
        bits_per_second: bits_per_second(r),
        datagrams_corrupt: s.datagrams_corrupt,
        datagrams_malformed: s.datagrams_malformed,
        frames_sent: s.frames_sent,
        datagrams_sent: s.datagrams_sent,
        bytes_sent: s.bytes_sent,
        lateness_us: lateness,
        rtt_ms: rtt,
        peer,
    }
}

pub fn totals(t: &Totals) -> TotalsJson {
    TotalsJson {
        streams: t.streams,
        succeeded: t.succeeded,
        network_errors: t.network_errors,
        protocol_errors: t.protocol_errors,
        frames_completed: t.frames.completed,
        frames_dropped: t.frames.dropped,
        frames_repeated: t.frames.repeated,
        frames_error: t.frames.error,
        bytes_received: t.frames.bytes_received,
        datagrams_received: t.frames.datagrams_received,
        jitter_ms: t.frames.jitter_ms,
        jitter_ms_max: t.jitter_ms_max,
        bytes_sent: t.bytes_sent,
        datagrams_sent: t.datagrams_sent,
    }
}

pub fn document<'a>(command: &'a str, results: &[StreamResult], interrupted: bool) -> Document<'a> {
    Document {
        schema: SCHEMA,
        tool: "mediastream",
        version: env!("CARGO_PKG_VERSION"),
        command,
        interrupted,
        streams: results.iter().map(stream).collect(),
        totals: totals(&Totals::of(results)),
    }
}

/// Writes the document to `target` (`-` for stdout). A file is written
/// beside its final name and renamed into place, so a reader (or a
/// Ctrl-C) never sees half a document.
pub fn write(target: &str, doc: &Document<'_>) -> io::Result<()> {
    let text = serde_json::to_string_pretty(doc).map_err(io::Error::other)?;
    if target == "-" {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")?;
        return out.flush();
    }
    let path = Path::new(target);
    let tmp = path.with_extension("json.partial");
    let fail = |e: io::Error| io::Error::new(e.kind(), format!("--json {target}: {e}"));
    std::fs::write(&tmp, format!("{text}\n")).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}
