use std::collections::VecDeque;
use std::time::Instant;

use super::control::{Control, ControlQueue};
use super::metrics::{FrameAtTick, FrameShape, ReceiveMetrics};
use super::model::FrameKind;
use super::{
    FrameOutcome, FrameRecord, Greeting, InterarrivalJitter, IoPattern, Status, StreamError,
    StreamStats, V1Session,
};
use crate::settings::{FrameSplit, StreamPlan};
use crate::time::{ticks_to_secs, Timebase};
use crate::wire::v1::{self, ReportRepr, V1Message};
use crate::wire::{self, payload, ConnectionId, DataRepr, Datagram, FrameDataRepr};

/// What the receiver does with a payload that fails verification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verify {
    /// Do not check payloads.
    Off,
    /// Count the datagram as corrupt, do not credit its bytes to its
    /// frame, keep measuring, and fail the stream when it ends.
    #[default]
    Count,
    /// Fail the stream at once (what a ctsTraffic client does).
    Abort,
}

/// Options of a [`FrameReceiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiverConfig {
    /// Payload verification policy.
    pub verify: Verify,
    /// Keep a [`FrameRecord`] per rendered frame for
    /// [`FrameReceiver::poll_record`] (for a jitter file).
    pub record_frames: bool,
    /// The clock arrival times are read in; `None` uses a timebase whose
    /// tick 0 is the receiver's creation.
    pub timebase: Option<Timebase>,
    /// What to send before anything else (a server-side receiver answers
    /// JOIN with ACCEPT).
    pub greeting: Greeting,
    /// Run the v1 extension: report every interval, final reports at the
    /// end, take the sender's END.
    pub v1: Option<V1Session>,
    /// Keep a per-frame timeline in [`ReceiveMetrics::timeline`] (about 40
    /// bytes per frame, up to [`super::metrics::TIMELINE_LIMIT`] frames).
    pub timeline: bool,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            verify: Verify::Count,
            record_frames: false,
            timebase: None,
            greeting: Greeting::None,
            v1: None,
            timeline: false,
        }
    }
}

/// Copies of the final report, back to back.
const FINAL_REPORT_COPIES: usize = 2;

/// How far a datagram's one-way delay (arrival minus its sender
/// timestamp) may stray from the stream's reference delay, beyond the
/// buffer depth, before the timestamp counts as implausible: it is then
/// counted ([`StreamStats::timestamps_implausible`]) and kept out of
/// jitter, delays and echoes, while its bytes still count for its frame.
/// The rule is in docs/metrics.md.
pub const PLAUSIBLE_DELAY_SPREAD: std::time::Duration = std::time::Duration::from_secs(10);

/// One data datagram's timing, as far as plausibility goes.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    sequence: u64,
    delay_ns: i64,
    timestamp: i64,
    frequency: i64,
    arrival_ticks: i64,
}

/// Judges sender timestamps (docs/metrics.md, "Implausible timestamps"):
/// the first datagram's is held until a second one agrees with it (its
/// delay within the spread), which makes it the reference; every later
/// one must be within the spread of the reference.
#[derive(Debug, Clone, Copy)]
struct StampCheck {
    spread_ns: i64,
    reference: Option<i64>,
    held: Option<Stamp>,
}

/// What a datagram's timestamp is good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judged {
    /// Use it (after the released one, if any).
    Use,
    /// Held: the first one, not judged yet.
    Hold,
    /// Implausible: counted, not used.
    Reject,
}

impl StampCheck {
    fn new(plan: &StreamPlan) -> Self {
        let depth = std::time::Duration::from_millis(plan.settings().buffer_depth_ms.into());
        let spread = PLAUSIBLE_DELAY_SPREAD + depth;
        Self {
            spread_ns: i64::try_from(spread.as_nanos()).unwrap_or(i64::MAX),
            reference: None,
            held: None,
        }
    }

    fn near(&self, a: i64, b: i64) -> bool {
        (i128::from(a) - i128::from(b)).abs() <= i128::from(self.spread_ns)
    }

