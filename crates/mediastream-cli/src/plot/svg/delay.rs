//! (a) Per-frame delay over time: completed frames as dots (thinned when
//! there are many), other frames larger, frames off the scale pinned to
//! the top with their delay, dropped frames in a lane below zero.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::data::{num, Frame, Outcome, PlotData};
use super::parts::{
    chart, delay_desc, heading, label_beside, marks, mesh, row_name, runs, seconds, Chart, Room,
    DOWN, UP,
};
use super::style::{
    anchored, font, text_width, DROPPED_LANE, DROPPED_MARKER, FIRST, LAST, LATE, REPEATED,
};
use super::{err, Area, Fallible, Scale};

/// Above this many shown frames the delay panel keeps, per pixel column,
/// only each series' lowest and highest frame.
const DECIMATE_ABOVE: usize = 4000;

pub fn draw(area: &Area, data: &PlotData, s: &Scale) -> Fallible {
    let (caption, plot) = area.split_vertically(28);
    let dropped = data.count_of(Outcome::Dropped);
    legend(&caption, data, dropped)?;
    let off: Vec<&Frame> = data.frames.iter().filter(|f| s.off_scale(f)).collect();
    // Below zero: a lane for the dropped markers; above delay_max: room
    // for frames off the scale.
    let lane = s.delay_max * 0.12;
    let y_top = s.delay_max * if off.is_empty() { 1.02 } else { 1.16 };
    let room = Room {
        top: 4,
        bottom: 0,
        x_labels: 26,
    };
    let mut chart = chart(&plot, s.t0..s.t1, -lane..y_top, room)?;
    axes(&mut chart, data, s)?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(s.t0, -lane), (s.t1, 0.0)],
            DROPPED_LANE.filled(),
        )))
        .map_err(err)?;
    completed(&mut chart, data, s)?;
    not_completed(&mut chart, data, s)?;
    let pin_y = s.delay_max * 1.09;
    off_scale(&mut chart, &off, pin_y)?;
    // Dropped frames: one marker each in the lane below zero.
    let drop_y = -lane / 2.0;
    let drops = data.frames.iter().filter(|f| f.outcome == Outcome::Dropped);
    marks(
        &mut chart,
        DOWN,
        drops.map(|f| ((f.due_s, drop_y), DROPPED_MARKER)),
    )?;
    // Direct labels left of the plot: the lane, and the pinned row.
    let text = format!("dropped {dropped}");
    row_name(&plot, &chart, drop_y, text, DROPPED_MARKER)?;
    if !off.is_empty() {
        row_name(&plot, &chart, pin_y, "off scale".into(), LATE)?;
    }
    Ok(())
}

/// The heading and what each colour and mark means, with counts.
fn legend(caption: &Area, data: &PlotData, dropped: usize) -> Fallible {
    let repeated = data.count_of(Outcome::Repeated);
    let late = data.late();
    let mut parts = vec![
        ("\u{25cf} last datagram".to_owned(), LAST),
        ("\u{25cf} first datagram".to_owned(), FIRST),
    ];
    if repeated > 0 {
        parts.push((format!("\u{25cf} repeated ({repeated})"), REPEATED));
    }
    if late > 0 {
        parts.push((format!("\u{25cf} late ({late})"), LATE));
    }
    parts.push((format!("\u{25bc} dropped ({dropped})"), DROPPED_MARKER));
    let title = if data.delay_is_relative() {
        "Frame delay (relative to the smallest)"
    } else {
        "Frame delay"
    };
    let x = heading(caption, title, 6)?;
    runs(caption, (x, 7), 13.0, &parts)
}

/// The mesh, with no tick labels in the lanes: they hold markers, not
/// delays.
fn axes(chart: &mut Chart, data: &PlotData, s: &Scale) -> Fallible {
    let y_label = |v: &f64| {
        if *v < 0.0 || *v > s.delay_max {
            String::new()
        } else {
            num(*v)
        }
    };
    mesh(&mut chart.configure_mesh())
        .y_desc(delay_desc(
            data.delay_is_relative(),
            data.delay_is_one_way(),
        ))
        .x_label_formatter(&seconds)
        .y_label_formatter(&y_label)
        .draw()
        .map_err(err)
}

