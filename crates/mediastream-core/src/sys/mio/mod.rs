//! The portable backend over mio.
//!
//! Server: N shards, each a thread with its own poll, its own socket per
//! listening address (SO_REUSEPORT on Linux, so the kernel keeps each
//! client on one shard), its own timer and its own schedule; all shards
//! share one [`Server`](crate::server::Server), whose connection manager
//! is sharded by peer, so no lock is shared on the hot path. Client: one
//! thread driving any number of connected sockets.
//!
//! Timers: on Linux a timerfd armed for the next deadline (precise to
//! microseconds; epoll's own timeout only has millisecond resolution);
//! elsewhere the poll timeout, rounded up to the next millisecond.

mod client;
#[cfg(target_os = "linux")]
mod offload;
mod server;
mod timer;
mod udp;

pub(crate) use client::run_client;
pub(crate) use server::start_server;

/// Longest a shard or a client spends driving due streams before it
/// reads its sockets and its stop flag again: an overloaded thread
/// falls behind on sending, never on hearing its peers.
const PASS_LIMIT: std::time::Duration = std::time::Duration::from_millis(20);
