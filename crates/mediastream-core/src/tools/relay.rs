//! The impairment relay: a UDP forwarder that treats every datagram as a
//! bad path would (seeded loss, duplication, reordering, delay, jitter,
//! corruption) and logs what it did to each, so a test can work out the
//! exact outcome of every frame, and a user can watch a stream degrade.
//!
//! Clients send to the relay's `listen` address; each client gets its own
//! upstream socket connected to `forward`, so the server's answers come
//! back to that socket and are relayed, impaired too, to that client.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::impair::{CopyPlan, Impairer, Impairments};
use crate::wire::{self, Datagram};

/// Which way a datagram went through the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Way {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// What the relay did to one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayRecord {
    /// Order of arrival at the relay, from 0.
    pub index: u64,
    /// Which way it went.
    pub way: Way,
    /// The client it belongs to.
    pub client: SocketAddr,
    /// The data sequence number, for a data datagram.
    pub sequence: Option<i64>,
    /// Its length.
    pub len: usize,
    /// The copies delivered: none when lost, two when duplicated.
    pub copies: Vec<CopyPlan>,
}

impl RelayRecord {
    /// One CSV line: index,way,client,sequence,len,action,delays_us,corrupt_at.
    pub fn csv(&self) -> String {
        let way = match self.way {
            Way::ToServer => "to_server",
            Way::ToClient => "to_client",
        };
        let action = match self.copies.len() {
            0 => "drop",
            1 if self.copies[0].corrupt.is_some() => "corrupt",
            1 => "forward",
            _ => "duplicate",
        };
        let delays: Vec<String> = self
            .copies
            .iter()
            .map(|c| c.delay.as_micros().to_string())
            .collect();
        let corrupt: Vec<String> = self
            .copies
            .iter()
            .map(|c| c.corrupt.map_or(String::new(), |(at, _)| at.to_string()))
            .collect();
        format!(
            "{},{way},{},{},{},{action},{},{}",
            self.index,
            self.client,
            self.sequence.map_or(String::new(), |s| s.to_string()),
            self.len,
            delays.join(";"),
            corrupt.join(";")
        )
    }

    /// The CSV header for [`RelayRecord::csv`].
    pub const CSV_HEADER: &'static str =
        "index,way,client,sequence,len,action,delays_us,corrupt_at";
}

/// Where the relay listens and forwards, and what it does on the way.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RelayOptions {
    /// Where clients send.
    pub listen: SocketAddr,
    /// The server.
    pub forward: SocketAddr,
    /// Client-to-server impairments.
    pub to_server: Impairments,
    /// Server-to-client impairments.
    pub to_client: Impairments,
    /// Seed of every random decision.
    pub seed: u64,
}

impl RelayOptions {
    /// Forwards from `listen` to `forward` without impairment, seed 0.
    pub fn new(listen: SocketAddr, forward: SocketAddr) -> Self {
        Self {
            listen,
            forward,
            to_server: Impairments::default(),
            to_client: Impairments::default(),
            seed: 0,
        }
    }
}

/// A running relay.
#[derive(Debug)]
pub struct RelayHandle {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: JoinHandle<io::Result<Vec<RelayRecord>>>,
}

impl RelayHandle {
    /// The address clients send to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stops the relay (datagrams still held back are dropped unlogged as
    /// delivered) and returns its log.
    pub fn stop(self) -> io::Result<Vec<RelayRecord>> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        self.thread
            .join()
            .map_err(|_| io::Error::other("the relay thread panicked"))?
    }
}

const LISTEN: Token = Token(0);
const WAKE: Token = Token(usize::MAX - 1);

struct Upstream {
    socket: UdpSocket,
    client: SocketAddr,
}

/// A copy held back: (due, order, target socket (0 = listen, i + 1 =
/// upstream i), destination, bytes).
type Held = (Instant, u64, usize, SocketAddr, Vec<u8>);

struct Relay {
    listen: UdpSocket,
    forward: SocketAddr,
    upstream: Vec<Upstream>,
    by_client: HashMap<SocketAddr, usize>,
    to_server: Impairer,
    to_client: Impairer,
    held: BinaryHeap<Reverse<Held>>,
    order: u64,
    log: Vec<RelayRecord>,
}

