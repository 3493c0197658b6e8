use std::collections::hash_map::{DefaultHasher, HashMap};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::{AcceptingSlot, AwaitingEndpoint, StreamKey, StreamRequest};
use crate::pattern::{IoPattern, Role};

/// A running stream owned by a [`ConnectionManager`].
pub struct ConnectedStream {
    /// What it is.
    pub request: StreamRequest,
    /// The state machine that runs it.
    pub pattern: Box<dyn IoPattern + Send>,
    /// When it was created.
    pub started: Instant,
}

impl std::fmt::Debug for ConnectedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectedStream")
            .field("request", &self.request)
            .field("status", &self.pattern.status())
            .field("started", &self.started)
            .finish()
    }
}

/// What [`ConnectionManager::add_awaiting`] did with an endpoint.
// Returned by value once per request and consumed at once: boxing the
// large variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwaitOutcome {
    /// A slot was free: serve the endpoint now.
    Matched(AwaitingEndpoint, AcceptingSlot),
    /// Queued until a slot frees up (or it expires).
    Queued,
    /// The same peer and role is already waiting.
    AlreadyWaiting,
    /// The awaiting table is full.
    Full,
}

/// Owns the server's streams, the requests waiting for room, and the room
/// itself (accepting slots), with role-aware lookups.
///
/// Every method takes `&self`: an implementation is shared by all the
/// backend's threads and does its own locking. The default,
/// [`ShardedConnectionManager`], never takes one lock for the whole table.
///
/// ```
/// use mediastream_core::server::{AcceptingSlot, ConnectionManager, ShardedConnectionManager};
/// use mediastream_core::pattern::Role;
///
/// let manager = ShardedConnectionManager::new(16, 1024);
/// assert_eq!(manager.add_accepting(AcceptingSlot { role: Role::Sender, remote: None }), None);
/// assert_eq!(manager.free_slots(Role::Sender), 1);
/// assert_eq!(manager.free_slots(Role::Receiver), 0);
/// ```
pub trait ConnectionManager: Send + Sync {
    /// Adds a stream; gives it back if its key is taken.
    // The stream comes back only on a logic error; boxing it would cost an
    // allocation on every insert.
    #[allow(clippy::result_large_err)]
    fn insert(&self, stream: ConnectedStream) -> Result<(), ConnectedStream>;
    /// Removes and returns a stream.
    fn remove(&self, key: StreamKey) -> Option<ConnectedStream>;
    /// Runs `f` on a stream; false when there is none.
    fn with_stream(&self, key: StreamKey, f: &mut dyn FnMut(&mut ConnectedStream)) -> bool;
    /// Number of streams.
    fn len(&self) -> usize;
    /// Takes every stream out (shutdown).
    fn drain(&self) -> Vec<ConnectedStream>;
    /// Runs `f` on every stream, to read it
    /// ([`Server::live_streams`](super::Server::live_streams)): for
    /// status output, not the per-datagram path. Streams inserted or
    /// removed meanwhile may or may not be visited.
    ///
    /// The default visits none (a manager that cannot list its streams
    /// gives an empty snapshot); [`ShardedConnectionManager`] visits
    /// every one, a shard at a time.
    fn for_each_stream(&self, f: &mut dyn FnMut(&ConnectedStream)) {
        let _ = f;
    }

    /// Offers a request: it takes a matching slot or waits for one.
    fn add_awaiting(&self, endpoint: AwaitingEndpoint) -> AwaitOutcome;
    /// Offers a slot: it takes a matching waiting request or stays free.
    fn add_accepting(&self, slot: AcceptingSlot) -> Option<(AwaitingEndpoint, AcceptingSlot)>;
    /// Drops waiting requests that arrived before `cutoff`; returns how many.
    fn expire_awaiting(&self, cutoff: Instant) -> usize;
    /// Requests waiting.
    fn awaiting_len(&self) -> usize;
    /// Free slots of a role that any peer may take.
    fn free_slots(&self, role: Role) -> usize;

    /// Adds `count` slots of `role` open to any peer, as `count` calls of
    /// [`add_accepting`](ConnectionManager::add_accepting) whose matches
    /// are dropped: for a new manager, which has no waiting requests.
    /// [`ShardedConnectionManager`] does it in constant time, so a server
    /// starts at once whatever its stream limit.
    fn open_slots(&self, role: Role, count: usize) {
        for _ in 0..count {
            let _ = self.add_accepting(AcceptingSlot { role, remote: None });
        }
    }

