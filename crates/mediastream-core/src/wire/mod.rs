//! Zero-copy views and emitters for every MediaStream datagram.
//!
//! The layout follows ctsTraffic 2.0.3.5 byte for byte (see the project's
//! `docs/PROTOCOL.md`). All integers are little-endian. Parsing never panics:
//! every view is length-checked once, after which its accessors cannot go out
//! of bounds.
//!
//! ```
//! use mediastream_core::wire::{self, Datagram};
//! assert_eq!(wire::parse(b"START"), Ok(Datagram::Start));
//! assert!(wire::parse(b"STAR").is_err());
//! ```

mod connection_id;
mod data;
mod error;
mod frame_data;
mod media;
pub mod payload;
mod start;
pub mod v1;

pub use connection_id::{ConnectionId, ConnectionIdPacket, CONNECTION_ID_LEN};
pub use data::{DataPacket, DataRepr, DATA_HEADER_LEN, MIN_DATA_DATAGRAM};
pub use error::WireError;
pub use frame_data::{
    FrameDataPacket, FrameDataRepr, FLAG_FRAME_DATA, FRAME_DATA_HEADER_LEN, MIN_FRAME_DATA_DATAGRAM,
};
pub use media::{
    MediaModel, MediaRequest, MEDIA_GOP_MILLIS, MEDIA_LEN, MEDIA_OFFSET, MEDIA_TRACE_SCALE,
    MEDIA_TRACE_STOP,
};
pub use start::{emit_start, START};

/// The largest UDP payload over IPv4 (65535 - 20 - 8). A receiver accepts
/// datagrams up to this size whatever size it would send itself.
pub const MAX_DATAGRAM: usize = 65_507;

/// Flag (first two bytes, little-endian) of a data datagram.
pub const FLAG_DATA: u16 = 0x0000;
/// Flag of the connection-id datagram.
pub const FLAG_CONNECTION_ID: u16 = 0x1000;

/// A parsed datagram of any kind known to the base protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datagram<'a> {
    /// The client's `START` request.
    Start,
    /// The server's connection-id datagram.
    ConnectionId(ConnectionId),
    /// A data datagram: header fields and a view of the payload.
    Data(DataRepr, &'a [u8]),
    /// A datagram of our extension.
    V1(v1::V1Message<'a>),
    /// A v1 frame data datagram (PROTOCOL.md): header fields and payload.
    FrameData(FrameDataRepr, &'a [u8]),
}

/// Classifies and parses one datagram.
///
/// `START` is matched exactly (5 bytes); anything else is read by its
/// 16-bit flag. Unknown flags and short or malformed datagrams give a
/// [`WireError`].
pub fn parse(bytes: &[u8]) -> Result<Datagram<'_>, WireError> {
    if bytes == START {
        return Ok(Datagram::Start);
    }
    match read_flag(bytes)? {
        FLAG_DATA => {
            let packet = DataPacket::new_checked(bytes)?;
            Ok(Datagram::Data(
                DataRepr::parse(&packet),
                packet.into_payload(),
            ))
        }
        FLAG_FRAME_DATA => {
            let packet = FrameDataPacket::new_checked(bytes)?;
            Ok(Datagram::FrameData(
                FrameDataRepr::parse(&packet),
                packet.into_payload(),
            ))
        }
        FLAG_CONNECTION_ID => {
            let packet = ConnectionIdPacket::new_checked(bytes)?;
            Ok(Datagram::ConnectionId(packet.connection_id()?))
        }
        flag if v1::EXTENSION_FLAGS.contains(&flag) => v1::parse(bytes).map(Datagram::V1),
        flag => Err(WireError::UnknownFlag { flag }),
    }
}

/// Reads the leading 16-bit flag of a datagram.
pub fn read_flag(bytes: &[u8]) -> Result<u16, WireError> {
    match bytes {
        [a, b, ..] => Ok(u16::from_le_bytes([*a, *b])),
        _ => Err(WireError::Truncated {
            what: "flag",
            len: bytes.len(),
            need: 2,
        }),
    }
}

/// Text a peer sent (a REFUSE reason), made safe to print: invalid UTF-8
/// becomes U+FFFD and every control character (C0, DEL, C1) and every
/// character that reorders or hides text (bidirectional overrides and
/// isolates, zero-width marks) is written as its `\u{..}` escape, so a
/// hostile peer can neither move the cursor, clear a screen nor forge a
/// line of output.
///
/// ```
/// assert_eq!(
///     mediastream_core::wire::printable(b"busy\x1b[2J\r\nok\xff"),
///     "busy\\u{1b}[2J\\u{d}\\u{a}ok\u{fffd}"
/// );
/// ```
pub fn printable(bytes: &[u8]) -> String {
    escape_text(&String::from_utf8_lossy(bytes))
}

/// [`printable`] for text that is already UTF-8.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let hiding = matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
        if c.is_control() || hiding {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads a little-endian i64 at `at`; callers have checked the length.
fn read_i64(bytes: &[u8], at: usize) -> i64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[at..at + 8]);
    i64::from_le_bytes(raw)
}

#[cfg(test)]
mod tests;
