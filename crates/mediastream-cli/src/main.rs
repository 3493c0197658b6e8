//! `mediastream`: the command-line tool over mediastream-core. Parses
//! arguments (argh), wires the library's server, client and mio backend
//! together, and prints what ctsTraffic and iperf3 users expect.
//!
//! Exit codes: 0 every stream succeeded; 1 a stream failed or was cut
//! short, or something failed at run time; 2 bad arguments.

mod args;
mod cmd;
mod plot;
mod report;
mod values;

use std::process::ExitCode;

use argh::FromArgs;

use args::{Cli, Command};
use cmd::{CliError, Exit};

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let argv: Vec<String> = std::env::args().collect();
    let name = argv
        .first()
        .map_or("mediastream", |a| a.rsplit(['/', '\\']).next().unwrap_or(a));
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
    match outcome {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(CliError::Usage(message)) => {
            eprintln!("{name}: {message}");
            ExitCode::from(Exit::Usage as u8)
        }
        Err(CliError::Runtime(message)) => {
            eprintln!("{name}: {message}");
            ExitCode::from(Exit::StreamsFailed as u8)
        }
    }
}
