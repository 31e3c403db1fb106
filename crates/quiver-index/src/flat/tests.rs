use proptest::collection::vec;
use proptest::prelude::*;
use quiver_core::Metric;

use super::{flat_range_search, flat_search, flat_search_batch};
use crate::range::SearchRange;
use crate::topk::Neighbor;

const METRICS: [Metric; 3] = [Metric::L2, Metric::Ip, Metric::Cosine];

fn accept_all(_row: usize) -> bool {
    true
}

/// The internal distance computed the slow way. Inputs are small integers, so every sum is
/// exact in `f32` whatever the order, and the cosine expression mirrors the library's
/// (`dot / |q| / |v|`, clamped), so results must match bit for bit.
fn naive_distance(metric: Metric, query: &[f32], row: &[f32]) -> f32 {
    let dot: f32 = query.iter().zip(row).map(|(x, y)| x * y).sum();
    match metric {
        Metric::L2 => query.iter().zip(row).map(|(x, y)| (x - y) * (x - y)).sum(),
        Metric::Ip => -dot,
        Metric::Cosine => {
            let query_norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
            let row_norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            if query_norm == 0.0 || row_norm == 0.0 {
                return 0.0;
            }
            -(dot / query_norm / row_norm).clamp(-1.0, 1.0)
        }
    }
}

/// Score every accepted row, sort everything by (distance, row), keep `k`.
fn sort_all(
    vectors: &[f32],
    dim: usize,
    query: &[f32],
    metric: Metric,
    k: usize,
    keep: &dyn Fn(usize, f32) -> bool,
) -> Vec<Neighbor> {
    let mut all: Vec<Neighbor> = vectors
        .chunks_exact(dim)
        .enumerate()
        .map(|(row, v)| (row, naive_distance(metric, query, v)))
        .filter(|&(row, distance)| keep(row, distance))
        .map(|(row, distance)| Neighbor { id: row as u64, distance })
        .collect();
    // `partial_cmp`, not `total_cmp`: -0.0 and 0.0 are the same distance. There is no NaN.
    all.sort_by(|x, y| x.distance.partial_cmp(&y.distance).expect("no NaN").then(x.id.cmp(&y.id)));
    all.truncate(k);
    all
}

/// Small-integer rows (many ties, some all-zero rows) and a query of the same dimension.
fn dataset() -> impl Strategy<Value = (usize, Vec<f32>, Vec<f32>)> {
    (1usize..12, 0usize..80).prop_flat_map(|(dim, rows)| {
        let value = prop_oneof![3 => (-4i8..=4).prop_map(f32::from), 1 => Just(0.0f32)];
        (Just(dim), vec(value.clone(), dim * rows), vec(value, dim))
    })
}

