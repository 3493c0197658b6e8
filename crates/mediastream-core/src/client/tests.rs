//! A client session and a `Server` over an in-memory network on a virtual
//! clock (quinn-proto's `Pair` idea): the whole protocol, both directions,
//! without sockets.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::auth::AccessKey;
use crate::pattern::{IoPattern, ReceivedBy, ReceivedView, Role, Status, StreamError};
use crate::server::{
    Drive, Handled, ListenerHandler, ListenerId, Received, Server, ServerConfig, StreamKey,
    StreamResult,
};
use crate::settings::{Limits, StreamSettings};

const DELAY: Duration = Duration::from_millis(1);

fn client_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50_000))
}

fn server_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 4444))
}

struct Pair {
    client: ClientSession,
    server: Option<Server>,
    to_server: VecDeque<(Instant, Vec<u8>)>,
    to_client: VecDeque<(Instant, Vec<u8>)>,
    wakes: BTreeMap<StreamKey, Instant>,
    results: Vec<StreamResult>,
    now: Instant,
    /// The server process dies (everything it holds is gone) then.
    server_dies: Option<Instant>,
    /// Datagrams to the client this returns true for (given how long
    /// after the start they arrive) are lost.
    lose_to_client: fn(&[u8], Duration) -> bool,
    /// The same for datagrams to the server.
    lose_to_server: fn(&[u8], Duration) -> bool,
    /// Delay each datagram takes on top of `delay` (either way; the
    /// path stays first in, first out).
    extra_delay: fn(&[u8]) -> Duration,
    start: Instant,
    /// One-way delay of the in-memory path.
    delay: Duration,
    /// The TOS byte each datagram arrives with (either way), as a
    /// backend that reads markings hands it on.
    mark: fn(&[u8]) -> Option<u8>,
}

impl Pair {
    fn new(config: ClientConfig, server: Option<ServerConfig>) -> Self {
        Self::keyed(config, server, None)
    }

    fn keyed(config: ClientConfig, server: Option<ServerConfig>, key: Option<AccessKey>) -> Self {
        let now = Instant::now();
        Self {
            client: ClientSession::new(config, now).unwrap().with_key(key),
            server: server.map(|c| Server::with_defaults(c).unwrap()),
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            wakes: BTreeMap::new(),
            results: Vec::new(),
            now,
            server_dies: None,
            lose_to_client: |_, _| false,
            lose_to_server: |_, _| false,
            extra_delay: |_| Duration::ZERO,
            start: now,
            delay: DELAY,
            mark: |_| None,
        }
    }

    fn drive_server(&mut self, key: StreamKey) {
        let Some(server) = &self.server else { return };
        let mut buf = vec![0u8; 65_536];
        let (now, out, delay) = (self.now, &mut self.to_client, self.delay);
        let extra = self.extra_delay;
        // Runs of datagrams as a GSO backend would get them, split here.
        let mut send = |_: &crate::server::StreamRequest, b: &[u8], segment: usize| {
            for d in b.chunks(segment) {
                out.push_back((now + delay + extra(d), d.to_vec()));
            }
            Ok(())
        };
        let batching = crate::server::Batching {
            max_segments: 64,
            max_bytes: 65_000,
        };
        match server.drive(key, now, &mut buf, batching, &mut send) {
            Drive::Wake(t) => {
                self.wakes.insert(key, t);
            }
            Drive::Finished { result, started } => {
                self.wakes.remove(&key);
                self.results.push(*result);
                if let Some(k) = started {
                    self.wakes.insert(k, now);
                }
            }
            Drive::Idle | Drive::Gone => {
                self.wakes.remove(&key);
            }
        }
    }

