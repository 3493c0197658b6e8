//! The one status loop of a server running in this process (`server`,
//! and `loopback`'s own server): the streams it finishes, collected as
//! they finish, and a status row each interval, until told to stop.

use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use mediastream_core::server::{ConnectionManager, ServerStats, StreamResult};

use super::super::{frames_of, StatusClock};
use super::{requests_line, Served};
use crate::report::text::Text;

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
}

impl Watch {
    /// `mediastream server`: everything it serves, as it happens.
    pub const SERVER: Watch = Watch {
        both_ways: true,
        print_streams: true,
        streams_first: true,
        counters: true,
    };
    /// `mediastream loopback`: rows only; the streams are printed at the
    /// end, from the clients' side.
    pub const LOOPBACK: Watch = Watch {
        both_ways: false,
        print_streams: false,
        streams_first: false,
        counters: false,
    };
}

impl Served {
    /// Runs until `done` (asked after each wait of up to 50 ms, and a
    /// status row when one is due) says stop, or the server is gone; the
    /// streams it finished.
    pub fn watch(
        &self,
        text: &mut Text,
        (mut clock, start): (StatusClock, Instant),
        how: &Watch,
        mut done: impl FnMut(&mut Text) -> bool,
    ) -> Vec<StreamResult> {
        let (handle, finished) = (&self.handle, &self.finished);
        let mut results = Vec::new();
        let mut shown = ServerStats::default();
        loop {
            match finished.recv_timeout(Duration::from_millis(50)) {
                Ok(r) => {
                    if how.print_streams {
                        text.stream(&r);
                    }
                    results.push(r);
                    if how.streams_first {
                        continue;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let traffic = handle.traffic();
            let bytes = if how.both_ways {
                traffic.bytes_sent + traffic.bytes_received
            } else {
                traffic.bytes_sent
            };
            let streams = handle.server().manager().len();
            if let Some(row) =
                clock.tick(Instant::now(), start, streams, bytes, frames_of(&results))
            {
                text.status(&row);
                if how.counters {
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
}
