//! (c) Drops, late frames and freezes as three rows of bars on the delay
//! panel's time axis, the longest freezes labelled where they are.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::data::{num, Freeze, Outcome, PlotData};
use super::parts::{chart, heading, mesh, row_bar, row_name, seconds, Chart, Room};
use super::style::{
    anchored, bold, font, text_width, BAND_BACK, DROPPED_BAR, DROPPED_MARKER, FREEZE, FREEZE_TEXT,
    KEYFRAME, LATE, MUTED,
};
use super::{err, Area, Fallible, Scale};

pub fn draw(area: &Area, data: &PlotData, s: &Scale) -> Fallible {
    let (caption, plot) = area.split_vertically(26);
    summary(&caption, data)?;
    let room = Room {
        top: 2,
        bottom: 0,
        x_labels: 40,
    };
    let mut chart = chart(&plot, s.t0..s.t1, 0.0..3.0, room)?;
    mesh(&mut chart.configure_mesh())
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("render tick, seconds from the stream's start")
        .x_label_formatter(&seconds)
        .draw()
        .map_err(err)?;
    let (px_x, _) = chart.plotting_area().get_pixel_range();
    let secs_per_px = (s.t1 - s.t0) / px_x.len().max(1) as f64;
    bars(&mut chart, data, s, secs_per_px * 2.0)?;
    freeze_labels(&mut chart, &data.freezes, s, secs_per_px)?;
    // Row names with their counts, left of the band.
    for (r, text, color) in [
        (
            2.5,
            format!("dropped {}", data.count_of(Outcome::Dropped)),
            DROPPED_MARKER,
        ),
        (1.5, format!("late {}", data.late()), LATE),
        (0.5, format!("freezes {}", data.freezes.len()), FREEZE_TEXT),
    ] {
        row_name(&plot, &chart, r, text, color)?;
    }
    Ok(())
}

/// The heading and the freezes in one line: how many, how long in all,
/// the longest.
fn summary(caption: &Area, data: &PlotData) -> Fallible {
    let freezes = &data.freezes;
    let frozen_ms = freezes.iter().map(|f| f.ms()).fold(0.0, |a, b| a + b);
    let longest = freezes.iter().max_by_key(|f| f.frames);
    let x = heading(caption, "Loss and freezes", 4)?;
    let keys = data.frames.iter().filter(|f| f.key).count();
    let mut text = format!(
        "{} freeze(s): runs of frames not shown on time (dropped or late), {} ms frozen in all",
        freezes.len(),
        num(frozen_ms)
    );
    if let Some(l) = longest {
        text.push_str(&format!(
            ", longest {} frame(s) = {} ms",
            l.frames,
            num(l.ms())
        ));
    }
    if keys > 0 {
        text.push_str(&format!("; {keys} keyframe(s) marked along the top"));
    }
    caption
        .draw(&Text::new(text, (x, 5), font(13.0, MUTED)))
        .map_err(err)
}

/// A row of frame bars: its place, its colour, and which outcomes it
/// shows.
type FrameRow = (f64, RGBColor, fn(Outcome) -> bool);

/// Rows, top to bottom: dropped (2..3), late (1..2), freezes (0..1); a
/// bar is at least `min_w` seconds wide, so a lone frame shows.
fn bars(chart: &mut Chart, data: &PlotData, s: &Scale, min_w: f64) -> Fallible {
    let width = data.frame_interval_s.max(min_w);
    let bar = |row: f64, color: RGBColor| {
        move |t: f64, t_end: f64| row_bar(row, t, t_end.max(t + min_w), color)
    };
    chart
        .draw_series((0..3).map(|r| row_bar(f64::from(r), s.t0, s.t1, BAND_BACK)))
        .map_err(err)?;
    let outcomes: [FrameRow; 2] = [
        (2.0, DROPPED_BAR, |o| o == Outcome::Dropped),
        (1.0, LATE, |o| matches!(o, Outcome::Late | Outcome::Other)),
    ];
    for (row, color, counts) in outcomes {
        let draw = bar(row, color);
        let frames = data.frames.iter().filter(|f| counts(f.outcome));
        chart
            .draw_series(frames.map(|f| draw(f.due_s, f.due_s + width)))
            .map_err(err)?;
    }
    let freeze_bar = bar(0.0, FREEZE);
    chart
        .draw_series(data.freezes.iter().map(|f| freeze_bar(f.start_s, f.end_s)))
        .map_err(err)?;
    // Keyframes (frame data streams): thin marks along the band's top.
    let keys = data.frames.iter().filter(|f| f.key);
    chart
        .draw_series(
            keys.map(|f| {
                Rectangle::new([(f.due_s, 2.9), (f.due_s + min_w, 3.0)], KEYFRAME.filled())
            }),
        )
        .map_err(err)?;
    Ok(())
}

/// The longest freezes (two frames or more, four at the most) labelled
/// beside their run, on a side where the label covers no other freeze;
/// on a white ground where it must.
fn freeze_labels(chart: &mut Chart, freezes: &[Freeze], s: &Scale, secs_per_px: f64) -> Fallible {
    let mut long: Vec<_> = freezes.iter().filter(|f| f.frames >= 2).collect();
    long.sort_by_key(|f| std::cmp::Reverse(f.frames));
    let free = |from: f64, to: f64| {
        from >= s.t0 && to <= s.t1 && !freezes.iter().any(|g| g.end_s > from && g.start_s < to)
    };
    for (i, f) in long.iter().take(4).enumerate() {
        let label = format!("{} frames, {} ms", f.frames, num(f.ms()));
        let w = text_width(&label, 12.0) + 8;
        let span = f64::from(w + 6) * secs_per_px;
        let left_side = if free(f.end_s, f.end_s + span) {
            false
        } else if free(f.start_s - span, f.start_s) {
            true
        } else if i == 0 && f.frames >= 3 {
            // The longest, and long enough to matter: on a white ground.
            f.end_s > (s.t0 + s.t1) / 2.0
        } else {
            continue;
        };
        let (at, pos, dx, ground) = if left_side {
            ((f.start_s, 0.5), HPos::Right, -6, (-w - 4, -2))
        } else {
            ((f.end_s, 0.5), HPos::Left, 6, (2, w + 4))
        };
        chart
            .draw_series(std::iter::once(
                EmptyElement::at(at)
                    + Rectangle::new([(ground.0, -8), (ground.1, 8)], WHITE.mix(0.85).filled())
                    + Text::new(
                        label,
                        (dx, 0),
                        anchored(bold(12.0, FREEZE_TEXT), pos, VPos::Center),
                    ),
            ))
            .map_err(err)?;
    }
    Ok(())
}