/// Completed frames: their first and last datagram's delay as dots.
fn completed(chart: &mut Chart, data: &PlotData, s: &Scale) -> Fallible {
    let (px_x, _) = chart.plotting_area().get_pixel_range();
    let columns = px_x.len().max(1);
    let shown: Vec<&Frame> = data.frames.iter().filter(|f| f.outcome.shown()).collect();
    for (pick, color) in [
        ((|f| f.first_ms) as fn(&Frame) -> Option<f64>, FIRST),
        (|f| f.last_ms, LAST),
    ] {
        let points = thinned(&shown, s, columns, pick);
        chart
            .draw_series(points.into_iter().map(|p| dot(p, 2, color)))
            .map_err(err)?;
    }
    Ok(())
}

/// The completed frames' `pick` delays as points; above
/// [`DECIMATE_ABOVE`] shown frames, per pixel column only the lowest and
/// the highest.
fn thinned(
    shown: &[&Frame],
    s: &Scale,
    columns: usize,
    pick: fn(&Frame) -> Option<f64>,
) -> Vec<(f64, f64)> {
    let points = shown
        .iter()
        .filter(|f| f.outcome == Outcome::Completed)
        .filter_map(|f| Some((f.due_s, pick(f)?)));
    if shown.len() <= DECIMATE_ABOVE {
        return points.collect();
    }
    let col_of = |t: f64| (((t - s.t0) / (s.t1 - s.t0)) * columns as f64) as usize;
    let mut lo: Vec<Option<(f64, f64)>> = vec![None; columns + 1];
    let mut hi = lo.clone();
    for p in points {
        let c = col_of(p.0).min(columns);
        if lo[c].is_none_or(|q| p.1 < q.1) {
            lo[c] = Some(p);
        }
        if hi[c].is_none_or(|q| p.1 > q.1) {
            hi[c] = Some(p);
        }
    }
    lo.into_iter().chain(hi).flatten().collect()
}

fn dot((t, v): (f64, f64), r: u32, c: RGBColor) -> Circle<(f64, f64), u32> {
    Circle::new((t, v), r, c.filled())
}

/// Frames that are not plain completed (nor dropped): every one drawn,
/// its last datagram larger, in its outcome's colour.
fn not_completed(chart: &mut Chart, data: &PlotData, s: &Scale) -> Fallible {
    for f in data
        .frames
        .iter()
        .filter(|f| f.outcome != Outcome::Completed)
    {
        let color = match f.outcome {
            Outcome::Repeated => REPEATED,
            Outcome::Dropped => continue,
            _ => LATE,
        };
        if let Some(v) = f.first_ms.filter(|v| *v <= s.delay_max) {
            chart
                .draw_series(std::iter::once(dot((f.due_s, v), 2, FIRST)))
                .map_err(err)?;
        }
        if let Some(v) = f.last_ms.filter(|v| *v <= s.delay_max) {
            chart
                .draw_series(std::iter::once(dot((f.due_s, v), 4, color)))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// The colour of a frame pinned above the scale.
fn pinned_color(f: &Frame) -> RGBColor {
    match f.outcome {
        Outcome::Repeated => REPEATED,
        o if o.shown() => LAST,
        _ => LATE,
    }
}

/// Frames off the scale: pinned to the top at `pin_y`, each with its
/// delay written beside where the label covers no other marker and no
/// other label.
fn off_scale(chart: &mut Chart, off: &[&Frame], pin_y: f64) -> Fallible {
    let right_edge = chart.plotting_area().get_pixel_range().0.end;
    let xs: Vec<i32> = off
        .iter()
        .map(|f| chart.plotting_area().map_coordinate(&(f.due_s, pin_y)).0)
        .collect();
    let pins = off.iter().map(|f| ((f.due_s, pin_y), pinned_color(f)));
    marks(chart, UP, pins)?;
    let mut taken: Vec<(i32, i32)> = Vec::new();
    for (f, &x) in off.iter().zip(&xs) {
        let label = format!("{} ms \u{2191}", num(f.last_ms.unwrap_or_default()));
        let w = text_width(&label, 12.0);
        let (from, to, dx, pos) = if x + 8 + w > right_edge {
            (x - 8 - w, x - 7, -8, HPos::Right)
        } else {
            (x + 7, x + 8 + w, 8, HPos::Left)
        };
        let clear = !xs.iter().any(|&m| m + 5 > from && m - 5 < to)
            && !taken.iter().any(|&(a, b)| b + 6 > from && a - 6 < to);
        if clear {
            taken.push((from, to));
            let style = anchored(font(12.0, pinned_color(f)), pos, VPos::Center);
            label_beside(chart, (f.due_s, pin_y), dx, label, style)?;
        }
    }
    Ok(())
}
