//! `mediastream client`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mediastream_core::client::{ClientConfig, Direction};
use mediastream_core::pattern::FrameRecord;
use mediastream_core::server::StreamResult;
use mediastream_core::sys::{run_client, ClientObserver, ClientOptions, ClientStatus};

use super::{exit_for, random_token, settings, stop_flag, CliError, Exit, StatusClock};
use crate::args::ClientArgs;
use crate::report::jitter::JitterFile;
use crate::report::text::Text;
use crate::report::{json, Frames};
use crate::values;

const MAX_CONNECTIONS: usize = 10_000;

struct Observer {
    text: Text,
    jitter: Option<JitterFile>,
    jitter_error: Option<std::io::Error>,
    clock: StatusClock,
    start: Instant,
    /// Totals of earlier iterations, so status rows keep counting.
    base_bytes: u64,
    base_frames: Frames,
}

impl ClientObserver for Observer {
    fn on_record(&mut self, _connection: usize, record: FrameRecord) {
        if let (Some(file), None) = (&mut self.jitter, &self.jitter_error) {
            if let Err(e) = file.row(&record) {
                self.jitter_error = Some(e);
            }
        }
    }

    fn on_status(&mut self, s: &ClientStatus) {
        let frames = Frames {
            completed: self.base_frames.completed + s.frames_completed,
            dropped: self.base_frames.dropped + s.frames_dropped,
            repeated: self.base_frames.repeated + s.frames_repeated,
            error: self.base_frames.error + s.frames_error,
            ..Frames::default()
        };
        let bytes = self.base_bytes + s.bytes_received + s.bytes_sent;
        if let Some(row) = self
            .clock
            .tick(Instant::now(), self.start, s.running, bytes, frames)
        {
            self.text.status(&row);
        }
    }

    fn on_finished(&mut self, _connection: usize, result: &StreamResult) {
        self.text.stream(result);
    }
}

fn direction(value: &str) -> Result<Direction, CliError> {
    match value {
        "recv" | "receive" => Ok(Direction::Receive),
        "send" => Ok(Direction::Send),
        other => Err(CliError::Usage(format!(
            "--direction '{other}' is not a direction: use recv or send"
        ))),
    }
}

pub fn run(args: ClientArgs) -> Result<Exit, CliError> {
    let direction = direction(&args.direction)?;
    let target = values::target(&args.target, args.port)
        .map_err(|e| CliError::Usage(format!("--target {e}")))?;
    let bind = match &args.bind {
        Some(b) => {
            Some(values::listen(b, 0).map_err(|e| CliError::Usage(format!("--bind {e}")))?[0])
        }
        None => None,
    };
    let stream = settings(
        args.bits_per_second,
        args.frame_rate,
        args.stream_length,
        args.datagram_size,
        args.buffer_depth,
    )?;
    super::check_connections(args.connections, MAX_CONNECTIONS)?;
    if args.iterations == 0 {
        return Err(CliError::Usage(
            "--iterations 0 is out of range: accepted 1 or more".into(),
        ));
    }
    if args.jitter_file.is_some() && (args.connections != 1 || direction == Direction::Send) {
        return Err(CliError::Usage(
            "--jitter-file records the frames this end receives: it needs --connections 1 and --direction recv".into(),
        ));
    }
    let config = ClientConfig {
        direction,
        compat: args.compat,
        record_frames: args.jitter_file.is_some(),
        ..ClientConfig::new(stream, random_token())
    };
    config.plan().map_err(|e| CliError::Usage(e.to_string()))?;
    let stop = stop_flag();
    let start = Instant::now();
    let json_to_stdout = args.json.as_deref() == Some("-");
    let mut observer = Observer {
        text: Text::new(json_to_stdout, start),
        jitter: args
            .jitter_file
            .as_deref()
            .map(JitterFile::create)
            .transpose()?,
        jitter_error: None,
        clock: StatusClock::new(args.status_interval, start),
        start,
        base_bytes: 0,
        base_frames: Frames::default(),
    };
    observer.text.line(&format!(
        "mediastream client: {} bit/s, {} frames/s, {} s, {}-byte datagrams, buffer {} ms -> {target} ({}, {}), {} connection(s) x {} iteration(s)",
        stream.bits_per_second / 8 * 8,
        stream.frame_rate,
        stream.stream_length_secs,
        stream.datagram_size,
        stream.buffer_depth_ms,
        if args.compat { "ctsTraffic compat" } else { "v1" },
        if direction == Direction::Send { "send" } else { "recv" },
        args.connections,
        args.iterations,
    ));
    let options = ClientOptions {
        target,
        bind,
        connections: args.connections,
        socket_buffer: args.socket_buffer,
        stop: Some(stop.clone()),
        time_limit: args.time_limit.map(|s| Duration::from_secs(s.into())),
        status_interval: observer.clock.interval(),
        spin: super::spin(args.spin_us)?,
    };
    let mut results = Vec::new();
    for _ in 0..args.iterations {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let batch = run_client(args.backend, &options, &config, &mut observer)?;
        observer.base_bytes += batch
            .iter()
            .map(|r| r.stats.bytes_received + r.stats.bytes_sent)
            .sum::<u64>();
        let f = super::frames_of(&batch);
        observer.base_frames.completed += f.completed;
        observer.base_frames.dropped += f.dropped;
        observer.base_frames.repeated += f.repeated;
        observer.base_frames.error += f.error;
        results.extend(batch);
    }
    let interrupted = stop.load(Ordering::SeqCst);
    observer.text.summary(&results);
    if let Some(file) = observer.jitter.take() {
        file.finish()?;
    }
    if let Some(e) = observer.jitter_error {
        return Err(CliError::Runtime(format!("--jitter-file: {e}")));
    }
    if let Some(target) = &args.json {
        json::write(target, &json::document("client", &results, interrupted))?;
    }
    Ok(exit_for(&results, interrupted))
}
