//! Our protocol extension, version 1 (specified in `docs/PROTOCOL.md`).
//!
//! Every v1 datagram starts with a u16 flag in 0x2001..=0x2007 (a range no
//! ctsTraffic datagram uses), a u8 version and the u64 stream token the
//! client chose, and ends with a [`TAG_LEN`]-byte tag (zero unless keyed,
//! see [`crate::auth`]); the rest is fixed per message. Requests are
//! padded to [`REQUEST_LEN`] bytes so that no answer to a peer that has
//! not proven it can receive (CHALLENGE, REFUSE) is larger than what it
//! sent. A server answers a request without a valid cookie with a
//! CHALLENGE carrying one; the client repeats its request with it.

use super::{ConnectionId, WireError};
use crate::marking::MarkCounts;

/// The version this build speaks (2: the cookie handshake and the tag;
/// version 1 had neither).
pub const VERSION: u8 = 2;
/// REQUEST: the client asks the server to send it a stream.
pub const FLAG_REQUEST: u16 = 0x2001;
/// JOIN: the client asks the server to receive a stream from it.
pub const FLAG_JOIN: u16 = 0x2002;
/// ACCEPT: the server will serve the request.
pub const FLAG_ACCEPT: u16 = 0x2003;
/// REFUSE: the server will not serve the request, with a reason.
pub const FLAG_REFUSE: u16 = 0x2004;
/// REPORT: the receiver's view, sent to the sender at a fixed interval.
pub const FLAG_REPORT: u16 = 0x2005;
/// END: the sender's totals after its last frame.
pub const FLAG_END: u16 = 0x2006;
/// CHALLENGE: the server's stateless cookie, to be echoed in the request.
pub const FLAG_CHALLENGE: u16 = 0x2007;
/// Flags 0x2000..=0x20ff belong to the extension.
pub const EXTENSION_FLAGS: core::ops::RangeInclusive<u16> = 0x2000..=0x20ff;

/// flag (2) + version (1) + token (8).
pub const HEADER_LEN: usize = 11;
/// The tag that ends every v1 datagram (truncated HMAC-SHA256 when keyed,
/// zeros otherwise).
pub const TAG_LEN: usize = 16;
/// A server's cookie.
pub const COOKIE_LEN: usize = 16;
/// Where a REQUEST or JOIN carries the cookie.
pub const COOKIE_OFFSET: usize = HEADER_LEN + 32;
/// Length of REQUEST and JOIN (padded with zeros; longer accepted).
pub const REQUEST_LEN: usize = 128;
/// Length of CHALLENGE: header, cookie and tag.
pub const CHALLENGE_LEN: usize = HEADER_LEN + COOKIE_LEN + TAG_LEN;
/// Length of ACCEPT: header, connection id and tag.
pub const ACCEPT_LEN: usize = HEADER_LEN + 36 + TAG_LEN;
/// Longest reason text a REFUSE carries (it must fit in a REQUEST's size).
pub const MAX_REASON_LEN: usize = REQUEST_LEN - HEADER_LEN - 2 - TAG_LEN;
/// Length of REPORT.
pub const REPORT_LEN: usize = HEADER_LEN + 1 + 11 * 8 + TAG_LEN;
/// Length of END.
pub const END_LEN: usize = HEADER_LEN + 4 * 8 + TAG_LEN;
/// Where a REQUEST or JOIN carries its feature flags (the last byte
/// before the tag; zero from a build without them).
pub const REQUEST_FLAGS_OFFSET: usize = REQUEST_LEN - TAG_LEN - 1;
/// Where an END carries its feature flags (the first of its 8 reserved
/// bytes; zero from a build without them).
pub const END_FLAGS_OFFSET: usize = HEADER_LEN + 3 * 8;
/// Feature flag (REQUEST, JOIN, END): the sender of this datagram reads
/// REPORT blocks, so a receiver may append them to the REPORTs it sends
/// it. A peer without the flag gets the fixed 116-byte REPORT only.
pub const FEATURE_REPORT_BLOCKS: u8 = 1;
/// REPORT block type: the receiver's DSCP and ECN counts.
pub const BLOCK_MARKING: u8 = 1;
/// Longest REPORT: the fixed fields, a marking block with all 64 DSCPs,
/// and the tag.
pub const MAX_REPORT_LEN: usize = REPORT_LEN + MARKING_BLOCK_FIXED + 64 * 9;
/// A marking block's type, version, length and five counts.
const MARKING_BLOCK_FIXED: usize = 4 + 5 * 8;

