//! The server, refactored into public parts (after ctsTraffic's own
//! design notes): a protocol-agnostic listener calls a
//! [`ListenerHandler`]; the [`Server`] parses and routes by role; a
//! [`ConnectionManager`] owns streams, waiting requests and accepting
//! slots; a [`ConnectedSocketFactory`] builds each stream's
//! [`IoPattern`](crate::pattern::IoPattern). No sockets here: the
//! backends in [`sys`](crate::sys) drive these objects.

mod admission;
mod cidr;
mod cookie;
mod counters;
mod factory;
mod handler;
mod live;
mod manager;
mod observer;
mod service;
mod sources;
mod types;

pub use admission::Admission;
pub use cidr::Cidr;
pub use cookie::{CookieSecret, COOKIE_EPOCH};
pub use counters::ServerStats;
pub use factory::{ConnectedSocketFactory, PatternFactory};
pub use handler::{Handled, Ignored, ListenerHandler, Reply};
pub use live::LiveStream;
pub use manager::{AwaitOutcome, ConnectedStream, ConnectionManager, ShardedConnectionManager};
pub use observer::{Refusal, ServerObserver, StreamRefused};
pub use service::{
    Batching, Drive, SendRun, Server, ServerConfig, DRIVE_BYTES, DRIVE_DATAGRAMS,
    FIRST_RUN_SEGMENTS, MAX_CONSENT_TIMEOUT_MS, REPORT_INTERVAL_MS,
};
pub use sources::SourceLimits;
pub use types::{
    AcceptingSlot, AwaitingEndpoint, ListenerId, Received, StreamKey, StreamRequest, StreamResult,
};

#[cfg(test)]
mod tests;