    /// Judges `stamp` (`None`: no usable timestamp at all). Returns the
    /// verdict, the held datagram to use first (confirmed by this one),
    /// and how many timestamps turned out implausible.
    fn judge(&mut self, stamp: Option<Stamp>) -> (Judged, Option<Stamp>, u64) {
        let Some(stamp) = stamp else {
            return (Judged::Reject, None, 1);
        };
        if let Some(reference) = self.reference {
            return if self.near(stamp.delay_ns, reference) {
                (Judged::Use, None, 0)
            } else {
                (Judged::Reject, None, 1)
            };
        }
        match self.held.replace(stamp) {
            None => (Judged::Hold, None, 0),
            Some(held) if self.near(stamp.delay_ns, held.delay_ns) => {
                self.held = None;
                self.reference = Some(held.delay_ns);
                (Judged::Use, Some(held), 0)
            }
            // Two that disagree: the older one is dropped, the newer one
            // waits for a third.
            Some(_) => (Judged::Hold, None, 1),
        }
    }
}

/// What arrived for one frame before its tick. The ring holds one per
/// frame of the buffer (50 for a second at 50 frames/s), so it is kept
/// small: its sequence number is its place in the ring, a missing delay
/// is [`NO_DELAY`], and frame data's shapes and the jitter file's
/// timestamps live in parallel rings, kept only when they are used.
#[derive(Debug, Clone, Default)]
struct Slot {
    bytes: u64,
    first_delay_ns: i64,
    last_delay_ns: i64,
    datagrams: u32,
    /// A plausible timestamp was credited.
    stamped: bool,
}

/// A slot's delay when no plausible timestamp came (raw delays are
/// clock differences; this one is never a real one).
const NO_DELAY: i64 = i64::MIN;

impl Slot {
    fn empty() -> Self {
        Self {
            first_delay_ns: NO_DELAY,
            last_delay_ns: NO_DELAY,
            ..Self::default()
        }
    }
}

fn delay_of(ns: i64) -> Option<i64> {
    (ns != NO_DELAY).then_some(ns)
}

/// A slot's newest plausible timestamp, for the jitter file's row.
#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    sender_ticks: i64,
    sender_frequency: i64,
    receiver_ticks: i64,
}

/// Send and arrival time of a completed frame, for the jitter columns.
#[derive(Debug, Clone, Copy)]
struct Reference {
    sent_secs: f64,
    received_secs: f64,
    relative_in_flight_ms: f64,
}

/// The receiving side: a ctsTraffic client's jitter buffer and renderer.
///
/// Datagrams are credited, by sequence number, to a ring of
/// 2 x BufferedFrames frame slots. A render tick takes the oldest frame:
/// exactly FrameSize bytes is Completed, fewer Dropped, more Repeated.
///
/// Frame n renders at `anchor + (BufferedFrames + n - 1) / FrameRate`,
/// where the anchor is when frame 1 arrived or should have: the first data
/// datagram's arrival minus its frame's offset in the schedule. ctsTraffic
/// anchors at its first START instead, so START retries and the path's
/// delay eat into its buffer; anchoring at the data gives every frame the
/// whole buffer depth. If nothing arrives within the buffer depth of
/// [`FrameReceiver::new`] (or of [`FrameReceiver::restart_clock`]), the
/// stream fails with every frame dropped.
#[derive(Debug)]
pub struct FrameReceiver {
    plan: StreamPlan,
    config: ReceiverConfig,
    timebase: Timebase,
    created: Instant,
    anchor: Option<Instant>,
    /// The frames from the next to render (`head_sequence`) on, as far
    /// ahead as data has arrived, at most [`StreamPlan::ring_slots`]:
    /// memory follows the data, so a deep buffer nobody fills costs
    /// nothing.
    ring: VecDeque<Slot>,
    /// The ring's timestamps, slot for slot, when records are kept.
    timing: VecDeque<Timing>,
    /// Frame data: what the first datagram of each slot's frame said of
    /// it, slot for slot, from the first frame data datagram on.
    shapes: Option<VecDeque<Option<FrameShape>>>,
    /// Sequence number of the next frame to render (1-based).
    head_sequence: u64,
    status: Status,
    stats: StreamStats,
    jitter: InterarrivalJitter,
    first_corrupt_offset: Option<usize>,
    connection_id: Option<ConnectionId>,
    first_frame: Option<Reference>,
    previous_frame: Option<Reference>,
    records: VecDeque<FrameRecord>,
    control: ControlQueue,
    /// v1: when the next report is due.
    next_report: Option<Instant>,
    /// v1: the newest data datagram's sender timestamp and arrival.
    latest: Option<(i64, Instant)>,
    highest_sequence: i64,
    stamps: StampCheck,
    /// The first silence mid-stream longer than the buffer depth: when it
    /// began (from the anchor) and how long it was.
    silence: Option<(std::time::Duration, std::time::Duration)>,
    /// v1: the sender's END said it reads REPORT blocks.
    peer_reads_blocks: bool,
}

