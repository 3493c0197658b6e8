//! Receive-side metrics beyond ctsTraffic's frame counts: delays and
//! their variation, datagram loss/duplication/reordering with RFC 3611's
//! burst/gap summary, the playout view (late frames, freezes) and an
//! optional per-frame timeline. Definitions and formulas: docs/metrics.md.

mod decoder;
mod delay;
mod loss_runs;
mod playout;

pub use decoder::{Decoder, KindCounts};
pub use delay::{Bucket, DelayHistogram};
pub use loss_runs::{LossRuns, GMIN};
pub use playout::Playout;

use std::collections::VecDeque;
use std::time::Duration;

use super::model::FrameKind;
use super::FrameOutcome;

/// Frames kept in a timeline at most (an hour at 277 frames/s); the
/// timeline says when it was cut.
pub const TIMELINE_LIMIT: usize = 1_000_000;

/// How one frame fared, for the timeline: the render outcome, or `Late`
/// for a frame dropped at its tick that completed afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineOutcome {
    /// Complete at its tick.
    Completed,
    /// Short at its tick and never completed.
    Dropped,
    /// More than the frame size at its tick.
    Repeated,
    /// Short at its tick, complete later.
    Late,
}

/// One frame of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineFrame {
    /// The frame's sequence number.
    pub sequence: u64,
    /// How it fared.
    pub outcome: TimelineOutcome,
    /// Its place in the sender's schedule (frame n: (n - 1) / frame rate).
    pub due: Duration,
    /// Delay of its first and last datagram to arrive before its tick
    /// (raw: receiver clock minus sender clock, ns); `None` when none did.
    pub first_delay_ns: Option<i64>,
    /// See `first_delay_ns`.
    pub last_delay_ns: Option<i64>,
    /// Datagrams that arrived before its tick.
    pub datagrams: u32,
    /// Frame data only: the frame's size and kind as its datagrams said
    /// (`None` when none arrived before its tick).
    pub shape: Option<FrameShape>,
    /// Frame data only: whether a decoder could show it.
    pub decodable: Option<bool>,
}

/// What a frame data datagram says of its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameShape {
    /// Bytes, headers included.
    pub size: u64,
    /// Datagrams it is split into.
    pub datagrams: u64,
    /// Its kind.
    pub kind: FrameKind,
    /// The sequence number of its keyframe (itself for a keyframe; 0 for
    /// an independent frame).
    pub key: u64,
}

impl FrameShape {
    /// A frame of `size` bytes in `datagrams` datagrams.
    pub fn new(size: u64, datagrams: u64, kind: FrameKind, key: u64) -> Self {
        Self {
            size,
            datagrams,
            kind,
            key,
        }
    }
}

/// Datagram-level counts. The wire numbers frames, not datagrams, so a
/// frame's datagrams are told apart by count only: a frame with more
/// datagrams than it should have got duplicates, one with fewer lost
/// some. Datagrams that arrive after their frame's tick still count as
/// received (late, not lost) when they come within the receive ring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatagramCounts {
    /// Datagrams the frames accounted so far should have had.
    pub expected: u64,
    /// Distinct datagrams received (at most `expected`).
    pub received_unique: u64,
    /// Datagrams beyond a frame's count.
    pub duplicates: u64,
    /// Datagrams that arrived after a datagram of a later frame.
    pub reordered: u64,
    /// Datagrams that arrived after their frame's render tick.
    pub late: u64,
}

impl DatagramCounts {
    /// Datagrams never received.
    pub fn lost(&self) -> u64 {
        self.expected - self.received_unique
    }

    /// Lost datagrams, percent of expected (0 when nothing was expected).
    pub fn loss_percent(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            100.0 * self.lost() as f64 / self.expected as f64
        }
    }
}

/// A rendered frame kept until late datagrams can no longer arrive for
/// it, when it needs keeping: a frame complete at its tick with exactly
/// its datagrams and the plan's size (nearly every frame of a healthy
/// stream) is kept as nothing but its place in the window
/// ([`ReceiveMetrics::window`]), and becomes an entry only if a late
/// datagram comes for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rendered {
    sequence: u64,
    bytes: u64,
    expected_bytes: u64,
    /// Datagrams fit 32 bits: a frame has at most a few hundred million
    /// (the largest frame the limits allow in 27-byte datagrams).
    datagrams: u32,
    expected_datagrams: u32,
    /// Its entry in the timeline, or [`NOT_IN_TIMELINE`].
    timeline_index: u32,
    kind: Option<FrameKind>,
    dropped: bool,
    /// Its shape came with a late datagram.
    learned: bool,
}

