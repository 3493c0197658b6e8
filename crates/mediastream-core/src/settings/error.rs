use core::fmt;

use thiserror::Error;

/// A user-facing stream parameter, named as the command line spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    /// `bits-per-second`.
    BitsPerSecond,
    /// `frame-rate`.
    FrameRate,
    /// `stream-length`.
    StreamLength,
    /// `datagram-size`.
    DatagramSize,
    /// `buffer-depth`.
    BufferDepth,
}

impl Param {
    /// The option's name without dashes.
    pub fn name(self) -> &'static str {
        match self {
            Param::BitsPerSecond => "bits-per-second",
            Param::FrameRate => "frame-rate",
            Param::StreamLength => "stream-length",
            Param::DatagramSize => "datagram-size",
            Param::BufferDepth => "buffer-depth",
        }
    }

    /// The unit its value is counted in.
    pub fn unit(self) -> &'static str {
        match self {
            Param::BitsPerSecond => "bit/s",
            Param::FrameRate => "frames/s",
            Param::StreamLength => "s",
            Param::DatagramSize => "bytes",
            Param::BufferDepth => "ms",
        }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a set of stream parameters cannot be run.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsError {
    /// One parameter outside its accepted range.
    #[error("{param} {value} {unit} is out of range: accepted {min} to {max} {unit}", unit = param.unit())]
    OutOfRange {
        /// The parameter.
        param: Param,
        /// The value given.
        value: u64,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// Frames would be smaller than the 40-byte minimum.
    #[error(
        "frames would be {frame_size} bytes ({bits_per_second} bit/s at {frame_rate} frames/s), \
         under the 40-byte minimum: raise bits-per-second or lower frame-rate"
    )]
    FrameTooSmall {
        /// The frame size the settings give.
        frame_size: u64,
        /// The rate after rounding to a multiple of 8.
        bits_per_second: u64,
        /// The frame rate.
        frame_rate: u32,
    },
    /// Frames would exceed the memory bound.
    #[error(
        "frames would be {frame_size} bytes, over the {max}-byte limit: \
         lower bits-per-second or raise frame-rate"
    )]
    FrameTooLarge {
        /// The frame size the settings give.
        frame_size: u64,
        /// The limit.
        max: u64,
    },
    /// More datagrams per second than the bound.
    #[error(
        "the stream needs {per_second} datagrams/s, over the limit of {max}: \
         raise datagram-size or lower bits-per-second"
    )]
    TooManyDatagrams {
        /// Datagrams per second the settings give.
        per_second: u64,
        /// The limit.
        max: u64,
    },
    /// The frame cannot be cut into datagrams of 27..=datagram-size bytes.
    #[error(
        "datagram-size {datagram_size} cannot carry {frame_size}-byte frames in datagrams of \
         27 to {datagram_size} bytes: use a datagram-size of at least {suggested}"
    )]
    Unsplittable {
        /// The frame size.
        frame_size: u64,
        /// The datagram size given.
        datagram_size: u32,
        /// A datagram size that works.
        suggested: u32,
    },
    /// The receiver's ring would exceed the memory bound.
    #[error(
        "buffer-depth holds {frames} frames, over the limit of {max}: lower buffer-depth or frame-rate"
    )]
    BufferTooDeep {
        /// Frames the buffer would hold.
        frames: u64,
        /// The limit.
        max: u64,
    },
    /// An intermediate product overflowed 64 bits.
    #[error("bits-per-second x stream-length overflows: lower one of them")]
    Overflow,
}
