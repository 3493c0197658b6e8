use std::time::{Duration, Instant};

use super::Role;
use crate::wire::v1::{EndRepr, ReportRepr};

/// Counters of one stream. Receiver and sender fill different fields; the
/// names follow ctsTraffic's columns where one exists.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Frames rendered with exactly the frame size received.
    pub frames_completed: u64,
    /// Frames rendered with fewer bytes than the frame size (none at all
    /// included).
    pub frames_dropped: u64,
    /// Frames rendered with more bytes than the frame size (duplicates).
    pub frames_repeated: u64,
    /// Data datagrams that fit no frame: sequence number beyond the
    /// stream, older than the oldest frame held, or too far ahead
    /// (ctsTraffic counts these per datagram under "Errors").
    pub frames_error: u64,
    /// Data datagrams received (all of them, errors and corrupt included).
    pub datagrams_received: u64,
    /// Bytes of those datagrams, headers included.
    pub bytes_received: u64,
    /// Data datagrams whose payload failed verification.
    pub datagrams_corrupt: u64,
    /// Datagrams that could not be parsed.
    pub datagrams_malformed: u64,
    /// Well-formed datagrams this role does not use (START, a connection id
    /// on the sending side, anything after the end).
    pub datagrams_ignored: u64,
    /// Data datagrams whose sender timestamp was implausible (no positive
    /// frequency, or a one-way delay further than
    /// [`PLAUSIBLE_DELAY_SPREAD`](super::PLAUSIBLE_DELAY_SPREAD)
    /// plus the buffer depth from the stream's reference delay): their
    /// bytes count, their timestamps are left out of jitter and delays.
    pub timestamps_implausible: u64,
    /// RFC 3550 interarrival jitter over all data datagrams with a
    /// plausible timestamp, in seconds.
    pub jitter_secs: f64,
    /// When the first data datagram was received.
    pub first_received: Option<Instant>,
    /// When the last data datagram was received.
    pub last_received: Option<Instant>,
    /// Frames whose last datagram was sent.
    pub frames_sent: u64,
    /// Data datagrams sent.
    pub datagrams_sent: u64,
    /// Bytes of those datagrams, headers included.
    pub bytes_sent: u64,
    /// Control datagrams sent (connection id, ACCEPT, REPORT, END).
    pub control_sent: u64,
    /// When the first data datagram was sent.
    pub first_sent: Option<Instant>,
    /// When the last data datagram was sent.
    pub last_sent: Option<Instant>,
    /// Frames the sender skipped: it was so far behind that they would
    /// have left more than the buffer depth after their time, when the
    /// receiver has already given up on them.
    pub frames_skipped: u64,
    /// Data datagrams the kernel would not take (the send buffer stayed
    /// full); they are not in `datagrams_sent` or `bytes_sent`.
    pub datagrams_unsent: u64,
    /// How late each frame's first datagram left, against its schedule.
    pub lateness: Lateness,
    /// v1: the receiver's latest report (the sender's view of the peer).
    pub peer_report: Option<Box<ReportRepr>>,
    /// v1: the sender's totals (the receiver's view of the peer).
    pub peer_end: Option<EndRepr>,
    /// v1: round-trip times measured from report echoes (sender side).
    pub rtt: Rtt,
    /// v1: reports received (sender) or sent (receiver).
    pub reports: u64,
    /// Receiver: delays, datagram loss, playout, timeline.
    pub metrics: Option<Box<super::ReceiveMetrics>>,
    /// Receiver: the DSCP and ECN every data datagram arrived with, where
    /// the backend reads it (Linux); `None` until one marking was read
    /// (so elsewhere, and on senders, it costs no memory).
    pub marks: Option<Box<crate::marking::MarkCounts>>,
}

