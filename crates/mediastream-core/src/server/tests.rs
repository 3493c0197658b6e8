//! `Server` against fake managers, factories and patterns: routing by
//! role, repeats, refusals, slots, removal. And the default manager under
//! threads.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::pattern::{IoPattern, Role, Status, StreamError, StreamStats};
use crate::settings::StreamSettings;
use crate::wire::v1::{self, RefuseCode, RequestRepr, V1Message};
use crate::wire::{self, ConnectionId, DataRepr, Datagram};

/// A pattern whose behaviour the test controls and whose inputs it sees.
#[derive(Debug, Default)]
struct FakeState {
    received: Vec<Vec<u8>>,
    outbox: VecDeque<Vec<u8>>,
    status: Option<Status>,
}

struct FakePattern(Arc<Mutex<FakeState>>, StreamStats);

impl IoPattern for FakePattern {
    fn poll_transmit(&mut self, _: Instant, buf: &mut [u8]) -> Option<usize> {
        let d = self.0.lock().unwrap().outbox.pop_front()?;
        buf[..d.len()].copy_from_slice(&d);
        Some(d.len())
    }
    fn handle_datagram(&mut self, _: Instant, d: &[u8]) {
        self.0.lock().unwrap().received.push(d.to_vec());
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _: Instant) {}
    fn status(&self) -> Status {
        self.0
            .lock()
            .unwrap()
            .status
            .clone()
            .unwrap_or(Status::Running)
    }
    fn stats(&self) -> &StreamStats {
        &self.1
    }
    fn abort(&mut self, reason: &str) {
        self.0.lock().unwrap().status = Some(Status::Failed(StreamError::Aborted {
            reason: reason.into(),
        }));
    }
}

/// Records every request and hands out fake patterns (or fails).
#[derive(Default)]
struct FakeFactory {
    created: Mutex<Vec<StreamRequest>>,
    states: Mutex<HashMap<StreamKey, Arc<Mutex<FakeState>>>>,
    fail: std::sync::atomic::AtomicBool,
}

impl FakeFactory {
    fn state(&self, key: StreamKey) -> Arc<Mutex<FakeState>> {
        self.states.lock().unwrap()[&key].clone()
    }
}

impl ConnectedSocketFactory for &FakeFactory {
    fn create(&self, r: &StreamRequest, _: Instant) -> Result<Box<dyn IoPattern + Send>, String> {
        if self.fail.load(std::sync::atomic::Ordering::Relaxed) {
            return Err("no sockets left".into());
        }
        self.created.lock().unwrap().push(*r);
        let state = Arc::new(Mutex::new(FakeState::default()));
        self.states.lock().unwrap().insert(r.key, state.clone());
        Ok(Box::new(FakePattern(state, StreamStats::default())))
    }
}

/// The simplest manager there is: one lock over everything. Proves the
/// server depends on the trait, not on the sharded implementation.
#[derive(Default)]
struct FakeManager {
    inner: Mutex<FakeTables>,
}

type FakeTables = (
    HashMap<StreamKey, ConnectedStream>,
    Vec<AwaitingEndpoint>,
    Vec<AcceptingSlot>,
);

impl ConnectionManager for FakeManager {
    #[allow(clippy::result_large_err)]
    fn insert(&self, s: ConnectedStream) -> Result<(), ConnectedStream> {
        let mut g = self.inner.lock().unwrap();
        if g.0.contains_key(&s.request.key) {
            return Err(s);
        }
        g.0.insert(s.request.key, s);
        Ok(())
    }
    fn remove(&self, key: StreamKey) -> Option<ConnectedStream> {
        self.inner.lock().unwrap().0.remove(&key)
    }
    fn with_stream(&self, key: StreamKey, f: &mut dyn FnMut(&mut ConnectedStream)) -> bool {
        self.inner.lock().unwrap().0.get_mut(&key).map(f).is_some()
    }
    fn len(&self) -> usize {
        self.inner.lock().unwrap().0.len()
    }
    fn for_each_stream(&self, f: &mut dyn FnMut(&ConnectedStream)) {
        self.inner.lock().unwrap().0.values().for_each(f);
    }
    fn drain(&self) -> Vec<ConnectedStream> {
        self.inner
            .lock()
            .unwrap()
            .0
            .drain()
            .map(|(_, s)| s)
            .collect()
    }
    fn add_awaiting(&self, e: AwaitingEndpoint) -> AwaitOutcome {
        let mut g = self.inner.lock().unwrap();
        if let Some(i) = g.2.iter().position(|s| s.accepts(&e)) {
            let slot = g.2.remove(i);
            return AwaitOutcome::Matched(e, slot);
        }
        g.1.push(e);
        AwaitOutcome::Queued
    }
    fn add_accepting(&self, slot: AcceptingSlot) -> Option<(AwaitingEndpoint, AcceptingSlot)> {
        let mut g = self.inner.lock().unwrap();
        if let Some(i) = g.1.iter().position(|e| slot.accepts(e)) {
            return Some((g.1.remove(i), slot));
        }
        g.2.push(slot);
        None
    }
    fn expire_awaiting(&self, cutoff: Instant) -> usize {
        let mut g = self.inner.lock().unwrap();
        let before = g.1.len();
        g.1.retain(|e| e.received >= cutoff);
        before - g.1.len()
    }
    fn awaiting_len(&self) -> usize {
        self.inner.lock().unwrap().1.len()
    }
    fn free_slots(&self, role: Role) -> usize {
        self.inner
            .lock()
            .unwrap()
            .2
            .iter()
            .filter(|s| s.role == role && s.remote.is_none())
            .count()
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

const LOCAL: u16 = 4444;

fn received(remote: u16, bytes: &[u8], now: Instant) -> Received<'_> {
    Received::new(ListenerId(0), addr(LOCAL), addr(remote), bytes, now)
}

fn config(max_streams: usize) -> ServerConfig {
    ServerConfig {
        compat_settings: Some(StreamSettings::new(8_000_000, 50, 3)),
        max_streams,
        cookie_secret: SECRET,
        ..ServerConfig::default()
    }
}

/// The tests' cookie secret: they compute cookies as the server would.
const SECRET: CookieSecret = CookieSecret::from_bytes([7; 32]);

/// A request carrying the cookie the server makes for `port` in epoch 0
/// (the epoch of the server's first datagram).
fn verified_request(join: bool, token: u64, port: u16) -> Vec<u8> {
    let flag = if join {
        v1::FLAG_JOIN
    } else {
        v1::FLAG_REQUEST
    };
    let cookie = SECRET.cookie(0, addr(port), token, flag);
    with_cookie(&request_bytes(join, token), cookie)
}

/// `request` (a REQUEST or JOIN) with the cookie the server makes for
/// `port` in epoch 0: what a client sends after the CHALLENGE.
fn cookied(request: &[u8], port: u16) -> Vec<u8> {
    let h = v1::Header::parse(request).unwrap();
    with_cookie(request, SECRET.cookie(0, addr(port), h.token, h.flag))
}

fn with_cookie(request: &[u8], cookie: v1::Cookie) -> Vec<u8> {
    let mut out = request.to_vec();
    out[v1::COOKIE_OFFSET..v1::COOKIE_OFFSET + v1::COOKIE_LEN].copy_from_slice(&cookie);
    out
}

fn request_bytes(join: bool, token: u64) -> Vec<u8> {
    request_with(join, token, |_| {})
}

/// A REQUEST (or JOIN) for 1 Mbit/s, 10 frames/s, 2 s, changed by `edit`.
fn request_with(join: bool, token: u64, edit: impl FnOnce(&mut RequestRepr)) -> Vec<u8> {
    let mut r = RequestRepr {
        token,
        bits_per_second: 1_000_000,
        frame_rate: 10,
        stream_length_secs: 2,
        datagram_size: 1400,
        buffer_depth_ms: 500,
        report_interval_ms: 250,
        consent_timeout_ms: 3000,
        cookie: None,
        media: None,
    };
    edit(&mut r);
    let mut buf = vec![0u8; v1::REQUEST_LEN];
    r.emit(join, &mut buf).unwrap();
    buf
}

fn data_bytes(seq: i64) -> Vec<u8> {
    let mut buf = vec![0u8; 100];
    DataRepr {
        sequence_number: seq,
        timestamp: 1,
        frequency: 1,
    }
    .emit_datagram(&mut buf, 100)
    .unwrap();
    buf
}

fn report_bytes(token: u64) -> Vec<u8> {
    let mut buf = vec![0u8; v1::REPORT_LEN];
    v1::ReportRepr {
        token,
        ..Default::default()
    }
    .emit(&mut buf)
    .unwrap();
    buf
}

fn refusal(h: &Handled) -> (RefuseCode, String) {
    let Handled::Reply(reply) = h else {
        panic!("expected a reply, got {h:?}")
    };
    assert!(reply.bytes().len() <= v1::REQUEST_LEN);
    match wire::parse(reply.bytes()) {
        Ok(Datagram::V1(V1Message::Refuse { code, reason, .. })) => {
            (code, String::from_utf8_lossy(reason).into_owned())
        }
        other => panic!("expected REFUSE, got {other:?}"),
    }
}

#[test]
fn start_routes_to_a_sender_and_repeats_are_ignored() {
    let factory = FakeFactory::default();
    let server = Server::new(config(4), FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    assert_eq!(
        server.on_datagram(received(5000, b"START", now)),
        Handled::Started(StreamKey::sender(addr(5000)))
    );
    assert_eq!(
        server.on_datagram(received(5000, b"START", now)),
        Handled::Ignored(Ignored::RepeatedStart)
    );
    let created = factory.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].key, StreamKey::sender(addr(5000)));
    assert_eq!(
        created[0].v1, None,
        "plain START is the plain ctsTraffic stream"
    );
    assert_eq!(
        created[0].plan.frame_size(),
        20_000,
        "the server's own settings"
    );
    let s = server.stats();
    assert_eq!((s.starts, s.repeated_starts, s.streams_started), (2, 1, 1));
}

