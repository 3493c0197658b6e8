//! The library as an embedder uses it: handles that own their threads, a
//! client run stopped half way, and a custom client pattern that keeps the
//! backend's GSO runs and kernel receive timestamps. Loopback only; every
//! run is bounded.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediastream::client::{ClientConfig, Direction};
use mediastream::pattern::{Status, StreamError};
use mediastream::server::{Server, ServerConfig};
use mediastream::settings::StreamSettings;
use mediastream::sys::{start_client, start_server, Backend, ClientOptions, ServerOptions};

/// A default server that also serves plain ctsTraffic START (a short,
/// slow stream), so a bare `START` gets an answer.
fn config() -> ServerConfig {
    let mut server_config = ServerConfig::default();
    server_config.compat_settings = Some(StreamSettings::new(100_000, 10, 2));
    server_config
}

fn server() -> (impl Drop, SocketAddr) {
    let server = Server::with_defaults(config()).unwrap();
    let mut options = ServerOptions::new(["127.0.0.1:0".parse().unwrap()]);
    options.shards = 1;
    let handle = start_server(Backend::Mio, Arc::new(server), &options).unwrap();
    let addr = handle.local_addrs()[0];
    (handle, addr)
}

/// Sends a plain ctsTraffic START from a new socket and waits up to
/// `wait` for any answer.
fn answers_start(addr: SocketAddr, wait: Duration) -> bool {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(wait)).unwrap();
    socket.send_to(b"START", addr).unwrap();
    let mut buf = [0u8; 2048];
    // A closed port may answer with ICMP (an error here): no answer either.
    matches!(socket.recv_from(&mut buf), Ok((n, from)) if n > 0 && from == addr)
}

#[test]
fn dropping_the_server_handle_stops_the_server() {
    let (handle, addr) = server();
    assert!(
        answers_start(addr, Duration::from_secs(5)),
        "a live server answers"
    );
    drop(handle);
    assert!(
        !answers_start(addr, Duration::from_secs(1)),
        "a request after the drop gets no answer"
    );
}

#[test]
fn a_detached_server_keeps_serving() {
    let (addr, before) = {
        let server = Server::with_defaults(config()).unwrap();
        let mut options = ServerOptions::new(["127.0.0.1:0".parse().unwrap()]);
        options.shards = 1;
        let handle = start_server(Backend::Mio, Arc::new(server), &options).unwrap();
        let addr = handle.local_addrs()[0];
        handle.detach();
        (addr, Instant::now())
    };
    assert!(answers_start(addr, Duration::from_secs(5)), "still serving");
    assert!(before.elapsed() < Duration::from_secs(5));
}

#[test]
fn stopping_a_client_ends_a_long_stream_at_once_with_partial_results() {
    let (_server, addr) = server();
    for direction in [Direction::Receive, Direction::Send] {
        let mut config = ClientConfig::new(StreamSettings::new(1_000_000, 50, 30), 0x5eed);
        config.direction = direction;
        let run = start_client(Backend::Mio, ClientOptions::new(addr), config, ()).unwrap();
        std::thread::sleep(Duration::from_secs(2));
        assert!(
            !run.is_finished(),
            "{direction:?}: a 30 s stream is running"
        );
        let asked = Instant::now();
        let results = run.stop().unwrap();
        let took = asked.elapsed();
        eprintln!("{direction:?}: stop took {took:?}");
        assert!(
            took < Duration::from_secs(1),
            "{direction:?}: stop took {took:?}"
        );
        assert_eq!(results.len(), 1);
        let r = &results[0];
        assert!(
            matches!(&r.status, Status::Failed(StreamError::Aborted { reason }) if reason == "interrupted"),
            "{direction:?}: {:?}",
            r.status
        );
        let moved = r.stats.bytes_sent + r.stats.bytes_received;
        // Two seconds of 1 Mbit/s is about 250 kB: partial, not nothing
        // and not the whole 30 s (3.75 MB).
        assert!(
            (100_000..1_000_000).contains(&moved),
            "{direction:?}: {moved} bytes"
        );
    }
}

#[test]
fn a_run_that_cannot_start_is_refused_before_any_thread() {
    let mut config = ClientConfig::new(StreamSettings::new(1_000_000, 50, 1), 1);
    config.direction = Direction::Send;
    config.compat = true;
    let options = ClientOptions::new("127.0.0.1:9".parse().unwrap());
    let err = start_client(Backend::Mio, options, config, ()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}
