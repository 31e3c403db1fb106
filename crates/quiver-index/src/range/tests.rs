use quiver_core::Metric;

use super::SearchRange;
use crate::distance::to_distance;

/// Checks whether a hit with reported `score` is inside `radius` / `range_filter`.
#[track_caller]
fn check(metric: Metric, radius: f32, range_filter: Option<f32>, score: f32, want: bool) {
    let range = SearchRange { radius, range_filter };
    assert_eq!(
        range.contains(metric, to_distance(metric, score)),
        want,
        "{metric} {range:?} {score}"
    );
}

#[test]
fn l2_admits_range_filter_up_to_but_excluding_radius() {
    check(Metric::L2, 9.0, Some(1.0), 0.5, false);
    check(Metric::L2, 9.0, Some(1.0), 1.0, true);
    check(Metric::L2, 9.0, Some(1.0), 4.0, true);
    check(Metric::L2, 9.0, Some(1.0), 9.0, false);
    check(Metric::L2, 9.0, None, 0.0, true);
    check(Metric::L2, 9.0, None, 9.5, false);
    check(Metric::L2, f32::INFINITY, None, 1e30, true);
}

#[test]
fn ip_and_cosine_admit_above_radius_up_to_and_including_range_filter() {
    for metric in [Metric::Ip, Metric::Cosine] {
        check(metric, 0.25, Some(0.75), 0.25, false);
        check(metric, 0.25, Some(0.75), 0.5, true);
        check(metric, 0.25, Some(0.75), 0.75, true);
        check(metric, 0.25, Some(0.75), 0.8, false);
        check(metric, 0.25, None, 1.0, true);
        check(metric, -1.0, None, -1.0, false);
        // Zero scores are one number, whatever the sign of the zero.
        check(metric, 0.0, None, 0.0, false);
        check(metric, -0.0, None, 0.0, false);
        check(metric, -0.5, Some(0.0), -0.0, true);
    }
}

#[test]
fn inverted_or_nan_bounds_admit_nothing() {
    check(Metric::L2, 1.0, Some(4.0), 2.0, false);
    check(Metric::Ip, 4.0, Some(1.0), 2.0, false);
    check(Metric::L2, f32::NAN, None, 2.0, false);
    check(Metric::L2, 9.0, None, f32::NAN, false);
}
