//! The JSON document (`--json`). Schema in docs/json.md; keys are added,
//! never renamed.

use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{bits_per_second, failure, frames, Failure};
use mediastream_core::marking::{MarkCounts, Marking};
use mediastream_core::pattern::Role;
use mediastream_core::server::StreamResult;

/// Version of the document's layout.
pub const SCHEMA: u32 = 1;

/// The whole document. `S` is the stream object: [`Stream`] for a run's
/// own results, `serde_json::Value` for `merge`, which keeps every key of
/// every input stream.
#[derive(Serialize)]
pub struct Document<'a, S = Stream> {
    pub schema: u32,
    pub tool: &'static str,
    pub version: &'static str,
    pub command: &'a str,
    pub interrupted: bool,
    pub streams: Vec<S>,
    pub totals: TotalsJson,
    /// The server's request counters (`server` command only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerCounters>,
}

/// The server's counters as one JSON object, names as in
/// [`mediastream_core::server::ServerStats`].
pub struct ServerCounters(pub mediastream_core::server::ServerStats);

impl Serialize for ServerCounters {
    fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        use serde::ser::SerializeMap;
        let fields = self.0.fields();
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for (name, value) in fields {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
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
    /// Data datagrams whose sender timestamp was implausible, left out of
    /// jitter and delays (docs/metrics.md).
    pub timestamps_implausible: u64,
    pub frames_sent: u64,
    pub datagrams_sent: u64,
    pub bytes_sent: u64,
    pub frames_skipped: u64,
    pub datagrams_unsent: u64,
    pub lateness_us: Option<Quantiles>,
    pub rtt_ms: Option<Rtt>,
    pub peer: Option<Peer>,
    pub metrics: Option<super::metrics::MetricsJson>,
    pub timeline: Option<Vec<super::metrics::TimelineJson>>,
    pub marking: Option<MarkingJson>,
}

/// A DSCP / ECN marking as JSON: the code point and its name.
#[derive(Serialize)]
pub struct MarkingSetJson {
    pub dscp: Option<u8>,
    pub dscp_name: Option<String>,
    pub ecn: Option<&'static str>,
}

#[derive(Serialize)]
pub struct EcnJson {
    pub not_ect: u64,
    pub ect1: u64,
    pub ect0: u64,
    pub ce: u64,
}

/// `streams[].marking` (docs/json.md).
#[derive(Serialize)]
pub struct MarkingJson {
    pub view: &'static str,
    pub requested: Option<MarkingSetJson>,
    pub datagrams: u64,
    pub dscp: std::collections::BTreeMap<u8, u64>,
    pub ecn: EcnJson,
    pub dscp_kept: Option<bool>,
    pub ecn_kept: Option<bool>,
}

impl MarkingJson {
    /// The counts of `r` (own or the peer's) against `requested`; `None`
    /// when there are neither.
    pub fn of(r: &StreamResult, requested: Option<Marking>) -> Option<Self> {
        let counts = super::marks(r);
        if counts.is_none() && requested.is_none() {
            return None;
        }
        let (m, source) = counts.unwrap_or((MarkCounts::new(), super::Source::Unknown));
        let kept = requested.map(|asked| m.kept(asked)).unwrap_or_default();
        Some(Self {
            view: source.name(),
            requested: requested.map(|asked| MarkingSetJson {
                dscp: asked.dscp.map(|d| d.value()),
                dscp_name: asked.dscp.and_then(|d| d.name()).map(str::to_owned),
                ecn: asked.ecn.map(|e| e.name()),
            }),
            datagrams: m.datagrams,
            dscp: m.dscp_seen().map(|(d, n)| (d.value(), n)).collect(),
            ecn: EcnJson {
                not_ect: m.not_ect(),
                ect1: m.ect1(),
                ect0: m.ect0(),
                ce: m.ce(),
            },
            dscp_kept: kept.dscp,
            ecn_kept: kept.ecn,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// A finished stream as the document's stream object.
pub fn stream(r: &StreamResult) -> Stream {
    let s = &r.stats;
    let (f, source) = frames(r);
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
        settings: settings(r),
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
        timestamps_implausible: s.timestamps_implausible,
        frames_sent: s.frames_sent,
        datagrams_sent: s.datagrams_sent,
        bytes_sent: s.bytes_sent,
        frames_skipped: s.frames_skipped,
        datagrams_unsent: s.datagrams_unsent,
        lateness_us: lateness(r),
        rtt_ms: rtt(r),
        peer: peer(r),
        metrics: super::metrics::metrics(r),
        timeline: super::metrics::timeline(r),
        marking: MarkingJson::of(r, None),
    }
}

/// The stream as planned.
fn settings(r: &StreamResult) -> Settings {
    let p = r.plan.settings();
    Settings {
        bits_per_second: r.plan.bits_per_second(),
        frame_rate: p.frame_rate,
        stream_length_secs: p.stream_length_secs,
        datagram_size: p.datagram_size,
        buffer_depth_ms: p.buffer_depth_ms,
        frame_size: r.plan.frame_size(),
        stream_frames: r.plan.stream_frames(),
    }
}

/// How late this end sent its frames, microseconds; none when it sent
/// none.
fn lateness(r: &StreamResult) -> Option<Quantiles> {
    let l = &r.stats.lateness;
    (l.frames > 0).then(|| {
        let q = |x| l.histogram.quantile(x).unwrap_or_default().as_secs_f64() * 1e6;
        Quantiles {
            p50: q(0.5),
            p99: q(0.99),
            max: l.max.as_secs_f64() * 1e6,
            steady_max: l.steady_max.as_secs_f64() * 1e6,
            steady: l.steady,
            frames: l.frames,
        }
    })
}

/// Round-trip times, milliseconds, when any was measured.
fn rtt(r: &StreamResult) -> Option<Rtt> {
    let s = &r.stats.rtt;
    s.mean().map(|mean| Rtt {
        samples: s.samples,
        min: ms(s.min),
        mean: ms(mean),
        max: ms(s.max),
    })
}

/// What a v1 peer said: its last report and its END.
fn peer(r: &StreamResult) -> Option<Peer> {
    let s = &r.stats;
    r.v1.then(|| Peer {
        report: s.peer_report.as_deref().map(|p| PeerReport {
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
    })
}

/// The keys of a `streams[]` object that `totals` is computed from.
/// Deserializing reads them from any stream object (an input of `merge`)
/// and ignores every other key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub error_kind: Option<String>,
    pub view: String,
    pub frames_completed: u64,
    pub frames_dropped: u64,
    pub frames_repeated: u64,
    pub frames_error: u64,
    pub bytes_received: u64,
    pub datagrams_received: u64,
    pub jitter_ms: f64,
    pub bytes_sent: u64,
    pub datagrams_sent: u64,
}

impl From<&Stream> for Counts {
    fn from(s: &Stream) -> Self {
        Counts {
            error_kind: s.error_kind.map(str::to_owned),
            view: s.view.to_owned(),
            frames_completed: s.frames_completed,
            frames_dropped: s.frames_dropped,
            frames_repeated: s.frames_repeated,
            frames_error: s.frames_error,
            bytes_received: s.bytes_received,
            datagrams_received: s.datagrams_received,
            jitter_ms: s.jitter_ms,
            bytes_sent: s.bytes_sent,
            datagrams_sent: s.datagrams_sent,
        }
    }
}

/// `totals` from stream objects: the one place totals are computed, for
/// a run's document, its text summary ([`super::Finished`]) and `merge`.
/// Failed streams count by `error_kind`; jitter is the mean and largest
/// over streams whose receiving end's view is known and got data.
pub fn totals_of<'a>(streams: impl IntoIterator<Item = &'a Counts>) -> TotalsJson {
    let mut sum = TotalsSum::default();
    for s in streams {
        sum.add(s);
    }
    sum.totals()
}

/// [`totals_of`] one stream at a time, for a server that does not keep
/// its finished streams.
#[derive(Debug, Clone, Default)]
pub struct TotalsSum {
    t: TotalsJson,
    jitter_sum: f64,
    jitter_n: u32,
}

impl TotalsSum {
    /// Counts one stream.
    pub fn add(&mut self, s: &Counts) {
        let t = &mut self.t;
        t.streams += 1;
        match s.error_kind.as_deref() {
            None => t.succeeded += 1,
            Some("protocol") => t.protocol_errors += 1,
            Some(_) => t.network_errors += 1,
        }
        t.frames_completed += s.frames_completed;
        t.frames_dropped += s.frames_dropped;
        t.frames_repeated += s.frames_repeated;
        t.frames_error += s.frames_error;
        t.bytes_received += s.bytes_received;
        t.datagrams_received += s.datagrams_received;
        if s.view != "none" && s.datagrams_received > 0 {
            self.jitter_sum += s.jitter_ms;
            self.jitter_n += 1;
            t.jitter_ms_max = t.jitter_ms_max.max(s.jitter_ms);
        }
        t.bytes_sent += s.bytes_sent;
        t.datagrams_sent += s.datagrams_sent;
    }

    /// The totals so far.
    pub fn totals(&self) -> TotalsJson {
        let mut t = self.t.clone();
        if self.jitter_n > 0 {
            t.jitter_ms = self.jitter_sum / f64::from(self.jitter_n);
        }
        t
    }
}

pub fn document<'a>(
    command: &'a str,
    results: &[StreamResult],
    interrupted: bool,
    requested: &super::Requested,
) -> Document<'a> {
    let streams: Vec<Stream> = results
        .iter()
        .map(|r| {
            let mut s = stream(r);
            s.marking = MarkingJson::of(r, requested.of(r));
            s
        })
        .collect();
    let counts: Vec<Counts> = streams.iter().map(Counts::from).collect();
    Document {
        schema: SCHEMA,
        tool: "mediastream",
        version: env!("CARGO_PKG_VERSION"),
        command,
        interrupted,
        streams,
        totals: totals_of(&counts),
        server: None,
    }
}

/// Writes the document (a [`Document`], or one as a JSON value with the
/// SLA checks' keys added) to `target` (`-` for stdout). A file is written
/// beside its final name and renamed into place, so a reader (or a
/// Ctrl-C) never sees half a document.
pub fn write(target: &str, doc: &impl Serialize) -> io::Result<()> {
    write_as("--json", target, doc)
}

/// Where [`write`] puts the document before renaming it to `target`.
pub fn partial_path(target: &str) -> std::path::PathBuf {
    Path::new(target).with_extension("json.partial")
}

/// Checks before any traffic that [`write`] will be able to write
/// `target` (the value of `option`).
pub fn check(option: &str, target: &str) -> Result<(), crate::cmd::CliError> {
    super::output::check(
        option,
        target,
        super::output::Write::Replace(partial_path(target)),
    )
}

/// [`write`], with errors naming `option` (`--output` for merge).
pub fn write_as(option: &str, target: &str, doc: &impl Serialize) -> io::Result<()> {
    let text = serde_json::to_string_pretty(doc).map_err(io::Error::other)?;
    if target == "-" {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")?;
        return out.flush();
    }
    let path = Path::new(target);
    let tmp = partial_path(target);
    let fail = |e: io::Error| io::Error::new(e.kind(), format!("{option} {target}: {e}"));
    std::fs::write(&tmp, format!("{text}\n")).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}
