//! `mediastream server`: arguments checked in [`check`], then wired here;
//! [`build`], [`Built::start`] and the status loop ([`status_loop`])
//! serve `loopback`'s server too.

mod check;
pub mod metrics;
mod status_loop;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediastream_core::server::{
    PatternFactory, Server, ServerConfig, ServerStats, ShardedConnectionManager, StreamResult,
};
use mediastream_core::settings::StreamSettings;
use mediastream_core::sys::{start_server, Backend, ServerHandle, ServerOptions};

use super::{exit_for, stop_flag, CliError, Exit, Outcome, StatusClock};
use crate::args::ServerArgs;
use crate::report::json;
use crate::report::live::{JsonStream, Live};
use crate::report::text::Text;
use crate::report::Finished;
use check::Checked;
pub use status_loop::Watch;

/// A server this process runs.
pub type Handle = ServerHandle<ShardedConnectionManager, PatternFactory>;

/// A server built, not yet started.
pub struct Built {
    server: Arc<Server>,
    finished: mpsc::Receiver<StreamResult>,
}

/// A server running, and the streams it finishes as they finish.
pub struct Served {
    pub handle: Handle,
    pub finished: mpsc::Receiver<StreamResult>,
    /// `--metrics-listen`: each finished stream is folded in here too.
    pub metrics: Option<Arc<metrics::Collected>>,
    /// Keep finished streams (for a JSON document, or the caller's
    /// table); otherwise [`Served::watch`] only folds each into its
    /// summary once its line is printed, so that memory tracks the live
    /// streams, not every stream ever served.
    pub keep_results: bool,
}

/// The server of `config` and `factory`: each stream it finishes will be
/// sent to [`Served::finished`]. An invalid plain START stream is a
/// usage error. Built apart from starting, so that a bad option fails
/// before any file is created and a file that cannot be created fails
/// before any socket is opened.
pub fn build(config: ServerConfig, factory: PatternFactory) -> Result<Built, CliError> {
    let (tx, finished) = mpsc::channel::<StreamResult>();
    let server = Server::with_factory(config, factory)
        .map_err(super::usage_of)?
        .on_finished(move |r| {
            let _ = tx.send(r.clone());
        });
    Ok(Built {
        server: Arc::new(server),
        finished,
    })
}

