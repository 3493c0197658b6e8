//! What the server's running streams have counted so far, for status
//! output while they run ([`Server::live_streams`]).

use std::time::Instant;

use super::{ConnectedSocketFactory, ConnectedStream, ConnectionManager, Server, StreamRequest};
use crate::pattern::{ReceivedView, Status};

/// One running stream's counters at one moment, from
/// [`Server::live_streams`]: the same numbers its
/// [`StreamResult`](super::StreamResult) will have when it ends, as far
/// as they have got.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LiveStream {
    /// What the stream is: the server's role, the client, the listening
    /// address, the plan and the connection id.
    pub request: StreamRequest,
    /// When it was created.
    pub started: Instant,
    /// Its status (running, or finished and about to be reported).
    pub status: Status,
    /// What the receiving end has measured so far, as
    /// [`StreamResult::received`](super::StreamResult::received) reads
    /// it: this end's own counters when the server receives (JOIN), the
    /// client's latest v1 report when it sends; `None` for a sending
    /// stream without a report yet (or a plain ctsTraffic START).
    pub received: Option<ReceivedView>,
    /// Frames this end has sent.
    pub frames_sent: u64,
    /// Data datagrams this end has sent.
    pub datagrams_sent: u64,
    /// Their bytes, headers included.
    pub bytes_sent: u64,
}

impl LiveStream {
    /// A stream's counters now.
    pub fn of(stream: &ConnectedStream) -> Self {
        let stats = stream.pattern.stats();
        Self {
            request: stream.request,
            started: stream.started,
            status: stream.pattern.status(),
            received: stats.received(stream.request.key.role),
            frames_sent: stats.frames_sent,
            datagrams_sent: stats.datagrams_sent,
            bytes_sent: stats.bytes_sent,
        }
    }
}

impl<M: ConnectionManager, F: ConnectedSocketFactory> Server<M, F> {
    /// Every stream running now, with what it has counted so far: for
    /// status lines and live output while streams run (a finished stream
    /// is reported once, to the observers, with its final counters).
    ///
    /// It visits the streams through
    /// [`ConnectionManager::for_each_stream`]: with the default
    /// [`ShardedConnectionManager`](super::ShardedConnectionManager),
    /// one shard lock at a time, each held only to copy that shard's
    /// counters. Nothing is added to the per-datagram path: call it once
    /// per status interval, not per datagram.
    ///
    /// ```
    /// use mediastream_core::server::{Server, ServerConfig};
    ///
    /// let server = Server::with_defaults(ServerConfig::default())?;
    /// assert!(server.live_streams().is_empty());
    /// # Ok::<(), mediastream_core::settings::SettingsError>(())
    /// ```
    pub fn live_streams(&self) -> Vec<LiveStream> {
        let mut live = Vec::with_capacity(self.manager().len());
        self.manager()
            .for_each_stream(&mut |s| live.push(LiveStream::of(s)));
        live
    }
}
