use std::time::Duration;

use super::counts::Counts;

/// Sub-buckets per power of two: 8 gives at most 12.5% relative error.
const SUB: usize = 8;
/// Octaves above 1 µs: 2^31 µs is about 36 minutes.
const OCTAVES: usize = 31;
const BUCKETS: usize = SUB * (OCTAVES + 1);

/// A log-linear histogram of durations from 1 µs to about half an hour
/// (anything below 1 µs counts in the first bucket, anything above in
/// the last), for percentiles with bounded error. It holds a byte per
/// bucket from the lowest to the highest one used (`pattern::counts`):
/// a sender's lateness touches a few buckets, so a sending stream pays
/// tens of bytes, not the 1 KiB a dense array of every bucket took.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DurationHistogram {
    counts: Counts,
    total: u64,
}

impl std::fmt::Debug for DurationHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurationHistogram")
            .field("count", &self.total)
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .finish()
    }
}

fn bucket_of(micros: u64) -> usize {
    if micros < SUB as u64 {
        return micros as usize;
    }
    let octave = 63 - micros.leading_zeros() as usize; // >= 3
    let sub = ((micros >> (octave - 3)) & (SUB as u64 - 1)) as usize;
    ((octave - 2) * SUB + sub).min(BUCKETS - 1)
}

/// The largest value (µs) that falls into `bucket`.
fn upper_of(bucket: usize) -> u64 {
    if bucket < SUB {
        return bucket as u64;
    }
    let octave = bucket / SUB + 2;
    let sub = (bucket % SUB) as u64;
    ((SUB as u64 + sub + 1) << (octave - 3)) - 1
}

impl DurationHistogram {
    /// Counts one value.
    pub fn record(&mut self, value: Duration) {
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.counts.add(bucket_of(micros) as u16);
        self.total += 1;
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0..=1): an upper bound, at most 12.5%
    /// (or 1 µs) above the true value. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (bucket, count) in self.counts.iter() {
            seen += count;
            if seen >= rank {
                return Some(Duration::from_micros(upper_of(usize::from(bucket))));
            }
        }
        Some(Duration::from_micros(upper_of(BUCKETS - 1)))
    }

    /// The non-empty buckets, smallest values first: each bucket's
    /// largest value (every value counted in it is at most that, and
    /// more than 7/8 of it, or within 1 µs) and its count. For exporting
    /// the distribution itself, e.g. as a Prometheus histogram.
    pub fn buckets(&self) -> impl Iterator<Item = (Duration, u64)> + '_ {
        (self.counts.iter())
            .map(|(bucket, count)| (Duration::from_micros(upper_of(usize::from(bucket))), count))
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Self) {
        for (bucket, count) in other.counts.iter() {
            self.counts.add_many(bucket, count);
        }
        self.total += other.total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for micros in (0..100_000u64).chain([1 << 20, 1 << 30, u64::MAX]) {
            let b = bucket_of(micros);
            assert!(b >= last || micros > 100_000, "monotonic at {micros}");
            last = b;
            assert!(
                micros <= upper_of(b) || b == BUCKETS - 1,
                "{micros} above its bucket"
            );
            if micros >= 8 && b < BUCKETS - 1 {
                assert!(
                    upper_of(b) as f64 <= micros as f64 * 1.125 + 1.0,
                    "{micros}: {}",
                    upper_of(b)
                );
            }
        }
    }

    #[test]
    fn quantiles_of_a_known_sample() {
        let mut h = DurationHistogram::default();
        assert_eq!(h.quantile(0.5), None);
        // 1..=100 µs: p50 = 50, p99 = 99, max = 100 (within 12.5%).
        for us in 1..=100 {
            h.record(Duration::from_micros(us));
        }
        let p = |q| h.quantile(q).unwrap().as_micros() as f64;
        assert!((50.0..=56.25).contains(&p(0.5)), "{}", p(0.5));
        assert!((99.0..=111.4).contains(&p(0.99)), "{}", p(0.99));
        assert!((100.0..=112.5).contains(&p(1.0)), "{}", p(1.0));
        assert_eq!(h.quantile(0.0).unwrap(), Duration::from_micros(1));
        let buckets: Vec<_> = h.buckets().collect();
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 100);
        assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(buckets[0], (Duration::from_micros(1), 1));
        assert_eq!(buckets.last().unwrap().0.as_micros(), 103, "96..=103 µs");
        let mut twice = h.clone();
        twice.merge(&h);
        assert_eq!(twice.count(), 200);
        assert_eq!(twice.quantile(0.5), h.quantile(0.5));
    }
}
