//! Percentiles of signed nanosecond values (delays, delay variation).

use super::super::counts::Counts;

/// The histograms count whole microseconds: a finer unit buys nothing a
/// delay report shows (milliseconds to 3 decimals).
const UNIT_NS: u64 = 1000;

/// Buckets per factor of two above [`EXACT`] units: a bucket then spans at
/// most 1/64 of its values, so its middle is within 0.78% of any of them
/// (the promise is 1%, docs/metrics.md).
const SUB_BITS: u32 = 6;
/// Below this many units every unit has its own bucket.
const EXACT: u64 = 1 << SUB_BITS;

/// The bucket of a distance of `units` (log-linear; at most 3,776
/// buckets for any u64).
fn bucket_of(units: u64) -> u16 {
    if units < EXACT {
        return units as u16;
    }
    let octave = 63 - units.leading_zeros(); // >= SUB_BITS
    let sub = (units >> (octave - SUB_BITS)) & (EXACT - 1);
    (EXACT + u64::from(octave - SUB_BITS) * EXACT + sub) as u16
}

/// The first and last unit that bucket `index` holds.
fn units_of(index: u16) -> (u64, u64) {
    let index = u64::from(index);
    if index < EXACT {
        return (index, index);
    }
    let shift = (index - EXACT) / EXACT; // octave - SUB_BITS
    let sub = index % EXACT;
    let first = (EXACT + sub) << shift;
    (first, first + ((1u64 << shift) - 1))
}

/// A histogram of signed nanosecond values around a reference.
///
/// One-way delays between two hosts are clock readings of different
/// clocks, so their raw values can be anything, negative included; what
/// matters is their spread. Values are kept as their distance above or
/// below a reference (the first value, or a fixed one such as 0 for
/// delay variation) in two log-linear bucket sets (whole microseconds,
/// exact below 64 µs, 64 buckets per factor of two above), so small
/// spreads keep their precision whatever the clocks' offset. Buckets cost
/// a byte each from the lowest to the highest one used (see
/// `pattern::counts`). Exact min, max and mean are kept alongside.
#[derive(Debug, Clone, Default)]
pub struct DelayHistogram {
    reference: Option<i64>,
    above: Counts,
    below: Counts,
    below_count: u64,
    count: u64,
    sum: i128,
    min: i64,
    max: i64,
}

impl PartialEq for DelayHistogram {
    fn eq(&self, other: &Self) -> bool {
        // The summary is what callers compare; the buckets follow from it
        // for the same inputs.
        (self.reference, self.count, self.sum, self.min, self.max)
            == (
                other.reference,
                other.count,
                other.sum,
                other.min,
                other.max,
            )
    }
}

impl DelayHistogram {
    /// An empty histogram whose reference is fixed (0 for values that are
    /// already differences, such as IPDV).
    pub fn around(reference: i64) -> Self {
        Self {
            reference: Some(reference),
            ..Self::default()
        }
    }

    /// Counts one value (nanoseconds).
    pub fn record(&mut self, value: i64) {
        let reference = *self.reference.get_or_insert(value);
        let distance = i128::from(value) - i128::from(reference);
        let magnitude = u64::try_from(distance.unsigned_abs()).unwrap_or(u64::MAX) / UNIT_NS;
        if distance >= 0 {
            self.above.add(bucket_of(magnitude));
        } else {
            self.below.add(bucket_of(magnitude));
            self.below_count += 1;
        }
        if self.count == 0 {
            (self.min, self.max) = (value, value);
        }
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.count += 1;
        self.sum += i128::from(value);
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The smallest value, exact.
    pub fn min(&self) -> Option<i64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest value, exact.
    pub fn max(&self) -> Option<i64> {
        (self.count > 0).then_some(self.max)
    }

    /// The mean, exact up to rounding.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The value at quantile `q` (0..=1), within 1% of the distance from
    /// the reference plus 1 µs; clamped to the exact min and max.
    pub fn quantile(&self, q: f64) -> Option<i64> {
        let reference = self.reference?;
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).clamp(1, self.count);
        let value = if rank <= self.below_count {
            // The rank-th smallest overall is the rank-th largest below,
            // which is the (below - rank + 1)-th smallest distance there.
            let ascending = self.below_count - rank + 1;
            i128::from(reference) - i128::from(middle_at(&self.below, ascending))
        } else {
            i128::from(reference) + i128::from(middle_at(&self.above, rank - self.below_count))
        };
        let value = i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX });
        Some(value.clamp(self.min, self.max))
    }
}

/// The middle (ns) of the bucket holding the `rank`-th smallest distance
/// (1-based) of one side.
fn middle_at(side: &Counts, rank: u64) -> u64 {
    let mut seen = 0u64;
    let mut last = 0u16;
    for (index, count) in side.iter() {
        last = index;
        seen += count;
        if seen >= rank {
            break;
        }
    }
    let (first, end) = units_of(last);
    // The middle of [first, end + 1) units, in ns.
    (first.saturating_add(end).saturating_add(1)).saturating_mul(UNIT_NS / 2)
}

/// The first and last distance in ns that a bucket stands for.
fn ns_of(index: u16) -> (u64, u64) {
    let (first, last) = units_of(index);
    (
        first.saturating_mul(UNIT_NS),
        last.saturating_add(1).saturating_mul(UNIT_NS) - 1,
    )
}

/// One bucket of a [`DelayHistogram`]: values from `low` to `high`
/// (inclusive, ns) were seen `count` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Smallest value the bucket holds.
    pub low: i64,
    /// Largest value the bucket holds.
    pub high: i64,
    /// Values counted in it.
    pub count: u64,
}

