use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::admission::{Admission, Admitted, Refusal as AdmissionRefusal, Share};
use super::cidr::Cidr;
use super::cookie::{CookieSecret, COOKIE_EPOCH};
use super::counters::{bump, Counters};
use super::observer::OnFinished;
use super::sources::Sources;
use super::{
    AcceptingSlot, AwaitOutcome, AwaitingEndpoint, ConnectedSocketFactory, ConnectedStream,
    ConnectionManager, Handled, Ignored, ListenerHandler, PatternFactory, Received, Refusal, Reply,
    ServerObserver, ServerStats, ShardedConnectionManager, SourceLimits, StreamKey, StreamRefused,
    StreamRequest, StreamResult,
};
use crate::auth::AccessKey;
use crate::pattern::{Role, V1Session};
use crate::rand::SplitMix64;
use crate::settings::{Limits, StreamPlan, StreamSettings};
use crate::wire::v1::{self, RefuseCode, RequestRepr, V1Message};
use crate::wire::{self, ConnectionId, Datagram, WireError};

/// Accepted range of a v1 report interval, milliseconds.
pub const REPORT_INTERVAL_MS: (u32, u32) = (10, 10_000);
/// Longest accepted v1 consent timeout, milliseconds (the shortest is two
/// report intervals).
pub const MAX_CONSENT_TIMEOUT_MS: u32 = 600_000;

/// What a [`Server`] serves and how much.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The stream a plain ctsTraffic START gets; `None` ignores START.
    pub compat_settings: Option<StreamSettings>,
    /// Who may use plain START, which has no return-path check (anyone
    /// who can spoof an address inside these blocks can point a stream at
    /// it): loopback only by default.
    pub compat_allow: Vec<Cidr>,
    /// Bounds for streams v1 clients ask for.
    pub limits: Limits,
    /// Concurrent streams per direction.
    pub max_streams: usize,
    /// Stop after this many streams have finished.
    pub exit_after: Option<u64>,
    /// Serve REQUEST / START (the server sends).
    pub serve_send: bool,
    /// Serve JOIN (the server receives).
    pub serve_receive: bool,
    /// How long a request may wait for a slot (clients retry anyway).
    pub awaiting_timeout: Duration,
    /// Per-source request rate and stream cap.
    pub sources: SourceLimits,
    /// Caps on consent, buffers and totals, whatever a request asks.
    pub admission: Admission,
    /// The secret of the return-routability cookies (random by default;
    /// see [`CookieSecret`]).
    pub cookie_secret: CookieSecret,
    /// Keyed access: v1 datagrams must carry this key's tag; others are
    /// dropped without an answer and counted (`unkeyed`).
    pub key: Option<AccessKey>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            compat_settings: None,
            compat_allow: Cidr::loopback(),
            limits: Limits::default(),
            max_streams: 1024,
            exit_after: None,
            serve_send: true,
            serve_receive: true,
            awaiting_timeout: Duration::from_secs(2),
            sources: SourceLimits::default(),
            admission: Admission::default(),
            cookie_secret: CookieSecret::random(),
            key: None,
        }
    }
}

/// How [`Server::drive`] sends: the stream's request (listener and peer),
/// the bytes of a run, and the size of each datagram in it.
pub type SendRun<'a> = dyn FnMut(&StreamRequest, &[u8], usize) -> io::Result<()> + 'a;

/// How many datagrams a backend can hand the kernel in one send (UDP
/// GSO on Linux); [`Server::drive`] asks patterns for runs that fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Most datagrams in one run.
    pub max_segments: usize,
    /// Most bytes in one run.
    pub max_bytes: usize,
}

impl Batching {
    /// One datagram per send.
    pub const NONE: Self = Self {
        max_segments: 1,
        max_bytes: usize::MAX,
    };

    /// Datagrams of `segment` bytes that fit one run (at least 1).
    pub fn segments_for(&self, segment: usize) -> usize {
        (self.max_bytes / segment.max(1)).clamp(1, self.max_segments.max(1))
    }
}

