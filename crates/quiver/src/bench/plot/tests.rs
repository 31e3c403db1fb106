//! Axis ticks, the font's coverage, and the pixels of a drawn plot.

use super::*;

#[track_caller]
fn check_ticks(values: &[f64], tick_limit: Option<f64>, expect: &[&str]) {
    let axis = Axis::fit(values.iter().copied(), tick_limit);
    let labels: Vec<String> = axis.ticks().into_iter().map(|(_, label)| label).collect();
    assert_eq!(labels, expect, "{axis:?}");
}

#[test]
fn axes_have_round_ticks_around_the_data() {
    check_ticks(&[0.88, 0.97], Some(1.0), &["0.88", "0.90", "0.92", "0.94", "0.96"]);
    check_ticks(&[0.5, 0.99], Some(1.0), &["0.5", "0.6", "0.7", "0.8", "0.9", "1.0"]);
    check_ticks(&[4_000.0, 23_000.0], None, &["5000", "10000", "15000", "20000"]);
    // One value: a margin of 10% of it; recall beyond 1 gets no tick.
    check_ticks(&[1.0], Some(1.0), &["0.90", "0.95", "1.00"]);
    // The range never starts below 0.
    check_ticks(&[0.0, 10.0], None, &["0", "2", "4", "6", "8", "10"]);
    // No data at all: a unit range.
    check_ticks(&[], None, &["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
}

#[test]
fn nice_steps_are_1_2_or_5_times_a_power_of_ten() {
    for (raw, expect) in [(0.024, 0.02), (0.013, 0.01), (4_800.0, 5_000.0), (8.0, 10.0), (0.0, 1.0)]
    {
        let step = nice_step(raw);
        assert!((step - expect).abs() < expect * 1e-9, "{raw}: {step}");
    }
}

#[test]
fn the_font_covers_every_label() {
    for text in ["recall@10", "queries/s", "qps_1t", "qps_all", "0123456789.-"] {
        for c in text.chars() {
            assert!(font::glyph(c).is_some(), "{c:?} of {text:?}");
        }
    }
}

fn pixel(canvas: &Canvas, x: i64, y: i64) -> Rgb {
    let at = (y as usize * canvas.width + x as usize) * 3;
    [canvas.pixels[at], canvas.pixels[at + 1], canvas.pixels[at + 2]]
}

#[test]
fn draws_axes_markers_and_lines() {
    let series = [
        Series { name: "qps_1t", color: BLUE, points: vec![(0.80, 1000.0), (0.90, 600.0)] },
        Series { name: "qps_all", color: ORANGE, points: vec![(0.80, 1800.0), (0.90, 1100.0)] },
    ];
    let canvas = draw(&series);
    assert_eq!((canvas.width, canvas.height), (WIDTH, HEIGHT));
    assert_eq!(pixel(&canvas, 0, 0), WHITE);
    assert_eq!(pixel(&canvas, LEFT, BOTTOM), BLACK, "axis corner");
    assert_eq!(pixel(&canvas, RIGHT, TOP), BLACK, "frame corner");

    let x_axis = Axis::fit([0.8, 0.9, 0.8, 0.9].into_iter(), Some(1.0));
    let y_axis = Axis::fit([1000.0, 600.0, 1800.0, 1100.0].into_iter(), None);
    let at = |x: f64, y: f64| {
        (x_axis.map(x, LEFT as f64, RIGHT as f64), y_axis.map(y, BOTTOM as f64, TOP as f64))
    };
    let (x, y) = at(0.80, 1000.0);
    assert_eq!(pixel(&canvas, x, y), BLUE, "qps_1t marker");
    assert_eq!(pixel(&canvas, x + MARKER / 2, y - MARKER / 2), BLUE, "marker corner");
    let (x, y) = at(0.90, 1100.0);
    assert_eq!(pixel(&canvas, x, y), ORANGE, "qps_all marker");
    // Halfway along the qps_all line.
    let (x, y) = at(0.85, 1450.0);
    let near = (-1..=1).flat_map(|dx| (-1..=1).map(move |dy| (x + dx, y + dy)));
    assert!(near.into_iter().any(|(x, y)| pixel(&canvas, x, y) == ORANGE), "qps_all line");
    // The data sit inside the plot area, with a margin.
    let (x, y) = at(0.80, 1800.0);
    assert!(x > LEFT + MARKER && y > TOP + MARKER, "({x}, {y})");
}

#[test]
fn renders_a_png_of_the_plot_size() {
    let series = [Series { name: "qps_1t", color: BLUE, points: vec![(0.95, 5000.0)] }];
    let image = render(&series).expect("renders");
    assert_eq!(image[..8], png::SIGNATURE);
    // IHDR's width and height follow the signature, the chunk length and the type.
    assert_eq!(image[16..24], [0, 0, 3, 32, 0, 0, 1, 244]);
}
