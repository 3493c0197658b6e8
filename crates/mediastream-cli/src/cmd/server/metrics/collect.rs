//! What a scrape reports, collected on the scrape thread: every metric
//! of docs/metrics-endpoint.md.
//!
//! Counters of streams are the finished streams' final counts (folded in
//! by the status loop, [`Collected::finished`]) plus the running
//! streams' counts so far. A stream leaves the server's table before its
//! result reaches the status loop, so each running stream's last counts
//! are kept until its result replaces them: a counter never goes down,
//! and once every stream has ended it equals the `--json` totals.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use mediastream_core::pattern::Role;
use mediastream_core::server::{LiveStream, Server, ServerStats, StreamResult};
use mediastream_core::sys::TrafficProbe;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use crate::report::live::Counts;
use crate::report::metrics::Basis;

/// Upper bounds (seconds) of the send lateness histogram's buckets.
pub const LATENESS_BOUNDS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];
/// Upper bounds (seconds) of the frame delay histogram's buckets.
pub const DELAY_BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A stream's counts, the `--json` document's names: frames, bytes and
/// datagrams received as the receiving end counts them, sent as this end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    counts: Counts,
    frames_late: u64,
    datagrams_received: u64,
    datagrams_sent: u64,
}

impl Tally {
    fn plus(self, o: Self) -> Self {
        Tally {
            counts: self.counts.plus(o.counts),
            frames_late: self.frames_late + o.frames_late,
            datagrams_received: self.datagrams_received + o.datagrams_received,
            datagrams_sent: self.datagrams_sent + o.datagrams_sent,
        }
    }

    fn of_live(s: &LiveStream) -> Self {
        Tally {
            counts: Counts::of_live(s),
            frames_late: 0,
            datagrams_received: s.received.as_ref().map_or(0, |r| r.datagrams_received),
            datagrams_sent: s.datagrams_sent,
        }
    }

    fn of_result(r: &StreamResult) -> Self {
        let (frames, _) = crate::report::frames(r);
        Tally {
            counts: Counts::of_result(r),
            frames_late: (r.stats.metrics.as_deref()).map_or(0, |m| m.playout.late_frames),
            datagrams_received: frames.datagrams_received,
            datagrams_sent: r.stats.datagrams_sent,
        }
    }

    /// Each count the larger of the two.
    fn max(self, o: Self) -> Self {
        Tally {
            counts: self.counts.max(o.counts),
            frames_late: self.frames_late.max(o.frames_late),
            datagrams_received: self.datagrams_received.max(o.datagrams_received),
            datagrams_sent: self.datagrams_sent.max(o.datagrams_sent),
        }
    }
}

/// A Prometheus histogram: counts per bucket (the last: above every
/// bound), the sum and the count.
#[derive(Debug, Clone, Default)]
struct Buckets {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Buckets {
    /// `count` values at most `upper` seconds: into the first bucket
    /// whose bound is at least that.
    fn add(&mut self, bounds: &[f64], upper: f64, count: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len() + 1];
        }
        let i = bounds
            .iter()
            .position(|&b| upper <= b)
            .unwrap_or(bounds.len());
        self.counts[i] += count;
        self.count += count;
    }

    /// As `prometheus-client` encodes them: (bound, count in it).
    fn encoded(&self, bounds: &[f64]) -> Vec<(f64, u64)> {
        let counts = |i: usize| self.counts.get(i).copied().unwrap_or(0);
        (bounds.iter().copied().chain([f64::MAX]))
            .enumerate()
            .map(|(i, b)| (b, counts(i)))
            .collect()
    }
}

/// The finished streams' part of the metrics, per direction (index:
/// [`dir`]).
#[derive(Debug, Default)]
struct Finished {
    tally: [Tally; 2],
    completed: [u64; 2],
    failed: [u64; 2],
    lateness: Buckets,
    frame_delay: Buckets,
}

/// Running streams' last counts by key, and the finished streams.
#[derive(Debug, Default)]
struct State {
    finished: Finished,
    running: HashMap<String, (usize, Tally)>,
}