/// Most one [`Server::drive`] call sends before the stream yields: a
/// stream far behind its schedule (an overloaded host, a request for more
/// than the host can send) must not hold a shard, its other streams, its
/// receives or shutdown.
pub const DRIVE_DATAGRAMS: usize = 1024;
/// Most bytes one [`Server::drive`] call sends (see [`DRIVE_DATAGRAMS`]).
pub const DRIVE_BYTES: usize = 4 << 20;
/// Most datagrams the first run of a [`Server::drive`] call carries (a
/// frame's first datagrams, when the call is for a frame that fell due):
/// the head of the frame leaves after building and sending 8 datagrams
/// (11 KB at 1400 bytes) instead of a whole run (up to 64 KB), all of it
/// cold in cache and TLB after the thread slept, and the frame's first
/// datagram arrives that much sooner after its due time. The rest follow
/// in full runs. A frame of at most this many datagrams is one run, as
/// before.
pub const FIRST_RUN_SEGMENTS: usize = 8;
/// How long a stream waits after its send buffer was full.
const FULL_BUFFER_PAUSE: Duration = Duration::from_millis(1);

/// What one drive has sent against [`DRIVE_DATAGRAMS`] and [`DRIVE_BYTES`].
#[derive(Default)]
struct DriveBudget {
    datagrams: usize,
    bytes: usize,
}

impl DriveBudget {
    /// Counts a run sent; true once the budget is spent.
    fn spend(&mut self, run: crate::pattern::Transmit) -> bool {
        self.datagrams += run.segments();
        self.bytes += run.len;
        self.datagrams >= DRIVE_DATAGRAMS || self.bytes >= DRIVE_BYTES
    }
}

/// What [`Server::drive`] found.
#[derive(Debug)]
#[non_exhaustive]
pub enum Drive {
    /// Call again at this instant (or when a datagram for it arrives).
    Wake(Instant),
    /// Running, with nothing to do until a datagram for it arrives (its
    /// pattern's `poll_timeout` is `None`): do not call before then.
    Idle,
    /// The stream ended; a waiting request may have taken its slot.
    Finished {
        /// The stream's final account.
        result: Box<StreamResult>,
        /// A stream started in the freed slot: drive it too.
        started: Option<StreamKey>,
    },
    /// No such stream (already finished).
    Gone,
}

/// The MediaStream server: a [`ListenerHandler`] that parses requests and
/// stream datagrams, routes them by role, and creates streams through a
/// [`ConnectedSocketFactory`] into a [`ConnectionManager`].
///
/// It owns no socket and no thread: a backend calls
/// [`on_datagram`](ListenerHandler::on_datagram) for every datagram,
/// [`drive`](Server::drive) for every stream that is due, and
/// [`maintain`](Server::maintain) now and then.
pub struct Server<M = ShardedConnectionManager, F = PatternFactory> {
    config: ServerConfig,
    compat_plan: Option<StreamPlan>,
    manager: M,
    factory: F,
    counters: Counters,
    id_seed: u64,
    next_id: AtomicU64,
    observers: Vec<Box<dyn ServerObserver>>,
    sources: Sources,
    admitted: Admitted,
    /// The instant cookie epochs count from (the first datagram's).
    epoch_base: OnceLock<Instant>,
}

impl<M, F> std::fmt::Debug for Server<M, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("stats", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with the default sharded manager and pattern factory.
    pub fn with_defaults(config: ServerConfig) -> Result<Self, crate::settings::SettingsError> {
        Self::with_factory(config, PatternFactory::default())
    }
}

impl<M: ConnectionManager> Server<M, PatternFactory> {
    /// A server over `manager` (a wrapper of
    /// [`ShardedConnectionManager::default()`], say) with the default
    /// pattern factory.
    pub fn with_manager(
        config: ServerConfig,
        manager: M,
    ) -> Result<Self, crate::settings::SettingsError> {
        Self::new(config, manager, PatternFactory::default())
    }
}

impl<F: ConnectedSocketFactory> Server<ShardedConnectionManager, F> {
    /// A server with the default sharded manager and `factory`.
    pub fn with_factory(
        config: ServerConfig,
        factory: F,
    ) -> Result<Self, crate::settings::SettingsError> {
        Self::new(config, ShardedConnectionManager::default(), factory)
    }
}

impl<M: ConnectionManager, F: ConnectedSocketFactory> Server<M, F> {
    /// A server over `manager` and `factory`; posts `max_streams` accepting
    /// slots for each direction served. Fails when the plain START
    /// settings are invalid.
    pub fn new(
        config: ServerConfig,
        manager: M,
        factory: F,
    ) -> Result<Self, crate::settings::SettingsError> {
        let compat_plan = match &config.compat_settings {
            Some(s) => Some(s.plan_with(&config.limits)?),
            None => None,
        };
        let roles = [
            (Role::Sender, config.serve_send),
            (Role::Receiver, config.serve_receive),
        ];
        for (role, served) in roles {
            if served {
                manager.open_slots(role, config.max_streams);
            }
        }
        Ok(Self {
            sources: Sources::new(config.sources),
            config,
            compat_plan,
            manager,
            factory,
            counters: Counters::default(),
            id_seed: crate::rand::random_seed(),
            next_id: AtomicU64::new(0),
            observers: Vec::new(),
            admitted: Admitted::default(),
            epoch_base: OnceLock::new(),
        })
    }