/// A rendered frame's timeline index when it has none (no timeline, or
/// past [`TIMELINE_LIMIT`], which fits 32 bits).
const NOT_IN_TIMELINE: u32 = u32::MAX;

fn narrow(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Bytes one kept rendered frame takes (for memory bounds).
pub(crate) const RENDERED_ENTRY_BYTES: usize = size_of::<Rendered>();

/// Everything a receiver measures beyond [`super::StreamStats`]' counters.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiveMetrics {
    /// Delay of every intact data datagram (raw ns, see [`TimelineFrame`]).
    pub datagram_delay: DelayHistogram,
    /// Per frame: delay of its first datagram to arrive.
    pub frame_first_delay: DelayHistogram,
    /// Per frame: delay of its last datagram to arrive before its tick.
    pub frame_last_delay: DelayHistogram,
    /// RFC 5481 IPDV: each datagram's delay minus the previous arrival's.
    pub ipdv: DelayHistogram,
    /// Datagram-level loss, duplicates, reordering.
    pub datagrams: DatagramCounts,
    /// RFC 3611 burst/gap summary of the datagram loss pattern.
    pub loss_runs: LossRuns,
    /// Late frames and freezes.
    pub playout: Playout,
    /// The decoder's view (frame data streams: `decoder.active`).
    pub decoder: Decoder,
    /// Bytes of the frames complete at their tick (goodput).
    pub completed_bytes: u64,
    /// Per-frame outcomes and delays, when asked for.
    pub timeline: Option<Vec<TimelineFrame>>,
    /// The timeline stopped at [`TIMELINE_LIMIT`] frames.
    pub timeline_truncated: bool,
    frame_size: u64,
    datagrams_per_frame: u64,
    keep: usize,
    /// Frames rendered and still matched against late datagrams: from
    /// `window.0` up to (not including) `window.1`.
    window: (u64, u64),
    /// The window's frames that are not plain completed ones, by sequence.
    rendered: VecDeque<Rendered>,
    previous_delay: Option<i64>,
    highest_sequence: u64,
}

/// What the receiver knew of a frame at its render tick.
#[derive(Debug, Clone, Copy)]
pub struct FrameAtTick {
    /// Sequence number.
    pub sequence: u64,
    /// Render outcome.
    pub outcome: FrameOutcome,
    /// Bytes and datagrams credited before the tick.
    pub bytes: u64,
    /// See `bytes`.
    pub datagrams: u64,
    /// Schedule offset of the frame.
    pub due: Duration,
    /// First and last datagram delays (raw ns).
    pub first_delay_ns: Option<i64>,
    /// See `first_delay_ns`.
    pub last_delay_ns: Option<i64>,
    /// Frame data: what its datagrams said of it (`None`: the plan's
    /// frame, or nothing arrived).
    pub shape: Option<FrameShape>,
}

impl ReceiveMetrics {
    /// Metrics for frames of `frame_size` bytes in `datagrams_per_frame`
    /// datagrams; late datagrams are matched for `keep` frames after
    /// their tick; `timeline` keeps the per-frame record.
    pub fn new(frame_size: u64, datagrams_per_frame: u64, keep: usize, timeline: bool) -> Self {
        Self {
            datagram_delay: DelayHistogram::default(),
            frame_first_delay: DelayHistogram::default(),
            frame_last_delay: DelayHistogram::default(),
            ipdv: DelayHistogram::around(0),
            datagrams: DatagramCounts::default(),
            loss_runs: LossRuns::default(),
            playout: Playout::default(),
            decoder: Decoder::default(),
            completed_bytes: 0,
            timeline: timeline.then(Vec::new),
            timeline_truncated: false,
            frame_size,
            datagrams_per_frame,
            keep: keep.max(1),
            window: (0, 0),
            rendered: VecDeque::new(),
            previous_delay: None,
            highest_sequence: 0,
        }
    }

