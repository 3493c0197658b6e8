//! The only code that touches sockets, timers and threads. Each backend
//! drives the same [`Server`] and client patterns
//! (by default [`ClientSession`](crate::client::ClientSession)) and
//! returns the same [`ServerHandle`] and results; the backends themselves
//! are private, chosen by [`Backend`]:
//!
//! - `mio`: portable (epoll on Linux, kqueue on macOS, AFD on Windows),
//!   with per-core shards and, on Linux, timerfd for sub-millisecond timers.
//! - `windows` (Windows only): native IOCP with overlapped receives,
//!   GetQueuedCompletionStatusEx worker threads and high-resolution
//!   waitable timers.
//!
//! [`start_server`], [`start_client`] and [`run_client`] pick a backend
//! at run time. Threads: a server runs one worker thread per shard (IOCP:
//! workers plus a timer thread) until its [`ServerHandle`] stops it or is
//! dropped; a client run uses the calling thread ([`run_client`]) or one
//! thread of its own ([`start_client`], stopped by its [`ClientHandle`]).
//! Nothing here uses an async runtime: a runtime's timer is too coarse to
//! pace frames, so an async application keeps these threads and talks to
//! them through the handles and observers (see `examples/async_app.rs`).

mod client_api;
mod client_driver;
mod client_handle;
mod clock;
mod handle;
mod mio;
mod schedule;
mod socket;
#[cfg(windows)]
mod windows;

use std::fmt;
use std::io;
use std::str::FromStr;
use std::sync::Arc;

pub use client_api::{
    ClientObserver, ClientOptions, ClientPatternFactory, ClientStatus, StreamProgress,
};
pub use client_handle::ClientHandle;
pub use clock::host_timebase;
pub use handle::{IoAccounting, ServerHandle, ServerOptions, Traffic, TrafficProbe};
pub use socket::{expand_listen, SocketBuffers};

use crate::client::ClientConfig;
use crate::server::{ConnectedSocketFactory, ConnectionManager, Server, StreamResult};

/// An I/O backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
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

    /// An error for a backend this build does not have.
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

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend name that is not one, or not in this build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(String);

impl FromStr for Backend {
    type Err = BackendError;

    /// `mio` or `iocp` (Windows only), as [`Backend::name`] spells them.
    fn from_str(value: &str) -> Result<Self, BackendError> {
        let backend = match value.trim() {
            "mio" => Backend::Mio,
            "iocp" => Backend::Iocp,
            other => {
                return Err(BackendError(format!(
                    "'{other}' is not a backend: use mio or iocp"
                )))
            }
        };
        if Backend::available().contains(&backend) {
            Ok(backend)
        } else {
            Err(BackendError(format!(
                "'{value}' is not available on this platform (IOCP is Windows only)"
            )))
        }
    }
}

/// Starts `server` on `backend` and returns at once. The workers (one
/// thread per [`ServerOptions::shards`], one per core by default; IOCP
/// adds a timer thread) bind every [`ServerOptions::listen`] address
/// before this returns, so a bind error is returned here. They serve
/// until the returned handle's [`stop`](ServerHandle::stop), until the
/// server's exit limit ([`join`](ServerHandle::join)), or until the handle
/// is dropped, which stops and joins them too.
///
/// ```
/// use std::sync::Arc;
/// use mediastream_core::server::{Server, ServerConfig};
/// use mediastream_core::sys::{start_server, Backend, ServerOptions};
///
/// let server = Server::with_defaults(ServerConfig::default()).expect("valid limits");
/// let options = ServerOptions::new(["127.0.0.1:0".parse().unwrap()]);
/// let handle = start_server(Backend::Mio, Arc::new(server), &options)?;
/// let port = handle.local_addrs()[0].port();
/// assert_ne!(port, 0);
/// let unfinished = handle.stop()?; // or drop(handle)
/// assert!(unfinished.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
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

/// Runs `options.connections` client streams on `backend` on the calling
/// thread and blocks until every one ended (by itself, by the options'
/// time limit, or because their stop flag was set), returning one result
/// per stream. The observer hears records, status rows and each stream's
/// end as they happen, on this thread (it need not be `Send`).
///
/// This is the blocking form of [`start_client`]: the same run, the same
/// results, without a thread of its own.
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

/// Starts a client run on a thread of its own and returns at once; the
/// [`ClientHandle`] stops it, waits for it or says whether it ended, and
/// dropping the handle stops it. The observer runs on that thread. A
/// configuration that cannot run is refused here; socket errors come from
/// [`ClientHandle::join`].
///
/// ```no_run
/// use std::time::Duration;
/// use mediastream_core::client::ClientConfig;
/// use mediastream_core::settings::StreamSettings;
/// use mediastream_core::sys::{start_client, Backend, ClientOptions};
///
/// let options = ClientOptions::new("127.0.0.1:4444".parse().unwrap());
/// let config = ClientConfig::new(StreamSettings::new(8_000_000, 60, 30), 7);
/// let run = start_client(Backend::Mio, options, config, ())?;
/// std::thread::sleep(Duration::from_secs(2));
/// let partial = run.stop()?; // two seconds of a thirty-second stream
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn start_client(
    backend: Backend,
    options: ClientOptions,
    config: ClientConfig,
    observer: impl ClientObserver + Send + 'static,
) -> io::Result<ClientHandle> {
    if !Backend::available().contains(&backend) {
        return Err(backend.unavailable());
    }
    ClientHandle::spawn(backend, options, config, observer)
}
