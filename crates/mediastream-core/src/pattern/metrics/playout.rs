//! The viewer's side: late frames and freezes.

/// Frames as a player would show them: a frame not ready at its render
/// tick freezes the picture until the next frame that is. Runs of such
/// frames are freezes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Playout {
    /// Frames that became complete after their render tick (counted
    /// dropped at the tick, as ctsTraffic does).
    pub late_frames: u64,
    /// Runs of consecutive frames not ready at their tick.
    pub freezes: u64,
    /// Frames inside freezes.
    pub frozen_frames: u64,
    /// The longest freeze, frames.
    pub longest_freeze_frames: u64,
    run: u64,
}

impl Playout {
    /// One frame at its tick: `ready` when it could be shown.
    pub fn on_tick(&mut self, ready: bool) {
        if ready {
            self.end_run();
        } else {
            self.run += 1;
        }
    }

    /// `n` ticks in a row with no frame ready.
    pub fn on_missing_ticks(&mut self, n: u64) {
        self.run += n;
    }

    fn end_run(&mut self) {
        if self.run > 0 {
            self.freezes += 1;
            self.frozen_frames += self.run;
            self.longest_freeze_frames = self.longest_freeze_frames.max(self.run);
            self.run = 0;
        }
    }

    /// Closes a freeze still running at the end of the stream.
    pub fn finish(&mut self) {
        self.end_run();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_freeze_pattern() {
        // ok ok X ok X X X ok X X  -> freezes of 1, 3 and 2 frames.
        let mut p = Playout::default();
        for ready in [
            true, true, false, true, false, false, false, true, false, false,
        ] {
            p.on_tick(ready);
        }
        assert_eq!(p.freezes, 2, "the trailing run is still open");
        p.finish();
        assert_eq!(
            (p.freezes, p.frozen_frames, p.longest_freeze_frames),
            (3, 6, 3)
        );
        p.finish();
        assert_eq!(p.freezes, 3, "finish is idempotent");
    }
}
