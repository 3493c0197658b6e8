//! A trace made by the project (docs/traces/sample_720p30.csv, written by
//! docs/traces/make_sample.py in ffprobe's CSV format) replayed over real
//! loopback sockets in both directions: the receiver learns every frame's
//! size and kind from the frame data, and they equal the trace's. Every
//! run is bounded by a time limit.

#![allow(clippy::unwrap_used)]
// test helpers fail loudly by design
// Library option types are built with default() and assigned field by field
// (they are becoming #[non_exhaustive]).
#![allow(clippy::field_reassign_with_default)]

use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use mediastream::client::{ClientConfig, Direction};
use mediastream::pattern::metrics::TimelineFrame;
use mediastream::pattern::model::{FrameKind, FrameSizes, Trace};
use mediastream::pattern::Status;
use mediastream::server::{PatternFactory, Server, ServerConfig, StreamResult};
use mediastream::settings::StreamSettings;
use mediastream::sys::{run_client, start_server, Backend, ClientOptions, ServerOptions};

const SAMPLE: &str = include_str!("../docs/traces/sample_720p30.csv");

fn trace() -> Trace {
    Trace::parse(SAMPLE).expect("the sample parses")
}

/// The trace's own rate and frame rate, 3 s (90 of its 300 frames).
fn settings(t: &Trace) -> StreamSettings {
    let fps = t.frame_rate();
    let mut s = StreamSettings::new(t.bits_per_second(fps), fps, 3);
    s.buffer_depth_ms = 500;
    s
}

type Handle =
    mediastream::sys::ServerHandle<mediastream::server::ShardedConnectionManager, PatternFactory>;

fn server(backend: Backend) -> (Handle, SocketAddr, mpsc::Receiver<StreamResult>) {
    let mut factory = PatternFactory::default();
    factory.trace = Some(Arc::new(trace()));
    factory.timeline = true;
    let (tx, rx) = mpsc::channel();
    let server = Server::with_factory(ServerConfig::default(), factory)
        .unwrap()
        .on_finished(move |r| {
            let _ = tx.send(r.clone());
        });
    let mut options = ServerOptions::new(vec!["127.0.0.1:0".parse().unwrap()]);
    options.shards = 1;
    let handle = start_server(backend, Arc::new(server), &options).expect("server starts");
    let addr = handle.local_addrs()[0];
    (handle, addr, rx)
}

fn client(backend: Backend, addr: SocketAddr, direction: Direction) -> StreamResult {
    let t = trace();
    let mut config = ClientConfig::new(settings(&t), 0x5eed ^ direction as u64);
    config.direction = direction;
    config.timeline = true;
    config.frame_sizes = Some(FrameSizes::Trace(t));
    let mut options = ClientOptions::new(addr);
    options.time_limit = Some(Duration::from_secs(30));
    let mut results = run_client(backend, &options, &config, &mut ()).expect("client runs");
    assert_eq!(results.len(), 1);
    results.remove(0)
}

/// Every frame complete, and its size and kind as learned equal the trace's.
fn assert_sizes_are_the_trace(r: &StreamResult) {
    assert_eq!(r.status, Status::Completed, "{r:?}");
    assert_eq!(r.stats.frames_completed, 90, "{r:?}");
    let m = r
        .stats
        .metrics
        .as_ref()
        .expect("a receiving end has metrics");
    let timeline: &[TimelineFrame] = m.timeline.as_deref().expect("timeline kept");
    let got: Vec<(u64, FrameKind)> = timeline
        .iter()
        .map(|f| {
            f.shape
                .map(|s| (s.size, s.kind))
                .expect("every frame had data")
        })
        .collect();
    let want: Vec<(u64, FrameKind)> = trace().frames()[..90]
        .iter()
        .map(|f| (f.bytes, f.kind))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        got.iter().filter(|f| f.1 == FrameKind::Key).count(),
        2,
        "keyframes at 0 s and 2 s"
    );
    assert_eq!((m.decoder.decodable, m.decoder.key.completed), (90, 2));
    let bytes: u64 = want.iter().map(|f| f.0).sum();
    assert_eq!(r.stats.bytes_received, bytes);
}

#[test]
fn the_sample_trace_replays_from_the_server() {
    for &backend in Backend::available() {
        let (handle, addr, done) = server(backend);
        let r = client(backend, addr, Direction::Receive);
        assert_sizes_are_the_trace(&r);
        let sent = done
            .recv_timeout(Duration::from_secs(10))
            .expect("the server's stream ends");
        assert_eq!(sent.stats.frames_sent, 90);
        handle.stop().unwrap();
    }
}

#[test]
fn the_sample_trace_replays_from_the_client() {
    for &backend in Backend::available() {
        let (handle, addr, done) = server(backend);
        let r = client(backend, addr, Direction::Send);
        assert_eq!(r.status, Status::Completed, "{r:?}");
        let received = done
            .recv_timeout(Duration::from_secs(10))
            .expect("the server's stream ends");
        assert_sizes_are_the_trace(&received);
        handle.stop().unwrap();
    }
}

#[test]
fn a_server_without_a_trace_refuses_a_trace_request() {
    let backend = Backend::platform_default();
    let server = Server::with_defaults(ServerConfig::default()).unwrap();
    let options = ServerOptions::new(vec!["127.0.0.1:0".parse().unwrap()]);
    let handle = start_server(backend, Arc::new(server), &options).expect("server starts");
    let r = client(backend, handle.local_addrs()[0], Direction::Receive);
    match &r.status {
        Status::Failed(e) => assert!(
            e.to_string()
                .contains("no such frame-size model here: no trace to replay"),
            "{e}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    handle.stop().unwrap();
}