impl FrameReceiver {
    /// Expects v1 frame data (the stream has a frame-size model): keeps the
    /// decoder's view ([`super::metrics::Decoder`]) from the first tick.
    pub fn expect_frame_data(mut self) -> Self {
        if let Some(m) = self.stats.metrics.as_mut() {
            m.decoder.active = true;
        }
        self
    }

    /// A receiver created (listening) at `now`.
    pub fn new(plan: StreamPlan, config: ReceiverConfig, now: Instant) -> Self {
        let slots = plan.ring_slots() as usize;
        let metrics = ReceiveMetrics::new(
            plan.frame_size(),
            plan.split().datagram_count(),
            slots,
            config.timeline,
        );
        Self {
            plan,
            timebase: config.timebase.unwrap_or_else(|| Timebase::new(now)),
            config,
            created: now,
            anchor: None,
            ring: VecDeque::new(),
            timing: VecDeque::new(),
            shapes: None,
            head_sequence: 1,
            status: Status::Running,
            stats: StreamStats {
                metrics: Some(Box::new(metrics)),
                ..StreamStats::default()
            },
            jitter: InterarrivalJitter::default(),
            first_corrupt_offset: None,
            connection_id: None,
            first_frame: None,
            previous_frame: None,
            records: VecDeque::new(),
            control: ControlQueue::new(config.greeting, config.v1.as_ref()),
            next_report: config.v1.map(|s| now + s.report_interval),
            latest: None,
            peer_reads_blocks: false,
            highest_sequence: 0,
            stamps: StampCheck::new(&plan),
            silence: None,
        }
    }

    /// Starts the no-data clock (and the v1 report clock) again at `now`,
    /// as long as no data has arrived. A client builds its receivers
    /// before its first request leaves, and a client of many streams can
    /// take a while to open all its sockets; the buffer depth counts from
    /// the request, as ctsTraffic's does from its first START.
    pub fn restart_clock(&mut self, now: Instant) {
        if self.anchor.is_some() || self.status.is_finished() {
            return;
        }
        self.created = now;
        self.next_report = self.config.v1.map(|s| now + s.report_interval);
    }

    /// The memory a receiver of `plan` is counted at, in bytes, without a
    /// timeline: its ring (which grows only as data arrives ahead of the
    /// render head), the rendered frames its metrics keep, and a fixed
    /// part, counted at 24 KiB: the receiver and its metrics (about
    /// 2.6 KiB) and the eight delay histogram windows at their widest
    /// (timestamps are judged within 10 s plus the buffer of the
    /// reference, so a window spans at most about 1,200 one-byte buckets).
    /// Buckets counted past 254 times add 16 bytes each on top. A loopback
    /// stream measures about 6 KiB in all (docs/metrics.md). A server
    /// counts this against its receive-memory budget when it admits a
    /// stream.
    pub fn memory_bound(plan: &StreamPlan) -> u64 {
        const FIXED: u64 = 24 << 10;
        let per_slot = (size_of::<Slot>() + super::metrics::RENDERED_ENTRY_BYTES) as u64;
        FIXED.saturating_add(plan.ring_slots().saturating_mul(per_slot))
    }

    /// The plan this receiver follows.
    pub fn plan(&self) -> &StreamPlan {
        &self.plan
    }

    /// The connection id the sender announced, if one arrived.
    pub fn connection_id(&self) -> Option<ConnectionId> {
        self.connection_id
    }

    /// True once any data datagram has arrived (ctsTraffic stops resending
    /// START then).
    pub fn has_received_data(&self) -> bool {
        self.anchor.is_some()
    }