/// Starts a relay on its own thread.
pub fn start_relay(options: &RelayOptions) -> io::Result<RelayHandle> {
    let listen = UdpSocket::bind(options.listen)?;
    let local = listen.local_addr()?;
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
    let stop = Arc::new(AtomicBool::new(false));
    let mut relay = Relay {
        listen,
        forward: options.forward,
        upstream: Vec::new(),
        by_client: HashMap::new(),
        to_server: Impairer::new(options.seed, options.to_server),
        to_client: Impairer::new(options.seed ^ 0xdead_beef_cafe, options.to_client),
        held: BinaryHeap::new(),
        order: 0,
        log: Vec::new(),
    };
    poll.registry()
        .register(&mut relay.listen, LISTEN, Interest::READABLE)?;
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("mediastream-relay".into())
        .spawn(move || relay.run(poll, &flag))?;
    Ok(RelayHandle {
        local,
        stop,
        waker,
        thread,
    })
}

impl Relay {
    fn run(mut self, mut poll: Poll, stop: &AtomicBool) -> io::Result<Vec<RelayRecord>> {
        let mut events = Events::with_capacity(256);
        let mut buf = vec![0u8; 65_536];
        while !stop.load(Ordering::SeqCst) {
            let timeout = self
                .held
                .peek()
                .map(|Reverse((at, ..))| at.saturating_duration_since(Instant::now()));
            if let Err(e) = poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            for event in events.iter() {
                match event.token() {
                    LISTEN => self.relay_clients(&poll, &mut buf)?,
                    WAKE => {}
                    Token(i) => self.relay_server(i - 1, &mut buf),
                }
            }
            self.deliver_due(Instant::now());
        }
        Ok(self.log)
    }

    fn upstream_for(&mut self, poll: &Poll, client: SocketAddr) -> io::Result<usize> {
        if let Some(&i) = self.by_client.get(&client) {
            return Ok(i);
        }
        let any = match self.forward {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        };
        let mut socket = UdpSocket::bind(any)?;
        socket.connect(self.forward)?;
        let i = self.upstream.len();
        poll.registry()
            .register(&mut socket, Token(i + 1), Interest::READABLE)?;
        self.upstream.push(Upstream { socket, client });
        self.by_client.insert(client, i);
        Ok(i)
    }

    fn relay_clients(&mut self, poll: &Poll, buf: &mut [u8]) -> io::Result<()> {
        loop {
            match self.listen.recv_from(buf) {
                Ok((len, client)) => {
                    let i = self.upstream_for(poll, client)?;
                    self.impair(Way::ToServer, client, i + 1, self.forward, &buf[..len]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn relay_server(&mut self, i: usize, buf: &mut [u8]) {
        loop {
            let Some(up) = self.upstream.get(i) else {
                return;
            };
            match up.socket.recv(buf) {
                Ok(len) => {
                    let client = up.client;
                    self.impair(Way::ToClient, client, 0, client, &buf[..len]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // The server is not there (yet): nothing to relay.
                Err(_) => return,
            }
        }
    }

    fn impair(
        &mut self,
        way: Way,
        client: SocketAddr,
        target: usize,
        to: SocketAddr,
        bytes: &[u8],
    ) {
        let copies = match way {
            Way::ToServer => self.to_server.decide(bytes),
            Way::ToClient => self.to_client.decide(bytes),
        };
        let now = Instant::now();
        for copy in &copies {
            self.order += 1;
            self.held.push(Reverse((
                now + copy.delay,
                self.order,
                target,
                to,
                copy.apply(bytes),
            )));
        }
        let sequence = match wire::parse(bytes) {
            Ok(Datagram::Data(repr, _)) => Some(repr.sequence_number),
            _ => None,
        };
        self.log.push(RelayRecord {
            index: self.log.len() as u64,
            way,
            client,
            sequence,
            len: bytes.len(),
            copies,
        });
    }

    fn deliver_due(&mut self, now: Instant) {
        while self.held.peek().is_some_and(|Reverse((at, ..))| *at <= now) {
            let Some(Reverse((_, _, target, to, bytes))) = self.held.pop() else {
                break;
            };
            let sent = match target {
                0 => self.listen.send_to(&bytes, to),
                i => self.upstream[i - 1].socket.send(&bytes),
            };
            if let Err(e) = sent {
                log::debug!("relay send to {to}: {e}");
            }
        }
    }
}
