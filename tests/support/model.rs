//! An independent statement of PROTOCOL.md's receiver rules, applied to a
//! link's log: what a receiver must count, frame by frame.

use std::time::Instant;

use mediastream::pattern::FrameOutcome;
use mediastream::settings::StreamPlan;

use super::link::LogEntry;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub outcomes: Vec<FrameOutcome>,
    pub completed: u64,
    pub dropped: u64,
    pub repeated: u64,
    pub errors: u64,
    pub corrupt: u64,
    pub datagrams: u64,
}

/// Applies the receiver rules to every copy the link delivered.
///
/// The render clock's anchor is the first intact in-stream copy's arrival
/// minus its frame's offset; frame n renders at anchor + offset(B + n); a
/// copy is placed after every frame due at or before its arrival has
/// rendered; the stream ends at frame F's render time, and copies at or
/// after it are not counted.
pub fn expected(plan: &StreamPlan, log: &[LogEntry]) -> Expected {
    let frames = plan.stream_frames();
    let buffered = plan.buffered_frames();
    let ring = plan.ring_slots();
    let mut copies: Vec<(Instant, u64, i64, usize, bool)> = log
        .iter()
        .filter_map(|e| e.sequence.map(|s| (e, s)))
        .flat_map(|(e, s)| {
            e.copies
                .iter()
                .map(move |c| (c.arrival, c.order, s, e.len, c.corrupted))
        })
        .collect();
    copies.sort_by_key(|c| (c.0, c.1));
    let in_stream = |s: i64| s >= 1 && (s as u64) <= frames;
    let anchor = copies
        .iter()
        .find(|c| !c.4 && in_stream(c.2))
        .map(|c| c.0 - plan.frame_offset(c.2 as u64))
        .expect("the model needs at least one intact copy");
    let render = |n: u64| anchor + plan.frame_offset(buffered + n);
    let end = render(frames);
    let mut bytes = vec![0u64; frames as usize + 1];
    let mut out = Expected::default();
    for &(arrival, _, seq, len, corrupted) in &copies {
        assert_ne!(
            arrival, end,
            "a copy arrived exactly at the end: pick another seed"
        );
        if arrival > end {
            continue;
        }
        out.datagrams += 1;
        if corrupted {
            out.corrupt += 1;
            continue;
        }
        // Frames rendered by `arrival`: n with render(n) <= arrival.
        let head = 1 + (1..=frames).take_while(|&n| render(n) <= arrival).count() as u64;
        if !in_stream(seq) || (seq as u64) < head || (seq as u64) >= head + ring {
            out.errors += 1;
        } else {
            bytes[seq as usize] += len as u64;
        }
    }
    for &b in &bytes[1..] {
        let outcome = match b.cmp(&plan.frame_size()) {
            std::cmp::Ordering::Equal => FrameOutcome::Completed,
            std::cmp::Ordering::Less => FrameOutcome::Dropped,
            std::cmp::Ordering::Greater => FrameOutcome::Repeated,
        };
        match outcome {
            FrameOutcome::Completed => out.completed += 1,
            FrameOutcome::Dropped => out.dropped += 1,
            FrameOutcome::Repeated => out.repeated += 1,
        }
        out.outcomes.push(outcome);
    }
    out
}
