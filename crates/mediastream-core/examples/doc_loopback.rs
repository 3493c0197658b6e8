// The crate-level example (lib.rs includes this file as its doctest, and
// `cargo run -p mediastream-core --example doc_loopback` runs it).
#![allow(clippy::print_stdout)] // an example prints what it measured
use std::sync::Arc;

use mediastream_core::client::{random_token, ClientConfig, Direction};
use mediastream_core::server::{Server, ServerConfig};
use mediastream_core::settings::StreamSettings;
use mediastream_core::sys::{run_client, start_server, Backend, ClientOptions, ServerOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A server on a port of loopback the OS picks. Its worker threads run
    // until `server` is stopped or dropped.
    let listen = ServerOptions::new(["127.0.0.1:0".parse()?]);
    let server = Server::with_defaults(ServerConfig::default())?;
    let server = start_server(Backend::platform_default(), Arc::new(server), &listen)?;
    let target = server.local_addrs()[0];

    // One second of 1 Mbit/s at 50 frames/s, from the server, then to it.
    for direction in [Direction::Receive, Direction::Send] {
        let mut config = ClientConfig::new(StreamSettings::new(1_000_000, 50, 1), random_token());
        config.direction = direction;
        let results = run_client(
            Backend::platform_default(),
            &ClientOptions::new(target),
            &config,
            &mut (),
        )?;
        for r in &results {
            // The receiving end's numbers, whichever end that was.
            let got = r.received().ok_or("no account of what arrived")?;
            println!(
                "{direction}: {:?}, {} of {} frames completed, jitter {:?}",
                r.status,
                got.frames_completed,
                r.plan.stream_frames(),
                got.jitter,
            );
            assert!(r.succeeded());
        }
    }
    server.stop()?;
    Ok(())
}
