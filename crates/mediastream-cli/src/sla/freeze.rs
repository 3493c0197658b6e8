//! The W3C webrtc-stats freeze (RTCInboundRtpStreamStats.freezeCount,
//! totalFreezesDuration): a freeze is an interval between two
//! consecutively rendered frames that "is equal or exceeds Max(3 *
//! avg_frame_duration_ms, avg_frame_duration_ms + 150)", the average over
//! the last 30 intervals. As libwebrtc (video_quality_observer2.cc) does,
//! nothing is judged before 5 intervals have been seen, and every
//! interval, a freeze included, then enters the average.

/// Intervals in the moving average.
pub const WINDOW: usize = 30;
/// Intervals seen before any can be a freeze (libwebrtc).
pub const MIN_SAMPLES: usize = 5;
/// The additive part of the threshold, ms.
pub const MIN_INCREASE_MS: f64 = 150.0;

/// Freezes and their total duration, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Freezes {
    pub count: u64,
    pub total_ms: f64,
}

/// The freezes of a stream whose frames rendered at `render_ms` (in
/// order).
pub fn freezes(render_ms: impl IntoIterator<Item = f64>) -> Freezes {
    let mut out = Freezes::default();
    let mut window: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
    let mut last: Option<f64> = None;
    for t in render_ms {
        if let Some(prev) = last {
            let interval = t - prev;
            if window.len() >= MIN_SAMPLES {
                let avg = window.iter().sum::<f64>() / window.len() as f64;
                if interval >= (3.0 * avg).max(avg + MIN_INCREASE_MS) {
                    out.count += 1;
                    out.total_ms += interval;
                }
            }
            window.push_back(interval);
            if window.len() > WINDOW {
                window.pop_front();
            }
        }
        last = Some(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames every `ms`, with the frames in `gaps` (from, to: excluded)
    /// not rendered.
    fn rendered(frames: u32, ms: f64, gaps: &[(u32, u32)]) -> Vec<f64> {
        (0..frames)
            .filter(|n| !gaps.iter().any(|&(from, to)| (from..to).contains(n)))
            .map(|n| f64::from(n) * ms)
            .collect()
    }

    #[test]
    fn at_40_fps_a_freeze_is_an_interval_of_175_ms_or_more() {
        // 25 ms frames: threshold max(75, 25 + 150) = 175 ms. 6 frames
        // missing: an interval of 7 frames = 175 ms, a freeze at equality.
        let f = freezes(rendered(120, 25.0, &[(50, 56)]));
        assert_eq!(f.count, 1);
        assert_eq!(f.total_ms, 175.0);
        // 5 missing: 150 ms, under the threshold.
        assert_eq!(freezes(rendered(120, 25.0, &[(50, 55)])).count, 0);
    }

    #[test]
    fn at_low_frame_rates_three_times_the_average_rules() {
        // 5 frames/s (200 ms): threshold max(600, 350) = 600 ms.
        assert_eq!(freezes(rendered(60, 200.0, &[(20, 22)])).count, 1);
        assert_eq!(freezes(rendered(60, 200.0, &[(20, 21)])).count, 0);
    }

    #[test]
    fn nothing_is_judged_before_five_intervals() {
        // A gap after 3 intervals is not a freeze; the same after 5 is.
        assert_eq!(freezes(rendered(100, 20.0, &[(4, 30)])).count, 0);
        assert_eq!(freezes(rendered(100, 20.0, &[(6, 30)])).count, 1);
    }

    #[test]
    fn a_freeze_enters_the_average() {
        // A 2020 ms gap raises the average of the last 30 intervals to
        // 86.7 ms, so a 220 ms gap just after it (a freeze on its own:
        // over 170 ms) is under the new threshold, 260 ms.
        assert_eq!(freezes(rendered(200, 20.0, &[(142, 152)])).count, 1);
        let f = freezes(rendered(200, 20.0, &[(40, 140), (142, 152)]));
        assert_eq!(f.count, 1);
        assert_eq!(freezes(std::iter::empty()).count, 0);
    }
}
