//! The client's rounds: every target's streams at once, one round per
//! iteration, status rows counting on across them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use mediastream_core::client::ClientConfig;
use mediastream_core::server::StreamResult;
use mediastream_core::sys::{run_client, Backend, ClientOptions, ClientStatus};

use super::super::CliError;
use super::observer::{Proxy, Shared};

/// Runs `iterations` rounds, fewer when `stop` is set; every finished
/// stream, in order.
pub fn iterate(
    backend: Backend,
    iterations: u32,
    runs: &[(ClientOptions, ClientConfig)],
    shared: &Mutex<Shared>,
    stop: &AtomicBool,
) -> Result<Vec<StreamResult>, CliError> {
    let mut results = Vec::new();
    for _ in 0..iterations {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let batch = run_round(backend, runs, shared)?;
        let mut guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
        guard.latest.fill(ClientStatus::default());
        let observer = &mut guard.observer;
        observer.base_bytes += batch
            .iter()
            .map(|r| r.stats.bytes_received + r.stats.bytes_sent)
            .sum::<u64>();
        observer.round_done();
        drop(guard);
        results.extend(batch);
    }
    Ok(results)
}

/// One round: every target's streams at once, one thread per target
/// (one target runs on this thread). Results in target order; the first
/// error, if any, once every target is done.
fn run_round(
    backend: Backend,
    runs: &[(ClientOptions, ClientConfig)],
    shared: &Mutex<Shared>,
) -> Result<Vec<StreamResult>, CliError> {
    let one = |index: usize| {
        let (options, config) = &runs[index];
        let mut proxy = Proxy { index, shared };
        let outcome = run_client(backend, options, config, &mut proxy);
        if let Ok(results) = &outcome {
            proxy.lock().latest[index] = ClientStatus::of_results(results);
        }
        outcome
    };
    if runs.len() == 1 {
        return Ok(one(0)?);
    }
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..runs.len())
            .map(|i| scope.spawn(move || one(i)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut results = Vec::new();
    for ((options, _), outcome) in runs.iter().zip(outcomes) {
        match outcome {
            Ok(Ok(batch)) => results.extend(batch),
            Ok(Err(e)) => {
                return Err(CliError::Runtime(format!(
                    "--target {}: {e}",
                    options.target
                )))
            }
            Err(_) => {
                return Err(CliError::Runtime(format!(
                    "--target {}: the client thread panicked",
                    options.target
                )))
            }
        }
    }
    Ok(results)
}