impl StreamStats {
    /// Received bits per second between the first and the last data
    /// datagram; 0 with fewer than two datagrams.
    pub fn received_bits_per_second(&self) -> f64 {
        match (self.first_received, self.last_received) {
            (Some(first), Some(last)) if last > first => {
                self.bytes_received as f64 * 8.0 / (last - first).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

impl StreamStats {
    /// What the receiving end of the stream measured, whichever end
    /// these counters are from: `role` is the role this end played.
    ///
    /// A receiver's own counters give it directly
    /// ([`ReceivedBy::ThisEnd`]). A sender's own frame counters and
    /// jitter stay 0 (it receives no frames); a v1 sender learns the
    /// receiver's numbers from its reports, and the latest one is taken
    /// ([`ReceivedBy::Peer`]). `None` for a sender without a report (a
    /// plain ctsTraffic stream, whose receiver never reports, or a v1
    /// stream before its first report).
    ///
    /// ```
    /// use mediastream_core::pattern::{ReceivedBy, Role, StreamStats};
    /// use mediastream_core::wire::v1::ReportRepr;
    ///
    /// let mut sender = StreamStats::default();
    /// assert!(sender.received(Role::Sender).is_none());
    /// sender.peer_report = Some(Box::new(ReportRepr { frames_completed: 149, jitter_ns: 250_000, ..Default::default() }));
    /// let view = sender.received(Role::Sender).unwrap();
    /// assert_eq!(view.by, ReceivedBy::Peer { final_report: false });
    /// assert_eq!(view.frames_completed, 149);
    /// assert_eq!(view.jitter, std::time::Duration::from_micros(250));
    /// ```
    pub fn received(&self, role: Role) -> Option<ReceivedView> {
        match role {
            Role::Receiver => Some(ReceivedView {
                by: ReceivedBy::ThisEnd,
                frames_completed: self.frames_completed,
                frames_dropped: self.frames_dropped,
                frames_repeated: self.frames_repeated,
                frames_error: self.frames_error,
                datagrams_received: self.datagrams_received,
                bytes_received: self.bytes_received,
                datagrams_corrupt: self.datagrams_corrupt,
                jitter: Duration::try_from_secs_f64(self.jitter_secs).unwrap_or_default(),
                delay: self
                    .metrics
                    .as_deref()
                    .and_then(|m| DelaySpread::of(&m.datagram_delay)),
            }),
            Role::Sender => self.peer_report.as_deref().map(|r| ReceivedView {
                by: ReceivedBy::Peer {
                    final_report: r.is_final,
                },
                frames_completed: r.frames_completed,
                frames_dropped: r.frames_dropped,
                frames_repeated: r.frames_repeated,
                frames_error: r.frames_error,
                datagrams_received: r.datagrams_received,
                bytes_received: r.bytes_received,
                datagrams_corrupt: r.datagrams_corrupt,
                jitter: Duration::from_nanos(r.jitter_ns),
                delay: None,
            }),
        }
    }
}

/// The receiving end's account of a stream, read the same way at either
/// end ([`StreamStats::received`], or
/// [`StreamResult::received`](crate::server::StreamResult::received)):
/// every count as ctsTraffic names it, every time a [`Duration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedView {
    /// Where the numbers come from.
    pub by: ReceivedBy,
    /// Frames rendered whole.
    pub frames_completed: u64,
    /// Frames rendered with bytes missing (none at all included).
    pub frames_dropped: u64,
    /// Frames rendered with more bytes than sent (duplicates).
    pub frames_repeated: u64,
    /// Data datagrams that fit no frame (ctsTraffic's "Errors").
    pub frames_error: u64,
    /// Data datagrams received.
    pub datagrams_received: u64,
    /// Their bytes, headers included.
    pub bytes_received: u64,
    /// Data datagrams whose payload failed verification.
    pub datagrams_corrupt: u64,
    /// RFC 3550 interarrival jitter.
    pub jitter: Duration,
    /// How far datagram delays spread above the stream's fastest
    /// datagram; measured by a receiver only (a REPORT does not carry
    /// delays), and `None` before a datagram with a plausible timestamp.
    pub delay: Option<DelaySpread>,
}

/// Which end measured a [`ReceivedView`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReceivedBy {
    /// This end received the stream: its own counters.
    ThisEnd,
    /// This end sent it: the receiver's latest v1 REPORT.
    Peer {
        /// The receiver's last report (sent after its last frame): the
        /// numbers are final. Otherwise they are as of an earlier report
        /// and the stream ended before the final one arrived.
        final_report: bool,
    },
}

/// One-way delay variation (RFC 5481 PDV): each datagram's delay minus
/// the smallest delay of the stream. It needs no synchronised clocks: a
/// constant offset between the two ends' clocks cancels out. Absolute
/// delays (meaningful when both ends share a clock) are in
/// [`ReceiveMetrics::datagram_delay`](super::ReceiveMetrics::datagram_delay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DelaySpread {
    /// Datagrams measured.
    pub datagrams: u64,
    /// The mean.
    pub mean: Duration,
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The largest.
    pub max: Duration,
}

impl DelaySpread {
    /// The spread of the delays in `h` above its smallest; `None` when it
    /// is empty.
    pub fn of(h: &super::metrics::DelayHistogram) -> Option<Self> {
        let min = h.min()?;
        let above =
            |ns: i64| Duration::from_nanos(u64::try_from(ns.saturating_sub(min)).unwrap_or(0));
        let mean = h.mean().map_or(0.0, |m| (m - min as f64).max(0.0) / 1e9);
        Some(Self {
            datagrams: h.count(),
            mean: Duration::try_from_secs_f64(mean).unwrap_or_default(),
            p50: above(h.quantile(0.5)?),
            p99: above(h.quantile(0.99)?),
            max: above(h.max()?),
        })
    }
}

/// Summary of the sender's lateness: how long after its due time each
/// frame's first datagram was handed to the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lateness {
    /// Frames measured.
    pub frames: u64,
    /// Frames that left after their due time.
    pub late_frames: u64,
    /// Sum of lateness over all frames.
    pub total: Duration,
    /// The worst lateness.
    pub max: Duration,
    /// The distribution in steady state: frames due from one second after
    /// the start on (start-up is not pacing); every frame when the stream
    /// is shorter than that.
    pub histogram: super::DurationHistogram,
    /// The worst lateness in steady state (same frames as `histogram`).
    pub steady_max: Duration,
    /// True once a steady-state frame has been recorded.
    pub steady: bool,
}

