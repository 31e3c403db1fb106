//! The benchmark's plot: recall@10 on the x axis, queries per second on the y axis (both
//! linear, with a little margin around the data), one polyline with square markers per series,
//! light grid lines at the ticks, numeric tick labels, axis titles and a legend; drawn on an
//! RGB canvas and encoded by [`super::png`].

#[cfg(test)]
mod tests;

use super::{font, png};

/// Image size in pixels.
pub(crate) const WIDTH: usize = 800;
pub(crate) const HEIGHT: usize = 500;

/// The plot area, in pixels from the top-left corner: room on the left for the y labels,
/// below for the x labels and title, above for the y title and the legend.
const LEFT: i64 = 100;
const RIGHT: i64 = 780;
const TOP: i64 = 50;
const BOTTOM: i64 = 430;

/// Text is the 5×7 font scaled by this factor, with one blank column between glyphs.
const SCALE: i64 = 2;
const ADVANCE: i64 = (font::WIDTH as i64 + 1) * SCALE;
const TEXT_HEIGHT: i64 = font::HEIGHT as i64 * SCALE;

/// Side of a square marker, and width of a series line.
const MARKER: i64 = 9;
const LINE_WIDTH: i64 = 2;

pub(crate) type Rgb = [u8; 3];
const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
/// The series colours (matplotlib's first two).
pub(crate) const BLUE: Rgb = [31, 119, 180];
pub(crate) const ORANGE: Rgb = [255, 127, 14];

/// One polyline: its legend name, its colour and its (recall, queries/s) points, in the order
/// they are joined.
pub(crate) struct Series<'a> {
    pub(crate) name: &'a str,
    pub(crate) color: Rgb,
    pub(crate) points: Vec<(f64, f64)>,
}

/// The plot as a PNG file.
pub(crate) fn render(series: &[Series<'_>]) -> anyhow::Result<Vec<u8>> {
    let canvas = draw(series);
    png::encode_rgb(WIDTH as u32, HEIGHT as u32, &canvas.pixels)
}

/// The plot as pixels.
fn draw(series: &[Series<'_>]) -> Canvas {
    let finite = |(x, y): &&(f64, f64)| x.is_finite() && y.is_finite();
    let points = || series.iter().flat_map(|s| s.points.iter().filter(finite));
    let x_axis = Axis::fit(points().map(|p| p.0), Some(1.0));
    let y_axis = Axis::fit(points().map(|p| p.1), None);
    let to_pixel = |(x, y): (f64, f64)| {
        (x_axis.map(x, LEFT as f64, RIGHT as f64), y_axis.map(y, BOTTOM as f64, TOP as f64))
    };

    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    for (value, label) in x_axis.ticks() {
        let x = x_axis.map(value, LEFT as f64, RIGHT as f64);
        canvas.fill(x, TOP, 1, BOTTOM - TOP, GRID);
        canvas.fill(x, BOTTOM, 1, 6, BLACK);
        canvas.text(x - text_width(&label) / 2, BOTTOM + 12, &label, BLACK);
    }
    for (value, label) in y_axis.ticks() {
        let y = y_axis.map(value, BOTTOM as f64, TOP as f64);
        canvas.fill(LEFT, y, RIGHT - LEFT, 1, GRID);
        canvas.fill(LEFT - 6, y, 6, 1, BLACK);
        canvas.text(LEFT - 12 - text_width(&label), y - TEXT_HEIGHT / 2, &label, BLACK);
    }
    canvas.frame(LEFT, TOP, RIGHT - LEFT, BOTTOM - TOP, BLACK);
    let x_title = "recall@10";
    canvas.text((LEFT + RIGHT - text_width(x_title)) / 2, BOTTOM + 40, x_title, BLACK);
    canvas.text(16, TOP - 22 - TEXT_HEIGHT, "queries/s", BLACK);

    for s in series {
        let pixels: Vec<(i64, i64)> =
            s.points.iter().filter(finite).map(|p| to_pixel(*p)).collect();
        for pair in pixels.windows(2) {
            canvas.line(pair[0], pair[1], s.color);
        }
        for (x, y) in &pixels {
            canvas.fill(x - MARKER / 2, y - MARKER / 2, MARKER, MARKER, s.color);
        }
    }

    // The legend, right-aligned above the plot area: a marker and the name of each series.
    let item_width = |s: &Series<'_>| MARKER + 8 + text_width(s.name);
    let gap = 24;
    let total: i64 = series.iter().map(|s| item_width(s) + gap).sum::<i64>() - gap;
    let (mut x, y) = (RIGHT - total, TOP - 22 - TEXT_HEIGHT);
    for s in series {
        canvas.fill(x, y + (TEXT_HEIGHT - MARKER) / 2, MARKER, MARKER, s.color);
        canvas.text(x + MARKER + 8, y, s.name, BLACK);
        x += item_width(s) + gap;
    }
    canvas
}

/// A linear axis: the value range shown and the step between ticks.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
    /// Ticks above this are not labelled (recall beyond 1 means nothing).
    tick_limit: f64,
}

impl Axis {
    /// The data's range with a margin of 8% of its span on each side (or 10% of its value
    /// when all values are equal), never below 0; about five ticks at a round step.
    fn fit(values: impl Iterator<Item = f64>, tick_limit: Option<f64>) -> Axis {
        let (min, max) =
            values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (min, max) = if min <= max { (min, max) } else { (0.0, 1.0) };
        let span = max - min;
        let pad = if span > 0.0 {
            span * 0.08
        } else if max != 0.0 {
            max.abs() * 0.1
        } else {
            1.0
        };
        let (lo, hi) = ((min - pad).max(0.0), max + pad);
        let step = nice_step((hi - lo) / 5.0);
        Axis { lo, hi, step, tick_limit: tick_limit.unwrap_or(f64::INFINITY) }
    }

    /// `value`'s pixel coordinate on an axis drawn from pixel `from` (at `lo`) to `to`.
    fn map(&self, value: f64, from: f64, to: f64) -> i64 {
        (from + (value - self.lo) / (self.hi - self.lo) * (to - from)).round() as i64
    }

    /// The ticks (multiples of the step inside the range) with their labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        // Enough decimals to tell ticks apart: none for steps of 1 and more, one for 0.1 or
        // 0.2 or 0.5, two for 0.01..0.05, and so on.
        let decimals =
            if self.step >= 1.0 { 0 } else { (-self.step.log10() - 1e-9).ceil() as usize };
        let first = (self.lo / self.step - 1e-9).ceil() as i64;
        let last = (self.hi / self.step + 1e-9).floor() as i64;
        (first..=last)
            .map(|i| i as f64 * self.step)
            .filter(|v| *v <= self.tick_limit + self.step * 1e-9)
            .map(|v| (v, format!("{v:.decimals$}")))
            .collect()
    }
}

