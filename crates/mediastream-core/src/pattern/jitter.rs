/// RFC 3550 (section 6.4.1, appendix A.8) interarrival jitter.
///
/// For datagrams i-1 and i with send times S and arrival times R, the
/// difference in transit is D = (R_i - R_{i-1}) - (S_i - S_{i-1}), and
/// the estimate moves by a sixteenth of the gap: J += (|D| - J) / 16.
/// Times are nanoseconds; the sender's ticks are converted with its own
/// frequency, so any sender clock works.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InterarrivalJitter {
    previous_transit_ns: Option<i128>,
    jitter_ns: f64,
}

impl InterarrivalJitter {
    /// Feeds one datagram: sender timestamp in `sender_frequency` ticks per
    /// second, arrival in nanoseconds of the receiver's clock. A datagram
    /// with a frequency that is not positive is skipped.
    pub fn on_datagram(&mut self, sender_ticks: i64, sender_frequency: i64, arrival_ns: i64) {
        if sender_frequency <= 0 {
            return;
        }
        let sent_ns = crate::time::ticks_to_ns(sender_ticks, sender_frequency);
        let transit = i128::from(arrival_ns) - sent_ns;
        if let Some(previous) = self.previous_transit_ns {
            let d = transit - previous;
            // The same value either way; u64 to f64 is an instruction,
            // i128 to f64 a library call.
            let d = match u64::try_from(d.unsigned_abs()) {
                Ok(small) => small as f64,
                Err(_) => d.unsigned_abs() as f64,
            };
            self.jitter_ns += (d - self.jitter_ns) / 16.0;
        }
        self.previous_transit_ns = Some(transit);
    }

    /// The current estimate in seconds.
    pub fn secs(&self) -> f64 {
        self.jitter_ns / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc3550_by_hand() {
        // Sent every 20 ms (in 10 MHz ticks), arriving with transit 5, 7,
        // 4, 4 ms: D = 2, 3, 0 ms.
        // J1 = 2/16 = 0.125; J2 = 0.125 + (3 - 0.125)/16 = 0.3046875;
        // J3 = 0.3046875 + (0 - 0.3046875)/16 = 0.28564453125 (ms).
        let mut j = InterarrivalJitter::default();
        let ms = 1_000_000i64;
        for (i, transit) in [5, 7, 4, 4].into_iter().enumerate() {
            let sent_ms = 20 * i as i64;
            j.on_datagram(sent_ms * 10_000, 10_000_000, (sent_ms + transit) * ms);
        }
        assert!(
            (j.secs() * 1e3 - 0.285_644_531_25).abs() < 1e-12,
            "{}",
            j.secs()
        );
        j.on_datagram(1, 0, 1);
        assert!(
            (j.secs() * 1e3 - 0.285_644_531_25).abs() < 1e-12,
            "zero frequency skipped"
        );
    }
}
