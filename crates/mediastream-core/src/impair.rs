//! Seeded network impairments: what a lossy, jittery path does to each
//! datagram. Shared by the simulated link in the tests and by the
//! impairment relay ([`crate::tools::relay`]), so that both mean the same
//! thing by the same seed.

use std::time::Duration;

use crate::wire::{DATA_HEADER_LEN, FLAG_DATA};

/// The seeded generator behind every impairment decision: the crate's
/// one SplitMix64 ([`crate::rand::SplitMix64`]), whose sequence for a
/// seed never changes between releases.
pub type Rng = crate::rand::SplitMix64;

/// What the path does. Probabilities are per datagram.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Impairments {
    /// Drop it.
    pub loss: f64,
    /// Deliver it twice.
    pub duplicate: f64,
    /// Hold it back by up to `reorder_max` more.
    pub reorder: f64,
    /// The longest extra hold of a reordered datagram.
    pub reorder_max: Duration,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra delay, uniform in [0, jitter).
    pub jitter: Duration,
    /// Flip one payload bit of a data datagram (control datagrams are
    /// never corrupted: a garbled request tells nothing about the path).
    pub corrupt: f64,
}

impl Default for Impairments {
    /// A clean path: nothing lost, delayed or damaged.
    fn default() -> Self {
        Self::delay_only(Duration::ZERO)
    }
}

impl Impairments {
    /// A clean path with a delay.
    pub const fn delay_only(delay: Duration) -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_max: Duration::ZERO,
            delay,
            jitter: Duration::ZERO,
            corrupt: 0.0,
        }
    }
}

/// One copy of a datagram to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyPlan {
    /// Delay from now.
    pub delay: Duration,
    /// The payload byte to flip and the bit mask, when corrupted.
    pub corrupt: Option<(usize, u8)>,
}

impl CopyPlan {
    /// Applies the corruption, if any, to a copy of `bytes`.
    pub fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        let mut data = bytes.to_vec();
        if let Some((at, mask)) = self.corrupt {
            if let Some(b) = data.get_mut(at) {
                *b ^= mask;
            }
        }
        data
    }
}

/// Decides each datagram's fate from a seeded generator.
#[derive(Debug, Clone)]
pub struct Impairer {
    rng: Rng,
    imp: Impairments,
}

impl Impairer {
    /// An impairer for `imp` with `seed`.
    pub fn new(seed: u64, imp: Impairments) -> Self {
        Self {
            rng: Rng::new(seed),
            imp,
        }
    }

    fn plan(&mut self, bytes: &[u8]) -> CopyPlan {
        let mut delay = self.imp.delay + self.rng.duration(self.imp.jitter);
        if self.rng.chance(self.imp.reorder) {
            delay += self.rng.duration(self.imp.reorder_max);
        }
        let is_data = bytes.len() > DATA_HEADER_LEN && bytes[..2] == FLAG_DATA.to_le_bytes();
        let corrupt = (is_data && self.rng.chance(self.imp.corrupt)).then(|| {
            let at =
                DATA_HEADER_LEN + self.rng.below((bytes.len() - DATA_HEADER_LEN) as u64) as usize;
            (at, 1u8 << self.rng.below(8))
        });
        CopyPlan { delay, corrupt }
    }

    /// The copies to deliver: none (lost), one, or two (duplicated).
    pub fn decide(&mut self, bytes: &[u8]) -> Vec<CopyPlan> {
        let mut copies = Vec::new();
        if !self.rng.chance(self.imp.loss) {
            copies.push(self.plan(bytes));
            if self.rng.chance(self.imp.duplicate) {
                copies.push(self.plan(bytes));
            }
        }
        copies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_means_the_same_fates() {
        let imp = Impairments {
            loss: 0.1,
            duplicate: 0.1,
            corrupt: 0.2,
            jitter: Duration::from_millis(5),
            ..Impairments::delay_only(Duration::from_millis(1))
        };
        let mut data = vec![0u8; 100];
        data[2] = 1;
        let run = |seed| {
            let mut i = Impairer::new(seed, imp);
            (0..1000).map(|_| i.decide(&data)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let fates = run(7);
        let lost = fates.iter().filter(|c| c.is_empty()).count();
        let doubled = fates.iter().filter(|c| c.len() == 2).count();
        assert!((60..=140).contains(&lost), "{lost}");
        assert!((50..=130).contains(&doubled), "{doubled}");
        assert!(fates
            .iter()
            .flatten()
            .all(|c| c.delay >= Duration::from_millis(1) && c.delay < Duration::from_millis(6)));
        assert!(fates.iter().flatten().any(|c| c.corrupt.is_some()));
        // Control datagrams are never corrupted.
        let mut i = Impairer::new(
            1,
            Impairments {
                corrupt: 1.0,
                ..imp
            },
        );
        let request = [
            0x01u8, 0x20, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0,
        ];
        assert!((0..100)
            .flat_map(|_| i.decide(&request))
            .all(|c| c.corrupt.is_none()));
    }
}