/// A server's cookie: a MAC over the requester's address, port, token and
/// a coarse time (see `docs/PROTOCOL.md`); all zeros means none.
pub type Cookie = [u8; COOKIE_LEN];

/// The stream a client asks for in a REQUEST or JOIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestRepr {
    /// Chosen by the client; every later v1 datagram of the stream carries it.
    pub token: u64,
    /// Bits per second.
    pub bits_per_second: u64,
    /// Frames per second.
    pub frame_rate: u32,
    /// Stream length in seconds.
    pub stream_length_secs: u32,
    /// Datagram size, header included.
    pub datagram_size: u32,
    /// The receiver's jitter-buffer depth in milliseconds.
    pub buffer_depth_ms: u32,
    /// How often the receiver reports, in milliseconds.
    pub report_interval_ms: u32,
    /// The sender stops when no report arrived for this long (ms).
    pub consent_timeout_ms: u32,
    /// The cookie of the server's CHALLENGE, echoed; `None` (zeros on the
    /// wire) in a first request.
    pub cookie: Option<Cookie>,
    /// The frame-size model asked for: the stream is sent as frame data
    /// (`None`, zeros on the wire: plain data, as before).
    pub media: Option<super::MediaRequest>,
}

/// Why a server refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefuseCode {
    /// The stream parameters are invalid or over the server's limits.
    BadParameters,
    /// The server is at its stream limit.
    Busy,
    /// The request's version is not spoken here.
    UnsupportedVersion,
    /// The server does not serve this direction.
    DirectionNotServed,
    /// Too many requests from this source.
    RateLimited,
    /// A code this build does not know (from a newer peer).
    Other(u8),
}

impl RefuseCode {
    fn to_u8(self) -> u8 {
        match self {
            RefuseCode::BadParameters => 1,
            RefuseCode::Busy => 2,
            RefuseCode::UnsupportedVersion => 3,
            RefuseCode::DirectionNotServed => 4,
            RefuseCode::RateLimited => 5,
            RefuseCode::Other(code) => code,
        }
    }

    fn from_u8(code: u8) -> Self {
        match code {
            1 => RefuseCode::BadParameters,
            2 => RefuseCode::Busy,
            3 => RefuseCode::UnsupportedVersion,
            4 => RefuseCode::DirectionNotServed,
            5 => RefuseCode::RateLimited,
            other => RefuseCode::Other(other),
        }
    }
}

/// The receiver's counters as of a report, with a timestamp echo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ReportRepr {
    /// The stream's token.
    pub token: u64,
    /// The receiver's last report for this stream.
    pub is_final: bool,
    /// Frames completed so far.
    pub frames_completed: u64,
    /// Frames dropped so far.
    pub frames_dropped: u64,
    /// Frames repeated so far.
    pub frames_repeated: u64,
    /// Error datagrams so far.
    pub frames_error: u64,
    /// Data datagrams received so far.
    pub datagrams_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Corrupt datagrams so far.
    pub datagrams_corrupt: u64,
    /// Highest sequence number seen (0 before any).
    pub highest_sequence: i64,
    /// The sender timestamp of the newest data datagram received (0 before any).
    pub echo_timestamp: i64,
    /// Nanoseconds between receiving that datagram and sending this report.
    pub echo_delay_ns: i64,
    /// RFC 3550 jitter so far, nanoseconds.
    pub jitter_ns: u64,
    /// The DSCP and ECN counts, in an optional block after the fixed
    /// fields (sent only to a peer that announced
    /// [`FEATURE_REPORT_BLOCKS`]); `None`: no block. Boxed: the counts
    /// take 552 bytes, and a sending stream keeps its peer's last report.
    pub marks: Option<Box<MarkCounts>>,
}

