//! ctsTraffic's jitter file: one CSV row per frame at its render tick.
//! UTF-8 with LF line ends (ctsTraffic writes UTF-16LE with CRLF); the
//! timestamps are read at the right offsets (ctsTraffic's client reads
//! them 2 bytes early, so its delay columns are wrong).

use std::fs::File;
use std::io::{self, BufWriter, Write};

use mediastream_core::pattern::FrameRecord;

pub const HEADER: &str = "SequenceNumber,SenderQpc,SenderQpf,ReceiverQpc,ReceiverQpf,RelativeInFlightTimeMs,PrevToCurrentInFlightTimeJitter";

pub struct JitterFile {
    out: BufWriter<File>,
    path: String,
}

impl JitterFile {
    pub fn create(path: &str) -> io::Result<Self> {
        let file = File::create(path)
            .map_err(|e| io::Error::new(e.kind(), format!("--jitter-file {path}: {e}")))?;
        let mut out = BufWriter::new(file);
        writeln!(out, "{HEADER}")?;
        Ok(Self {
            out,
            path: path.to_owned(),
        })
    }

    pub fn row(&mut self, r: &FrameRecord) -> io::Result<()> {
        writeln!(
            self.out,
            "{},{},{},{},{},{:.3},{:.3}",
            r.sequence_number,
            r.sender_ticks,
            r.sender_frequency,
            r.receiver_ticks,
            r.receiver_frequency,
            r.relative_in_flight_ms,
            r.jitter_ms
        )
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out
            .flush()
            .map_err(|e| io::Error::new(e.kind(), format!("--jitter-file {}: {e}", self.path)))
    }
}
