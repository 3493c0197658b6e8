use super::{Received, StreamKey};
use crate::server::ListenerId;
use crate::wire::v1::REQUEST_LEN;

/// What a listening socket calls with every datagram it receives.
///
/// The listener is protocol-agnostic: it passes the bytes, its id and
/// address, and the peer's address, and acts on the answer. Implementations
/// must be cheap and must not block: they run on the receive path.
///
/// ```
/// use mediastream_core::server::{Handled, ListenerHandler, Received};
///
/// /// Counts datagrams and serves nothing.
/// struct Counter(std::sync::atomic::AtomicU64);
///
/// impl ListenerHandler for Counter {
///     fn on_datagram(&self, _datagram: Received<'_>) -> Handled {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         Handled::Ignored(mediastream_core::server::Ignored::Unknown)
///     }
/// }
/// ```
pub trait ListenerHandler: Send + Sync {
    /// Takes one datagram and says what the listener should do next.
    fn on_datagram(&self, datagram: Received<'_>) -> Handled;
}

/// What became of a datagram, and what the listener should do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handled {
    /// Given to an existing stream: drive it (its answer may be due now).
    Delivered(StreamKey),
    /// A new stream was created: drive it.
    Started(StreamKey),
    /// The request waits for an accepting slot.
    Queued,
    /// Send this answer from the same listener (a challenge or a refusal).
    Reply(Reply),
    /// Dropped, for this reason (counted by the server).
    Ignored(Ignored),
}

/// A short answer to send to a peer; never larger than a v1 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The listener to send from.
    pub listener: ListenerId,
    /// Where to.
    pub remote: std::net::SocketAddr,
    len: usize,
    bytes: [u8; REQUEST_LEN],
}

impl Reply {
    /// Builds a reply by letting `emit` write into a request-sized buffer.
    pub fn new(
        listener: ListenerId,
        remote: std::net::SocketAddr,
        emit: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Option<Self> {
        let mut bytes = [0u8; REQUEST_LEN];
        let len = emit(&mut bytes)?;
        Some(Self {
            listener,
            remote,
            len,
            bytes,
        })
    }

    /// The datagram to send.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.len]
    }
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ignored {
    /// START from a peer that already has a stream (ctsTraffic counts it
    /// as "repeated").
    RepeatedStart,
    /// Stream data or a report for no stream we know.
    NoStream,
    /// A well-formed datagram a server never expects (connection id, ACCEPT).
    Unexpected,
    /// Not parseable.
    Malformed,
    /// A flag we do not know.
    Unknown,
    /// No room: the awaiting table is full.
    Busy,
    /// Plain START while the server refuses ctsTraffic clients, or from a
    /// source it does not serve them to.
    CompatDisabled,
    /// The server has started as many streams as it was told to.
    ExitLimit,
    /// The factory could not create the stream.
    FactoryFailed,
    /// Over the per-source request rate or stream cap.
    RateLimited,
    /// A keyed server got a v1 datagram without a valid tag.
    Unkeyed,
}