    /// The sender went silent for longer than the buffer depth after
    /// data had started: the first gap between two data datagrams that
    /// was longer than the buffer depth plus one frame interval (the
    /// frames it missed spanned more than the buffer), or else a last
    /// data datagram that arrived more than the buffer depth before the
    /// last frame was due (the schedule from the anchor). Returns when the
    /// silence began, counted from the anchor, and how long it lasted
    /// (to the next datagram, or to when the last frame was due). `None`
    /// when data kept coming, or when none came at all
    /// ([`StreamError::NoData`]).
    pub fn sender_stopped(&self) -> Option<(std::time::Duration, std::time::Duration)> {
        if self.silence.is_some() {
            return self.silence;
        }
        let anchor = self.anchor?;
        let last = self.stats.last_received?;
        let due = anchor + self.plan.frame_offset(self.plan.stream_frames());
        let silent = due.saturating_duration_since(last);
        (silent > self.buffer_depth()).then(|| (last.saturating_duration_since(anchor), silent))
    }

    /// The buffer depth, as frames of the plan.
    fn buffer_depth(&self) -> std::time::Duration {
        self.plan.frame_offset(self.plan.buffered_frames() + 1)
    }

    /// Records the first gap before a data datagram arriving at `now`
    /// that was longer than the buffer depth and one frame interval.
    fn note_silence(&mut self, now: Instant) {
        let (Some(anchor), Some(last), None) =
            (self.anchor, self.stats.last_received, self.silence)
        else {
            return;
        };
        let gap = now.saturating_duration_since(last);
        if gap > self.buffer_depth() + self.plan.frame_interval() {
            self.silence = Some((last.saturating_duration_since(anchor), gap));
        }
    }

    /// Takes the oldest frame record not yet taken (only with
    /// [`ReceiverConfig::record_frames`]).
    pub fn poll_record(&mut self) -> Option<FrameRecord> {
        self.records.pop_front()
    }

    /// When frame `sequence` renders, once the anchor is known.
    pub fn render_time(&self, sequence: u64) -> Option<Instant> {
        let offset = self
            .plan
            .frame_offset(self.plan.buffered_frames() + sequence);
        self.anchor.map(|anchor| anchor + offset)
    }

    fn no_data_deadline(&self) -> Instant {
        self.created + self.plan.frame_offset(self.plan.buffered_frames() + 1)
    }

    /// Renders every frame due at or before `now`, and ends the stream
    /// after the last one.
    fn advance(&mut self, now: Instant) {
        if self.status.is_finished() {
            return;
        }
        self.report_if_due(now);
        if self.anchor.is_none() {
            if now >= self.no_data_deadline() {
                self.fail_without_data();
            }
            return;
        }
        while self.head_sequence <= self.plan.stream_frames() {
            match self.render_time(self.head_sequence) {
                Some(due) if due <= now => self.render(),
                _ => break,
            }
        }
        if self.head_sequence > self.plan.stream_frames() {
            let end = self.render_time(self.plan.stream_frames()).unwrap_or(now);
            self.finish(end.max(self.created).min(now));
        }
    }

    fn fail_without_data(&mut self) {
        let frames = self.plan.stream_frames();
        self.stats.frames_dropped += frames;
        if self.config.record_frames {
            self.records.extend((1..=frames).map(FrameRecord::dropped));
        }
        if let Some(metrics) = self.stats.metrics.as_mut() {
            let plan = self.plan;
            metrics.on_nothing_arrived(frames, |n| plan.frame_offset(n));
            metrics.finish();
        }
        self.head_sequence = frames + 1;
        self.status = Status::Failed(StreamError::NoData);
        self.queue_final_reports(self.created);
    }

    /// The receiver's view now, for a v1 report.
    fn report(&self, now: Instant, is_final: bool) -> Option<ReportRepr> {
        let session = self.config.v1?;
        let s = &self.stats;
        let (echo_timestamp, echo_delay_ns) = self.latest.map_or((0, 0), |(ts, at)| {
            let delay = now.saturating_duration_since(at).as_nanos();
            (ts, i64::try_from(delay).unwrap_or(i64::MAX))
        });
        Some(ReportRepr {
            token: session.token,
            is_final,
            frames_completed: s.frames_completed,
            frames_dropped: s.frames_dropped,
            frames_repeated: s.frames_repeated,
            frames_error: s.frames_error,
            datagrams_received: s.datagrams_received,
            bytes_received: s.bytes_received,
            datagrams_corrupt: s.datagrams_corrupt,
            highest_sequence: self.highest_sequence,
            echo_timestamp,
            echo_delay_ns,
            jitter_ns: (self.jitter.secs() * 1e9) as u64,
            marks: s
                .marks
                .clone()
                .filter(|m| m.datagrams > 0 && (session.report_blocks || self.peer_reads_blocks)),
        })
    }

