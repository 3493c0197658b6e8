use thiserror::Error;

/// Why a datagram could not be parsed.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// Shorter than its kind requires.
    #[error("{what} datagram is {len} bytes, needs at least {need}")]
    Truncated {
        /// Which datagram kind was being read.
        what: &'static str,
        /// Bytes present.
        len: usize,
        /// Bytes required.
        need: usize,
    },
    /// Longer than its fixed size.
    #[error("{what} datagram is {len} bytes, must be exactly {need}")]
    WrongLength {
        /// Which datagram kind was being read.
        what: &'static str,
        /// Bytes present.
        len: usize,
        /// Bytes required.
        need: usize,
    },
    /// Larger than any UDP datagram can be.
    #[error("datagram is {len} bytes, more than the UDP maximum of 65507")]
    TooLong {
        /// Bytes present.
        len: usize,
    },
    /// A flag no known datagram uses.
    #[error("unknown datagram flag {flag:#06x}")]
    UnknownFlag {
        /// The flag read from the first two bytes.
        flag: u16,
    },
    /// The connection id is not a NUL-terminated 36-character GUID.
    #[error("connection id is not a NUL-terminated GUID (bad byte at offset {offset})")]
    BadConnectionId {
        /// Offset of the first offending byte, counted from the GUID's start.
        offset: usize,
    },
    /// A v1 datagram of a version this build does not speak.
    #[error(
        "extension version {version} is not supported (this build speaks version {})",
        super::v1::VERSION
    )]
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
    },
}