impl Built {
    /// Starts the server's workers on `backend`.
    pub fn start(self, backend: Backend, options: &ServerOptions) -> Result<Served, CliError> {
        Ok(Served {
            handle: start_server(backend, self.server, options)?,
            finished: self.finished,
            metrics: None,
            keep_results: true,
        })
    }
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

pub fn run(args: ServerArgs) -> Result<Exit, CliError> {
    let outcome = serve(args)?;
    // Ctrl-C is how a server is stopped: not a failure by itself (streams
    // it cut short did fail, and count).
    Ok(exit_for(&outcome.finished, false))
}

/// Runs the server until --server-exit-limit, --time-limit, Ctrl-C or
/// SIGTERM; the finished streams.
pub fn serve(args: ServerArgs) -> Result<Outcome, CliError> {
    let Checked {
        config,
        factory,
        options,
    } = check::check(&args)?;
    let metrics_at = args.metrics_listen.as_deref().map(metrics::parse_listen);
    let metrics_at = metrics_at.transpose()?;
    let (compat, compat_allow) = (config.compat_settings, config.compat_allow.clone());
    let built = build(config, factory)?;
    let stop = stop_flag();
    let start = Instant::now();
    let mut text = super::text_output(
        [&args.status_file, &args.connection_file, &args.error_file],
        args.utf16,
        [args.json.as_deref(), args.json_stream.as_deref()],
        args.status_table,
        start,
    )?;
    text.set_requested(requested(&args));
    let stream = JsonStream::of_args(args.json.as_deref(), args.json_stream.as_deref())?;
    let endpoint = metrics_at.map(metrics::Endpoint::bind).transpose()?;
    let mut served = built.start(args.backend, &options)?;
    let endpoint = metrics_endpoint(&mut text, endpoint, &mut served)?;
    let (local, shards) = (served.handle.local_addrs(), served.handle.shards());
    super::cts::console::server(&mut text, &args, compat.as_ref(), local, shards);
    announce(&mut text, &served.handle, compat, &compat_allow);
    let time_limit = args.time_limit.map(|ms| Duration::from_millis(ms.into()));
    let clock = StatusClock::new(args.status_interval, start);
    let mut live = Live::new("server", clock, start, stream);
    // Without a JSON document nothing reads a finished stream's receive
    // metrics after its line is printed: keeping them would make a
    // long-running server's memory grow with every stream it ever served
    // (several KiB each) instead of tracking the live ones.
    served.keep_results = args.json.is_some() || args.json_stream.is_some();
    let mut finished_streams = Finished::default();
    let watch = &Watch::SERVER;
    let mut results = served.watch(&mut text, &mut live, watch, &mut finished_streams, |text| {
        if stop.load(Ordering::SeqCst) || served.handle.is_finished() {
            return true;
        }
        time_up(text, time_limit, start)
    });
    // Streams still running are aborted and reported through the same
    // channel as every other finished stream.
    let Served {
        handle,
        finished,
        metrics,
        keep_results,
    } = served;
    let server = handle.server().clone();
    let traffic = handle.traffic();
    handle.stop()?;
    for r in finished.try_iter() {
        text.stream(&r);
        status_loop::finished_stream(&mut live, &r, false);
        let kept = keep_results.then_some(&mut results);
        status_loop::fold(r, metrics.as_deref(), &mut finished_streams, kept);
    }
    live.last(
        &mut text,
        Instant::now(),
        traffic.bytes_sent + traffic.bytes_received,
    );
    let interrupted = finish(
        &args,
        &mut text,
        live,
        (&results, &finished_streams),
        &server.stats(),
        &stop,
    )?;
    if let Some(endpoint) = endpoint {
        endpoint.stop();
    }
    Ok(Outcome {
        finished: finished_streams,
        interrupted,
    })
}

/// `--metrics-listen`: the endpoint, bound, now serving `served`; its
/// address said (first, so that a script finds it before the rest), with
/// a warning when it is not loopback.
fn metrics_endpoint(
    text: &mut Text,
    endpoint: Option<metrics::Endpoint>,
    served: &mut Served,
) -> Result<Option<metrics::Endpoint>, CliError> {
    let Some(mut endpoint) = endpoint else {
        return Ok(None);
    };
    let handle = &served.handle;
    endpoint.serve(handle.server().clone(), handle.traffic_probe())?;
    served.metrics = Some(endpoint.collected.clone());
    text.line(&format!(
        "mediastream server: metrics at http://{}/metrics",
        endpoint.local
    ));
    if endpoint.exposed() {
        text.warn(&format!(
            "warning: --metrics-listen {} is not loopback: the metrics are unauthenticated, anyone who can reach it can read them",
            endpoint.local
        ));
    }
    Ok(Some(endpoint))
}

/// Whether `--time-limit` has passed: if so, says so.
fn time_up(text: &mut Text, limit: Option<Duration>, start: Instant) -> bool {
    let Some(limit) = limit.filter(|limit| start.elapsed() >= *limit) else {
        return false;
    };
    text.line(&format!(
        "time limit of {} ms reached: stopping",
        limit.as_millis()
    ));
    true
}

/// Where the server listens, and what plain START gets (with a warning
/// when anyone may ask for it).
fn announce(
    text: &mut Text,
    handle: &Handle,
    compat: Option<StreamSettings>,
    compat_allow: &[mediastream_core::server::Cidr],
) {
    let b = handle.buffers();
    text.line(&format!(
        "mediastream server: listening on {} with {} shard(s); socket buffers {} B asked, {} B receive / {} B send granted",
        handle.local_addrs().iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
        handle.shards(),
        b.requested,
        b.receive,
        b.send
    ));
    let Some(s) = compat else {
        text.line(
            "plain ctsTraffic START is not served (give --bits-per-second, --frame-rate and --stream-length to serve it); v1 clients choose their own",
        );
        return;
    };
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

/// The summary, the counters and the JSON document; whether SIGINT or
/// SIGTERM stopped the server (rather than --server-exit-limit).
fn finish(
    args: &ServerArgs,
    text: &mut Text,
    live: Live,
    (results, finished): (&[StreamResult], &Finished),
    counters: &ServerStats,
    stop: &AtomicBool,
) -> Result<bool, CliError> {
    let interrupted = stop.load(Ordering::SeqCst);
    text.summary(finished);
    text.finish_files()?;
    text.line(&requests_line(counters));
    if args.json.is_some() || args.json_stream.is_some() {
        let mut doc = json::document("server", results, interrupted, &requested(args));
        doc.server = Some(json::ServerCounters(*counters));
        if let Some(target) = &args.json {
            json::write(target, &doc)?;
        }
        live.finish(&doc)?;
    }
    Ok(interrupted)
}

/// The server's streams that send carry `--dscp` / `--ecn`.
fn requested(args: &ServerArgs) -> crate::report::Requested {
    crate::report::Requested {
        marking: mediastream_core::marking::Marking::new(args.dscp, args.ecn),
        senders: true,
        receivers: false,
    }
}
