//! End to end over real loopback sockets, for every backend this build has
//! (mio everywhere; IOCP on Windows, run under Wine in CI): both
//! directions, IPv6, several listening addresses, many streams, garbage,
//! consent, plain and v1 side by side. Every run is bounded by a time
//! limit. Each scenario is written once, taking the backend as a
//! parameter; `backend_tests!` instantiates it per backend.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediastream::client::{ClientConfig, Direction};
use mediastream::pattern::{Role, Status, StreamError};
use mediastream::server::{Server, ServerConfig, StreamResult};
use mediastream::settings::StreamSettings;
use mediastream::sys::{
    run_client, start_server, Backend, ClientOptions, ServerHandle, ServerOptions,
};

type Handle = ServerHandle<
    mediastream::server::ShardedConnectionManager,
    mediastream::server::PatternFactory,
>;

fn settings() -> StreamSettings {
    StreamSettings::new(8_000_000, 50, 3)
}

/// A server on `ip` port 0 with 2 shards; finished streams come out of the
/// receiver.
fn server(
    backend: Backend,
    ip: &str,
    config: ServerConfig,
) -> (Handle, SocketAddr, mpsc::Receiver<StreamResult>) {
    let (tx, rx) = mpsc::channel();
    let server = Server::with_defaults(config)
        .unwrap()
        .on_finished(move |r| {
            let _ = tx.send(r.clone());
        });
    let listen = vec![format!("{ip}:0").parse().unwrap()];
    let handle = start_server(
        backend,
        Arc::new(server),
        &server_options(listen, 4 << 20, 3),
    )
    .expect("server starts");
    let addr = handle.local_addrs()[0];
    (handle, addr, rx)
}

fn default_server(
    backend: Backend,
    ip: &str,
) -> (Handle, SocketAddr, mpsc::Receiver<StreamResult>) {
    server(backend, ip, {
        let mut server_config = ServerConfig::default();
        server_config.compat_settings = Some(settings());
        server_config
    })
}

fn client(
    backend: Backend,
    target: SocketAddr,
    config: ClientConfig,
    connections: usize,
) -> Vec<StreamResult> {
    let mut options = ClientOptions::new(target);
    options.connections = connections;
    options.time_limit = Some(Duration::from_secs(30));
    run_client(backend, &options, &config, &mut ()).expect("client runs")
}

fn token() -> u64 {
    Instant::now().elapsed().as_nanos() as u64 ^ 0xdead_beef
}

fn assert_all_frames(r: &StreamResult, frames: u64) {
    assert_eq!(r.status, Status::Completed, "{r:?}");
    let s = &r.stats;
    assert_eq!(
        (
            s.frames_completed,
            s.frames_dropped,
            s.frames_repeated,
            s.frames_error
        ),
        (frames, 0, 0, 0),
        "{r:?}"
    );
}

fn server_to_client_completes_every_frame(backend: Backend) {
    let (handle, addr, done) = default_server(backend, "127.0.0.1");
    let results = client(backend, addr, ClientConfig::new(settings(), token()), 1);
    assert_eq!(results.len(), 1);
    assert_all_frames(&results[0], 150);
    assert_eq!(results[0].stats.peer_end.map(|e| e.frames_sent), Some(150));
    let server_side = done
        .recv_timeout(Duration::from_secs(10))
        .expect("server finished its stream");
    assert_eq!(
        (server_side.role, server_side.status.clone()),
        (Role::Sender, Status::Completed)
    );
    assert_eq!(
        server_side
            .stats
            .peer_report
            .as_deref()
            .map(|r| r.frames_completed),
        Some(150)
    );
    assert!(server_side.stats.rtt.samples > 0);
    handle.stop().unwrap();
}

fn client_to_server_completes_every_frame(backend: Backend) {
    let (handle, addr, done) = default_server(backend, "127.0.0.1");
    let mut config = ClientConfig::new(settings(), token());
    config.direction = Direction::Send;
    let results = client(backend, addr, config, 1);
    assert_eq!(results[0].status, Status::Completed, "{:?}", results[0]);
    assert_eq!(results[0].stats.frames_sent, 150);
    let server_side = done.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(server_side.role, Role::Receiver);
    assert_all_frames(&server_side, 150);
    assert_eq!(
        results[0]
            .stats
            .peer_report
            .as_deref()
            .map(|r| r.frames_completed),
        Some(150)
    );
    handle.stop().unwrap();
}

