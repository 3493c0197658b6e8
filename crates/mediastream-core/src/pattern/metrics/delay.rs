//! Percentiles of signed nanosecond values (delays, delay variation).

use hdrhistogram::Histogram;

/// Significant decimal digits kept: 2 bounds the error of a percentile
/// at 1% of its value.
const DIGITS: u8 = 2;

/// The histograms count whole microseconds: a finer unit buys nothing a
/// delay report shows (milliseconds to 3 decimals) and costs memory per
/// receiving stream (about 1 KiB per factor of two of range; in µs a
/// histogram up to 10 s is about 6 KiB, in ns twice that).
const UNIT_NS: u64 = 1000;

/// A histogram of signed nanosecond values around a reference.
///
/// One-way delays between two hosts are clock readings of different
/// clocks, so their raw values can be anything, negative included; what
/// matters is their spread. Values are kept as their distance above or
/// below a reference (the first value, or a fixed one such as 0 for
/// delay variation) in two [`hdrhistogram`]s, so small spreads keep their
/// precision whatever the clocks' offset. Exact min, max and mean are kept
/// alongside.
#[derive(Debug, Clone, Default)]
pub struct DelayHistogram {
    reference: Option<i64>,
    above: Option<Histogram<u32>>,
    below: Option<Histogram<u32>>,
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

fn histogram() -> Histogram<u32> {
    // Auto-resizing: starts small and grows to the largest value seen.
    Histogram::new(DIGITS).unwrap_or_else(|_| unreachable!("2 digits is a valid precision"))
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
        let side = if distance >= 0 {
            &mut self.above
        } else {
            &mut self.below
        };
        let h = side.get_or_insert_with(histogram);
        // `record` grows the histogram to fit; only a value beyond what
        // any histogram can hold falls back to clamping.
        if h.record(magnitude).is_err() {
            h.saturating_record(magnitude);
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
        let below_len = self.below.as_ref().map_or(0, Histogram::len);
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).clamp(1, self.count);
        let value = if rank <= below_len {
            // The rank-th smallest overall is the rank-th largest below.
            let below = self.below.as_ref()?;
            let ascending = below_len - rank + 1;
            let units = below.value_at_quantile(at_rank(ascending, below_len));
            i128::from(reference) - i128::from(middle_of(units))
        } else {
            let above = self.above.as_ref()?;
            let rank = rank - below_len;
            let units = above.value_at_quantile(at_rank(rank, above.len()));
            i128::from(reference) + i128::from(middle_of(units))
        };
        let value = i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX });
        Some(value.clamp(self.min, self.max))
    }
}

/// A distance in ns for a count of whole units: the middle of the unit.
fn middle_of(units: u64) -> u64 {
    units.saturating_mul(UNIT_NS).saturating_add(UNIT_NS / 2)
}

/// The quantile whose rank in `len` values is exactly `rank`: half a rank
/// low, so that rounding in `rank / len * len` cannot reach the next one.
fn at_rank(rank: u64, len: u64) -> f64 {
    (rank as f64 - 0.5) / len as f64
}

/// The first and last distance in ns that a count of units stands for.
fn first_ns(units: u64) -> u64 {
    units.saturating_mul(UNIT_NS)
}

fn last_ns(units: u64) -> u64 {
    units.saturating_add(1).saturating_mul(UNIT_NS) - 1
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
        let mut out = Vec::new();
        if let Some(below) = &self.below {
            let mut side: Vec<Bucket> = below
                .iter_recorded()
                .map(|v| {
                    let d = v.value_iterated_to();
                    Bucket {
                        low: at(last_ns(below.highest_equivalent(d)), -1),
                        high: at(first_ns(below.lowest_equivalent(d)), -1),
                        count: v.count_at_value().into(),
                    }
                })
                .collect();
            side.reverse();
            out.extend(side);
        }
        if let Some(above) = &self.above {
            out.extend(above.iter_recorded().map(|v| {
                let d = v.value_iterated_to();
                Bucket {
                    low: at(first_ns(above.lowest_equivalent(d)), 1),
                    high: at(last_ns(above.highest_equivalent(d)), 1),
                    count: v.count_at_value().into(),
                }
            }));
        }
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
