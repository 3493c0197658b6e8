//! mediastream inside a tokio application, without blocking its runtime.
//!
//! A server and two client streams (one each way) run on the library's own
//! threads: a runtime's timer ticks in whole milliseconds and cannot pace
//! frames, so the I/O stays where it can. The application talks to them
//! through what never blocks: `start_server` and `start_client` return at
//! once, results come back over a tokio channel from the observers, and
//! the only blocking calls (stopping and joining) go to `spawn_blocking`.
//! Meanwhile a task ticks every 10 ms on the same single-threaded runtime;
//! if anything blocked it, the tick count would show it.
//!
//! `cargo run --example async_app`: prints each stream and the ticks, and
//! exits 1 if a stream failed or the runtime was starved.
#![allow(clippy::print_stdout)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediastream::client::{ClientConfig, Direction};
use mediastream::server::{Server, ServerConfig, StreamResult};
use mediastream::settings::StreamSettings;
use mediastream::sys::{
    start_client, start_server, Backend, ClientObserver, ClientOptions, ServerOptions,
};
use tokio::sync::mpsc;

/// Hands each finished stream to the async side.
struct Forward(mpsc::UnboundedSender<StreamResult>);

impl ClientObserver for Forward {
    fn on_finished(&mut self, _connection: usize, result: &StreamResult) {
        // An unbounded send never blocks the client's thread.
        let _ = self.0.send(result.clone());
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_millis(10));
            loop {
                every.tick().await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        }
    });

    let server = Server::with_defaults(ServerConfig::default())?;
    let options = ServerOptions::new(["127.0.0.1:0".parse()?]);
    let server = start_server(Backend::platform_default(), Arc::new(server), &options)?;
    let target = server.local_addrs()[0];

    let (tx, mut finished) = mpsc::unbounded_channel();
    let started = Instant::now();
    let mut runs = Vec::new();
    for (token, direction) in [(1, Direction::Receive), (2, Direction::Send)] {
        let mut config = ClientConfig::new(StreamSettings::new(2_000_000, 50, 2), token);
        config.direction = direction;
        let observer = Forward(tx.clone());
        runs.push(start_client(
            Backend::platform_default(),
            ClientOptions::new(target),
            config,
            observer,
        )?);
    }

    let mut failed = false;
    for _ in 0..runs.len() {
        let r = tokio::time::timeout(Duration::from_secs(30), finished.recv())
            .await?
            .ok_or("a client run ended without its result")?;
        // Whichever end received, its numbers in one view.
        let seen = r.received().ok_or("no account of what was received")?;
        println!(
            "{:?}: {:?}, receiver completed {} dropped {} of {} frames, jitter {:?}",
            r.role,
            r.status,
            seen.frames_completed,
            seen.frames_dropped,
            r.plan.stream_frames(),
            seen.jitter,
        );
        failed |= !r.succeeded();
    }
    let elapsed = started.elapsed();
    tokio::task::spawn_blocking(move || {
        for run in runs {
            let _ = run.join();
        }
        server.stop()
    })
    .await??;
    ticker.abort();

    let ticks = ticks.load(Ordering::Relaxed);
    // A 10 ms interval over the run; a blocked runtime would show far fewer.
    let expected = elapsed.as_millis() as u64 / 10;
    println!("runtime ticks while streaming: {ticks} in {elapsed:.2?} (about {expected} expected)");
    if ticks < expected / 2 {
        println!("the runtime was starved");
        failed = true;
    }
    std::process::exit(i32::from(failed));
}
