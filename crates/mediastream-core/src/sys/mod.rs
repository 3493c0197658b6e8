//! The only code that touches sockets, timers and threads. Each backend
//! drives the same [`Server`](crate::server::Server) and
//! [`ClientSession`](crate::client::ClientSession) objects.
//!
//! - [`mio`]: portable (epoll on Linux, kqueue on macOS, AFD on Windows),
//!   with per-core shards and, on Linux, timerfd for sub-millisecond timers.

pub mod mio;
