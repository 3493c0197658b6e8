use std::time::{Duration, Instant};

use super::control::{Control, ControlQueue};
use super::model::{Frame, FrameKind, FrameModel};
use super::{Greeting, IoPattern, Status, StreamError, StreamStats, Transmit, V1Session};
use crate::settings::{FrameSplit, StreamPlan};
use crate::time::Timebase;
use crate::wire::v1::{EndRepr, ReportRepr, V1Message, FEATURE_REPORT_BLOCKS};
use crate::wire::{self, DataRepr, Datagram, FrameDataRepr, MIN_FRAME_DATA_DATAGRAM};

/// Options of a [`FrameSender`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SenderConfig {
    /// A frame due less than this far ahead is sent at once
    /// (ctsTraffic: 2 ms, because its timers cannot wait for less).
    pub send_ahead: Duration,
    /// What to send before the first frame.
    pub greeting: Greeting,
    /// Run the v1 extension: take reports, stop without them (consent),
    /// send END after the last frame and wait for the final report.
    pub v1: Option<V1Session>,
    /// The clock the timestamps on the wire are read from; `None` uses a
    /// timebase whose tick 0 is the sender's start.
    pub timebase: Option<Timebase>,
    /// Spread each frame's datagrams over this long instead of sending
    /// them back to back: the frame leaves in sub-bursts [`SPREAD_STEP`]
    /// apart, the way a media pacer smooths an encoder's output. Zero (the
    /// default, and ctsTraffic's behaviour) sends each frame as one burst.
    /// A spread longer than the frame interval is cut to it.
    pub spread: Duration,
}

/// Time between the sub-bursts of a spread frame: short enough to smooth
/// a frame over a few milliseconds, long enough that each sub-burst is
/// still one batched send.
pub const SPREAD_STEP: Duration = Duration::from_millis(1);

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            send_ahead: Duration::from_millis(2),
            greeting: Greeting::None,
            v1: None,
            timebase: None,
            spread: Duration::ZERO,
        }
    }
}

/// Copies of END sent, back to back, so that one loss does not hide it.
const END_COPIES: usize = 2;

/// The sending side: emits every frame on schedule, split into datagrams,
/// each with the frame's sequence number, a fresh timestamp and the payload
/// pattern.
///
/// Frame n is due at `start + (n - 1) / FrameRate`, counted from the start
/// so that a sender that fell behind catches up instead of drifting; a
/// frame's datagrams leave back to back.
///
/// With v1, the sender also stops when the receiver's reports stop for the
/// consent timeout, and after its last frame sends END and waits (up to
/// the receiver's buffer depth plus two report intervals and a second) for
/// the receiver's final report, so that both ends know both views.
#[derive(Debug)]
pub struct FrameSender {
    plan: StreamPlan,
    config: SenderConfig,
    timebase: Timebase,
    start: Instant,
    control: ControlQueue,
    /// Next frame to send, 1-based.
    next_sequence: u64,
    /// Next datagram within that frame, 0-based.
    next_index: u64,
    /// v1: when the last report arrived (or the stream started).
    last_report: Instant,
    /// v1: after the last frame, wait for the final report until then.
    linger_until: Option<Instant>,
    status: Status,
    stats: StreamStats,
    /// A frame-size model (v1 frame data): frames vary and every datagram
    /// says its frame's size, kind and its index.
    model: Option<FrameModel>,
    /// The frame being sent and how it splits.
    current: (Frame, FrameSplit),
}

impl FrameSender {
    /// A sender whose frame 1 is due at `start`.
    pub fn new(plan: StreamPlan, mut config: SenderConfig, start: Instant) -> Self {
        // A frame never spreads into the next one's slot.
        config.spread = config.spread.min(plan.frame_interval());
        Self {
            plan,
            timebase: config.timebase.unwrap_or_else(|| Timebase::new(start)),
            control: ControlQueue::new(config.greeting, config.v1.as_ref()),
            config,
            start,
            next_sequence: 1,
            next_index: 0,
            last_report: start,
            linger_until: None,
            status: Status::Running,
            stats: StreamStats::default(),
            model: None,
            current: (
                Frame::new(plan.frame_size(), FrameKind::Independent, 0),
                *plan.split(),
            ),
        }
    }