proptest! {
    #[test]
    fn flat_search_matches_sorting_everything(
        (dim, vectors, query) in dataset(),
        k in 0usize..20,
        modulus in 1usize..4,
    ) {
        let accept = |row: usize| row.is_multiple_of(modulus);
        for metric in METRICS {
            let want = sort_all(&vectors, dim, &query, metric, k, &|row, _| accept(row));
            prop_assert_eq!(flat_search(&vectors, dim, &query, metric, k, &accept), want);
        }
    }

    #[test]
    fn flat_range_search_matches_filtering_everything(
        (dim, vectors, query) in dataset(),
        k in 0usize..20,
        radius in -40i8..40,
        width in proptest::option::of(0i8..40),
    ) {
        for metric in METRICS {
            // Scale to the metric: cosine scores live in [-1, 1].
            let scale = if metric == Metric::Cosine { 40.0 } else { 1.0 };
            let radius = f32::from(radius) / scale;
            let range_filter = width.map(|w| {
                let w = f32::from(w) / scale;
                if metric.larger_is_closer() { radius + w } else { radius - w }
            });
            let range = SearchRange { radius, range_filter };
            let want = sort_all(&vectors, dim, &query, metric, k, &|_, d| range.contains(metric, d));
            let got = flat_range_search(&vectors, dim, &query, metric, k, range, &accept_all);
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn batch_is_one_search_per_query(
        (dim, vectors, query) in dataset(),
        k in 0usize..10,
    ) {
        let reversed: Vec<f32> = query.iter().rev().copied().collect();
        let queries = [query.as_slice(), reversed.as_slice()].concat();
        for metric in METRICS {
            let want = vec![
                flat_search(&vectors, dim, &query, metric, k, &accept_all),
                flat_search(&vectors, dim, &reversed, metric, k, &accept_all),
            ];
            prop_assert_eq!(flat_search_batch(&vectors, dim, &queries, metric, k, &accept_all), want);
        }
    }
}

/// Checks the ids and reported scores of a search over one-dimensional rows.
#[track_caller]
fn check_ids(got: Vec<Neighbor>, metric: Metric, want: &[(u64, f32)]) {
    let got: Vec<(u64, f32)> =
        got.iter().map(|n| (n.id, crate::distance::to_score(metric, n.distance))).collect();
    assert_eq!(got, want);
}

#[test]
fn cosine_with_zero_vectors_scores_zero_not_nan() {
    let vectors = [0.0, 0.0, 1.0, 0.0, -1.0, 0.0];
    let found = flat_search(&vectors, 2, &[2.0, 0.0], Metric::Cosine, 3, &accept_all);
    check_ids(found, Metric::Cosine, &[(1, 1.0), (0, 0.0), (2, -1.0)]);
    let found = flat_search(&vectors, 2, &[0.0, 0.0], Metric::Cosine, 3, &accept_all);
    check_ids(found, Metric::Cosine, &[(0, 0.0), (1, 0.0), (2, 0.0)]);
}

#[test]
fn l2_range_includes_range_filter_and_excludes_radius() {
    // Distances from the query [0] are 0, 1, 4, 9 and 16.
    let vectors = [0.0, 1.0, 2.0, 3.0, 4.0];
    let search = |radius, range_filter, k| {
        let range = SearchRange { radius, range_filter };
        flat_range_search(&vectors, 1, &[0.0], Metric::L2, k, range, &accept_all)
    };
    check_ids(search(9.0, Some(1.0), 10), Metric::L2, &[(1, 1.0), (2, 4.0)]);
    check_ids(search(9.0, None, 10), Metric::L2, &[(0, 0.0), (1, 1.0), (2, 4.0)]);
    check_ids(search(9.5, None, 2), Metric::L2, &[(0, 0.0), (1, 1.0)]);
    check_ids(search(1.0, Some(1.0), 10), Metric::L2, &[]);
}

#[test]
fn ip_range_excludes_radius_and_includes_range_filter() {
    // Scores against the query [1] are 0, 1, 2, 3 and 4.
    let vectors = [0.0, 1.0, 2.0, 3.0, 4.0];
    let search = |radius, range_filter, accept: &dyn Fn(usize) -> bool| {
        let range = SearchRange { radius, range_filter };
        flat_range_search(&vectors, 1, &[1.0], Metric::Ip, 10, range, accept)
    };
    check_ids(search(1.0, Some(3.0), &accept_all), Metric::Ip, &[(3, 3.0), (2, 2.0)]);
    check_ids(search(1.0, None, &accept_all), Metric::Ip, &[(4, 4.0), (3, 3.0), (2, 2.0)]);
    check_ids(search(1.0, None, &|row| row != 4), Metric::Ip, &[(3, 3.0), (2, 2.0)]);
    check_ids(search(3.0, Some(3.0), &accept_all), Metric::Ip, &[]);
    check_ids(search(-1.0, Some(0.0), &accept_all), Metric::Ip, &[(0, 0.0)]);
}

#[test]
fn degenerate_inputs_give_empty_results() {
    let vectors = [1.0, 2.0, 3.0, 4.0];
    let range = SearchRange { radius: f32::INFINITY, range_filter: None };
    for metric in METRICS {
        assert_eq!(flat_search(&vectors, 2, &[1.0, 2.0], metric, 0, &accept_all), []);
        assert_eq!(flat_search(&[], 2, &[1.0, 2.0], metric, 5, &accept_all), []);
        assert_eq!(flat_search(&vectors, 2, &[1.0], metric, 5, &accept_all), []);
        assert_eq!(flat_search(&vectors, 0, &[], metric, 5, &accept_all), []);
        assert_eq!(flat_search(&vectors, 2, &[1.0, 2.0], metric, 5, &|_| false), []);
        assert_eq!(flat_range_search(&vectors, 2, &[1.0], metric, 5, range, &accept_all), []);
        assert_eq!(flat_range_search(&vectors, 0, &[], metric, 5, range, &accept_all), []);
        assert_eq!(
            flat_search_batch(&vectors, 0, &[1.0], metric, 5, &accept_all),
            Vec::<Vec<_>>::new()
        );
    }
}

#[test]
fn trailing_partial_rows_and_queries_are_ignored() {
    let vectors = [1.0, 0.0, 0.0, 1.0, 5.0];
    let found = flat_search(&vectors, 2, &[1.0, 0.0], Metric::L2, 5, &accept_all);
    check_ids(found, Metric::L2, &[(0, 0.0), (1, 2.0)]);
    let batch = flat_search_batch(&vectors, 2, &[1.0, 0.0, 7.0], Metric::L2, 5, &accept_all);
    assert_eq!(batch.len(), 1);
}
