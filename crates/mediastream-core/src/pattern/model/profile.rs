//! Profiles: common media as a rate, a frame rate, a frame-size model and
//! a jitter buffer, each with where its numbers come from. They are
//! starting points that look like the real thing on the wire, not
//! measurements of any product. docs/profiles.md lists them.

use super::{FrameSizes, Gop, GopInterval, LogNormal};

/// One kind of media.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Profile {
    /// Its `--profile` name.
    pub name: &'static str,
    /// Stream rate, bits/s (frame bytes on the wire, headers included).
    pub bits_per_second: u64,
    /// Frames (packets, for audio) per second.
    pub frame_rate: u32,
    /// The receiver's jitter buffer, ms.
    pub buffer_depth_ms: u32,
    /// The frame-size model.
    pub frame_sizes: FrameSizes,
    /// One line on what it is.
    pub about: &'static str,
    /// Where the numbers come from.
    pub source: &'static str,
}

/// Every profile name, `call` (voice and a 720p30 video stream) last.
pub const PROFILE_NAMES: &[&str] = &["voice", "720p30", "1080p30", "4k60", "screen", "call"];

fn gop(interval_ms: u32, key_ratio: f64, variation: f64) -> FrameSizes {
    let mut g = Gop::every_frames(1, key_ratio);
    g.interval = GopInterval::Millis(interval_ms);
    g.variation = variation;
    g.seed = 1;
    FrameSizes::Gop(g)
}

#[allow(clippy::too_many_arguments)]
fn make(
    name: &'static str,
    bits_per_second: u64,
    frame_rate: u32,
    buffer_depth_ms: u32,
    frame_sizes: FrameSizes,
    about: &'static str,
    source: &'static str,
) -> Profile {
    Profile {
        name,
        bits_per_second,
        frame_rate,
        buffer_depth_ms,
        frame_sizes,
        about,
        source,
    }
}

/// The streams profile `name` runs: one, or two for `call`; `None` for
/// an unknown name.
pub fn profile(name: &str) -> Option<Vec<Profile>> {
    let one = match name {
        "voice" => make(
            "voice",
            40_000,
            50,
            100,
            FrameSizes::LogNormal(LogNormal::new(2_000, 1)),
            "Opus voice, one 20 ms packet every 20 ms, about 100 bytes each",
            "RFC 6716 (Opus; 20 ms frames), RFC 7587 (Opus over RTP; 6 to 510 kbit/s, \
             speech typically 16 to 32 kbit/s) plus RTP/UDP overhead",
        ),
        "720p30" => make(
            "720p30",
            1_200_000,
            30,
            150,
            gop(3_000, 5.0, 0.3),
            "a 720p video call at 30 frames/s: a keyframe every 3 s, 5x a delta",
            "Zoom's published bandwidth for 1:1 720p HD video (1.2 Mbit/s); keyframe interval \
             and ratio our choice for a low-delay encoder",
        ),
        "1080p30" => make(
            "1080p30",
            3_800_000,
            30,
            150,
            gop(3_000, 5.0, 0.3),
            "a 1080p video call at 30 frames/s: a keyframe every 3 s, 5x a delta",
            "Zoom's published bandwidth for 1:1 1080p HD video (3.8 Mbit/s up); keyframe \
             interval and ratio our choice",
        ),
        "4k60" => make(
            "4k60",
            35_000_000,
            60,
            2_000,
            gop(2_000, 8.0, 0.2),
            "4K streaming at 60 frames/s: a keyframe every 2 s, 8x a delta, 2 s buffer",
            "YouTube Live's encoder settings for 2160p60 (35 to 51 Mbit/s, keyframe every 2 s)",
        ),
        "screen" => make(
            "screen",
            1_000_000,
            15,
            300,
            gop(10_000, 40.0, 1.0),
            "screen sharing: small frames, a large one every 10 s, sizes varying widely",
            "our choice: screen content is mostly unchanged (small deltas) with rare full \
             refreshes (slide changes), as screen-content encoders send it",
        ),
        "call" => {
            let mut both = profile("voice")?;
            both.extend(profile("720p30")?);
            return Some(both);
        }
        _ => return None,
    };
    Some(vec![one])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::StreamSettings;

    #[test]
    fn every_profile_plans_and_resolves() {
        for name in PROFILE_NAMES {
            for p in profile(name).unwrap() {
                let mut s = StreamSettings::new(p.bits_per_second, p.frame_rate, 10);
                s.buffer_depth_ms = p.buffer_depth_ms;
                let plan = s.plan().unwrap();
                let model = p.frame_sizes.resolve(&plan).unwrap();
                assert!(model.frame(1).size >= 40, "{name}");
            }
        }
        assert_eq!(profile("call").unwrap().len(), 2);
        assert_eq!(profile("nope"), None);
        assert_eq!(
            profile("voice").unwrap()[0].bits_per_second / 8 / 50,
            100,
            "100-byte packets"
        );
    }
}
