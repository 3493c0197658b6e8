//! The server fed arbitrary datagram sequences from arbitrary addresses,
//! with its streams driven in between: never a panic, replies never larger
//! than the datagram that caused them, at most 3x the bytes received to an
//! address that never started a stream, never more streams than its
//! limit; keyed, nothing starts without the key. Requests are optionally
//! given the right cookie (so streams do start), a cookie for another
//! address, or the key's tag, so the challenge and keyed paths are both
//! reached.
#![no_main]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mediastream_core::auth::AccessKey;
use mediastream_core::server::{
    Batching, ConnectionManager, CookieSecret, Handled, ListenerHandler, ListenerId, Received,
    Server, ServerConfig, COOKIE_EPOCH,
};
use mediastream_core::settings::StreamSettings;
use mediastream_core::wire::v1::{self, COOKIE_LEN, COOKIE_OFFSET, REQUEST_LEN};

const SECRET: CookieSecret = CookieSecret::from_bytes([3; 32]);

fuzz_target!(|input: (bool, Vec<(u8, u16, u16, u8, Vec<u8>)>)| {
    let (keyed, datagrams) = input;
    let key = AccessKey::new(b"fuzzing key 16 b").unwrap();
    let mut config = ServerConfig::default();
    config.compat_settings = Some(StreamSettings::new(80_000, 10, 1));
    config.max_streams = 4;
    config.cookie_secret = SECRET;
    config.key = keyed.then(|| key.clone());
    let server = Server::with_defaults(config).unwrap();
    let t0 = Instant::now();
    let local: SocketAddr = "127.0.0.1:4444".parse().unwrap();
    let mut buf = vec![0u8; 65_536];
    let mut keys = Vec::new();
    let mut received: HashMap<SocketAddr, usize> = HashMap::new();
    let mut answered: HashMap<SocketAddr, usize> = HashMap::new();
    let mut started: HashSet<SocketAddr> = HashSet::new();
    for (i, (host, port, gap_ms, fix, bytes)) in datagrams.iter().take(300).enumerate() {
        // The first datagram is at t0: the server's cookie epoch 0.
        let now = t0 + Duration::from_millis(u64::from(*gap_ms % 500) * i as u64);
        let remote = SocketAddr::from(([127, 0, 0, *host % 4], *port % 8));
        let mut bytes = bytes.clone();
        if fix & 8 != 0 {
            // A well-formed request whose token (and a few parameters)
            // come from the input, so the cookie and key paths are reached.
            let mut raw = [0u8; 12];
            raw.iter_mut().zip(bytes.iter()).for_each(|(r, b)| *r = *b);
            let request = v1::RequestRepr {
                token: u64::from(raw[0] % 4),
                bits_per_second: 8_000 * (1 + u64::from(raw[1] % 100)),
                frame_rate: 1 + u32::from(raw[2] % 50),
                stream_length_secs: 1 + u32::from(raw[3] % 3),
                datagram_size: 27 + u32::from(u16::from_le_bytes([raw[4], raw[5]]) % 1400),
                buffer_depth_ms: 1 + u32::from(raw[6]) * 4,
                report_interval_ms: 10 + u32::from(raw[7]) * 4,
                consent_timeout_ms: 2_000 + u32::from(raw[8]) * 10,
                cookie: None,
                media: None,
            };
            let extra = usize::from(raw[9] % 4) * 20;
            bytes = vec![0u8; REQUEST_LEN + extra];
            request.emit(fix & 16 != 0, &mut bytes).unwrap();
        }
        let is_request = bytes.len() >= REQUEST_LEN
            && matches!(u16::from_le_bytes([bytes[0], bytes[1]]), v1::FLAG_REQUEST | v1::FLAG_JOIN);
        if is_request && fix & 3 != 0 {
            let flag = u16::from_le_bytes([bytes[0], bytes[1]]);
            let token = u64::from_le_bytes(bytes[3..11].try_into().unwrap());
            let epoch = (now - t0).as_nanos() / COOKIE_EPOCH.as_nanos();
            // 1: the right cookie; 2: another port's; 3: an older epoch's.
            let (who, epoch) = match fix & 3 {
                1 => (remote, epoch),
                2 => (SocketAddr::new(remote.ip(), remote.port() ^ 1), epoch),
                _ => (remote, epoch.saturating_sub(2)),
            };
            let cookie = SECRET.cookie(epoch as u64, who, token, flag);
            bytes[COOKIE_OFFSET..COOKIE_OFFSET + COOKIE_LEN].copy_from_slice(&cookie);
        }
        let sealed = fix & 4 != 0;
        if sealed {
            key.seal(&mut bytes);
        }
        *received.entry(remote).or_default() += bytes.len();
        let d = Received::new(ListenerId(0), local, remote, &bytes, now);
        match server.on_datagram(d) {
            Handled::Reply(r) => {
                assert!(r.bytes().len() <= bytes.len(), "an answer larger than its request");
                assert!(r.bytes().len() <= REQUEST_LEN);
                assert!(!keyed || key.verify(r.bytes()), "a keyed server tags its answers");
                *answered.entry(remote).or_default() += r.bytes().len();
            }
            Handled::Started(k) => {
                assert!(!keyed || sealed || bytes.as_slice() == b"START", "started without the key");
                started.insert(k.remote);
                keys.push(k);
            }
            Handled::Delivered(k) => keys.push(k),
            _ => {}
        }
        keys.retain(|&k| {
            let drive = server.drive(k, now, &mut buf, Batching { max_segments: 8, max_bytes: 65_000 }, &mut |_, run, seg| {
                assert!(seg >= 1 && run.len() <= 65_000);
                Ok(())
            });
            matches!(drive, mediastream_core::server::Drive::Wake(_) | mediastream_core::server::Drive::Idle)
        });
        assert!(server.manager().len() <= 2 * 4, "two directions of 4 streams at most");
        server.maintain(now);
    }
    for (remote, sent) in &answered {
        if !started.contains(remote) {
            assert!(*sent <= 3 * received[remote], "{remote}: {sent} bytes for {}", received[remote]);
        }
    }
    let left = server.shutdown(t0 + Duration::from_secs(3600), "fuzz done");
    assert!(left.len() <= 8);
});
