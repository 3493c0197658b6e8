use super::{Param, SettingsError, StreamSettings};
use crate::wire::{MAX_DATAGRAM, MIN_DATA_DATAGRAM};

/// The bounds settings are validated against. The defaults keep a stream
/// within what one machine can generate and hold in memory; an embedder
/// may tighten them (a server facing the public, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Highest rate in bits per second (default 100 Gbit/s).
    pub max_bits_per_second: u64,
    /// Highest frame rate (default 10,000 frames/s).
    pub max_frame_rate: u32,
    /// Longest stream in seconds (default one week).
    pub max_stream_length_secs: u32,
    /// Deepest jitter buffer in milliseconds (default 10 minutes).
    pub max_buffer_depth_ms: u32,
    /// Largest frame in bytes (default 64 MiB).
    pub max_frame_size: u64,
    /// Most datagrams per second (default 10 million).
    pub max_datagrams_per_second: u64,
    /// Most frames in the receiver's jitter buffer (default 2^19; the ring
    /// holds twice as many slots).
    pub max_buffered_frames: u64,
    /// Largest datagram in bytes, header included (default 65507, the
    /// most UDP over IPv4 carries).
    pub max_datagram_size: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bits_per_second: 100_000_000_000,
            max_frame_rate: 10_000,
            max_stream_length_secs: 7 * 24 * 3600,
            max_buffer_depth_ms: 600_000,
            max_frame_size: 64 << 20,
            max_datagrams_per_second: 10_000_000,
            max_buffered_frames: 1 << 19,
            max_datagram_size: MAX_DATAGRAM as u32,
        }
    }
}

fn in_range(param: Param, value: u64, min: u64, max: u64) -> Result<(), SettingsError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(SettingsError::OutOfRange {
            param,
            value,
            min,
            max,
        })
    }
}

impl Limits {
    pub(super) fn check_inputs(&self, s: &StreamSettings) -> Result<(), SettingsError> {
        in_range(
            Param::BitsPerSecond,
            s.bits_per_second,
            8,
            self.max_bits_per_second,
        )?;
        in_range(
            Param::FrameRate,
            s.frame_rate.into(),
            1,
            self.max_frame_rate.into(),
        )?;
        in_range(
            Param::StreamLength,
            s.stream_length_secs.into(),
            1,
            self.max_stream_length_secs.into(),
        )?;
        in_range(
            Param::DatagramSize,
            s.datagram_size.into(),
            MIN_DATA_DATAGRAM as u64,
            u64::from(self.max_datagram_size).min(MAX_DATAGRAM as u64),
        )?;
        in_range(
            Param::BufferDepth,
            s.buffer_depth_ms.into(),
            1,
            self.max_buffer_depth_ms.into(),
        )
    }

    pub(super) fn check_frame_size(&self, frame_size: u64) -> Result<(), SettingsError> {
        if frame_size > self.max_frame_size {
            return Err(SettingsError::FrameTooLarge {
                frame_size,
                max: self.max_frame_size,
            });
        }
        Ok(())
    }

    pub(super) fn check_datagram_rate(
        &self,
        per_frame: u64,
        frame_rate: u32,
    ) -> Result<(), SettingsError> {
        let per_second = per_frame.saturating_mul(frame_rate.into());
        if per_second > self.max_datagrams_per_second {
            return Err(SettingsError::TooManyDatagrams {
                per_second,
                max: self.max_datagrams_per_second,
            });
        }
        Ok(())
    }

    pub(super) fn check_buffered_frames(&self, frames: u64) -> Result<(), SettingsError> {
        if frames > self.max_buffered_frames {
            return Err(SettingsError::BufferTooDeep {
                frames,
                max: self.max_buffered_frames,
            });
        }
        Ok(())
    }
}
