//! Stream parameters, their validation, and the numbers both roles derive
//! from them (PROTOCOL.md, "Stream arithmetic").
//!
//! ```
//! use mediastream_core::settings::StreamSettings;
//! let plan = StreamSettings::new(8_000_000, 50, 3).plan().unwrap();
//! assert_eq!(plan.stream_frames(), 150);
//! assert_eq!(plan.frame_size(), 20_000);
//! let sizes: Vec<u32> = plan.split().sizes().collect();
//! assert_eq!(sizes.len(), 15);
//! assert_eq!(sizes[14], 400);
//! ```

mod error;
mod limits;
mod split;

use std::time::Duration;

pub use error::{Param, SettingsError};
pub use limits::Limits;
pub use split::{FrameSplit, SplitSizes};

use crate::wire::{MAX_DATAGRAM, MIN_DATA_DATAGRAM};

/// The smallest frame ctsTraffic accepts, in bytes.
pub const MIN_FRAME_SIZE: u64 = 40;
/// Default datagram size, header included (current ctsTraffic).
pub const DEFAULT_DATAGRAM_SIZE: u32 = 1400;
/// Default jitter-buffer depth: one second (ctsTraffic's BufferDepth).
pub const DEFAULT_BUFFER_DEPTH_MS: u32 = 1000;

/// The parameters of one stream, as a user gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StreamSettings {
    /// Requested rate in bits per second (rounded down to a multiple of 8).
    pub bits_per_second: u64,
    /// Frames per second.
    pub frame_rate: u32,
    /// Stream length in seconds.
    pub stream_length_secs: u32,
    /// Largest datagram the sender emits, header included.
    pub datagram_size: u32,
    /// Receiver's jitter-buffer depth in milliseconds (ctsTraffic takes
    /// whole seconds; milliseconds let a user model a real-time player).
    pub buffer_depth_ms: u32,
}

impl StreamSettings {
    /// Settings with the default datagram size and buffer depth.
    pub fn new(bits_per_second: u64, frame_rate: u32, stream_length_secs: u32) -> Self {
        Self {
            bits_per_second,
            frame_rate,
            stream_length_secs,
            datagram_size: DEFAULT_DATAGRAM_SIZE,
            buffer_depth_ms: DEFAULT_BUFFER_DEPTH_MS,
        }
    }

    /// Validates against the default [`Limits`] and derives the plan.
    pub fn plan(&self) -> Result<StreamPlan, SettingsError> {
        self.plan_with(&Limits::default())
    }

    /// Validates against `limits` and derives the plan.
    pub fn plan_with(&self, limits: &Limits) -> Result<StreamPlan, SettingsError> {
        limits.check_inputs(self)?;
        let rate = self.bits_per_second / 8 * 8;
        let stream_frames = u64::from(self.stream_length_secs) * u64::from(self.frame_rate);
        let bytes_per_second = rate / 8;
        let raw_total = bytes_per_second
            .checked_mul(u64::from(self.stream_length_secs))
            .ok_or(SettingsError::Overflow)?;
        let total_bytes = raw_total / stream_frames * stream_frames;
        let frame_size = total_bytes / stream_frames;
        if frame_size < MIN_FRAME_SIZE {
            return Err(SettingsError::FrameTooSmall {
                frame_size,
                bits_per_second: rate,
                frame_rate: self.frame_rate,
            });
        }
        limits.check_frame_size(frame_size)?;
        let split = FrameSplit::new(frame_size, self.datagram_size)?;
        limits.check_datagram_rate(split.datagram_count(), self.frame_rate)?;
        let buffered = (u64::from(self.buffer_depth_ms) * u64::from(self.frame_rate) / 1000).max(1);
        let buffered_frames = buffered.min(stream_frames);
        limits.check_buffered_frames(buffered_frames)?;
        Ok(StreamPlan {
            settings: *self,
            bits_per_second: rate,
            stream_frames,
            total_bytes,
            frame_size,
            split,
            buffered_frames,
        })
    }
}

/// The validated settings and every number derived from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamPlan {
    settings: StreamSettings,
    bits_per_second: u64,
    stream_frames: u64,
    total_bytes: u64,
    frame_size: u64,
    split: FrameSplit,
    buffered_frames: u64,
}

impl StreamPlan {
    /// The settings this plan was derived from.
    pub fn settings(&self) -> &StreamSettings {
        &self.settings
    }

    /// The rate after rounding down to a multiple of 8.
    pub fn bits_per_second(&self) -> u64 {
        self.bits_per_second
    }

    /// StreamLength x FrameRate.
    pub fn stream_frames(&self) -> u64 {
        self.stream_frames
    }

    /// Bytes in the whole stream, headers included.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Bytes in each frame, headers included.
    pub fn frame_size(&self) -> u64 {
        self.frame_size
    }

    /// How every frame is cut into datagrams.
    pub fn split(&self) -> &FrameSplit {
        &self.split
    }

    /// Largest datagram of the stream (never above the datagram size).
    pub fn max_datagram(&self) -> usize {
        self.split.largest() as usize
    }

    /// Datagrams in the whole stream.
    pub fn total_datagrams(&self) -> u64 {
        self.split.datagram_count() * self.stream_frames
    }

    /// Frames held by the receiver's jitter buffer before the first render
    /// tick: min(BufferDepth x FrameRate, StreamFrames), at least 1.
    pub fn buffered_frames(&self) -> u64 {
        self.buffered_frames
    }

    /// Frame slots in the receiver's ring: twice the buffered frames.
    pub fn ring_slots(&self) -> u64 {
        2 * self.buffered_frames
    }

    /// Time from the stream's start until frame `sequence` (1-based) is
    /// due. Computed from the start, never by adding intervals, so that no
    /// rounding error accumulates.
    pub fn frame_offset(&self, sequence: u64) -> Duration {
        let frames = sequence.saturating_sub(1);
        let rate = u64::from(self.settings.frame_rate);
        // A receiver asks for every datagram: 64-bit arithmetic while the
        // product fits (any stream shorter than 584 years at 1 frame/s),
        // 128-bit beyond. The same result either way.
        let nanos = match frames.checked_mul(1_000_000_000) {
            Some(n) => n / rate,
            None => u64::try_from(u128::from(frames) * 1_000_000_000 / u128::from(rate))
                .unwrap_or(u64::MAX),
        };
        Duration::from_nanos(nanos)
    }

    /// The nominal time between frames (exact to the nanosecond).
    pub fn frame_interval(&self) -> Duration {
        Duration::from_nanos(1_000_000_000 / u64::from(self.settings.frame_rate))
    }

    /// ctsTraffic's START retry period: (1000 / FrameRate) + 500 ms,
    /// integer division.
    pub fn start_retry_interval(&self) -> Duration {
        Duration::from_millis(1000 / u64::from(self.settings.frame_rate) + 500)
    }
}

/// The smallest and largest datagram a receiver accepts: any valid data
/// datagram, whatever size the sender chose.
pub const RECEIVE_DATAGRAM_RANGE: (usize, usize) = (MIN_DATA_DATAGRAM, MAX_DATAGRAM);

#[cfg(test)]
mod tests;
