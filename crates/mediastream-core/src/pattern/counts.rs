//! Bucket counts that cost a byte per bucket in the range actually seen.
//!
//! A histogram of a stream's delays touches a narrow band of buckets (a
//! path's spread) and counts most of them a few times; a handful (the
//! mode) count many, and a few lie far out (a stall). So each bucket of
//! a window from the lowest to the highest index of the band holds its
//! count modulo 256 in a `u8`, and a short sorted list of wide counts
//! holds the rest: the multiples of 256 a bucket carried (one look-up
//! per 256 additions, so a hot bucket costs a byte increment) and the
//! whole count of a bucket far outside the window (an outlier costs 16
//! bytes there, not a byte for every bucket between it and the band). A
//! receiving stream's four delay histograms then take a few hundred
//! bytes where HdrHistogram's dense `u32` arrays took 20 KiB
//! (examples/stream_memory.rs measures it).

use std::ops::RangeInclusive;

/// The window grows to reach a new bucket when that adds at most this
/// many bytes, plus [`GROW_PER_OUTLIER`] per outlier it would absorb;
/// farther buckets are outliers. A window grown to absorb outliers never
/// costs more than the outliers' entries did.
const GROW_FREE: usize = 32;
/// Bytes of window growth one absorbed outlier pays for (its entry in
/// `wide` is 16 bytes).
const GROW_PER_OUTLIER: usize = 16;

/// Counts per bucket index (`u16`): a window of counts modulo 256, and
/// the wide counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Index of `narrow[0]`.
    low: u16,
    /// Each window bucket's count modulo 256.
    narrow: Vec<u8>,
    /// By index: for a bucket in the window, the multiples of 256 it
    /// carried (its count is this plus its narrow byte); for a bucket
    /// outside, its whole count.
    wide: Vec<(u16, u64)>,
}

impl Counts {
    /// Adds one to bucket `index`.
    #[inline]
    pub(crate) fn add(&mut self, index: u16) {
        // The common case, once a stream's spread is known: a byte of the
        // window, which carries into `wide` once in 256 times.
        let offset = index.wrapping_sub(self.low);
        if let Some(n) = self.narrow.get_mut(usize::from(offset)) {
            *n = n.wrapping_add(1);
            if *n == 0 {
                self.add_wide(index, 256);
            }
            return;
        }
        self.add_many(index, 1);
    }

    /// Adds `count` to bucket `index`.
    pub(crate) fn add_many(&mut self, index: u16, count: u64) {
        if count == 0 {
            return;
        }
        match self.slot(index) {
            Some(slot) => {
                let total = u64::from(self.narrow[slot]).saturating_add(count);
                self.narrow[slot] = (total & 0xff) as u8;
                self.add_wide(index, total & !0xff);
            }
            // An outlier: its own wide count.
            None => self.add_wide(index, count),
        }
    }

    /// Adds `count` to `index`'s wide count (creating it).
    fn add_wide(&mut self, index: u16, count: u64) {
        if count == 0 {
            return;
        }
        let at = self.wide_position(index);
        match self.wide.get_mut(at) {
            Some((i, n)) if *i == index => *n = n.saturating_add(count),
            _ => {
                self.wide.reserve_exact(1);
                self.wide.insert(at, (index, count));
            }
        }
    }

    /// The wide count of `index` (0 when it has none).
    fn wide_of(&self, index: u16) -> u64 {
        match self.wide.get(self.wide_position(index)) {
            Some(&(i, n)) if i == index => n,
            _ => 0,
        }
    }

    /// Where `index` is or would go in `wide`.
    fn wide_position(&self, index: u16) -> usize {
        self.wide.partition_point(|&(i, _)| i < index)
    }

    /// The indices the window covers (it must not be empty).
    fn window(&self) -> RangeInclusive<u16> {
        self.low..=self.low + (self.narrow.len() - 1) as u16
    }

    /// The position of `index` in `narrow`, growing the window to hold it
    /// when that is cheap enough; `None` for an outlier.
    fn slot(&mut self, index: u16) -> Option<usize> {
        // The window is never empty once something was counted, so
        // `wide` is empty here too.
        if self.narrow.is_empty() {
            self.low = index;
            self.narrow.push(0);
            return Some(0);
        }
        let old = self.window();
        let (low, high) = ((*old.start()).min(index), (*old.end()).max(index));
        let grow = usize::from(high - low) + 1 - self.narrow.len();
        if grow > 0 {
            let outliers = (self.wide.iter())
                .filter(|(i, _)| (low..=high).contains(i) && !old.contains(i))
                .count();
            if grow > GROW_FREE + GROW_PER_OUTLIER * outliers {
                return None;
            }
            self.grow_to(low, high);
        }
        Some(usize::from(index - self.low))
    }

