//! `mediastream`: the command-line tool over mediastream-core. Parses
//! arguments (argh), wires the library's server, client and mio backend
//! together, and prints what ctsTraffic and iperf3 users expect.
//!
//! Exit codes: 0 every stream succeeded; 1 a stream failed or was cut
//! short, an `--expect` was not met, or something failed at run time; 2
//! bad arguments.

mod args;
mod cmd;
mod media;
mod plot;
mod report;
mod sla;
mod values;

use std::process::ExitCode;

use argh::FromArgs;

use args::{Cli, Command};
use cmd::{CliError, Exit};

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let argv = match utf8_args(std::env::args_os()) {
        Ok(argv) => argv,
        Err(message) => {
            eprintln!("mediastream: {message}");
            return ExitCode::from(Exit::Usage as u8);
        }
    };
    let name = argv
        .first()
        .map_or("mediastream", |a| a.rsplit(['/', '\\']).next().unwrap_or(a));
    // ctsTraffic's syntax (-Name:value) is not argh's: `cts`, or a binary
    // named ctsTraffic, takes the rest of the command line raw.
    if let Some(cts_args) = cts_args(name, &argv) {
        return cmd::cts::run(cts_args)
            .map_or_else(|e| failed(&format!("{name} cts"), e), ExitCode::from);
    }
    let rest: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
    let cli = match Cli::from_args(&[name], &rest) {
        Ok(cli) => cli,
        Err(early) => {
            return match early.status {
                Ok(()) => {
                    println!("{}", early.output);
                    ExitCode::SUCCESS
                }
                Err(()) => {
                    eprintln!("{}", early.output.trim_end());
                    eprintln!(
                        "Run '{name} --help' (or '{name} SUBCOMMAND --help') for the options."
                    );
                    ExitCode::from(Exit::Usage as u8)
                }
            };
        }
    };
    if cli.version {
        println!("mediastream {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let outcome = match cli.command {
        Some(Command::Server(a)) => cmd::server::run(a),
        Some(Command::Client(a)) => cmd::client::run(a),
        Some(Command::Loopback(a)) => cmd::loopback::run(a),
        Some(Command::Relay(a)) => cmd::relay::run(a),
        Some(Command::Merge(a)) => cmd::merge::run(a),
        Some(Command::Plot(a)) => cmd::plot::run(a),
        None => Err(CliError::Usage(
            "no subcommand: use server, client, loopback, relay, merge or plot".into(),
        )),
    };
    outcome.map_or_else(|e| failed(name, e), |exit| ExitCode::from(exit as u8))
}

/// A command that could not run: its message on stderr after `who`, and
/// the exit code its kind of error has.
#[allow(clippy::print_stderr)]
fn failed(who: &str, e: CliError) -> ExitCode {
    let (message, exit) = match e {
        CliError::Usage(message) => (message, Exit::Usage),
        CliError::Runtime(message) => (message, Exit::StreamsFailed),
    };
    eprintln!("{who}: {message}");
    ExitCode::from(exit as u8)
}

/// The ctsTraffic arguments when the program is invoked as ctsTraffic
/// (ctsTraffic.exe, any case) or as `mediastream cts`.
fn cts_args<'a>(name: &str, argv: &'a [String]) -> Option<&'a [String]> {
    let cut = name.len().saturating_sub(4);
    let stem = match (name.get(..cut), name.get(cut..)) {
        (Some(stem), Some(ext)) if ext.eq_ignore_ascii_case(".exe") => stem,
        _ => name,
    };
    if stem.eq_ignore_ascii_case("ctstraffic") {
        return argv.get(1..);
    }
    match argv.get(1).map(String::as_str) {
        Some("cts") => argv.get(2..),
        _ => None,
    }
}

/// The arguments as UTF-8, or an error naming the first one that is not
/// (and the option it belongs to), instead of the panic
/// `std::env::args` gives. argh only takes `&str`. The program name
/// itself may be anything: it is only shown.
fn utf8_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for (i, arg) in args.into_iter().enumerate() {
        match arg.into_string() {
            Ok(arg) => out.push(arg),
            Err(_) if i == 0 => out.push("mediastream".to_owned()),
            Err(raw) => {
                let shown = raw.to_string_lossy().into_owned();
                let previous = out.last().filter(|_| i > 1).map(String::as_str);
                let what = match (shown.starts_with("--"), previous) {
                    (true, _) => format!("option {}", report::escape(&shown)),
                    (false, Some(p)) if p.starts_with('-') => {
                        format!("the value of {}", report::escape(p))
                    }
                    _ => "an argument".to_owned(),
                };
                return Err(format!(
                    "{what} is not valid UTF-8 ({}): file names and values must be UTF-8",
                    report::escape(&shown)
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn bad(bytes: &[u8]) -> std::ffi::OsString {
        use std::os::unix::ffi::OsStringExt;
        std::ffi::OsString::from_vec(bytes.to_vec())
    }

    #[test]
    fn non_utf8_arguments_name_their_option() {
        let args = |v: Vec<std::ffi::OsString>| utf8_args(v);
        let e = args(vec![
            "ms".into(),
            "client".into(),
            "--json".into(),
            bad(b"out\xff.json"),
        ])
        .unwrap_err();
        assert!(e.contains("the value of --json"), "{e}");
        assert!(e.contains("out\u{fffd}.json"), "{e}");
        let e = args(vec!["ms".into(), "server".into(), bad(b"--li\xffsten")]).unwrap_err();
        assert!(e.starts_with("option --li"), "{e}");
        let ok = args(vec![bad(b"m\xffs"), "client".into()]).unwrap();
        assert_eq!(ok, ["mediastream", "client"]);
    }
}
