//! The client session: asks a server for a stream (plain START for a
//! ctsTraffic server, or a v1 REQUEST / JOIN), retries, then runs the same
//! patterns as the server. A [`ClientSession`] is itself an
//! [`IoPattern`](crate::pattern::IoPattern), so a backend drives it like
//! any stream.

mod session;

pub use session::{ClientConfig, ClientError, ClientSession, Direction};

#[cfg(test)]
mod tests;
