use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use mediastream::impair::Impairer;
pub use mediastream::impair::Impairments;
use mediastream::wire::{self, Datagram};

/// A clean link: 2 ms one way (never zero, so nothing arrives at the
/// instant it is sent).
pub const CLEAN: Impairments = Impairments::delay_only(Duration::from_millis(2));

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
    impairer: Impairer,
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
            impairer: Impairer::new(seed, imp),
            log: Vec::new(),
            queue: BinaryHeap::new(),
            order: 0,
        }
    }

    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// Hands a datagram to the link at `now`: the same seeded decisions
    /// as the impairment relay's.
    pub fn send(&mut self, now: Instant, bytes: &[u8]) {
        let sequence = match wire::parse(bytes) {
            Ok(Datagram::Data(repr, _)) => Some(repr.sequence_number),
            Ok(Datagram::FrameData(repr, _)) => Some(repr.data.sequence_number),
            _ => None,
        };
        let mut copies = Vec::new();
        for plan in self.impairer.decide(bytes) {
            self.order += 1;
            let arrival = now + plan.delay;
            self.queue
                .push(Reverse((arrival, self.order, plan.apply(bytes))));
            copies.push(Copy {
                arrival,
                order: self.order,
                corrupted: plan.corrupt.is_some(),
            });
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
