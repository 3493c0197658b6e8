//! The only code that touches sockets, timers and threads. Each backend
//! drives the same [`Server`](crate::server::Server) and
//! [`ClientSession`](crate::client::ClientSession) objects and returns the
//! same [`ServerHandle`] and results.
//!
//! - [`mio`]: portable (epoll on Linux, kqueue on macOS, AFD on Windows),
//!   with per-core shards and, on Linux, timerfd for sub-millisecond timers.
//! - `windows` (Windows only): native IOCP with overlapped receives,
//!   GetQueuedCompletionStatusEx worker threads and high-resolution
//!   waitable timers.
//!
//! [`start_server`] and [`run_client`] pick a backend at run time.

mod client_api;
mod clock;
mod handle;
pub mod mio;
#[cfg(target_os = "linux")]
mod offload;
pub mod relay;
mod schedule;
mod socket;
#[cfg(windows)]
pub mod windows;

use std::io;
use std::sync::Arc;

pub use client_api::{ClientObserver, ClientOptions, ClientStatus};
pub use clock::host_timebase;
pub use handle::{IoAccounting, ServerHandle, ServerOptions, Traffic};
pub use socket::{expand_listen, SocketBuffers};

use crate::client::ClientConfig;
use crate::server::{ConnectedSocketFactory, ConnectionManager, Server, StreamResult};

/// An I/O backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// mio: epoll / kqueue / AFD.
    Mio,
    /// Native Windows I/O completion ports (Windows only).
    Iocp,
}

impl Backend {
    /// The platform's best: IOCP on Windows, mio elsewhere.
    pub fn platform_default() -> Self {
        if cfg!(windows) {
            Backend::Iocp
        } else {
            Backend::Mio
        }
    }

    /// The backends this build has.
    pub fn available() -> &'static [Backend] {
        if cfg!(windows) {
            &[Backend::Iocp, Backend::Mio]
        } else {
            &[Backend::Mio]
        }
    }

    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Mio => "mio",
            Backend::Iocp => "iocp",
        }
    }

    #[cfg(not(windows))]
    fn unavailable(self) -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "the {} backend is not available on this platform",
                self.name()
            ),
        )
    }
}

/// Starts `server` on `backend`.
pub fn start_server<M, F>(
    backend: Backend,
    server: Arc<Server<M, F>>,
    options: &ServerOptions,
) -> io::Result<ServerHandle<M, F>>
where
    M: ConnectionManager + 'static,
    F: ConnectedSocketFactory + 'static,
{
    match backend {
        Backend::Mio => mio::start_server(server, options),
        #[cfg(windows)]
        Backend::Iocp => windows::start_server(server, options),
        #[cfg(not(windows))]
        Backend::Iocp => Err(backend.unavailable()),
    }
}

/// Runs client streams on `backend` (see [`mio::run_client`]).
pub fn run_client(
    backend: Backend,
    options: &ClientOptions,
    config: &ClientConfig,
    observer: &mut dyn ClientObserver,
) -> io::Result<Vec<StreamResult>> {
    match backend {
        Backend::Mio => mio::run_client(options, config, observer),
        #[cfg(windows)]
        Backend::Iocp => windows::run_client(options, config, observer),
        #[cfg(not(windows))]
        Backend::Iocp => Err(backend.unavailable()),
    }
}
