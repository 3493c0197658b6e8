//! ctsTraffic's jitter file: one CSV row per frame at its render tick.
//! UTF-8 with LF line ends, or as ctsTraffic writes it, UTF-16LE with a
//! byte order mark and CRLF (`--utf16`); the
//! timestamps are read at the right offsets (ctsTraffic's client reads
//! them 2 bytes early, so its delay columns are wrong).

use std::io;

use super::ctsfiles::CtsFile;

use mediastream_core::pattern::FrameRecord;

pub const HEADER: &str = "SequenceNumber,SenderQpc,SenderQpf,ReceiverQpc,ReceiverQpf,RelativeInFlightTimeMs,PrevToCurrentInFlightTimeJitter";

pub struct JitterFile {
    out: CtsFile,
    path: String,
}

impl JitterFile {
    pub fn create(path: &str, utf16: bool) -> io::Result<Self> {
        let out = CtsFile::create(path, utf16, Some(HEADER))
            .map_err(|e| io::Error::new(e.kind(), format!("--jitter-file {path}: {e}")))?;
        Ok(Self {
            out,
            path: path.to_owned(),
        })
    }

    pub fn row(&mut self, r: &FrameRecord) -> io::Result<()> {
        self.out.line(&format!(
            "{},{},{},{},{},{:.3},{:.3}",
            r.sequence_number,
            r.sender_ticks,
            r.sender_frequency,
            r.receiver_ticks,
            r.receiver_frequency,
            r.relative_in_flight_ms,
            r.jitter_ms
        ))
    }

    pub fn finish(self) -> io::Result<()> {
        self.out
            .finish()
            .map_err(|e| io::Error::new(e.kind(), format!("--jitter-file {}: {e}", self.path)))
    }
}