    /// Grows the window to `low..=high` (which holds it) exactly, taking
    /// in the outliers it now covers: their counts modulo 256 move to the
    /// window, the rest stays wide.
    fn grow_to(&mut self, low: u16, high: u16) {
        let old = self.window();
        let len = usize::from(high - low) + 1;
        let mut grown = Vec::with_capacity(len);
        grown.resize(usize::from(self.low - low), 0);
        grown.extend_from_slice(&self.narrow);
        grown.resize(len, 0);
        self.narrow = grown;
        self.low = low;
        for (index, count) in &mut self.wide {
            if (low..=high).contains(index) && !old.contains(index) {
                self.narrow[usize::from(*index - low)] = (*count & 0xff) as u8;
                *count &= !0xff;
            }
        }
        self.wide.retain(|&(_, count)| count > 0);
        self.wide.shrink_to_fit();
    }

    /// The non-empty buckets, lowest index first: (index, count).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        let high = self.low as usize + self.narrow.len();
        let below = self.wide.iter().filter(move |(i, _)| *i < self.low);
        let above = self
            .wide
            .iter()
            .filter(move |(i, _)| usize::from(*i) >= high);
        let window = (self.low..)
            .zip(&self.narrow)
            .map(|(index, &n)| (index, u64::from(n) + self.wide_of(index)))
            .filter(|&(_, count)| count > 0);
        below.copied().chain(window).chain(above.copied())
    }

    /// Heap bytes held.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.narrow.capacity() + self.wide.capacity() * size_of::<(u16, u64)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_grow_both_ways_and_carry_past_255() {
        let mut c = Counts::default();
        for _ in 0..1000 {
            c.add(40);
        }
        c.add(45);
        c.add(10); // below the first index used: the window grows down
        for _ in 0..300 {
            c.add(12);
        }
        assert_eq!(
            c.iter().collect::<Vec<_>>(),
            vec![(10, 1), (12, 300), (40, 1000), (45, 1)]
        );
        // One byte per bucket from 10 to 45 (the count mod 256), and the
        // rest of two counts as wide ones.
        assert_eq!(c.narrow.len(), 36);
        assert_eq!(c.wide, vec![(12, 256), (40, 768)]);
        assert!(c.heap_bytes() < 36 * 2 + 4 * 16, "{}", c.heap_bytes());
    }

    #[test]
    fn a_far_bucket_is_an_outlier_until_the_window_is_worth_growing() {
        let mut c = Counts::default();
        for i in 100..120 {
            c.add(i);
        }
        c.add(3000); // 2880 buckets away: one 16-byte entry, not 2880 bytes
        assert_eq!(c.narrow.len(), 20);
        assert_eq!(c.wide, vec![(3000, 1)]);
        c.add(130); // 11 beyond the window: it grows
        assert_eq!(c.narrow.len(), 31);
        c.add(60); // 40 below with no outlier to absorb there: an outlier
        assert_eq!(c.wide, vec![(60, 1), (3000, 1)]);
        for i in (70..100).step_by(3) {
            c.add(i); // outliers each, until growing pays for them
        }
        assert!(c.wide.len() < 8, "{:?}", c.wide);
        let all: Vec<_> = c.iter().collect();
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "{all:?}");
        assert_eq!(all.iter().map(|b| b.1).sum::<u64>(), 20 + 1 + 1 + 1 + 10);
        assert_eq!(all.first(), Some(&(60, 1)));
        assert_eq!(all.last(), Some(&(3000, 1)));
    }

    proptest::proptest! {
        /// Any sequence of additions: the same buckets and counts as a
        /// plain map, in index order, and a window no wider than the
        /// indices seen.
        #[test]
        fn counts_equal_a_map(
            adds in proptest::collection::vec((0u16..3776, 1u64..600), 1..300),
        ) {
            let mut c = Counts::default();
            let mut model = std::collections::BTreeMap::new();
            for &(index, count) in &adds {
                if count == 1 {
                    c.add(index);
                } else {
                    c.add_many(index, count);
                }
                *model.entry(index).or_insert(0u64) += count;
            }
            let span = usize::from(model.keys().last().unwrap() - model.keys().next().unwrap()) + 1;
            proptest::prop_assert!(c.narrow.len() <= span);
            let got: Vec<_> = c.iter().collect();
            let want: Vec<_> = model.into_iter().collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn a_count_is_exact_across_the_carry() {
        for n in [254u64, 255, 256, 257, 511, 512, 100_000] {
            let mut c = Counts::default();
            for _ in 0..n {
                c.add(3775);
            }
            assert_eq!(c.iter().collect::<Vec<_>>(), vec![(3775, n)], "{n}");
        }
    }
}