/// The sender's totals, sent after its last frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EndRepr {
    /// The stream's token.
    pub token: u64,
    /// Frames sent.
    pub frames_sent: u64,
    /// Data datagrams sent.
    pub datagrams_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Feature flags ([`FEATURE_REPORT_BLOCKS`]); 0 from an older build.
    pub features: u8,
}

/// A parsed v1 datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V1Message<'a> {
    /// Client asks the server to send.
    Request(RequestRepr),
    /// Client asks the server to receive.
    Join(RequestRepr),
    /// Server asks the client to repeat its request with this cookie.
    Challenge {
        /// The request's token.
        token: u64,
        /// To be echoed.
        cookie: Cookie,
    },
    /// Server accepts.
    Accept {
        /// The request's token.
        token: u64,
        /// The stream's connection id.
        connection_id: ConnectionId,
    },
    /// Server refuses.
    Refuse {
        /// The request's token.
        token: u64,
        /// Why.
        code: RefuseCode,
        /// A human-readable reason (UTF-8, possibly cut).
        reason: &'a [u8],
    },
    /// Receiver's report (boxed: its marking block makes it the largest
    /// message by far, and every datagram's parse result would carry
    /// that size).
    Report(Box<ReportRepr>),
    /// Sender's totals.
    End(EndRepr),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut raw = [0u8; N];
        raw.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        raw
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take())
    }
    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }
}

struct Writer<'a> {
    bytes: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, raw: &[u8]) {
        self.bytes[self.at..self.at + raw.len()].copy_from_slice(raw);
        self.at += raw.len();
    }
    fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.put(&v.to_le_bytes());
    }
}

fn expect_len(what: &'static str, len: usize, need: usize, exact: bool) -> Result<(), WireError> {
    if len < need {
        Err(WireError::Truncated { what, len, need })
    } else if exact && len > need {
        Err(WireError::WrongLength { what, len, need })
    } else {
        Ok(())
    }
}

/// The header every v1 datagram starts with (flag, version, token),
/// read whatever the version: what a server needs to answer a request
/// of a version it does not speak (a REFUSE must carry the request's
/// token).
///
/// ```
/// use mediastream_core::client::ClientConfig;
/// use mediastream_core::settings::StreamSettings;
/// use mediastream_core::wire::v1::{self, Header};
///
/// let mut buf = [0u8; v1::REQUEST_LEN];
/// let request = ClientConfig::new(StreamSettings::new(8_000_000, 50, 3), 0x1234).request();
/// request.emit(true, &mut buf).unwrap();
/// buf[2] = 9; // a version from the future
/// let header = Header::parse(&buf).unwrap();
/// assert_eq!((header.flag, header.version, header.token), (v1::FLAG_JOIN, 9, 0x1234));
/// assert!(header.is_request());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The message's flag, in [`EXTENSION_FLAGS`].
    pub flag: u16,
    /// The version byte (this build speaks [`VERSION`]).
    pub version: u8,
    /// The stream's token.
    pub token: u64,
}

impl Header {
    /// Reads the first [`HEADER_LEN`] bytes of a datagram whose flag is
    /// in [`EXTENSION_FLAGS`]; the version is not checked.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let flag = super::read_flag(bytes)?;
        if !EXTENSION_FLAGS.contains(&flag) {
            return Err(WireError::UnknownFlag { flag });
        }
        expect_len("v1", bytes.len(), HEADER_LEN, false)?;
        let mut r = Reader { bytes, at: 2 };
        Ok(Self {
            flag,
            version: r.u8(),
            token: r.u64(),
        })
    }

    /// A REQUEST or a JOIN.
    pub fn is_request(&self) -> bool {
        matches!(self.flag, FLAG_REQUEST | FLAG_JOIN)
    }
}