fn ipv6_loopback_both_directions(backend: Backend) {
    let (handle, addr, _done) = default_server(backend, "[::1]");
    assert!(addr.is_ipv6());
    let r = client(backend, addr, ClientConfig::new(settings(), token()), 1);
    assert_all_frames(&r[0], 150);
    let mut config = ClientConfig::new(settings(), token());
    config.direction = Direction::Send;
    let r = client(backend, addr, config, 1);
    assert_eq!(r[0].status, Status::Completed);
    assert_eq!(
        r[0].stats
            .peer_report
            .as_deref()
            .map(|p| p.frames_completed),
        Some(150)
    );
    handle.stop().unwrap();
}

fn one_server_listens_on_several_addresses(backend: Backend) {
    let (tx, done) = mpsc::channel();
    let mut config = ServerConfig::default();
    config.compat_settings = Some(settings());
    let server = Server::with_defaults(config)
        .unwrap()
        .on_finished(move |r| {
            let _ = tx.send(r.clone());
        });
    let listen = vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()];
    let handle = start_server(
        backend,
        Arc::new(server),
        &server_options(listen, 1 << 20, 2),
    )
    .unwrap();
    let addrs = handle.local_addrs().to_vec();
    assert_eq!(addrs.len(), 2);
    assert!(
        handle.buffers().receive >= 1 << 20,
        "{:?}",
        handle.buffers()
    );
    for addr in &addrs {
        let r = client(backend, *addr, ClientConfig::new(settings(), token()), 1);
        assert_all_frames(&r[0], 150);
        let served = done.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(
            served.local, *addr,
            "each stream left from the address it came to"
        );
    }
    handle.stop().unwrap();
}

fn two_hundred_concurrent_streams_complete(backend: Backend) {
    let (handle, addr, _done) = default_server(backend, "127.0.0.1");
    // 200 kbit/s, 10 frames/s, 2 s: 20 frames of 2500 bytes per stream.
    // Under Wine the jitter buffer is 1.5 s, not 0.5 s: with both cores
    // busy elsewhere, Wine alone (not the backend) stalls delivery past
    // half a second now and then. Measured with two busy loops beside
    // the test: the first datagram of each of the 200 streams came within
    // p99 19 ms natively and 115-460 ms under Wine (either backend), and
    // mid-stream datagrams arrived over 0.5 s late only under Wine.
    let mut low = StreamSettings::new(200_000, 10, 2);
    low.buffer_depth_ms = if cfg!(windows) { 1500 } else { 500 };
    let results = client(backend, addr, ClientConfig::new(low, token()), 200);
    assert_eq!(results.len(), 200);
    for r in &results {
        assert_all_frames(r, 20);
    }
    let mut ids: Vec<_> = results.iter().map(|r| r.connection_id).collect();
    ids.sort_by_key(|id| id.map(|i| i.to_string()));
    ids.dedup();
    assert_eq!(ids.len(), 200, "every stream had its own connection id");
    handle.stop().unwrap();
}

fn garbage_does_not_disturb_a_real_stream(backend: Backend) {
    let (handle, addr, _done) = default_server(backend, "127.0.0.1");
    let flood = std::thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut sent = 0u32;
        let started = Instant::now();
        // Bounded: 100,000 datagrams or 20 seconds, whichever first.
        while sent < 100_000 && started.elapsed() < Duration::from_secs(20) {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = (state >> 56) as usize % 200;
            let bytes: Vec<u8> = (0..len)
                .map(|i| (state >> (i % 8 * 8)) as u8 ^ i as u8)
                .collect();
            if socket.send_to(&bytes, addr).is_ok() {
                sent += 1;
            }
            if sent.is_multiple_of(1000) {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        sent
    });
    let r = client(backend, addr, ClientConfig::new(settings(), token()), 1);
    let sent = flood.join().unwrap();
    assert_eq!(sent, 100_000);
    assert_all_frames(&r[0], 150);
    let stats = handle.server().stats();
    // Loopback drops what overflows the listener's receive buffer, so how
    // much of the flood reaches the server depends on the machine: all of
    // it natively, 46,796 of 100,000 in one CI run under Wine. What must
    // hold is that a real share of it was read while the stream ran and
    // that every datagram read, apart from the real stream's few control
    // datagrams (requests, reports: a few dozen), was counted as garbage.
    let garbage = stats.malformed + stats.unknown + stats.no_stream;
    assert!(stats.datagrams > 10_000, "{stats:?}");
    assert!(garbage + 200 >= stats.datagrams, "{stats:?}");
    handle.stop().unwrap();
}