impl Lateness {
    /// How long after the start a frame counts as steady state.
    pub const WARM_UP: Duration = Duration::from_secs(1);

    /// Records one frame that was due at `due` and left at `now`;
    /// `steady` says whether it was due after [`Lateness::WARM_UP`].
    pub fn record(&mut self, due: Instant, now: Instant, steady: bool) {
        let late = now.saturating_duration_since(due);
        self.frames += 1;
        if !late.is_zero() {
            self.late_frames += 1;
        }
        self.total += late;
        self.max = self.max.max(late);
        if steady && !self.steady {
            // The first steady frame: forget the warm-up's distribution.
            self.steady = true;
            self.histogram = super::DurationHistogram::default();
            self.steady_max = Duration::ZERO;
        }
        self.histogram.record(late);
        self.steady_max = self.steady_max.max(late);
    }

    /// Mean lateness, zero before the first frame.
    pub fn mean(&self) -> Duration {
        match u32::try_from(self.frames) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.total / n,
            Err(_) => Duration::from_secs_f64(self.total.as_secs_f64() / self.frames as f64),
        }
    }
}

/// Round-trip time samples from v1 report echoes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rtt {
    /// Samples taken.
    pub samples: u64,
    /// The newest sample.
    pub latest: Duration,
    /// The smallest sample.
    pub min: Duration,
    /// The largest sample.
    pub max: Duration,
    /// Sum of all samples.
    pub total: Duration,
}

impl Rtt {
    /// Adds one sample.
    pub fn record(&mut self, sample: Duration) {
        self.min = if self.samples == 0 {
            sample
        } else {
            self.min.min(sample)
        };
        self.max = self.max.max(sample);
        self.samples += 1;
        self.latest = sample;
        self.total += sample;
    }

    /// The mean sample, or `None` before the first.
    pub fn mean(&self) -> Option<Duration> {
        let n = u32::try_from(self.samples).ok().filter(|&n| n > 0)?;
        Some(self.total / n)
    }
}
