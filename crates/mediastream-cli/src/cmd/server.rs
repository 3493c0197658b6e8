//! `mediastream server`.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediastream_core::server::{
    Admission, Cidr, ConnectionManager, PatternFactory, Server, ServerConfig, ServerStats,
    StreamResult,
};
use mediastream_core::settings::Limits;
use mediastream_core::sys::{start_server, ServerOptions};

use super::{exit_for, frames_of, settings, stop_flag, CliError, Exit, Outcome, StatusClock};
use crate::args::ServerArgs;
use crate::report::json;
use crate::report::text::Text;
use crate::values;

/// The stream plain START gets: all three options, or none.
fn compat_settings(
    args: &ServerArgs,
) -> Result<Option<mediastream_core::settings::StreamSettings>, CliError> {
    match (args.bits_per_second, args.frame_rate, args.stream_length) {
        (Some(bps), Some(fps), Some(len)) => {
            Ok(Some(settings(bps, fps, len, args.datagram_size, None)?))
        }
        (None, None, None) => Ok(None),
        (bps, fps, len) => {
            let missing: Vec<&str> = [
                (bps.is_none(), "--bits-per-second"),
                (fps.is_none(), "--frame-rate"),
                (len.is_none(), "--stream-length"),
            ]
            .iter()
            .filter(|(m, _)| *m)
            .map(|(_, name)| *name)
            .collect();
            Err(CliError::Usage(format!(
                "the stream for plain ctsTraffic START needs --bits-per-second, --frame-rate and --stream-length together; missing {}",
                missing.join(", ")
            )))
        }
    }
}

/// Who may use plain START: --compat-allow, or loopback.
fn compat_allow_of(args: &ServerArgs, compat: bool) -> Result<Vec<Cidr>, CliError> {
    if args.compat_allow.is_empty() {
        return Ok(Cidr::loopback());
    }
    if !compat {
        return Err(CliError::Usage(
            "--compat-allow says who may use plain ctsTraffic START, which is served only with --bits-per-second, --frame-rate and --stream-length: give those or drop --compat-allow".into(),
        ));
    }
    args.compat_allow
        .iter()
        .map(|c| {
            c.parse()
                .map_err(|e: String| CliError::Usage(format!("--compat-allow {e}")))
        })
        .collect()
}

/// The per-stream limits and the admission caps from the options.
fn admission_of(args: &ServerArgs) -> Result<(Limits, Admission), CliError> {
    let range = |name: &str, value: u64, min: u64, max: u64, unit: &str| {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(CliError::Usage(format!(
                "--{name} {value} is out of range: accepted {min} to {max}{unit}"
            )))
        }
    };
    range(
        "max-datagram-size",
        args.max_datagram_size.into(),
        27,
        65_507,
        " bytes",
    )?;
    range("max-consent", args.max_consent.into(), 20, 600_000, " ms")?;
    range(
        "max-buffer-depth",
        args.max_buffer_depth.into(),
        1,
        600_000,
        " ms",
    )?;
    range(
        "max-buffered-frames",
        args.max_buffered_frames,
        1,
        1 << 19,
        " frames",
    )?;
    let limits = Limits {
        max_bits_per_second: args.max_rate,
        max_stream_length_secs: args.max_length,
        max_buffer_depth_ms: args.max_buffer_depth,
        max_buffered_frames: args.max_buffered_frames,
        max_datagram_size: args.max_datagram_size,
        ..Limits::default()
    };
    let admission = Admission {
        max_consent_timeout: Duration::from_millis(args.max_consent.into()),
        max_total_bits_per_second: args.max_total_rate,
        max_buffer_bytes: args.max_buffer_bytes,
        receive_memory: args.receive_memory,
    };
    Ok((limits, admission))
}