/// Parses a datagram whose flag is in [`EXTENSION_FLAGS`].
pub fn parse(bytes: &[u8]) -> Result<V1Message<'_>, WireError> {
    let Header {
        flag,
        version,
        token,
    } = Header::parse(bytes)?;
    if version != VERSION {
        return Err(WireError::UnsupportedVersion { version });
    }
    let mut r = Reader {
        bytes,
        at: HEADER_LEN,
    };
    match flag {
        FLAG_REQUEST | FLAG_JOIN => {
            // Longer requests are fine: a later version may add fields.
            expect_len("request", bytes.len(), REQUEST_LEN, false)?;
            let repr = RequestRepr {
                token,
                bits_per_second: r.u64(),
                frame_rate: r.u32(),
                stream_length_secs: r.u32(),
                datagram_size: r.u32(),
                buffer_depth_ms: r.u32(),
                report_interval_ms: r.u32(),
                consent_timeout_ms: r.u32(),
                cookie: Some(r.take::<COOKIE_LEN>()).filter(|c| c.iter().any(|&b| b != 0)),
                media: super::MediaRequest::read(bytes),
            };
            Ok(if flag == FLAG_REQUEST {
                V1Message::Request(repr)
            } else {
                V1Message::Join(repr)
            })
        }
        FLAG_CHALLENGE => {
            expect_len("challenge", bytes.len(), CHALLENGE_LEN, true)?;
            Ok(V1Message::Challenge {
                token,
                cookie: r.take(),
            })
        }
        FLAG_ACCEPT => {
            expect_len("accept", bytes.len(), ACCEPT_LEN, true)?;
            let connection_id = ConnectionId::parse_text(&r.rest()[..36])?;
            Ok(V1Message::Accept {
                token,
                connection_id,
            })
        }
        FLAG_REFUSE => {
            expect_len("refuse", bytes.len(), HEADER_LEN + 2 + TAG_LEN, false)?;
            let code = RefuseCode::from_u8(r.u8());
            let len = usize::from(r.u8());
            let rest = r.rest();
            let reason = &rest[..rest.len() - TAG_LEN];
            expect_len("refuse", reason.len(), len, true)?;
            Ok(V1Message::Refuse {
                token,
                code,
                reason,
            })
        }
        FLAG_REPORT => {
            expect_len("report", bytes.len(), REPORT_LEN, false)?;
            if bytes.len() > MAX_REPORT_LEN {
                return Err(WireError::WrongLength {
                    what: "report",
                    len: bytes.len(),
                    need: MAX_REPORT_LEN,
                });
            }
            let blocks = &bytes[REPORT_LEN - TAG_LEN..bytes.len() - TAG_LEN];
            let marks = parse_blocks(blocks, REPORT_LEN - TAG_LEN)?;
            Ok(V1Message::Report(Box::new(ReportRepr {
                token,
                is_final: r.u8() & 1 == 1,
                frames_completed: r.u64(),
                frames_dropped: r.u64(),
                frames_repeated: r.u64(),
                frames_error: r.u64(),
                datagrams_received: r.u64(),
                bytes_received: r.u64(),
                datagrams_corrupt: r.u64(),
                highest_sequence: r.i64(),
                echo_timestamp: r.i64(),
                echo_delay_ns: r.i64(),
                jitter_ns: r.u64(),
                marks: marks.map(Box::new),
            })))
        }
        FLAG_END => {
            expect_len("end", bytes.len(), END_LEN, true)?;
            Ok(V1Message::End(EndRepr {
                token,
                frames_sent: r.u64(),
                datagrams_sent: r.u64(),
                bytes_sent: r.u64(),
                features: r.u8(),
            }))
        }
        flag => Err(WireError::UnknownFlag { flag }),
    }
}

