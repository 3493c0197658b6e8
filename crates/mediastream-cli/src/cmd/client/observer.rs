//! What the client prints while it runs: status rows summed over every
//! target and iteration, finished streams, and the jitter file's rows.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use mediastream_core::pattern::FrameRecord;
use mediastream_core::server::StreamResult;
use mediastream_core::sys::{ClientObserver, ClientStatus};

use super::super::StatusClock;
use crate::report::jitter::JitterFile;
use crate::report::text::Text;
use crate::report::Frames;

pub struct Observer {
    pub text: Text,
    pub jitter: Option<JitterFile>,
    pub jitter_error: Option<std::io::Error>,
    pub clock: StatusClock,
    pub start: Instant,
    /// Totals of earlier iterations, so status rows keep counting.
    pub base_bytes: u64,
    pub base_frames: Frames,
}

impl ClientObserver for Observer {
    fn on_record(&mut self, _connection: usize, record: FrameRecord) {
        if let (Some(file), None) = (&mut self.jitter, &self.jitter_error) {
            if let Err(e) = file.row(&record) {
                self.jitter_error = Some(e);
            }
        }
    }

    fn on_status(&mut self, s: &ClientStatus) {
        let frames = Frames {
            completed: self.base_frames.completed + s.frames_completed,
            dropped: self.base_frames.dropped + s.frames_dropped,
            repeated: self.base_frames.repeated + s.frames_repeated,
            error: self.base_frames.error + s.frames_error,
            ..Frames::default()
        };
        let bytes = self.base_bytes + s.bytes_received + s.bytes_sent;
        if let Some(row) = self
            .clock
            .tick(Instant::now(), self.start, s.running, bytes, frames)
        {
            self.text.status(&row);
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
        let mut shared = self.lock();
        shared.latest[self.index] = *status;
        let sum = ClientStatus::sum(&shared.latest, status.elapsed);
        shared.observer.on_status(&sum);
    }

    fn on_finished(&mut self, connection: usize, result: &StreamResult) {
        self.lock().observer.on_finished(connection, result);
    }
}