    /// Calls `observer` with every finished stream's result (a
    /// [`ServerObserver`] with only
    /// [`stream_finished`](ServerObserver::stream_finished)).
    pub fn on_finished(self, observer: impl Fn(&StreamResult) + Send + Sync + 'static) -> Self {
        self.with_observer(OnFinished(observer))
    }

    /// Adds `observer`: it sees every stream started, finished and
    /// refused from now on, after the observers added before it. Pass
    /// an `Arc` to keep a handle on it.
    pub fn with_observer(mut self, observer: impl ServerObserver + 'static) -> Self {
        self.observers.push(Box::new(observer));
        self
    }

    /// The connection manager.
    pub fn manager(&self) -> &M {
        &self.manager
    }

    /// The factory that creates each stream's pattern.
    pub fn factory(&self) -> &F {
        &self.factory
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ServerStats {
        self.counters.snapshot()
    }

    /// True once the exit limit's worth of streams has finished.
    pub fn is_done(&self) -> bool {
        let finished = self.counters.streams_completed.load(Ordering::Relaxed)
            + self.counters.streams_failed.load(Ordering::Relaxed);
        self.config.exit_after.is_some_and(|n| finished >= n)
    }

    fn exit_limit_reached(&self) -> bool {
        let started = self.counters.streams_started.load(Ordering::Relaxed);
        self.config.exit_after.is_some_and(|n| started >= n)
    }

    /// Periodic upkeep: expires requests that waited too long.
    pub fn maintain(&self, now: Instant) {
        if let Some(cutoff) = now.checked_sub(self.config.awaiting_timeout) {
            let n = self.manager.expire_awaiting(cutoff);
            self.counters.expired.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    fn new_connection_id(&self) -> ConnectionId {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let hi = u128::from(SplitMix64::mix(self.id_seed ^ n));
        let lo = u128::from(SplitMix64::mix(
            self.id_seed.rotate_left(29) ^ n ^ 0x5bd1_e995,
        ));
        let mut value = (hi << 64) | lo;
        // RFC 4122 version 4 (random) and variant bits.
        value = (value & !(0xf << 76)) | (0x4 << 76);
        value = (value & !(0x3 << 62)) | (0x2 << 62);
        ConnectionId::from_u128(value)
    }

    fn on_start(&self, d: &Received<'_>) -> Handled {
        bump(&self.counters.starts);
        let key = StreamKey::sender(d.remote);
        if self.manager.contains(key) {
            bump(&self.counters.repeated_starts);
            return Handled::Ignored(Ignored::RepeatedStart);
        }
        let (Some(plan), true) = (self.compat_plan, self.config.serve_send) else {
            bump(&self.counters.compat_refused);
            return Handled::Ignored(Ignored::CompatDisabled);
        };
        if !self
            .config
            .compat_allow
            .iter()
            .any(|c| c.contains(d.remote.ip()))
        {
            bump(&self.counters.compat_refused);
            return Handled::Ignored(Ignored::CompatDisabled);
        }
        if !self.sources.allow_request(d.remote.ip(), d.now) {
            bump(&self.counters.rate_limited);
            return Handled::Ignored(Ignored::RateLimited);
        }
        let request = StreamRequest {
            key,
            listener: d.listener,
            local: d.local,
            plan,
            v1: None,
            connection_id: self.new_connection_id(),
            media: None,
        };
        self.admit(request, d.now)
    }

    fn refuse_over_limit(&self, d: &Received<'_>, role: Role, token: u64, reason: &str) -> Handled {
        bump(&self.counters.refused_limits);
        self.refuse(d, role, token, RefuseCode::BadParameters, reason)
    }

    fn refuse_admission(
        &self,
        d: &Received<'_>,
        role: Role,
        token: u64,
        refusal: AdmissionRefusal,
    ) -> Handled {
        match refusal {
            AdmissionRefusal::OverLimit(reason) => self.refuse_over_limit(d, role, token, &reason),
            AdmissionRefusal::Full(reason) => {
                bump(&self.counters.busy);
                self.refuse(d, role, token, RefuseCode::Busy, &reason)
            }
        }
    }

    /// A reply to `d`, sealed when keyed, and never larger than `d`: the
    /// peer may not have proven that it receives at its address, so it
    /// gets at most as many bytes as it sent (the bound is 3x).
    fn answer(&self, d: &Received<'_>, emit: impl FnOnce(&mut [u8]) -> Option<usize>) -> Handled {
        let Some(mut reply) = Reply::new(d.listener, d.remote, emit) else {
            return Handled::Ignored(Ignored::Malformed);
        };
        if reply.bytes().len() > d.bytes.len() {
            bump(&self.counters.malformed);
            return Handled::Ignored(Ignored::Malformed);
        }
        if let Some(key) = &self.config.key {
            key.seal(reply.bytes_mut());
        }
        Handled::Reply(reply)
    }

    fn refuse(
        &self,
        d: &Received<'_>,
        role: Role,
        token: u64,
        code: RefuseCode,
        reason: &str,
    ) -> Handled {
        bump(&self.counters.refused);
        log::debug!("refusing {} ({code:?}): {reason}", d.remote);
        let key = StreamKey {
            role,
            remote: d.remote,
        };
        self.refused(key, d.local, d.now, Refusal::Answered { code, reason });
        self.answer(d, |buf| v1::emit_refuse(token, code, reason, buf))
    }

    /// Tells the observers that a request for `key` got no stream.
    fn refused(&self, key: StreamKey, local: SocketAddr, now: Instant, why: Refusal<'_>) {
        let event = StreamRefused {
            key,
            local,
            now,
            why,
        };
        for o in &self.observers {
            o.stream_refused(&event);
        }
    }

    /// A request that ended in `h`: tells the observers when it was
    /// dropped for a reason that refuses a stream (not a repeat, not a
    /// malformed datagram).
    fn note_dropped(&self, d: &Received<'_>, role: Role, h: Handled) -> Handled {
        if let Handled::Ignored(why) = h {
            if refuses(why) {
                let key = StreamKey {
                    role,
                    remote: d.remote,
                };
                self.refused(key, d.local, d.now, Refusal::Dropped(why));
            }
        }
        h
    }

    /// The cookie epoch `now` falls in.
    fn epoch(&self, now: Instant) -> u64 {
        let base = *self.epoch_base.get_or_init(|| now);
        let n = now.saturating_duration_since(base).as_nanos() / COOKIE_EPOCH.as_nanos();
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    /// Return routability: true when the request carries a cookie this
    /// server made for its address, port, token and kind in this epoch or
    /// the last. Keeps nothing.
    fn has_valid_cookie(&self, d: &Received<'_>, r: &RequestRepr, flag: u16) -> bool {
        let epoch = self.epoch(d.now);
        match &r.cookie {
            Some(cookie) => {
                let secret = &self.config.cookie_secret;
                let ok = secret.verify(epoch, d.remote, r.token, flag, cookie);
                if !ok {
                    bump(&self.counters.cookie_refused);
                }
                ok
            }
            None => false,
        }
    }

    /// The stateless CHALLENGE (43 bytes, for a request of 128 or more).
    fn challenge(&self, d: &Received<'_>, r: &RequestRepr, flag: u16) -> Handled {
        bump(&self.counters.challenged);
        let cookie = self
            .config
            .cookie_secret
            .cookie(self.epoch(d.now), d.remote, r.token, flag);
        let h = self.answer(d, |buf| v1::emit_challenge(r.token, &cookie, buf));
        self.to_unverified(h)
    }

    /// Counts what an answer to an address that has not proven it
    /// receives there sends it (`unverified_bytes`).
    fn to_unverified(&self, h: Handled) -> Handled {
        if let Handled::Reply(reply) = &h {
            self.counters
                .unverified_bytes
                .fetch_add(reply.bytes().len() as u64, Ordering::Relaxed);
        }
        h
    }

    fn on_request(&self, d: &Received<'_>, r: RequestRepr, role: Role) -> Handled {
        bump(if role == Role::Sender {
            &self.counters.requests
        } else {
            &self.counters.joins
        });
        let key = StreamKey {
            role,
            remote: d.remote,
        };
        if self.manager.contains(key) {
            // A repeat from the stream's own (verified) address: the
            // stream answers again if the token is its own.
            return self.deliver(d, key);
        }
        let flag = match role {
            Role::Sender => v1::FLAG_REQUEST,
            Role::Receiver => v1::FLAG_JOIN,
        };
        if !self.has_valid_cookie(d, &r, flag) {
            // Nothing is kept and nothing starts until the cookie comes
            // back from this address.
            return self.challenge(d, &r, flag);
        }
        bump(&self.counters.verified);
        let served = match role {
            Role::Sender => self.config.serve_send,
            Role::Receiver => self.config.serve_receive,
        };
        if !served {
            let why = "this server does not serve that direction";
            return self.refuse(d, role, r.token, RefuseCode::DirectionNotServed, why);
        }
        if !self.sources.allow_request(d.remote.ip(), d.now) {
            bump(&self.counters.rate_limited);
            let why = "too many requests from this address; slow down";
            return self.refuse(d, role, r.token, RefuseCode::RateLimited, why);
        }
        let (plan, mut session) = match validate(&r, &self.config.limits, &self.config.admission) {
            Ok(ok) => ok,
            Err(reason) => return self.refuse_over_limit(d, role, r.token, &reason),
        };
        session.report_blocks = v1::request_features(d.bytes) & v1::FEATURE_REPORT_BLOCKS != 0;
        if let Err(refusal) = self.config.admission.check_request(&plan, role) {
            return self.refuse_admission(d, role, r.token, refusal);
        }
        if self.manager.free_slots(role) == 0 {
            // A full server says so; the client prints the reason.
            bump(&self.counters.busy);
            let why = format!(
                "busy: stream limit ({} per direction); retry later",
                self.config.max_streams
            );
            return self.refuse(d, role, r.token, RefuseCode::Busy, &why);
        }
        if let Err(refusal) = self
            .admitted
            .fits(&self.config.admission, Share::of(&plan, role))
        {
            return self.refuse_admission(d, role, r.token, refusal);
        }
        let request = StreamRequest {
            key,
            listener: d.listener,
            local: d.local,
            plan,
            v1: Some(session),
            connection_id: self.new_connection_id(),
            media: r.media,
        };
        self.admit_or_refuse(d, role, r.token, request)
    }

    /// Admits a verified request, or refuses it saying why.
    fn admit_or_refuse(
        &self,
        d: &Received<'_>,
        role: Role,
        token: u64,
        request: StreamRequest,
    ) -> Handled {
        let media = request.media.is_some();
        match self.admit(request, d.now) {
            Handled::Ignored(Ignored::FactoryFailed) if media => self.refuse(
                d,
                role,
                token,
                RefuseCode::BadParameters,
                "no such frame-size model here: no trace to replay, or the model does not fit the stream",
            ),
            Handled::Ignored(Ignored::Busy) => self.refuse(
                d,
                role,
                token,
                RefuseCode::Busy,
                "server at its stream limit; retry later",
            ),
            Handled::Ignored(Ignored::ExitLimit) => self.refuse(
                d,
                role,
                token,
                RefuseCode::Busy,
                "server is finishing its last streams",
            ),
            other => other,
        }
    }

    /// Queues or starts a request.
    fn admit(&self, request: StreamRequest, now: Instant) -> Handled {
        if self.exit_limit_reached() {
            return Handled::Ignored(Ignored::ExitLimit);
        }
        let endpoint = AwaitingEndpoint {
            request,
            received: now,
        };
        match self.manager.add_awaiting(endpoint) {
            AwaitOutcome::Matched(endpoint, slot) => self.start(endpoint.request, slot, now),
            AwaitOutcome::Queued | AwaitOutcome::AlreadyWaiting => {
                bump(&self.counters.queued);
                Handled::Queued
            }
            AwaitOutcome::Full => {
                bump(&self.counters.busy);
                Handled::Ignored(Ignored::Busy)
            }
        }
    }

    fn start(&self, request: StreamRequest, slot: AcceptingSlot, now: Instant) -> Handled {
        let ip = request.key.remote.ip();
        let share = Share::of(&request.plan, request.key.role);
        if self
            .admitted
            .reserve(&self.config.admission, share)
            .is_err()
        {
            bump(&self.counters.busy);
            self.manager.add_accepting(slot);
            return Handled::Ignored(Ignored::Busy);
        }
        if !self.sources.add_stream(ip, now) {
            bump(&self.counters.rate_limited);
            self.admitted.release(share);
            self.manager.add_accepting(slot);
            return Handled::Ignored(Ignored::RateLimited);
        }
        let pattern = match self.factory.create(&request, now) {
            Ok(p) => p,
            Err(why) => {
                log::warn!(
                    "could not create a stream for {}: {why}",
                    request.key.remote
                );
                bump(&self.counters.factory_failed);
                self.admitted.release(share);
                self.sources.remove_stream(ip);
                self.manager.add_accepting(slot);
                return Handled::Ignored(Ignored::FactoryFailed);
            }
        };
        let stream = ConnectedStream {
            request,
            pattern,
            started: now,
        };
        if self.manager.insert(stream).is_err() {
            self.admitted.release(share);
            self.sources.remove_stream(ip);
            self.manager.add_accepting(slot);
            return Handled::Ignored(Ignored::RepeatedStart);
        }
        bump(&self.counters.streams_started);
        log::debug!("stream {:?} started", request.key);
        for o in &self.observers {
            o.stream_started(&request, now);
        }
        Handled::Started(request.key)
    }

    fn deliver(&self, d: &Received<'_>, key: StreamKey) -> Handled {
        let found = self.manager.with_stream(key, &mut |s| {
            s.pattern.handle_marked_datagram(d.now, d.bytes, d.tos);
        });
        if found {
            Handled::Delivered(key)
        } else {
            bump(&self.counters.no_stream);
            Handled::Ignored(Ignored::NoStream)
        }
    }

    /// Runs a stream's due work at `now`: its timeout if due, then the
    /// datagrams it has to send, through `send` (from the request's
    /// listener to its peer) in runs of equal-size datagrams as `batching`
    /// allows: `send` gets the bytes and the size of each datagram in them.
    /// The first run carries at most [`FIRST_RUN_SEGMENTS`] datagrams.
    /// At most [`DRIVE_DATAGRAMS`] or [`DRIVE_BYTES`] per call: a stream
    /// with more to send yields and is due again just after `now`. A
    /// `send` that fails with `WouldBlock` (the send buffer stayed full)
    /// tells the pattern what did not leave and pauses the stream for a
    /// millisecond; any other send error ends that stream only. A finished
    /// stream is removed and its result reported.
    pub fn drive(
        &self,
        key: StreamKey,
        now: Instant,
        buf: &mut [u8],
        batching: Batching,
        send: &mut SendRun<'_>,
    ) -> Drive {
        let mut finished = false;
        let mut wake = None;
        let found = self.manager.with_stream(key, &mut |s| {
            if s.pattern.poll_timeout().is_some_and(|t| t <= now) {
                s.pattern.handle_timeout(now);
            }
            let segments = batching.segments_for(s.request.plan.max_datagram());
            let mut budget = DriveBudget::default();
            let mut pause = None;
            let mut run = segments.min(FIRST_RUN_SEGMENTS);
            while let Some(t) = s.pattern.poll_transmit_batch(now, buf, run) {
                run = segments;
                if let Some(k) = &self.config.key {
                    // A lone v1 datagram (ACCEPT, REPORT, END) gets its tag.
                    if t.len == t.segment_size && is_v1(&buf[..t.len]) {
                        k.seal(&mut buf[..t.len]);
                    }
                }
                match send(&s.request, &buf[..t.len], t.segment_size) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // The send buffer is full: what did not leave is
                        // not counted, and the stream waits for it to drain.
                        s.pattern.on_unsent(t.segments() as u64, t.len as u64);
                        pause = Some(now + FULL_BUFFER_PAUSE);
                        break;
                    }
                    Err(e) => {
                        s.pattern
                            .abort(&format!("sending to {} failed: {e}", s.request.key.remote));
                        break;
                    }
                }
                if budget.spend(t) {
                    // Yield: receives, other streams and shutdown go first.
                    pause = Some(now + Duration::from_nanos(1));
                    break;
                }
            }
            finished = s.pattern.status().is_finished();
            wake = match s.pattern.poll_timeout() {
                Some(t) => Some(pause.map_or(t, |p| t.max(p))),
                // A full send buffer still needs a retry, deadline or not.
                None => pause,
            };
        });
        if !found {
            return Drive::Gone;
        }
        if !finished {
            // A running pattern without a deadline waits for its next
            // datagram: waking it at `now` again would spin a core.
            return wake.map_or(Drive::Idle, Drive::Wake);
        }
        match self.finish(key, now) {
            Some((result, started)) => Drive::Finished {
                result: Box::new(result),
                started,
            },
            None => Drive::Gone,
        }
    }

    /// Removes a finished stream, reports it, and gives its slot to the
    /// next waiting request.
    fn finish(&self, key: StreamKey, now: Instant) -> Option<(StreamResult, Option<StreamKey>)> {
        let stream = self.manager.remove(key)?;
        self.release(&stream.request);
        let result = self.result_of(stream, now);
        self.report(&result);
        let mut started = None;
        if !self.exit_limit_reached() {
            let slot = AcceptingSlot {
                role: key.role,
                remote: None,
            };
            if let Some((endpoint, slot)) = self.manager.add_accepting(slot) {
                let request = endpoint.request;
                match self.start(request, slot, now) {
                    Handled::Started(k) => started = Some(k),
                    Handled::Ignored(why) if refuses(why) => {
                        let why = Refusal::Dropped(why);
                        self.refused(request.key, request.local, now, why);
                    }
                    _ => {}
                }
            }
        }
        Some((result, started))
    }

    /// Gives back what a stream held: its source's count and its share of
    /// the totals.
    fn release(&self, request: &StreamRequest) {
        self.sources.remove_stream(request.key.remote.ip());
        self.admitted
            .release(Share::of(&request.plan, request.key.role));
    }

    /// Bits per second and receive-state bytes the live streams hold.
    pub fn admitted(&self) -> (u64, u64) {
        self.admitted.held()
    }

    fn result_of(&self, stream: ConnectedStream, now: Instant) -> StreamResult {
        let r = stream.request;
        StreamResult {
            role: r.key.role,
            local: r.local,
            remote: r.key.remote,
            connection_id: Some(r.connection_id),
            plan: r.plan,
            v1: r.v1.is_some(),
            status: stream.pattern.status(),
            stats: stream.pattern.stats().clone(),
            started: stream.started,
            ended: now,
        }
    }

    fn report(&self, result: &StreamResult) {
        bump(if result.succeeded() {
            &self.counters.streams_completed
        } else {
            &self.counters.streams_failed
        });
        log::info!(
            "stream {} {:?} ended: {:?}",
            result.remote,
            result.role,
            result.status
        );
        for o in &self.observers {
            o.stream_finished(result);
        }
    }

    /// The network says nothing listens at `remote` any more (an ICMP
    /// port unreachable that a backend read off its socket): aborts that
    /// peer's streams, in both roles, with `reason`. Returns their keys;
    /// driving them ends and reports them.
    pub fn on_unreachable(&self, remote: SocketAddr, reason: &str) -> Vec<StreamKey> {
        [StreamKey::sender(remote), StreamKey::receiver(remote)]
            .into_iter()
            .filter(|&key| {
                self.manager
                    .with_stream(key, &mut |s| s.pattern.abort(reason))
            })
            .collect()
    }

    /// Aborts every stream (shutdown) and returns their results.
    pub fn shutdown(&self, now: Instant, reason: &str) -> Vec<StreamResult> {
        let streams = self.manager.drain();
        streams
            .into_iter()
            .map(|mut s| {
                self.release(&s.request);
                s.pattern.abort(reason);
                let result = self.result_of(s, now);
                self.report(&result);
                result
            })
            .collect()
    }
}

impl<M: ConnectionManager, F: ConnectedSocketFactory> ListenerHandler for Server<M, F> {
    fn on_datagram(&self, d: Received<'_>) -> Handled {
        bump(&self.counters.datagrams);
        let parsed = wire::parse(d.bytes);
        if let Some(key) = &self.config.key {
            let from_client = matches!(
                parsed,
                Ok(Datagram::V1(
                    V1Message::Request(_)
                        | V1Message::Join(_)
                        | V1Message::Report(_)
                        | V1Message::End(_)
                ))
            );
            // Another version cannot carry this version's tag: a keyed
            // server does not answer it either.
            let other_version = matches!(parsed, Err(WireError::UnsupportedVersion { .. }));
            if other_version || (from_client && !key.verify(d.bytes)) {
                bump(&self.counters.unkeyed);
                return Handled::Ignored(Ignored::Unkeyed);
            }
        }
        match parsed {
            Ok(Datagram::Start) => self.note_dropped(&d, Role::Sender, self.on_start(&d)),
            Ok(Datagram::V1(V1Message::Request(r))) => {
                let h = self.on_request(&d, r, Role::Sender);
                self.note_dropped(&d, Role::Sender, h)
            }
            Ok(Datagram::V1(V1Message::Join(r))) => {
                let h = self.on_request(&d, r, Role::Receiver);
                self.note_dropped(&d, Role::Receiver, h)
            }
            Ok(Datagram::Data(..))
            | Ok(Datagram::FrameData(..))
            | Ok(Datagram::V1(V1Message::End(_))) => {
                self.deliver(&d, StreamKey::receiver(d.remote))
            }
            Ok(Datagram::V1(V1Message::Report(_))) => self.deliver(&d, StreamKey::sender(d.remote)),
            Ok(Datagram::ConnectionId(_))
            | Ok(Datagram::V1(V1Message::Accept { .. }))
            | Ok(Datagram::V1(V1Message::Refuse { .. }))
            | Ok(Datagram::V1(V1Message::Challenge { .. })) => {
                bump(&self.counters.unexpected);
                Handled::Ignored(Ignored::Unexpected)
            }
            Err(WireError::UnsupportedVersion { version }) => {
                let Some(header) = v1::Header::parse(d.bytes)
                    .ok()
                    .filter(v1::Header::is_request)
                else {
                    bump(&self.counters.malformed);
                    return Handled::Ignored(Ignored::Malformed);
                };
                let token = header.token;
                let v = v1::VERSION;
                let why = format!("version {version} not spoken here; this server speaks {v}");
                let code = RefuseCode::UnsupportedVersion;
                bump(&self.counters.refused);
                let key = StreamKey {
                    role: if header.flag == v1::FLAG_JOIN {
                        Role::Receiver
                    } else {
                        Role::Sender
                    },
                    remote: d.remote,
                };
                let refusal = Refusal::Answered { code, reason: &why };
                self.refused(key, d.local, d.now, refusal);
                let h = if version == 1 {
                    // In the layout a version 1 client reads.
                    self.answer(&d, |buf| v1::emit_refuse_v1(token, code, &why, buf))
                } else {
                    self.answer(&d, |buf| v1::emit_refuse(token, code, &why, buf))
                };
                self.to_unverified(h)
            }
            Err(WireError::UnknownFlag { .. }) => {
                bump(&self.counters.unknown);
                Handled::Ignored(Ignored::Unknown)
            }
            Err(_) => {
                bump(&self.counters.malformed);
                Handled::Ignored(Ignored::Malformed)
            }
        }
    }
}

/// Checks a v1 request against the limits; the consent granted is the
/// request's, cut to the server's cap.
fn validate(
    r: &RequestRepr,
    limits: &Limits,
    admission: &Admission,
) -> Result<(StreamPlan, V1Session), String> {
    let settings = StreamSettings {
        bits_per_second: r.bits_per_second,
        frame_rate: r.frame_rate,
        stream_length_secs: r.stream_length_secs,
        datagram_size: r.datagram_size,
        buffer_depth_ms: r.buffer_depth_ms,
    };
    let plan = settings.plan_with(limits).map_err(|e| e.to_string())?;
    let (lo, hi) = REPORT_INTERVAL_MS;
    if !(lo..=hi).contains(&r.report_interval_ms) {
        return Err(format!(
            "report interval {} ms out of range {lo} to {hi} ms",
            r.report_interval_ms
        ));
    }
    let min_consent = 2 * r.report_interval_ms;
    if !(min_consent..=MAX_CONSENT_TIMEOUT_MS).contains(&r.consent_timeout_ms) {
        return Err(format!(
            "consent timeout {} ms out of range {min_consent} to {MAX_CONSENT_TIMEOUT_MS} ms",
            r.consent_timeout_ms
        ));
    }
    let report_interval = Duration::from_millis(r.report_interval_ms.into());
    let consent_timeout = admission.consent(Duration::from_millis(r.consent_timeout_ms.into()));
    if consent_timeout < 2 * report_interval {
        return Err(format!(
            "max-consent {} ms: report interval {} ms is too long; report every {} ms or less",
            consent_timeout.as_millis(),
            r.report_interval_ms,
            consent_timeout.as_millis() / 2
        ));
    }
    let session = V1Session {
        token: r.token,
        report_interval,
        consent_timeout,
        report_blocks: false,
    };
    Ok((plan, session))
}

/// Drop reasons that refuse a stream a well-formed request asked for
/// (the others are repeats, noise or unkeyed datagrams).
fn refuses(why: Ignored) -> bool {
    matches!(
        why,
        Ignored::CompatDisabled
            | Ignored::RateLimited
            | Ignored::Busy
            | Ignored::ExitLimit
            | Ignored::FactoryFailed
    )
}

fn is_v1(bytes: &[u8]) -> bool {
    wire::read_flag(bytes).is_ok_and(|f| v1::EXTENSION_FLAGS.contains(&f))
}
