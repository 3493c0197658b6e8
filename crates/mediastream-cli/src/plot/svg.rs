//! [`PlotData`] -> one SVG (plotters' SVG backend: text stays `<text>`,
//! no font is read). Layout, top to bottom: title and headline numbers;
//! (a) per-frame delay over time; (c) a band of drops, late frames and
//! freezes on the same time axis; then (b) the frame-delay histogram and
//! the key numbers side by side. Everything is labelled where it is drawn.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{num, Frame, Outcome, PlotData};

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 900;
const HEADER: u32 = 92;
const DELAY_PANEL: u32 = 376;
const BAND_PANEL: u32 = 150;
const HIST_WIDTH: u32 = 760;
/// Room left of every time axis, so (a) and (c) share their x pixels.
const Y_LABELS: u32 = 96;
const MARGIN_RIGHT: u32 = 28;

const INK: RGBColor = RGBColor(34, 34, 34);
const MUTED: RGBColor = RGBColor(110, 110, 110);
const GRID: RGBColor = RGBColor(236, 236, 236);
const LAST: RGBColor = RGBColor(31, 84, 160);
const FIRST: RGBColor = RGBColor(150, 185, 225);
const REPEATED: RGBColor = RGBColor(0, 150, 136);
const LATE: RGBColor = RGBColor(128, 50, 160);
/// The dropped-frame markers of the delay panel, and nothing else: one
/// `<polygon fill="#C81E2D">` per dropped frame (the tests count them).
pub const DROPPED_MARKER: RGBColor = RGBColor(200, 30, 45);
const DROPPED_BAR: RGBColor = RGBColor(226, 74, 74);
const DROPPED_LANE: RGBColor = RGBColor(252, 238, 238);
const FREEZE: RGBColor = RGBColor(236, 160, 20);
const FREEZE_TEXT: RGBColor = RGBColor(150, 95, 0);
const BAND_BACK: RGBColor = RGBColor(244, 246, 244);
const P50: RGBColor = RGBColor(60, 60, 60);
const P99: RGBColor = RGBColor(200, 90, 0);

/// Above this many shown frames the delay panel keeps, per pixel column,
/// only each series' lowest and highest frame.
const DECIMATE_ABOVE: usize = 4000;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Fallible = Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("drawing the plot: {e}")
}

/// A text style of `px` pixels (plotters writes font-size = size / 1.24).
fn font(px: f64, color: RGBColor) -> TextStyle<'static> {
    ("sans-serif", px * 1.24).into_font().color(&color)
}

fn bold(px: f64, color: RGBColor) -> TextStyle<'static> {
    ("sans-serif", px * 1.24)
        .into_font()
        .style(FontStyle::Bold)
        .color(&color)
}

fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// A rough width of `text` in pixels at `px` (sans-serif, no font to ask).
fn text_width(text: &str, px: f64) -> i32 {
    (text.chars().count() as f64 * px * 0.6).round() as i32
}

/// Writes `parts` (text, colour) one after another from `at`.
fn draw_runs(area: &Area, at: (i32, i32), px: f64, parts: &[(String, RGBColor)]) -> Fallible {
    let mut x = at.0;
    for (text, color) in parts {
        area.draw(&Text::new(text.clone(), (x, at.1), font(px, *color)))
            .map_err(err)?;
        x += text_width(text, px) + (px * 1.2) as i32;
    }
    Ok(())
}

/// The report as an SVG document.
pub fn render(data: &PlotData, title: &str) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (header, rest) = root.split_vertically(HEADER);
        let (delay, rest) = rest.split_vertically(DELAY_PANEL);
        let (band, bottom) = rest.split_vertically(BAND_PANEL);
        let (hist, table) = bottom.split_horizontally(HIST_WIDTH);
        let scale = Scale::of(data);
        draw_header(&header, data, title)?;
        draw_delay(&delay, data, &scale)?;
        draw_band(&band, data, &scale)?;
        draw_histogram(&hist, data, &scale)?;
        draw_table(&table, data)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// The axes' ranges, shared by the panels.
