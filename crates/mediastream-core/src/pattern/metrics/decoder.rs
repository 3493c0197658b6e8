//! The decoder's view of a stream of frame data (a frame-size model):
//! frames per kind, which frames a decoder could show, and the freezes a
//! viewer would see from that. Definitions: docs/metrics.md.

use super::Playout;
use crate::pattern::model::FrameKind;

/// Frames of one kind by what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KindCounts {
    /// Complete (or repeated) at their render tick.
    pub completed: u64,
    /// Short at their tick.
    pub dropped: u64,
    /// Of those dropped, complete later.
    pub late: u64,
}

/// Frame counts per kind, decodable frames and the decoder's freezes.
///
/// The dependency rule: a keyframe or an independent frame is decodable
/// when it is complete at its tick; a delta is decodable when it is
/// complete at its tick and so was its keyframe (the frame its header
/// names). So a keyframe lost or late spoils every delta that depends on
/// it, until the next keyframe; a lost delta spoils only itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decoder {
    /// Frame data arrived (the stream has a model): the view means something.
    pub active: bool,
    /// Keyframes.
    pub key: KindCounts,
    /// Delta frames.
    pub delta: KindCounts,
    /// Independent frames.
    pub independent: KindCounts,
    /// Frames of which nothing arrived before their tick (kind unknown).
    pub unknown: KindCounts,
    /// Frames a decoder could show at their tick.
    pub decodable: u64,
    /// Deltas complete in time whose keyframe was not decodable.
    pub spoiled: u64,
    /// Runs of frames not decodable: what a viewer sees frozen.
    pub freezes: Playout,
    good_key: Option<u64>,
}

impl Decoder {
    /// The counts for `kind` (`None`: unknown).
    pub fn counts_mut(&mut self, kind: Option<FrameKind>) -> &mut KindCounts {
        match kind {
            Some(FrameKind::Key) => &mut self.key,
            Some(FrameKind::Delta) => &mut self.delta,
            Some(FrameKind::Independent) => &mut self.independent,
            None => &mut self.unknown,
        }
    }

    /// Frame `sequence` at its tick: its kind (when any datagram came),
    /// its keyframe's sequence number and whether it was complete.
    /// Returns whether it is decodable.
    pub fn on_tick(
        &mut self,
        sequence: u64,
        kind: Option<FrameKind>,
        key: u64,
        complete: bool,
    ) -> bool {
        let counts = self.counts_mut(kind);
        if complete {
            counts.completed += 1;
        } else {
            counts.dropped += 1;
        }
        let decodable = match kind {
            Some(FrameKind::Key) => {
                self.good_key = complete.then_some(sequence);
                complete
            }
            Some(FrameKind::Delta) => {
                let ok = complete && self.good_key == Some(key);
                self.spoiled += u64::from(complete && !ok);
                ok
            }
            Some(FrameKind::Independent) => complete,
            None => false,
        };
        self.decodable += u64::from(decodable);
        self.freezes.on_tick(decodable);
        decodable
    }

    /// A frame of `kind` dropped at its tick became complete later.
    pub fn on_late(&mut self, kind: Option<FrameKind>) {
        self.counts_mut(kind).late += 1;
    }

    /// `n` frames rendered with nothing received (a stream without data).
    pub fn on_missing(&mut self, n: u64) {
        self.unknown.dropped += n;
        self.freezes.on_missing_ticks(n);
    }

    /// Closes a freeze still open at the end.
    pub fn finish(&mut self) {
        self.freezes.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FrameKind::{Delta, Key};

    #[test]
    fn a_lost_keyframe_spoils_its_deltas_until_the_next() {
        let mut d = Decoder::default();
        // K1 D2 D3 | K4 (lost) D5 D6 | K7 D8 (lost) D9
        let frames = [
            (1, Some(Key), 1, true),
            (2, Some(Delta), 1, true),
            (3, Some(Delta), 1, true),
            (4, None, 0, false),
            (5, Some(Delta), 4, true),
            (6, Some(Delta), 4, true),
            (7, Some(Key), 7, true),
            (8, Some(Delta), 7, false),
            (9, Some(Delta), 7, true),
        ];
        let got: Vec<bool> = frames
            .iter()
            .map(|&(n, k, key, c)| d.on_tick(n, k, key, c))
            .collect();
        assert_eq!(
            got,
            [true, true, true, false, false, false, true, false, true]
        );
        d.finish();
        assert_eq!((d.decodable, d.spoiled), (5, 2));
        assert_eq!(
            (
                d.freezes.freezes,
                d.freezes.frozen_frames,
                d.freezes.longest_freeze_frames
            ),
            (2, 4, 3)
        );
        assert_eq!(
            (
                d.key.completed,
                d.delta.completed,
                d.delta.dropped,
                d.unknown.dropped
            ),
            (2, 5, 1, 1)
        );
    }

    #[test]
    fn a_keyframe_dropped_after_a_good_one_spoils_too() {
        let mut d = Decoder::default();
        assert!(d.on_tick(1, Some(Key), 1, true));
        assert!(!d.on_tick(2, Some(Key), 2, false));
        // Depends on frame 2, not on the good frame 1.
        assert!(!d.on_tick(3, Some(Delta), 2, true));
        assert_eq!(d.spoiled, 1);
    }
}