/// Reads a REPORT's blocks (`at`: where they start in the datagram):
/// each is u8 type, u8 version, u16 body length, body. Blocks of another
/// type or version are skipped; a marking block is checked and read.
fn parse_blocks(mut blocks: &[u8], mut at: usize) -> Result<Option<MarkCounts>, WireError> {
    let mut marks = None;
    while !blocks.is_empty() {
        let bad = |why| WireError::BadReportBlock { offset: at, why };
        if blocks.len() < 4 {
            return Err(bad("shorter than a block header"));
        }
        let (kind, version) = (blocks[0], blocks[1]);
        let len = usize::from(u16::from_le_bytes([blocks[2], blocks[3]]));
        let body = blocks
            .get(4..4 + len)
            .ok_or(bad("longer than the datagram"))?;
        if kind == BLOCK_MARKING && version == 1 {
            if marks.is_some() {
                return Err(bad("a second marking block"));
            }
            marks = Some(parse_marking(body).map_err(bad)?);
        }
        blocks = &blocks[4 + len..];
        at += 4 + len;
    }
    Ok(marks)
}

fn parse_marking(body: &[u8]) -> Result<MarkCounts, &'static str> {
    let fixed = MARKING_BLOCK_FIXED - 4;
    if body.len() < fixed || !(body.len() - fixed).is_multiple_of(9) {
        return Err("marking block length is not 40 + 9 x DSCPs");
    }
    let mut r = Reader { bytes: body, at: 0 };
    let mut marks = MarkCounts::new();
    marks.datagrams = r.u64();
    // On the wire: not-ECT, ECT(1), ECT(0), CE, the code points' order.
    for n in &mut marks.ecn {
        *n = r.u64();
    }
    let mut last = None;
    while !r.rest().is_empty() {
        let dscp = r.u8();
        if dscp >= 64 || last.is_some_and(|l| l >= dscp) {
            return Err("DSCP out of range or out of order");
        }
        last = Some(dscp);
        marks.dscp[usize::from(dscp)] = r.u64();
    }
    let sum = |v: &[u64]| v.iter().try_fold(0u64, |a, &n| a.checked_add(n));
    if sum(&marks.ecn) != Some(marks.datagrams) || sum(&marks.dscp) != Some(marks.datagrams) {
        return Err("counts do not add up to the datagrams read");
    }
    Ok(marks)
}

/// The feature flags of a REQUEST or JOIN (0 from a build without them,
/// or a request too short to hold them).
pub fn request_features(request: &[u8]) -> u8 {
    request.get(REQUEST_FLAGS_OFFSET).copied().unwrap_or(0)
}

fn header<'a>(buf: &'a mut [u8], flag: u16, token: u64, len: usize) -> Option<Writer<'a>> {
    let bytes = buf.get_mut(..len)?;
    bytes.fill(0);
    let mut w = Writer { bytes, at: 0 };
    w.put(&flag.to_le_bytes());
    w.u8(VERSION);
    w.u64(token);
    Some(w)
}

impl RequestRepr {
    /// Emits a REQUEST (`join` false) or JOIN (`join` true); `None` when
    /// `buf` is shorter than [`REQUEST_LEN`].
    pub fn emit(&self, join: bool, buf: &mut [u8]) -> Option<usize> {
        let flag = if join { FLAG_JOIN } else { FLAG_REQUEST };
        let mut w = header(buf, flag, self.token, REQUEST_LEN)?;
        w.u64(self.bits_per_second);
        w.u32(self.frame_rate);
        w.u32(self.stream_length_secs);
        w.u32(self.datagram_size);
        w.u32(self.buffer_depth_ms);
        w.u32(self.report_interval_ms);
        w.u32(self.consent_timeout_ms);
        w.put(&self.cookie.unwrap_or_default());
        // This build reads REPORT blocks.
        w.at = REQUEST_FLAGS_OFFSET;
        w.u8(FEATURE_REPORT_BLOCKS);
        if let Some(media) = &self.media {
            media.write(w.bytes);
        }
        Some(REQUEST_LEN)
    }
}