    fn report_if_due(&mut self, now: Instant) {
        let (Some(due), Some(session)) = (self.next_report, self.config.v1) else {
            return;
        };
        if now < due {
            return;
        }
        if let Some(report) = self.report(now, false) {
            self.control.push(Control::Report(Box::new(report)));
        }
        // Never queue a backlog of reports after a stall: one, then on time.
        let next = due + session.report_interval;
        self.next_report = Some(if next <= now {
            now + session.report_interval
        } else {
            next
        });
    }

    fn queue_final_reports(&mut self, now: Instant) {
        self.next_report = None;
        if let Some(report) = self.report(now, true) {
            for _ in 0..FINAL_REPORT_COPIES {
                self.control.push(Control::Report(Box::new(report.clone())));
            }
        }
    }

    fn finish(&mut self, now: Instant) {
        self.stats.jitter_secs = self.jitter.secs();
        self.finish_metrics();
        self.status = if self.stats.datagrams_corrupt > 0 {
            Status::Failed(StreamError::CorruptPayload {
                datagrams: self.stats.datagrams_corrupt,
                first_offset: self.first_corrupt_offset.unwrap_or(0),
            })
        } else if self.stats.datagrams_malformed > 0 {
            Status::Failed(StreamError::Malformed {
                datagrams: self.stats.datagrams_malformed,
            })
        } else {
            Status::Completed
        };
        self.queue_final_reports(now);
    }

    fn render(&mut self) {
        let sequence = self.head_sequence;
        let slot = self.ring.pop_front().unwrap_or_else(Slot::empty);
        let timing = self.timing.pop_front().unwrap_or_default();
        let shape = self.shapes.as_mut().and_then(|s| s.pop_front().flatten());
        let frame_size = shape.map_or(self.plan.frame_size(), |s| s.size);
        let outcome = match slot.bytes {
            b if b == frame_size => FrameOutcome::Completed,
            b if b < frame_size => FrameOutcome::Dropped,
            _ => FrameOutcome::Repeated,
        };
        match outcome {
            FrameOutcome::Completed => self.stats.frames_completed += 1,
            FrameOutcome::Dropped => self.stats.frames_dropped += 1,
            FrameOutcome::Repeated => self.stats.frames_repeated += 1,
        }
        if self.config.record_frames {
            let record = self.record_for(sequence, slot.stamped, timing, outcome);
            self.records.push_back(record);
        }
        if let Some(metrics) = self.stats.metrics.as_mut() {
            metrics.on_render(FrameAtTick {
                sequence,
                outcome,
                bytes: slot.bytes,
                datagrams: u64::from(slot.datagrams),
                due: self.plan.frame_offset(sequence),
                first_delay_ns: delay_of(slot.first_delay_ns),
                last_delay_ns: delay_of(slot.last_delay_ns),
                shape,
            });
        }
        self.head_sequence += 1;
    }

    /// Builds the jitter-file row and keeps the first and previous
    /// completed frames as ctsTraffic does.
    fn record_for(
        &mut self,
        sequence: u64,
        stamped: bool,
        slot: Timing,
        outcome: FrameOutcome,
    ) -> FrameRecord {
        if outcome == FrameOutcome::Dropped {
            return FrameRecord::dropped(sequence);
        }
        if !stamped {
            // Every timestamp of the frame was implausible: no timing,
            // and the references stay as they were.
            return FrameRecord {
                sequence_number: sequence,
                outcome,
                sender_ticks: 0,
                sender_frequency: 0,
                receiver_ticks: 0,
                receiver_frequency: Timebase::FREQUENCY,
                relative_in_flight_ms: self.previous_frame.map_or(0.0, |p| p.relative_in_flight_ms),
                jitter_ms: 0.0,
            };
        }
        let sent_secs = ticks_to_secs(slot.sender_ticks, slot.sender_frequency);
        let received_secs = ticks_to_secs(slot.receiver_ticks, Timebase::FREQUENCY);
        let relative_in_flight_ms = self.first_frame.map_or(0.0, |first| {
            ((received_secs - first.received_secs) - (sent_secs - first.sent_secs)) * 1e3
        });
        let jitter_ms = self.previous_frame.map_or(0.0, |previous| {
            (previous.relative_in_flight_ms - relative_in_flight_ms).abs()
        });
        if outcome == FrameOutcome::Completed {
            let reference = Reference {
                sent_secs,
                received_secs,
                relative_in_flight_ms,
            };
            self.first_frame.get_or_insert(reference);
            self.previous_frame = Some(reference);
        }
        FrameRecord {
            sequence_number: sequence,
            outcome,
            sender_ticks: slot.sender_ticks,
            sender_frequency: slot.sender_frequency,
            receiver_ticks: slot.receiver_ticks,
            receiver_frequency: Timebase::FREQUENCY,
            relative_in_flight_ms,
            jitter_ms,
        }
    }

