//! `mediastream server`.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediastream_core::server::{
    ConnectionManager, PatternFactory, Server, ServerConfig, StreamResult,
};
use mediastream_core::sys::{start_server, ServerOptions};

use super::{exit_for, frames_of, settings, stop_flag, CliError, Exit, StatusClock};
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

pub fn run(args: ServerArgs) -> Result<Exit, CliError> {
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
    if args.max_streams == 0 {
        return Err(CliError::Usage(
            "--max-streams 0 is out of range: accepted 1 or more".into(),
        ));
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
    let key = super::key_file(args.key_file.as_deref())?;
    let config = ServerConfig {
        key,
        compat_settings: compat,
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
    let options = ServerOptions {
        listen,
        shards: args.shards,
        socket_buffer: args.socket_buffer,
        prepost: args.pre_post_recvs,
        spin: super::spin(args.spin_us)?,
    };
    let stop = stop_flag();
    let start = Instant::now();
    let handle = start_server(args.backend, Arc::new(server), &options)?;
    let mut text = Text::new(args.json.as_deref() == Some("-"), start);
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
        Some(s) => text.line(&format!(
            "plain ctsTraffic START gets {} bit/s, {} frames/s, {} s; v1 clients choose their own",
            s.bits_per_second / 8 * 8,
            s.frame_rate,
            s.stream_length_secs
        )),
        None => text.line(
            "plain ctsTraffic START is not served (give --bits-per-second, --frame-rate and --stream-length to serve it); v1 clients choose their own",
        ),
    }
    let mut clock = StatusClock::new(args.status_interval, start);
    let mut results = Vec::new();
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
        }
        if stop.load(std::sync::atomic::Ordering::SeqCst) || handle.is_finished() {
            break;
        }
    }
    // Streams still running are aborted and reported through the same
    // channel as every other finished stream.
    handle.stop()?;
    for r in finished.try_iter() {
        text.stream(&r);
        results.push(r);
    }
    text.summary(&results);
    if let Some(target) = &args.json {
        json::write(target, &json::document("server", &results, false))?;
    }
    Ok(exit_for(&results, false))
}
