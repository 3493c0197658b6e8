//! `mediastream loopback`: a server and a client in one process on
//! 127.0.0.1, both directions at once, then the results table. The
//! server is wired and watched as `mediastream server` does it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mediastream_core::auth::AccessKey;
use mediastream_core::client::{random_token, ClientConfig, Direction};
use mediastream_core::pattern::model::FrameSizes;
use mediastream_core::server::{Admission, PatternFactory, ServerConfig, StreamResult};
use mediastream_core::settings::StreamSettings;
use mediastream_core::sys::{run_client, ClientOptions, ServerOptions};

use super::server::{build, Served, Watch};
use super::{exit_for, settings, stop_flag, CliError, Exit, StatusClock};
use crate::args::LoopbackArgs;
use crate::report::json;
use crate::report::live::{self, JsonStream, Live};
use crate::report::text::Text;
use crate::sla::Sla;

/// What the checked arguments decide.
struct Checked {
    stream: StreamSettings,
    frame_sizes: Option<FrameSizes>,
    key: Option<AccessKey>,
    spin: Duration,
    /// `--json-stream`, opened.
    json_stream: Option<JsonStream>,
    sla: Sla,
}

/// Every argument checked, before any socket is opened.
fn check(args: &LoopbackArgs) -> Result<Checked, CliError> {
    let (stream, frame_sizes) = media_stream(args)?;
    super::check_connections(args.connections, 1000)?;
    if let Some(target) = &args.json {
        json::check("--json", target)?;
    }
    let key = super::key_file(args.key_file.as_deref())?;
    let spin = super::spin(args.spin_us)?;
    let json_stream = JsonStream::of_args(args.json.as_deref(), args.json_stream.as_deref())?;
    let sla = Sla::check(&args.expect, args.emodel.as_deref())?;
    Ok(Checked {
        stream,
        frame_sizes,
        key,
        spin,
        json_stream,
        sla,
    })
}

/// The stream and its frame sizes: `--profile`'s, or the options'.
fn media_stream(args: &LoopbackArgs) -> Result<(StreamSettings, Option<FrameSizes>), CliError> {
    let (len, size) = (args.stream_length, args.datagram_size);
    let profile = match &args.profile {
        Some(name) => crate::media::profiles(std::slice::from_ref(name))?,
        None => Vec::new(),
    };
    let stream = match profile.as_slice() {
        [] => {
            let sizes = args.frame_sizes.as_deref().map(crate::media::frame_sizes).transpose()?;
            let (bps, fps) = match &sizes {
                Some(FrameSizes::Trace(t)) => {
                    let fps = args.frame_rate.unwrap_or_else(|| t.frame_rate());
                    let own = (!t.scale).then(|| t.bits_per_second(fps));
                    (args.bits_per_second.or(own).unwrap_or(100_000_000), fps)
                }
                _ => (args.bits_per_second.unwrap_or(100_000_000), args.frame_rate.unwrap_or(60)),
            };
            let s = settings(bps, fps, len, size, args.buffer_depth)?;
            (s, sizes)
        }
        [p] if args.frame_sizes.is_none()
            && args.bits_per_second.is_none()
            && args.frame_rate.is_none() =>
        {
            let buffer = args.buffer_depth.or(Some(p.buffer_depth_ms));
            let s = settings(p.bits_per_second, p.frame_rate, len, size, buffer)?;
            (s, Some(p.frame_sizes.clone()))
        }
        [_] => {
            return Err(CliError::Usage(
                "--profile sets the rate, frame rate and frame sizes: drop --bits-per-second, --frame-rate and --frame-sizes".into(),
            ))
        }
        _ => {
            return Err(CliError::Usage(
                "--profile call runs two streams: loopback runs one kind (voice, 720p30, ...)".into(),
            ))
        }
    };
    if let Some(sizes) = &stream.1 {
        let plan = stream.0.plan().map_err(super::usage_of)?;
        sizes
            .resolve(&plan)
            .map_err(|e| CliError::Usage(e.to_string()))?;
    }
    Ok(stream)
}

/// A client stream's thread, and its results.
type ClientThread = JoinHandle<std::io::Result<Vec<StreamResult>>>;

