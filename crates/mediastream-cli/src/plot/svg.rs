//! [`PlotData`] -> one SVG (plotters' SVG backend: text stays `<text>`,
//! no font is read). Layout, top to bottom: title and headline numbers;
//! (a) per-frame delay over time; (c) a band of drops, late frames and
//! freezes on the same time axis; then (b) the frame-delay histogram and
//! the key numbers side by side. Everything is labelled where it is drawn.
//! Each panel has a file of its own, built from the pieces in `parts`.

mod band;
mod delay;
mod histogram;
mod parts;
mod style;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::data::{Frame, PlotData};
use style::{anchored, bold, font, GRID, INK, MUTED};

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 900;
const HEADER: u32 = 92;
const DELAY_PANEL: u32 = 376;
const BAND_PANEL: u32 = 150;
const HIST_WIDTH: u32 = 760;
/// Room left of every time axis, so (a) and (c) share their x pixels.
const Y_LABELS: u32 = 96;
const MARGIN_RIGHT: u32 = 28;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Fallible = Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("drawing the plot: {e}")
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
        delay::draw(&delay, data, &scale)?;
        band::draw(&band, data, &scale)?;
        histogram::draw(&hist, data, &scale)?;
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