    /// Sends frames of `model` (resolved for this sender's plan) as v1
    /// frame data datagrams, which only a receiver that asked for them
    /// (a v1 request with a model) understands.
    pub fn with_model(mut self, model: FrameModel) -> Self {
        self.model = Some(model);
        self.load_frame();
        self
    }

    /// The frame being sent (or next to be).
    fn load_frame(&mut self) {
        let Some(model) = &self.model else {
            return;
        };
        let frame = model.frame(self.next_sequence);
        let min = MIN_FRAME_DATA_DATAGRAM as u32;
        // A resolved model's frames always split (MIN_MODEL_DATAGRAM).
        if let Ok(split) = FrameSplit::with_min(frame.size, model.datagram_size(), min) {
            self.current = (frame, split);
        }
    }

    fn split(&self) -> &FrameSplit {
        &self.current.1
    }

    /// The plan this sender follows.
    pub fn plan(&self) -> &StreamPlan {
        &self.plan
    }

    /// When frame `sequence` is due.
    pub fn due(&self, sequence: u64) -> Instant {
        self.start + self.plan.frame_offset(sequence)
    }

    /// Sub-bursts per frame: one without spread, else one per
    /// [`SPREAD_STEP`] of the spread, never more than datagrams.
    fn chunks(&self) -> u64 {
        if self.config.spread.is_zero() {
            return 1;
        }
        let steps = self.config.spread.as_nanos() / SPREAD_STEP.as_nanos();
        let steps = u64::try_from(steps).unwrap_or(u64::MAX).max(1);
        steps.min(self.split().datagram_count())
    }

    /// The sub-burst datagram `index` of a frame belongs to. Asked for
    /// every datagram sent: 64-bit arithmetic where the product fits
    /// (always, for any real frame), 128-bit beyond; the same result.
    fn chunk_of(&self, index: u64) -> u64 {
        let count = self.split().datagram_count().max(1);
        let chunks = self.chunks();
        match index.checked_mul(chunks) {
            Some(product) => product / count,
            None => (u128::from(index) * u128::from(chunks) / u128::from(count)) as u64,
        }
    }

    /// When the datagram at `index` of the current frame may leave: its
    /// frame's due time plus its sub-burst's share of the spread.
    fn datagram_due(&self, index: u64) -> Instant {
        let due = self.due(self.next_sequence);
        let chunk = self.chunk_of(index);
        if chunk == 0 {
            return due;
        }
        let chunks = u32::try_from(self.chunks()).unwrap_or(u32::MAX);
        let chunk = u32::try_from(chunk).unwrap_or(u32::MAX);
        due + self.config.spread / chunks * chunk
    }

    /// Skips every frame that would now leave more than the buffer depth
    /// after its time: the receiver renders a frame a buffer depth after
    /// it was due (plus the path's delay, which its first datagram paid
    /// too), so such a frame can only arrive late. A sender that fell that
    /// far behind (an overloaded host, a request for more than it can
    /// send) catches up on what still counts instead of spending its
    /// time on frames nobody will play. The last frame is always sent, so
    /// that the stream ends as it would have.
    fn skip_hopeless(&mut self, now: Instant) {
        let buffer = Duration::from_millis(self.plan.settings().buffer_depth_ms.into());
        let last = self.plan.stream_frames();
        let hopeless = |n: u64| self.due(n) + buffer < now;
        if self.next_sequence >= last || !hopeless(self.next_sequence) {
            return;
        }
        // Jump near the first frame still in time, then settle exactly
        // (a sender can be millions of frames behind).
        let behind = now.saturating_duration_since(self.start + buffer);
        let fps = u128::from(self.plan.settings().frame_rate);
        let estimate = u64::try_from(behind.as_nanos() * fps / 1_000_000_000).unwrap_or(u64::MAX);
        let mut n = estimate.saturating_add(1).clamp(self.next_sequence, last);
        while n > self.next_sequence && !hopeless(n - 1) {
            n -= 1;
        }
        while n < last && hopeless(n) {
            n += 1;
        }
        self.stats.frames_skipped += n - self.next_sequence;
        self.next_sequence = n;
        self.load_frame();
    }