fn consent_stops_a_stream_whose_client_vanished(backend: Backend) {
    let (handle, addr, done) = default_server(backend, "127.0.0.1");
    let long = StreamSettings::new(1_000_000, 50, 20);
    let mut options = ClientOptions::new(addr);
    options.time_limit = Some(Duration::from_secs(1));
    let started = Instant::now();
    let r = run_client(
        backend,
        &options,
        &ClientConfig::new(long, token()),
        &mut (),
    )
    .unwrap();
    assert!(matches!(
        r[0].status,
        Status::Failed(StreamError::Aborted { .. })
    ));
    // The client's socket is closed now; the server hears no more reports.
    let server_side = done
        .recv_timeout(Duration::from_secs(10))
        .expect("consent ended the stream");
    let elapsed = started.elapsed();
    match &server_side.status {
        Status::Failed(StreamError::ConsentExpired { silent_ms }) => assert!(*silent_ms >= 3000),
        // Linux: the closed port answers with ICMP port unreachable, which
        // the server reads (IP_RECVERR) and acts on before consent would.
        Status::Failed(StreamError::Aborted { reason })
            if cfg!(target_os = "linux") && reason.contains("unreachable") => {}
        other => panic!("expected consent to expire, got {other:?}"),
    }
    assert!(
        elapsed < Duration::from_secs(6),
        "ended {elapsed:?} after start, not at 20 s"
    );
    assert!(server_side.stats.frames_sent < 400);
    handle.stop().unwrap();
}

fn plain_start_and_v1_side_by_side(backend: Backend) {
    let (handle, addr, _done) = default_server(backend, "127.0.0.1");
    let mut compat = ClientConfig::new(settings(), token());
    compat.compat = true;
    let plain = std::thread::spawn(move || client(backend, addr, compat, 2));
    let v1 = client(backend, addr, ClientConfig::new(settings(), token()), 2);
    let plain = plain.join().unwrap();
    for r in plain.iter().chain(&v1) {
        assert_all_frames(r, 150);
    }
    assert!(plain
        .iter()
        .all(|r| !r.v1 && r.stats.peer_end.is_none() && r.connection_id.is_some()));
    assert!(v1.iter().all(|r| r.v1 && r.stats.peer_end.is_some()));
    handle.stop().unwrap();
}

fn shutdown_with_receives_pending(backend: Backend) {
    let (handle, addr, _done) = default_server(backend, "127.0.0.1");
    // Two listening addresses' worth of receives are posted and idle.
    let accounting = handle.io_accounting();
    // One real stream first, so the receives have cycled at least once.
    let r = client(
        backend,
        addr,
        ClientConfig::new(StreamSettings::new(80_000, 10, 1), token()),
        1,
    );
    assert_eq!(r[0].status, Status::Completed);
    std::thread::sleep(Duration::from_millis(100));
    let stopping = Instant::now();
    let left = handle.stop().expect("clean stop");
    assert!(left.is_empty(), "no stream was running");
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        stopping.elapsed()
    );
    if let Some(a) = accounting {
        use std::sync::atomic::Ordering::SeqCst;
        let (posted, completed) = (a.posted.load(SeqCst), a.completed.load(SeqCst));
        // Every receive handed to the OS came back before its memory went:
        // the ones pending at shutdown as cancellations.
        assert_eq!(posted, completed, "posted {posted}, completed {completed}");
        assert!(
            a.cancelled.load(SeqCst) >= 2,
            "the pending receives were cancelled: {a:?}"
        );
        assert_eq!(a.released_pending.load(SeqCst), 0);
        assert!(
            completed > 10,
            "the stream's datagrams went through the port: {a:?}"
        );
    }
}

fn keyed_access_serves_the_key_and_nothing_else(backend: Backend) {
    use mediastream::auth::AccessKey;
    let key = AccessKey::new(b"e2e test key, 26 bytes ok").unwrap();
    let (handle, addr, done) = server(backend, "127.0.0.1", {
        let mut server_config = ServerConfig::default();
        server_config.key = Some(key.clone());
        server_config
    });
    let run = |direction, key: Option<AccessKey>| {
        let mut options = ClientOptions::new(addr);
        options.time_limit = Some(Duration::from_secs(30));
        options.key = key;
        let mut config = ClientConfig::new(settings(), token());
        config.direction = direction;
        run_client(backend, &options, &config, &mut ())
            .unwrap()
            .remove(0)
    };
    // The right key streams both ways.
    for direction in [Direction::Receive, Direction::Send] {
        let r = run(direction, Some(key.clone()));
        let server_side = done.recv_timeout(Duration::from_secs(10)).unwrap();
        let receiver = if direction == Direction::Receive {
            &r
        } else {
            &server_side
        };
        assert_all_frames(receiver, 150);
        assert_eq!(
            (&r.status, &server_side.status),
            (&Status::Completed, &Status::Completed)
        );
        // Reports and END crossed with their tags.
        let sender = if direction == Direction::Receive {
            &server_side
        } else {
            &r
        };
        assert_eq!(
            sender
                .stats
                .peer_report
                .as_deref()
                .map(|p| p.frames_completed),
            Some(150)
        );
        assert_eq!(receiver.stats.peer_end.map(|e| e.frames_sent), Some(150));
    }
    // No key, or another: no answer at all, and counted.
    let wrong = AccessKey::new(b"e2e test key, 26 bytes OK").unwrap();
    for other in [None, Some(wrong)] {
        let r = run(Direction::Send, other);
        assert_eq!(
            r.status,
            Status::Failed(StreamError::NoAnswer { attempts: 5 }),
            "{r:?}"
        );
    }
    let stats = handle.server().stats();
    assert_eq!(stats.streams_started, 2, "{stats:?}");
    assert!(stats.unkeyed >= 10, "{stats:?}");
    handle.stop().unwrap();
}

