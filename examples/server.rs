//! A MediaStream server in a few lines: plain ctsTraffic START gets an
//! 8 Mbit/s, 50 frames/s, 3 s stream; v1 clients choose their own.
//!
//! `cargo run --example server [ADDR] [STREAMS]`: listens on ADDR
//! (default 127.0.0.1:4444); with STREAMS, exits after that many streams.
#![allow(clippy::print_stdout)]

use std::sync::Arc;

use mediastream::server::{Server, ServerConfig};
use mediastream::settings::StreamSettings;
use mediastream::sys::{start_server, Backend, ServerOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let listen = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:4444".into())
        .parse()?;
    let exit_after = args.next().map(|n| n.parse()).transpose()?;
    let mut config = ServerConfig::default();
    config.compat_settings = Some(StreamSettings::new(8_000_000, 50, 3));
    config.exit_after = exit_after;
    let server = Server::with_defaults(config)?.on_finished(|r| {
        let s = &r.stats;
        println!(
            "{:?} {} -> {}: {:?}, sent {} frames, receiver completed {:?}",
            r.role,
            r.local,
            r.remote,
            r.status,
            s.frames_sent,
            r.received().map(|got| got.frames_completed),
        );
    });
    let options = ServerOptions::new(vec![listen]);
    let handle = start_server(Backend::platform_default(), Arc::new(server), &options)?;
    println!("listening on {}", handle.local_addrs()[0]);
    handle.join()?;
    Ok(())
}