    /// A frame data datagram: credited as data, and its frame's size and
    /// kind kept from the first datagram of the frame to arrive.
    fn on_frame_data(&mut self, now: Instant, repr: FrameDataRepr, payload: &[u8]) {
        let sequence = u64::try_from(repr.data.sequence_number).unwrap_or(0);
        let shape = self.shape_of(sequence, &repr);
        self.on_data(now, repr.data, payload, wire::FRAME_DATA_HEADER_LEN, shape);
    }

    fn shape_of(&self, sequence: u64, repr: &FrameDataRepr) -> Option<FrameShape> {
        let kind = FrameKind::from_code(repr.kind)?;
        let size = u64::from(repr.frame_size);
        let min = wire::MIN_FRAME_DATA_DATAGRAM as u32;
        let datagram_size = self.plan.settings().datagram_size;
        let datagrams = FrameSplit::with_min(size, datagram_size, min)
            .ok()?
            .datagram_count();
        let key = match kind {
            FrameKind::Key => sequence,
            FrameKind::Delta => sequence.saturating_sub(u64::from(repr.key_back)),
            FrameKind::Independent => 0,
        };
        Some(FrameShape::new(size, datagrams, kind, key))
    }

    fn on_data(
        &mut self,
        now: Instant,
        repr: DataRepr,
        payload: &[u8],
        header: usize,
        shape: Option<FrameShape>,
    ) {
        let len = (payload.len() + header) as u64;
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += len;
        self.stats.first_received.get_or_insert(now);
        self.note_silence(now);
        self.stats.last_received = Some(now);
        if self.config.verify != Verify::Off {
            if let Err(offset) = payload::verify(payload) {
                self.on_corrupt(offset);
                return;
            }
        }
        let arrival_ticks = self.timebase.ticks(now);
        self.highest_sequence = self.highest_sequence.max(repr.sequence_number);
        let sequence = u64::try_from(repr.sequence_number).unwrap_or(0);
        let delay_ns = delay_ns(repr, arrival_ticks);
        let stamp = delay_ns.map(|delay_ns| Stamp {
            sequence,
            delay_ns,
            timestamp: repr.timestamp,
            frequency: repr.frequency,
            arrival_ticks,
        });
        let (judged, released, implausible) = self.stamps.judge(stamp);
        self.stats.timestamps_implausible += implausible;
        if let Some(first) = released {
            self.use_stamp(first, true);
            // The one it confirmed is the newest the sender's clock said.
            self.latest = Some((first.timestamp, now));
        }
        let plausible = judged == Judged::Use;
        if plausible {
            self.latest = Some((repr.timestamp, now));
            self.jitter
                .on_datagram(repr.timestamp, repr.frequency, arrival_ticks);
        }
        self.stats.jitter_secs = self.jitter.secs();
        let in_stream = (1..=self.plan.stream_frames()).contains(&sequence);
        if self.anchor.is_none() && in_stream {
            let offset = self.plan.frame_offset(sequence);
            self.anchor = Some(now.checked_sub(offset).unwrap_or(now));
        }
        // Frames due before this arrival render first: a datagram that
        // arrives at or after its frame's tick is late.
        self.advance(now);
        if self.status.is_finished() {
            return;
        }
        let delay_ns = delay_ns.filter(|_| plausible);
        if let Some(metrics) = self.stats.metrics.as_mut().filter(|_| in_stream) {
            metrics.on_datagram(sequence, delay_ns);
            if sequence < self.head_sequence {
                metrics.on_late_shaped(sequence, len, shape);
            }
        }
        let ahead = sequence.wrapping_sub(self.head_sequence);
        if !in_stream || sequence < self.head_sequence || ahead >= self.plan.ring_slots() {
            self.stats.frames_error += 1;
            return;
        }
        let ahead = ahead as usize;
        if let Some(shape) = shape {
            self.slot_at(ahead);
            let len = self.ring.len();
            let shapes = self
                .shapes
                .get_or_insert_with(|| VecDeque::from(vec![None; len]));
            shapes[ahead].get_or_insert(shape);
        }
        let slot = self.slot_at(ahead);
        slot.bytes += len;
        slot.datagrams = slot.datagrams.saturating_add(1);
        let Some(delay_ns) = delay_ns else {
            return;
        };
        slot.stamped |= repr.frequency > 0;
        if slot.first_delay_ns == NO_DELAY {
            slot.first_delay_ns = delay_ns;
        }
        slot.last_delay_ns = delay_ns;
        if let Some(timing) = self.timing.get_mut(ahead) {
            *timing = Timing {
                sender_ticks: repr.timestamp,
                sender_frequency: repr.frequency,
                receiver_ticks: arrival_ticks,
            };
        }
    }

