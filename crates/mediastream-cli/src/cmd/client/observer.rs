//! What the client prints while it runs: status rows summed over every
//! target and iteration, finished streams, and the jitter file's rows.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use mediastream_core::pattern::FrameRecord;
use mediastream_core::server::StreamResult;
use mediastream_core::sys::{ClientObserver, ClientStatus};

use crate::report::jitter::JitterFile;
use crate::report::live::{About, Counts, Live};
use crate::report::text::Text;

pub struct Observer {
    pub text: Text,
    pub jitter: Option<JitterFile>,
    pub jitter_error: Option<std::io::Error>,
    /// Status rows and `--json-stream`.
    pub live: Live,
    /// Bytes of earlier iterations, so status rows keep counting.
    pub base_bytes: u64,
    /// Each `--target`'s streams, one live entry each.
    pub targets: Vec<Target>,
}

/// One `--target`'s streams as one live entry: a client sees its streams'
/// totals while they run, not each stream's.
pub struct Target {
    /// Its place among the targets (one may be given twice).
    pub key: String,
    pub about: About,
    /// Streams of earlier iterations, as the document counts them.
    pub base: Counts,
    /// Every finished stream so far, as the document counts them.
    pub finished: Counts,
}

impl Observer {
    /// Status rows sum every target; each target's entry counts its
    /// streams of earlier iterations and this one's so far.
    pub fn status(&mut self, sum: &ClientStatus, latest: &[ClientStatus]) {
        let now = Instant::now();
        if !self.live.due(now) {
            return;
        }
        for (t, s) in self.targets.iter().zip(latest) {
            let counts = t.base.plus(Counts::of_status(s));
            let about = || t.about.clone();
            self.live
                .tracker
                .observe(&t.key, about, counts, s.running > 0);
        }
        let bytes = self.base_bytes + sum.bytes_received + sum.bytes_sent;
        self.live
            .tick(&mut self.text, now, bytes, Some(sum.running));
    }

    /// An iteration ended: its streams count from now on as finished.
    pub fn round_done(&mut self) {
        for t in &mut self.targets {
            t.base = t.finished;
        }
    }

    /// The end of the run: every target's entry settled with its
    /// finished streams' counts (the document's), and the last row and
    /// line.
    pub fn settle(&mut self) {
        for t in &self.targets {
            let about = || t.about.clone();
            self.live.tracker.settle(&t.key, about, t.finished);
        }
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
        shared.observer.status(&sum, &shared.latest);
    }

    fn on_finished(&mut self, connection: usize, result: &StreamResult) {
        let mut shared = self.lock();
        let observer = &mut shared.observer;
        if let Some(t) = observer.targets.get_mut(self.index) {
            t.finished = t.finished.plus(Counts::of_result(result));
        }
        observer.on_finished(connection, result);
    }
}