    /// True with no streams.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// True when a stream has this key.
    fn contains(&self, key: StreamKey) -> bool {
        self.with_stream(key, &mut |_| {})
    }
    /// Runs `f` on the stream the server sends to `remote`.
    fn find_sender_for(&self, remote: SocketAddr, f: &mut dyn FnMut(&mut ConnectedStream)) -> bool {
        self.with_stream(StreamKey::sender(remote), f)
    }
    /// Runs `f` on the stream the server receives from `remote`.
    fn find_receiver_for(
        &self,
        remote: SocketAddr,
        f: &mut dyn FnMut(&mut ConnectedStream),
    ) -> bool {
        self.with_stream(StreamKey::receiver(remote), f)
    }
}

#[derive(Debug, Default)]
struct Shard {
    /// Boxed: a stream is about 300 bytes and the table keeps up to
    /// twice as many slots as entries, so inline entries cost 600 bytes a
    /// stream and spread a lookup's probes over more cache lines.
    streams: HashMap<StreamKey, Box<ConnectedStream>>,
    awaiting: VecDeque<AwaitingEndpoint>,
    /// Slots reserved for one peer (in that peer's shard).
    reserved: Vec<AcceptingSlot>,
}

/// The default [`ConnectionManager`]: the tables are split by the peer's
/// address into independently locked shards, so threads serving different
/// peers never wait for each other. Slots open to any peer are lock-free
/// counters.
#[derive(Debug)]
pub struct ShardedConnectionManager {
    shards: Box<[Mutex<Shard>]>,
    /// Free any-peer slots, indexed by role.
    free: [AtomicUsize; 2],
    streams: AtomicUsize,
    awaiting: AtomicUsize,
    max_awaiting: usize,
}

fn role_index(role: Role) -> usize {
    match role {
        Role::Sender => 0,
        Role::Receiver => 1,
    }
}

impl ShardedConnectionManager {
    /// Locks in the default manager: far more than a host's backend
    /// threads, so two threads serving different peers rarely meet on
    /// one (the server's value since the refactor made the manager
    /// public).
    pub const DEFAULT_SHARDS: usize = 64;
    /// Waiting requests the default manager holds: a bound on the memory
    /// a burst of requests for a full server can take (a request waits
    /// at most [`ServerConfig::awaiting_timeout`](super::ServerConfig::awaiting_timeout)
    /// and its client retries anyway).
    pub const DEFAULT_MAX_AWAITING: usize = 4096;

    /// A manager with `shards` locks (at least 1) and room for
    /// `max_awaiting` waiting requests.
    pub fn new(shards: usize, max_awaiting: usize) -> Self {
        Self {
            shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
            free: [AtomicUsize::new(0), AtomicUsize::new(0)],
            streams: AtomicUsize::new(0),
            awaiting: AtomicUsize::new(0),
            max_awaiting,
        }
    }

