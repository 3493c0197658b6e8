use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::{Ignored, StreamKey, StreamRequest, StreamResult};
use crate::wire::v1::RefuseCode;

/// Hooks for a [`Server`](super::Server)'s stream events: logging,
/// metrics or an audit trail without wrapping the whole
/// [`ConnectionManager`](super::ConnectionManager). Every method has a
/// no-op default, so an observer implements only what it needs.
///
/// They run on the backend's threads, on the receive and drive paths,
/// and maybe on several threads at once: keep them short, never block.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use mediastream_core::server::{Server, ServerConfig, ServerObserver, StreamResult};
///
/// /// Counts finished streams.
/// #[derive(Default)]
/// struct Finished(AtomicU64);
///
/// impl ServerObserver for Finished {
///     fn stream_finished(&self, _: &StreamResult) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let finished = Arc::new(Finished::default());
/// let server = Server::with_defaults(ServerConfig::default())?.with_observer(finished.clone());
/// assert_eq!(finished.0.load(Ordering::Relaxed), 0);
/// # Ok::<(), mediastream_core::settings::SettingsError>(())
/// ```
pub trait ServerObserver: Send + Sync {
    /// A stream was created and will be driven (its request passed every
    /// check and took a slot).
    fn stream_started(&self, request: &StreamRequest, now: Instant) {
        let _ = (request, now);
    }

    /// A stream ended (completed, failed, aborted or shut down) and was
    /// removed; `result` is its final account. It is called when the
    /// server's side of the stream ends, which can be after the client's
    /// side did (the server lingers for late reports): count after the
    /// server's `stop` or `join` for exact totals.
    fn stream_finished(&self, result: &StreamResult) {
        let _ = result;
    }

    /// A request got no stream: refused with an answer, or (a plain
    /// START, which has no way to be refused, or a queued request whose
    /// slot could not be used) dropped.
    fn stream_refused(&self, refused: &StreamRefused<'_>) {
        let _ = refused;
    }
}

impl<T: ServerObserver + ?Sized> ServerObserver for Arc<T> {
    fn stream_started(&self, request: &StreamRequest, now: Instant) {
        (**self).stream_started(request, now);
    }

    fn stream_finished(&self, result: &StreamResult) {
        (**self).stream_finished(result);
    }

    fn stream_refused(&self, refused: &StreamRefused<'_>) {
        (**self).stream_refused(refused);
    }
}

/// A request that got no stream, as a [`ServerObserver`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamRefused<'a> {
    /// The role the server would have played, and the client's address.
    pub key: StreamKey,
    /// The listening address the request came in on.
    pub local: SocketAddr,
    /// When.
    pub now: Instant,
    /// Why, and whether the client was told.
    pub why: Refusal<'a>,
}

/// Why a request got no stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal<'a> {
    /// A v1 REFUSE went to the client with this code and reason.
    Answered {
        /// The code sent.
        code: RefuseCode,
        /// The reason sent.
        reason: &'a str,
    },
    /// Nothing was sent (a plain START, or a request that had waited for
    /// a slot); the client's retries may still get a stream.
    Dropped(Ignored),
}

/// [`Server::on_finished`](super::Server::on_finished)'s closure as an
/// observer.
pub(super) struct OnFinished<F>(pub(super) F);

impl<F: Fn(&StreamResult) + Send + Sync> ServerObserver for OnFinished<F> {
    fn stream_finished(&self, result: &StreamResult) {
        (self.0)(result);
    }
}
