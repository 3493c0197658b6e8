//! A MediaStream client in a few lines: asks the server for a 3 s,
//! 8 Mbit/s, 50 frames/s stream and prints what arrived.
//!
//! `cargo run --example client [ADDR] [send]`: ADDR defaults to
//! 127.0.0.1:4444; `send` streams to the server instead (JOIN).
#![allow(clippy::print_stdout)]

use mediastream::client::{ClientConfig, Direction};
use mediastream::settings::StreamSettings;
use mediastream::sys::{run_client, Backend, ClientOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let target = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:4444".into())
        .parse()?;
    let direction = match args.next().as_deref() {
        Some("send") => Direction::Send,
        _ => Direction::Receive,
    };
    let token = std::process::id().into();
    let config = ClientConfig {
        direction,
        ..ClientConfig::new(StreamSettings::new(8_000_000, 50, 3), token)
    };
    let results = run_client(
        Backend::platform_default(),
        &ClientOptions::new(target),
        &config,
        &mut (),
    )?;
    let mut failed = false;
    for r in &results {
        let (mine, peer) = (&r.stats, r.stats.peer_report);
        println!(
            "{:?} {} <-> {} [{:?}]: {:?}",
            r.role, r.local, r.remote, r.connection_id, r.status
        );
        println!(
            "  completed {} dropped {} repeated {} errors {} jitter {:.3} ms rtt {:?}",
            mine.frames_completed
                .max(peer.map_or(0, |p| p.frames_completed)),
            mine.frames_dropped
                .max(peer.map_or(0, |p| p.frames_dropped)),
            mine.frames_repeated,
            mine.frames_error,
            mine.jitter_secs * 1e3,
            mine.rtt.mean(),
        );
        failed |= !r.succeeded();
    }
    std::process::exit(i32::from(failed));
}