    fn step(&mut self) {
        let now = self.now;
        if self.server_dies.is_some_and(|t| t <= now) {
            self.server = None;
            self.wakes.clear();
        }
        let mut buf = vec![0u8; 65_536];
        while let Some(len) = self.client.poll_transmit(now, &mut buf) {
            let at = now + self.delay + (self.extra_delay)(&buf[..len]);
            self.to_server.push_back((at, buf[..len].to_vec()));
        }
        while self.to_server.front().is_some_and(|(t, _)| *t <= now) {
            let (_, bytes) = self.to_server.pop_front().unwrap();
            if (self.lose_to_server)(&bytes, now - self.start) {
                continue;
            }
            let Some(server) = &self.server else { continue };
            let mut d = Received::new(ListenerId(0), server_addr(), client_addr(), &bytes, now);
            d.tos = (self.mark)(&bytes);
            match server.on_datagram(d) {
                Handled::Delivered(k) | Handled::Started(k) => self.drive_server(k),
                Handled::Reply(r) => self
                    .to_client
                    .push_back((now + self.delay, r.bytes().to_vec())),
                _ => {}
            }
        }
        let due: Vec<_> = self
            .wakes
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in due {
            self.drive_server(k);
        }
        while self.to_client.front().is_some_and(|(t, _)| *t <= now) {
            let (_, bytes) = self.to_client.pop_front().unwrap();
            if !(self.lose_to_client)(&bytes, now - self.start) {
                let tos = (self.mark)(&bytes);
                self.client.handle_marked_datagram(now, &bytes, tos);
            }
        }
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
    }

    /// Runs until the client and every server stream have finished.
    fn run(mut self) -> Self {
        for _ in 0..200_000 {
            self.step();
            let client_done =
                self.client.status().is_finished() && self.client.poll_timeout().is_none();
            if client_done
                && self.wakes.is_empty()
                && self.to_client.is_empty()
                && self.to_server.is_empty()
            {
                return self;
            }
            let next = [
                self.client.poll_timeout(),
                self.wakes.values().min().copied(),
                self.to_server.front().map(|(t, _)| *t),
                self.to_client.front().map(|(t, _)| *t),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) => self.now = self.now.max(t),
                None => return self,
            }
        }
        panic!("the pair did not finish");
    }
}

fn settings() -> StreamSettings {
    StreamSettings {
        buffer_depth_ms: 200,
        ..StreamSettings::new(8_000_000, 50, 3)
    }
}

fn server_config() -> ServerConfig {
    ServerConfig {
        compat_settings: Some(settings()),
        ..ServerConfig::default()
    }
}

#[test]
fn v1_receive_completes_with_both_views() {
    let p = Pair::new(ClientConfig::new(settings(), 42), Some(server_config())).run();
    assert_eq!(p.client.status(), Status::Completed);
    let s = p.client.stats();
    assert_eq!(
        (s.frames_completed, s.frames_dropped, s.frames_error),
        (150, 0, 0)
    );
    assert_eq!(s.peer_end.map(|e| e.datagrams_sent), Some(150 * 15));
    assert_eq!(p.results.len(), 1);
    let r = &p.results[0];
    assert_eq!(
        (r.role, r.status.clone(), r.v1),
        (Role::Sender, Status::Completed, true)
    );
    let report = r
        .stats
        .peer_report
        .as_deref()
        .cloned()
        .expect("reports reached the server");
    assert!(report.is_final);
    assert_eq!(report.frames_completed, 150);
    assert_eq!(r.stats.rtt.min, 2 * DELAY);
    assert_eq!(p.client.connection_id(), r.connection_id);
    // The first REQUEST is challenged; the second carries the cookie.
    assert_eq!(p.client.requests_sent(), 2);
    assert_eq!(p.client.challenges_answered(), 1);
    let s = p.server.as_ref().unwrap().stats();
    assert_eq!((s.requests, s.challenged, s.verified), (2, 1, 1));
}

#[test]
fn the_challenge_round_trip_is_not_taken_from_the_buffer_depth() {
    // 60 ms each way, 200 ms of buffer: the first data arrives 240 ms
    // after the first REQUEST (challenge, REQUEST with cookie, data), but
    // 120 ms after the request the server can act on.
    for direction in [Direction::Receive, Direction::Send] {
        let config = ClientConfig {
            direction,
            ..ClientConfig::new(settings(), 21)
        };
        let mut p = Pair::new(config, Some(server_config()));
        p.delay = Duration::from_millis(60);
        let t0 = p.now;
        let p = p.run();
        assert_eq!(p.client.status(), Status::Completed, "{direction:?}");
        assert_eq!(p.client.requests_sent(), 2, "{direction:?}");
        // Exactly one more round trip than before the handshake: the
        // first frame reaches the receiver 4 one-way delays after the
        // first REQUEST (was 2), 5 after the first JOIN (was 3: JOIN,
        // ACCEPT, frame).
        let (receiver, hops) = if direction == Direction::Receive {
            (p.client.stats(), 4)
        } else {
            (&p.results[0].stats, 5)
        };
        let first = receiver.first_received.expect("data arrived");
        assert_eq!(first - t0, hops * p.delay, "{direction:?}");
        assert_eq!(p.results.len(), 1);
        assert_eq!(
            p.results[0]
                .stats
                .frames_completed
                .max(p.client.stats().frames_completed),
            150
        );
    }
}