/// Emits a CHALLENGE (tag zero).
pub fn emit_challenge(token: u64, cookie: &Cookie, buf: &mut [u8]) -> Option<usize> {
    let mut w = header(buf, FLAG_CHALLENGE, token, CHALLENGE_LEN)?;
    w.put(cookie);
    Some(CHALLENGE_LEN)
}

/// Emits a version 1 REFUSE (no tag), the only answer a version 1 client
/// can read: for telling it that this server speaks another version.
pub fn emit_refuse_v1(token: u64, code: RefuseCode, reason: &str, buf: &mut [u8]) -> Option<usize> {
    let len = emit_refuse(token, code, reason, buf)? - TAG_LEN;
    buf[2] = 1;
    Some(len)
}

/// Emits an ACCEPT.
pub fn emit_accept(token: u64, connection_id: &ConnectionId, buf: &mut [u8]) -> Option<usize> {
    let mut w = header(buf, FLAG_ACCEPT, token, ACCEPT_LEN)?;
    w.put(connection_id.as_bytes());
    Some(ACCEPT_LEN)
}

/// Emits a REFUSE; the reason is cut to [`MAX_REASON_LEN`] bytes (at a
/// character boundary).
pub fn emit_refuse(token: u64, code: RefuseCode, reason: &str, buf: &mut [u8]) -> Option<usize> {
    let mut cut = reason.len().min(MAX_REASON_LEN);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let text = &reason.as_bytes()[..cut];
    let len = HEADER_LEN + 2 + text.len() + TAG_LEN;
    let mut w = header(buf, FLAG_REFUSE, token, len)?;
    w.u8(code.to_u8());
    w.u8(text.len() as u8);
    w.put(text);
    Some(len)
}

impl ReportRepr {
    /// This report's length: [`REPORT_LEN`], plus its marking block.
    pub fn len(&self) -> usize {
        REPORT_LEN
            + self.marks.as_deref().map_or(0, |m| {
                MARKING_BLOCK_FIXED + 9 * m.dscp.iter().filter(|&&n| n > 0).count()
            })
    }

    /// Always false: a report has its fixed fields.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Emits a REPORT ([`len`](Self::len) bytes; `None` when `buf` is
    /// shorter).
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let len = self.len();
        let mut w = header(buf, FLAG_REPORT, self.token, len)?;
        w.u8(u8::from(self.is_final));
        for v in [
            self.frames_completed,
            self.frames_dropped,
            self.frames_repeated,
            self.frames_error,
            self.datagrams_received,
            self.bytes_received,
            self.datagrams_corrupt,
        ] {
            w.u64(v);
        }
        w.i64(self.highest_sequence);
        w.i64(self.echo_timestamp);
        w.i64(self.echo_delay_ns);
        w.u64(self.jitter_ns);
        if let Some(m) = &self.marks {
            w.u8(BLOCK_MARKING);
            w.u8(1);
            w.put(&((len - REPORT_LEN - 4) as u16).to_le_bytes());
            w.u64(m.datagrams);
            for n in m.ecn {
                w.u64(n);
            }
            for (dscp, n) in m.dscp_seen() {
                w.u8(dscp.value());
                w.u64(n);
            }
        }
        Some(len)
    }
}

impl EndRepr {
    /// Emits an END.
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let mut w = header(buf, FLAG_END, self.token, END_LEN)?;
        w.u64(self.frames_sent);
        w.u64(self.datagrams_sent);
        w.u64(self.bytes_sent);
        w.u8(self.features);
        Some(END_LEN)
    }
}
