//! A real stream over loopback through the mio backend, measured:
//! the sender's frame lateness (scheduled vs actual send) and the CPU
//! time of the server's and the client's threads.
//!
//! `cargo bench --bench loopback -- [MBIT] [FPS] [SECS] [send]`
//! (defaults: 100 Mbit/s, 60 frames/s, 10 s, server sends).
#![allow(clippy::print_stdout)]

use std::sync::{mpsc, Arc};
use std::time::Duration;

use mediastream::client::{ClientConfig, Direction};
use mediastream::server::{Server, ServerConfig};
use mediastream::settings::StreamSettings;
use mediastream::sys::{run_client, start_server, Backend, ClientOptions, ServerOptions};

/// CPU seconds (user + system) of this process's threads whose name
/// starts with `prefix` (the kernel keeps 15 characters of a name), from
/// /proc (Linux only; 0 elsewhere).
fn thread_cpu(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let ticks = 100.0; // USER_HZ on every Linux we run on
    tasks
        .flatten()
        .filter_map(|t| {
            let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
            if !comm.trim().starts_with(prefix) {
                return None;
            }
            let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
            // Fields after the ")" that ends the name: utime is 14th, stime 15th overall.
            let rest = &stat[stat.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f[11].parse::<f64>().ok()? + f[12].parse::<f64>().ok()?) / ticks)
        })
        .fold(0.0, |a, b| a + b)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let num = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (mbit, fps, secs) = (num(0, 100), num(1, 60) as u32, num(2, 10) as u32);
    let direction = if args.get(3).map(String::as_str) == Some("send") {
        Direction::Send
    } else {
        Direction::Receive
    };
    let settings = StreamSettings::new(mbit * 1_000_000, fps, secs);

    let (tx, results) = mpsc::channel();
    let server = Server::with_defaults(ServerConfig::default())?.on_finished(move |r| {
        let _ = tx.send(r.clone());
    });
    let mut options = ServerOptions::new(vec!["127.0.0.1:0".parse()?]);
    options.shards = 1;
    let handle = start_server(Backend::platform_default(), Arc::new(server), &options)?;
    let target = handle.local_addrs()[0];
    let mut config = ClientConfig::new(settings, 0x5eed);
    config.direction = direction;
    let client = std::thread::Builder::new()
        .name("bench-client".into())
        .spawn(move || {
            let r = run_client(
                Backend::platform_default(),
                &ClientOptions::new(target),
                &config,
                &mut (),
            );
            (r, thread_cpu("bench-client"))
        })?;
    let (client_results, client_cpu) = client.join().map_err(|_| "client thread panicked")?;
    let client_result = client_results?.remove(0);
    let server_result = results.recv_timeout(Duration::from_secs(30))?;
    let server_cpu = thread_cpu("mediastream-sh");
    handle.stop()?;

    let sender = if direction == Direction::Receive {
        &server_result
    } else {
        &client_result
    };
    let receiver = if direction == Direction::Receive {
        &client_result
    } else {
        &server_result
    };
    let l = &sender.stats.lateness;
    let q = |p| l.histogram.quantile(p).unwrap_or_default();
    let s = &receiver.stats;
    println!(
        "stream: {mbit} Mbit/s, {fps} frames/s, {secs} s, {:?} (server {:?})",
        direction, server_result.role
    );
    println!(
        "receiver: completed {} dropped {} repeated {} errors {}, jitter {:.1} us, status {:?}",
        s.frames_completed,
        s.frames_dropped,
        s.frames_repeated,
        s.frames_error,
        s.jitter_secs * 1e6,
        receiver.status
    );
    println!(
        "sender lateness over {} frames: median {:?}, p99 {:?}, max {:?} ({} late)",
        l.frames,
        q(0.5),
        q(0.99),
        l.max,
        l.late_frames
    );
    let datagrams = sender.stats.datagrams_sent as f64;
    println!(
        "cpu: server {server_cpu:.2} s, client {client_cpu:.2} s over {secs} s ({:.1}% / {:.1}% of a core); {:.2} / {:.2} s per million datagrams",
        server_cpu / f64::from(secs) * 100.0,
        client_cpu / f64::from(secs) * 100.0,
        server_cpu / datagrams * 1e6,
        client_cpu / datagrams * 1e6,
    );
    Ok(())
}