#[test]
fn keyed_server_and_client_stream_both_ways() {
    let key = AccessKey::new(b"a shared test key").unwrap();
    let keyed = ServerConfig {
        key: Some(key.clone()),
        ..server_config()
    };
    for direction in [Direction::Receive, Direction::Send] {
        let config = ClientConfig {
            direction,
            ..ClientConfig::new(settings(), 31)
        };
        let p = Pair::keyed(config, Some(keyed.clone()), Some(key.clone())).run();
        assert_eq!(p.client.status(), Status::Completed, "{direction:?}");
        assert_eq!(p.results[0].status, Status::Completed);
        let s = p.server.as_ref().unwrap().stats();
        assert_eq!((s.unkeyed, s.streams_started), (0, 1));
    }
}

#[test]
fn wrong_or_missing_key_gets_no_stream_and_is_counted() {
    let key = AccessKey::new(b"the server's key!").unwrap();
    let wrong = AccessKey::new(b"another key, same size").unwrap();
    let keyed = ServerConfig {
        key: Some(key.clone()),
        ..server_config()
    };
    for client_key in [None, Some(wrong)] {
        let config = ClientConfig {
            direction: Direction::Send,
            ..ClientConfig::new(settings(), 41)
        };
        let p = Pair::keyed(config, Some(keyed.clone()), client_key.clone()).run();
        assert_eq!(
            p.client.status(),
            Status::Failed(StreamError::NoAnswer { attempts: 5 }),
            "{client_key:?}"
        );
        let s = p.server.as_ref().unwrap().stats();
        assert_eq!(
            (s.unkeyed, s.joins, s.challenged),
            (5, 0, 0),
            "dropped before counting"
        );
        assert_eq!((s.streams_started, s.refused), (0, 0));
        assert!(p.results.is_empty());
    }
    // A keyed client ignores an unkeyed server's answers.
    let config = ClientConfig {
        direction: Direction::Send,
        ..ClientConfig::new(settings(), 42)
    };
    let p = Pair::keyed(config, Some(server_config()), Some(key)).run();
    assert_eq!(
        p.client.status(),
        Status::Failed(StreamError::NoAnswer { attempts: 5 })
    );
    let s = p.server.as_ref().unwrap().stats();
    assert_eq!((s.challenged, s.streams_started), (5, 0));
}

#[test]
fn v1_send_join_streams_to_the_server() {
    let config = ClientConfig {
        direction: Direction::Send,
        ..ClientConfig::new(settings(), 7)
    };
    let p = Pair::new(config, Some(server_config())).run();
    assert_eq!(p.client.status(), Status::Completed);
    let r = &p.results[0];
    assert_eq!(
        (r.role, r.status.clone()),
        (Role::Receiver, Status::Completed)
    );
    assert_eq!(r.stats.frames_completed, 150);
    assert_eq!(r.stats.peer_end.map(|e| e.frames_sent), Some(150));
    let peer = p
        .client
        .stats()
        .peer_report
        .as_deref()
        .cloned()
        .expect("the server reported");
    assert!(peer.is_final);
    assert_eq!(peer.frames_completed, 150);
    assert!(p.client.connection_id().is_some());
}

/// Every tenth frame (3, 13, ...) lost whole; every other frame's
/// datagrams 1 ms late.
fn lossy_jittery(p: &mut Pair, direction: Direction) {
    fn frame_of(b: &[u8]) -> Option<i64> {
        match crate::wire::parse(b) {
            Ok(crate::wire::Datagram::Data(d, _)) => Some(d.sequence_number),
            _ => None,
        }
    }
    let lose: fn(&[u8], Duration) -> bool = |b, _| frame_of(b).is_some_and(|n| n % 10 == 3);
    match direction {
        Direction::Receive => p.lose_to_client = lose,
        Direction::Send => p.lose_to_server = lose,
    }
    p.extra_delay = |b| match frame_of(b) {
        Some(n) if n % 2 == 0 => Duration::from_millis(1),
        _ => Duration::ZERO,
    };
}

