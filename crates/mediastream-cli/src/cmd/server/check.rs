//! The server's command line checked in one place: every argument is
//! refused here, before any file is created or socket opened, so `serve`
//! only wires.

use std::time::Duration;

use mediastream_core::server::{Admission, Cidr, PatternFactory, ServerConfig};
use mediastream_core::settings::{Limits, StreamSettings};
use mediastream_core::sys::ServerOptions;

use super::super::{key_file, settings, spin, CliError};
use crate::args::ServerArgs;
use crate::report::json;
use crate::values;

/// The most streams per direction `--max-streams` accepts (as `--help`
/// says): far more than a host can serve, and start costs nothing per
/// stream, so the bound only catches typing mistakes.
pub const MAX_STREAMS: usize = 1_000_000;
/// The most worker shards `--shards` accepts (as `--help` says): each is
/// a thread with its own sockets.
pub const MAX_SHARDS: usize = 256;

/// What the checked arguments decide.
pub struct Checked {
    pub config: ServerConfig,
    pub factory: PatternFactory,
    pub options: ServerOptions,
}

/// Checks every argument, in the order the errors have always come in,
/// but for `--spin-us`, which once came after the plain START stream was
/// checked against the limits (by `build`) and now comes before.
// Library option types are built with default() and assigned field by
// field (they are becoming #[non_exhaustive]).
#[allow(clippy::field_reassign_with_default)]
pub fn check(args: &ServerArgs) -> Result<Checked, CliError> {
    let listen = listen(args)?;
    counts(args)?;
    let compat = compat_settings(args)?;
    if args.no_compat && compat.is_some() {
        return Err(CliError::Usage(
            "--no-compat refuses plain START, so --bits-per-second, --frame-rate and --stream-length have nothing to serve: drop one or the other".into(),
        ));
    }
    sources(args)?;
    let (limits, admission) = admission_of(args)?;
    let compat_allow = compat_allow_of(args, compat.is_some())?;
    let key = key_file(args.key_file.as_deref())?;
    let mut config = ServerConfig::default();
    config.key = key;
    config.compat_settings = compat;
    config.compat_allow = compat_allow;
    config.limits = limits;
    config.admission = admission;
    config.max_streams = args.max_streams;
    config.exit_after = args.server_exit_limit;
    config.sources.requests_per_second = f64::from(args.source_rate);
    config.sources.burst = f64::from(args.source_rate) * 10.0;
    config.sources.streams_per_source = args.source_streams;
    if let Some(target) = &args.json {
        json::check("--json", target)?;
    }
    let mut factory = PatternFactory::default();
    factory.spread = Duration::from_millis(args.frame_spread.into());
    factory.timebase = mediastream_core::sys::host_timebase();
    factory.timeline = args.timeline;
    factory.trace = server_trace(args.frame_sizes.as_deref())?;
    let mut options = ServerOptions::new(listen);
    options.shards = args.shards;
    options.socket_buffer = args.socket_buffer;
    options.prepost = args.pre_post_recvs;
    options.spin = spin(args.spin_us)?;
    options.marking = mediastream_core::marking::Marking::new(args.dscp, args.ecn);
    Ok(Checked {
        config,
        factory,
        options,
    })
}

/// Every `--listen` address, `*` when none is given.
fn listen(args: &ServerArgs) -> Result<Vec<std::net::SocketAddr>, CliError> {
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
    Ok(listen)
}

/// `--pre-post-recvs`, `--max-streams` and `--shards` in their ranges.
fn counts(args: &ServerArgs) -> Result<(), CliError> {
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
    Ok(())
}

/// `--source-rate` and `--source-streams` in their ranges.
fn sources(args: &ServerArgs) -> Result<(), CliError> {
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
    Ok(())
}

/// The stream plain START gets: all three options, or none.
fn compat_settings(args: &ServerArgs) -> Result<Option<StreamSettings>, CliError> {
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
    let mut limits = Limits::default();
    limits.max_bits_per_second = args.max_rate;
    limits.max_stream_length_secs = args.max_length;
    limits.max_buffer_depth_ms = args.max_buffer_depth;
    limits.max_buffered_frames = args.max_buffered_frames;
    limits.max_datagram_size = args.max_datagram_size;
    let mut admission = Admission::default();
    admission.max_consent_timeout = Duration::from_millis(args.max_consent.into());
    admission.max_total_bits_per_second = args.max_total_rate;
    admission.max_buffer_bytes = args.max_buffer_bytes;
    admission.receive_memory = args.receive_memory;
    Ok((limits, admission))
}

/// `--frame-sizes trace:FILE`: the only model a server holds itself.
fn server_trace(
    spec: Option<&str>,
) -> Result<Option<std::sync::Arc<mediastream_core::pattern::model::Trace>>, CliError> {
    use mediastream_core::pattern::model::FrameSizes;
    match spec.map(crate::media::frame_sizes).transpose()? {
        None => Ok(None),
        Some(FrameSizes::Trace(t)) => Ok(Some(std::sync::Arc::new(t))),
        Some(_) => Err(CliError::Usage(
            "--frame-sizes on a server takes only trace:FILE (clients ask for the other models)"
                .into(),
        )),
    }
}
