//! `mediastream relay`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mediastream_core::impair::Impairments;
use mediastream_core::tools::relay::{start_relay, RelayOptions, RelayRecord, Way};

use super::{stop_flag, CliError, Exit};
use crate::args::RelayArgs;
use crate::values;

fn probability(name: &str, p: f64) -> Result<f64, CliError> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(CliError::Usage(format!(
            "--{name} {p} is out of range: accepted 0 to 1"
        )))
    }
}

fn millis(name: &str, ms: u64) -> Result<Duration, CliError> {
    if ms <= 60_000 {
        Ok(Duration::from_millis(ms))
    } else {
        Err(CliError::Usage(format!(
            "--{name} {ms} ms is out of range: accepted 0 to 60000 ms"
        )))
    }
}

#[allow(clippy::print_stdout)]
pub fn run(args: RelayArgs) -> Result<Exit, CliError> {
    let listen =
        values::listen(&args.listen, 0).map_err(|e| CliError::Usage(format!("--listen {e}")))?[0];
    let forward = values::target(&args.forward, 4444)
        .map_err(|e| CliError::Usage(format!("--forward {e}")))?;
    let mut imp = Impairments::default();
    imp.loss = probability("loss", args.loss)?;
    imp.duplicate = probability("duplicate", args.duplicate)?;
    imp.reorder = probability("reorder", args.reorder)?;
    imp.reorder_max = millis("reorder-max", args.reorder_max)?;
    imp.delay = millis("delay", args.delay)?;
    imp.jitter = millis("jitter", args.jitter)?;
    imp.corrupt = probability("corrupt", args.corrupt)?;
    let mut options = RelayOptions::new(listen, forward);
    options.to_server = imp;
    options.to_client = imp;
    options.seed = args.seed;
    if let Some(path) = &args.log {
        crate::report::output::check(
            "--log",
            path,
            crate::report::output::Write::Replace(format!("{path}.partial").into()),
        )?;
    }
    let stop = stop_flag();
    let relay = start_relay(&options)?;
    println!(
        "mediastream relay: {} -> {forward}, {imp:?}, seed {}",
        relay.local_addr(),
        args.seed
    );
    let deadline = args
        .time_limit
        .map(|s| Instant::now() + Duration::from_secs(s.into()));
    while !stop.load(Ordering::SeqCst) && deadline.is_none_or(|d| Instant::now() < d) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = relay.stop()?;
    for way in [Way::ToServer, Way::ToClient] {
        let records: Vec<&RelayRecord> = log.iter().filter(|r| r.way == way).collect();
        let count = |f: &dyn Fn(&RelayRecord) -> bool| records.iter().filter(|r| f(r)).count();
        println!(
            "{way:?}: {} datagrams, {} dropped, {} duplicated, {} corrupted copies",
            records.len(),
            count(&|r| r.copies.is_empty()),
            count(&|r| r.copies.len() > 1),
            records
                .iter()
                .flat_map(|r| &r.copies)
                .filter(|c| c.corrupt.is_some())
                .count()
        );
    }
    if let Some(path) = &args.log {
        let mut text = String::from(RelayRecord::CSV_HEADER);
        text.push('\n');
        for r in &log {
            text.push_str(&r.csv());
            text.push('\n');
        }
        let tmp = format!("{path}.partial");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| CliError::Runtime(format!("--log {path}: {e}")))?;
    }
    Ok(Exit::Success)
}