#[test]
fn both_ends_read_the_receivers_numbers_from_one_view() {
    for direction in [Direction::Receive, Direction::Send] {
        let config = ClientConfig {
            direction,
            ..ClientConfig::new(settings(), 9)
        };
        let mut p = Pair::new(config, Some(server_config()));
        lossy_jittery(&mut p, direction);
        let p = p.run();
        assert_eq!(p.client.status(), Status::Completed, "{direction:?}");
        let server = &p.results[0];
        let client_role = match direction {
            Direction::Receive => Role::Receiver,
            Direction::Send => Role::Sender,
        };
        assert_ne!(server.role, client_role);
        let client = p.client.stats().received(client_role).unwrap();
        let server = server.received().unwrap();
        let (own, peer) = match direction {
            Direction::Receive => (client, server),
            Direction::Send => (server, client),
        };
        assert_eq!(own.by, ReceivedBy::ThisEnd, "{direction:?}");
        assert_eq!(
            peer.by,
            ReceivedBy::Peer { final_report: true },
            "{direction:?}"
        );
        // 15 of 150 frames lost whole, 15 datagrams each.
        let counts = |v: &ReceivedView| {
            (
                v.frames_completed,
                v.frames_dropped,
                v.frames_repeated,
                v.frames_error,
                v.datagrams_received,
            )
        };
        assert_eq!(counts(&own), (135, 15, 0, 0, 135 * 15), "{direction:?}");
        assert_eq!(counts(&peer), counts(&own), "{direction:?}");
        // One unit at both ends: the report's nanoseconds and the
        // receiver's own seconds agree to the nanosecond.
        assert!(
            own.jitter > Duration::from_micros(10),
            "{direction:?}: {own:?}"
        );
        assert!(own.jitter.abs_diff(peer.jitter) <= Duration::from_nanos(1));
        // Delay is the receiver's own measure: the 1 ms detour is the
        // whole spread above the fastest datagram.
        let delay = own.delay.expect("the receiver measured delays");
        assert_eq!(delay.max, Duration::from_millis(1), "{direction:?}");
        assert_eq!(delay.datagrams, 135 * 15, "{direction:?}");
        assert_eq!(peer.delay, None);
    }
}

#[test]
fn a_plain_start_sender_has_no_view_of_the_receiver() {
    let config = ClientConfig {
        compat: true,
        ..ClientConfig::new(settings(), 1)
    };
    let p = Pair::new(config, Some(server_config())).run();
    assert_eq!(p.results[0].role, Role::Sender);
    assert_eq!(p.results[0].received(), None);
    let own = p.client.stats().received(Role::Receiver).unwrap();
    assert_eq!((own.by, own.frames_completed), (ReceivedBy::ThisEnd, 150));
}

#[test]
fn direction_parses_and_prints_its_names() {
    for d in [Direction::Receive, Direction::Send] {
        assert_eq!(d.to_string().parse(), Ok(d));
    }
    assert_eq!("receive".parse(), Ok(Direction::Receive));
    let e = "RECV".parse::<Direction>().unwrap_err();
    assert_eq!(e.value, "RECV");
    assert!(e.to_string().contains("recv") && e.to_string().contains("send"));
}

#[test]
fn random_tokens_differ() {
    let tokens: std::collections::HashSet<u64> = (0..100).map(|_| random_token()).collect();
    assert_eq!(tokens.len(), 100);
}

#[test]
fn compat_start_gets_the_plain_stream() {
    let config = ClientConfig {
        compat: true,
        ..ClientConfig::new(settings(), 1)
    };
    let p = Pair::new(config, Some(server_config())).run();
    assert_eq!(p.client.status(), Status::Completed);
    assert_eq!(p.client.stats().frames_completed, 150);
    assert_eq!(
        p.client.stats().peer_end,
        None,
        "no extension on a plain stream"
    );
    assert!(
        p.client.connection_id().is_some(),
        "the connection-id datagram arrived"
    );
    assert!(!p.results[0].v1);
}

