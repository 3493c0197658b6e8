//! ctsTraffic's output files, as 2.0.3.5 writes them for UDP: UTF-16LE
//! with a byte order mark and CRLF line ends (`--utf16`; `mediastream
//! cts` unless -Utf8), or plain UTF-8 with LF. The status and connection files are CSV with a header
//! line; the error file is text, just the mark when nothing failed.
//! docs/cts.md has the formats.

use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::time::Instant;

use mediastream_core::pattern::Status;
use mediastream_core::server::StreamResult;

use super::output::{check, Write};
use super::text::{StatusRow, STATUS_HEADER};
use super::{bits_per_second, frames};
use crate::cmd::CliError;

pub const CONNECTION_HEADER: &str =
    "TimeSlice,LocalAddress,RemoteAddress,Bits/Sec,Completed,Dropped,Repeated,Errors,Result,ConnectionId";

/// One output file in ctsTraffic's encoding.
pub struct CtsFile {
    out: BufWriter<File>,
    utf16: bool,
    path: String,
}

impl CtsFile {
    /// Creates (truncates) `path` and writes the byte order mark and the
    /// header line, if any.
    pub fn create(path: &str, utf16: bool, header: Option<&str>) -> io::Result<Self> {
        let file = File::create(path)?;
        let mut f = Self {
            out: BufWriter::new(file),
            utf16,
            path: path.to_owned(),
        };
        if utf16 {
            f.out.write_all(&[0xFF, 0xFE])?;
        }
        if let Some(h) = header {
            f.line(h)?;
        }
        Ok(f)
    }

    /// Writes one line and its line end.
    pub fn line(&mut self, text: &str) -> io::Result<()> {
        if self.utf16 {
            for unit in text.encode_utf16().chain("\r\n".encode_utf16()) {
                self.out.write_all(&unit.to_le_bytes())?;
            }
            Ok(())
        } else {
            writeln!(self.out, "{text}")
        }
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The files asked for, and the first error writing them.
pub struct CtsFiles {
    status: Option<CtsFile>,
    connection: Option<CtsFile>,
    error: Option<CtsFile>,
    start: Instant,
    failed: Option<(String, io::Error)>,
}

/// Which files to write, and how.
#[derive(Debug, Clone, Default)]
pub struct FileNames {
    pub status: Option<String>,
    pub connection: Option<String>,
    pub error: Option<String>,
    pub utf16: bool,
}

impl CtsFiles {
    /// Creates every file named; an error names the file.
    pub fn create(names: &FileNames, start: Instant) -> io::Result<Self> {
        let utf16 = names.utf16;
        let open = |path: &Option<String>, header: Option<&str>| {
            path.as_deref()
                .map(|p| {
                    CtsFile::create(p, utf16, header)
                        .map_err(|e| io::Error::new(e.kind(), format!("{p}: {e}")))
                })
                .transpose()
        };
        Ok(Self {
            status: open(&names.status, Some(STATUS_HEADER))?,
            connection: open(&names.connection, Some(CONNECTION_HEADER))?,
            error: open(&names.error, None)?,
            start,
            failed: None,
        })
    }

    fn write(failed: &mut Option<(String, io::Error)>, file: &mut Option<CtsFile>, line: &str) {
        if let (Some(f), None) = (file.as_mut(), &failed) {
            if let Err(e) = f.line(line) {
                *failed = Some((f.path.clone(), e));
            }
        }
    }

    /// One status interval: the same numbers as the console's row.
    pub fn status(&mut self, row: &StatusRow) {
        Self::write(&mut self.failed, &mut self.status, &status_line(row));
    }

    /// One finished connection; a failed one also in the error file.
    pub fn stream(&mut self, r: &StreamResult) {
        let line = connection_line(r, self.start);
        Self::write(&mut self.failed, &mut self.connection, &line);
        if let Some(text) = error_line(r, self.start) {
            Self::write(&mut self.failed, &mut self.error, &text);
        }
    }

    /// Flushes every file; the first error, naming its file.
    pub fn finish(self) -> io::Result<()> {
        if let Some((path, e)) = self.failed {
            return Err(io::Error::new(e.kind(), format!("{path}: {e}")));
        }
        for f in [self.status, self.connection, self.error]
            .into_iter()
            .flatten()
        {
            let path = f.path.clone();
            f.finish()
                .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
        }
        Ok(())
    }
}

/// ctsTraffic's status, connection and error files of a command's
/// `--status-file`, `--connection-file` and `--error-file` (in that
/// order), if any is named: each checked and created before any traffic
/// (exit 2 when one cannot be).
pub fn open(
    [status, connection, error]: [&Option<String>; 3],
    utf16: bool,
    start: Instant,
) -> Result<Option<CtsFiles>, CliError> {
    let names = FileNames {
        status: status.clone(),
        connection: connection.clone(),
        error: error.clone(),
        utf16,
    };
    let named = [
        ("--status-file", status),
        ("--connection-file", connection),
        ("--error-file", error),
    ];
    let mut any = false;
    for (option, path) in named {
        if let Some(path) = path {
            check(option, path, Write::InPlace)?;
            any = true;
        }
    }
    if !any {
        return Ok(None);
    }
    CtsFiles::create(&names, start)
        .map(Some)
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// The error line of a failed stream (the error file's, and the
/// console's at the levels that print errors); None when it succeeded.
pub fn error_line(r: &StreamResult, start: Instant) -> Option<String> {
    let Status::Failed(e) = &r.status else {
        return None;
    };
    let elapsed = r.ended.saturating_duration_since(start).as_secs_f64();
    Some(format!(
        "[{elapsed:.3}] UDP connection failed : [{} - {}] : {}",
        r.local,
        r.remote,
        super::escape(&e.to_string())
    ))
}

/// A status row as CSV: TimeSlice in seconds with 3 decimals.
pub fn status_line(row: &StatusRow) -> String {
    format!(
        "{:.3},{:.0},{},{},{},{},{}",
        row.time_slice,
        row.bits_per_second,
        row.streams,
        row.completed,
        row.dropped,
        row.repeated,
        row.errors
    )
}

/// A finished connection as CSV. Result is Succeeded or the failure,
/// commas and control characters kept out of the field.
pub fn connection_line(r: &StreamResult, start: Instant) -> String {
    let elapsed = r.ended.saturating_duration_since(start).as_secs_f64();
    let (f, _) = frames(r);
    let result = match &r.status {
        Status::Completed | Status::Running => "Succeeded".to_owned(),
        Status::Failed(e) => super::escape(&e.to_string()).replace(',', ";"),
        other => format!("{other:?}"),
    };
    let id = r.connection_id.map_or_else(String::new, |c| c.to_string());
    format!(
        "{elapsed:.3},{},{},{:.0},{},{},{},{},{result},{id}",
        r.local,
        r.remote,
        bits_per_second(r),
        f.completed,
        f.dropped,
        f.repeated,
        f.error
    )
}

#[cfg(test)]
pub(crate) mod tests;