// Library option types are built with default() and assigned field by
// field (they are becoming #[non_exhaustive]).
#[allow(clippy::field_reassign_with_default)]
pub fn run(args: LoopbackArgs) -> Result<Exit, CliError> {
    let mut checked = check(&args)?;
    let stop = stop_flag();
    let start = Instant::now();
    let on_stdout = [&args.json, &args.json_stream].map(Option::as_deref);
    let mut text = Text::new(on_stdout.contains(&Some("-")), start);
    text.set_requested(requested(&args));
    let spread = Duration::from_millis(args.frame_spread.into());
    let mut factory = PatternFactory::default();
    factory.spread = spread;
    factory.timebase = mediastream_core::sys::host_timebase();
    if let Some(FrameSizes::Trace(t)) = &checked.frame_sizes {
        factory.trace = Some(Arc::new(t.clone()));
    }
    let mut config = ServerConfig::default();
    config.key = checked.key.clone();
    // Only this process talks to it.
    config.admission = Admission::unlimited();
    let built = build(config, factory)?;
    let host: IpAddr = if args.ipv6 {
        Ipv6Addr::LOCALHOST.into()
    } else {
        Ipv4Addr::LOCALHOST.into()
    };
    let mut options = ServerOptions::new([SocketAddr::new(host, 0)]);
    options.spin = checked.spin;
    options.marking = requested(&args).marking;
    let served = built.start(args.backend, &options)?;
    let mut server_side = crate::report::Finished::default();
    let target = served.handle.local_addrs()[0];
    let stream = checked.stream;
    text.line(&format!(
        "mediastream loopback: {} bit/s, {} frames/s, {} s, {}-byte datagrams, buffer {} ms, {} stream(s) each way via {target}",
        stream.bits_per_second / 8 * 8,
        stream.frame_rate,
        stream.stream_length_secs,
        stream.datagram_size,
        stream.buffer_depth_ms,
        args.connections
    ));
    let client = |direction| spawn_client(&args, &checked, &stop, target, direction);
    let (receiving, sending) = (client(Direction::Receive), client(Direction::Send));
    let clock = StatusClock::new(args.status_interval, start);
    let mut live = Live::new("loopback", clock, start, checked.json_stream.take());
    let watch = &Watch::LOOPBACK;
    let mut server_results = served.watch(&mut text, &mut live, watch, &mut server_side, |_| {
        receiving.is_finished() && sending.is_finished()
    });
    let mut clients = join(receiving)?;
    clients.extend(join(sending)?);
    // Give the server a moment to report its side, then stop it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let Served {
        handle, finished, ..
    } = served;
    while server_results.len() < clients.len() && Instant::now() < deadline {
        if let Ok(r) = finished.recv_timeout(Duration::from_millis(50)) {
            server_results.push(r);
        }
    }
    let bytes_sent = handle.traffic().bytes_sent;
    handle.stop()?;
    server_results.extend(finished.try_iter());
    settle(&mut live, &clients);
    live.last(&mut text, Instant::now(), bytes_sent);
    report(
        &args,
        &checked.sla,
        &mut text,
        live,
        &clients,
        &server_results,
        &stop,
    )
}

/// The clients' streams settle the live counts: the intervals then add
/// up to the document's totals.
fn settle(live: &mut Live, clients: &[StreamResult]) {
    for r in clients {
        let (key, about, counts) = live::own_result(r);
        live.tracker.settle(&key, || about, counts);
    }
}

/// One direction's streams on a thread of their own.
fn spawn_client(
    args: &LoopbackArgs,
    checked: &Checked,
    stop: &Arc<AtomicBool>,
    target: SocketAddr,
    direction: Direction,
) -> ClientThread {
    let stream = checked.stream;
    let mut options = ClientOptions::new(target);
    options.connections = args.connections;
    options.stop = Some(stop.clone());
    // Generous: the stream, the buffer, the linger, and slack.
    options.time_limit = Some(Duration::from_secs(
        u64::from(stream.stream_length_secs) * 2 + 30,
    ));
    options.spin = checked.spin;
    options.key = checked.key.clone();
    options.marking = requested(args).marking;
    let mut config = ClientConfig::new(stream, random_token());
    config.direction = direction;
    config.spread = Duration::from_millis(args.frame_spread.into());
    config.timebase = mediastream_core::sys::host_timebase();
    config.timeline = true;
    config.frame_sizes = checked.frame_sizes.clone();
    let backend = args.backend;
    std::thread::spawn(move || run_client(backend, &options, &config, &mut ()))
}

fn join(thread: ClientThread) -> Result<Vec<StreamResult>, CliError> {
    thread
        .join()
        .map_err(|_| CliError::Runtime("a client thread panicked".into()))?
        .map_err(CliError::from)
}

/// The clients' streams, each beside the server's view of it; the exit
/// code counts a failure at either end.
fn report(
    args: &LoopbackArgs,
    sla: &Sla,
    text: &mut Text,
    live: Live,
    clients: &[StreamResult],
    server_results: &[StreamResult],
    stop: &AtomicBool,
) -> Result<Exit, CliError> {
    for r in clients {
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
    let finished = crate::report::Finished::of(clients);
    text.summary(&finished);
    let interrupted = stop.load(Ordering::SeqCst);
    let doc = json::document("loopback", clients, interrupted, &requested(args));
    let (doc, expectations_met) = sla.judge(&doc, text)?;
    if let Some(target) = &args.json {
        json::write(target, &doc)?;
    }
    live.finish(&doc)?;
    let server_failed = rows
        .iter()
        .any(|(_, s)| s.as_ref().is_some_and(|s| !s.succeeded()));
    Ok(if server_failed || !expectations_met {
        Exit::StreamsFailed
    } else {
        exit_for(&finished, interrupted)
    })
}

/// Both ends set `--dscp` / `--ecn`: every stream's sender is known.
fn requested(args: &LoopbackArgs) -> crate::report::Requested {
    crate::report::Requested {
        marking: mediastream_core::marking::Marking::new(args.dscp, args.ecn),
        senders: true,
        receivers: true,
    }
}
