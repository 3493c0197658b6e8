//! Faults end streams with a clear result or error, never a hang: the
//! server restarted mid-stream (both directions), the client started
//! before the server, and a path that delays everything past the buffer.
//! Every run is bounded.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediastream::client::{ClientConfig, Direction};
use mediastream::impair::Impairments;
use mediastream::pattern::{Status, StreamError};
use mediastream::server::{
    PatternFactory, Server, ServerConfig, ShardedConnectionManager, StreamResult,
};
use mediastream::settings::StreamSettings;
use mediastream::sys::{
    run_client, start_server, Backend, ClientOptions, ServerHandle, ServerOptions,
};
use mediastream::tools::relay::{start_relay, RelayOptions};

type Handle = ServerHandle<ShardedConnectionManager, PatternFactory>;

fn serve(addr: SocketAddr) -> Handle {
    let server = Server::with_defaults(ServerConfig::default()).unwrap();
    let mut options = ServerOptions::new(vec![addr]);
    options.shards = 1;
    start_server(Backend::Mio, Arc::new(server), &options).unwrap()
}

fn client(target: SocketAddr, direction: Direction, secs: u32) -> (StreamResult, Duration) {
    let settings = StreamSettings::new(2_000_000, 50, secs);
    let mut config = ClientConfig::new(settings, u64::from(secs) * 7);
    config.direction = direction;
    let mut options = ClientOptions::new(target);
    options.time_limit = Some(Duration::from_secs(30));
    let started = Instant::now();
    let r = run_client(Backend::Mio, &options, &config, &mut ())
        .unwrap()
        .remove(0);
    (r, started.elapsed())
}

fn free_port() -> SocketAddr {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn server_restarted_mid_stream_ends_both_directions_cleanly() {
    for direction in [Direction::Receive, Direction::Send] {
        let addr = free_port();
        let first = serve(addr);
        let restart = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            first.stop().unwrap();
            std::thread::sleep(Duration::from_millis(500));
            let second = serve(addr);
            std::thread::sleep(Duration::from_secs(6));
            second.stop().unwrap()
        });
        let (r, took) = client(addr, direction, 4);
        restart.join().unwrap();
        assert!(
            took < Duration::from_secs(15),
            "{direction:?} ended after {took:?}"
        );
        match direction {
            // The receiver renders every frame on time: those sent before
            // the restart complete, the rest drop; then it fails, saying
            // when the server stopped (it used to call this a success).
            Direction::Receive => {
                match &r.status {
                    Status::Failed(StreamError::ServerStopped { at_ms, silent_ms }) => {
                        assert!((1_000..=1_700).contains(at_ms), "{r:?}");
                        assert!(*silent_ms > 1_000, "{r:?}");
                    }
                    other => panic!("{other:?}: {r:?}"),
                }
                let s = &r.stats;
                assert_eq!(s.frames_completed + s.frames_dropped, 200);
                assert!(s.frames_completed >= 50 && s.frames_dropped >= 50, "{s:?}");
            }
            // The new server knows no stream, so no report comes back: the
            // sender's consent expires.
            Direction::Send => {
                assert!(
                    matches!(r.status, Status::Failed(StreamError::ConsentExpired { .. })),
                    "{r:?}"
                );
            }
        }
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "under Wine a mio client socket that got ICMP port-unreachable never receives again (left for the next issue)"
)]
fn client_started_before_the_server_gets_its_stream() {
    let addr = free_port();
    let late = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let h = serve(addr);
        std::thread::sleep(Duration::from_secs(6));
        h.stop().unwrap()
    });
    // A 2 s buffer leaves room for three REQUEST retries (every 520 ms)
    // even where starting the server is slow (Wine).
    let mut settings = StreamSettings::new(2_000_000, 50, 2);
    settings.buffer_depth_ms = 2000;
    let mut options = ClientOptions::new(addr);
    options.time_limit = Some(Duration::from_secs(30));
    let r = run_client(
        Backend::Mio,
        &options,
        &ClientConfig::new(settings, 99),
        &mut (),
    )
    .unwrap()
    .remove(0);
    late.join().unwrap();
    // The first REQUEST met a closed port; a retry found the server, and
    // the stream was served from then on.
    assert_eq!(r.status, Status::Completed, "{r:?}");
    assert!(r.stats.frames_completed >= 95, "{:?}", r.stats);
}

#[test]
fn a_path_slower_than_the_buffer_fails_clearly() {
    let h = serve(free_port());
    let slow = Impairments::delay_only(Duration::from_millis(1500));
    let relay = start_relay(&{
        let mut relay_options =
            RelayOptions::new("127.0.0.1:0".parse().unwrap(), h.local_addrs()[0]);
        relay_options.to_server = slow;
        relay_options.to_client = slow;
        relay_options.seed = 1;
        relay_options
    })
    .unwrap();
    let (r, took) = client(relay.local_addr(), Direction::Receive, 2);
    assert!(
        took < Duration::from_secs(5),
        "gave up after the buffer depth, not later: {took:?}"
    );
    match &r.status {
        Status::Failed(e @ (StreamError::NoAnswer { .. } | StreamError::NoData)) => {
            assert!(!e.to_string().is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.stats.frames_dropped, 100, "every frame counted dropped");
    relay.stop().unwrap();
    h.stop().unwrap();
}

/// A plain ctsTraffic client that goes away mid-stream: its port closes,
/// the kernel answers the next datagrams with ICMP port unreachable, and
/// the server (Linux: IP_RECVERR) ends that stream at once instead of
/// sending the rest of it. A v1 stream would end by consent after 3 s;
/// a plain one has nothing else to stop it.
#[test]
#[cfg(target_os = "linux")]
fn a_plain_client_that_goes_away_ends_its_stream_at_once() {
    let (tx, results) = std::sync::mpsc::channel::<StreamResult>();
    let mut config = ServerConfig::default();
    // 20 s: far longer than the test waits.
    config.compat_settings = Some(StreamSettings::new(2_000_000, 50, 20));
    let server = Server::with_defaults(config)
        .unwrap()
        .on_finished(move |r| {
            let _ = tx.send(r.clone());
        });
    let mut options = ServerOptions::new(vec![free_port()]);
    options.shards = 1;
    let handle = start_server(Backend::Mio, Arc::new(server), &options).unwrap();
    let target = handle.local_addrs()[0];
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    client.send_to(b"START", target).unwrap();
    let mut buf = [0u8; 2048];
    // The connection id, then data: the stream runs.
    for _ in 0..5 {
        client.recv_from(&mut buf).unwrap();
    }
    let left = client.local_addr().unwrap();
    drop(client);
    let gone = Instant::now();
    let r = results.recv_timeout(Duration::from_secs(10)).unwrap();
    let took = gone.elapsed();
    handle.stop().unwrap();
    assert_eq!(r.remote, left);
    match &r.status {
        Status::Failed(StreamError::Aborted { reason }) => {
            assert!(reason.contains("unreachable"), "{reason}")
        }
        other => panic!("expected an abort, got {other:?}"),
    }
    assert!(
        took < Duration::from_secs(2),
        "ended {took:?} after the client left"
    );
    assert!(
        r.stats.frames_sent < 100,
        "sent {} of 1000 frames",
        r.stats.frames_sent
    );
}
