//! `mediastream client`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use mediastream_core::client::{random_token, ClientConfig, Direction};
use mediastream_core::pattern::FrameRecord;
use mediastream_core::server::StreamResult;
use mediastream_core::sys::{run_client, ClientObserver, ClientOptions, ClientStatus};

use super::{exit_for, settings, stop_flag, CliError, Exit, Outcome, StatusClock};
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

/// The observer all targets share, and each target's latest totals.
struct Shared {
    observer: Observer,
    latest: Vec<ClientStatus>,
}

/// One target's way into the shared observer: status rows sum every
/// target's latest totals.
struct Proxy<'a> {
    index: usize,
    shared: &'a Mutex<Shared>,
}

impl Proxy<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClientObserver for Proxy<'_> {
    fn on_record(&mut self, connection: usize, record: FrameRecord) {
        self.lock().observer.on_record(connection, record);
    }

    fn on_status(&mut self, status: &ClientStatus) {
        let mut shared = self.lock();
        shared.latest[self.index] = *status;
        let sum = ClientStatus::sum(&shared.latest, status.elapsed);
        shared.observer.on_status(&sum);
    }

    fn on_finished(&mut self, connection: usize, result: &StreamResult) {
        self.lock().observer.on_finished(connection, result);
    }
}

/// One round: every target's streams at once, one thread per target
/// (one target runs on this thread). Results in target order; the first
/// error, if any, once every target is done.
fn run_round(
    backend: mediastream_core::sys::Backend,
    runs: &[(ClientOptions, ClientConfig)],
    shared: &Mutex<Shared>,
) -> Result<Vec<StreamResult>, CliError> {
    let one = |index: usize| {
        let (options, config) = &runs[index];
        let mut proxy = Proxy { index, shared };
        let outcome = run_client(backend, options, config, &mut proxy);
        if let Ok(results) = &outcome {
            proxy.lock().latest[index] = ClientStatus::of_results(results);
        }
        outcome
    };
    if runs.len() == 1 {
        return Ok(one(0)?);
    }
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..runs.len())
            .map(|i| scope.spawn(move || one(i)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut results = Vec::new();
    for ((options, _), outcome) in runs.iter().zip(outcomes) {
        match outcome {
            Ok(Ok(batch)) => results.extend(batch),
            Ok(Err(e)) => {
                return Err(CliError::Runtime(format!(
                    "--target {}: {e}",
                    options.target
                )))
            }
            Err(_) => {
                return Err(CliError::Runtime(format!(
                    "--target {}: the client thread panicked",
                    options.target
                )))
            }
        }
    }
    Ok(results)
}

fn direction(value: &str) -> Result<Direction, CliError> {
    value
        .parse()
        .map_err(|e| CliError::Usage(format!("--direction {e}")))
}

pub fn run(args: ClientArgs) -> Result<Exit, CliError> {
    let outcome = execute(args)?;
    Ok(exit_for(&outcome.results, outcome.interrupted))
}

/// Runs every iteration of the streams; the finished streams.
pub fn execute(args: ClientArgs) -> Result<Outcome, CliError> {
    let direction = direction(&args.direction)?;
    if args.target.is_empty() {
        return Err(CliError::Usage(
            "--target is required: the server, HOST[:PORT]; repeat it for several servers".into(),
        ));
    }
    let targets = args
        .target
        .iter()
        .map(|t| values::target(t, args.port).map_err(|e| CliError::Usage(format!("--target {e}"))))
        .collect::<Result<Vec<SocketAddr>, CliError>>()?;
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
    if args.connections * targets.len() > MAX_CONNECTIONS {
        return Err(CliError::Usage(format!(
            "--connections {} for each of {} --target is {} streams: accepted {MAX_CONNECTIONS} in all",
            args.connections,
            targets.len(),
            args.connections * targets.len()
        )));
    }
    if args.iterations == 0 {
        return Err(CliError::Usage(
            "--iterations 0 is out of range: accepted 1 or more".into(),
        ));
    }
    if args.jitter_file.is_some()
        && (args.connections != 1 || targets.len() != 1 || direction == Direction::Send)
    {
        return Err(CliError::Usage(
            "--jitter-file records the frames this end receives: it needs one --target, --connections 1 and --direction recv".into(),
        ));
    }
    if args.compat && args.key_file.is_some() {
        return Err(CliError::Usage(
            "--key-file keys the v1 extension, and --compat speaks plain ctsTraffic, which has no key: drop one or the other".into(),
        ));
    }
    let key = super::key_file(args.key_file.as_deref())?;
    let config = ClientConfig {
        direction,
        compat: args.compat,
        record_frames: args.jitter_file.is_some(),
        spread: Duration::from_millis(args.frame_spread.into()),
        timebase: mediastream_core::sys::host_timebase(),
        timeline: !args.no_timeline,
        ..ClientConfig::new(stream, random_token())
    };
    config.plan().map_err(|e| CliError::Usage(e.to_string()))?;
    // Every output file is checked (the jitter file created) before any
    // traffic: results that cannot be written are refused now, not lost
    // after the run.
    if let Some(target) = &args.json {
        json::check("--json", target)?;
    }
    if let Some(path) = &args.histogram_file {
        crate::report::output::check(
            "--histogram-file",
            path,
            crate::report::output::Write::InPlace,
        )?;
    }
    let jitter = match args.jitter_file.as_deref() {
        Some(path) => {
            crate::report::output::check(
                "--jitter-file",
                path,
                crate::report::output::Write::InPlace,
            )?;
            Some(JitterFile::create(path, args.utf16).map_err(|e| CliError::Usage(e.to_string()))?)
        }
        None => None,
    };
    let stop = stop_flag();
    let start = Instant::now();
    let files = crate::report::ctsfiles::open(
        [&args.status_file, &args.connection_file, &args.error_file],
        args.utf16,
        start,
    )?;
    let json_to_stdout = args.json.as_deref() == Some("-");
    let mut observer = Observer {
        text: Text::new(json_to_stdout, start),
        jitter,
        jitter_error: None,
        clock: StatusClock::new(args.status_interval, start),
        start,
        base_bytes: 0,
        base_frames: Frames::default(),
    };
    observer.text.attach(files);
    observer.text.use_table(args.status_table);
    super::cts::console::client(&mut observer.text, &args, &stream, &targets, bind);
    observer.text.line(&format!(
        "mediastream client: {} bit/s, {} frames/s, {} s, {}-byte datagrams, buffer {} ms -> {} ({}, {}), {} connection(s){} x {} iteration(s)",
        stream.bits_per_second / 8 * 8,
        stream.frame_rate,
        stream.stream_length_secs,
        stream.datagram_size,
        stream.buffer_depth_ms,
        targets.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        if args.compat { "ctsTraffic compat" } else { "v1" },
        direction,
        args.connections,
        if targets.len() > 1 { " per target" } else { "" },
        args.iterations,
    ));
    let mut options = ClientOptions::new(targets[0]);
    options.bind = bind;
    options.connections = args.connections;
    options.socket_buffer = args.socket_buffer;
    options.stop = Some(stop.clone());
    options.time_limit = args.time_limit.map(|ms| Duration::from_millis(ms.into()));
    options.status_interval = observer.clock.interval();
    options.spin = super::spin(args.spin_us)?;
    options.key = key;
    // Each target its own stream tokens; the first keeps the one above.
    let runs: Vec<(ClientOptions, ClientConfig)> = targets
        .iter()
        .enumerate()
        .map(|(i, &target)| {
            let token = if i == 0 { config.token } else { random_token() };
            (
                ClientOptions {
                    target,
                    ..options.clone()
                },
                ClientConfig { token, ..config },
            )
        })
        .collect();
    let shared = Mutex::new(Shared {
        observer,
        latest: vec![ClientStatus::default(); runs.len()],
    });
    let mut results = Vec::new();
    for _ in 0..args.iterations {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let batch = run_round(args.backend, &runs, &shared)?;
        let mut guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
        guard.latest.fill(ClientStatus::default());
        let observer = &mut guard.observer;
        observer.base_bytes += batch
            .iter()
            .map(|r| r.stats.bytes_received + r.stats.bytes_sent)
            .sum::<u64>();
        let f = super::frames_of(&batch);
        observer.base_frames.completed += f.completed;
        observer.base_frames.dropped += f.dropped;
        observer.base_frames.repeated += f.repeated;
        observer.base_frames.error += f.error;
        drop(guard);
        results.extend(batch);
    }
    let mut observer = shared
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .observer;
    let interrupted = stop.load(Ordering::SeqCst);
    observer.text.summary(&results);
    observer.text.finish_files()?;
    if let Some(file) = observer.jitter.take() {
        file.finish()?;
    }
    if let Some(path) = &args.histogram_file {
        crate::report::histogram::write(path, &results)
            .map_err(|e| CliError::Runtime(format!("--histogram-file {path}: {e}")))?;
    }
    if let Some(e) = observer.jitter_error {
        return Err(CliError::Runtime(format!("--jitter-file: {e}")));
    }
    if let Some(target) = &args.json {
        json::write(target, &json::document("client", &results, interrupted))?;
    }
    Ok(Outcome {
        results,
        interrupted,
    })
}