/// The server's request counters on one line, the non-zero ones, with
/// the names the JSON's `server` object uses.
fn requests_line(counters: &ServerStats) -> String {
    let shown: Vec<String> = counters
        .fields()
        .into_iter()
        .filter(|(_, v)| *v > 0)
        .map(|(name, v)| format!("{name} {v}"))
        .collect();
    format!("server counters: {}", shown.join(", "))
}
/// The most streams per direction `--max-streams` accepts (as `--help`
/// says): far more than a host can serve, and start costs nothing per
/// stream, so the bound only catches typing mistakes.
pub const MAX_STREAMS: usize = 1_000_000;
/// The most worker shards `--shards` accepts (as `--help` says): each is
/// a thread with its own sockets.
pub const MAX_SHARDS: usize = 256;

pub fn run(args: ServerArgs) -> Result<Exit, CliError> {
    let outcome = serve(args)?;
    // Ctrl-C is how a server is stopped: not a failure by itself (streams
    // it cut short did fail, and count).
    Ok(exit_for(&outcome.results, false))
}

/// Runs the server until --server-exit-limit, --time-limit, Ctrl-C or
/// SIGTERM; the finished streams.
pub fn serve(args: ServerArgs) -> Result<Outcome, CliError> {
    let mut listen = Vec::new();
    let specs = if args.listen.is_empty() {
        vec!["*".to_owned()]
    } else {
        args.listen.clone()
    };
    for spec in &specs {
        listen.extend(
            values::listen(spec, args.port)
                .map_err(|e| CliError::Usage(format!("--listen {e}")))?,
        );
    }
    if !(1..=64).contains(&args.pre_post_recvs) {
        return Err(CliError::Usage(format!(
            "--pre-post-recvs {} is out of range: accepted 1 to 64",
            args.pre_post_recvs
        )));
    }
    if !(1..=MAX_STREAMS).contains(&args.max_streams) {
        return Err(CliError::Usage(format!(
            "--max-streams {} is out of range: accepted 1 to {MAX_STREAMS}",
            args.max_streams
        )));
    }
    if args.shards > MAX_SHARDS {
        return Err(CliError::Usage(format!(
            "--shards {} is out of range: accepted 0 (one per core) to {MAX_SHARDS}",
            args.shards
        )));
    }
    let compat = compat_settings(&args)?;
    if args.no_compat && compat.is_some() {
        return Err(CliError::Usage(
            "--no-compat refuses plain START, so --bits-per-second, --frame-rate and --stream-length have nothing to serve: drop one or the other".into(),
        ));
    }
    if !(1..=100_000).contains(&args.source_rate) {
        return Err(CliError::Usage(format!(
            "--source-rate {} is out of range: accepted 1 to 100000 requests/s",
            args.source_rate
        )));
    }
    if args.source_streams == 0 {
        return Err(CliError::Usage(
            "--source-streams 0 is out of range: accepted 1 or more".into(),
        ));
    }
    let (limits, admission) = admission_of(&args)?;
    let compat_allow = compat_allow_of(&args, compat.is_some())?;
    let key = super::key_file(args.key_file.as_deref())?;
    let config = ServerConfig {
        key,
        compat_settings: compat,
        compat_allow: compat_allow.clone(),
        limits,
        admission,
        max_streams: args.max_streams,
        exit_after: args.server_exit_limit,
        sources: mediastream_core::server::SourceLimits {
            requests_per_second: f64::from(args.source_rate),
            burst: f64::from(args.source_rate) * 10.0,
            streams_per_source: args.source_streams,
            ..Default::default()
        },
        ..ServerConfig::default()
    };
    if let Some(target) = &args.json {
        json::check("--json", target)?;
    }
    let (tx, finished) = mpsc::channel::<StreamResult>();
    let factory = PatternFactory {
        spread: Duration::from_millis(args.frame_spread.into()),
        timebase: mediastream_core::sys::host_timebase(),
        timeline: args.timeline,
        ..PatternFactory::default()
    };
    let server = Server::with_factory(config, factory)
        .map_err(super::usage_of)?
        .on_finished(move |r| {
            let _ = tx.send(r.clone());
        });
    let mut options = ServerOptions::new(listen);
    options.shards = args.shards;
    options.socket_buffer = args.socket_buffer;
    options.prepost = args.pre_post_recvs;
    options.spin = super::spin(args.spin_us)?;
    let stop = stop_flag();
    let start = Instant::now();
    let files = crate::report::ctsfiles::open(
        [&args.status_file, &args.connection_file, &args.error_file],
        args.utf16,
        start,
    )?;
    let handle = start_server(args.backend, Arc::new(server), &options)?;
    let mut text = Text::new(args.json.as_deref() == Some("-"), start);
    text.attach(files);
    text.use_table(args.status_table);
    super::cts::console::server(
        &mut text,
        &args,
        compat.as_ref(),
        handle.local_addrs(),
        handle.shards(),
    );
    let b = handle.buffers();
    text.line(&format!(
        "mediastream server: listening on {} with {} shard(s); socket buffers {} B asked, {} B receive / {} B send granted",
        handle.local_addrs().iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
        handle.shards(),
        b.requested,
        b.receive,
        b.send
    ));
    match compat {
        Some(s) => {
            text.line(&format!(
                "plain ctsTraffic START gets {} bit/s, {} frames/s, {} s; v1 clients choose their own",
                s.bits_per_second / 8 * 8,
                s.frame_rate,
                s.stream_length_secs
            ));
            let allowed: Vec<String> = compat_allow.iter().map(|c| c.to_string()).collect();
            text.warn(&format!(
                "warning: plain START has no return-path check: anyone who can spoof an address in {} can make this server send {} bit/s for {} s to it; allow only networks you trust (--compat-allow)",
                allowed.join(", "),
                s.bits_per_second / 8 * 8,
                s.stream_length_secs
            ));
        }
        None => text.line(
            "plain ctsTraffic START is not served (give --bits-per-second, --frame-rate and --stream-length to serve it); v1 clients choose their own",
        ),
    }
    let mut clock = StatusClock::new(args.status_interval, start);
    let mut results = Vec::new();
    let mut shown = ServerStats::default();
    let time_limit = args.time_limit.map(|ms| Duration::from_millis(ms.into()));
    loop {
        match finished.recv_timeout(Duration::from_millis(50)) {
            Ok(r) => {
                text.stream(&r);
                results.push(r);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let traffic = handle.traffic();
        let bytes = traffic.bytes_sent + traffic.bytes_received;
        let streams = handle.server().manager().len();
        if let Some(row) = clock.tick(Instant::now(), start, streams, bytes, frames_of(&results)) {
            text.status(&row);
            let counters = handle.server().stats();
            if counters != shown {
                text.line(&requests_line(&counters));
                shown = counters;
            }
        }
        if stop.load(std::sync::atomic::Ordering::SeqCst) || handle.is_finished() {
            break;
        }
        if time_limit.is_some_and(|limit| start.elapsed() >= limit) {
            text.line(&format!(
                "time limit of {} ms reached: stopping",
                time_limit.unwrap_or_default().as_millis()
            ));
            break;
        }
    }
    // Streams still running are aborted and reported through the same
    // channel as every other finished stream.
    let served = handle.server().clone();
    handle.stop()?;
    for r in finished.try_iter() {
        text.stream(&r);
        results.push(r);
    }
    // Stopped by SIGINT or SIGTERM rather than by --server-exit-limit.
    let interrupted = stop.load(std::sync::atomic::Ordering::SeqCst);
    text.summary(&results);
    text.finish_files()?;
    let counters = served.stats();
    text.line(&requests_line(&counters));
    if let Some(target) = &args.json {
        let mut doc = json::document("server", &results, interrupted);
        doc.server = Some(json::ServerCounters(counters));
        json::write(target, &doc)?;
    }
    Ok(Outcome {
        results,
        interrupted,
    })
}
