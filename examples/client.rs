//! A MediaStream client in a few lines: asks the server for a 3 s,
//! 8 Mbit/s, 50 frames/s stream and prints what arrived.
//!
//! `cargo run --example client [ADDR] [send]`: ADDR defaults to
//! 127.0.0.1:4444; `send` streams to the server instead (JOIN).
#![allow(clippy::print_stdout)]

use mediastream::client::{random_token, ClientConfig};
use mediastream::settings::StreamSettings;
use mediastream::sys::{run_client, Backend, ClientOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let target = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:4444".into())
        .parse()?;
    let mut config = ClientConfig::new(StreamSettings::new(8_000_000, 50, 3), random_token());
    config.direction = args.next().as_deref().unwrap_or("recv").parse()?;
    let results = run_client(
        Backend::platform_default(),
        &ClientOptions::new(target),
        &config,
        &mut (),
    )?;
    let mut failed = false;
    for r in &results {
        println!(
            "{:?} {} <-> {} [{:?}]: {:?}",
            r.role, r.local, r.remote, r.connection_id, r.status
        );
        // The receiving end's numbers, whichever end that was.
        if let Some(got) = r.received() {
            println!(
                "  completed {} dropped {} repeated {} errors {} jitter {:?} rtt {:?}",
                got.frames_completed,
                got.frames_dropped,
                got.frames_repeated,
                got.frames_error,
                got.jitter,
                r.stats.rtt.mean(),
            );
        }
        failed |= !r.succeeded();
    }
    std::process::exit(i32::from(failed));
}