    fn shard(&self, remote: &SocketAddr) -> MutexGuard<'_, Shard> {
        let mut h = DefaultHasher::new();
        remote.hash(&mut h);
        let index = (h.finish() % self.shards.len() as u64) as usize;
        lock(&self.shards[index])
    }

    /// Matches `endpoint` with an any-peer slot of its role, if one is free.
    fn match_open_slot(&self, endpoint: AwaitingEndpoint) -> Option<AwaitOutcome> {
        let role = endpoint.request.key.role;
        self.take_free(role).then_some(AwaitOutcome::Matched(
            endpoint,
            AcceptingSlot { role, remote: None },
        ))
    }

    /// Takes one any-peer slot of `role` if there is one.
    fn take_free(&self, role: Role) -> bool {
        self.free[role_index(role)]
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl Default for ShardedConnectionManager {
    /// What [`Server::with_defaults`](super::Server::with_defaults) uses:
    /// [`DEFAULT_SHARDS`](Self::DEFAULT_SHARDS) locks and room for
    /// [`DEFAULT_MAX_AWAITING`](Self::DEFAULT_MAX_AWAITING) waiting
    /// requests.
    fn default() -> Self {
        Self::new(Self::DEFAULT_SHARDS, Self::DEFAULT_MAX_AWAITING)
    }
}

/// A poisoned lock means a panic elsewhere already failed the test or the
/// process; the tables themselves stay consistent, so keep going.
fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ConnectionManager for ShardedConnectionManager {
    #[allow(clippy::result_large_err)]
    fn insert(&self, stream: ConnectedStream) -> Result<(), ConnectedStream> {
        let key = stream.request.key;
        let mut shard = self.shard(&key.remote);
        if shard.streams.contains_key(&key) {
            return Err(stream);
        }
        shard.streams.insert(key, Box::new(stream));
        self.streams.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn remove(&self, key: StreamKey) -> Option<ConnectedStream> {
        let removed = self.shard(&key.remote).streams.remove(&key);
        if removed.is_some() {
            self.streams.fetch_sub(1, Ordering::Relaxed);
        }
        removed.map(|stream| *stream)
    }

    fn with_stream(&self, key: StreamKey, f: &mut dyn FnMut(&mut ConnectedStream)) -> bool {
        match self.shard(&key.remote).streams.get_mut(&key) {
            Some(stream) => {
                f(stream);
                true
            }
            None => false,
        }
    }

    fn len(&self) -> usize {
        self.streams.load(Ordering::Relaxed)
    }

    fn drain(&self) -> Vec<ConnectedStream> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            self.streams
                .fetch_sub(shard.streams.len(), Ordering::Relaxed);
            all.extend(shard.streams.drain().map(|(_, s)| *s));
        }
        all
    }

    fn for_each_stream(&self, f: &mut dyn FnMut(&ConnectedStream)) {
        // One shard's lock at a time, never two: the threads serving
        // other shards go on meanwhile.
        for shard in self.shards.iter() {
            for stream in lock(shard).streams.values() {
                f(stream);
            }
        }
    }

    fn add_awaiting(&self, endpoint: AwaitingEndpoint) -> AwaitOutcome {
        let key = endpoint.request.key;
        let mut shard = self.shard(&key.remote);
        if let Some(i) = shard.reserved.iter().position(|s| s.accepts(&endpoint)) {
            let slot = shard.reserved.swap_remove(i);
            return AwaitOutcome::Matched(endpoint, slot);
        }
        if let Some(matched) = self.match_open_slot(endpoint) {
            return matched;
        }
        if shard.awaiting.iter().any(|e| e.request.key == key) {
            return AwaitOutcome::AlreadyWaiting;
        }
        if self.awaiting.load(Ordering::Relaxed) >= self.max_awaiting {
            return AwaitOutcome::Full;
        }
        // Queue, then look again: a slot freed between the check above and
        // the push would otherwise strand this endpoint (add_accepting
        // frees the counter before it scans the queues).
        if let Some(matched) = self.match_open_slot(endpoint) {
            return matched;
        }
        shard.awaiting.push_back(endpoint);
        self.awaiting.fetch_add(1, Ordering::Relaxed);
        AwaitOutcome::Queued
    }

    fn add_accepting(&self, slot: AcceptingSlot) -> Option<(AwaitingEndpoint, AcceptingSlot)> {
        if let Some(remote) = slot.remote {
            let mut shard = self.shard(&remote);
            if let Some(i) = shard.awaiting.iter().position(|e| slot.accepts(e)) {
                let endpoint = shard.awaiting.remove(i)?;
                self.awaiting.fetch_sub(1, Ordering::Relaxed);
                return Some((endpoint, slot));
            }
            shard.reserved.push(slot);
            return None;
        }
        self.free[role_index(slot.role)].fetch_add(1, Ordering::AcqRel);
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let Some(i) = shard.awaiting.iter().position(|e| slot.accepts(e)) else {
                continue;
            };
            if !self.take_free(slot.role) {
                return None; // another thread used the slot meanwhile
            }
            let endpoint = shard.awaiting.remove(i)?;
            self.awaiting.fetch_sub(1, Ordering::Relaxed);
            return Some((endpoint, slot));
        }
        None
    }

    fn expire_awaiting(&self, cutoff: Instant) -> usize {
        let mut expired = 0;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let before = shard.awaiting.len();
            shard.awaiting.retain(|e| e.received >= cutoff);
            expired += before - shard.awaiting.len();
        }
        self.awaiting.fetch_sub(expired, Ordering::Relaxed);
        expired
    }

    fn awaiting_len(&self) -> usize {
        self.awaiting.load(Ordering::Relaxed)
    }

    fn free_slots(&self, role: Role) -> usize {
        self.free[role_index(role)].load(Ordering::Relaxed)
    }

    fn open_slots(&self, role: Role, count: usize) {
        // One counter for every any-peer slot: nothing is allocated per
        // slot, and (unlike `count` calls of `add_accepting`, each of
        // which scans every shard's queue) no lock is taken. A request
        // already waiting is matched by the next slot that frees up or by
        // its own retry, as before.
        self.free[role_index(role)].fetch_add(count, Ordering::AcqRel);
    }
}
