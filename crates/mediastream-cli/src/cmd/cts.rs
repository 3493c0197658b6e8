//! `mediastream cts ARGS...` (or a binary named ctsTraffic): ctsTraffic's
//! own command line for its UDP MediaStream pattern. Each `-Name:value`
//! (names case-insensitive, as ctsTraffic compares them) is translated
//! into the options of `mediastream server` or `mediastream client`,
//! which then run as usual: the translation is the whole of this mode,
//! so both paths share every check and default. docs/cts.md has the
//! table.

use super::{CliError, Outcome};
use crate::args::{ClientArgs, ServerArgs};

/// What a ctsTraffic command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// `-Help`, `-?`: print the supported set.
    Help,
    /// `-Listen`: `mediastream server` with these options.
    Server(Vec<String>),
    /// `-Target`: `mediastream client` with these options.
    Client(Vec<String>),
}

/// The options this mode takes, with what they become; printed by
/// `-Help`. Ours (not ctsTraffic's) are marked.
pub const SUPPORTED: &[(&str, &str)] = &[
    (
        "-Listen:ADDR",
        "serve on ADDR (* for all; repeatable) -> server --listen",
    ),
    (
        "-Target:HOST",
        "stream from HOST (repeatable) -> client --target",
    ),
    ("-Port:N", "port (default 4444) -> --port"),
    (
        "-Protocol:udp",
        "required: only UDP MediaStream is implemented",
    ),
    (
        "-BitsPerSecond:N",
        "stream rate, rounded down to a multiple of 8 (required)",
    ),
    ("-FrameRate:N", "frames per second (required)"),
    ("-StreamLength:N", "stream length, seconds (required)"),
    (
        "-BufferDepth:N",
        "jitter buffer, seconds (default 1; client; ignored by -Listen)",
    ),
    (
        "-DatagramByteSize:N",
        "largest datagram (default 1400) -> --datagram-size",
    ),
    (
        "-Connections:N",
        "concurrent streams (default 1; client; ignored by -Listen)",
    ),
    (
        "-Iterations:N",
        "rounds of streams, 0 = forever (default forever; client)",
    ),
    (
        "-ServerExitLimit:N",
        "exit after N streams (default never; server)",
    ),
    ("-Bind:ADDR", "local address to send from (client)"),
    (
        "-StatusUpdate:MS",
        "status line interval, ms (default 5000)",
    ),
    ("-TimeLimit:MS", "stop after MS milliseconds (default none)"),
    (
        "-ConsoleVerbosity:N",
        "0 to 6 (default 4), as ctsTraffic's levels -> --cts-console",
    ),
    (
        "-JitterFilename:F.csv",
        "per-frame jitter CSV (client, one connection)",
    ),
    (
        "-PrePostRecvs:N",
        "receives posted per socket, IOCP (default 2; server)",
    ),
    ("-RecvBufValue:B", "socket buffer size -> --socket-buffer"),
    ("-SendBufValue:B", "socket buffer size -> --socket-buffer"),
    ("-EnableRecvSharding:on|off", "one worker per core (server)"),
    ("-ShardCount:N", "worker shards (default 1; server)"),
    ("-OnError:log", "the only policy (break needs a debugger)"),
    (
        "-Direction:recv|send",
        "ours: send streams to the server (v1 JOIN)",
    ),
    (
        "-CompatAllow:CIDR",
        "ours: who may use plain START (default loopback)",
    ),
    (
        "-StatusFilename:F",
        "status CSV, one row per -StatusUpdate -> --status-file",
    ),
    (
        "-ConnectionFilename:F",
        "connection CSV, one row per stream -> --connection-file",
    ),
    (
        "-ErrorFilename:F",
        "failed streams, one line each -> --error-file",
    ),
    (
        "-Utf8",
        "ours: write the files as UTF-8 with LF, not UTF-16LE with CRLF",
    ),
];