/// What the status loop hands the scrapes: each finished stream.
#[derive(Debug, Default)]
pub struct Collected {
    state: Mutex<State>,
}

/// 0: the server sent the stream (`send`); 1: it received it.
fn dir(role: Role) -> usize {
    match role {
        Role::Sender => 0,
        Role::Receiver => 1,
    }
}

const DIRECTIONS: [&str; 2] = ["send", "receive"];

/// A running stream's key: its role and client, then its connection id.
fn key(s: &LiveStream) -> String {
    let r = &s.request;
    format!("{:?} {} {}", r.key.role, r.key.remote, r.connection_id)
}

impl Collected {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A stream the server finished: its final counts replace what was
    /// seen of it running.
    pub fn finished(&self, r: &StreamResult) {
        let mut state = self.lock();
        let of_client = format!("{:?} {} ", r.role, r.remote);
        match r.connection_id {
            Some(id) => drop(state.running.remove(&format!("{of_client}{id}"))),
            None => state.running.retain(|k, _| !k.starts_with(&of_client)),
        }
        let f = &mut state.finished;
        let d = dir(r.role);
        f.tally[d] = f.tally[d].plus(Tally::of_result(r));
        if r.succeeded() {
            f.completed[d] += 1;
        } else {
            f.failed[d] += 1;
        }
        histograms(f, r);
    }
}

/// A finished stream's send lateness and frame delays, into `f`.
fn histograms(f: &mut Finished, r: &StreamResult) {
    let lateness = &r.stats.lateness;
    if lateness.frames > 0 {
        for (upper, count) in lateness.histogram.buckets() {
            let secs = upper.as_secs_f64();
            f.lateness.add(&LATENESS_BOUNDS, secs, count);
            f.lateness.sum += secs * count as f64;
        }
    }
    let Some(m) = r.stats.metrics.as_deref() else {
        return;
    };
    let basis = Basis::of(m, r.local, r.remote);
    let h = &m.frame_last_delay;
    for b in h.buckets() {
        f.frame_delay
            .add(&DELAY_BOUNDS, basis.ms(b.high) / 1e3, b.count);
    }
    if let Some(mean) = h.mean() {
        f.frame_delay.sum += basis.ms(mean.round() as i64) / 1e3 * h.count() as f64;
    }
}

/// One scrape's numbers.
#[derive(Debug, Default)]
struct Snapshot {
    tally: [Tally; 2],
    running: [u64; 2],
    completed: [u64; 2],
    failed: [u64; 2],
    lateness: Buckets,
    frame_delay: Buckets,
}

/// The collector a scrape runs.
#[derive(Debug)]
pub struct Scrape {
    pub server: Arc<Server>,
    pub traffic: TrafficProbe,
    pub collected: Arc<Collected>,
}

impl Scrape {
    /// The running streams looked at with the state locked, so that a
    /// stream's result cannot be folded in between the look and the
    /// update (and then be counted again as running).
    fn snapshot(&self) -> Snapshot {
        let mut state = self.collected.lock();
        let mut running = [0u64; 2];
        for s in self.server.live_streams() {
            let d = dir(s.request.key.role);
            running[d] += 1;
            let now = Tally::of_live(&s);
            let seen = state.running.entry(key(&s)).or_insert((d, now));
            seen.1 = seen.1.max(now);
        }
        let f = &state.finished;
        let mut tally = f.tally;
        for (d, t) in state.running.values() {
            tally[*d] = tally[*d].plus(*t);
        }
        Snapshot {
            tally,
            running,
            completed: f.completed,
            failed: f.failed,
            lateness: f.lateness.clone(),
            frame_delay: f.frame_delay.clone(),
        }
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = self.snapshot();
        streams(&mut encoder, &snap)?;
        traffic(&mut encoder, &snap)?;
        requests(&mut encoder, &self.server.stats())?;
        shards(&mut encoder, &self.traffic)?;
        histogram(
            &mut encoder,
            "mediastream_send_lateness_seconds",
            "How late the server sent each frame of the streams it sent and finished (steady state: from 1 s after a stream's start); bucketed by the upper bound of the core's histogram bucket (at most 12.5% high), sum of those bounds",
            &snap.lateness,
            &LATENESS_BOUNDS,
        )?;
        histogram(
            &mut encoder,
            "mediastream_frame_delay_seconds",
            "Delay of each frame's last datagram (before its render tick) of the streams the server received and finished: one-way delay on one host, else above each stream's smallest delay",
            &snap.frame_delay,
            &DELAY_BOUNDS,
        )
    }
}

