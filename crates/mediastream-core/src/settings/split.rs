use super::{Param, SettingsError};
use crate::wire::MIN_DATA_DATAGRAM;

/// How a frame is cut into datagrams: `full_count` datagrams of the
/// datagram size, then perhaps one shortened datagram, then the last one.
///
/// The rule (PROTOCOL.md): send the datagram size while more than that
/// remains; the last datagram must hold at least 27 bytes, so when the
/// remainder would be 1..=26 bytes the datagram before it is shortened to
/// leave exactly 27. Every frame of a stream has the same size, so one
/// split serves the whole stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSplit {
    full_count: u64,
    full_size: u32,
    shortened: Option<u32>,
    last: u32,
}

impl FrameSplit {
    /// Splits a frame of `frame_size` bytes (at least 27) into datagrams of
    /// at most `datagram_size` bytes (at least 27).
    pub fn new(frame_size: u64, datagram_size: u32) -> Result<Self, SettingsError> {
        Self::with_min(frame_size, datagram_size, MIN_DATA_DATAGRAM as u32)
    }

    /// The same rule with another smallest datagram: `min` bytes (a frame
    /// data datagram's is 41, its header and a payload byte).
    pub fn with_min(frame_size: u64, datagram_size: u32, min: u32) -> Result<Self, SettingsError> {
        let min = u64::from(min);
        let max = u64::from(datagram_size);
        if max < min {
            return Err(SettingsError::OutOfRange {
                param: Param::DatagramSize,
                value: max,
                min,
                max: crate::wire::MAX_DATAGRAM as u64,
            });
        }
        if frame_size < min {
            return Err(SettingsError::FrameTooSmall {
                frame_size,
                bits_per_second: 0,
                frame_rate: 0,
            });
        }
        // Full datagrams before the remainder, with the remainder in 1..=max.
        let full = (frame_size - 1) / max;
        let remainder = frame_size - full * max;
        let split = if remainder >= min || full == 0 {
            Self {
                full_count: full,
                full_size: datagram_size,
                shortened: None,
                last: remainder as u32,
            }
        } else {
            let shortened = max + remainder - min;
            if shortened < min {
                return Err(SettingsError::Unsplittable {
                    frame_size,
                    datagram_size,
                    // With 53 or more the shortened datagram is always >= 27.
                    suggested: (2 * min - 1) as u32,
                });
            }
            Self {
                full_count: full - 1,
                full_size: datagram_size,
                shortened: Some(shortened as u32),
                last: min as u32,
            }
        };
        Ok(split)
    }

    /// Datagrams per frame.
    pub fn datagram_count(&self) -> u64 {
        self.full_count + u64::from(self.shortened.is_some()) + 1
    }

    /// The size of datagram `index` (0-based) of a frame, or `None` past
    /// the end.
    pub fn size_of(&self, index: u64) -> Option<u32> {
        if index < self.full_count {
            return Some(self.full_size);
        }
        match (index - self.full_count, self.shortened) {
            (0, Some(short)) => Some(short),
            (0, None) | (1, Some(_)) => Some(self.last),
            _ => None,
        }
    }

    /// The largest datagram of a frame.
    pub fn largest(&self) -> u32 {
        if self.full_count > 0 {
            self.full_size
        } else {
            self.shortened.unwrap_or(0).max(self.last)
        }
    }

    /// The sizes of a frame's datagrams in sending order.
    pub fn sizes(&self) -> SplitSizes {
        SplitSizes {
            split: *self,
            next: 0,
        }
    }
}

/// Iterator over a frame's datagram sizes.
#[derive(Debug, Clone)]
pub struct SplitSizes {
    split: FrameSplit,
    next: u64,
}

impl Iterator for SplitSizes {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let size = self.split.size_of(self.next)?;
        self.next += 1;
        Some(size)
    }
}