    /// The ring's slot `index` frames after the head, grown to it.
    fn slot_at(&mut self, index: usize) -> &mut Slot {
        if self.ring.capacity() == 0 {
            // The ring holds about a buffer of frames in steady state;
            // exactly that much up front (where doubling would reserve up
            // to twice it), for buffers of up to 256 frames; deeper ones
            // grow as data comes.
            let buffered = usize::try_from(self.plan.ring_slots() / 2).unwrap_or(usize::MAX);
            self.ring
                .reserve_exact(buffered.saturating_add(2).min(256).max(index + 1));
        }
        while self.ring.len() <= index {
            self.ring.push_back(Slot::empty());
            if self.config.record_frames {
                self.timing.push_back(Timing::default());
            }
            if let Some(shapes) = self.shapes.as_mut() {
                shapes.push_back(None);
            }
        }
        &mut self.ring[index]
    }

    fn finish_metrics(&mut self) {
        // A lone first timestamp nothing could confirm or refute is used.
        if let Some(held) = self.stamps.held.take() {
            self.use_stamp(held, false);
        }
        self.stats.jitter_secs = self.jitter.secs();
        if let Some(metrics) = self.stats.metrics.as_mut() {
            metrics.finish();
        }
    }

    /// Takes a plausible timestamp into jitter, delays and the echo; with
    /// `to_slot`, also into its frame's slot when that is still held
    /// (a released first timestamp: its datagram's bytes were credited
    /// when it arrived).
    fn use_stamp(&mut self, s: Stamp, to_slot: bool) {
        self.jitter
            .on_datagram(s.timestamp, s.frequency, s.arrival_ticks);
        let in_stream = (1..=self.plan.stream_frames()).contains(&s.sequence);
        if let Some(metrics) = self.stats.metrics.as_mut().filter(|_| in_stream) {
            metrics.on_delay(s.delay_ns);
        }
        let ahead = s.sequence.wrapping_sub(self.head_sequence);
        if to_slot && ahead < self.ring.len() as u64 {
            let slot = &mut self.ring[ahead as usize];
            if !slot.stamped {
                slot.stamped = s.frequency > 0;
                if slot.first_delay_ns == NO_DELAY {
                    slot.first_delay_ns = s.delay_ns;
                }
                if slot.last_delay_ns == NO_DELAY {
                    slot.last_delay_ns = s.delay_ns;
                }
                if let Some(timing) = self.timing.get_mut(ahead as usize) {
                    *timing = Timing {
                        sender_ticks: s.timestamp,
                        sender_frequency: s.frequency,
                        receiver_ticks: s.arrival_ticks,
                    };
                }
            }
        }
    }

