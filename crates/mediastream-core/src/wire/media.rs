//! The frame-size model a v1 REQUEST or JOIN asks for, in the request's
//! padding (PROTOCOL.md, "Frame data"): a peer that does not know these
//! bytes reads them as padding and streams plain data, as before.

/// Where the media fields start in a REQUEST or JOIN (after the cookie).
pub const MEDIA_OFFSET: usize = super::v1::COOKIE_OFFSET + super::v1::COOKIE_LEN;
/// Bytes the media fields take.
pub const MEDIA_LEN: usize = 32;

/// Which model (byte 59 of a request); 0 is none: plain data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaModel {
    /// Constant frames, sent as frame data.
    Cbr,
    /// Log-normal sizes.
    LogNormal,
    /// Keyframes and deltas.
    Gop,
    /// A trace (the sender's own file).
    Trace,
    /// A code this build does not know.
    Other(u8),
}

impl MediaModel {
    fn code(self) -> u8 {
        match self {
            MediaModel::Cbr => 1,
            MediaModel::LogNormal => 2,
            MediaModel::Gop => 3,
            MediaModel::Trace => 4,
            MediaModel::Other(c) => c,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => return None,
            1 => MediaModel::Cbr,
            2 => MediaModel::LogNormal,
            3 => MediaModel::Gop,
            4 => MediaModel::Trace,
            c => MediaModel::Other(c),
        })
    }
}

/// Flag bit: the GOP interval is in milliseconds (else frames).
pub const MEDIA_GOP_MILLIS: u8 = 1;
/// Flag bit: a trace stops at its end (else it loops).
pub const MEDIA_TRACE_STOP: u8 = 2;
/// Flag bit: a trace is scaled to the requested rate.
pub const MEDIA_TRACE_SCALE: u8 = 4;

/// The media fields of a request: the stream is sent as frame data of
/// this model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MediaRequest {
    /// The model.
    pub model: MediaModel,
    /// `MEDIA_*` flag bits.
    pub flags: u8,
    /// GOP: keyframe interval, frames or ms.
    pub gop_interval: u32,
    /// GOP: keyframe to delta size ratio, thousandths.
    pub key_ratio_milli: u32,
    /// GOP: coefficient of variation, thousandths.
    pub variation_milli: u32,
    /// Log-normal: standard deviation of the rate, bit/s.
    pub stdev_bps: u64,
    /// Seed of the random draws.
    pub seed: u64,
}

impl MediaRequest {
    /// A request for `model` with every parameter zero.
    pub fn new(model: MediaModel) -> Self {
        Self {
            model,
            flags: 0,
            gop_interval: 0,
            key_ratio_milli: 0,
            variation_milli: 0,
            stdev_bps: 0,
            seed: 0,
        }
    }

    /// Reads the fields from a request's bytes (at least [`MEDIA_OFFSET`]
    /// + [`MEDIA_LEN`] long, checked by the caller); `None` for model 0.
    pub(super) fn read(request: &[u8]) -> Option<Self> {
        let b = &request[MEDIA_OFFSET..MEDIA_OFFSET + MEDIA_LEN];
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(raw)
        };
        Some(Self {
            model: MediaModel::from_code(b[0])?,
            flags: b[1],
            gop_interval: u32_at(4),
            key_ratio_milli: u32_at(8),
            variation_milli: u32_at(12),
            stdev_bps: u64_at(16),
            seed: u64_at(24),
        })
    }

    /// Writes the fields into a request's bytes.
    pub(super) fn write(&self, request: &mut [u8]) {
        let b = &mut request[MEDIA_OFFSET..MEDIA_OFFSET + MEDIA_LEN];
        b[0] = self.model.code();
        b[1] = self.flags;
        b[2..4].fill(0);
        b[4..8].copy_from_slice(&self.gop_interval.to_le_bytes());
        b[8..12].copy_from_slice(&self.key_ratio_milli.to_le_bytes());
        b[12..16].copy_from_slice(&self.variation_milli.to_le_bytes());
        b[16..24].copy_from_slice(&self.stdev_bps.to_le_bytes());
        b[24..32].copy_from_slice(&self.seed.to_le_bytes());
    }
}