    fn all_sent(&self) -> bool {
        self.next_sequence > self.plan.stream_frames()
    }

    /// Consent holds until the final report: a receiver that went quiet
    /// fails the stream even after the last frame, instead of letting
    /// the linger end it as a success with a stale view.
    fn consent_deadline(&self) -> Option<Instant> {
        let session = self.config.v1.as_ref()?;
        Some(self.last_report + session.consent_timeout)
    }

    fn emit_data(&mut self, now: Instant, buf: &mut [u8]) -> usize {
        let split = *self.split();
        let size = split.size_of(self.next_index).unwrap_or(split.largest()) as usize;
        let repr = DataRepr {
            sequence_number: self.next_sequence as i64,
            timestamp: self.timebase.ticks(now),
            frequency: Timebase::FREQUENCY,
        };
        assert!(
            buf.len() >= size,
            "poll_transmit needs a buffer of {size} bytes, got {}",
            buf.len()
        );
        let written = match self.model {
            None => repr.emit_datagram(buf, size),
            Some(_) => self.frame_repr(repr).emit_datagram(buf, size),
        }
        .unwrap_or(0);
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += written as u64;
        self.stats.first_sent.get_or_insert(now);
        self.stats.last_sent = Some(now);
        self.next_index += 1;
        if self.next_index == split.datagram_count() {
            self.next_index = 0;
            self.next_sequence += 1;
            self.load_frame();
            self.stats.frames_sent += 1;
            if self.all_sent() {
                self.on_last_frame(now);
            }
        }
        written
    }

    fn frame_repr(&self, data: DataRepr) -> FrameDataRepr {
        let (frame, _) = self.current;
        let back = self.next_sequence.saturating_sub(frame.key);
        FrameDataRepr::new(
            data,
            u32::try_from(frame.size).unwrap_or(u32::MAX),
            u32::try_from(self.next_index).unwrap_or(u32::MAX),
            frame.kind.code(),
            if frame.kind == FrameKind::Delta {
                u32::try_from(back).unwrap_or(u32::MAX)
            } else {
                0
            },
        )
    }

    fn on_last_frame(&mut self, now: Instant) {
        let Some(session) = self.config.v1 else {
            self.status = Status::Completed;
            return;
        };
        let end = EndRepr {
            token: session.token,
            frames_sent: self.stats.frames_sent,
            datagrams_sent: self.stats.datagrams_sent,
            bytes_sent: self.stats.bytes_sent,
            features: FEATURE_REPORT_BLOCKS,
        };
        for _ in 0..END_COPIES {
            self.control.push(Control::End(end));
        }
        let buffer = Duration::from_millis(self.plan.settings().buffer_depth_ms.into());
        let linger = buffer + 2 * session.report_interval + Duration::from_secs(1);
        self.linger_until = Some(now + linger);
    }

    fn on_report(&mut self, now: Instant, report: ReportRepr) {
        self.last_report = now;
        self.stats.reports += 1;
        let (echo_timestamp, echo_delay_ns, is_final) =
            (report.echo_timestamp, report.echo_delay_ns, report.is_final);
        // One allocation per stream, not per report.
        match &mut self.stats.peer_report {
            Some(kept) => **kept = report,
            None => self.stats.peer_report = Some(Box::new(report)),
        }
        if echo_timestamp != 0 {
            let rtt_ns = self.timebase.ticks(now) - echo_timestamp - echo_delay_ns;
            if let Ok(ns) = u64::try_from(rtt_ns) {
                self.stats.rtt.record(Duration::from_nanos(ns));
            }
        }
        if is_final && self.linger_until.is_some() {
            self.status = Status::Completed;
        }
    }

