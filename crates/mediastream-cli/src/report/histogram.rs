//! `--histogram-file`: the delay histograms of every received stream as
//! CSV, one row per non-empty bucket, for spreadsheets and plotting.

use std::io::{self, Write};
use std::path::Path;

use mediastream_core::pattern::metrics::DelayHistogram;
use mediastream_core::server::StreamResult;

use super::metrics::Basis;

/// The header row; `stream` is the index in the JSON document's
/// `streams`, `basis` says whether delays are absolute (`same_host`) or
/// relative to the stream's smallest delay; IPDV is always a difference.
pub const HEADER: &str = "stream,remote,metric,basis,low_ms,high_ms,count";

/// Writes the CSV for `results` to `path` (`-` for stdout).
pub fn write(path: &str, results: &[StreamResult]) -> io::Result<()> {
    let mut out = Vec::new();
    writeln!(out, "{HEADER}")?;
    for (index, r) in results.iter().enumerate() {
        let Some(m) = r.stats.metrics.as_deref() else {
            continue;
        };
        let basis = Basis::of(m, r.local, r.remote);
        let rows: [(&str, &DelayHistogram, Option<Basis>); 4] = [
            ("frame_delay_first", &m.frame_first_delay, Some(basis)),
            ("frame_delay_last", &m.frame_last_delay, Some(basis)),
            ("datagram_delay", &m.datagram_delay, Some(basis)),
            ("ipdv", &m.ipdv, None),
        ];
        for (metric, h, basis) in rows {
            let ms = |ns: i64| basis.map_or(ns as f64 / 1e6, |b| b.ms(ns));
            let name = basis.map_or("difference", |b| b.name);
            for b in h.buckets() {
                writeln!(
                    out,
                    "{index},{},{metric},{name},{:.6},{:.6},{}",
                    r.remote,
                    ms(b.low),
                    ms(b.high),
                    b.count
                )?;
            }
        }
    }
    if path == "-" {
        return io::stdout().write_all(&out);
    }
    std::fs::write(Path::new(path), out)
}
