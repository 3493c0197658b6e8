//! A client run on its own thread, behind a handle that stops, joins or
//! checks it: what an application with its own event loop (or an async
//! runtime) embeds.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::{Backend, ClientObserver, ClientOptions};
use crate::client::ClientConfig;
use crate::server::StreamResult;

/// A client run started by [`start_client`](super::start_client): one
/// thread (mio) or a few (IOCP) driving every connection.
///
/// Dropping the handle stops the run and waits for its threads (at most a
/// stop check, 50 ms, plus the streams' aborts); [`detach`](Self::detach)
/// lets it run to its end instead.
#[derive(Debug)]
pub struct ClientHandle {
    thread: Option<JoinHandle<io::Result<Vec<StreamResult>>>>,
    stop: Arc<AtomicBool>,
}

impl ClientHandle {
    /// Starts the run on a new thread named `mediastream-client-run`.
    pub(crate) fn spawn(
        backend: Backend,
        mut options: ClientOptions,
        config: ClientConfig,
        mut observer: impl ClientObserver + Send + 'static,
    ) -> io::Result<Self> {
        // Refuse a run that cannot start here, not at join.
        config.plan()?;
        let stop = options
            .stop
            .get_or_insert_with(|| Arc::new(AtomicBool::new(false)))
            .clone();
        let thread = std::thread::Builder::new()
            .name("mediastream-client-run".into())
            .spawn(move || super::run_client(backend, &options, &config, &mut observer))?;
        Ok(Self {
            thread: Some(thread),
            stop,
        })
    }

    /// True once every stream ended (or the run failed): [`join`](Self::join)
    /// will not block.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Asks the run to end now, without waiting: streams still running
    /// are aborted ("interrupted") with what they counted so far.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Ends the run now and returns every stream's result, the aborted
    /// ones with their partial counters. Returns within about 50 ms (the
    /// backends' stop check) plus the time to close the sockets.
    pub fn stop(mut self) -> io::Result<Vec<StreamResult>> {
        self.request_stop();
        self.wait()
    }

    /// Blocks until every stream ended by itself (or the options' time
    /// limit or stop flag ended them), and returns one result per stream.
    pub fn join(mut self) -> io::Result<Vec<StreamResult>> {
        self.wait()
    }

    /// Lets the run go on to its end with nobody waiting for it.
    pub fn detach(mut self) {
        self.thread = None;
    }

    fn wait(&mut self) -> io::Result<Vec<StreamResult>> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the client run panicked"))),
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for ClientHandle {
    /// Stops and joins the run unless it was joined, stopped or detached.
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.request_stop();
            if let Err(e) = self.wait() {
                log::warn!("the client run dropped with its handle ended with an error: {e}");
            }
        }
    }
}
