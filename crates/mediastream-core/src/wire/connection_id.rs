use core::fmt;

use super::{WireError, FLAG_CONNECTION_ID};

/// Length of the connection-id datagram: flag (2), GUID text (36), NUL (1).
pub const CONNECTION_ID_LEN: usize = 39;
const GUID_LEN: usize = 36;
const GUID_AT: usize = 2;
/// Offsets of the dashes in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
const DASHES: [usize; 4] = [8, 13, 18, 23];

/// A connection id: a GUID in its 36-character text form.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionId([u8; GUID_LEN]);

impl ConnectionId {
    /// Builds the lowercase text form of the GUID made of these 16 bytes
    /// (read as one big-endian 128-bit number, like the text form itself).
    pub fn from_u128(value: u128) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b'-'; GUID_LEN];
        let mut nibble = 32;
        for (at, slot) in text.iter_mut().enumerate() {
            if DASHES.contains(&at) {
                continue;
            }
            nibble -= 1;
            *slot = HEX[((value >> (nibble * 4)) & 0xf) as usize];
        }
        Self(text)
    }

    /// Parses the 36-character text form; hex digits of either case.
    pub fn parse_text(text: &[u8]) -> Result<Self, WireError> {
        if text.len() != GUID_LEN {
            return Err(WireError::BadConnectionId {
                offset: text.len().min(GUID_LEN),
            });
        }
        for (offset, &byte) in text.iter().enumerate() {
            let ok = if DASHES.contains(&offset) {
                byte == b'-'
            } else {
                byte.is_ascii_hexdigit()
            };
            if !ok {
                return Err(WireError::BadConnectionId { offset });
            }
        }
        let mut raw = [0u8; GUID_LEN];
        raw.copy_from_slice(text);
        Ok(Self(raw))
    }

    /// The GUID text, 36 ASCII bytes.
    pub fn as_bytes(&self) -> &[u8; GUID_LEN] {
        &self.0
    }

    /// The GUID text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits and dashes are ever stored.
        core::str::from_utf8(&self.0).unwrap_or("<invalid>")
    }

    /// Writes the whole connection-id datagram (39 bytes) into the front of
    /// `buf`; `None` when `buf` is shorter.
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let dst = buf.get_mut(..CONNECTION_ID_LEN)?;
        dst[..GUID_AT].copy_from_slice(&FLAG_CONNECTION_ID.to_le_bytes());
        dst[GUID_AT..GUID_AT + GUID_LEN].copy_from_slice(&self.0);
        dst[CONNECTION_ID_LEN - 1] = 0;
        Some(CONNECTION_ID_LEN)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionId({})", self.as_str())
    }
}

/// A view of a connection-id datagram.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionIdPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ConnectionIdPacket<T> {
    /// Wraps `buffer` after checking it is exactly 39 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let len = buffer.as_ref().len();
        if len < CONNECTION_ID_LEN {
            return Err(WireError::Truncated {
                what: "connection id",
                len,
                need: CONNECTION_ID_LEN,
            });
        }
        if len > CONNECTION_ID_LEN {
            return Err(WireError::WrongLength {
                what: "connection id",
                len,
                need: CONNECTION_ID_LEN,
            });
        }
        Ok(Self { buffer })
    }

    /// The GUID, validated, with its NUL terminator checked.
    pub fn connection_id(&self) -> Result<ConnectionId, WireError> {
        let bytes = self.buffer.as_ref();
        if bytes[CONNECTION_ID_LEN - 1] != 0 {
            return Err(WireError::BadConnectionId { offset: GUID_LEN });
        }
        ConnectionId::parse_text(&bytes[GUID_AT..GUID_AT + GUID_LEN])
    }
}
