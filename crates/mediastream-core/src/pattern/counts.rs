//! Bucket counts that cost a byte per bucket in the range actually seen.
//!
//! A histogram of a stream's delays touches a narrow band of buckets (a
//! path's spread) and counts most of them a few times; a handful (the
//! mode) count many. So each bucket from the lowest to the highest one
//! used holds a `u8`, and a bucket that passes 254 moves its count to a
//! short sorted list of wide counts. A receiving stream's four delay
//! histograms then take a few hundred bytes where HdrHistogram's dense
//! `u32` arrays took 20 KiB (examples/stream_memory.rs measures it).

/// A `u8` bucket at this value has its count in `wide`.
const SPILLED: u8 = u8::MAX;

/// Counts per bucket index (`u16`), allocated from the lowest index used
/// to the highest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Index of `narrow[0]`.
    low: u16,
    narrow: Vec<u8>,
    /// Buckets whose count passed 254, by index.
    wide: Vec<(u16, u64)>,
}

impl Counts {
    /// Adds one to bucket `index`.
    #[inline]
    pub(crate) fn add(&mut self, index: u16) {
        // The common case, once a stream's spread is known: a narrow
        // bucket already allocated, not about to spill.
        let offset = index.wrapping_sub(self.low);
        if let Some(n) = self.narrow.get_mut(usize::from(offset)) {
            if *n < SPILLED - 1 {
                *n += 1;
                return;
            }
        }
        self.add_many(index, 1);
    }

    /// Adds `count` to bucket `index`.
    pub(crate) fn add_many(&mut self, index: u16, count: u64) {
        let slot = self.slot(index);
        let narrow = self.narrow[slot];
        let total = if narrow == SPILLED {
            let at = self.wide_position(index);
            self.wide[at].1.saturating_add(count)
        } else {
            u64::from(narrow) + count
        };
        if total < u64::from(SPILLED) {
            self.narrow[slot] = total as u8;
            return;
        }
        let at = self.wide_position(index);
        if narrow == SPILLED {
            self.wide[at].1 = total;
        } else {
            self.narrow[slot] = SPILLED;
            self.wide.reserve_exact(1);
            self.wide.insert(at, (index, total));
        }
    }

    /// The position of `index` in `narrow`, growing it to hold `index`.
    fn slot(&mut self, index: u16) -> usize {
        if self.narrow.is_empty() {
            self.low = index;
            self.narrow.push(0);
        } else if index < self.low {
            let grow = usize::from(self.low - index);
            let mut grown = Vec::with_capacity(self.narrow.len() + grow);
            grown.resize(grow, 0);
            grown.extend_from_slice(&self.narrow);
            self.narrow = grown;
            self.low = index;
        } else if usize::from(index - self.low) >= self.narrow.len() {
            // Exactly: a new highest bucket is rare after the first
            // moments, and doubling would leave up to half unused.
            let len = usize::from(index - self.low) + 1;
            self.narrow.reserve_exact(len - self.narrow.len());
            self.narrow.resize(len, 0);
        }
        usize::from(index - self.low)
    }

    /// Where `index` is or would go in `wide`.
    fn wide_position(&self, index: u16) -> usize {
        self.wide.partition_point(|&(i, _)| i < index)
    }

    /// The non-empty buckets, lowest index first: (index, count).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        (self.low..)
            .zip(&self.narrow)
            .filter(|(_, &n)| n > 0)
            .map(|(index, &n)| {
                let count = if n == SPILLED {
                    self.wide[self.wide_position(index)].1
                } else {
                    u64::from(n)
                };
                (index, count)
            })
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
    fn counts_grow_both_ways_and_spill_past_254() {
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
        // One byte per bucket from 10 to 45, two wide counts.
        assert_eq!(c.narrow.len(), 36);
        assert_eq!(c.wide, vec![(12, 300), (40, 1000)]);
        assert!(c.heap_bytes() < 36 * 2 + 4 * 16, "{}", c.heap_bytes());
    }

    #[test]
    fn a_count_is_exact_across_the_spill() {
        for n in [253u64, 254, 255, 256, 100_000] {
            let mut c = Counts::default();
            for _ in 0..n {
                c.add(3775);
            }
            assert_eq!(c.iter().collect::<Vec<_>>(), vec![(3775, n)], "{n}");
        }
    }
}
