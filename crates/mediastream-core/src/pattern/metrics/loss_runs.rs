//! RFC 3611 (section 4.7.2) burst and gap summary of a loss pattern.

/// RFC 3611's default Gmin: a burst ends after this many datagrams in a
/// row arrived.
pub const GMIN: u64 = 16;

/// Bursts and gaps of a sequence of arrived/lost datagrams, RFC 3611
/// style: a burst is the longest run that starts and ends with a loss and
/// holds no `GMIN` or more consecutive arrivals; a loss on its own (GMIN
/// arrivals on either side) is an isolated loss and belongs to a gap, as
/// in RFC 3611's reference algorithm. Gaps are the stretches between
/// bursts. Also the longest run of consecutive losses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossRuns {
    /// Datagrams seen (arrived or lost).
    pub datagrams: u64,
    /// Bursts found.
    pub bursts: u64,
    /// Datagrams inside bursts, and how many of those were lost.
    pub burst_datagrams: u64,
    /// Lost datagrams inside bursts.
    pub burst_losses: u64,
    /// Stretches between bursts (at the start, between, at the end).
    pub gaps: u64,
    /// Lost datagrams in gaps (isolated losses).
    pub gap_losses: u64,
    /// The longest run of consecutive losses.
    pub longest_loss_run: u64,
    run: u64,
    /// The open cluster of losses: (first index, last index, losses).
    cluster: Option<(u64, u64, u64)>,
    /// Index after the end of the last burst closed.
    after_last_burst: u64,
}

impl LossRuns {
    /// Adds `arrived` then `lost` datagrams, in that order.
    pub fn push(&mut self, arrived: u64, lost: u64) {
        if arrived > 0 {
            self.datagrams += arrived;
            self.run = 0;
        }
        self.on_losses(lost);
    }

    /// `n` losses in a row, in one step (a stream that never got data
    /// can be billions of datagrams): each after the first is 0 datagrams
    /// from the one before, so it joins the same cluster, exactly as `n`
    /// single losses would.
    fn on_losses(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        let index = self.datagrams;
        let last_lost = index + (n - 1);
        self.datagrams += n;
        self.run += n;
        self.longest_loss_run = self.longest_loss_run.max(self.run);
        self.cluster = match self.cluster {
            Some((first, last, losses)) if index - last - 1 < GMIN => {
                Some((first, last_lost, losses + n))
            }
            open => {
                if let Some(c) = open {
                    self.close(c);
                }
                Some((index, last_lost, n))
            }
        };
    }

    fn close(&mut self, (first, last, losses): (u64, u64, u64)) {
        if losses < 2 {
            self.gap_losses += losses;
            return;
        }
        if first > self.after_last_burst {
            self.gaps += 1;
        }
        self.bursts += 1;
        self.burst_datagrams += last - first + 1;
        self.burst_losses += losses;
        self.after_last_burst = last + 1;
    }

    /// Closes the open cluster and the trailing gap; call once at the end.
    pub fn finish(&mut self) {
        if let Some(c) = self.cluster.take() {
            self.close(c);
        }
        if self.datagrams > self.after_last_burst {
            self.gaps += 1;
            self.after_last_burst = self.datagrams;
        }
    }

    /// Datagrams in gaps.
    pub fn gap_datagrams(&self) -> u64 {
        self.datagrams - self.burst_datagrams
    }

    /// Fraction of datagrams lost inside bursts (0 without bursts).
    pub fn burst_density(&self) -> f64 {
        ratio(self.burst_losses, self.burst_datagrams)
    }

    /// Fraction of datagrams lost inside gaps.
    pub fn gap_density(&self) -> f64 {
        ratio(self.gap_losses, self.gap_datagrams())
    }

    /// Mean burst length, datagrams.
    pub fn burst_mean(&self) -> f64 {
        ratio(self.burst_datagrams, self.bursts)
    }

    /// Mean gap length, datagrams.
    pub fn gap_mean(&self) -> f64 {
        ratio(self.gap_datagrams(), self.gaps)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a pattern: '.' arrived, 'x' lost.
    fn runs(pattern: &str) -> LossRuns {
        let mut r = LossRuns::default();
        for c in pattern.chars() {
            match c {
                '.' => r.push(1, 0),
                _ => r.push(0, 1),
            }
        }
        r.finish();
        r
    }

    #[test]
    fn a_burst_between_two_gaps_with_an_isolated_loss() {
        // 20 arrived, isolated loss, 20 arrived, burst "xx.x..x" (7
        // datagrams, 4 lost), 20 arrived.
        let p = format!(
            "{}x{}xx.x..x{}",
            ".".repeat(20),
            ".".repeat(20),
            ".".repeat(20)
        );
        let r = runs(&p);
        assert_eq!(r.datagrams, 68);
        assert_eq!((r.bursts, r.burst_datagrams, r.burst_losses), (1, 7, 4));
        assert_eq!((r.gaps, r.gap_losses, r.gap_datagrams()), (2, 1, 61));
        assert_eq!(r.longest_loss_run, 2);
        assert!((r.burst_density() - 4.0 / 7.0).abs() < 1e-12);
        assert!((r.gap_density() - 1.0 / 61.0).abs() < 1e-12);
        assert_eq!(r.burst_mean(), 7.0);
        assert_eq!(r.gap_mean(), 30.5);
    }

    #[test]
    fn sixteen_arrivals_split_a_burst_fifteen_do_not() {
        let split = runs(&format!("xx{}xx", ".".repeat(16)));
        assert_eq!((split.bursts, split.burst_datagrams), (2, 4));
        assert_eq!(split.gaps, 1);
        let joined = runs(&format!("xx{}xx", ".".repeat(15)));
        assert_eq!((joined.bursts, joined.burst_datagrams), (1, 19));
        assert_eq!(joined.gaps, 0);
    }

    #[test]
    fn no_loss_is_one_gap_and_frames_push_counts() {
        let mut r = LossRuns::default();
        r.push(15, 0);
        r.push(12, 3);
        r.push(15, 0);
        r.finish();
        assert_eq!((r.datagrams, r.bursts, r.longest_loss_run), (45, 1, 3));
        assert_eq!(runs(&".".repeat(50)).gaps, 1);
        assert_eq!(runs("").gaps, 0);
    }
}
