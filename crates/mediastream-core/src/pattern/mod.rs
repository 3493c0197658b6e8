//! The [`IoPattern`] trait and its two implementations: the
//! [`FrameSender`] and the [`FrameReceiver`].
//!
//! A pattern is a sans-IO state machine in the style of quinn-proto's
//! `Connection`: the caller owns the socket and the clock and drives the
//! pattern with `handle_*` (something happened) and `poll_*` (what should I
//! do now, and when should I call you again). Patterns never block, never
//! read a clock and never allocate per datagram, so a simulator can run
//! them with a virtual clock and every backend reports the same numbers.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use mediastream_core::pattern::{FrameReceiver, FrameSender, IoPattern, Status};
//! use mediastream_core::settings::StreamSettings;
//!
//! let plan = StreamSettings::new(80_000, 10, 1).plan().unwrap();
//! let start = Instant::now();
//! let mut tx = FrameSender::new(plan, Default::default(), start);
//! let mut rx = FrameReceiver::new(plan, Default::default(), start);
//! let mut buf = vec![0u8; plan.max_datagram()];
//! let mut now = start;
//! while rx.status() == Status::Running {
//!     while let Some(len) = tx.poll_transmit(now, &mut buf) {
//!         rx.handle_datagram(now, &buf[..len]); // a perfect, instant link
//!     }
//!     now = [tx.poll_timeout(), rx.poll_timeout()].into_iter().flatten().min().unwrap();
//!     rx.handle_timeout(now);
//! }
//! assert_eq!(rx.status(), Status::Completed);
//! assert_eq!(rx.stats().frames_completed, 10);
//! ```

mod control;
mod counts;
mod histogram;
mod jitter;
#[cfg(test)]
mod marking_tests;
pub mod metrics;
pub mod model;
mod receiver;
mod record;
mod sender;
mod stats;

use std::time::Instant;

pub use control::{Greeter, Greeting, V1Session};
pub use histogram::DurationHistogram;
pub use jitter::InterarrivalJitter;
pub use metrics::ReceiveMetrics;
pub use receiver::{FrameReceiver, ReceiverConfig, Verify, PLAUSIBLE_DELAY_SPREAD};
pub use record::{FrameOutcome, FrameRecord};
pub use sender::{FrameSender, SenderConfig, SPREAD_STEP};
pub use stats::{DelaySpread, Lateness, ReceivedBy, ReceivedView, Rtt, StreamStats};

use thiserror::Error;

/// Which end of a stream a pattern plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Sends the frames.
    Sender,
    /// Receives and renders the frames.
    Receiver,
}

/// Where a stream stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Still sending or receiving.
    Running,
    /// Finished; the counters are final. Dropped frames alone do not fail
    /// a stream (ctsTraffic counts them and still calls it a success).
    Completed,
    /// Finished with an error; the counters are final.
    Failed(StreamError),
}

impl Status {
    /// True once the stream has completed or failed.
    pub fn is_finished(&self) -> bool {
        !matches!(self, Status::Running)
    }

    /// Fails a running stream with [`StreamError::Aborted`]; a finished
    /// one keeps its status. Returns true when it was running.
    pub fn abort(&mut self, reason: &str) -> bool {
        if self.is_finished() {
            return false;
        }
        *self = Status::Failed(StreamError::Aborted {
            reason: reason.to_owned(),
        });
        true
    }
}

