//! Tests of the summaries.

use super::*;

#[test]
fn median_of_odd_and_even_counts() {
    assert_eq!(summarize(&[3.0, 1.0, 2.0]), Summary { median: 2.0, min: 1.0, max: 3.0 });
    assert_eq!(summarize(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
    assert!(summarize(&[]).median.is_nan());
}

#[test]
fn percentile_by_nearest_rank() {
    let values: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile(&values, 50.0), 50.0);
    assert_eq!(percentile(&values, 99.0), 99.0);
    assert_eq!(percentile(&values, 100.0), 100.0);
    assert_eq!(percentile(&[7.0], 99.0), 7.0);
}
