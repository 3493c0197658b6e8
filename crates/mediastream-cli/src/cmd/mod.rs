//! The subcommands, and what they share.

pub mod client;
pub mod cts;
pub mod loopback;
pub mod merge;
pub mod plot;
pub mod relay;
pub mod server;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mediastream_core::settings::{SettingsError, StreamSettings, DEFAULT_BUFFER_DEPTH_MS};

use crate::report::text::{StatusRow, Text};
use crate::report::Frames;

/// How a command ended, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every stream succeeded.
    Success = 0,
    /// A stream failed or was cut short.
    StreamsFailed = 1,
    /// Bad arguments or settings.
    Usage = 2,
}

/// How a run ended: its finished streams, folded in, and whether Ctrl-C
/// or SIGTERM cut it short. (The streams themselves are written out
/// before the run returns: a server keeps them only for a JSON document.)
#[derive(Debug)]
pub struct Outcome {
    /// Every finished stream, folded in (the summary and exit status).
    pub finished: crate::report::Finished,
    pub interrupted: bool,
}

/// A command that could not run.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments: exit 2.
    Usage(String),
    /// Something failed at run time (a socket, a file): exit 1.
    Runtime(String),
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Runtime(e.to_string())
    }
}

/// The key of `--key-file FILE`, if given: the file's bytes, one trailing
/// newline removed, at least 16. Errors name the option (exit 2).
pub fn key_file(path: Option<&str>) -> Result<Option<mediastream_core::auth::AccessKey>, CliError> {
    let Some(path) = path else { return Ok(None) };
    mediastream_core::auth::AccessKey::from_file(std::path::Path::new(path))
        .map(Some)
        .map_err(|e| CliError::Usage(format!("--key-file {path}: {e}")))
}

/// Stream settings from options, validated; errors name the option.
pub fn settings(
    bits_per_second: u64,
    frame_rate: u32,
    stream_length: u32,
    datagram_size: u32,
    buffer_depth_ms: Option<u32>,
) -> Result<StreamSettings, CliError> {
    let mut s = StreamSettings::new(bits_per_second, frame_rate, stream_length);
    s.datagram_size = datagram_size;
    s.buffer_depth_ms = buffer_depth_ms.unwrap_or(DEFAULT_BUFFER_DEPTH_MS);
    s.plan().map_err(usage_of)?;
    Ok(s)
}

/// A measuring command's text output: on stderr when `--json` or
/// `--json-stream` (`json`) is stdout, as ctsTraffic's console table when
/// `table`, and copied to ctsTraffic's status, connection and error
/// files (`files`, in that order) when any is named: each checked and
/// created now, before any traffic (exit 2 when one cannot be).
pub fn text_output(
    files: [&Option<String>; 3],
    utf16: bool,
    json: [Option<&str>; 2],
    table: bool,
    start: Instant,
) -> Result<Text, CliError> {
    let files = crate::report::ctsfiles::open(files, utf16, start)?;
    let mut text = Text::new(json.contains(&Some("-")), start);
    text.attach(files);
    text.use_table(table);
    Ok(text)
}

/// Checks `--connections` against its range.
pub fn check_connections(n: usize, max: usize) -> Result<(), CliError> {
    if (1..=max).contains(&n) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "--connections {n} is out of range: accepted 1 to {max}"
        )))
    }
}

/// `--spin-us` as a duration, checked against its range.
pub fn spin(us: u64) -> Result<Duration, CliError> {
    if us > 2000 {
        return Err(CliError::Usage(format!(
            "--spin-us {us} is out of range: accepted 0 to 2000"
        )));
    }
    Ok(Duration::from_micros(us))
}

/// A settings error as the command line says it: options with dashes.
pub fn usage_of(e: SettingsError) -> CliError {
    let text = match &e {
        SettingsError::OutOfRange { .. } => format!("--{e}"),
        _ => e.to_string(),
    };
    CliError::Usage(text)
}

/// Set by Ctrl-C or SIGTERM. Installed once per process.
pub fn stop_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        if let Err(e) = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst)) {
            log::warn!("cannot catch Ctrl-C: {e}");
        }
        flag
    })
    .clone()
}

/// Turns cumulative counts into per-interval status rows.
#[derive(Debug)]
pub struct StatusClock {
    interval: Option<Duration>,
    next: Option<Instant>,
    last_at: Instant,
    last_bytes: u64,
    last_frames: Frames,
}

impl StatusClock {
    pub fn new(interval_ms: u64, start: Instant) -> Self {
        let interval = (interval_ms > 0).then(|| Duration::from_millis(interval_ms));
        Self {
            interval,
            next: interval.map(|i| start + i),
            last_at: start,
            last_bytes: 0,
            last_frames: Frames::default(),
        }
    }

    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// True when a row is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.next.is_some_and(|next| now >= next)
    }

    /// A row when the interval has passed: bits/s and frames since the
    /// last row; `bytes` and `frames` are totals so far.
    pub fn tick(
        &mut self,
        now: Instant,
        start: Instant,
        streams: usize,
        bytes: u64,
        frames: Frames,
    ) -> Option<StatusRow> {
        let (next, interval) = (self.next?, self.interval?);
        if now < next {
            return None;
        }
        self.next = Some(next + interval);
        Some(self.row(now, start, streams, bytes, frames))
    }

    /// The run's last row, for what happened since the previous one (the
    /// rows then add up to the run's totals); none when nothing did, or
    /// with no rows at all.
    pub fn last(
        &mut self,
        now: Instant,
        start: Instant,
        streams: usize,
        bytes: u64,
        frames: Frames,
    ) -> Option<StatusRow> {
        self.interval?;
        if bytes == self.last_bytes && frames == self.last_frames {
            return None;
        }
        Some(self.row(now, start, streams, bytes, frames))
    }

    fn row(
        &mut self,
        now: Instant,
        start: Instant,
        streams: usize,
        bytes: u64,
        frames: Frames,
    ) -> StatusRow {
        let secs = now
            .saturating_duration_since(self.last_at)
            .as_secs_f64()
            .max(1e-9);
        let row = StatusRow {
            time_slice: now.saturating_duration_since(start).as_secs_f64(),
            bits_per_second: bytes.saturating_sub(self.last_bytes) as f64 * 8.0 / secs,
            streams,
            completed: frames.completed.saturating_sub(self.last_frames.completed),
            dropped: frames.dropped.saturating_sub(self.last_frames.dropped),
            repeated: frames.repeated.saturating_sub(self.last_frames.repeated),
            errors: frames.error.saturating_sub(self.last_frames.error),
        };
        self.last_at = now;
        self.last_bytes = bytes;
        self.last_frames = frames;
        row
    }
}

/// The exit code for a finished run.
pub fn exit_for(finished: &crate::report::Finished, interrupted: bool) -> Exit {
    if interrupted || finished.unsucceeded > 0 {
        Exit::StreamsFailed
    } else {
        Exit::Success
    }
}