type Labels = Vec<(&'static str, String)>;
/// One counter's label sets and values.
type Rows = Vec<(Labels, u64)>;

fn family(
    encoder: &mut DescriptorEncoder,
    (name, help, kind): (&str, &str, MetricType),
    rows: &[(Labels, u64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in rows {
        if labels.is_empty() {
            value_of(&mut metric, kind, *value)?;
        } else {
            value_of(&mut metric.encode_family(labels)?, kind, *value)?;
        }
    }
    Ok(())
}

fn value_of(
    metric: &mut MetricEncoder,
    kind: MetricType,
    value: u64,
) -> Result<(), std::fmt::Error> {
    match kind {
        MetricType::Gauge => metric.encode_gauge(&i64::try_from(value).unwrap_or(i64::MAX)),
        _ => metric.encode_counter::<NoLabelSet, _, f64>(&value, None),
    }
}

fn by_direction(values: [u64; 2], extra: &[(&'static str, &str)]) -> Vec<(Labels, u64)> {
    (0..2)
        .map(|d| {
            let mut labels: Labels = vec![("direction", DIRECTIONS[d].to_owned())];
            labels.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
            (labels, values[d])
        })
        .collect()
}

fn streams(encoder: &mut DescriptorEncoder, s: &Snapshot) -> Result<(), std::fmt::Error> {
    family(
        encoder,
        (
            "mediastream_streams_running",
            "Streams running now, by the server's direction (send: it sends, a client's REQUEST or START; receive: a JOIN)",
            MetricType::Gauge,
        ),
        &by_direction(s.running, &[]),
    )?;
    let mut ended = by_direction(s.completed, &[("state", "completed")]);
    ended.extend(by_direction(s.failed, &[("state", "failed")]));
    family(
        encoder,
        (
            "mediastream_streams_ended",
            "Streams that ended, by direction and state (the --json document's status)",
            MetricType::Counter,
        ),
        &ended,
    )
}

/// One counter per direction of each count, running streams included.
fn traffic(encoder: &mut DescriptorEncoder, s: &Snapshot) -> Result<(), std::fmt::Error> {
    let of = |f: fn(&Tally) -> u64| [f(&s.tally[0]), f(&s.tally[1])];
    let counters: [(&str, &str, [u64; 2]); 9] = [
        ("mediastream_frames_completed", "Frames rendered whole at the receiving end (the --json frames_completed)", of(|t| t.counts.frames_completed)),
        ("mediastream_frames_dropped", "Frames rendered with bytes missing at the receiving end (frames_dropped)", of(|t| t.counts.frames_dropped)),
        ("mediastream_frames_repeated", "Frames rendered with more bytes than sent (frames_repeated)", of(|t| t.counts.frames_repeated)),
        ("mediastream_frames_error", "Data datagrams that fit no frame at the receiving end (frames_error)", of(|t| t.counts.frames_error)),
        ("mediastream_frames_late", "Frames dropped at their render tick and complete afterwards, of finished streams the server received (metrics.playout.late_frames)", of(|t| t.frames_late)),
        ("mediastream_received_bytes", "Data bytes the receiving end received, headers included (bytes_received)", of(|t| t.counts.bytes_received)),
        ("mediastream_received_datagrams", "Data datagrams the receiving end received (datagrams_received)", of(|t| t.datagrams_received)),
        ("mediastream_sent_bytes", "Data bytes the server sent, headers included (bytes_sent)", of(|t| t.counts.bytes_sent)),
        ("mediastream_sent_datagrams", "Data datagrams the server sent (datagrams_sent)", of(|t| t.datagrams_sent)),
    ];
    for (name, help, values) in counters {
        family(
            encoder,
            (name, help, MetricType::Counter),
            &by_direction(values, &[]),
        )?;
    }
    Ok(())
}

/// The `ServerStats` counters that are a request's outcome.
const OUTCOMES: [&str; 12] = [
    "challenged",
    "cookie_refused",
    "verified",
    "unkeyed",
    "refused",
    "refused_limits",
    "busy",
    "queued",
    "expired",
    "compat_refused",
    "rate_limited",
    "repeated_starts",
];

/// `mediastream_requests_total{outcome}`, and every other counter of the
/// JSON's `server` object as `mediastream_server_<name>_total`.
fn requests(encoder: &mut DescriptorEncoder, stats: &ServerStats) -> Result<(), std::fmt::Error> {
    let fields = stats.fields();
    let outcomes: Vec<(Labels, u64)> = (fields.iter())
        .filter(|(name, _)| OUTCOMES.contains(name))
        .map(|(name, v)| (vec![("outcome", (*name).to_owned())], *v))
        .collect();
    family(
        encoder,
        (
            "mediastream_requests",
            "Requests by outcome: the counters of the --json document's server object of that name",
            MetricType::Counter,
        ),
        &outcomes,
    )?;
    for (name, v) in fields.iter().filter(|(name, _)| !OUTCOMES.contains(name)) {
        let metric = format!("mediastream_server_{name}");
        let help = format!("The --json document's server.{name}");
        family(
            encoder,
            (&metric, &help, MetricType::Counter),
            &[(vec![], *v)],
        )?;
    }
    Ok(())
}

/// Datagrams and bytes each worker (shard) moved, every kind.
fn shards(encoder: &mut DescriptorEncoder, probe: &TrafficProbe) -> Result<(), std::fmt::Error> {
    let per = probe.per_worker();
    let rows = |f: fn(&mediastream_core::sys::Traffic) -> u64| -> Rows {
        (per.iter().enumerate())
            .map(|(i, t)| (vec![("shard", i.to_string())], f(t)))
            .collect()
    };
    let counters: [(&str, &str, Rows); 4] = [
        (
            "mediastream_shard_received_datagrams",
            "Datagrams a worker shard received, every kind",
            rows(|t| t.datagrams_received),
        ),
        (
            "mediastream_shard_received_bytes",
            "Their bytes",
            rows(|t| t.bytes_received),
        ),
        (
            "mediastream_shard_sent_datagrams",
            "Datagrams a worker shard sent, every kind",
            rows(|t| t.datagrams_sent),
        ),
        (
            "mediastream_shard_sent_bytes",
            "Their bytes",
            rows(|t| t.bytes_sent),
        ),
    ];
    for (name, help, rows) in &counters {
        family(encoder, (name, help, MetricType::Counter), rows)?;
    }
    Ok(())
}

fn histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    h: &Buckets,
    bounds: &[f64],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    metric.encode_histogram::<NoLabelSet>(h.sum, h.count, &h.encoded(bounds), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_go_to_the_first_bucket_at_least_their_bound() {
        let mut b = Buckets::default();
        b.add(&LATENESS_BOUNDS, 0.0001, 2);
        b.add(&LATENESS_BOUNDS, 0.00011, 3);
        b.add(&LATENESS_BOUNDS, 5.0, 1);
        let e = b.encoded(&LATENESS_BOUNDS);
        assert_eq!(e.len(), LATENESS_BOUNDS.len() + 1);
        assert_eq!((e[0], e[1]), ((0.0001, 2), (0.00025, 3)));
        assert_eq!(e[LATENESS_BOUNDS.len()], (f64::MAX, 1));
        assert_eq!(b.count, 6);
    }
}