fn a_raw_request_is_challenged_and_its_cookie_starts_the_stream(backend: Backend) {
    use mediastream::wire::v1::{self, RequestRepr, V1Message};
    use mediastream::wire::{parse, Datagram};
    let (handle, addr, done) = default_server(backend, "127.0.0.1");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = RequestRepr {
        token: 99,
        bits_per_second: 80_000,
        frame_rate: 10,
        stream_length_secs: 1,
        datagram_size: 1000,
        buffer_depth_ms: 500,
        report_interval_ms: 250,
        consent_timeout_ms: 1000,
        cookie: None,
        media: None,
    };
    let mut out = [0u8; v1::REQUEST_LEN];
    request.emit(false, &mut out).unwrap();
    socket.send_to(&out, addr).unwrap();
    let mut buf = [0u8; 2048];
    let (len, _) = socket.recv_from(&mut buf).expect("an answer");
    let cookie = match parse(&buf[..len]) {
        Ok(Datagram::V1(V1Message::Challenge { token: 99, cookie })) => cookie,
        other => panic!("expected a CHALLENGE, got {other:?}"),
    };
    assert_eq!(len, 43, "a challenge is smaller than the 128-byte request");
    assert_eq!(handle.server().stats().streams_started, 0);
    // Another socket replaying the cookie gets a challenge of its own.
    let thief = UdpSocket::bind("127.0.0.1:0").unwrap();
    thief
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let with = RequestRepr {
        cookie: Some(cookie),
        media: None,
        ..request
    };
    with.emit(false, &mut out).unwrap();
    thief.send_to(&out, addr).unwrap();
    let (len, _) = thief.recv_from(&mut buf).expect("an answer");
    assert!(matches!(
        parse(&buf[..len]),
        Ok(Datagram::V1(V1Message::Challenge { .. }))
    ));
    assert_eq!(handle.server().stats().streams_started, 0);
    // From its own socket the cookie starts the stream: ACCEPT, then data.
    socket.send_to(&out, addr).unwrap();
    let (len, _) = socket.recv_from(&mut buf).expect("an answer");
    assert!(matches!(
        parse(&buf[..len]),
        Ok(Datagram::V1(V1Message::Accept { token: 99, .. }))
    ));
    let (len, _) = socket.recv_from(&mut buf).expect("data");
    assert!(matches!(parse(&buf[..len]), Ok(Datagram::Data(..))));
    assert_eq!(handle.server().stats().streams_started, 1);
    drop(socket);
    // No reports: consent (1 s) or the closed port ends it.
    let ended = done.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(matches!(ended.status, Status::Failed(_)), "{ended:?}");
    handle.stop().unwrap();
}

/// One `#[test]` per scenario and backend, from one list.
macro_rules! backend_tests {
    ([$($name:ident),* $(,)?]) => {
        mod mio {
            $(
                #[test]
                fn $name() {
                    super::$name(super::Backend::Mio);
                }
            )*
        }

        #[cfg(windows)]
        mod iocp {
            $(
                #[test]
                fn $name() {
                    super::$name(super::Backend::Iocp);
                }
            )*
        }
    };
}

backend_tests!([
    server_to_client_completes_every_frame,
    client_to_server_completes_every_frame,
    ipv6_loopback_both_directions,
    one_server_listens_on_several_addresses,
    two_hundred_concurrent_streams_complete,
    garbage_does_not_disturb_a_real_stream,
    consent_stops_a_stream_whose_client_vanished,
    plain_start_and_v1_side_by_side,
    shutdown_with_receives_pending,
    keyed_access_serves_the_key_and_nothing_else,
    a_raw_request_is_challenged_and_its_cookie_starts_the_stream,
]);

fn server_options(listen: Vec<SocketAddr>, socket_buffer: usize, prepost: usize) -> ServerOptions {
    let mut options = ServerOptions::new(listen);
    options.shards = 2;
    options.socket_buffer = socket_buffer;
    options.prepost = prepost;
    options
}
