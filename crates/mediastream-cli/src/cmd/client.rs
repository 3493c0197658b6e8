//! `mediastream client`: arguments checked in [`check`], then wired here:
//! outputs, the observer ([`observer`]), one round per iteration
//! ([`rounds`]), and the results written.

mod check;
mod observer;
mod rounds;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use mediastream_core::client::{random_token, ClientConfig};
use mediastream_core::server::StreamResult;
use mediastream_core::sys::{ClientOptions, ClientStatus};

use super::{exit_for, stop_flag, CliError, Exit, Outcome, StatusClock};
use crate::args::ClientArgs;
use crate::report::jitter::JitterFile;
use crate::report::json;
use crate::report::live::{JsonStream, Live};
use crate::report::output::{check as check_output, Write};
use crate::sla::Sla;
use check::Checked;
use observer::{Observer, Shared};

pub fn run(args: ClientArgs) -> Result<Exit, CliError> {
    let (outcome, expectations_met) = execute_checked(args)?;
    Ok(match exit_for(&outcome.finished, outcome.interrupted) {
        Exit::Success if !expectations_met => Exit::StreamsFailed,
        exit => exit,
    })
}

/// Runs every iteration of the streams; the finished streams.
pub fn execute(args: ClientArgs) -> Result<Outcome, CliError> {
    execute_checked(args).map(|(outcome, _)| outcome)
}

/// [`execute`], and whether every `--expect` was met.
fn execute_checked(args: ClientArgs) -> Result<(Outcome, bool), CliError> {
    let Checked {
        targets,
        options,
        config,
        extra,
    } = check::check(&args)?;
    let sla = Sla::check(&args.expect, args.emodel.as_deref())?;
    let jitter = outputs(&args)?;
    let stop = stop_flag();
    let start = Instant::now();
    let text = super::text_output(
        [&args.status_file, &args.connection_file, &args.error_file],
        args.utf16,
        [args.json.as_deref(), args.json_stream.as_deref()],
        args.status_table,
        start,
    )?;
    let mut text = text;
    text.set_requested(requested(&args));
    let stream = JsonStream::of_args(args.json.as_deref(), args.json_stream.as_deref())?;
    let clock = StatusClock::new(args.status_interval, start);
    let mut observer = Observer {
        text,
        jitter,
        jitter_error: None,
        live: Live::new("client", clock, start, stream),
        base_bytes: 0,
        round: 0,
    };
    let bind = options.bind;
    super::cts::console::client(&mut observer.text, &args, &config.settings, &targets, bind);
    observer.text.line(&header(&args, &config, &targets));
    let mut options = options;
    options.stop = Some(stop.clone());
    options.status_interval = observer.live.clock.interval();
    let runs = runs(&targets, &options, &config, &extra);
    let shared = Mutex::new(Shared {
        observer,
        latest: vec![ClientStatus::default(); runs.len()],
    });
    let results = rounds::iterate(args.backend, args.iterations, &runs, &shared, &stop)?;
    let observer = shared
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .observer;
    let interrupted = stop.load(Ordering::SeqCst);
    let finished = crate::report::Finished::of(&results);
    let met = finish(&args, &sla, observer, &results, &finished, interrupted)?;
    let outcome = Outcome {
        finished,
        interrupted,
    };
    Ok((outcome, met))
}

/// Every output file checked (the jitter file created) before any
/// traffic: results that cannot be written are refused now, not lost
/// after the run. The jitter file, if asked for.
fn outputs(args: &ClientArgs) -> Result<Option<JitterFile>, CliError> {
    if let Some(target) = &args.json {
        json::check("--json", target)?;
    }
    if let Some(path) = &args.histogram_file {
        check_output("--histogram-file", path, Write::InPlace)?;
    }
    let Some(path) = args.jitter_file.as_deref() else {
        return Ok(None);
    };
    check_output("--jitter-file", path, Write::InPlace)?;
    let file = JitterFile::create(path, args.utf16).map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(Some(file))
}

/// The first line: the stream, the targets, and how many of it.
fn header(args: &ClientArgs, config: &ClientConfig, targets: &[SocketAddr]) -> String {
    let stream = &config.settings;
    format!(
        "mediastream client: {} bit/s, {} frames/s, {} s, {}-byte datagrams, buffer {} ms -> {} ({}, {}), {} connection(s){} x {} iteration(s)",
        stream.bits_per_second / 8 * 8,
        stream.frame_rate,
        stream.stream_length_secs,
        stream.datagram_size,
        stream.buffer_depth_ms,
        targets.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        if args.compat { "ctsTraffic compat" } else { "v1" },
        config.direction,
        args.connections,
        if targets.len() > 1 { " per target" } else { "" },
        args.iterations,
    )
}

/// One run per target and stream (`extra`: a profile's other streams),
/// each with its own stream token; the first keeps the one `config` has.
fn runs(
    targets: &[SocketAddr],
    options: &ClientOptions,
    config: &ClientConfig,
    extra: &[ClientConfig],
) -> Vec<(ClientOptions, ClientConfig)> {
    let streams: Vec<&ClientConfig> = std::iter::once(config).chain(extra).collect();
    targets
        .iter()
        .flat_map(|&target| streams.iter().map(move |&c| (target, c)))
        .enumerate()
        .map(|(i, (target, c))| {
            let token = if i == 0 { c.token } else { random_token() };
            let mut options = options.clone();
            options.target = target;
            let mut config = c.clone();
            config.token = token;
            (options, config)
        })
        .collect()
}

/// The last status row, the summary and the SLA checks, then every file
/// the options asked for; the first error, or whether every `--expect`
/// was met.
fn finish(
    args: &ClientArgs,
    sla: &Sla,
    mut observer: Observer,
    results: &[StreamResult],
    finished: &crate::report::Finished,
    interrupted: bool,
) -> Result<bool, CliError> {
    observer.settle();
    observer.text.summary(finished);
    let doc = json::document("client", results, interrupted, &requested(args));
    let (doc, met) = sla.judge(&doc, &mut observer.text)?;
    observer.text.finish_files()?;
    if let Some(file) = observer.jitter.take() {
        file.finish()?;
    }
    if let Some(path) = &args.histogram_file {
        crate::report::histogram::write(path, results)
            .map_err(|e| CliError::Runtime(format!("--histogram-file {path}: {e}")))?;
    }
    if let Some(e) = observer.jitter_error {
        return Err(CliError::Runtime(format!("--jitter-file: {e}")));
    }
    if let Some(target) = &args.json {
        json::write(target, &doc)?;
    }
    observer.live.finish(&doc)?;
    Ok(met)
}

/// This client's streams that send carry `--dscp` / `--ecn`.
fn requested(args: &ClientArgs) -> crate::report::Requested {
    crate::report::Requested {
        marking: mediastream_core::marking::Marking::new(args.dscp, args.ecn),
        senders: true,
        receivers: false,
    }
}