/// Options refused, with why.
const REFUSED: &[(&str, &str)] = &[
    (
        "-Pattern",
        "TCP I/O patterns are not implemented: mediastream is UDP MediaStream only",
    ),
    ("-PushBytes", "applies only to the TCP PushPull pattern"),
    ("-PullBytes", "applies only to the TCP PushPull pattern"),
    (
        "-Transfer",
        "applies only to TCP (a MediaStream's size is its rate times its length)",
    ),
    (
        "-Buffer",
        "applies only to TCP (MediaStream sizes its datagrams from -DatagramByteSize)",
    ),
    (
        "-RateLimit",
        "applies only to TCP (a MediaStream's rate is -BitsPerSecond)",
    ),
    ("-RateLimitPeriod", "applies only to TCP"),
    (
        "-Verify",
        "applies only to TCP (MediaStream datagrams are always checked)",
    ),
    ("-Shutdown", "applies only to TCP connections"),
    ("-MsgWaitAll", "applies only to TCP receives"),
    ("-KeepAliveValue", "applies only to TCP sockets"),
    ("-Conn", "TCP connect functions are not implemented"),
    ("-Acc", "TCP accept functions are not implemented"),
    (
        "-IO",
        "Windows I/O models (iocp, rioiocp, ...) are chosen by mediastream's backend",
    ),
    ("-AcceptLimit", "applies only to TCP accepts"),
    ("-ThrottleConnections", "applies only to TCP connects"),
    ("-LocalPort", "TCP local port ranges are not implemented"),
    (
        "-Compartment",
        "network compartments are a Windows-only feature",
    ),
    ("-IfIndex", "IP_UNICAST_IF is a Windows-only feature"),
    (
        "-Options",
        "the socket options it sets are Windows-only features",
    ),
    (
        "-ThreadPool",
        "the Windows thread pool is a Windows-only feature",
    ),
    ("-CpuSetGroupId", "CPU sets are a Windows-only feature"),
    ("-PrePostSends", "sends are synchronous in mediastream"),
    ("-PauseAtEnd", "not implemented"),
    ("-ThroughputFilename", "applies only to TCP"),
];

fn usage(text: String) -> CliError {
    CliError::Usage(text)
}

/// An unsigned number as ctsTraffic reads one: decimal, or hexadecimal
/// when it has an x (0x1F4).
fn number(name: &str, value: &str) -> Result<u64, CliError> {
    let v = value.trim();
    let parsed = match v.find(['x', 'X']) {
        Some(i) => u64::from_str_radix(&v[i + 1..], 16),
        None => v.parse(),
    };
    parsed.map_err(|_| usage(format!("{name}:{value} is not a whole number")))
}

fn switch(name: &str, value: &str) -> Result<bool, CliError> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(usage(format!("{name}:{value}: use on or off"))),
    }
}

/// One `-Name:value` split, the name lower-cased; `-Name` alone has an
/// empty value (ctsTraffic requires one, checked per option).
fn split(arg: &str) -> Result<(String, &str), CliError> {
    if !arg.starts_with('-') || arg.len() < 2 {
        return Err(usage(format!(
            "'{}' is not a ctsTraffic option: write -Name:value",
            crate::report::escape(arg)
        )));
    }
    let (name, value) = arg.split_once(':').unwrap_or((arg, ""));
    Ok((name.to_ascii_lowercase(), value))
}

