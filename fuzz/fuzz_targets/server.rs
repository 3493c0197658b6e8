//! The server fed arbitrary datagram sequences from arbitrary addresses,
//! with its streams driven in between: never a panic, replies never larger
//! than a v1 request, and never more streams than its limit.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mediastream_core::server::{
    Batching, ConnectionManager, Handled, ListenerHandler, ListenerId, Received, Server, ServerConfig,
};
use mediastream_core::settings::StreamSettings;
use mediastream_core::wire::v1::REQUEST_LEN;

fuzz_target!(|input: Vec<(u8, u16, u16, Vec<u8>)>| {
    let config = ServerConfig {
        compat_settings: Some(StreamSettings::new(80_000, 10, 1)),
        max_streams: 4,
        ..ServerConfig::default()
    };
    let server = Server::with_defaults(config).unwrap();
    let t0 = Instant::now();
    let local: SocketAddr = "127.0.0.1:4444".parse().unwrap();
    let mut buf = vec![0u8; 65_536];
    let mut keys = Vec::new();
    for (i, (host, port, gap_ms, bytes)) in input.iter().take(300).enumerate() {
        let now = t0 + Duration::from_millis(u64::from(*gap_ms % 500) * i as u64);
        let remote = SocketAddr::from(([127, 0, 0, *host % 4], *port % 8));
        let d = Received { listener: ListenerId(0), local, remote, bytes, now };
        match server.on_datagram(d) {
            Handled::Reply(r) => assert!(r.bytes().len() <= REQUEST_LEN),
            Handled::Started(k) | Handled::Delivered(k) => keys.push(k),
            _ => {}
        }
        keys.retain(|&k| {
            let drive = server.drive(k, now, &mut buf, Batching { max_segments: 8, max_bytes: 65_000 }, &mut |_, run, seg| {
                assert!(seg >= 1 && run.len() <= 65_000);
                Ok(())
            });
            matches!(drive, mediastream_core::server::Drive::Wake(_))
        });
        assert!(server.manager().len() <= 2 * 4, "two directions of 4 streams at most");
        server.maintain(now);
    }
    let left = server.shutdown(t0 + Duration::from_secs(3600), "fuzz done");
    assert!(left.len() <= 8);
});
