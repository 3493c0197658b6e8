//! What every panel is built from: its heading, its chart and mesh,
//! names left of the plot, markers, and labels beside a point.

use std::ops::Range;

use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{anchored, bold, font, text_width, GRID, INK, MUTED};
use super::{err, Area, Fallible, MARGIN_RIGHT, Y_LABELS};

/// A panel's chart: both axes in f64.
pub type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A marker pointing up: a frame pinned above the scale.
pub const UP: [(i32, i32); 3] = [(-5, 4), (5, 4), (0, -5)];
/// A marker pointing down: a dropped frame in its lane.
pub const DOWN: [(i32, i32); 3] = [(-4, -5), (4, -5), (0, 5)];

/// A panel's heading, bold, at the caption's left; where text after it
/// starts.
pub fn heading(caption: &Area, text: &str, y: i32) -> Result<i32, String> {
    caption
        .draw(&Text::new(text, (20, y), bold(15.0, INK)))
        .map_err(err)?;
    Ok(40 + text_width(text, 15.0))
}

/// Writes `parts` (text, colour) one after another from `at`.
pub fn runs(area: &Area, at: (i32, i32), px: f64, parts: &[(String, RGBColor)]) -> Fallible {
    let mut x = at.0;
    for (text, color) in parts {
        area.draw(&Text::new(text.clone(), (x, at.1), font(px, *color)))
            .map_err(err)?;
        x += text_width(text, px) + (px * 1.2) as i32;
    }
    Ok(())
}

/// The room around a chart: margins above and below, and the height of
/// the x labels. Every chart leaves the same room left and right, so
/// the time axes of the panels share their x pixels.
pub struct Room {
    pub top: u32,
    pub bottom: u32,
    pub x_labels: u32,
}

/// A chart over `x` and `y` on `plot`.
pub fn chart<'a, 'b>(
    plot: &'a Area<'b>,
    x: Range<f64>,
    y: Range<f64>,
    room: Room,
) -> Result<Chart<'a, 'b>, String> {
    ChartBuilder::on(plot)
        .margin_left(8)
        .margin_right(MARGIN_RIGHT)
        .margin_top(room.top)
        .margin_bottom(room.bottom)
        .x_label_area_size(room.x_labels)
        .y_label_area_size(Y_LABELS)
        .build_cartesian_2d(x, y)
        .map_err(err)
}

/// The mesh style every panel shares: bold grid lines only, muted axes
/// and labels. The panel adds its descriptions and formatters.
pub fn mesh<'m, 'a, 'b, DB: DrawingBackend>(
    m: &'m mut MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, DB>,
) -> &'m mut MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, DB> {
    m.light_line_style(GRID.mix(0.0))
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(font(12.0, MUTED))
        .axis_desc_style(font(13.0, MUTED))
}

/// A time-axis label: "0.5 s", "2 s", "100 s".
pub fn seconds(v: &f64) -> String {
    let text = format!("{v:.2}");
    format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
}

/// What a delay axis measures, as `data` says: "delay, ms", or one-way,
/// or relative to the smallest.
pub fn delay_desc(relative: bool, one_way: bool) -> &'static str {
    if relative {
        "delay - smallest, ms"
    } else if one_way {
        "one-way delay, ms"
    } else {
        "delay, ms"
    }
}

/// Where `area` starts on the page (its pixel coordinates are relative).
fn offset(area: &Area) -> (i32, i32) {
    let (x, y) = area.get_pixel_range();
    (x.start, y.start)
}

/// A name left of the plot, level with `y` on the chart: a lane's or a
/// row's label.
pub fn row_name(plot: &Area, chart: &Chart, y: f64, text: String, color: RGBColor) -> Fallible {
    let area = chart.plotting_area();
    let left = area.get_pixel_range().0.start - 8;
    let y_px = area.map_coordinate(&(chart.x_range().start, y)).1;
    let (dx, dy) = offset(plot);
    plot.draw(&Text::new(
        text,
        (left - dx, y_px - dy),
        anchored(font(12.0, color), HPos::Right, VPos::Center),
    ))
    .map_err(err)
}

/// One `shape` marker per point, each in its colour.
pub fn marks(
    chart: &mut Chart,
    shape: [(i32, i32); 3],
    points: impl Iterator<Item = ((f64, f64), RGBColor)>,
) -> Fallible {
    chart
        .draw_series(
            points.map(|(at, color)| {
                EmptyElement::at(at) + Polygon::new(shape.to_vec(), color.filled())
            }),
        )
        .map_err(err)?;
    Ok(())
}

/// `label` beside the point `at`, `dx` pixels off, anchored as `style`
/// says.
pub fn label_beside(
    chart: &mut Chart,
    at: (f64, f64),
    dx: i32,
    label: String,
    style: TextStyle<'static>,
) -> Fallible {
    chart
        .draw_series(std::iter::once(
            EmptyElement::at(at) + Text::new(label, (dx, 0), style),
        ))
        .map_err(err)?;
    Ok(())
}

/// A bar across row `row` of a band (rows are one unit high, bars fill
/// the middle of theirs), from `from` to `to`.
pub fn row_bar(row: f64, from: f64, to: f64, color: RGBColor) -> Rectangle<(f64, f64)> {
    Rectangle::new([(from, row + 0.12), (to, row + 0.88)], color.filled())
}