    /// An intact data datagram of frame `sequence` with delay `delay_ns`
    /// (raw; `None` when the sender's clock is unusable).
    pub fn on_datagram(&mut self, sequence: u64, delay_ns: Option<i64>) {
        if sequence < self.highest_sequence {
            self.datagrams.reordered += 1;
        }
        self.highest_sequence = self.highest_sequence.max(sequence);
        if let Some(delay) = delay_ns {
            self.on_delay(delay);
        }
    }

    /// The delay of an intact data datagram already counted by
    /// [`on_datagram`](Self::on_datagram) (a receiver that held its
    /// timestamp back until it could judge it gives it here).
    pub fn on_delay(&mut self, delay: i64) {
        self.datagram_delay.record(delay);
        if let Some(previous) = self.previous_delay {
            self.ipdv.record(delay.saturating_sub(previous));
        }
        self.previous_delay = Some(delay);
    }

    /// A frame at its render tick.
    pub fn on_render(&mut self, frame: FrameAtTick) {
        if let Some(d) = frame.first_delay_ns {
            self.frame_first_delay.record(d);
        }
        if let Some(d) = frame.last_delay_ns {
            self.frame_last_delay.record(d);
        }
        let dropped = frame.outcome == FrameOutcome::Dropped;
        if frame.outcome == FrameOutcome::Completed {
            self.completed_bytes += frame.bytes;
        }
        self.playout.on_tick(!dropped);
        let decodable = self.decoder.active.then(|| {
            let (kind, key) = match frame.shape {
                Some(s) => (Some(s.kind), s.key),
                // A complete frame of plain data (a peer that does not
                // send frame data): decodable alone.
                None if !dropped => (Some(FrameKind::Independent), 0),
                None => (None, 0),
            };
            self.decoder.on_tick(frame.sequence, kind, key, !dropped)
        });
        let timeline_index = self.push_timeline(&frame, decodable);
        if self.window.0 == self.window.1 {
            self.window = (frame.sequence, frame.sequence);
        }
        debug_assert_eq!(frame.sequence, self.window.1, "frames render in order");
        self.window.1 = frame.sequence + 1;
        let plain = frame.outcome == FrameOutcome::Completed
            && frame.shape.is_none()
            && frame.datagrams == self.datagrams_per_frame;
        if !plain {
            self.rendered.push_back(Rendered {
                sequence: frame.sequence,
                bytes: frame.bytes,
                datagrams: narrow(frame.datagrams),
                dropped,
                timeline_index: timeline_index
                    .and_then(|i| u32::try_from(i).ok())
                    .unwrap_or(NOT_IN_TIMELINE),
                expected_bytes: frame.shape.map_or(self.frame_size, |s| s.size),
                expected_datagrams: narrow(
                    frame
                        .shape
                        .map_or(self.datagrams_per_frame, |s| s.datagrams),
                ),
                kind: frame.shape.map(|s| s.kind),
                learned: false,
            });
        }
        while self.window.1 - self.window.0 > self.keep as u64 {
            self.retire_oldest();
        }
    }

    fn push_timeline(&mut self, frame: &FrameAtTick, decodable: Option<bool>) -> Option<usize> {
        let timeline = self.timeline.as_mut()?;
        if timeline.len() >= TIMELINE_LIMIT {
            self.timeline_truncated = true;
            return None;
        }
        timeline.push(TimelineFrame {
            sequence: frame.sequence,
            outcome: match frame.outcome {
                FrameOutcome::Completed => TimelineOutcome::Completed,
                FrameOutcome::Dropped => TimelineOutcome::Dropped,
                FrameOutcome::Repeated => TimelineOutcome::Repeated,
            },
            due: frame.due,
            first_delay_ns: frame.first_delay_ns,
            last_delay_ns: frame.last_delay_ns,
            datagrams: u32::try_from(frame.datagrams).unwrap_or(u32::MAX),
            shape: frame.shape,
            decodable,
        });
        Some(timeline.len() - 1)
    }

    /// An intact datagram of `bytes` for frame `sequence`, which has
    /// already been rendered; true when it was still matched.
    pub fn on_late(&mut self, sequence: u64, bytes: u64) -> bool {
        self.on_late_shaped(sequence, bytes, None)
    }

