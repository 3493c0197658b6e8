//! The one status loop of a server running in this process (`server`,
//! and `loopback`'s own server): the streams it finishes, collected as
//! they finish, and a status row each interval, until told to stop.

use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use mediastream_core::server::{ServerStats, StreamResult};

use super::{requests_line, Served};
use crate::report::live::{server_side, Counts, Live};
use crate::report::text::Text;
use crate::report::Finished;

/// What the loop prints besides status rows, and what a row counts.
pub struct Watch {
    /// Rows count what the server sent and received (`server`), or what
    /// it sent only (`loopback`: one direction's rate, the rate its first
    /// line gives for each direction).
    pub both_ways: bool,
    /// Each stream the server finishes is printed as it finishes
    /// (`loopback` prints its clients' streams instead, at the end).
    pub print_streams: bool,
    /// Finished streams are taken before any row is made or `done`
    /// asked, so a busy server reports every stream first (`server`);
    /// otherwise every wake-up makes a row and asks `done`, so the loop
    /// ends as soon as it may (`loopback`, whose clients end it).
    pub streams_first: bool,
    /// After a row, the server's request counters when they changed.
    pub counters: bool,
    /// Live counts are the clients' streams seen through the server
    /// (`loopback`, whose document has the clients' streams), not the
    /// server's own (`server`).
    pub clients_view: bool,
}

impl Watch {
    /// `mediastream server`: everything it serves, as it happens.
    pub const SERVER: Watch = Watch {
        both_ways: true,
        print_streams: true,
        streams_first: true,
        counters: true,
        clients_view: false,
    };
    /// `mediastream loopback`: rows only; the streams are printed at the
    /// end, from the clients' side.
    pub const LOOPBACK: Watch = Watch {
        both_ways: false,
        print_streams: false,
        streams_first: false,
        counters: false,
        clients_view: true,
    };
}

impl Served {
    /// Runs until `done` (asked after each wait of up to 50 ms, and a
    /// status row when one is due) says stop, or the server is gone; the
    /// streams it finished. Rows and `--json-stream` lines count the
    /// running streams' frames as they complete.
    pub fn watch(
        &self,
        text: &mut Text,
        live: &mut Live,
        how: &Watch,
        summary: &mut Finished,
        mut done: impl FnMut(&mut Text) -> bool,
    ) -> Vec<StreamResult> {
        let (handle, finished) = (&self.handle, &self.finished);
        let keep = self.keep_results;
        let mut results = Vec::new();
        let mut shown = ServerStats::default();
        loop {
            match finished.recv_timeout(Duration::from_millis(50)) {
                Ok(r) => {
                    if how.print_streams {
                        text.stream(&r);
                    }
                    finished_stream(live, &r, how.clients_view);
                    let kept = keep.then_some(&mut results);
                    fold(r, self.metrics.as_deref(), summary, kept);
                    if how.streams_first {
                        continue;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = Instant::now();
            if live.due(now) {
                self.look(live, how.clients_view);
                let traffic = handle.traffic();
                let bytes = if how.both_ways {
                    traffic.bytes_sent + traffic.bytes_received
                } else {
                    traffic.bytes_sent
                };
                if live.tick(text, now, bytes, None) && how.counters {
                    let counters = handle.server().stats();
                    if counters != shown {
                        text.line(&requests_line(&counters));
                        shown = counters;
                    }
                }
            }
            if done(text) {
                break;
            }
        }
        results
    }

    /// Every running stream's counts so far, into `live`.
    pub fn look(&self, live: &mut Live, clients_view: bool) {
        for s in self.handle.server().live_streams() {
            let r = &s.request;
            let (key, about, counts) = server_side(
                (r.key.role, r.local, r.key.remote),
                Some(r.connection_id),
                Counts::of_live(&s),
                clients_view,
            );
            live.tracker.observe(&key, || about, counts, true);
        }
    }
}

/// A finished stream whose line is printed: `--metrics-listen` and the
/// run's summary count it, and `kept` (the results for a JSON document)
/// keeps it when given; otherwise it is dropped here, so that a server's
/// memory tracks its live streams, not every stream it served.
pub fn fold(
    r: StreamResult,
    metrics: Option<&super::metrics::Collected>,
    summary: &mut Finished,
    kept: Option<&mut Vec<StreamResult>>,
) {
    if let Some(metrics) = metrics {
        metrics.finished(&r);
    }
    summary.add(&r);
    if let Some(kept) = kept {
        kept.push(r);
    }
}

/// A stream the server finished, into `live`: its final counts
/// (`server`), or (`loopback`, whose clients' results settle the counts
/// at the end) the last the server saw of it.
pub fn finished_stream(live: &mut Live, r: &StreamResult, clients_view: bool) {
    let (key, about, counts) = server_side(
        (r.role, r.local, r.remote),
        r.connection_id,
        Counts::of_result(r),
        clients_view,
    );
    if clients_view {
        live.tracker.observe(&key, || about, counts, false);
    } else {
        live.tracker.settle(&key, || about, counts);
    }
}