struct Scale {
    /// Time axis, seconds.
    t0: f64,
    t1: f64,
    /// Largest delay drawn in place; above it a frame is pinned to the top.
    delay_max: f64,
}

impl Scale {
    fn of(data: &PlotData) -> Self {
        let t0 = data.frames.first().map_or(0.0, |f| f.due_s);
        let t1 = data
            .frames
            .last()
            .map_or(1.0, |f| f.due_s + data.frame_interval_s)
            .max(t0 + 1e-3);
        let values = |shown_only: bool| {
            data.frames
                .iter()
                .filter(move |f| !shown_only || f.outcome.shown())
                .flat_map(|f| [f.first_ms, f.last_ms])
                .flatten()
        };
        let shown = values(true).fold(f64::NAN, f64::max);
        let all = values(false).fold(f64::NAN, f64::max);
        // The shown frames set the scale, so one late frame held for a
        // second by the jitter buffer does not flatten the rest.
        let top = if shown.is_finite() { shown } else { all };
        let delay_max = if top.is_finite() && top > 0.0 {
            top * 1.04
        } else {
            1.0
        };
        Scale { t0, t1, delay_max }
    }

    fn off_scale(&self, f: &Frame) -> bool {
        f.last_ms.is_some_and(|v| v > self.delay_max)
    }
}

fn draw_header(area: &Area, data: &PlotData, title: &str) -> Fallible {
    area.draw(&Text::new(title.to_owned(), (20, 12), bold(24.0, INK)))
        .map_err(err)?;
    area.draw(&Text::new(
        data.settings_line(),
        (20, 46),
        font(14.0, MUTED),
    ))
    .map_err(err)?;
    area.draw(&Text::new(data.headline(), (20, 68), bold(15.0, INK)))
        .map_err(err)?;
    Ok(())
}

/// A time-axis label: "0.5 s", "2 s", "100 s".
fn seconds(v: &f64) -> String {
    let text = format!("{v:.2}");
    format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
}