/// The options gathered from the command line, before translation.
#[derive(Debug, Default)]
struct Gathered {
    listen: Vec<String>,
    target: Vec<String>,
    udp: bool,
    /// (our option, value) in the order given.
    common: Vec<(&'static str, String)>,
    server_only: Vec<(&'static str, String)>,
    client_only: Vec<(&'static str, String)>,
    iterations: Option<u64>,
    verbosity: u64,
    status_ms: u64,
    sharding: Option<bool>,
    shards: Option<u64>,
    utf8: bool,
}

/// Parses ctsTraffic arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Parsed, CliError> {
    if args.is_empty() {
        return Ok(Parsed::Help);
    }
    let mut g = Gathered {
        verbosity: 4,
        status_ms: 5000,
        ..Gathered::default()
    };
    for arg in args {
        let (name, value) = split(arg)?;
        if name == "-help" || name == "-?" {
            return Ok(Parsed::Help);
        }
        if let Some((shown, why)) = REFUSED.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            return Err(usage(format!("{shown} is not supported: {why}")));
        }
        if name != "-utf8" && value.is_empty() {
            return Err(usage(format!(
                "{arg} has no value: write {arg}:VALUE (ctsTraffic's syntax)"
            )));
        }
        gather(&mut g, &name, value)?;
    }
    translate(g)
}

/// Records one supported option, or refuses an unknown one.
fn gather(g: &mut Gathered, name: &str, value: &str) -> Result<(), CliError> {
    let v = value.to_owned();
    match name {
        "-listen" => g.listen.push(v),
        "-target" => g.target.push(v),
        "-protocol" if value.eq_ignore_ascii_case("udp") => g.udp = true,
        "-protocol" => {
            return Err(usage(format!(
                "-Protocol:{value} is not supported: mediastream implements only -Protocol:udp (MediaStream)"
            )))
        }
        "-port" => g.common.push(("--port", number("-Port", value)?.to_string())),
        "-bitspersecond" => {
            let bps = number("-BitsPerSecond", value)?;
            g.common.push(("--bits-per-second", (bps - bps % 8).to_string()));
        }
        "-framerate" => g.common.push(("--frame-rate", number("-FrameRate", value)?.to_string())),
        "-streamlength" => g
            .common
            .push(("--stream-length", number("-StreamLength", value)?.to_string())),
        "-datagrambytesize" => g
            .common
            .push(("--datagram-size", number("-DatagramByteSize", value)?.to_string())),
        "-bufferdepth" => g
            .client_only
            .push(("--buffer-depth", number("-BufferDepth", value)?.to_string())),
        "-connections" => g
            .client_only
            .push(("--connections", number("-Connections", value)?.to_string())),
        "-iterations" => g.iterations = Some(number("-Iterations", value)?),
        "-serverexitlimit" => g
            .server_only
            .push(("--server-exit-limit", number("-ServerExitLimit", value)?.to_string())),
        "-bind" => g.client_only.push(("--bind", v)),
        "-prepostrecvs" => g
            .server_only
            .push(("--pre-post-recvs", positive("-PrePostRecvs", value)?.to_string())),
        "-recvbufvalue" | "-sendbufvalue" => g
            .common
            .push(("--socket-buffer", number(
                if name == "-recvbufvalue" {
                    "-RecvBufValue"
                } else {
                    "-SendBufValue"
                },
                value,
            )?
            .to_string())),
        "-enablerecvsharding" => g.sharding = Some(switch("-EnableRecvSharding", value)?),
        "-shardcount" => g.shards = Some(positive("-ShardCount", value)?),
        "-onerror" if value.eq_ignore_ascii_case("log") => {}
        "-onerror" => {
            return Err(usage(format!(
                "-OnError:{value} is not supported: only log (break needs a Windows debugger)"
            )))
        }
        "-direction" => g.client_only.push(("--direction", value.to_ascii_lowercase())),
        "-compatallow" => g.server_only.push(("--compat-allow", v)),
        _ if gather_logging(g, name, value)? => {}
        _ => {
            return Err(usage(format!(
                "{name} is not an option of ctsTraffic's UDP MediaStream mode: -Help lists them"
            )))
        }
    }
    Ok(())
}

/// The logging options (status, console, files); false for others.
fn gather_logging(g: &mut Gathered, name: &str, value: &str) -> Result<bool, CliError> {
    let v = value.to_owned();
    match name {
        "-statusupdate" => g.status_ms = positive("-StatusUpdate", value)?,
        "-timelimit" => g.common.push((
            "--time-limit",
            format!("{}ms", positive("-TimeLimit", value)?),
        )),
        "-consoleverbosity" => {
            g.verbosity = number("-ConsoleVerbosity", value)?;
            if g.verbosity > 6 {
                return Err(usage(format!("-ConsoleVerbosity:{value}: accepted 0 to 6")));
            }
        }
        "-jitterfilename" => {
            if !value.to_ascii_lowercase().ends_with(".csv") {
                return Err(usage(format!(
                    "-JitterFilename:{value}: jitter can only be logged as .csv (as in ctsTraffic)"
                )));
            }
            g.client_only.push(("--jitter-file", v));
        }
        "-utf8" => g.utf8 = true,
        "-statusfilename" => g.common.push(("--status-file", v)),
        "-connectionfilename" => g.common.push(("--connection-file", v)),
        "-errorfilename" if value.to_ascii_lowercase().ends_with(".csv") => {
            return Err(usage(format!(
                "-ErrorFilename:{value}: the error file cannot be of csv format (as in ctsTraffic)"
            )))
        }
        "-errorfilename" => g.common.push(("--error-file", v)),
        _ => return Ok(false),
    }
    Ok(true)
}

fn positive(name: &str, value: &str) -> Result<u64, CliError> {
    match number(name, value)? {
        0 => Err(usage(format!(
            "{name}:0 is out of range: accepted 1 or more"
        ))),
        n => Ok(n),
    }
}

/// The server's or client's options from what was gathered.
fn translate(g: Gathered) -> Result<Parsed, CliError> {
    if !g.udp {
        return Err(usage(
            "-Protocol:udp is required: ctsTraffic defaults to TCP, which mediastream does not implement".into(),
        ));
    }
    for (name, present) in [
        ("-BitsPerSecond", "--bits-per-second"),
        ("-FrameRate", "--frame-rate"),
        ("-StreamLength", "--stream-length"),
    ] {
        if !g.common.iter().any(|(o, _)| *o == present) {
            return Err(usage(format!("{name} is required with -Protocol:udp")));
        }
    }
    let (listening, targeting) = (!g.listen.is_empty(), !g.target.is_empty());
    match (listening, targeting) {
        (true, true) => Err(usage("cannot specify both -Listen and -Target".into())),
        (false, false) => Err(usage("must specify either -Target or -Listen".into())),
        (true, false) => server_args(g),
        (false, true) => {
            if let Some((o, _)) = g.server_only.first() {
                return Err(usage(format!(
                    "{} is only supported when running as a server (-Listen)",
                    cts_name(o)
                )));
            }
            if g.sharding.is_some() || g.shards.is_some() {
                return Err(usage(
                    "-EnableRecvSharding and -ShardCount are only supported when running as a server (-Listen)".into(),
                ));
            }
            client_args(g)
        }
    }
}

fn server_args(g: Gathered) -> Result<Parsed, CliError> {
    // ctsTraffic's server takes these and has no use for them (runbooks
    // pass -BufferDepth to both ends): ignored.
    let ignored = ["--buffer-depth", "--connections"];
    if let Some((o, _)) = g.client_only.iter().find(|(o, _)| !ignored.contains(o)) {
        return Err(usage(format!(
            "{} is only supported when running as a client (-Target)",
            cts_name(o)
        )));
    }
    if g.iterations.is_some() {
        return Err(usage(
            "-Iterations is only supported when running as a client".into(),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    let mut push = |o: &str, v: &str| {
        out.push(o.to_owned());
        out.push(v.to_owned());
    };
    for l in &g.listen {
        push("--listen", l);
    }
    for (o, v) in g.common.iter().chain(&g.server_only) {
        push(o, v);
    }
    // ctsTraffic serves from one socket unless sharding is asked for.
    let shards = match (g.sharding, g.shards) {
        (_, Some(n)) => n,
        (Some(true), None) => 0,
        _ => 1,
    };
    push("--shards", &shards.to_string());
    // Status rows are counted at every level: the status file gets them.
    push("--status-interval", &g.status_ms.to_string());
    push("--cts-console", &g.verbosity.to_string());
    if !g.utf8 {
        out.push("--utf16".to_owned());
    }
    Ok(Parsed::Server(out))
}

fn client_args(g: Gathered) -> Result<Parsed, CliError> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |o: &str, v: &str| {
        out.push(o.to_owned());
        out.push(v.to_owned());
    };
    for t in &g.target {
        push("--target", t);
    }
    for (o, v) in g.common.iter().chain(&g.client_only) {
        push(o, v);
    }
    // ctsTraffic: 0 (and no -Iterations) is forever.
    let iterations = match g.iterations {
        Some(n) if n > 0 => n.min(u64::from(u32::MAX)),
        _ => u64::from(u32::MAX),
    };
    push("--iterations", &iterations.to_string());
    // Status rows are counted at every level: the status file gets them.
    push("--status-interval", &g.status_ms.to_string());
    push("--cts-console", &g.verbosity.to_string());
    // ctsTraffic's client speaks plain START; sending (ours) needs v1.
    let sending = g
        .client_only
        .iter()
        .any(|(o, v)| *o == "--direction" && v == "send");
    if !sending {
        out.push("--compat".to_owned());
    }
    if !g.utf8 {
        out.push("--utf16".to_owned());
    }
    Ok(Parsed::Client(out))
}

/// ctsTraffic's name of one of our options, for messages.
fn cts_name(ours: &str) -> &'static str {
    match ours {
        "--buffer-depth" => "-BufferDepth",
        "--connections" => "-Connections",
        "--bind" => "-Bind",
        "--jitter-file" => "-JitterFilename",
        "--direction" => "-Direction",
        "--server-exit-limit" => "-ServerExitLimit",
        "--pre-post-recvs" => "-PrePostRecvs",
        "--compat-allow" => "-CompatAllow",
        _ => "an option",
    }
}

/// The text of `-Help`.
pub fn help() -> String {
    let mut text = String::from(
        "mediastream cts: ctsTraffic's command line for its UDP MediaStream pattern\n\
         (-Name:value, names case-insensitive). Supported options:\n\n",
    );
    for (name, what) in SUPPORTED {
        text += &format!("  {name:<28} {what}\n");
    }
    text += "\nRefused (TCP patterns, Windows-only features): ";
    text += &REFUSED
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(" ");
    text += "\nExit code: the number of failed connections (at most 255), 2 for bad arguments.\n";
    text
}

/// ctsTraffic's exit code: the number of connections that failed
/// (network or protocol errors), at most 255 here.
pub fn exit_code(outcome: &Outcome) -> u8 {
    u8::try_from(outcome.finished.failed).unwrap_or(u8::MAX)
}

/// Runs a ctsTraffic command line; the exit code.
pub fn run(args: &[String]) -> Result<u8, CliError> {
    use argh::FromArgs;
    let parsed = parse(args)?;
    let early = |e: argh::EarlyExit| CliError::Usage(e.output.trim_end().to_owned());
    let outcome = match parsed {
        Parsed::Help => {
            #[allow(clippy::print_stdout)]
            {
                print!("{}", help());
            }
            return Ok(0);
        }
        Parsed::Server(opts) => {
            let refs: Vec<&str> = opts.iter().map(String::as_str).collect();
            super::server::serve(
                ServerArgs::from_args(&["mediastream cts"], &refs).map_err(early)?,
            )?
        }
        Parsed::Client(opts) => {
            let refs: Vec<&str> = opts.iter().map(String::as_str).collect();
            super::client::execute(
                ClientArgs::from_args(&["mediastream cts"], &refs).map_err(early)?,
            )?
        }
    };
    Ok(exit_code(&outcome))
}

pub mod console;

#[cfg(test)]
mod tests;