#[test]
fn join_and_request_route_by_role() {
    let factory = FakeFactory::default();
    let server = Server::new(config(4), FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    let join = server.on_datagram(received(6000, &verified_request(true, 11, 6000), now));
    assert_eq!(join, Handled::Started(StreamKey::receiver(addr(6000))));
    let req = server.on_datagram(received(7000, &verified_request(false, 12, 7000), now));
    assert_eq!(req, Handled::Started(StreamKey::sender(addr(7000))));
    // Data from 6000 goes to its receiver; a report from 7000 to its sender.
    assert_eq!(
        server.on_datagram(received(6000, &data_bytes(1), now)),
        Handled::Delivered(StreamKey::receiver(addr(6000)))
    );
    assert_eq!(
        server.on_datagram(received(7000, &report_bytes(12), now)),
        Handled::Delivered(StreamKey::sender(addr(7000)))
    );
    // Crossed roles find nothing: data from the sender's peer, a report
    // from the receiver's peer.
    assert_eq!(
        server.on_datagram(received(7000, &data_bytes(1), now)),
        Handled::Ignored(Ignored::NoStream)
    );
    assert_eq!(
        server.on_datagram(received(6000, &report_bytes(11), now)),
        Handled::Ignored(Ignored::NoStream)
    );
    let rx = factory.state(StreamKey::receiver(addr(6000)));
    let tx = factory.state(StreamKey::sender(addr(7000)));
    assert_eq!(rx.lock().unwrap().received, vec![data_bytes(1)]);
    assert_eq!(tx.lock().unwrap().received, vec![report_bytes(12)]);
    // A repeated JOIN is handed to the stream (which re-sends its ACCEPT).
    let again = server.on_datagram(received(6000, &request_bytes(true, 11), now));
    assert_eq!(again, Handled::Delivered(StreamKey::receiver(addr(6000))));
    assert_eq!(factory.created.lock().unwrap().len(), 2);
    let created = factory.created.lock().unwrap().clone();
    assert_eq!(created[0].v1.map(|s| s.token), Some(11));
    assert_eq!(created[0].plan.frame_size(), 12_500);
}

#[test]
fn unknown_malformed_and_unexpected_are_counted() {
    let factory = FakeFactory::default();
    let server = Server::new(config(4), FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    assert_eq!(
        server.on_datagram(received(1, &[0x34, 0x12, 0, 0], now)),
        Handled::Ignored(Ignored::Unknown)
    );
    assert_eq!(
        server.on_datagram(received(1, &[0], now)),
        Handled::Ignored(Ignored::Malformed)
    );
    assert_eq!(
        server.on_datagram(received(1, &[0; 10], now)),
        Handled::Ignored(Ignored::Malformed)
    );
    let mut id = [0u8; 39];
    ConnectionId::from_u128(1).emit(&mut id);
    assert_eq!(
        server.on_datagram(received(1, &id, now)),
        Handled::Ignored(Ignored::Unexpected)
    );
    let s = server.stats();
    assert_eq!(
        (s.unknown, s.malformed, s.unexpected, s.datagrams),
        (1, 2, 1, 4)
    );
    assert!(factory.created.lock().unwrap().is_empty());
}

#[test]
fn bad_requests_are_refused_with_a_reason() {
    let factory = FakeFactory::default();
    let server = Server::new(config(4), FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    let mut bad = verified_request(false, 5, 1);
    bad[19..23].copy_from_slice(&0u32.to_le_bytes()); // frame rate 0
    let (code, reason) = refusal(&server.on_datagram(received(1, &bad, now)));
    assert_eq!(code, RefuseCode::BadParameters);
    assert!(
        reason.starts_with("frame-rate 0 frames/s is out of range"),
        "{reason}"
    );
    let mut v3 = request_bytes(true, 5);
    v3[2] = 3;
    let answer = server.on_datagram(received(1, &v3, now));
    let (code, reason) = refusal(&answer);
    assert_eq!(code, RefuseCode::UnsupportedVersion);
    assert!(reason.contains("version 3"), "{reason}");
    let Handled::Reply(reply) = &answer else {
        unreachable!()
    };
    // The refusal carries the token of the request it answers.
    assert_eq!(v1::Header::parse(reply.bytes()).unwrap().token, 5);
    // A version 1 client gets the refusal in the layout it reads (no tag).
    let mut old = request_bytes(true, 5);
    old[2] = 1;
    let Handled::Reply(reply) = server.on_datagram(received(1, &old, now)) else {
        panic!("a version 1 request is refused")
    };
    let b = reply.bytes();
    assert_eq!((&b[..3], b[11]), (&[0x04, 0x20, 1][..], 3));
    assert_eq!(v1::Header::parse(b).unwrap().token, 5);
    assert_eq!(b.len(), 13 + usize::from(b[12]));
    let reason = std::str::from_utf8(&b[13..]).unwrap();
    assert_eq!(reason, "version 1 not spoken here; this server speaks 2");
    // Too short to be answered at all: nothing larger than what came in.
    assert_eq!(
        server.on_datagram(received(1, &old[..20], now)),
        Handled::Ignored(Ignored::Malformed)
    );
    let no_join = ServerConfig {
        serve_receive: false,
        ..config(4)
    };
    let server = Server::new(no_join, FakeManager::default(), &factory).unwrap();
    let (code, _) = refusal(&server.on_datagram(received(1, &verified_request(true, 5, 1), now)));
    assert_eq!(code, RefuseCode::DirectionNotServed);
    assert_eq!(server.stats().refused, 1);
}

#[test]
fn full_server_queues_then_serves_in_freed_slots() {
    let factory = FakeFactory::default();
    let server = Server::new(config(1), FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    assert!(matches!(
        server.on_datagram(received(1, b"START", now)),
        Handled::Started(_)
    ));
    assert_eq!(
        server.on_datagram(received(2, b"START", now)),
        Handled::Queued
    );
    // JOIN has its own slots: a receiver slot is free.
    assert!(matches!(
        server.on_datagram(received(3, &verified_request(true, 1, 3), now)),
        Handled::Started(_)
    ));
    // The first sender completes: removed, and the queued START takes its slot.
    let first = StreamKey::sender(addr(1));
    factory.state(first).lock().unwrap().status = Some(Status::Completed);
    let mut buf = [0u8; 2048];
    match server.drive(first, now, &mut buf, Batching::NONE, &mut |_, _, _| Ok(())) {
        Drive::Finished { result, started } => {
            assert_eq!(result.status, Status::Completed);
            assert_eq!(result.remote, addr(1));
            assert_eq!(started, Some(StreamKey::sender(addr(2))));
        }
        other => panic!("{other:?}"),
    }
    assert!(!server.manager().contains(first));
    assert!(server.manager().contains(StreamKey::sender(addr(2))));
    assert!(matches!(
        server.drive(first, now, &mut buf, Batching::NONE, &mut |_, _, _| Ok(())),
        Drive::Gone
    ));
}

#[test]
fn failed_streams_are_removed_and_send_errors_end_only_that_stream() {
    let factory = FakeFactory::default();
    let results = Arc::new(Mutex::new(Vec::new()));
    let sink = results.clone();
    let server = Server::new(config(4), FakeManager::default(), &factory)
        .unwrap()
        .on_finished(move |r| sink.lock().unwrap().push(r.status.clone()));
    let now = Instant::now();
    server.on_datagram(received(1, b"START", now));
    server.on_datagram(received(2, b"START", now));
    let one = StreamKey::sender(addr(1));
    factory
        .state(one)
        .lock()
        .unwrap()
        .outbox
        .push_back(vec![1, 2, 3]);
    let mut buf = [0u8; 2048];
    let mut refuse_port_1 = |r: &StreamRequest, _: &[u8], _: usize| {
        if r.key.remote == addr(1) {
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
        } else {
            Ok(())
        }
    };
    assert!(matches!(
        server.drive(one, now, &mut buf, Batching::NONE, &mut refuse_port_1),
        Drive::Finished { .. }
    ));
    let two = StreamKey::sender(addr(2));
    factory.state(two).lock().unwrap().outbox.push_back(vec![4]);
    assert!(matches!(
        server.drive(two, now, &mut buf, Batching::NONE, &mut refuse_port_1),
        Drive::Wake(_) | Drive::Idle
    ));
    let statuses = results.lock().unwrap().clone();
    assert_eq!(statuses.len(), 1);
    assert!(
        matches!(&statuses[0], Status::Failed(StreamError::Aborted { reason }) if reason.contains("127.0.0.1:1"))
    );
    assert_eq!(server.stats().streams_failed, 1);
    assert_eq!(server.manager().len(), 1);
}

#[test]
fn an_unreachable_peer_loses_its_streams_in_both_roles_and_no_other() {
    let factory = FakeFactory::default();
    let results = Arc::new(Mutex::new(Vec::new()));
    let sink = results.clone();
    let server = Server::new(config(4), FakeManager::default(), &factory)
        .unwrap()
        .on_finished(move |r| sink.lock().unwrap().push((r.remote, r.status.clone())));
    let now = Instant::now();
    // Peer 1 receives (plain START) and sends (JOIN); peer 2 receives.
    server.on_datagram(received(1, b"START", now));
    server.on_datagram(received(1, &verified_request(true, 9, 1), now));
    server.on_datagram(received(2, b"START", now));
    assert_eq!(server.manager().len(), 3);
    let mut keys = server.on_unreachable(addr(1), "gone");
    keys.sort_by_key(|k| k.role == Role::Receiver);
    assert_eq!(
        keys,
        [StreamKey::sender(addr(1)), StreamKey::receiver(addr(1))]
    );
    assert!(server.on_unreachable(addr(3), "never here").is_empty());
    let mut buf = [0u8; 2048];
    let mut ok = |_: &StreamRequest, _: &[u8], _: usize| Ok(());
    for key in keys {
        assert!(matches!(
            server.drive(key, now, &mut buf, Batching::NONE, &mut ok),
            Drive::Finished { .. }
        ));
    }
    let ended = results.lock().unwrap().clone();
    assert_eq!(ended.len(), 2);
    assert!(ended.iter().all(|(remote, status)| *remote == addr(1)
        && matches!(status, Status::Failed(StreamError::Aborted { reason }) if reason == "gone")));
    assert_eq!(server.manager().len(), 1, "peer 2's stream runs on");
}

#[test]
fn exit_limit_and_factory_failures() {
    let factory = FakeFactory::default();
    let cfg = ServerConfig {
        exit_after: Some(1),
        ..config(4)
    };
    let server = Server::new(cfg, FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    assert!(matches!(
        server.on_datagram(received(1, b"START", now)),
        Handled::Started(_)
    ));
    assert_eq!(
        server.on_datagram(received(2, b"START", now)),
        Handled::Ignored(Ignored::ExitLimit)
    );
    assert!(!server.is_done());
    factory
        .state(StreamKey::sender(addr(1)))
        .lock()
        .unwrap()
        .status = Some(Status::Completed);
    let mut buf = [0u8; 64];
    server.drive(
        StreamKey::sender(addr(1)),
        now,
        &mut buf,
        Batching::NONE,
        &mut |_, _, _| Ok(()),
    );
    assert!(server.is_done());

    let factory = FakeFactory::default();
    factory
        .fail
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let server = Server::new(config(1), FakeManager::default(), &factory).unwrap();
    assert_eq!(
        server.on_datagram(received(1, b"START", now)),
        Handled::Ignored(Ignored::FactoryFailed)
    );
    assert_eq!(
        server.manager().free_slots(Role::Sender),
        1,
        "the slot came back"
    );
}

#[test]
fn compat_can_be_turned_off() {
    let factory = FakeFactory::default();
    let cfg = ServerConfig {
        compat_settings: None,
        ..config(4)
    };
    let server = Server::new(cfg, FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    assert_eq!(
        server.on_datagram(received(1, b"START", now)),
        Handled::Ignored(Ignored::CompatDisabled)
    );
    assert!(matches!(
        server.on_datagram(received(1, &verified_request(false, 1, 1), now)),
        Handled::Started(_)
    ));
}

fn endpoint(role: Role, port: u16, now: Instant) -> AwaitingEndpoint {
    let plan = StreamSettings::new(8_000_000, 50, 3).plan().unwrap();
    AwaitingEndpoint {
        request: StreamRequest {
            key: StreamKey {
                role,
                remote: addr(port),
            },
            listener: ListenerId(0),
            local: addr(LOCAL),
            plan,
            v1: None,
            connection_id: ConnectionId::from_u128(port.into()),
            media: None,
        },
        received: now,
    }
}

#[test]
fn accept_matching_respects_role_and_remote() {
    let m = ShardedConnectionManager::new(8, 16);
    let now = Instant::now();
    assert_eq!(
        m.add_accepting(AcceptingSlot {
            role: Role::Receiver,
            remote: None
        }),
        None
    );
    // A receiver slot never takes a sender endpoint.
    assert_eq!(
        m.add_awaiting(endpoint(Role::Sender, 1, now)),
        AwaitOutcome::Queued
    );
    assert_eq!(
        m.add_awaiting(endpoint(Role::Sender, 1, now)),
        AwaitOutcome::AlreadyWaiting
    );
    match m.add_awaiting(endpoint(Role::Receiver, 2, now)) {
        AwaitOutcome::Matched(e, slot) => {
            assert_eq!(e.request.key.role, Role::Receiver);
            assert_eq!(slot.role, Role::Receiver);
        }
        other => panic!("{other:?}"),
    }
    // A slot reserved for port 3 ignores the waiting sender on port 1...
    let reserved = AcceptingSlot {
        role: Role::Sender,
        remote: Some(addr(3)),
    };
    assert_eq!(m.add_accepting(reserved), None);
    // ...and is taken by port 3.
    assert!(
        matches!(m.add_awaiting(endpoint(Role::Sender, 3, now)), AwaitOutcome::Matched(_, s) if s == reserved)
    );
    // An open sender slot takes the waiting sender on port 1.
    let got = m.add_accepting(AcceptingSlot {
        role: Role::Sender,
        remote: None,
    });
    assert_eq!(got.map(|(e, _)| e.request.key.remote), Some(addr(1)));
    assert_eq!((m.awaiting_len(), m.free_slots(Role::Sender)), (0, 0));
    // Expiry and the bound on waiting requests.
    let small = ShardedConnectionManager::new(2, 2);
    assert_eq!(
        small.add_awaiting(endpoint(Role::Sender, 10, now)),
        AwaitOutcome::Queued
    );
    assert_eq!(
        small.add_awaiting(endpoint(Role::Sender, 11, now + Duration::from_secs(1))),
        AwaitOutcome::Queued
    );
    assert_eq!(
        small.add_awaiting(endpoint(Role::Sender, 12, now)),
        AwaitOutcome::Full
    );
    assert_eq!(small.expire_awaiting(now + Duration::from_millis(500)), 1);
    assert_eq!(small.awaiting_len(), 1);
}

#[test]
fn sharded_manager_loses_and_duplicates_nothing_across_threads() {
    const THREADS: u16 = 8;
    const PER_THREAD: u16 = 500;
    let m = Arc::new(ShardedConnectionManager::new(16, 100_000));
    let now = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let port = 10_000 + t * PER_THREAD + i;
                    let e = endpoint(
                        if i % 2 == 0 {
                            Role::Sender
                        } else {
                            Role::Receiver
                        },
                        port,
                        now,
                    );
                    let key = e.request.key;
                    let stream = ConnectedStream {
                        request: e.request,
                        pattern: Box::new(FakePattern(Default::default(), StreamStats::default())),
                        started: now,
                    };
                    assert!(m.insert(stream).is_ok());
                    assert!(m.contains(key));
                    let other_role = StreamKey {
                        role: if i % 2 == 0 {
                            Role::Receiver
                        } else {
                            Role::Sender
                        },
                        ..key
                    };
                    assert!(!m.contains(other_role));
                    let dup = ConnectedStream {
                        request: e.request,
                        pattern: Box::new(FakePattern(Default::default(), StreamStats::default())),
                        started: now,
                    };
                    assert!(m.insert(dup).is_err(), "no duplicate keys");
                    if i % 4 == 0 {
                        assert!(m.remove(key).is_some());
                        assert!(m.remove(key).is_none());
                    }
                    // Slots and endpoints of both roles, concurrently.
                    let role = if t % 2 == 0 {
                        Role::Sender
                    } else {
                        Role::Receiver
                    };
                    m.add_awaiting(endpoint(role, 40_000 + t * PER_THREAD + i, now));
                    m.add_accepting(AcceptingSlot { role, remote: None });
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let expected = usize::from(THREADS) * usize::from(PER_THREAD) * 3 / 4;
    assert_eq!(m.len(), expected);
    let drained = m.drain();
    assert_eq!(drained.len(), expected);
    let mut keys: Vec<_> = drained.iter().map(|s| s.request.key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), expected, "no duplicates");
    assert_eq!(m.len(), 0);
    // Every endpoint met a slot of its role: none waits, none is free.
    assert_eq!(m.awaiting_len(), 0);
    assert_eq!(
        (m.free_slots(Role::Sender), m.free_slots(Role::Receiver)),
        (0, 0)
    );
}

fn no_send(_: &StreamRequest, _: &[u8], _: usize) -> std::io::Result<()> {
    Ok(())
}

#[test]
fn consent_is_the_servers_whatever_the_request_asks() {
    // The longest consent the wire allows, for a minute-long stream; the
    // peer never reports. The server stops sending at its own cap.
    let server = Server::with_defaults(config(4)).unwrap();
    let t0 = Instant::now();
    let ask = request_with(false, 9, |r| {
        r.stream_length_secs = 60;
        r.consent_timeout_ms = MAX_CONSENT_TIMEOUT_MS;
    });
    let Handled::Started(key) = server.on_datagram(received(1, &cookied(&ask, 1), t0)) else {
        panic!("not started")
    };
    let cap = server.config().admission.max_consent_timeout;
    assert_eq!(cap, Duration::from_secs(5));
    let mut buf = vec![0u8; 65_536];
    let mut at = t0;
    let ended = loop {
        match server.drive(key, at, &mut buf, Batching::NONE, &mut no_send) {
            Drive::Wake(next) => at = next.max(at + Duration::from_millis(1)),
            Drive::Finished { result, .. } => break result,
            Drive::Idle | Drive::Gone => panic!("idle or gone"),
        }
        assert!(at < t0 + Duration::from_secs(30), "still sending at {at:?}");
    };
    assert!(!ended.succeeded(), "{:?}", ended.status);
    let lasted = ended.ended - t0;
    assert!(
        lasted >= cap && lasted < cap + Duration::from_millis(200),
        "stopped after {lasted:?}, cap {cap:?}"
    );
    // A report interval the capped consent cannot keep alive is refused.
    let slow = request_with(false, 10, |r| {
        r.report_interval_ms = 3_000;
        r.consent_timeout_ms = 10_000;
    });
    let (code, why) = refusal(&server.on_datagram(received(2, &cookied(&slow, 2), t0)));
    assert_eq!(code, RefuseCode::BadParameters);
    assert!(why.contains("max-consent"), "{why}");
    assert_eq!(server.stats().refused_limits, 1);
}

#[test]
fn total_rate_is_capped_and_given_back() {
    let mut c = config(8);
    c.admission.max_total_bits_per_second = 1_500_000;
    let factory = FakeFactory::default();
    let server = Server::new(c, FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    assert!(matches!(
        server.on_datagram(received(1, &cookied(&request_bytes(false, 1), 1), now)),
        Handled::Started(_)
    ));
    assert_eq!(server.admitted().0, 1_000_000);
    // A second 1 Mbit/s stream does not fit now: busy, naming the limit.
    let (code, why) =
        refusal(&server.on_datagram(received(2, &cookied(&request_bytes(true, 2), 2), now)));
    assert_eq!(code, RefuseCode::Busy);
    assert!(why.contains("max-total-rate"), "{why}");
    // One that could never fit is over a limit, not busy.
    let big = request_with(false, 3, |r| r.bits_per_second = 2_000_000);
    let (code, why) = refusal(&server.on_datagram(received(3, &cookied(&big, 3), now)));
    assert_eq!(code, RefuseCode::BadParameters);
    assert!(why.contains("max-total-rate"), "{why}");
    assert_eq!((server.stats().busy, server.stats().refused_limits), (1, 1));
    // The first ends: its share comes back and the second fits.
    let first = StreamKey::sender(addr(1));
    factory.state(first).lock().unwrap().status = Some(Status::Completed);
    let mut buf = [0u8; 2048];
    assert!(matches!(
        server.drive(first, now, &mut buf, Batching::NONE, &mut no_send),
        Drive::Finished { .. }
    ));
    assert_eq!(server.admitted(), (0, 0));
    assert!(matches!(
        server.on_datagram(received(2, &cookied(&request_bytes(true, 2), 2), now)),
        Handled::Started(_)
    ));
}

#[test]
fn receive_memory_follows_the_budget_and_buffers_their_cap() {
    let deep = |token| {
        request_with(true, token, |r| {
            r.buffer_depth_ms = 2_000;
            r.stream_length_secs = 60;
        })
    };
    let plan = StreamSettings {
        buffer_depth_ms: 2_000,
        ..StreamSettings::new(1_000_000, 10, 60)
    }
    .plan()
    .unwrap();
    let each = crate::pattern::FrameReceiver::memory_bound(&plan);
    let mut c = config(8);
    c.admission.receive_memory = 2 * each + 1;
    let factory = FakeFactory::default();
    let server = Server::new(c, FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    for port in 1..=2 {
        assert!(matches!(
            server.on_datagram(received(port, &cookied(&deep(u64::from(port)), port), now)),
            Handled::Started(_)
        ));
    }
    assert_eq!(server.admitted().1, 2 * each);
    let (code, why) = refusal(&server.on_datagram(received(3, &cookied(&deep(3), 3), now)));
    assert_eq!(code, RefuseCode::Busy);
    assert!(why.contains("receive-memory"), "{why}");
    // Sending streams hold no receive state: still admitted.
    assert!(matches!(
        server.on_datagram(received(4, &cookied(&request_bytes(false, 4), 4), now)),
        Handled::Started(_)
    ));
    // A buffer over the byte cap is refused whatever the budget.
    let mut c = config(8);
    c.admission.max_buffer_bytes = 100_000; // 20 frames of 12,500 B is 250,000
    let server = Server::new(c, FakeManager::default(), &factory).unwrap();
    let (code, why) = refusal(&server.on_datagram(received(5, &cookied(&deep(5), 5), now)));
    assert_eq!(code, RefuseCode::BadParameters);
    assert!(why.contains("max-buffer-bytes"), "{why}");
}

#[test]
fn a_full_server_refuses_v1_as_busy_instead_of_staying_silent() {
    let factory = FakeFactory::default();
    let server = Server::new(config(1), FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    assert!(matches!(
        server.on_datagram(received(1, &cookied(&request_bytes(false, 1), 1), now)),
        Handled::Started(_)
    ));
    let (code, why) =
        refusal(&server.on_datagram(received(2, &cookied(&request_bytes(false, 2), 2), now)));
    assert_eq!(code, RefuseCode::Busy);
    assert!(why.contains("stream limit (1 per direction)"), "{why}");
    assert_eq!(server.stats().busy, 1);
    assert_eq!(
        server.manager().awaiting_len(),
        0,
        "nothing queued silently"
    );
}

/// GSO runs of up to 64 datagrams, as the mio backend offers.
const RUNS_OF_64: Batching = Batching {
    max_segments: 64,
    max_bytes: 65_000,
};

/// A server without admission limits and the key of the stream it started
/// at `t0`, sending `bits_per_second` at `frame_rate` for `secs`.
fn server_sending(
    bits_per_second: u64,
    frame_rate: u32,
    secs: u32,
    t0: Instant,
) -> (Server, StreamKey) {
    let mut c = config(4);
    c.admission = Admission::unlimited();
    let server = Server::with_defaults(c).unwrap();
    let ask = request_with(false, 1, |r| {
        r.bits_per_second = bits_per_second;
        r.frame_rate = frame_rate;
        r.stream_length_secs = secs;
    });
    let Handled::Started(key) = server.on_datagram(received(1, &cookied(&ask, 1), t0)) else {
        panic!("not started")
    };
    (server, key)
}

#[test]
fn a_stream_far_behind_yields_and_counts_only_what_left() {
    let t0 = Instant::now();
    // 1 Gbit/s at 50 frames/s: 2,500,000 bytes, 1786 datagrams a frame.
    let (server, key) = server_sending(1_000_000_000, 50, 10, t0);
    let mut buf = vec![0u8; 65_536];
    let (mut datagrams, mut bytes) = (0usize, 0usize);
    let mut count = |_: &StreamRequest, b: &[u8], segment: usize| {
        datagrams += b.len().div_ceil(segment);
        bytes += b.len();
        Ok(())
    };
    let batching = RUNS_OF_64;
    let wake = match server.drive(key, t0, &mut buf, batching, &mut count) {
        Drive::Wake(at) => at,
        other => panic!("{other:?}"),
    };
    // One frame is more than a drive may send: it yields, due right away.
    assert!(
        (DRIVE_DATAGRAMS..DRIVE_DATAGRAMS + 64).contains(&datagrams),
        "{datagrams}"
    );
    assert!(
        wake > t0 && wake <= t0 + Duration::from_micros(1),
        "{wake:?}"
    );
    // Now the kernel takes nothing: nothing more is counted as sent.
    let mut full = |_: &StreamRequest, _: &[u8], _: usize| -> std::io::Result<()> {
        Err(std::io::ErrorKind::WouldBlock.into())
    };
    let at = t0 + Duration::from_micros(1);
    let Drive::Wake(pause) = server.drive(key, at, &mut buf, batching, &mut full) else {
        panic!("a full buffer does not end the stream")
    };
    assert_eq!(
        pause,
        at + Duration::from_millis(1),
        "waits for the buffer to drain"
    );
    let mut seen = None;
    server.manager().with_stream(key, &mut |s| {
        let st = s.pattern.stats();
        seen = Some((
            st.datagrams_sent,
            st.bytes_sent,
            st.datagrams_unsent,
            st.control_sent,
        ));
    });
    let (sent, sent_bytes, unsent, control) = seen.unwrap();
    assert_eq!(control, 1, "the ACCEPT");
    assert_eq!(sent as usize, datagrams - 1, "only what left is sent");
    assert_eq!(sent_bytes as usize, bytes - v1::ACCEPT_LEN);
    assert_eq!(
        unsent, FIRST_RUN_SEGMENTS as u64,
        "the drive's first run (8 x 1400 B) did not leave"
    );
}

/// The datagrams in each run one drive of `key` at `at` sends, and what
/// the drive says.
fn runs_of_one_drive(server: &Server, key: StreamKey, at: Instant) -> (Vec<usize>, Drive) {
    let mut buf = vec![0u8; 65_536];
    let mut runs = Vec::new();
    let mut log = |_: &StreamRequest, b: &[u8], segment: usize| {
        runs.push(b.len().div_ceil(segment));
        Ok(())
    };
    let drive = server.drive(key, at, &mut buf, RUNS_OF_64, &mut log);
    (runs, drive)
}

#[test]
fn a_frame_leaves_with_a_short_first_run_then_full_runs() {
    let t0 = Instant::now();
    // 100 Mbit/s at 60 frames/s: 208,333 bytes, 149 datagrams a frame.
    let (server, key) = server_sending(100_000_000, 60, 2, t0);
    // The first drive also sends the ACCEPT: it is the first run.
    let (runs, drive) = runs_of_one_drive(&server, key, t0);
    let Drive::Wake(next) = drive else {
        panic!("the stream goes on")
    };
    assert_eq!(
        runs,
        [1, 46, 46, 46, 11],
        "ACCEPT, then frame 0 in full runs"
    );
    let (runs, drive) = runs_of_one_drive(&server, key, next);
    assert!(matches!(drive, Drive::Wake(_)));
    assert_eq!(runs, [FIRST_RUN_SEGMENTS, 46, 46, 46, 3], "frame 1");
}

#[test]
fn plain_start_is_served_only_inside_the_allowed_blocks() {
    let factory = FakeFactory::default();
    let server = Server::new(config(4), FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    // Loopback by default.
    assert!(matches!(
        server.on_datagram(received(1, b"START", now)),
        Handled::Started(_)
    ));
    let outside = |server: &Server<FakeManager, &FakeFactory>, ip: [u8; 4]| {
        server.on_datagram(Received {
            remote: SocketAddr::from((ip, 5000)),
            ..received(1, b"START", now)
        })
    };
    assert_eq!(
        outside(&server, [192, 0, 2, 1]),
        Handled::Ignored(Ignored::CompatDisabled)
    );
    assert_eq!(server.stats().compat_refused, 1);
    let mut c = config(4);
    c.compat_allow = vec!["192.0.2.0/24".parse().unwrap()];
    let server = Server::new(c, FakeManager::default(), &factory).unwrap();
    assert!(matches!(
        outside(&server, [192, 0, 2, 1]),
        Handled::Started(_)
    ));
    assert_eq!(
        outside(&server, [192, 0, 3, 1]),
        Handled::Ignored(Ignored::CompatDisabled)
    );
    // v1 is not affected: it proves its address another way.
    let remote = SocketAddr::from(([198, 51, 100, 1], 5000));
    let cookie = SECRET.cookie(0, remote, 1, v1::FLAG_REQUEST);
    let v1 = server.on_datagram(Received {
        remote,
        ..received(1, &with_cookie(&request_bytes(false, 1), cookie), now)
    });
    assert!(matches!(v1, Handled::Started(_)), "{v1:?}");
}

#[test]
fn open_slots_are_counted_once_and_taken_one_by_one() {
    let m = ShardedConnectionManager::new(64, 16);
    // The server's largest --max-streams, in both roles: a counter each.
    m.open_slots(Role::Sender, 1_000_000);
    m.open_slots(Role::Receiver, 3);
    assert_eq!(m.free_slots(Role::Sender), 1_000_000);
    assert_eq!(m.free_slots(Role::Receiver), 3);
    let now = Instant::now();
    for port in 1..=3 {
        assert!(matches!(
            m.add_awaiting(endpoint(Role::Receiver, port, now)),
            AwaitOutcome::Matched(..)
        ));
    }
    assert_eq!(
        m.add_awaiting(endpoint(Role::Receiver, 4, now)),
        AwaitOutcome::Queued,
        "three receiver slots, no more"
    );
    assert!(matches!(
        m.add_awaiting(endpoint(Role::Sender, 5, now)),
        AwaitOutcome::Matched(..)
    ));
    assert_eq!(m.free_slots(Role::Sender), 999_999);
    // A server opens max_streams slots per role it serves.
    let server = Server::with_defaults(config(1_000_000)).unwrap();
    assert_eq!(server.manager().free_slots(Role::Sender), 1_000_000);
    assert_eq!(server.manager().free_slots(Role::Receiver), 1_000_000);
}

/// The CHALLENGE in `h`, checked to be no larger than `request`.
fn challenge_of(h: &Handled, request: &[u8]) -> v1::Cookie {
    let Handled::Reply(reply) = h else {
        panic!("expected a CHALLENGE, got {h:?}")
    };
    assert!(reply.bytes().len() <= request.len());
    match wire::parse(reply.bytes()) {
        Ok(Datagram::V1(V1Message::Challenge { cookie, .. })) => cookie,
        other => panic!("expected CHALLENGE, got {other:?}"),
    }
}

fn assert_nothing_kept<M: ConnectionManager>(
    server: &Server<M, &FakeFactory>,
    factory: &FakeFactory,
) {
    assert!(factory.created.lock().unwrap().is_empty(), "no stream");
    assert_eq!(server.manager().len(), 0, "no stream");
    assert_eq!(server.manager().awaiting_len(), 0, "no waiting request");
    assert_eq!(
        server.manager().free_slots(Role::Sender),
        4,
        "no slot taken"
    );
    assert_eq!(
        server.manager().free_slots(Role::Receiver),
        4,
        "no slot taken"
    );
}

#[test]
fn an_unverified_request_or_join_gets_a_challenge_and_nothing_else() {
    let factory = FakeFactory::default();
    let server = Server::new(config(4), FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    for join in [false, true] {
        for port in 1..50 {
            let request = request_bytes(join, port.into());
            let h = server.on_datagram(received(port, &request, now));
            let cookie = challenge_of(&h, &request);
            let flag = if join {
                v1::FLAG_JOIN
            } else {
                v1::FLAG_REQUEST
            };
            assert_eq!(cookie, SECRET.cookie(0, addr(port), port.into(), flag));
        }
    }
    assert_nothing_kept(&server, &factory);
    let s = server.stats();
    assert_eq!((s.challenged, s.verified, s.streams_started), (98, 0, 0));
    assert_eq!(v1::CHALLENGE_LEN, 43);
}

#[test]
fn wrong_stale_or_foreign_cookies_start_nothing() {
    let factory = FakeFactory::default();
    let server = Server::new(config(4), FakeManager::default(), &factory).unwrap();
    let t0 = Instant::now();
    // The first datagram fixes epoch 0.
    challenge_of(
        &server.on_datagram(received(1, &request_bytes(false, 5), t0)),
        &[0; 128],
    );
    let other_ip = SocketAddr::from(([127, 0, 0, 2], 1));
    let other_secret = CookieSecret::from_bytes([8; 32]);
    let cookies = [
        ("random bytes", [0x42; 16]),
        (
            "another port",
            SECRET.cookie(0, addr(2), 5, v1::FLAG_REQUEST),
        ),
        (
            "another IP",
            SECRET.cookie(0, other_ip, 5, v1::FLAG_REQUEST),
        ),
        (
            "another token",
            SECRET.cookie(0, addr(1), 6, v1::FLAG_REQUEST),
        ),
        (
            "made for a JOIN",
            SECRET.cookie(0, addr(1), 5, v1::FLAG_JOIN),
        ),
        (
            "another secret",
            other_secret.cookie(0, addr(1), 5, v1::FLAG_REQUEST),
        ),
        (
            "a future epoch",
            SECRET.cookie(1, addr(1), 5, v1::FLAG_REQUEST),
        ),
    ];
    for (what, cookie) in cookies {
        let request = with_cookie(&request_bytes(false, 5), cookie);
        let h = server.on_datagram(received(1, &request, t0));
        challenge_of(&h, &request);
        assert_nothing_kept(&server, &factory);
        let _ = what;
    }
    assert_eq!(server.stats().cookie_refused, cookies.len() as u64);
    // Stale: epoch 0's cookie is good through epoch 1, not in epoch 2.
    let good = verified_request(false, 5, 1);
    let stale = t0 + 2 * COOKIE_EPOCH;
    challenge_of(&server.on_datagram(received(1, &good, stale)), &good);
    assert_nothing_kept(&server, &factory);
    let previous = t0 + COOKIE_EPOCH + COOKIE_EPOCH / 2;
    assert_eq!(
        server.on_datagram(received(1, &good, previous)),
        Handled::Started(StreamKey::sender(addr(1)))
    );
}

#[test]
fn a_cookie_replayed_from_another_port_or_ip_does_nothing() {
    let factory = FakeFactory::default();
    let server = Server::new(config(4), FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    let request = request_bytes(true, 77);
    let cookie = challenge_of(&server.on_datagram(received(1000, &request, now)), &request);
    let replay = with_cookie(&request, cookie);
    for remote in [
        addr(1001),
        SocketAddr::from(([127, 0, 0, 9], 1000)),
        SocketAddr::from(([10, 0, 0, 1], 1000)),
        "[::1]:1000".parse().unwrap(),
    ] {
        let d = Received {
            remote,
            ..received(1000, &replay, now)
        };
        challenge_of(&server.on_datagram(d), &replay);
        assert_nothing_kept(&server, &factory);
    }
    // From its own address it starts the stream, once.
    assert_eq!(
        server.on_datagram(received(1000, &replay, now)),
        Handled::Started(StreamKey::receiver(addr(1000)))
    );
    assert_eq!(
        server.on_datagram(received(1000, &replay, now)),
        Handled::Delivered(StreamKey::receiver(addr(1000)))
    );
    assert_eq!(factory.created.lock().unwrap().len(), 1);
}

#[test]
fn an_unverified_address_never_gets_more_than_it_sent() {
    // Every size from 0 to 300 bytes with the REQUEST and JOIN flags, in
    // every version byte we know and some we do not, with no cookie, a
    // random one or one for another address; and every other v1 message.
    // Per address: bytes sent <= bytes received (the bound is 3x), every
    // answer no larger than its request, and no stream.
    for keyed in [false, true] {
        let factory = FakeFactory::default();
        let key = crate::auth::AccessKey::new(b"sixteen byte key").unwrap();
        let cfg = ServerConfig {
            compat_settings: None,
            key: keyed.then(|| key.clone()),
            ..config(4)
        };
        let server = Server::new(cfg, FakeManager::default(), &factory).unwrap();
        let now = Instant::now();
        // Reproducible hostile datagrams.
        let mut rng = crate::rand::SplitMix64::new(1);
        let mut received_from = HashMap::<SocketAddr, usize>::new();
        let mut sent_to = HashMap::<SocketAddr, usize>::new();
        for round in 0..4000u32 {
            let port = 1 + (round % 97) as u16;
            let remote = addr(port);
            let len = (rng.next_u64() % 301) as usize;
            let mut bytes = vec![0u8; len.max(v1::REQUEST_LEN)];
            match rng.next_u64() % 4 {
                0 => bytes = request_bytes(false, rng.next_u64()),
                1 => bytes = request_bytes(true, rng.next_u64()),
                2 => bytes.iter_mut().for_each(|b| *b = rng.next_u64() as u8),
                _ => {}
            }
            bytes.resize(len, 0);
            if len >= 2 {
                let flags = [
                    0x2001u16, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x20ff,
                ];
                let flag = flags[(rng.next_u64() % 8) as usize];
                bytes[..2].copy_from_slice(&flag.to_le_bytes());
            }
            if len >= 3 {
                bytes[2] = [1, 2, 3, 0, 255][(rng.next_u64() % 5) as usize];
            }
            if len >= v1::COOKIE_OFFSET + v1::COOKIE_LEN {
                let c = &mut bytes[v1::COOKIE_OFFSET..v1::COOKIE_OFFSET + v1::COOKIE_LEN];
                match rng.next_u64() % 3 {
                    0 => c.fill(0),
                    1 => c.copy_from_slice(&SECRET.cookie(0, addr(port + 1), 0, 0x2001)),
                    _ => c.iter_mut().for_each(|b| *b = rng.next_u64() as u8),
                }
            }
            if keyed && rng.next_u64().is_multiple_of(2) {
                key.seal(&mut bytes);
            }
            *received_from.entry(remote).or_default() += bytes.len();
            if let Handled::Reply(reply) = server.on_datagram(received(port, &bytes, now)) {
                assert!(reply.bytes().len() <= bytes.len(), "{bytes:?}");
                *sent_to.entry(reply.remote).or_default() += reply.bytes().len();
            }
        }
        for (remote, sent) in &sent_to {
            let got = received_from[remote];
            assert!(*sent <= got, "{remote}: sent {sent} for {got}");
            assert!(*sent <= 3 * got);
        }
        let s = server.stats();
        assert!(s.challenged > 20 && s.cookie_refused > 10, "{s:?}");
        assert!(!keyed || s.unkeyed > 100, "{s:?}");
        assert_nothing_kept(&server, &factory);
    }
}

#[test]
fn a_keyed_server_answers_only_its_key_and_tags_what_it_sends() {
    let factory = FakeFactory::default();
    let key = crate::auth::AccessKey::new(b"0123456789abcdef").unwrap();
    let wrong = crate::auth::AccessKey::new(b"0123456789abcdeX").unwrap();
    let cfg = ServerConfig {
        key: Some(key.clone()),
        ..config(4)
    };
    let server = Server::new(cfg, FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    let sealed = |k: &crate::auth::AccessKey, mut b: Vec<u8>| {
        k.seal(&mut b);
        b
    };
    // Unkeyed or wrong-keyed: nothing at all, counted.
    for bytes in [
        request_bytes(false, 3),
        verified_request(false, 3, 1),
        sealed(&wrong, verified_request(false, 3, 1)),
        sealed(&wrong, request_bytes(true, 3)),
    ] {
        assert_eq!(
            server.on_datagram(received(1, &bytes, now)),
            Handled::Ignored(Ignored::Unkeyed)
        );
    }
    assert_eq!(server.stats().unkeyed, 4);
    assert_nothing_kept(&server, &factory);
    // Keyed without a cookie: a CHALLENGE with the server's tag.
    let request = sealed(&key, request_bytes(false, 3));
    let Handled::Reply(reply) = server.on_datagram(received(1, &request, now)) else {
        panic!("a keyed request is challenged")
    };
    assert!(key.verify(reply.bytes()) && !wrong.verify(reply.bytes()));
    // Keyed with the cookie: the stream starts.
    let request = sealed(&key, verified_request(false, 3, 1));
    let stream = StreamKey::sender(addr(1));
    assert_eq!(
        server.on_datagram(received(1, &request, now)),
        Handled::Started(stream)
    );
    // Its reports must be keyed too; what it sends is tagged.
    assert_eq!(
        server.on_datagram(received(1, &report_bytes(3), now)),
        Handled::Ignored(Ignored::Unkeyed)
    );
    assert_eq!(
        server.on_datagram(received(1, &sealed(&key, report_bytes(3)), now)),
        Handled::Delivered(stream)
    );
    let mut accept = vec![0u8; v1::ACCEPT_LEN];
    v1::emit_accept(3, &ConnectionId::from_u128(3), &mut accept).unwrap();
    factory
        .state(stream)
        .lock()
        .unwrap()
        .outbox
        .push_back(accept);
    factory
        .state(stream)
        .lock()
        .unwrap()
        .outbox
        .push_back(data_bytes(1));
    let mut sent = Vec::new();
    let mut buf = [0u8; 2048];
    server.drive(stream, now, &mut buf, Batching::NONE, &mut |_, b, _| {
        sent.push(b.to_vec());
        Ok(())
    });
    assert_eq!(sent.len(), 2);
    assert!(key.verify(&sent[0]), "ACCEPT tagged");
    assert_eq!(sent[1], data_bytes(1), "data untouched");
}

#[test]
fn every_request_size_from_one_address_stays_within_the_bound() {
    // One unverified address sends REQUEST and JOIN of every length from 0
    // to 200 bytes (the minimum well-formed request is 128), in versions
    // 1, 2 and 3, with no cookie and with a wrong one. What it gets back,
    // message by message and in total, is never more than it sent.
    let factory = FakeFactory::default();
    let cfg = ServerConfig {
        compat_settings: None,
        ..config(4)
    };
    let server = Server::new(cfg, FakeManager::default(), &factory).unwrap();
    let now = Instant::now();
    let (mut got, mut sent, mut challenges) = (0usize, 0usize, 0u64);
    for join in [false, true] {
        for version in [1u8, 2, 3] {
            for cookie in [None, Some([0x33; 16])] {
                for len in 0..=200 {
                    let mut bytes = request_bytes(join, 9);
                    if let Some(c) = cookie {
                        bytes = with_cookie(&bytes, c);
                    }
                    bytes[2] = version;
                    bytes.resize(len, 0);
                    got += bytes.len();
                    match server.on_datagram(received(9, &bytes, now)) {
                        Handled::Reply(r) => {
                            assert!(r.bytes().len() <= bytes.len(), "{len} bytes v{version}");
                            sent += r.bytes().len();
                            if matches!(
                                wire::parse(r.bytes()),
                                Ok(Datagram::V1(V1Message::Challenge { .. }))
                            ) {
                                challenges += 1;
                            }
                        }
                        Handled::Ignored(_) => {}
                        other => panic!("{len} bytes v{version}: {other:?}"),
                    }
                    assert!(sent <= got && sent <= 3 * got);
                }
            }
        }
    }
    // Version 2 requests of 128 bytes or more: 73 lengths x 2 kinds x 2
    // cookies, each challenged once.
    assert_eq!(challenges, 73 * 2 * 2);
    assert_eq!(server.stats().challenged, challenges);
    assert_nothing_kept(&server, &factory);
    assert!(sent * 2 < got, "sent {sent} for {got}");
}

/// Every event a `ServerObserver` saw, as text a test can compare.
#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl ServerObserver for Events {
    fn stream_started(&self, r: &StreamRequest, _: Instant) {
        let e = format!("started {:?} {}", r.key.role, r.key.remote.port());
        self.0.lock().unwrap().push(e);
    }
    fn stream_finished(&self, r: &StreamResult) {
        let e = format!("finished {:?} {} {:?}", r.role, r.remote.port(), r.status);
        self.0.lock().unwrap().push(e);
    }
    fn stream_refused(&self, r: &StreamRefused<'_>) {
        let why = match r.why {
            Refusal::Answered { code, reason } => format!("{code:?}: {reason}"),
            Refusal::Dropped(why) => format!("dropped {why:?}"),
        };
        let e = format!("refused {:?} {} {why}", r.key.role, r.key.remote.port());
        assert_eq!(r.local, addr(LOCAL));
        self.0.lock().unwrap().push(e);
    }
}

impl Events {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[test]
fn the_observer_sees_started_finished_and_refused_streams() {
    let mut c = config(1);
    c.admission.max_total_bits_per_second = 1_500_000;
    c.compat_settings = Some(StreamSettings::new(1_000_000, 10, 2));
    let factory = FakeFactory::default();
    let events = Arc::new(Events::default());
    let finished = Arc::new(Mutex::new(0));
    let count = finished.clone();
    let server = Server::new(c, FakeManager::default(), &factory)
        .unwrap()
        .with_observer(events.clone())
        // The closure hook is an observer too: both see the stream end.
        .on_finished(move |_| *count.lock().unwrap() += 1);
    let now = Instant::now();
    // A stream that fits starts.
    let request = cookied(&request_bytes(false, 1), 1);
    assert!(matches!(
        server.on_datagram(received(1, &request, now)),
        Handled::Started(_)
    ));
    assert_eq!(events.take(), ["started Sender 1"]);
    // One over the admission limits is refused with a REFUSE.
    let big = request_with(true, 3, |r| r.bits_per_second = 2_000_000);
    let (code, _) = refusal(&server.on_datagram(received(3, &cookied(&big, 3), now)));
    assert_eq!(code, RefuseCode::BadParameters);
    let refused = events.take();
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].starts_with("refused Receiver 3 BadParameters: ")
            && refused[0].contains("max-total-rate"),
        "{refused:?}"
    );
    // A plain START while the only slot is taken waits; a START from
    // outside the allowed blocks cannot be answered: dropped.
    assert_eq!(
        server.on_datagram(received(2, b"START", now)),
        Handled::Queued
    );
    let outside = Received {
        remote: SocketAddr::from(([192, 0, 2, 1], 9)),
        ..received(9, b"START", now)
    };
    assert_eq!(
        server.on_datagram(outside),
        Handled::Ignored(Ignored::CompatDisabled)
    );
    assert_eq!(events.take(), ["refused Sender 9 dropped CompatDisabled"]);
    // Noise and repeats are not refusals.
    server.on_datagram(received(4, b"STAR", now));
    server.on_datagram(received(1, &request, now));
    assert_eq!(events.take(), Vec::<String>::new());
    // The stream completes; the queued START takes its slot but the
    // factory fails it now: finished, then a dropped refusal.
    let first = StreamKey::sender(addr(1));
    factory.state(first).lock().unwrap().status = Some(Status::Completed);
    factory
        .fail
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let mut buf = [0u8; 2048];
    assert!(matches!(
        server.drive(first, now, &mut buf, Batching::NONE, &mut no_send),
        Drive::Finished { started: None, .. }
    ));
    assert_eq!(
        events.take(),
        [
            "finished Sender 1 Completed",
            "refused Sender 2 dropped FactoryFailed"
        ]
    );
    assert_eq!(*finished.lock().unwrap(), 1);
}

#[test]
fn the_default_manager_is_the_one_the_server_uses() {
    let server =
        Server::with_manager(ServerConfig::default(), ShardedConnectionManager::default()).unwrap();
    let _: &PatternFactory = server.factory();
    assert_eq!(server.manager().free_slots(Role::Sender), 1024);
    // Room for exactly DEFAULT_MAX_AWAITING waiting requests.
    let m = ShardedConnectionManager::default();
    let now = Instant::now();
    let outcomes: Vec<AwaitOutcome> = (0..=ShardedConnectionManager::DEFAULT_MAX_AWAITING)
        .map(|i| {
            let port = u16::try_from(i % 60_000).unwrap() + 1;
            let ip = std::net::Ipv4Addr::from(0x7f00_0000 + u32::try_from(i / 60_000).unwrap() + 1);
            let mut e = endpoint(Role::Sender, port, now);
            e.request.key.remote = SocketAddr::from((ip, port));
            m.add_awaiting(e)
        })
        .collect();
    let queued = outcomes
        .iter()
        .filter(|o| **o == AwaitOutcome::Queued)
        .count();
    assert_eq!(queued, ShardedConnectionManager::DEFAULT_MAX_AWAITING);
    assert_eq!(outcomes.last(), Some(&AwaitOutcome::Full));
}

/// `live_streams` shows each running stream's counters as they grow, in
/// both roles, with the numbers its result will have: the receiving
/// server's own, the sending server's from the client's report.
#[test]
fn live_streams_show_running_counters_in_both_roles() {
    let server = Server::with_defaults(config(4)).unwrap();
    let now = Instant::now();
    assert!(server.live_streams().is_empty());
    let join = verified_request(true, 21, 6100);
    let request = verified_request(false, 22, 6200);
    assert!(matches!(
        server.on_datagram(received(6100, &join, now)),
        Handled::Started(_)
    ));
    assert!(matches!(
        server.on_datagram(received(6200, &request, now)),
        Handled::Started(_)
    ));
    let by_role = |role: Role| {
        let live = server.live_streams();
        assert_eq!(live.len(), 2, "{live:?}");
        live.into_iter()
            .find(|s| s.request.key.role == role)
            .unwrap()
    };
    let rx = by_role(Role::Receiver);
    assert_eq!(rx.request.key.remote, addr(6100));
    assert_eq!(rx.status, Status::Running);
    assert_eq!(rx.received.map(|v| v.datagrams_received), Some(0));
    assert_eq!(by_role(Role::Sender).received, None, "no report yet");
    for seq in 0..3 {
        server.on_datagram(received(6100, &data_bytes(seq), now));
    }
    let report = v1::ReportRepr {
        token: 22,
        frames_completed: 7,
        frames_dropped: 1,
        ..Default::default()
    };
    let mut buf = vec![0u8; v1::REPORT_LEN];
    report.emit(&mut buf).unwrap();
    server.on_datagram(received(6200, &buf, now));
    let rx = by_role(Role::Receiver).received.unwrap();
    assert_eq!((rx.datagrams_received, rx.bytes_received), (3, 300));
    let tx = by_role(Role::Sender).received.unwrap();
    assert_eq!((tx.frames_completed, tx.frames_dropped), (7, 1));
    // Not a copy kept aside: the server's own manager, as it runs.
    assert_eq!(server.manager().len(), 2);
}