/// (a) Per-frame delay over time.
fn draw_delay(area: &Area, data: &PlotData, s: &Scale) -> Fallible {
    let (caption, plot) = area.split_vertically(28);
    let dropped = data.count_of(Outcome::Dropped);
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
    let heading = if data.delay_is_relative() {
        "Frame delay (relative to the smallest)"
    } else {
        "Frame delay"
    };
    caption
        .draw(&Text::new(heading, (20, 6), bold(15.0, INK)))
        .map_err(err)?;
    draw_runs(&caption, (40 + text_width(heading, 15.0), 7), 13.0, &parts)?;

    let off: Vec<&Frame> = data.frames.iter().filter(|f| s.off_scale(f)).collect();
    // Below zero: a lane for the dropped markers; above delay_max: room
    // for frames off the scale.
    let lane = s.delay_max * 0.12;
    let y_top = s.delay_max * if off.is_empty() { 1.02 } else { 1.16 };
    let mut chart = ChartBuilder::on(&plot)
        .margin_left(8)
        .margin_right(MARGIN_RIGHT)
        .margin_top(4)
        .x_label_area_size(26)
        .y_label_area_size(Y_LABELS)
        .build_cartesian_2d(s.t0..s.t1, -lane..y_top)
        .map_err(err)?;
    let y_desc = if data.delay_is_relative() {
        "delay - smallest, ms"
    } else if data.delay_is_one_way() {
        "one-way delay, ms"
    } else {
        "delay, ms"
    };
    // No tick labels in the lanes: they hold markers, not delays.
    let y_label = |v: &f64| {
        if *v < 0.0 || *v > s.delay_max {
            String::new()
        } else {
            num(*v)
        }
    };
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.0))
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(font(12.0, MUTED))
        .axis_desc_style(font(13.0, MUTED))
        .y_desc(y_desc)
        .x_label_formatter(&seconds)
        .y_label_formatter(&y_label)
        .draw()
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(s.t0, -lane), (s.t1, 0.0)],
            DROPPED_LANE.filled(),
        )))
        .map_err(err)?;

    let (px_x, _) = chart.plotting_area().get_pixel_range();
    let columns = px_x.len().max(1);
    let shown: Vec<&Frame> = data.frames.iter().filter(|f| f.outcome.shown()).collect();
    let col_of = |t: f64| (((t - s.t0) / (s.t1 - s.t0)) * columns as f64) as usize;
    let thin = |pick: fn(&Frame) -> Option<f64>| -> Vec<(f64, f64)> {
        let points = shown
            .iter()
            .filter(|f| f.outcome == Outcome::Completed)
            .filter_map(|f| Some((f.due_s, pick(f)?)));
        if shown.len() <= DECIMATE_ABOVE {
            return points.collect();
        }
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
    };
    let dot = |(t, v): (f64, f64), r: u32, c: RGBColor| Circle::new((t, v), r, c.filled());
    chart
        .draw_series(thin(|f| f.first_ms).into_iter().map(|p| dot(p, 2, FIRST)))
        .map_err(err)?;
    chart
        .draw_series(thin(|f| f.last_ms).into_iter().map(|p| dot(p, 2, LAST)))
        .map_err(err)?;
    // Frames that are not plain completed: every one drawn, larger.
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
    // Off the scale: pinned to the top, each with its delay written beside
    // where the label covers no other marker and no other label.
    let pin_y = s.delay_max * 1.09;
    let right_edge = chart.plotting_area().get_pixel_range().0.end;
    let color_of = |f: &Frame| match f.outcome {
        Outcome::Repeated => REPEATED,
        o if o.shown() => LAST,
        _ => LATE,
    };
    let xs: Vec<i32> = off
        .iter()
        .map(|f| chart.plotting_area().map_coordinate(&(f.due_s, pin_y)).0)
        .collect();
    chart
        .draw_series(off.iter().map(|f| {
            EmptyElement::at((f.due_s, pin_y))
                + Polygon::new(vec![(-5, 4), (5, 4), (0, -5)], color_of(f).filled())
        }))
        .map_err(err)?;
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
            let text = EmptyElement::at((f.due_s, pin_y))
                + Text::new(
                    label,
                    (dx, 0),
                    anchored(font(12.0, color_of(f)), pos, VPos::Center),
                );
            chart.draw_series(std::iter::once(text)).map_err(err)?;
        }
    }
    // Dropped frames: one marker each in the lane below zero.
    let drop_y = -lane / 2.0;
    chart
        .draw_series(
            data.frames
                .iter()
                .filter(|f| f.outcome == Outcome::Dropped)
                .map(|f| {
                    EmptyElement::at((f.due_s, drop_y))
                        + Polygon::new(vec![(-4, -5), (4, -5), (0, 5)], DROPPED_MARKER.filled())
                }),
        )
        .map_err(err)?;
    // Direct labels left of the plot: the lane, and the pinned row.
    let left = chart.plotting_area().get_pixel_range().0.start - 8;
    let lane_px = chart.plotting_area().map_coordinate(&(s.t0, drop_y)).1;
    let label = anchored(font(12.0, DROPPED_MARKER), HPos::Right, VPos::Center);
    plot.draw(&Text::new(
        format!("dropped {dropped}"),
        (left - plot_offset(&plot).0, lane_px - plot_offset(&plot).1),
        label,
    ))
    .map_err(err)?;
    if !off.is_empty() {
        let pin_px = chart.plotting_area().map_coordinate(&(s.t0, pin_y)).1;
        plot.draw(&Text::new(
            "off scale",
            (left - plot_offset(&plot).0, pin_px - plot_offset(&plot).1),
            anchored(font(12.0, LATE), HPos::Right, VPos::Center),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Where `area` starts on the page (its pixel coordinates are relative).
fn plot_offset(area: &Area) -> (i32, i32) {
    let (x, y) = area.get_pixel_range();
    (x.start, y.start)
}

/// (c) Drops, late frames and freezes on the delay panel's time axis.
fn draw_band(area: &Area, data: &PlotData, s: &Scale) -> Fallible {
    let (caption, plot) = area.split_vertically(26);
    let dropped = data.count_of(Outcome::Dropped);
    let late = data.late();
    let freezes = &data.freezes;
    let frozen_ms = freezes.iter().map(|f| f.ms()).fold(0.0, |a, b| a + b);
    let longest = freezes.iter().max_by_key(|f| f.frames);
    caption
        .draw(&Text::new("Loss and freezes", (20, 4), bold(15.0, INK)))
        .map_err(err)?;
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
    caption
        .draw(&Text::new(
            text,
            (40 + text_width("Loss and freezes", 15.0), 5),
            font(13.0, MUTED),
        ))
        .map_err(err)?;

    let mut chart = ChartBuilder::on(&plot)
        .margin_left(8)
        .margin_right(MARGIN_RIGHT)
        .margin_top(2)
        .x_label_area_size(40)
        .y_label_area_size(Y_LABELS)
        .build_cartesian_2d(s.t0..s.t1, 0.0..3.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .light_line_style(GRID.mix(0.0))
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(font(12.0, MUTED))
        .axis_desc_style(font(13.0, MUTED))
        .x_desc("render tick, seconds from the stream's start")
        .x_label_formatter(&seconds)
        .draw()
        .map_err(err)?;
    // Rows, top to bottom: dropped (2..3), late (1..2), freezes (0..1).
    let (px_x, _) = chart.plotting_area().get_pixel_range();
    let min_w = (s.t1 - s.t0) / px_x.len().max(1) as f64 * 2.0;
    let width = data.frame_interval_s.max(min_w);
    let row = |lo: f64, color: RGBColor| {
        move |t: f64, t_end: f64| {
            Rectangle::new(
                [(t, lo + 0.12), (t_end.max(t + min_w), lo + 0.88)],
                color.filled(),
            )
        }
    };
    chart
        .draw_series((0..3).map(|r| {
            Rectangle::new(
                [(s.t0, f64::from(r) + 0.12), (s.t1, f64::from(r) + 0.88)],
                BAND_BACK.filled(),
            )
        }))
        .map_err(err)?;
    let dropped_bar = row(2.0, DROPPED_BAR);
    chart
        .draw_series(
            data.frames
                .iter()
                .filter(|f| f.outcome == Outcome::Dropped)
                .map(|f| dropped_bar(f.due_s, f.due_s + width)),
        )
        .map_err(err)?;
    let late_bar = row(1.0, LATE);
    chart
        .draw_series(
            data.frames
                .iter()
                .filter(|f| matches!(f.outcome, Outcome::Late | Outcome::Other))
                .map(|f| late_bar(f.due_s, f.due_s + width)),
        )
        .map_err(err)?;
    let freeze_bar = row(0.0, FREEZE);
    chart
        .draw_series(freezes.iter().map(|f| freeze_bar(f.start_s, f.end_s)))
        .map_err(err)?;
    // The longest freezes (two frames or more) labelled where they are.
    let mut long: Vec<_> = freezes.iter().filter(|f| f.frames >= 2).collect();
    long.sort_by_key(|f| std::cmp::Reverse(f.frames));
    let secs_per_px = (s.t1 - s.t0) / px_x.len().max(1) as f64;
    let free = |from: f64, to: f64| {
        from >= s.t0 && to <= s.t1 && !freezes.iter().any(|g| g.end_s > from && g.start_s < to)
    };
    for (i, f) in long.iter().take(4).enumerate() {
        let label = format!("{} frames, {} ms", f.frames, num(f.ms()));
        // Beside the run, on a side where it covers no other freeze; on a
        // white ground where it must.
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
    // Row names with their counts, left of the band.
    let left = px_x.start - 8;
    let off = plot_offset(&plot);
    for (r, text, color) in [
        (2.5, format!("dropped {dropped}"), DROPPED_MARKER),
        (1.5, format!("late {late}"), LATE),
        (0.5, format!("freezes {}", freezes.len()), FREEZE_TEXT),
    ] {
        let y = chart.plotting_area().map_coordinate(&(s.t0, r)).1;
        plot.draw(&Text::new(
            text,
            (left - off.0, y - off.1),
            anchored(font(12.0, color), HPos::Right, VPos::Center),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// (b) How frame delays (last datagram) are distributed.
fn draw_histogram(area: &Area, data: &PlotData, s: &Scale) -> Fallible {
    let (caption, plot) = area.split_vertically(26);
    let delays = data.last_delays();
    let above = delays.iter().filter(|v| **v > s.delay_max).count();
    caption
        .draw(&Text::new(
            "Frame delay distribution (last datagram)",
            (20, 4),
            bold(15.0, INK),
        ))
        .map_err(err)?;
    if above > 0 {
        caption
            .draw(&Text::new(
                format!(
                    "+{above} frame(s) above {} ms, off the scale",
                    num(s.delay_max)
                ),
                (HIST_WIDTH as i32 - MARGIN_RIGHT as i32, 6),
                anchored(font(12.0, LATE), HPos::Right, VPos::Top),
            ))
            .map_err(err)?;
    }
    const BINS: usize = 40;
    let width = s.delay_max / BINS as f64;
    let mut counts = [0u64; BINS];
    for v in delays.iter().filter(|v| **v <= s.delay_max) {
        let b = ((v.max(0.0) / width) as usize).min(BINS - 1);
        counts[b] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut chart = ChartBuilder::on(&plot)
        .margin_left(8)
        .margin_right(MARGIN_RIGHT)
        .margin_top(4)
        .margin_bottom(6)
        .x_label_area_size(40)
        .y_label_area_size(Y_LABELS)
        .build_cartesian_2d(0.0..s.delay_max, 0.0..most * 1.3)
        .map_err(err)?;
    let x_desc = if data.delay_is_relative() {
        "frame delay - smallest, ms"
    } else if data.delay_is_one_way() {
        "frame one-way delay, ms"
    } else {
        "frame delay, ms"
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(GRID.mix(0.0))
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(font(12.0, MUTED))
        .axis_desc_style(font(13.0, MUTED))
        .x_desc(x_desc)
        .y_desc("frames")
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| {
                    let x = i as f64 * width;
                    Rectangle::new(
                        [(x, 0.0), (x + width * 0.92, *c as f64)],
                        LAST.mix(0.75).filled(),
                    )
                }),
        )
        .map_err(err)?;
    if let Some((p50, p99)) = data.frame_delay_p50_p99() {
        for (name, v, color, row) in [("p50", p50, P50, 1.22), ("p99", p99, P99, 1.1)] {
            let x = v.min(s.delay_max);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0.0), (x, most * row)],
                    color.stroke_width(2),
                )))
                .map_err(err)?;
            let beyond = if v > s.delay_max { " \u{2192}" } else { "" };
            let label = format!("{name} {} ms{beyond}", num(v));
            let right = x > s.delay_max * 0.7;
            let (dx, pos) = if right {
                (-5, HPos::Right)
            } else {
                (5, HPos::Left)
            };
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, most * row))
                        + Text::new(label, (dx, 0), anchored(bold(13.0, color), pos, VPos::Top)),
                ))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// The key numbers, name and value per row.
fn draw_table(area: &Area, data: &PlotData) -> Fallible {
    area.draw(&Text::new("Key numbers", (10, 4), bold(15.0, INK)))
        .map_err(err)?;
    let (w, h) = area.dim_in_pixel();
    let right = w as i32 - MARGIN_RIGHT as i32;
    let mut y = 34;
    for (name, value) in data.key_numbers() {
        if y + 18 > h as i32 {
            break;
        }
        area.draw(&PathElement::new(vec![(10, y + 16), (right, y + 16)], GRID))
            .map_err(err)?;
        area.draw(&Text::new(name, (10, y), font(12.5, MUTED)))
            .map_err(err)?;
        area.draw(&Text::new(
            value,
            (right, y),
            anchored(bold(12.5, INK), HPos::Right, VPos::Top),
        ))
        .map_err(err)?;
        y += 19;
    }
    Ok(())
}
