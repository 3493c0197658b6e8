//! The decoder's view in the JSON document (`streams[].metrics.decoder`)
//! and on the text line: frame data streams only. Definitions:
//! docs/metrics.md, "The decoder's view".

use serde::{Deserialize, Serialize};

use mediastream_core::pattern::metrics::{Decoder, KindCounts};

/// Frames of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KindJson {
    pub completed: u64,
    pub dropped: u64,
    pub late: u64,
}

impl From<KindCounts> for KindJson {
    fn from(k: KindCounts) -> Self {
        Self {
            completed: k.completed,
            dropped: k.dropped,
            late: k.late,
        }
    }
}

/// `metrics.decoder`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecoderJson {
    pub key: KindJson,
    pub delta: KindJson,
    pub independent: KindJson,
    pub unknown: KindJson,
    pub decodable: u64,
    pub undecodable: u64,
    pub spoiled: u64,
    pub freezes: u64,
    pub freeze_ms_total: f64,
    pub freeze_ms_longest: f64,
}

impl DecoderJson {
    /// The view of a receiver of frame data; `None` for plain data.
    pub fn of(d: &Decoder, frame_ms: f64) -> Option<Self> {
        if !d.active {
            return None;
        }
        let frames: u64 = [d.key, d.delta, d.independent, d.unknown]
            .iter()
            .map(|k| k.completed + k.dropped)
            .sum();
        Some(Self {
            key: d.key.into(),
            delta: d.delta.into(),
            independent: d.independent.into(),
            unknown: d.unknown.into(),
            decodable: d.decodable,
            undecodable: frames - d.decodable,
            spoiled: d.spoiled,
            freezes: d.freezes.freezes,
            freeze_ms_total: d.freezes.frozen_frames as f64 * frame_ms,
            freeze_ms_longest: d.freezes.longest_freeze_frames as f64 * frame_ms,
        })
    }

    /// The text line's addition.
    pub fn text(&self) -> String {
        let k = |k: &KindJson| format!("{}/{}/{}", k.completed, k.dropped, k.late);
        format!(
            "  Key [{}]  Delta [{}]  Decodable [{} of {}]  DecoderFreezes [{}, longest {:.0} ms]",
            k(&self.key),
            k(&self.delta),
            self.decodable,
            self.decodable + self.undecodable,
            self.freezes,
            self.freeze_ms_longest
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mediastream_core::pattern::model::FrameKind;

    #[test]
    fn a_lost_keyframe_in_json_and_text() {
        let mut d = Decoder::default();
        assert_eq!(
            DecoderJson::of(&d, 40.0),
            None,
            "plain data has no decoder view"
        );
        d.active = true;
        d.on_tick(1, Some(FrameKind::Key), 1, true);
        d.on_tick(2, Some(FrameKind::Delta), 1, true);
        d.on_tick(3, None, 0, false);
        d.on_tick(4, Some(FrameKind::Delta), 3, true);
        d.finish();
        let j = DecoderJson::of(&d, 40.0).unwrap();
        assert_eq!(
            (j.decodable, j.undecodable, j.spoiled, j.freezes),
            (2, 2, 1, 1)
        );
        assert_eq!(j.freeze_ms_longest, 80.0);
        assert_eq!(
            j.text(),
            "  Key [1/0/0]  Delta [2/0/0]  Decodable [2 of 4]  DecoderFreezes [1, longest 80 ms]"
        );
    }
}
