//! The v1 frame data datagram: the base data header plus the frame's size,
//! the datagram's index in it, the frame's kind and its keyframe, so that
//! a receiver judges frames of any size without knowing the sender's
//! model. Sent only on a v1 stream whose request asked for it.

use super::{read_i64, DataRepr, WireError, MAX_DATAGRAM};

/// Flag of a frame data datagram: outside both ctsTraffic's flags and the
/// v1 control range (it has no version byte and no tag; 0x3000..=0x30ff
/// is reserved for data variants of the extension).
pub const FLAG_FRAME_DATA: u16 = 0x3000;
/// Length of the frame data header.
pub const FRAME_DATA_HEADER_LEN: usize = 40;
/// The smallest frame data datagram: its header and one payload byte.
pub const MIN_FRAME_DATA_DATAGRAM: usize = FRAME_DATA_HEADER_LEN + 1;

mod field {
    pub const SEQUENCE: usize = 2;
    pub const TIMESTAMP: usize = 10;
    pub const FREQUENCY: usize = 18;
    pub const FRAME_SIZE: usize = 26;
    pub const INDEX: usize = 30;
    pub const KIND: usize = 34;
    pub const RESERVED: usize = 35;
    pub const KEY_BACK: usize = 36;
    pub const PAYLOAD: usize = super::FRAME_DATA_HEADER_LEN;
}

/// A view of a frame data datagram over any byte buffer; every accessor
/// is in bounds after [`FrameDataPacket::new_checked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameDataPacket<T: AsRef<[u8]>> {
    buffer: T,
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(raw)
}

impl<T: AsRef<[u8]>> FrameDataPacket<T> {
    /// Wraps `buffer` after checking its length (41 to 65507 bytes).
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let len = buffer.as_ref().len();
        if len < MIN_FRAME_DATA_DATAGRAM {
            return Err(WireError::Truncated {
                what: "frame data",
                len,
                need: MIN_FRAME_DATA_DATAGRAM,
            });
        }
        if len > MAX_DATAGRAM {
            return Err(WireError::TooLong { len });
        }
        Ok(Self { buffer })
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The frame's sequence number (1-based).
    pub fn sequence_number(&self) -> i64 {
        read_i64(self.bytes(), field::SEQUENCE)
    }

    /// The sender's clock when it sent this datagram, ticks.
    pub fn timestamp(&self) -> i64 {
        read_i64(self.bytes(), field::TIMESTAMP)
    }

    /// The sender's ticks per second.
    pub fn frequency(&self) -> i64 {
        read_i64(self.bytes(), field::FREQUENCY)
    }

    /// The frame's size: all its datagrams, headers included.
    pub fn frame_size(&self) -> u32 {
        read_u32(self.bytes(), field::FRAME_SIZE)
    }

    /// This datagram's index in its frame (0-based).
    pub fn index(&self) -> u32 {
        read_u32(self.bytes(), field::INDEX)
    }

    /// The frame kind's code (0 independent, 1 key, 2 delta).
    pub fn kind(&self) -> u8 {
        self.bytes()[field::KIND]
    }

    /// Frames back to the keyframe this frame depends on (0: itself or none).
    pub fn key_back(&self) -> u32 {
        read_u32(self.bytes(), field::KEY_BACK)
    }

    /// The payload after the 40-byte header.
    pub fn payload(&self) -> &[u8] {
        &self.bytes()[field::PAYLOAD..]
    }
}

impl<'a> FrameDataPacket<&'a [u8]> {
    /// The payload, borrowed for the buffer's lifetime.
    pub fn into_payload(self) -> &'a [u8] {
        &self.buffer[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> FrameDataPacket<T> {
    fn put(&mut self, at: usize, bytes: &[u8]) {
        self.buffer.as_mut()[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// The header of a frame data datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FrameDataRepr {
    /// The base data fields (sequence, timestamp, frequency).
    pub data: DataRepr,
    /// The frame's total size in bytes, headers included.
    pub frame_size: u32,
    /// The datagram's index in the frame.
    pub index: u32,
    /// The frame kind's code.
    pub kind: u8,
    /// Frames back to its keyframe.
    pub key_back: u32,
}

impl FrameDataRepr {
    /// A header for datagram `index` of a frame of `frame_size` bytes.
    pub fn new(data: DataRepr, frame_size: u32, index: u32, kind: u8, key_back: u32) -> Self {
        Self {
            data,
            frame_size,
            index,
            kind,
            key_back,
        }
    }

    /// Reads a checked view.
    pub fn parse<T: AsRef<[u8]>>(packet: &FrameDataPacket<T>) -> Self {
        Self {
            data: DataRepr {
                sequence_number: packet.sequence_number(),
                timestamp: packet.timestamp(),
                frequency: packet.frequency(),
            },
            frame_size: packet.frame_size(),
            index: packet.index(),
            kind: packet.kind(),
            key_back: packet.key_back(),
        }
    }

    /// Writes the header (reserved byte zero) into `packet`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut FrameDataPacket<T>) {
        packet.put(0, &FLAG_FRAME_DATA.to_le_bytes());
        packet.put(field::SEQUENCE, &self.data.sequence_number.to_le_bytes());
        packet.put(field::TIMESTAMP, &self.data.timestamp.to_le_bytes());
        packet.put(field::FREQUENCY, &self.data.frequency.to_le_bytes());
        packet.put(field::FRAME_SIZE, &self.frame_size.to_le_bytes());
        packet.put(field::INDEX, &self.index.to_le_bytes());
        packet.put(field::KIND, &[self.kind, 0]);
        debug_assert_eq!(field::RESERVED, field::KIND + 1);
        packet.put(field::KEY_BACK, &self.key_back.to_le_bytes());
    }

    /// Emits a whole datagram of `len` bytes (header and pattern payload)
    /// into the front of `buf`; `None` when `len` is not a valid length or
    /// `buf` is too short.
    pub fn emit_datagram(&self, buf: &mut [u8], len: usize) -> Option<usize> {
        let mut packet = FrameDataPacket::new_checked(buf.get_mut(..len)?).ok()?;
        self.emit(&mut packet);
        super::payload::fill(packet.payload_mut());
        Some(len)
    }
}
