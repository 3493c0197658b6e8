use std::net::SocketAddr;
use std::time::Instant;

use crate::pattern::{Greeter, Greeting, ReceivedView, Role, Status, StreamStats, V1Session};
use crate::settings::StreamPlan;
use crate::wire::ConnectionId;

/// Identifies one listening socket (one `--listen` address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(pub u32);

/// A stream as the server knows it: the server's role and the peer.
///
/// Keys carry the role so that a table or a queue between listener and
/// server can never hand a receiver's datagram to a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// The role the *server* plays in this stream.
    pub role: Role,
    /// The client's address.
    pub remote: SocketAddr,
}

impl StreamKey {
    /// The server sends to `remote`.
    pub fn sender(remote: SocketAddr) -> Self {
        Self {
            role: Role::Sender,
            remote,
        }
    }

    /// The server receives from `remote`.
    pub fn receiver(remote: SocketAddr) -> Self {
        Self {
            role: Role::Receiver,
            remote,
        }
    }
}

/// One datagram as a listening socket received it. The listener fills
/// this in and never looks inside `bytes`.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// Which listening socket.
    pub listener: ListenerId,
    /// Its local address.
    pub local: SocketAddr,
    /// The sender's address.
    pub remote: SocketAddr,
    /// The datagram.
    pub bytes: &'a [u8],
    /// When it was received.
    pub now: Instant,
    /// The IP TOS / traffic-class byte it arrived with (DSCP and ECN;
    /// see [`crate::marking`]), where the backend reads it (Linux);
    /// `None` elsewhere.
    pub tos: Option<u8>,
}

impl<'a> Received<'a> {
    /// A datagram `bytes` from `remote` on listener `listener` (at
    /// `local`), received at `now`, its marking unknown.
    pub fn new(
        listener: ListenerId,
        local: SocketAddr,
        remote: SocketAddr,
        bytes: &'a [u8],
        now: Instant,
    ) -> Self {
        Self {
            listener,
            local,
            remote,
            bytes,
            now,
            tos: None,
        }
    }
}

/// Everything the server needs to build and run one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamRequest {
    /// The server's role and the client's address.
    pub key: StreamKey,
    /// The listening socket the request came in on; the stream's datagrams
    /// leave from it (as ctsTraffic's do).
    pub listener: ListenerId,
    /// That socket's address.
    pub local: SocketAddr,
    /// The stream's plan.
    pub plan: StreamPlan,
    /// v1 session parameters; `None` for a plain ctsTraffic START.
    pub v1: Option<V1Session>,
    /// The id announced to the client.
    pub connection_id: ConnectionId,
    /// v1: the frame-size model the request asked for (frame data).
    pub media: Option<crate::wire::MediaRequest>,
}

impl StreamRequest {
    /// What the stream must send its client first: an ACCEPT for a v1
    /// request, the connection-id datagram for a plain START (see
    /// [`Greeter`] for the rule, and for resending it).
    pub fn greeting(&self) -> Greeting {
        match self.v1 {
            Some(_) => Greeting::Accept(self.connection_id),
            None => Greeting::ConnectionId(self.connection_id),
        }
    }

    /// A [`Greeter`] owing this stream's greeting: what a custom
    /// server-side [`IoPattern`](crate::pattern::IoPattern) holds to
    /// send it and to answer a repeated request.
    pub fn greeter(&self) -> Greeter {
        Greeter::new(self.greeting(), self.v1.as_ref())
    }
}

/// A request waiting for an accepting slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwaitingEndpoint {
    /// What the stream will be.
    pub request: StreamRequest,
    /// When the request arrived (old ones expire: the client retries).
    pub received: Instant,
}

/// Room for one more stream of a role, optionally reserved for one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptingSlot {
    /// The role a stream must have to take this slot.
    pub role: Role,
    /// Only this peer may take it; `None` for any peer.
    pub remote: Option<SocketAddr>,
}

impl AcceptingSlot {
    /// True when `endpoint` may take this slot: same role, and the slot's
    /// peer if it names one.
    pub fn accepts(&self, endpoint: &AwaitingEndpoint) -> bool {
        self.role == endpoint.request.key.role
            && self.remote.is_none_or(|r| r == endpoint.request.key.remote)
    }
}

/// The final account of one stream, from either end.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StreamResult {
    /// The role this end played.
    pub role: Role,
    /// This end's address.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// The connection id, when one was announced.
    pub connection_id: Option<ConnectionId>,
    /// The plan the stream followed.
    pub plan: StreamPlan,
    /// True for a v1 stream (peer view available).
    pub v1: bool,
    /// How it ended.
    pub status: Status,
    /// Its counters.
    pub stats: StreamStats,
    /// When it started.
    pub started: Instant,
    /// When it ended.
    pub ended: Instant,
}

impl StreamResult {
    /// A stream of `plan` between `local` and `remote` that started and
    /// ended at `started`, still running, with no counts: for backends
    /// and tests that make their own results.
    pub fn new(
        role: Role,
        local: SocketAddr,
        remote: SocketAddr,
        plan: StreamPlan,
        started: Instant,
    ) -> Self {
        Self {
            role,
            local,
            remote,
            connection_id: None,
            plan,
            v1: false,
            status: Status::Running,
            stats: StreamStats::default(),
            started,
            ended: started,
        }
    }

    /// True when it completed (dropped frames alone do not fail it).
    pub fn succeeded(&self) -> bool {
        self.status == Status::Completed
    }

    /// What the receiving end measured (frames completed, dropped,
    /// repeated, errors, jitter, delay), whichever end this result is
    /// from: this end's own counters when it received, the peer's latest
    /// report when it sent (see [`StreamStats::received`]). `None` for a
    /// sending end that never got a report (plain ctsTraffic START).
    pub fn received(&self) -> Option<ReceivedView> {
        self.stats.received(self.role)
    }
}
