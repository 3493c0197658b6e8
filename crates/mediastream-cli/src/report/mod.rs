//! What the CLI prints and writes: text lines in ctsTraffic's style, the
//! JSON document, the jitter file.

pub mod ctsconsole;
pub mod ctsfiles;
pub mod decoder;
pub mod histogram;
pub mod jitter;
pub mod json;
pub mod live;
pub mod metrics;
pub mod output;
pub mod text;

use mediastream_core::pattern::{ReceivedBy, Role, Status, StreamError};
use mediastream_core::server::StreamResult;

/// Text that came from outside (a peer, an argument) as it may be
/// printed: control and text-reordering characters escaped.
pub fn escape(text: &str) -> String {
    mediastream_core::wire::escape_text(text)
}

/// Where a stream's frame counts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// This end received the stream.
    Own,
    /// This end sent it; the receiver's final (or last) v1 report.
    Peer,
    /// This end sent a plain stream: the receiver's view is unknown.
    Unknown,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Own => "own",
            Source::Peer => "peer",
            Source::Unknown => "none",
        }
    }
}

/// The receiving end's counts for a stream, whichever end this is.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Frames {
    pub completed: u64,
    pub dropped: u64,
    pub repeated: u64,
    pub error: u64,
    pub bytes_received: u64,
    pub datagrams_received: u64,
    pub jitter_ms: f64,
}

pub fn frames(r: &StreamResult) -> (Frames, Source) {
    let Some(v) = r.received() else {
        return (Frames::default(), Source::Unknown);
    };
    let frames = Frames {
        completed: v.frames_completed,
        dropped: v.frames_dropped,
        repeated: v.frames_repeated,
        error: v.frames_error,
        bytes_received: v.bytes_received,
        datagrams_received: v.datagrams_received,
        jitter_ms: v.jitter.as_secs_f64() * 1e3,
    };
    let source = match v.by {
        ReceivedBy::Peer { .. } => Source::Peer,
        _ => Source::Own,
    };
    (frames, source)
}

/// ctsTraffic splits failures into network errors (nothing or too little
/// came through) and protocol errors (what came was wrong).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Network,
    Protocol,
}

pub fn failure(r: &StreamResult) -> Option<Failure> {
    match &r.status {
        Status::Running | Status::Completed => None,
        Status::Failed(StreamError::CorruptPayload { .. } | StreamError::Malformed { .. })
        | Status::Failed(StreamError::Refused { .. }) => Some(Failure::Protocol),
        Status::Failed(_) => Some(Failure::Network),
        // A state this build does not know: not a failure it can name.
        _ => None,
    }
}

/// Bits per second the stream carried, as this end saw it: bytes over the
/// time from the first to the last data datagram plus one frame interval
/// (the last frame's share), so a clean stream shows its nominal rate.
pub fn bits_per_second(r: &StreamResult) -> f64 {
    let s = &r.stats;
    let (bytes, first, last) = match r.role {
        Role::Receiver => (s.bytes_received, s.first_received, s.last_received),
        Role::Sender => (s.bytes_sent, s.first_sent, s.last_sent),
    };
    match (first, last) {
        (Some(first), Some(last)) => {
            let secs =
                (last.saturating_duration_since(first) + r.plan.frame_interval()).as_secs_f64();
            bytes as f64 * 8.0 / secs
        }
        _ => 0.0,
    }
}

/// What a run's summary and exit status need of its finished streams,
/// folded in one at a time: a server without `--json` keeps this, not
/// the streams, so its memory does not grow with every stream it served.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    totals: json::TotalsSum,
    /// Sending streams' send lateness, merged.
    pub lateness: mediastream_core::pattern::DurationHistogram,
    /// A stream of this run received.
    pub received: bool,
    /// Streams that did not succeed (the exit status).
    pub unsucceeded: u64,
    /// Streams with a network or protocol error (ctsTraffic's exit code).
    pub failed: u64,
}

impl Finished {
    /// Folds in one finished stream.
    pub fn add(&mut self, r: &StreamResult) {
        self.totals.add(&json::Counts::from(&json::stream(r)));
        if r.role == Role::Sender {
            self.lateness.merge(&r.stats.lateness.histogram);
        }
        self.received |= r.role == Role::Receiver;
        self.unsucceeded += u64::from(!r.succeeded());
        self.failed += u64::from(failure(r).is_some());
    }

    /// All of `results`.
    pub fn of(results: &[StreamResult]) -> Self {
        let mut f = Self::default();
        results.iter().for_each(|r| f.add(r));
        f
    }

    /// The totals, from the streams' JSON objects as [`json::totals_of`]
    /// computes them, so the summary, `--json` and `merge` always agree.
    pub fn totals(&self) -> Totals {
        Totals::from(&self.totals.totals())
    }
}

/// Totals over many streams.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub streams: u64,
    pub succeeded: u64,
    pub network_errors: u64,
    pub protocol_errors: u64,
    pub frames: Frames,
    pub jitter_ms_max: f64,
    pub bytes_sent: u64,
    pub datagrams_sent: u64,
}

impl Totals {
    /// Frames accounted for (the denominator of the percentages).
    pub fn frames_total(&self) -> u64 {
        self.frames.completed + self.frames.dropped + self.frames.repeated
    }
}

/// Fields of the `totals` object.
impl From<&json::TotalsJson> for Totals {
    fn from(t: &json::TotalsJson) -> Self {
        Totals {
            streams: t.streams,
            succeeded: t.succeeded,
            network_errors: t.network_errors,
            protocol_errors: t.protocol_errors,
            frames: Frames {
                completed: t.frames_completed,
                dropped: t.frames_dropped,
                repeated: t.frames_repeated,
                error: t.frames_error,
                bytes_received: t.bytes_received,
                datagrams_received: t.datagrams_received,
                jitter_ms: t.jitter_ms,
            },
            jitter_ms_max: t.jitter_ms_max,
            bytes_sent: t.bytes_sent,
            datagrams_sent: t.datagrams_sent,
        }
    }
}

/// The DSCP / ECN marking the sending end of a stream set, as far as
/// this run knows it: `marking` on the streams whose role is in `roles`
/// (a client or server: its own sending streams; loopback: both, since
/// both ends use the same options).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requested {
    pub marking: mediastream_core::marking::Marking,
    pub senders: bool,
    pub receivers: bool,
}

impl Requested {
    /// What the sending end of `r` set, when known and set at all.
    pub fn of(&self, r: &StreamResult) -> Option<mediastream_core::marking::Marking> {
        let known = match r.role {
            Role::Sender => self.senders,
            Role::Receiver => self.receivers,
        };
        Some(self.marking).filter(|m| known && m.is_set())
    }
}

/// The markings a stream's data arrived with: this end's own counts when
/// it received, the receiver's v1 report block when it sent; `None`
/// when nothing was read (another platform, an older peer, no data).
pub fn marks(r: &StreamResult) -> Option<(mediastream_core::marking::MarkCounts, Source)> {
    match r.role {
        Role::Receiver => Some((
            r.stats.marks.as_deref().copied().unwrap_or_default(),
            Source::Own,
        )),
        Role::Sender => r
            .stats
            .peer_report
            .as_deref()
            .and_then(|p| p.marks.as_deref().copied())
            .map(|m| (m, Source::Peer)),
    }
    .filter(|(m, _)| m.datagrams > 0)
}

/// `af41 x 1000, cs1 x 3`: the DSCPs seen with their datagram counts.
pub fn dscp_text(m: &mediastream_core::marking::MarkCounts) -> String {
    m.dscp_seen()
        .map(|(d, n)| format!("{d} x {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