#[test]
fn refusal_reaches_the_client_with_the_reason() {
    let strict = ServerConfig {
        limits: Limits {
            max_bits_per_second: 1_000_000,
            ..Limits::default()
        },
        compat_settings: None,
        ..server_config()
    };
    let config = ClientConfig {
        direction: Direction::Send,
        ..ClientConfig::new(settings(), 3)
    };
    let p = Pair::new(config, Some(strict)).run();
    match p.client.status() {
        Status::Failed(StreamError::Refused { reason }) => {
            assert!(reason.contains("bits-per-second 8000000"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_server_means_no_answer() {
    let config = ClientConfig {
        direction: Direction::Send,
        ..ClientConfig::new(settings(), 3)
    };
    let p = Pair::new(config, None).run();
    assert_eq!(
        p.client.status(),
        Status::Failed(StreamError::NoAnswer { attempts: 5 })
    );
    // Receiving: the jitter buffer runs out first; every frame is dropped.
    let p = Pair::new(ClientConfig::new(settings(), 4), None).run();
    assert!(matches!(
        p.client.status(),
        Status::Failed(StreamError::NoAnswer { .. })
    ));
    assert_eq!(p.client.stats().frames_dropped, 150);
}

#[test]
fn compat_cannot_send() {
    let config = ClientConfig {
        compat: true,
        direction: Direction::Send,
        ..ClientConfig::new(settings(), 1)
    };
    assert_eq!(config.plan().unwrap_err(), ClientError::CompatCannotSend);
}

#[test]
fn buffer_depth_counts_from_the_first_request_not_from_creation() {
    // A client of many streams builds every session before the first
    // request leaves (opening hundreds of sockets can take a second under
    // Wine); the wait for data starts with the request.
    let mut p = Pair::new(ClientConfig::new(settings(), 5), Some(server_config()));
    p.now += Duration::from_secs(2); // 10x the 200 ms buffer depth
    let p = p.run();
    assert_eq!(p.client.status(), Status::Completed);
    assert_eq!(p.client.stats().frames_completed, 150);
}

#[test]
fn no_data_fails_one_buffer_depth_after_the_first_request() {
    let built = Instant::now();
    let mut client = ClientSession::new(ClientConfig::new(settings(), 6), built).unwrap();
    // Not driven yet: the only thing due is the request.
    assert_eq!(client.poll_timeout(), Some(built));
    let sent = built + Duration::from_secs(2);
    client.handle_timeout(sent);
    assert_eq!(client.status(), Status::Running);
    let mut buf = [0u8; 2048];
    assert!(
        client.poll_transmit(sent, &mut buf).is_some(),
        "the request"
    );
    // 200 ms at 50 frames/s: 10 buffered frames; with nothing received it
    // fails at the first render tick, 10 frame intervals after the request.
    let deadline = sent + Duration::from_millis(200);
    let almost = deadline - Duration::from_millis(1);
    client.handle_timeout(almost);
    assert_eq!(client.status(), Status::Running);
    client.handle_timeout(deadline);
    assert!(
        matches!(
            client.status(),
            Status::Failed(StreamError::NoAnswer { attempts: 1 })
        ),
        "{:?}",
        client.status()
    );
}

#[test]
fn a_server_that_dies_mid_stream_fails_the_receiving_client() {
    let mut p = Pair::new(ClientConfig::new(settings(), 11), Some(server_config()));
    p.server_dies = Some(p.now + Duration::from_secs(1));
    let p = p.run();
    // 3 s at 50 frames/s, 200 ms buffer: frames of the first second came.
    let s = p.client.stats();
    assert_eq!(s.frames_completed + s.frames_dropped, 150);
    assert!((45..=51).contains(&s.frames_completed), "{s:?}");
    match p.client.status() {
        Status::Failed(e @ StreamError::ServerStopped { at_ms, silent_ms }) => {
            assert!((950..=1010).contains(&at_ms), "{e}");
            assert!((1_950..=2_050).contains(&silent_ms), "{e}");
            assert!(
                e.to_string()
                    .contains("the server stopped sending at 1.0 s"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_receiving_v1_stream_without_the_servers_end_fails() {
    let mut p = Pair::new(ClientConfig::new(settings(), 12), Some(server_config()));
    p.lose_to_client = |b, _| crate::wire::read_flag(b) == Ok(crate::wire::v1::FLAG_END);
    let p = p.run();
    assert_eq!(p.client.stats().frames_completed, 150, "every frame came");
    assert_eq!(p.client.status(), Status::Failed(StreamError::NoEnd));
}

#[test]
fn a_sending_v1_stream_without_the_servers_final_report_fails() {
    let config = ClientConfig {
        direction: Direction::Send,
        ..ClientConfig::new(settings(), 13)
    };
    let mut p = Pair::new(config, Some(server_config()));
    p.lose_to_client = |b, _| {
        matches!(
            crate::wire::parse(b),
            Ok(crate::wire::Datagram::V1(crate::wire::v1::V1Message::Report(r))) if r.is_final
        )
    };
    let p = p.run();
    let peer = p
        .client
        .stats()
        .peer_report
        .as_deref()
        .cloned()
        .expect("interim reports came");
    assert!(!peer.is_final);
    assert_eq!(
        p.client.status(),
        Status::Failed(StreamError::NoFinalReport)
    );
}

#[test]
fn a_stream_without_one_completed_frame_fails() {
    // 20,000-byte frames: 14 datagrams of 1400 bytes and a short last
    // one, which is lost every time: data and END arrive, no frame is
    // whole.
    let mut p = Pair::new(ClientConfig::new(settings(), 14), Some(server_config()));
    p.lose_to_client = |b, _| {
        matches!(crate::wire::parse(b), Ok(crate::wire::Datagram::Data(..))) && b.len() < 1400
    };
    let p = p.run();
    let s = p.client.stats();
    assert_eq!((s.frames_completed, s.frames_dropped), (0, 150));
    assert!(s.peer_end.is_some());
    assert_eq!(
        p.client.status(),
        Status::Failed(StreamError::NoFrameCompleted { frames: 150 })
    );
}

#[test]
fn a_refusal_reason_is_kept_with_its_control_characters_escaped() {
    let now = Instant::now();
    let mut client = ClientSession::new(ClientConfig::new(settings(), 15), now).unwrap();
    let mut buf = [0u8; 2048];
    assert!(client.poll_transmit(now, &mut buf).is_some(), "the request");
    let hostile = "no\x1b[2J\r\nUDP connection succeeded\u{202e}";
    let len =
        crate::wire::v1::emit_refuse(15, crate::wire::v1::RefuseCode::Busy, hostile, &mut buf)
            .unwrap();
    client.handle_datagram(now, &buf[..len]);
    match client.status() {
        Status::Failed(StreamError::Refused { reason }) => {
            assert_eq!(
                reason,
                "no\\u{1b}[2J\\u{d}\\u{a}UDP connection succeeded\\u{202e}"
            );
            assert!(!reason.chars().any(char::is_control));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_server_silent_mid_stream_for_longer_than_the_buffer_fails_the_client() {
    // Everything from the server is lost from 1.0 s to 1.5 s of a 3 s
    // stream with a 200 ms buffer; it then resumes, END included.
    let mut p = Pair::new(ClientConfig::new(settings(), 16), Some(server_config()));
    p.lose_to_client = |b, at| {
        matches!(crate::wire::parse(b), Ok(crate::wire::Datagram::Data(..)))
            && at >= Duration::from_millis(1000)
            && at < Duration::from_millis(1500)
    };
    let p = p.run();
    let s = p.client.stats();
    assert!(s.peer_end.is_some(), "the stream ran to its end");
    assert!(s.frames_completed >= 120, "{s:?}");
    match p.client.status() {
        Status::Failed(e @ StreamError::ServerStopped { at_ms, silent_ms }) => {
            assert!((950..=1000).contains(&at_ms), "{e}");
            assert!((500..=560).contains(&silent_ms), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // A gap within the buffer depth is only dropped frames.
    let mut p = Pair::new(ClientConfig::new(settings(), 17), Some(server_config()));
    p.lose_to_client = |b, at| {
        matches!(crate::wire::parse(b), Ok(crate::wire::Datagram::Data(..)))
            && at >= Duration::from_millis(1000)
            && at < Duration::from_millis(1150)
    };
    let p = p.run();
    assert_eq!(p.client.status(), Status::Completed);
    assert!(p.client.stats().frames_dropped > 0);
}

/// AF41 and ECT(0) on every datagram, CE on the data of frames 1, 5, 9,
/// ...: what a path with an ECN-marking queue would deliver.
fn af41_some_ce(bytes: &[u8]) -> Option<u8> {
    let ce = matches!(crate::wire::parse(bytes), Ok(crate::wire::Datagram::Data(d, _)) if d.sequence_number % 4 == 1);
    Some(34 << 2 | if ce { 3 } else { 2 })
}

#[test]
fn markings_are_counted_and_reported_back_in_both_directions() {
    for direction in [Direction::Receive, Direction::Send] {
        let config = ClientConfig {
            direction,
            ..ClientConfig::new(settings(), 77)
        };
        let mut p = Pair::new(config, Some(server_config()));
        p.mark = af41_some_ce;
        let p = p.run();
        assert_eq!(p.client.status(), Status::Completed, "{direction:?}");
        let server = &p.results[0].stats;
        let (receiver, sender) = match direction {
            Direction::Receive => (p.client.stats(), server),
            Direction::Send => (server, p.client.stats()),
        };
        // 150 frames of 15 datagrams; frames 1, 5, ..., 149 (38) are CE.
        let m = *receiver.marks.clone().expect("markings were read");
        assert_eq!(m.datagrams, receiver.datagrams_received, "{direction:?}");
        assert_eq!(m.datagrams, 150 * 15, "{direction:?}");
        assert_eq!(m.dscp[34], 150 * 15, "{direction:?}");
        assert_eq!((m.ce(), m.ect0()), (38 * 15, 112 * 15), "{direction:?}");
        // The sender got the same counts in the receiver's final report:
        // a JOIN announced it reads REPORT blocks (the server's receiver
        // appends them from the start), and the server's END did (the
        // client's receiver appends them from then on).
        let report = sender
            .peer_report
            .as_deref()
            .cloned()
            .expect("reports arrived");
        assert!(report.is_final, "{direction:?}");
        assert_eq!(report.marks, Some(Box::new(m)), "{direction:?}");
    }
}

/// A GOP stream (keyframe every 15 frames) asked for in the request, both
/// ways; keyframe 16 is lost whole on the way: its 14 deltas arrive but
/// are spoiled, and the sender's side hears the receiver's counts.
#[test]
fn a_gop_stream_both_ways_loses_one_keyframe_and_its_deltas() {
    use crate::pattern::model::{FrameSizes, Gop};
    for direction in [Direction::Receive, Direction::Send] {
        let mut config = ClientConfig::new(settings(), 11);
        config.direction = direction;
        config.frame_sizes = Some(FrameSizes::Gop(Gop::every_frames(15, 8.0)));
        let mut p = Pair::new(config, Some(server_config()));
        let lose: fn(&[u8], Duration) -> bool = |b, _| matches!(crate::wire::parse(b), Ok(crate::wire::Datagram::FrameData(f, _)) if f.data.sequence_number == 16);
        match direction {
            Direction::Receive => p.lose_to_client = lose,
            Direction::Send => p.lose_to_server = lose,
        }
        let p = p.run();
        assert_eq!(p.client.status(), Status::Completed, "{direction:?}");
        let receiver = match direction {
            Direction::Receive => p.client.stats(),
            Direction::Send => &p.results[0].stats,
        };
        assert_eq!(
            (receiver.frames_completed, receiver.frames_dropped),
            (149, 1)
        );
        let d = &receiver.metrics.as_ref().unwrap().decoder;
        assert_eq!((d.decodable, d.spoiled), (135, 14), "{direction:?}");
        assert_eq!(
            (d.key.completed, d.unknown.dropped),
            (9, 1),
            "{direction:?}"
        );
        assert_eq!(
            (d.freezes.freezes, d.freezes.longest_freeze_frames),
            (1, 15)
        );
        let sender = match direction {
            Direction::Receive => &p.results[0].stats,
            Direction::Send => p.client.stats(),
        };
        let report = sender
            .peer_report
            .as_deref()
            .cloned()
            .expect("the receiver reported");
        assert_eq!((report.frames_completed, report.frames_dropped), (149, 1));
    }
}
