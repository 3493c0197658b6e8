//! Colours and text styles, one set for every panel.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub const INK: RGBColor = RGBColor(34, 34, 34);
pub const MUTED: RGBColor = RGBColor(110, 110, 110);
pub const GRID: RGBColor = RGBColor(236, 236, 236);
pub const LAST: RGBColor = RGBColor(31, 84, 160);
pub const FIRST: RGBColor = RGBColor(150, 185, 225);
pub const REPEATED: RGBColor = RGBColor(0, 150, 136);
pub const LATE: RGBColor = RGBColor(128, 50, 160);
/// The dropped-frame markers of the delay panel, and nothing else: one
/// `<polygon fill="#C81E2D">` per dropped frame (the tests count them).
pub const DROPPED_MARKER: RGBColor = RGBColor(200, 30, 45);
pub const DROPPED_BAR: RGBColor = RGBColor(226, 74, 74);
pub const DROPPED_LANE: RGBColor = RGBColor(252, 238, 238);
pub const FREEZE: RGBColor = RGBColor(236, 160, 20);
/// Keyframe marks along the top of the loss band.
pub const KEYFRAME: RGBColor = RGBColor(20, 110, 60);
pub const FREEZE_TEXT: RGBColor = RGBColor(150, 95, 0);
pub const BAND_BACK: RGBColor = RGBColor(244, 246, 244);
pub const P50: RGBColor = RGBColor(60, 60, 60);
pub const P99: RGBColor = RGBColor(200, 90, 0);

/// A text style of `px` pixels (plotters writes font-size = size / 1.24).
pub fn font(px: f64, color: RGBColor) -> TextStyle<'static> {
    ("sans-serif", px * 1.24).into_font().color(&color)
}

pub fn bold(px: f64, color: RGBColor) -> TextStyle<'static> {
    ("sans-serif", px * 1.24)
        .into_font()
        .style(FontStyle::Bold)
        .color(&color)
}

pub fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// A rough width of `text` in pixels at `px` (sans-serif, no font to ask).
pub fn text_width(text: &str, px: f64) -> i32 {
    (text.chars().count() as f64 * px * 0.6).round() as i32
}
