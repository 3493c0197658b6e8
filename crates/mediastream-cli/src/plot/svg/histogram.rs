//! (b) How frame delays (last datagram) are distributed: 40 bins up to
//! the delay panel's scale, with p50 and p99 marked.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::data::{num, PlotData};
use super::parts::{chart, delay_desc, heading, label_beside, mesh, Chart, Room};
use super::style::{anchored, bold, font, LAST, LATE, P50, P99};
use super::{err, Area, Fallible, Scale, HIST_WIDTH, MARGIN_RIGHT};

const BINS: usize = 40;

pub fn draw(area: &Area, data: &PlotData, s: &Scale) -> Fallible {
    let (caption, plot) = area.split_vertically(26);
    let delays = data.last_delays();
    heading(&caption, "Frame delay distribution (last datagram)", 4)?;
    let above = delays.iter().filter(|v| **v > s.delay_max).count();
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
    let width = s.delay_max / BINS as f64;
    let counts = bins(&delays, s.delay_max, width);
    let most = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let room = Room {
        top: 4,
        bottom: 6,
        x_labels: 40,
    };
    let mut chart = chart(&plot, 0.0..s.delay_max, 0.0..most * 1.3, room)?;
    let x_desc = format!(
        "frame {}",
        delay_desc(data.delay_is_relative(), data.delay_is_one_way())
    );
    mesh(&mut chart.configure_mesh())
        .disable_x_mesh()
        .x_desc(x_desc)
        .y_desc("frames")
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(err)?;
    let filled = counts.iter().enumerate().filter(|(_, c)| **c > 0);
    chart
        .draw_series(filled.map(|(i, c)| {
            let x = i as f64 * width;
            Rectangle::new(
                [(x, 0.0), (x + width * 0.92, *c as f64)],
                LAST.mix(0.75).filled(),
            )
        }))
        .map_err(err)?;
    if let Some((p50, p99)) = data.frame_delay_p50_p99() {
        percentile(&mut chart, s, most, ("p50", p50, P50, 1.22))?;
        percentile(&mut chart, s, most, ("p99", p99, P99, 1.1))?;
    }
    Ok(())
}

/// How many of `delays` (up to `max`) fall in each bin `width` wide.
fn bins(delays: &[f64], max: f64, width: f64) -> [u64; BINS] {
    let mut counts = [0u64; BINS];
    for v in delays.iter().filter(|v| **v <= max) {
        let b = ((v.max(0.0) / width) as usize).min(BINS - 1);
        counts[b] += 1;
    }
    counts
}

/// A percentile's line, `row` times the tallest bar high, and its name
/// and value at the top (an arrow when it is off the scale).
fn percentile(
    chart: &mut Chart,
    s: &Scale,
    most: f64,
    (name, v, color, row): (&str, f64, RGBColor, f64),
) -> Fallible {
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
    let style = anchored(bold(13.0, color), pos, VPos::Top);
    label_beside(chart, (x, most * row), dx, label, style)
}
