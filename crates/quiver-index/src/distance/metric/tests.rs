use proptest::collection::vec;
use proptest::prelude::*;
use quiver_core::Metric;

use super::{PreparedQuery, cosine_similarity, distance, norm, to_distance, to_score};

/// Checks the internal distance and the reported score of `a` against `b`.
#[track_caller]
fn check(metric: Metric, a: &[f32], b: &[f32], want_distance: f32, want_score: f32) {
    let got = distance(metric, a, b);
    assert_eq!(got, want_distance, "{metric} distance");
    assert_eq!(to_score(metric, got), want_score, "{metric} score");
    assert_eq!(to_distance(metric, to_score(metric, got)), got, "{metric} round trip");
    assert_eq!(PreparedQuery::new(metric, a).distance(b).to_bits(), got.to_bits(), "{metric}");
}

#[test]
fn l2_is_the_squared_distance() {
    check(Metric::L2, &[1.0, 2.0, 3.0], &[4.0, 6.0, 3.0], 25.0, 25.0);
    check(Metric::L2, &[1.0, 2.0], &[1.0, 2.0], 0.0, 0.0);
}

#[test]
fn ip_distance_is_the_negated_inner_product() {
    check(Metric::Ip, &[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], -32.0, 32.0);
    check(Metric::Ip, &[1.0, 0.0], &[-2.0, 0.0], 2.0, -2.0);
}

#[test]
fn cosine_distance_is_the_negated_similarity() {
    check(Metric::Cosine, &[1.0, 0.0], &[0.0, 1.0], 0.0, 0.0);
    check(Metric::Cosine, &[1.0, 1.0], &[2.0, 2.0], -1.0, 1.0);
    check(Metric::Cosine, &[1.0, 0.0], &[-3.0, 0.0], 1.0, -1.0);
    check(Metric::Cosine, &[3.0, 4.0], &[0.0, 5.0], -0.8, 0.8);
}

#[test]
fn cosine_with_a_zero_vector_is_zero_not_nan() {
    let zero = [0.0f32; 5];
    let other = [1.0, -2.0, 3.0, 0.5, 0.0];
    check(Metric::Cosine, &zero, &other, 0.0, 0.0);
    check(Metric::Cosine, &other, &zero, 0.0, 0.0);
    check(Metric::Cosine, &zero, &zero, 0.0, 0.0);
    assert_eq!(cosine_similarity(&zero, &other), 0.0);
    assert_eq!(cosine_similarity(&other, &zero), 0.0);
    // Norms that underflow to zero count as zero vectors.
    assert_eq!(cosine_similarity(&[1e-30; 5], &other), 0.0);
}

#[test]
fn norm_is_euclidean() {
    assert_eq!(norm(&[3.0, 4.0]), 5.0);
    assert_eq!(norm(&[]), 0.0);
}

#[test]
fn to_score_and_to_distance_are_inverses() {
    for metric in [Metric::L2, Metric::Ip, Metric::Cosine] {
        for value in [-2.5f32, 0.0, 1.0, 7.25] {
            assert_eq!(to_distance(metric, to_score(metric, value)), value, "{metric}");
            assert_eq!(to_score(metric, to_distance(metric, value)), value, "{metric}");
        }
    }
    assert!(!Metric::L2.larger_is_closer());
    assert_eq!(to_score(Metric::Ip, -3.0), 3.0);
}

proptest! {
    #[test]
    fn cosine_is_a_bounded_number(
        (a, b) in (1usize..200).prop_flat_map(|len| {
            (vec(-100.0f32..100.0, len), vec(-100.0f32..100.0, len))
        }),
        scale in 0.001f32..1000.0,
    ) {
        let similarity = cosine_similarity(&a, &b);
        prop_assert!((-1.0..=1.0).contains(&similarity), "{similarity}");
        // A vector and a positive multiple of itself: as close as cosine gets, never above 1.
        let scaled: Vec<f32> = a.iter().map(|x| x * scale).collect();
        let parallel = cosine_similarity(&a, &scaled);
        let nonzero = a.iter().any(|x| *x != 0.0);
        prop_assert!(parallel <= 1.0 && (!nonzero || parallel > 0.999), "{parallel}");
    }

    #[test]
    fn distances_match_a_double_precision_oracle(
        (a, b) in (1usize..100).prop_flat_map(|len| {
            (vec(-10.0f32..10.0, len), vec(-10.0f32..10.0, len))
        })
    ) {
        let a64: Vec<f64> = a.iter().map(|x| f64::from(*x)).collect();
        let b64: Vec<f64> = b.iter().map(|x| f64::from(*x)).collect();
        let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>();
        let l2: f64 = a64.iter().zip(&b64).map(|(p, q)| (p - q).powi(2)).sum();
        let ab = dot(&a64, &b64);
        let cosine = ab / dot(&a64, &a64).sqrt() / dot(&b64, &b64).sqrt();
        // Terms are at most 100 and there are fewer than 100: relative 1e-4 of 1e4 is 1.
        let close = |got: f32, want: f64, slack: f64| (f64::from(got) - want).abs() <= slack;
        prop_assert!(close(distance(Metric::L2, &a, &b), l2, 1.0));
        prop_assert!(close(distance(Metric::Ip, &a, &b), -ab, 1.0));
        prop_assert!(close(to_score(Metric::Cosine, distance(Metric::Cosine, &a, &b)), cosine, 1e-3));
    }
}