/// Why a stream failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// Nothing arrived before the first render tick (a buffer depth after
    /// the receiver started); every frame counts as dropped.
    #[error("no data arrived within the buffer depth: is the sender running and reachable?")]
    NoData,
    /// Data datagrams whose payload did not match the pattern.
    #[error(
        "{datagrams} datagram(s) had a corrupted payload (first at payload byte {first_offset})"
    )]
    CorruptPayload {
        /// How many datagrams failed verification.
        datagrams: u64,
        /// Offset of the first wrong byte in the first corrupted payload.
        first_offset: usize,
    },
    /// Datagrams that could not be parsed at all.
    #[error("{datagrams} malformed datagram(s) arrived on the stream")]
    Malformed {
        /// How many.
        datagrams: u64,
    },
    /// A v1 sender heard no report for the consent timeout: the receiver
    /// is gone or no longer wants the stream.
    #[error("no report from the receiver for {silent_ms} ms: stopped sending (consent expired)")]
    ConsentExpired {
        /// How long the receiver had been silent.
        silent_ms: u64,
    },
    /// The server refused the request.
    #[error("the server refused the stream: {reason}")]
    Refused {
        /// The server's reason.
        reason: String,
    },
    /// The server never answered the request.
    #[error("no answer from {attempts} request(s): is a mediastream or ctsTraffic server listening there?")]
    NoAnswer {
        /// Requests sent.
        attempts: u32,
    },
    /// A client's receiving stream: the server's data stopped for longer
    /// than the buffer depth, mid-stream or until the stream's last frame
    /// was due (it died or stalled, or the path failed).
    #[error(
        "the server stopped sending at {:.1} s: nothing arrived for {:.1} s, longer than the buffer depth",
        *at_ms as f64 / 1e3,
        *silent_ms as f64 / 1e3
    )]
    ServerStopped {
        /// When the last data datagram arrived, from the stream's start
        /// (when frame 1 arrived or should have).
        at_ms: u64,
        /// From then to the next data datagram, or to when the last
        /// frame was due.
        silent_ms: u64,
    },
    /// A client's v1 receiving stream ended without the server's END:
    /// the server's account of what it sent never came.
    #[error("the stream ended without the server's END: the server never said it finished (it may have stopped, or the path failed)")]
    NoEnd,
    /// A client's v1 sending stream ended without the server's final
    /// REPORT: the server's account of what it received never came.
    #[error("the stream ended without the server's final report: what the server received is unknown (it may have stopped, or the path failed)")]
    NoFinalReport,
    /// A client's stream ended without a single completed frame.
    #[error("no frame completed (0 of {frames}): nothing whole arrived")]
    NoFrameCompleted {
        /// Frames in the stream.
        frames: u64,
    },
    /// The embedder or the peer ended the stream early.
    #[error("stream aborted: {reason}")]
    Aborted {
        /// Why.
        reason: String,
    },
}

/// What [`IoPattern::poll_transmit_batch`] wrote: `len` bytes holding
/// datagrams of `segment_size` bytes each, the last possibly shorter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Bytes written.
    pub len: usize,
    /// Size of every datagram but the last.
    pub segment_size: usize,
}

impl Transmit {
    /// Datagrams in the run.
    pub fn segments(&self) -> usize {
        self.len.div_ceil(self.segment_size.max(1))
    }
}