/// A round step (1, 2 or 5 times a power of ten) near `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = if fraction < 1.5 {
        1.0
    } else if fraction < 3.0 {
        2.0
    } else if fraction < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// Width in pixels of `text` drawn by [`Canvas::text`].
fn text_width(text: &str) -> i64 {
    (text.chars().count() as i64 * ADVANCE - SCALE).max(0)
}

/// RGB pixels, 3 bytes each, rows from the top; drawing outside is clipped.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Canvas {
        Canvas { width, height, pixels: WHITE.repeat(width * height) }
    }

    /// Fills the rectangle of `w` × `h` pixels whose top-left corner is (`x`, `y`).
    fn fill(&mut self, x: i64, y: i64, w: i64, h: i64, color: Rgb) {
        let clip = |v: i64, size: usize| v.clamp(0, size as i64) as usize;
        let (x0, x1) = (clip(x, self.width), clip(x + w, self.width));
        let (y0, y1) = (clip(y, self.height), clip(y + h, self.height));
        for row in y0..y1 {
            for column in x0..x1 {
                let at = (row * self.width + column) * 3;
                self.pixels[at..at + 3].copy_from_slice(&color);
            }
        }
    }

    /// The outline of a rectangle, one pixel wide.
    fn frame(&mut self, x: i64, y: i64, w: i64, h: i64, color: Rgb) {
        self.fill(x, y, w + 1, 1, color);
        self.fill(x, y + h, w + 1, 1, color);
        self.fill(x, y, 1, h + 1, color);
        self.fill(x + w, y, 1, h + 1, color);
    }

    /// A line `LINE_WIDTH` pixels wide (Bresenham's algorithm with a square pen).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), color: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = ((x1 - x0).signum(), (y1 - y0).signum());
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.fill(x - LINE_WIDTH / 2, y - LINE_WIDTH / 2, LINE_WIDTH, LINE_WIDTH, color);
            if x == x1 && y == y1 {
                return;
            }
            let twice = 2 * err;
            if twice >= dy {
                err += dy;
                x += sx;
            }
            if twice <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// `text` with its top-left corner at (`x`, `y`); characters the font lacks are blank.
    fn text(&mut self, x: i64, y: i64, text: &str, color: Rgb) {
        for (index, c) in text.chars().enumerate() {
            let Some(rows) = font::glyph(c) else { continue };
            let left = x + index as i64 * ADVANCE;
            for (row, bits) in rows.iter().enumerate() {
                for column in 0..font::WIDTH {
                    if bits >> (font::WIDTH - 1 - column) & 1 == 1 {
                        let (px, py) = (left + column as i64 * SCALE, y + row as i64 * SCALE);
                        self.fill(px, py, SCALE, SCALE, color);
                    }
                }
            }
        }
    }
}
