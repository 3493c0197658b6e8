//! The client's command line checked in one place: every argument is
//! refused here, before any file is created or socket opened, so `execute`
//! only wires.

use std::net::SocketAddr;
use std::time::Duration;

use mediastream_core::client::{random_token, ClientConfig, Direction};
use mediastream_core::marking::Marking;
use mediastream_core::pattern::model::FrameSizes;
use mediastream_core::settings::StreamSettings;
use mediastream_core::sys::ClientOptions;

use super::super::{check_connections, key_file, settings, spin, CliError};
use crate::args::ClientArgs;
use crate::{media, values};

/// The most streams one client process runs, every target together.
const MAX_CONNECTIONS: usize = 10_000;

/// What the checked arguments decide.
pub struct Checked {
    /// Every `--target`, in order.
    pub targets: Vec<SocketAddr>,
    /// Options every target shares: the first target's; `stop` and
    /// `status_interval` are left for `execute`, which owns the flag and
    /// the clock.
    pub options: ClientOptions,
    /// The stream, with the first target's token.
    pub config: ClientConfig,
    /// More streams on every connection (`--profile call`, or several
    /// `--profile`s), after `config`'s.
    pub extra: Vec<ClientConfig>,
}

/// Checks every argument, in the order the errors have always come in;
/// `--spin-us`, once checked after the output files, is checked with
/// the rest now, so a bad value creates no file and prints nothing else.
pub fn check(args: &ClientArgs) -> Result<Checked, CliError> {
    let direction = direction(&args.direction)?;
    let targets = targets(args)?;
    let bind = match &args.bind {
        Some(b) => {
            Some(values::listen(b, 0).map_err(|e| CliError::Usage(format!("--bind {e}")))?[0])
        }
        None => None,
    };
    let streams = streams(args)?;
    counts(args, targets.len())?;
    combinations(args, targets.len(), direction)?;
    let key = key_file(args.key_file.as_deref())?;
    let mut configs = Vec::new();
    for (stream, frame_sizes) in streams {
        let mut config = ClientConfig::new(stream, random_token());
        config.direction = direction;
        config.compat = args.compat;
        config.record_frames = args.jitter_file.is_some();
        config.spread = Duration::from_millis(args.frame_spread.into());
        config.timebase = mediastream_core::sys::host_timebase();
        config.timeline = !args.no_timeline;
        config.frame_sizes = frame_sizes;
        let plan = config.plan().map_err(|e| CliError::Usage(e.to_string()))?;
        if let Some(sizes) = &config.frame_sizes {
            sizes
                .resolve(&plan)
                .map_err(|e| CliError::Usage(e.to_string()))?;
        }
        configs.push(config);
    }
    let config = configs.remove(0);
    let mut options = ClientOptions::new(targets[0]);
    options.bind = bind;
    options.connections = args.connections;
    options.socket_buffer = args.socket_buffer;
    options.time_limit = args.time_limit.map(|ms| Duration::from_millis(ms.into()));
    options.spin = spin(args.spin_us)?;
    options.key = key;
    options.marking = Marking::new(args.dscp, args.ecn);
    Ok(Checked {
        targets,
        options,
        config,
        extra: configs,
    })
}

/// The stream settings and frame sizes: one per profile stream, or the
/// options' one.
fn streams(args: &ClientArgs) -> Result<Vec<(StreamSettings, Option<FrameSizes>)>, CliError> {
    let profiles = media::profiles(&args.profile)?;
    if profiles.is_empty() {
        let sizes = args
            .frame_sizes
            .as_deref()
            .map(media::frame_sizes)
            .transpose()?;
        let (bps, fps) = rate_of(args, sizes.as_ref())?;
        let s = settings(
            bps,
            fps,
            args.stream_length,
            args.datagram_size,
            args.buffer_depth,
        )?;
        return Ok(vec![(s, sizes)]);
    }
    for (given, name) in [
        (args.bits_per_second.is_some(), "--bits-per-second"),
        (args.frame_rate.is_some(), "--frame-rate"),
        (args.frame_sizes.is_some(), "--frame-sizes"),
    ] {
        if given {
            return Err(CliError::Usage(format!(
                "--profile sets the rate, frame rate and frame sizes: drop {name}"
            )));
        }
    }
    profiles
        .into_iter()
        .map(|p| {
            let buffer = args.buffer_depth.or(Some(p.buffer_depth_ms));
            let s = settings(
                p.bits_per_second,
                p.frame_rate,
                args.stream_length,
                args.datagram_size,
                buffer,
            )?;
            Ok((s, Some(p.frame_sizes)))
        })
        .collect()
}

/// `--bits-per-second` and `--frame-rate`, or an unscaled trace's own.
fn rate_of(args: &ClientArgs, sizes: Option<&FrameSizes>) -> Result<(u64, u32), CliError> {
    let trace = match sizes {
        Some(FrameSizes::Trace(t)) => Some(t),
        _ => None,
    };
    let fps = match (args.frame_rate, trace) {
        (Some(fps), _) => fps,
        (None, Some(t)) => t.frame_rate(),
        (None, None) => {
            return Err(CliError::Usage(
                "--frame-rate is required (or --profile, or a trace in --frame-sizes)".into(),
            ))
        }
    };
    let bps = match (args.bits_per_second, trace) {
        (Some(bps), _) => bps,
        (None, Some(t)) if !t.scale => t.bits_per_second(fps),
        _ => return Err(CliError::Usage(
            "--bits-per-second is required (or --profile, or an unscaled trace in --frame-sizes)"
                .into(),
        )),
    };
    Ok((bps, fps))
}

fn direction(value: &str) -> Result<Direction, CliError> {
    value
        .parse()
        .map_err(|e| CliError::Usage(format!("--direction {e}")))
}

/// Every `--target` as an address; at least one.
fn targets(args: &ClientArgs) -> Result<Vec<SocketAddr>, CliError> {
    if args.target.is_empty() {
        return Err(CliError::Usage(
            "--target is required: the server, HOST[:PORT]; repeat it for several servers".into(),
        ));
    }
    args.target
        .iter()
        .map(|t| values::target(t, args.port).map_err(|e| CliError::Usage(format!("--target {e}"))))
        .collect()
}

/// `--connections` (alone and times the targets) and `--iterations`.
fn counts(args: &ClientArgs, targets: usize) -> Result<(), CliError> {
    check_connections(args.connections, MAX_CONNECTIONS)?;
    if args.connections * targets > MAX_CONNECTIONS {
        return Err(CliError::Usage(format!(
            "--connections {} for each of {} --target is {} streams: accepted {MAX_CONNECTIONS} in all",
            args.connections,
            targets,
            args.connections * targets
        )));
    }
    if args.iterations == 0 {
        return Err(CliError::Usage(
            "--iterations 0 is out of range: accepted 1 or more".into(),
        ));
    }
    Ok(())
}

/// Options that are fine alone but not together.
fn combinations(args: &ClientArgs, targets: usize, direction: Direction) -> Result<(), CliError> {
    if args.jitter_file.is_some()
        && (args.connections != 1 || targets != 1 || direction == Direction::Send)
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
    Ok(())
}
