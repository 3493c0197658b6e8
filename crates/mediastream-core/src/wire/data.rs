use super::{read_i64, WireError, FLAG_DATA, MAX_DATAGRAM};

/// Length of the data header: flag (2), sequence number (8), sender
/// timestamp (8), sender tick frequency (8).
pub const DATA_HEADER_LEN: usize = 26;
/// The smallest data datagram: a header and one payload byte.
pub const MIN_DATA_DATAGRAM: usize = DATA_HEADER_LEN + 1;

mod field {
    use core::ops::Range;
    pub const FLAG: Range<usize> = 0..2;
    pub const SEQUENCE: usize = 2;
    pub const TIMESTAMP: usize = 10;
    pub const FREQUENCY: usize = 18;
    pub const PAYLOAD: usize = super::DATA_HEADER_LEN;
}

/// A view of a data datagram over any byte buffer.
///
/// [`DataPacket::new_checked`] verifies the length once; after that every
/// accessor is in bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> DataPacket<T> {
    /// Wraps `buffer` after checking it can hold a data datagram (header
    /// plus at least one payload byte, at most 65507 bytes). The flag is
    /// not checked here: a view over a buffer about to be emitted into may
    /// hold anything.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let len = buffer.as_ref().len();
        if len < MIN_DATA_DATAGRAM {
            return Err(WireError::Truncated {
                what: "data",
                len,
                need: MIN_DATA_DATAGRAM,
            });
        }
        if len > MAX_DATAGRAM {
            return Err(WireError::TooLong { len });
        }
        Ok(Self { buffer })
    }

    /// The 16-bit flag (0 for a well-formed data datagram).
    pub fn flag(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::FLAG];
        u16::from_le_bytes([b[0], b[1]])
    }

    /// The frame's sequence number (1-based).
    pub fn sequence_number(&self) -> i64 {
        read_i64(self.buffer.as_ref(), field::SEQUENCE)
    }

    /// The sender's clock reading when it sent this datagram, in ticks.
    pub fn timestamp(&self) -> i64 {
        read_i64(self.buffer.as_ref(), field::TIMESTAMP)
    }

    /// The sender's clock frequency in ticks per second.
    pub fn frequency(&self) -> i64 {
        read_i64(self.buffer.as_ref(), field::FREQUENCY)
    }

    /// The payload after the 26-byte header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }

    /// The whole datagram's length.
    pub fn len(&self) -> usize {
        self.buffer.as_ref().len()
    }

    /// Always false: a checked view holds at least 27 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl<'a> DataPacket<&'a [u8]> {
    /// The payload, borrowed for the buffer's whole lifetime.
    pub fn into_payload(self) -> &'a [u8] {
        &self.buffer[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> DataPacket<T> {
    fn write_i64(&mut self, at: usize, value: i64) {
        self.buffer.as_mut()[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }

    /// Sets the flag field.
    pub fn set_flag(&mut self, flag: u16) {
        self.buffer.as_mut()[field::FLAG].copy_from_slice(&flag.to_le_bytes());
    }

    /// Sets the sequence number.
    pub fn set_sequence_number(&mut self, value: i64) {
        self.write_i64(field::SEQUENCE, value);
    }

    /// Sets the sender timestamp.
    pub fn set_timestamp(&mut self, value: i64) {
        self.write_i64(field::TIMESTAMP, value);
    }

    /// Sets the sender frequency.
    pub fn set_frequency(&mut self, value: i64) {
        self.write_i64(field::FREQUENCY, value);
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// The header fields of a data datagram, independent of any buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataRepr {
    /// Frame number, from 1; shared by every datagram of a frame.
    pub sequence_number: i64,
    /// Sender clock reading in ticks.
    pub timestamp: i64,
    /// Sender clock ticks per second.
    pub frequency: i64,
}

impl DataRepr {
    /// Reads the header fields of a checked view.
    pub fn parse<T: AsRef<[u8]>>(packet: &DataPacket<T>) -> Self {
        Self {
            sequence_number: packet.sequence_number(),
            timestamp: packet.timestamp(),
            frequency: packet.frequency(),
        }
    }

    /// Writes flag 0 and these fields into the header of `packet`; the
    /// payload is left to the caller (see [`super::payload::fill`]).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut DataPacket<T>) {
        packet.set_flag(FLAG_DATA);
        packet.set_sequence_number(self.sequence_number);
        packet.set_timestamp(self.timestamp);
        packet.set_frequency(self.frequency);
    }

    /// Emits a complete data datagram of `len` bytes (header and pattern
    /// payload) into the front of `buf`. Returns `None` when `len` is not
    /// a valid data datagram length or `buf` is too short.
    pub fn emit_datagram(&self, buf: &mut [u8], len: usize) -> Option<usize> {
        let mut packet = DataPacket::new_checked(buf.get_mut(..len)?).ok()?;
        self.emit(&mut packet);
        super::payload::fill(packet.payload_mut());
        Some(len)
    }
}
