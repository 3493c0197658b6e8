//! What the client prints while it runs: status rows summed over every
//! target and iteration, finished streams, and the jitter file's rows.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use mediastream_core::pattern::FrameRecord;
use mediastream_core::server::StreamResult;
use mediastream_core::sys::{ClientObserver, ClientStatus, StreamProgress};

use crate::report::jitter::JitterFile;
use crate::report::live::{self, About, Counts, Live};
use crate::report::text::Text;

pub struct Observer {
    pub text: Text,
    pub jitter: Option<JitterFile>,
    pub jitter_error: Option<std::io::Error>,
    /// Status rows and `--json-stream`.
    pub live: Live,
    /// Bytes of earlier iterations, so status rows keep counting.
    pub base_bytes: u64,
    /// The iteration running (from 0): part of each stream's live key.
    pub round: usize,
}

impl Observer {
    /// A stream's live key: iteration, target, connection.
    fn key(&self, target: usize, connection: usize) -> String {
        format!("{} {target} {connection}", self.round)
    }

    /// A running stream's counts so far. An ended one is settled by its
    /// result instead (`finished`): looking at it again after its entry
    /// retired would count it twice.
    fn progress(&mut self, target: usize, connection: usize, p: &StreamProgress<'_>) {
        if !p.running {
            return;
        }
        let about = || About {
            role: live::role_name(p.role),
            local: Some(p.local.to_string()),
            remote: p.remote.to_string(),
            connection_id: None,
            streams: 1,
        };
        let key = self.key(target, connection);
        self.live
            .tracker
            .observe(&key, about, Counts::of_progress(p), true);
    }

    /// A stream ended: its entry settles to the document's counts.
    fn finished(&mut self, target: usize, connection: usize, result: &StreamResult) {
        let (_, about, counts) = live::own_result(result);
        let key = self.key(target, connection);
        self.live.tracker.settle(&key, || about, counts);
    }

    /// A status row (when one is due) over every target's totals.
    pub fn status(&mut self, sum: &ClientStatus) {
        let now = Instant::now();
        if !self.live.due(now) {
            return;
        }
        let bytes = self.base_bytes + sum.bytes_received + sum.bytes_sent;
        self.live
            .tick(&mut self.text, now, bytes, Some(sum.running));
    }

    /// An iteration ended: the next one's streams get keys of their own.
    pub fn round_done(&mut self) {
        self.round += 1;
    }

    /// The end of the run: the last row and line (every stream settled
    /// by its result already).
    pub fn settle(&mut self) {
        let bytes = self.base_bytes;
        self.live.last(&mut self.text, Instant::now(), bytes);
    }
}

impl ClientObserver for Observer {
    fn on_record(&mut self, _connection: usize, record: FrameRecord) {
        if let (Some(file), None) = (&mut self.jitter, &self.jitter_error) {
            if let Err(e) = file.row(&record) {
                self.jitter_error = Some(e);
            }
        }
    }

    fn on_finished(&mut self, _connection: usize, result: &StreamResult) {
        self.text.stream(result);
    }
}

/// The observer all targets share, and each target's latest totals.
pub struct Shared {
    pub observer: Observer,
    pub latest: Vec<ClientStatus>,
}

/// One target's way into the shared observer: status rows sum every
/// target's latest totals.
pub struct Proxy<'a> {
    pub index: usize,
    pub shared: &'a Mutex<Shared>,
}

impl Proxy<'_> {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClientObserver for Proxy<'_> {
    fn on_record(&mut self, connection: usize, record: FrameRecord) {
        self.lock().observer.on_record(connection, record);
    }

    fn on_status(&mut self, status: &ClientStatus) {
        let mut guard = self.lock();
        let shared = &mut *guard;
        shared.latest[self.index] = *status;
        let sum = ClientStatus::sum(&shared.latest, status.elapsed);
        shared.observer.status(&sum);
    }

    fn on_stream_status(&mut self, connection: usize, progress: &StreamProgress<'_>) {
        self.lock()
            .observer
            .progress(self.index, connection, progress);
    }

    fn on_finished(&mut self, connection: usize, result: &StreamResult) {
        let mut shared = self.lock();
        let observer = &mut shared.observer;
        observer.finished(self.index, connection, result);
        observer.on_finished(connection, result);
    }
}
