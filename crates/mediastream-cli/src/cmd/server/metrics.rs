//! `server --metrics-listen ADDR:PORT`: Prometheus / OpenMetrics text at
//! `/metrics` (docs/metrics-endpoint.md), served by a thread of its own.
//!
//! A scrape never waits for the data path: it reads the server's request
//! counters (atomics), the workers' traffic counters (atomics), the
//! running streams ([`Server::live_streams`]: one shard lock at a time,
//! held to copy that shard's counters) and what the status loop folded in
//! of the finished streams ([`Collected`]).

mod collect;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use mediastream_core::server::Server;
use mediastream_core::sys::TrafficProbe;
use prometheus_client::registry::Registry;

pub use collect::Collected;
use collect::Scrape;

use crate::cmd::CliError;
use crate::report::escape;

/// Where `--metrics-listen` binds: `PORT` and `:PORT` are loopback
/// (127.0.0.1); `IP:PORT` and `[IPv6]:PORT` as given.
pub fn parse_listen(text: &str) -> Result<SocketAddr, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "--metrics-listen {}: give PORT, :PORT, IP:PORT or [IPv6]:PORT",
            escape(text)
        ))
    };
    let port_only = text.strip_prefix(':').unwrap_or(text);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    text.parse::<SocketAddr>().map_err(|_| bad())
}

/// The metrics endpoint, serving until [`Endpoint::stop`] (or drop).
pub struct Endpoint {
    http: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    /// The address bound (the port chosen for port 0).
    pub local: SocketAddr,
    /// What the status loop folds the finished streams into.
    pub collected: Arc<Collected>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// The OpenMetrics text format's media type (Prometheus asks for it).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Endpoint {
    /// Binds `addr` (before the server's sockets, so that a port in use
    /// fails first); nothing is served before [`Endpoint::serve`].
    pub fn bind(addr: SocketAddr) -> Result<Self, CliError> {
        let http = tiny_http::Server::http(addr)
            .map_err(|e| CliError::Runtime(format!("--metrics-listen {addr}: {e}")))?;
        let local = http.server_addr().to_ip().unwrap_or(addr);
        Ok(Self {
            http: Arc::new(http),
            thread: None,
            local,
            collected: Arc::new(Collected::default()),
        })
    }

    /// Serves `/metrics` of `server` and its workers' `traffic` from a
    /// thread of its own.
    pub fn serve(&mut self, server: Arc<Server>, traffic: TrafficProbe) -> Result<(), CliError> {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Scrape {
            server,
            traffic,
            collected: self.collected.clone(),
        }));
        let serving = self.http.clone();
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || serve(&serving, &registry))
            .map_err(|e| CliError::Runtime(format!("--metrics-listen: {e}")))?;
        self.thread = Some(thread);
        Ok(())
    }

    /// Whether anyone beyond this host may scrape it.
    pub fn exposed(&self) -> bool {
        !self.local.ip().is_loopback()
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        self.http.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.shut();
    }
}

/// Answers requests one at a time until unblocked: `GET` or `HEAD`
/// `/metrics` (any query) gets the text, anything else 404 or 405.
fn serve(http: &tiny_http::Server, registry: &Registry) {
    for request in http.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or_default();
        let method = request.method().clone();
        let response = match (path, &method) {
            ("/metrics", tiny_http::Method::Get | tiny_http::Method::Head) => {
                let mut body = String::new();
                match prometheus_client::encoding::text::encode(&mut body, registry) {
                    Ok(()) => text(200, body, CONTENT_TYPE),
                    Err(_) => text(500, "encoding failed\n".into(), "text/plain"),
                }
            }
            ("/metrics", _) => text(405, "GET /metrics\n".into(), "text/plain"),
            _ => text(404, "not found: try /metrics\n".into(), "text/plain"),
        };
        // A client that went away is its own problem.
        let _ = request.respond(response);
    }
}

fn text(
    status: u16,
    body: String,
    content_type: &str,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let mut response = tiny_http::Response::from_string(body).with_status_code(status);
    if let Ok(header) = tiny_http::Header::from_bytes("Content-Type", content_type) {
        response.add_header(header);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_is_loopback() {
        let at = |t: &str| parse_listen(t).ok().map(|a| a.to_string());
        assert_eq!(at("9464").as_deref(), Some("127.0.0.1:9464"));
        assert_eq!(at(":0").as_deref(), Some("127.0.0.1:0"));
        assert_eq!(at("0.0.0.0:9464").as_deref(), Some("0.0.0.0:9464"));
        assert_eq!(at("[::1]:9464").as_deref(), Some("[::1]:9464"));
        assert!(at("localhost").is_none());
        assert!(at("1.2.3.4").is_none(), "an address needs a port");
        assert!(at("70000").is_none());
    }
}