    fn on_v1(&mut self, message: V1Message<'_>) {
        let token = self.config.v1.map(|s| s.token);
        match message {
            V1Message::End(end) if Some(end.token) == token => {
                self.stats.peer_end = Some(end);
                self.peer_reads_blocks |= end.features & v1::FEATURE_REPORT_BLOCKS != 0;
            }
            V1Message::Join(r) if Some(r.token) == token => self.control.repeat_greeting(),
            V1Message::Accept {
                token: t,
                connection_id,
            } if Some(t) == token => {
                self.connection_id = Some(connection_id);
            }
            _ => self.stats.datagrams_ignored += 1,
        }
    }

    fn on_corrupt(&mut self, offset: usize) {
        self.stats.datagrams_corrupt += 1;
        self.first_corrupt_offset.get_or_insert(offset);
        if self.config.verify == Verify::Abort {
            self.stats.jitter_secs = self.jitter.secs();
            self.status = Status::Failed(StreamError::CorruptPayload {
                datagrams: self.stats.datagrams_corrupt,
                first_offset: offset,
            });
        }
    }
}

impl IoPattern for FrameReceiver {
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        // The base protocol's receiver sends nothing on the stream (START
        // and its retries belong to the client session); v1 adds reports.
        self.report_if_due(now);
        let len = self.control.poll(buf)?;
        if wire::read_flag(&buf[..len]) == Ok(v1::FLAG_REPORT) {
            self.stats.reports += 1;
        }
        Some(len)
    }

    fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        if self.status.is_finished() {
            self.stats.datagrams_ignored += 1;
            return;
        }
        match wire::parse(datagram) {
            Ok(Datagram::Data(repr, payload)) => {
                self.on_data(now, repr, payload, wire::DATA_HEADER_LEN, None)
            }
            Ok(Datagram::FrameData(repr, payload)) => self.on_frame_data(now, repr, payload),
            Ok(Datagram::ConnectionId(id)) => self.connection_id = Some(id),
            Ok(Datagram::V1(message)) => self.on_v1(message),
            Ok(Datagram::Start) => self.stats.datagrams_ignored += 1,
            Err(_) => {
                self.stats.datagrams_malformed += 1;
                if self.config.verify == Verify::Abort {
                    self.status = Status::Failed(StreamError::Malformed {
                        datagrams: self.stats.datagrams_malformed,
                    });
                }
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if !self.control.is_empty() {
            return Some(self.created);
        }
        if self.status.is_finished() {
            return None;
        }
        // Frames render lazily: every arrival first renders the frames
        // whose tick has passed (`advance`), and a frame's outcome
        // depends only on what came before its tick, so it is the same
        // whenever that runs. A wake-up is needed only for what no
        // arrival brings: the next report, the last frame's tick (the
        // end) and, before any data, the no-data deadline. A receiver
        // then wakes a few times a second, not at every frame: with
        // thousands of streams, half the wake-ups of a receiving end.
        let end = self
            .render_time(self.plan.stream_frames())
            .unwrap_or_else(|| self.no_data_deadline());
        Some(self.next_report.map_or(end, |r| r.min(end)))
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    fn status(&self) -> Status {
        self.status.clone()
    }

    fn stats(&self) -> &StreamStats {
        &self.stats
    }

    fn handle_marked_datagram(&mut self, now: Instant, datagram: &[u8], tos: Option<u8>) {
        let before = self.stats.datagrams_received;
        self.handle_datagram(now, datagram);
        if let Some(tos) = tos {
            // Data datagrams only: the ones `datagrams_received` counts.
            let data = self.stats.datagrams_received - before;
            if data > 0 {
                self.stats.marks.get_or_insert_default().record(tos, data);
            }
        }
    }

    fn abort(&mut self, reason: &str) {
        if self.status.abort(reason) {
            self.stats.jitter_secs = self.jitter.secs();
            self.finish_metrics();
        }
    }
}

/// A datagram's one-way delay as the two clocks read it: arrival (ns on
/// this end's timebase) minus the sender's timestamp in ns. Only
/// meaningful as an absolute delay when both ends share a clock.
fn delay_ns(repr: DataRepr, arrival_ticks: i64) -> Option<i64> {
    if repr.frequency <= 0 {
        return None;
    }
    let sent = crate::time::ticks_to_ns(repr.timestamp, repr.frequency);
    i64::try_from(i128::from(arrival_ticks) - sent).ok()
}

#[cfg(test)]
mod tests;