    /// [`on_late`](Self::on_late) for a frame data datagram: a frame of
    /// which nothing came in time learns its size from it.
    pub fn on_late_shaped(&mut self, sequence: u64, bytes: u64, shape: Option<FrameShape>) -> bool {
        if !(self.window.0..self.window.1).contains(&sequence) {
            return false;
        }
        let at = self.rendered.partition_point(|r| r.sequence < sequence);
        if self.rendered.get(at).is_none_or(|r| r.sequence != sequence) {
            // A plain completed frame: it becomes an entry now.
            self.rendered.insert(
                at,
                Rendered {
                    sequence,
                    bytes: self.frame_size,
                    datagrams: narrow(self.datagrams_per_frame),
                    dropped: false,
                    timeline_index: NOT_IN_TIMELINE,
                    expected_bytes: self.frame_size,
                    expected_datagrams: narrow(self.datagrams_per_frame),
                    kind: None,
                    learned: false,
                },
            );
        }
        let frame = &mut self.rendered[at];
        self.datagrams.late += 1;
        if let (None, false, Some(shape)) = (frame.kind, frame.learned, shape) {
            frame.expected_bytes = shape.size;
            frame.expected_datagrams = narrow(shape.datagrams);
            frame.learned = true;
        }
        frame.bytes += bytes;
        frame.datagrams = frame.datagrams.saturating_add(1);
        if frame.dropped && frame.bytes == frame.expected_bytes {
            frame.dropped = false;
            self.playout.late_frames += 1;
            if self.decoder.active {
                self.decoder.on_late(frame.kind);
            }
            let entry = (frame.timeline_index != NOT_IN_TIMELINE)
                .then(|| usize::try_from(frame.timeline_index).ok())
                .flatten();
            if let (Some(i), Some(timeline)) = (entry, self.timeline.as_mut()) {
                timeline[i].outcome = TimelineOutcome::Late;
            }
        }
        true
    }

    /// Accounts every frame in the window and empties it.
    fn retire_all(&mut self) {
        while self.window.0 < self.window.1 {
            self.retire_oldest();
        }
        self.window = (0, 0);
    }

    fn retire_oldest(&mut self) {
        let sequence = self.window.0;
        if sequence == self.window.1 {
            return;
        }
        self.window.0 += 1;
        let frame = match self.rendered.front() {
            Some(r) if r.sequence == sequence => self.rendered.pop_front(),
            _ => None,
        };
        let Some(frame) = frame else {
            // A plain completed frame: all its datagrams, once each.
            let d = self.datagrams_per_frame;
            self.datagrams.expected += d;
            self.datagrams.received_unique += d;
            self.loss_runs.push(d, 0);
            return;
        };
        let expected = u64::from(frame.expected_datagrams);
        let datagrams = u64::from(frame.datagrams);
        let arrived = datagrams.min(expected);
        self.datagrams.expected += expected;
        self.datagrams.received_unique += arrived;
        self.datagrams.duplicates += datagrams - arrived;
        // The wire cannot say which of a frame's datagrams were lost;
        // they are taken to be its last ones.
        self.loss_runs.push(arrived, expected - arrived);
    }

    /// Every frame of a stream of `frames` dropped with nothing received
    /// (the stream failed for want of data), in O(1) but for the
    /// timeline, which keeps at most its limit: the same counts as
    /// rendering each frame dropped. `due(n)` is frame n's offset.
    pub fn on_nothing_arrived(&mut self, frames: u64, due: impl Fn(u64) -> Duration) {
        self.retire_all();
        self.playout.on_missing_ticks(frames);
        if self.decoder.active {
            self.decoder.on_missing(frames);
        }
        if self.timeline.is_some() {
            for sequence in 1..=frames {
                if self.timeline_truncated {
                    break;
                }
                self.push_timeline(
                    &FrameAtTick {
                        sequence,
                        outcome: FrameOutcome::Dropped,
                        bytes: 0,
                        datagrams: 0,
                        due: due(sequence),
                        first_delay_ns: None,
                        last_delay_ns: None,
                        shape: None,
                    },
                    self.decoder.active.then_some(false),
                );
            }
        }
        let lost = frames.saturating_mul(self.datagrams_per_frame);
        self.datagrams.expected += lost;
        self.loss_runs.push(0, lost);
    }

    /// Accounts every frame still held; call once when the stream ends.
    pub fn finish(&mut self) {
        self.retire_all();
        self.loss_runs.finish();
        self.playout.finish();
        self.decoder.finish();
    }
}

#[cfg(test)]
mod tests;
