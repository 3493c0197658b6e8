//! `mediastream loopback`: a server and a client in one process on
//! 127.0.0.1, both directions at once, then the results table.

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use mediastream_core::client::{random_token, ClientConfig, Direction};
use mediastream_core::server::{
    Admission, ConnectionManager, PatternFactory, Server, ServerConfig, StreamResult,
};
use mediastream_core::sys::{run_client, start_server, ClientOptions, ServerOptions};

use super::{exit_for, frames_of, settings, stop_flag, CliError, Exit, StatusClock};
use crate::args::LoopbackArgs;
use crate::report::json;
use crate::report::text::Text;

pub fn run(args: LoopbackArgs) -> Result<Exit, CliError> {
    let stream = settings(
        args.bits_per_second,
        args.frame_rate,
        args.stream_length,
        args.datagram_size,
        args.buffer_depth,
    )?;
    super::check_connections(args.connections, 1000)?;
    if let Some(target) = &args.json {
        json::check("--json", target)?;
    }
    let stop = stop_flag();
    let start = Instant::now();
    let mut text = Text::new(args.json.as_deref() == Some("-"), start);
    let (tx, finished) = mpsc::channel::<StreamResult>();
    let spread = Duration::from_millis(args.frame_spread.into());
    let factory = PatternFactory {
        spread,
        timebase: mediastream_core::sys::host_timebase(),
        ..PatternFactory::default()
    };
    let key = super::key_file(args.key_file.as_deref())?;
    let config = ServerConfig {
        key: key.clone(),
        // Only this process talks to it.
        admission: Admission::unlimited(),
        ..ServerConfig::default()
    };
    let server = Server::with_factory(config, factory)
        .map_err(super::usage_of)?
        .on_finished(move |r| {
            let _ = tx.send(r.clone());
        });
    let mut options = ServerOptions::new(vec!["127.0.0.1:0"
        .parse()
        .map_err(|_| CliError::Runtime("address".into()))?]);
    options.spin = super::spin(args.spin_us)?;
    let handle = start_server(args.backend, Arc::new(server), &options)?;
    let target = handle.local_addrs()[0];
    text.line(&format!(
        "mediastream loopback: {} bit/s, {} frames/s, {} s, {}-byte datagrams, buffer {} ms, {} stream(s) each way via {target}",
        stream.bits_per_second / 8 * 8,
        stream.frame_rate,
        stream.stream_length_secs,
        stream.datagram_size,
        stream.buffer_depth_ms,
        args.connections
    ));
    let run = |direction: Direction| {
        let spin = options.spin;
        let mut options = ClientOptions::new(target);
        options.connections = args.connections;
        options.stop = Some(stop.clone());
        // Generous: the stream, the buffer, the linger, and slack.
        options.time_limit = Some(Duration::from_secs(
            u64::from(stream.stream_length_secs) * 2 + 30,
        ));
        options.spin = spin;
        options.key = key.clone();
        let config = ClientConfig {
            direction,
            spread,
            timebase: mediastream_core::sys::host_timebase(),
            timeline: true,
            ..ClientConfig::new(stream, random_token())
        };
        let backend = args.backend;
        std::thread::spawn(move || run_client(backend, &options, &config, &mut ()))
    };
    let receiving = run(Direction::Receive);
    let sending = run(Direction::Send);
    let mut clock = StatusClock::new(args.status_interval, start);
    let mut server_results = Vec::new();
    while !(receiving.is_finished() && sending.is_finished()) {
        if let Ok(r) = finished.recv_timeout(Duration::from_millis(50)) {
            server_results.push(r);
        }
        let t = handle.traffic();
        let streams = handle.server().manager().len();
        if let Some(row) = clock.tick(
            Instant::now(),
            start,
            streams,
            t.bytes_sent,
            frames_of(&server_results),
        ) {
            text.status(&row);
        }
    }
    let join = |h: std::thread::JoinHandle<std::io::Result<Vec<StreamResult>>>| {
        h.join()
            .map_err(|_| CliError::Runtime("a client thread panicked".into()))?
            .map_err(CliError::from)
    };
    let mut clients = join(receiving)?;
    clients.extend(join(sending)?);
    // Give the server a moment to report its side, then stop it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server_results.len() < clients.len() && Instant::now() < deadline {
        if let Ok(r) = finished.recv_timeout(Duration::from_millis(50)) {
            server_results.push(r);
        }
    }
    handle.stop()?;
    server_results.extend(finished.try_iter());
    for r in &clients {
        text.stream(r);
    }
    let rows: Vec<_> = clients
        .iter()
        .map(|c| {
            let peer = server_results
                .iter()
                .find(|s| s.connection_id.is_some() && s.connection_id == c.connection_id);
            (c.clone(), peer.cloned())
        })
        .collect();
    text.table(&rows);
    text.summary(&clients);
    let interrupted = stop.load(Ordering::SeqCst);
    if let Some(target) = &args.json {
        json::write(target, &json::document("loopback", &clients, interrupted))?;
    }
    let server_failed = rows
        .iter()
        .any(|(_, s)| s.as_ref().is_some_and(|s| !s.succeeded()));
    Ok(if server_failed {
        Exit::StreamsFailed
    } else {
        exit_for(&clients, interrupted)
    })
}
