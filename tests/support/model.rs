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
    /// Datagram level (the receive metrics): distinct datagrams received
    /// (in time or late), duplicates beyond a frame's count, copies that
    /// came after a copy of a later frame, copies after their frame's tick.
    pub received_unique: u64,
    pub duplicates: u64,
    pub reordered: u64,
    pub late: u64,
    /// Frames short at their tick that later reached exactly the frame
    /// size (once each, even if a duplicate pushes them past it).
    pub late_frames: u64,
    /// Runs of frames not complete at their tick: (count, frames, longest).
    pub freezes: (u64, u64, u64),
    /// One-way delay (arrival - sent, ns) of every counted intact copy:
    /// (count, min, max).
    pub delays: (u64, i64, i64),
    /// Bytes each frame got before its tick (index 0 unused).
    pub in_time_bytes: Vec<u64>,
    /// Frames that became complete after their tick (index 0 unused).
    pub became_complete: Vec<bool>,
}

/// Applies the receiver rules to every copy the link delivered.
///
/// The render clock's anchor is the first intact in-stream copy's arrival
/// minus its frame's offset; frame n renders at anchor + offset(B + n); a
/// copy is placed after every frame due at or before its arrival has
/// rendered; the stream ends at frame F's render time, and copies at or
/// after it are not counted.
pub fn expected(plan: &StreamPlan, log: &[LogEntry]) -> Expected {
    let per_frame = plan.split().datagram_count();
    expected_sized(plan, log, &|_| plan.frame_size(), &|_, _| per_frame)
}

/// [`expected`] for frames of any size: frame n has `size(n)` bytes, and
/// `datagrams(n, copies)` datagrams (given the intact copies counted for
/// it, in time or late) count as its expected ones.
pub fn expected_sized(
    plan: &StreamPlan,
    log: &[LogEntry],
    size: &dyn Fn(u64) -> u64,
    datagrams: &dyn Fn(u64, u64) -> u64,
) -> Expected {
    let frames = plan.stream_frames();
    let buffered = plan.buffered_frames();
    let ring = plan.ring_slots();
    let mut copies: Vec<(Instant, u64, i64, usize, bool, Instant)> = log
        .iter()
        .filter_map(|e| e.sequence.map(|s| (e, s)))
        .flat_map(|(e, s)| {
            e.copies
                .iter()
                .map(move |c| (c.arrival, c.order, s, e.len, c.corrupted, e.sent))
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
    // Copies per frame (in time or late) and bytes that came late.
    let mut count = vec![0u64; frames as usize + 1];
    let mut late_bytes = vec![0u64; frames as usize + 1];
    let mut became_complete = vec![false; frames as usize + 1];
    let mut highest = 0i64;
    let mut out = Expected {
        delays: (0, i64::MAX, i64::MIN),
        ..Expected::default()
    };
    for &(arrival, _, seq, len, corrupted, sent) in &copies {
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
        if in_stream(seq) {
            if seq < highest {
                out.reordered += 1;
            }
            highest = highest.max(seq);
            let delay =
                i64::try_from((arrival - sent).as_nanos()).expect("a delay of under 292 years");
            out.delays.0 += 1;
            out.delays.1 = out.delays.1.min(delay);
            out.delays.2 = out.delays.2.max(delay);
            // Late copies still count within a ring's worth of frames.
            let s = seq as u64;
            if s < head && s + ring >= head {
                out.late += 1;
                count[s as usize] += 1;
                // Short at its tick (its in-time bytes are final by now),
                // exactly complete with this copy: a late frame, once.
                let (on_time, late) = (bytes[s as usize], &mut late_bytes[s as usize]);
                let was = on_time + *late;
                *late += len as u64;
                let frame_size = size(s);
                if on_time < frame_size
                    && was != frame_size
                    && on_time + *late == frame_size
                    && !became_complete[s as usize]
                {
                    became_complete[s as usize] = true;
                    out.late_frames += 1;
                }
            }
        }
        if !in_stream(seq) || (seq as u64) < head || (seq as u64) >= head + ring {
            out.errors += 1;
        } else {
            bytes[seq as usize] += len as u64;
            count[seq as usize] += 1;
        }
    }
    for (n, &c) in count.iter().enumerate().skip(1) {
        let per_frame = datagrams(n as u64, c);
        out.received_unique += c.min(per_frame);
        out.duplicates += c.saturating_sub(per_frame);
    }
    let mut run = 0u64;
    render_sized(size, &bytes, &mut out);
    out.in_time_bytes = bytes;
    out.became_complete = became_complete;
    for (n, outcome) in out.outcomes.iter().enumerate() {
        let dropped = *outcome == FrameOutcome::Dropped;
        if dropped {
            run += 1;
        }
        if run > 0 && (!dropped || n + 1 == out.outcomes.len()) {
            out.freezes.0 += 1;
            out.freezes.1 += run;
            out.freezes.2 = out.freezes.2.max(run);
            run = 0;
        }
    }
    out
}

/// The render rule on the bytes each frame got in time (`bytes[n]` for
/// frame n; index 0 unused): its outcome, in order, and the counts.
pub fn render_frames(plan: &StreamPlan, bytes: &[u64], out: &mut Expected) {
    render_sized(&|_| plan.frame_size(), bytes, out)
}

/// [`render_frames`] with frame n of `size(n)` bytes.
pub fn render_sized(size: &dyn Fn(u64) -> u64, bytes: &[u64], out: &mut Expected) {
    for (n, &b) in bytes.iter().enumerate().skip(1) {
        let outcome = match b.cmp(&size(n as u64)) {
            std::cmp::Ordering::Equal => FrameOutcome::Completed,
            std::cmp::Ordering::Less => FrameOutcome::Dropped,
            std::cmp::Ordering::Greater => FrameOutcome::Repeated,
        };
        match outcome {
            FrameOutcome::Completed => out.completed += 1,
            FrameOutcome::Dropped => out.dropped += 1,
            FrameOutcome::Repeated => out.repeated += 1,
            _ => unreachable!("the model renders only these three outcomes"),
        }
        out.outcomes.push(outcome);
    }
}
