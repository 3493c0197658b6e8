use std::time::{Duration, Instant};

use super::{IoPattern, Status, StreamError, StreamStats};
use crate::settings::StreamPlan;
use crate::time::Timebase;
use crate::wire::{self, ConnectionId, DataRepr};

/// Options of a [`FrameSender`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// A frame due less than this far ahead is sent at once
    /// (ctsTraffic: 2 ms, because its timers cannot wait for less).
    pub send_ahead: Duration,
    /// Send this connection id datagram before the first frame.
    pub connection_id: Option<ConnectionId>,
    /// The clock the timestamps on the wire are read from; `None` uses a
    /// timebase whose tick 0 is the sender's start.
    pub timebase: Option<Timebase>,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            send_ahead: Duration::from_millis(2),
            connection_id: None,
            timebase: None,
        }
    }
}

/// The sending side: emits every frame on schedule, split into datagrams,
/// each with the frame's sequence number, a fresh timestamp and the payload
/// pattern.
///
/// Frame n is due at `start + (n - 1) / FrameRate`, counted from the start
/// so that a sender that fell behind catches up instead of drifting; a
/// frame's datagrams leave back to back.
#[derive(Debug)]
pub struct FrameSender {
    plan: StreamPlan,
    config: SenderConfig,
    timebase: Timebase,
    start: Instant,
    connection_id_pending: bool,
    /// Next frame to send, 1-based.
    next_sequence: u64,
    /// Next datagram within that frame, 0-based.
    next_index: u64,
    status: Status,
    stats: StreamStats,
}

impl FrameSender {
    /// A sender whose frame 1 is due at `start`.
    pub fn new(plan: StreamPlan, config: SenderConfig, start: Instant) -> Self {
        Self {
            plan,
            timebase: config.timebase.unwrap_or_else(|| Timebase::new(start)),
            connection_id_pending: config.connection_id.is_some(),
            config,
            start,
            next_sequence: 1,
            next_index: 0,
            status: Status::Running,
            stats: StreamStats::default(),
        }
    }

    /// The plan this sender follows.
    pub fn plan(&self) -> &StreamPlan {
        &self.plan
    }

    /// When frame `sequence` is due.
    pub fn due(&self, sequence: u64) -> Instant {
        self.start + self.plan.frame_offset(sequence)
    }

    fn emit_data(&mut self, now: Instant, buf: &mut [u8]) -> usize {
        let size = self
            .plan
            .split()
            .size_of(self.next_index)
            .unwrap_or(self.plan.split().largest()) as usize;
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
        let written = repr.emit_datagram(buf, size).unwrap_or(0);
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += written as u64;
        self.next_index += 1;
        if self.next_index == self.plan.split().datagram_count() {
            self.next_index = 0;
            self.next_sequence += 1;
            self.stats.frames_sent += 1;
            if self.next_sequence > self.plan.stream_frames() {
                self.status = Status::Completed;
            }
        }
        written
    }
}

impl IoPattern for FrameSender {
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if self.status.is_finished() {
            return None;
        }
        if self.connection_id_pending {
            let id = self.config.connection_id?;
            let len = id.emit(buf)?;
            self.connection_id_pending = false;
            self.stats.control_sent += 1;
            return Some(len);
        }
        if self.next_index == 0 {
            let due = self.due(self.next_sequence);
            if due > now + self.config.send_ahead {
                return None;
            }
            self.stats.lateness.record(due, now);
        }
        Some(self.emit_data(now, buf))
    }

    fn handle_datagram(&mut self, _now: Instant, datagram: &[u8]) {
        // The base protocol sends nothing back on a stream; a malformed
        // datagram is still worth counting.
        match wire::parse(datagram) {
            Ok(_) => self.stats.datagrams_ignored += 1,
            Err(_) => self.stats.datagrams_malformed += 1,
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.status.is_finished() {
            None
        } else if self.connection_id_pending || self.next_index > 0 {
            Some(self.start)
        } else {
            Some(self.due(self.next_sequence))
        }
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn status(&self) -> Status {
        self.status.clone()
    }

    fn stats(&self) -> &StreamStats {
        &self.stats
    }

    fn abort(&mut self, reason: &str) {
        if !self.status.is_finished() {
            self.status = Status::Failed(StreamError::Aborted {
                reason: reason.to_owned(),
            });
        }
    }
}

#[cfg(test)]
mod tests;