    fn check_deadlines(&mut self, now: Instant) {
        if self.status.is_finished() {
            return;
        }
        if let Some(deadline) = self.consent_deadline() {
            if now >= deadline {
                self.status = Status::Failed(StreamError::ConsentExpired {
                    silent_ms: (now - self.last_report).as_millis() as u64,
                });
                return;
            }
        }
        if self.linger_until.is_some_and(|t| now >= t) && self.control.is_empty() {
            self.status = Status::Completed;
        }
    }
}

impl IoPattern for FrameSender {
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if let Some(len) = self.control.poll(buf) {
            self.stats.control_sent += 1;
            return Some(len);
        }
        self.check_deadlines(now);
        if self.status.is_finished() || self.all_sent() {
            return None;
        }
        if self.next_index == 0 {
            self.skip_hopeless(now);
            if self.all_sent() {
                return None;
            }
            let due = self.due(self.next_sequence);
            if due > now + self.config.send_ahead {
                return None;
            }
            let steady = due >= self.start + super::Lateness::WARM_UP;
            self.stats.lateness.record(due, now, steady);
        } else if self.chunk_of(self.next_index) > 0 && self.datagram_due(self.next_index) > now {
            // The rest of a spread frame waits for its sub-burst.
            return None;
        }
        Some(self.emit_data(now, buf))
    }

    fn poll_transmit_batch(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        max_segments: usize,
    ) -> Option<Transmit> {
        let first = self.poll_transmit(now, buf)?;
        // A model's frames may use larger datagrams than the plan's
        // frame: keep a run within the bytes the caller's batching allows.
        let plan_max = self.plan.max_datagram();
        let max_segments = if first > plan_max {
            (max_segments * plan_max / first).clamp(1, max_segments)
        } else {
            max_segments
        };
        let chunk = self.chunk_of(self.next_index.saturating_sub(1));
        let mut len = first;
        let mut segments = 1;
        // Only data continues a run: the rest of the same frame, while the
        // datagrams keep the first one's size (a shorter one ends the run).
        while segments < max_segments && self.next_index > 0 && !self.status.is_finished() {
            let Some(next) = self.split().size_of(self.next_index) else {
                break;
            };
            let next = next as usize;
            if next > first
                || len + next > buf.len()
                || !self.control.is_empty()
                || self.chunk_of(self.next_index) != chunk
            {
                break;
            }
            len += self.emit_data(now, &mut buf[len..]);
            segments += 1;
            if next < first {
                break;
            }
        }
        Some(Transmit {
            len,
            segment_size: first,
        })
    }

    fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        let token = self.config.v1.map(|s| s.token);
        match wire::parse(datagram) {
            Ok(Datagram::V1(V1Message::Report(r))) if Some(r.token) == token => {
                if !self.status.is_finished() {
                    self.on_report(now, *r);
                }
            }
            Ok(Datagram::V1(V1Message::Request(r))) if Some(r.token) == token => {
                self.control.repeat_greeting();
            }
            Ok(_) => self.stats.datagrams_ignored += 1,
            Err(_) => self.stats.datagrams_malformed += 1,
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.status.is_finished() {
            return None;
        }
        if !self.control.is_empty() {
            return Some(self.start);
        }
        if self.next_index > 0 {
            // The rest of the frame: now, or its sub-burst's time.
            return Some(match self.chunk_of(self.next_index) {
                0 => self.start,
                _ => self.datagram_due(self.next_index),
            });
        }
        let next = if self.all_sent() {
            self.linger_until
        } else {
            Some(self.due(self.next_sequence))
        };
        [next, self.consent_deadline()].into_iter().flatten().min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.check_deadlines(now);
    }

    fn status(&self) -> Status {
        self.status.clone()
    }

    fn stats(&self) -> &StreamStats {
        &self.stats
    }

    fn abort(&mut self, reason: &str) {
        self.status.abort(reason);
    }

    fn on_unsent(&mut self, datagrams: u64, bytes: u64) {
        let datagrams = datagrams.min(self.stats.datagrams_sent);
        self.stats.datagrams_sent -= datagrams;
        self.stats.bytes_sent = self.stats.bytes_sent.saturating_sub(bytes);
        self.stats.datagrams_unsent += datagrams;
    }
}

#[cfg(test)]
mod tests;