/// A sans-IO stream endpoint: one connected stream, either role.
///
/// The driver loop is: call [`poll_transmit`](IoPattern::poll_transmit)
/// until it returns `None`, sending each datagram; feed every received
/// datagram to [`handle_datagram`](IoPattern::handle_datagram); sleep until
/// [`poll_timeout`](IoPattern::poll_timeout) (or a datagram arrives) and
/// then call [`handle_timeout`](IoPattern::handle_timeout); stop when
/// [`status`](IoPattern::status) is finished.
///
/// # The contract a custom pattern keeps
///
/// - **Waking.** [`poll_timeout`](IoPattern::poll_timeout) is the only
///   way a pattern asks for time. `Some(t)` means "call me at `t`" (a
///   past instant: now); `None` while [`status`](IoPattern::status) is
///   `Running` means "nothing is due until the next datagram": the
///   backend then waits for a datagram for this stream, however long,
///   and never polls in a loop. A pattern with deadlines of its own
///   (a consent timeout, a stream end) must return them here.
/// - **Sending.** Everything the pattern owes is taken by
///   `poll_transmit` or [`poll_transmit_batch`](IoPattern::poll_transmit_batch)
///   until it returns `None`; a backend may stop early (a send budget, a
///   full socket buffer, see [`on_unsent`](IoPattern::on_unsent)) and
///   comes back at once.
/// - **Greeting (server side, v1).** A pattern the
///   [`Server`](crate::server::Server) creates sends its greeting first:
///   an ACCEPT for a v1 request, the connection-id datagram for a plain
///   START; a v1 client waits for it. The server hands a repeated REQUEST
///   or JOIN of a running stream to its pattern, which sends the greeting
///   again. [`Greeter`] does both
///   ([`StreamRequest::greeter`](crate::server::StreamRequest::greeter)
///   makes the right one).
/// - **Finishing.** Once `status` is finished the counters are final and
///   `poll_timeout` returns `None`; the server then removes the stream and
///   reports it.
pub trait IoPattern {
    /// Writes the next datagram due at `now` into the front of `buf` and
    /// returns its length, or `None` when nothing is due. `buf` must hold
    /// the largest datagram of the stream
    /// ([`StreamPlan::max_datagram`](crate::settings::StreamPlan::max_datagram)).
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize>;

    /// Like [`poll_transmit`](IoPattern::poll_transmit), but may write a
    /// run of datagrams back to back into `buf`: every one
    /// `segment_size` bytes except a shorter last one, at most
    /// `max_segments` of them. A backend hands such a run to the kernel in
    /// one call (UDP GSO) or one datagram at a time. The default writes
    /// one datagram.
    fn poll_transmit_batch(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        max_segments: usize,
    ) -> Option<Transmit> {
        let _ = max_segments;
        let len = self.poll_transmit(now, buf)?;
        Some(Transmit {
            len,
            segment_size: len,
        })
    }

    /// Takes one datagram received from the peer at `now`.
    fn handle_datagram(&mut self, now: Instant, datagram: &[u8]);

    /// Takes one datagram received at `now` with the IP TOS /
    /// traffic-class byte it arrived with (DSCP and ECN, see
    /// [`crate::marking`]), where the backend reads it (`None`
    /// elsewhere). Backends call this one; the default forgets the
    /// marking and calls [`handle_datagram`](IoPattern::handle_datagram).
    /// The [`FrameReceiver`] counts the marking of every data datagram
    /// ([`StreamStats::marks`]).
    fn handle_marked_datagram(&mut self, now: Instant, datagram: &[u8], tos: Option<u8>) {
        let _ = tos;
        self.handle_datagram(now, datagram);
    }

    /// When the pattern next needs [`handle_timeout`](IoPattern::handle_timeout)
    /// or [`poll_transmit`](IoPattern::poll_transmit). An instant in the
    /// past means "now". `None` once finished; `None` while running means
    /// "wake me on the next datagram" (the backend waits for one and
    /// never spins on it).
    fn poll_timeout(&self) -> Option<Instant>;

    /// Runs whatever was due at or before `now`.
    fn handle_timeout(&mut self, now: Instant);

    /// Where the stream stands.
    fn status(&self) -> Status;

    /// The counters so far (final once the status is finished).
    fn stats(&self) -> &StreamStats;

    /// Ends the stream now with [`StreamError::Aborted`], keeping the
    /// counters as they are. Used on shutdown and on peer errors.
    fn abort(&mut self, reason: &str);

    /// The backend could not hand the last run from
    /// [`poll_transmit_batch`](IoPattern::poll_transmit_batch) (or the
    /// last datagram) to the kernel: `datagrams` datagrams of `bytes`
    /// bytes in all never left, because the send buffer stayed full. A
    /// pattern that counts what it sends takes them back out, so that
    /// every reported rate is of bytes that really left. The default
    /// ignores it.
    fn on_unsent(&mut self, datagrams: u64, bytes: u64) {
        let _ = (datagrams, bytes);
    }
}