impl DelayHistogram {
    /// The non-empty buckets, smallest values first.
    pub fn buckets(&self) -> Vec<Bucket> {
        let Some(reference) = self.reference else {
            return Vec::new();
        };
        let at = |distance: u64, sign: i128| {
            let v = i128::from(reference) + sign * i128::from(distance);
            i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
        };
        let mut out: Vec<Bucket> = self
            .below
            .iter()
            .map(|(index, count)| {
                let (first, last) = ns_of(index);
                Bucket {
                    low: at(last, -1),
                    high: at(first, -1),
                    count,
                }
            })
            .collect();
        out.reverse();
        out.extend(self.above.iter().map(|(index, count)| {
            let (first, last) = ns_of(index);
            Bucket {
                low: at(first, 1),
                high: at(last, 1),
                count,
            }
        }));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(a: i64, b: i64) -> bool {
        (a - b).abs() <= b.abs() / 100 + UNIT_NS as i64
    }

    #[test]
    fn percentiles_of_a_known_sample_around_a_far_reference() {
        // Clocks 10^12 ns apart: values 1e12 + 1000 .. 1e12 + 100_000 in
        // 1 µs steps, first value in the middle.
        let base = 1_000_000_000_000i64;
        let mut h = DelayHistogram::default();
        h.record(base + 50_000);
        for us in 1..=100 {
            if us != 50 {
                h.record(base + us * 1000);
            }
        }
        assert_eq!(h.count(), 100);
        assert_eq!(
            (h.min(), h.max()),
            (Some(base + 1000), Some(base + 100_000))
        );
        assert_eq!(h.mean(), Some(base as f64 + 50_500.0));
        // Precision follows the distance from the reference, not from 0.
        for (q, want) in [
            (0.01, 1_000),
            (0.25, 25_000),
            (0.5, 50_000),
            (0.9, 90_000),
            (0.99, 99_000),
        ] {
            let got = h.quantile(q).unwrap() - base;
            assert!((got - want).abs() <= 1_000, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.quantile(1.0), Some(base + 100_000));
        assert_eq!(h.quantile(0.0), Some(base + 1000));
    }

    #[test]
    fn signed_values_around_zero() {
        let mut h = DelayHistogram::around(0);
        for v in [-3000, -1000, 0, 1000, 2000, 5000] {
            h.record(v);
        }
        assert!(near(h.quantile(0.5).unwrap(), 0), "{:?}", h.quantile(0.5));
        assert!(near(h.quantile(1.0 / 6.0).unwrap(), -3000));
        assert!(near(h.quantile(2.0 / 6.0).unwrap(), -1000));
        assert!(near(h.quantile(5.0 / 6.0).unwrap(), 2000));
        assert_eq!(h.quantile(1.0), Some(5000));
        assert_eq!(DelayHistogram::default().quantile(0.5), None);
        // Buckets: in order, each holding its values, counts add up.
        let b = h.buckets();
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 6);
        assert!(b.windows(2).all(|w| w[0].high < w[1].low), "{b:?}");
        for v in [-3000, -1000, 0, 1000, 2000, 5000] {
            assert!(
                b.iter().any(|b| (b.low..=b.high).contains(&v)),
                "{v} in {b:?}"
            );
        }
    }

    #[test]
    fn buckets_hold_their_units_and_span_at_most_a_64th() {
        let mut previous = None;
        let probes =
            (0..200_000u64).chain((17..64).flat_map(|b| [(1u64 << b) - 1, 1 << b, (1 << b) + 1]));
        for (i, units) in probes.chain([u64::MAX]).enumerate() {
            let b = bucket_of(units);
            let (first, last) = units_of(b);
            assert!(
                (first..=last).contains(&units),
                "{units} in bucket {b}: {first}..={last}"
            );
            assert!(
                first < EXACT || (last - first + 1) * 64 <= first,
                "{units}: {first}..={last} wider than 1/64"
            );
            if i < 200_000 {
                assert!(
                    previous.is_none_or(|p| b == p || b == p + 1),
                    "{units}: buckets are consecutive"
                );
                previous = Some(b);
            }
        }
        assert_eq!(bucket_of(u64::MAX), 3775);
    }

    proptest::proptest! {
        /// Any values, any clock offset: every quantile is within 1% (of
        /// its distance from the reference) of the exact rank value, and
        /// the buckets hold every value once.
        #[test]
        fn quantiles_match_the_sorted_values(
            base in -1_000_000_000_000_000i64..1_000_000_000_000_000,
            spread in proptest::collection::vec(-50_000_000i64..50_000_000, 1..400),
            q in 0.0f64..=1.0,
        ) {
            let values: Vec<i64> = spread.iter().map(|d| base + d).collect();
            let mut h = DelayHistogram::default();
            for &v in &values {
                h.record(v);
            }
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            let exact = sorted[rank - 1];
            let got = h.quantile(q).unwrap();
            let distance = (exact - values[0]).unsigned_abs();
            let slack = (distance / 100 + UNIT_NS) as i64;
            proptest::prop_assert!((got - exact).abs() <= slack, "q {} got {} exact {}", q, got, exact);
            proptest::prop_assert_eq!(h.buckets().iter().map(|b| b.count).sum::<u64>(), values.len() as u64);
            proptest::prop_assert_eq!((h.min(), h.max()), (sorted.first().copied(), sorted.last().copied()));
        }
    }
}
