use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use mediastream::wire::{self, Datagram, DATA_HEADER_LEN};

use super::rng::Rng;

/// What the link does to datagrams. Probabilities are per datagram.
#[derive(Debug, Clone, Copy)]
pub struct Impairments {
    pub loss: f64,
    pub duplicate: f64,
    /// Probability of holding a datagram back by up to `reorder_max` extra.
    pub reorder: f64,
    pub reorder_max: Duration,
    /// Fixed one-way delay (at least 1 µs so nothing arrives the instant
    /// it is sent).
    pub delay: Duration,
    /// Extra delay, uniform in [0, jitter).
    pub jitter: Duration,
    /// Probability of flipping one payload byte.
    pub corrupt: f64,
}

impl Impairments {
    pub const CLEAN: Self = Self {
        loss: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
        reorder_max: Duration::ZERO,
        delay: Duration::from_millis(2),
        jitter: Duration::ZERO,
        corrupt: 0.0,
    };
}

/// One copy of a datagram that the link delivers.
#[derive(Debug, Clone, Copy)]
pub struct Copy {
    pub arrival: Instant,
    /// Delivery order among copies arriving at the same instant.
    pub order: u64,
    pub corrupted: bool,
}

/// What happened to one datagram handed to the link.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// The data sequence number, or `None` for a non-data datagram.
    pub sequence: Option<i64>,
    pub len: usize,
    pub sent: Instant,
    /// Empty when lost; two entries when duplicated.
    pub copies: Vec<Copy>,
}

/// A one-way simulated link.
#[derive(Debug)]
pub struct Link {
    rng: Rng,
    imp: Impairments,
    log: Vec<LogEntry>,
    queue: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    order: u64,
}

impl Link {
    pub fn new(seed: u64, imp: Impairments) -> Self {
        assert!(
            !imp.delay.is_zero(),
            "a zero delay would deliver at the send instant"
        );
        Self {
            rng: Rng::new(seed),
            imp,
            log: Vec::new(),
            queue: BinaryHeap::new(),
            order: 0,
        }
    }

    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    fn random_duration(&mut self, max: Duration) -> Duration {
        Duration::from_nanos(self.rng.below(max.as_nanos() as u64))
    }

    fn schedule(&mut self, now: Instant, bytes: &[u8]) -> Copy {
        let mut arrival = now + self.imp.delay + self.random_duration(self.imp.jitter);
        if self.rng.chance(self.imp.reorder) {
            arrival += self.random_duration(self.imp.reorder_max);
        }
        let mut data = bytes.to_vec();
        let corrupted = data.len() > DATA_HEADER_LEN && self.rng.chance(self.imp.corrupt);
        if corrupted {
            let at =
                DATA_HEADER_LEN + self.rng.below((data.len() - DATA_HEADER_LEN) as u64) as usize;
            data[at] ^= 1 << self.rng.below(8);
        }
        self.order += 1;
        self.queue.push(Reverse((arrival, self.order, data)));
        Copy {
            arrival,
            order: self.order,
            corrupted,
        }
    }

    /// Hands a datagram to the link at `now`.
    pub fn send(&mut self, now: Instant, bytes: &[u8]) {
        let sequence = match wire::parse(bytes) {
            Ok(Datagram::Data(repr, _)) => Some(repr.sequence_number),
            _ => None,
        };
        let mut copies = Vec::new();
        if !self.rng.chance(self.imp.loss) {
            copies.push(self.schedule(now, bytes));
            if self.rng.chance(self.imp.duplicate) {
                copies.push(self.schedule(now, bytes));
            }
        }
        self.log.push(LogEntry {
            sequence,
            len: bytes.len(),
            sent: now,
            copies,
        });
    }

    /// When the next copy arrives.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The next copy that has arrived by `now`.
    pub fn poll_arrival(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.next_arrival()? > now {
            return None;
        }
        self.queue.pop().map(|Reverse((_, _, data))| data)
    }
}
