//! The crate's one pseudo-random generator, SplitMix64, and the few
//! random values the library makes (a seed, a stream token).
//!
//! SplitMix64 is tiny, seedable and fixed forever: the seeded
//! impairments ([`crate::impair`]) must mean the same thing by the same
//! seed in every release, so no dependency's algorithm may change under
//! them. It is not a cryptographic generator; nothing here that needs to
//! be hard to guess (cookies, keyed tags) uses it.
//!
//! ```
//! use mediastream_core::rand::SplitMix64;
//!
//! let mut a = SplitMix64::new(7);
//! let mut b = SplitMix64::new(7);
//! assert_eq!(a.next_u64(), b.next_u64()); // the same seed, the same bits
//! assert!(a.below(10) < 10);
//! ```

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// SplitMix64's increment (2^64 divided by the golden ratio).
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
/// Mixed into every seed, so that a seed means what it has always meant
/// to [`crate::impair`].
const SEED_SALT: u64 = 0x5851_f42d_4c95_7f2d;

/// SplitMix64 (Steele, Lea and Flood, 2014): 64 bits of state, one
/// addition and a finaliser per output.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator for `seed`; the same seed gives the same sequence in
    /// every release.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ SEED_SALT)
    }

    /// A generator seeded from [`random_seed`].
    pub fn from_entropy() -> Self {
        Self::new(random_seed())
    }

    /// SplitMix64's output for the counter value `z`: spreads any counter
    /// (0, 1, 2, ...) into random-looking bits, without keeping state.
    pub fn mix(z: u64) -> u64 {
        let mut z = z.wrapping_add(GOLDEN_GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let out = Self::mix(self.0);
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        out
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// Uniform in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// Uniform in [0, max).
    pub fn duration(&mut self, max: Duration) -> Duration {
        Duration::from_nanos(self.below(u64::try_from(max.as_nanos()).unwrap_or(u64::MAX)))
    }
}

/// 64 bits that differ between calls and between processes: the
/// standard library's per-process random hash keys (new ones for every
/// call), the wall clock and the process id, hashed. Hard to guess from
/// outside, but not a cryptographic random number.
pub fn random_seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_outputs() {
        // Reference values: SplitMix64 from state 0 (Vigna's splitmix64.c,
        // x = 0 before the first call).
        let mut g = SplitMix64(0);
        assert_eq!(g.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(g.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(g.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn mix_is_the_output_for_a_counter_value() {
        let mut g = SplitMix64(41);
        assert_eq!(g.next_u64(), SplitMix64::mix(41));
        assert_eq!(
            g.next_u64(),
            SplitMix64::mix(41u64.wrapping_add(GOLDEN_GAMMA))
        );
    }

    #[test]
    fn a_seed_keeps_its_meaning() {
        // What `impair::Rng::new(1)` produced before it moved here (the
        // seed is salted, then SplitMix64 runs): a seed's meaning is fixed.
        let mut g = SplitMix64::new(1);
        assert_eq!(g.next_u64(), 0xc1b4_bb72_8dd9_6dc3);
        assert_eq!(g.next_u64(), 0xfc94_d6cb_a1d4_622c);
        assert!((0..1000).all(|_| g.below(7) < 7));
        assert_eq!(g.below(0), 0);
        assert!(!g.chance(0.0));
    }

    #[test]
    fn random_seeds_differ_between_calls() {
        let seeds: std::collections::HashSet<u64> = (0..64).map(|_| random_seed()).collect();
        assert_eq!(seeds.len(), 64);
    }
}
