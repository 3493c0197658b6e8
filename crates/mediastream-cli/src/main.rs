//! `mediastream`: the command-line tool. Until the server and client land,
//! it only explains itself.

use argh::FromArgs;

/// mediastream: UDP media-stream traffic tool, wire-compatible with
/// ctsTraffic's MediaStream mode. The server and client subcommands are
/// not implemented yet; see README.md for the plan.
#[derive(FromArgs, Debug)]
struct Cli {
    /// print the version and exit
    #[argh(switch)]
    version: bool,
}

fn main() {
    env_logger::init();
    let cli: Cli = argh::from_env();
    if cli.version {
        #[allow(clippy::print_stdout)]
        {
            println!("mediastream {}", env!("CARGO_PKG_VERSION"));
        }
    }
}
