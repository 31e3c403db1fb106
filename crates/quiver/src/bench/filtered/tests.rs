//! The filter's buckets and masks, its exact top-10 on a fixture, and the recall against it.

use quiver_core::{Column, DataType, FieldSpec, Metric, Schema, SchemaSpec};

use super::*;
use crate::bench::dataset;
use crate::bench::fixtures::Fixture;

#[test]
fn the_filter_passes_the_lowest_buckets_of_every_10000_ids() {
    let filter = IdFilter::new(0.01);
    assert_eq!((filter.pass(), filter.below()), (0.01, 100));
    let passed: Vec<i64> = [0, 99, 100, 9_999, 10_000, 10_099, 10_100, 123_450_050]
        .into_iter()
        .filter(|id| filter.accepts(*id))
        .collect();
    assert_eq!(passed, [0, 99, 10_000, 10_099, 123_450_050]);
    // A share passes that share of any whole number of buckets.
    for (share, passing) in [(0.01, 300), (0.1, 3_000), (0.5, 15_000), (1.0, 30_000)] {
        let filter = IdFilter::new(share);
        assert_eq!((0..30_000).filter(|id| filter.accepts(*id)).count(), passing, "{share}");
    }
    assert_eq!(IdFilter::new(0.12345).below(), 1_235);
    assert_eq!(IdFilter::new(0.00005).below(), 1);
}

#[test]
fn the_filter_reads_the_key_column_of_a_segment() {
    let spec = |key: DataType| SchemaSpec {
        description: String::new(),
        fields: vec![
            FieldSpec::primary("id", key),
            FieldSpec::new("vector", DataType::FloatVector { dim: 2 }),
        ],
        enable_dynamic_field: false,
    };
    let vectors = Column::new(ColumnData::FloatVector { dim: 2, data: vec![0.0; 8] });
    let schema = Schema::new(spec(DataType::Int64)).expect("valid schema");
    let columns = [Column::new(ColumnData::Int64(vec![5, 20_004, 20_005, 9_999])), vectors];
    let view = SegmentView { schema: &schema, columns: &columns, num_rows: 4 };
    let mask = IdFilter::new(0.0005).evaluate(&view).expect("evaluates");
    assert_eq!(mask, [false, true, false, false]);

    let schema = Schema::new(spec(DataType::VarChar { max_length: 8 })).expect("valid schema");
    let keys = ["a", "b", "c", "d"].map(str::to_owned).to_vec();
    let columns = [Column::new(ColumnData::VarChar(keys)), columns[1].clone()];
    let view = SegmentView { schema: &schema, columns: &columns, num_rows: 4 };
    let err = IdFilter::new(0.5).evaluate(&view).expect_err("refused");
    assert!(err.to_string().contains("needs the Int64 key as the first column"), "{err}");
}

/// The ids of the `k` base rows nearest `query` by L2 among those `pass` accepts, nearest
/// first: computed here independently of `flat_search`.
fn brute_force(fixture: &Fixture, d: usize, query: &[f32], pass: &dyn Fn(i64) -> bool) -> Vec<i64> {
    let mut by_distance: Vec<(f32, i64)> = fixture
        .base
        .chunks_exact(d)
        .enumerate()
        .map(|(row, v)| (v.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum(), row as i64))
        .filter(|(_, id)| pass(*id))
        .collect();
    by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    by_distance.into_iter().take(RECALL_K).map(|(_, id)| id).collect()
}

#[test]
fn the_exact_top_10_is_the_nearest_passing_rows_whatever_the_thread_count() {
    let fixture = Fixture::new(300, 8, 20);
    let data = dataset::open(&fixture.prefix).expect("opens");
    let base = dataset::read_base(&fixture.prefix, &data.shape).expect("reads");

    // Everything passes: the dataset's own ground truth.
    let all =
        exact_top_10(&base, &data.shape, &data.queries, &IdFilter::new(1.0), 2).expect("computes");
    let expect: Vec<Vec<i64>> = fixture
        .ground_truth
        .chunks_exact(100)
        .map(|row| row[..RECALL_K].iter().map(|id| i64::from(*id)).collect())
        .collect();
    assert_eq!(all, expect);

    // 1% of 10000 buckets: of 300 rows, ids 0..100 pass.
    let filter = IdFilter::new(0.01);
    let expect: Vec<Vec<i64>> =
        data.queries.iter().map(|q| brute_force(&fixture, 8, q, &|id| id < 100)).collect();
    assert!(expect.iter().all(|ids| ids.len() == RECALL_K));
    assert_ne!(expect, all);
    for threads in [1, 2, 3, 7, 64] {
        let truth =
            exact_top_10(&base, &data.shape, &data.queries, &filter, threads).expect("computes");
        assert_eq!(truth, expect, "{threads} threads");
    }

    // One id in 10000: row 0 alone.
    let truth = exact_top_10(&base, &data.shape, &data.queries, &IdFilter::new(0.0001), 2)
        .expect("computes");
    assert_eq!(truth, vec![vec![0]; 20]);

    // The inner-product metric ranks by it.
    let shape = Shape { metric: Metric::Ip, ..data.shape };
    let truth = exact_top_10(&base, &shape, &data.queries[..1], &filter, 2).expect("computes");
    let query = &data.queries[0];
    let mut by_score: Vec<(f32, i64)> = base[..100 * 8]
        .chunks_exact(8)
        .enumerate()
        .map(|(row, v)| (-v.iter().zip(query).map(|(a, b)| a * b).sum::<f32>(), row as i64))
        .collect();
    by_score.sort_by(|a, b| a.0.total_cmp(&b.0));
    let expect: Vec<i64> = by_score.iter().take(RECALL_K).map(|(_, id)| *id).collect();
    assert_eq!(truth, [expect]);

    let err =
        exact_top_10(&base[1..], &data.shape, &data.queries, &filter, 2).expect_err("short base");
    assert_eq!(err.to_string(), "2399 base values do not make 300 rows of 8");
}

#[track_caller]
fn check_recall(found: &[&[i64]], truth: &[&[i64]], expect: f64) {
    let found: Vec<Vec<i64>> = found.iter().map(|ids| ids.to_vec()).collect();
    let truth: Vec<Vec<i64>> = truth.iter().map(|ids| ids.to_vec()).collect();
    let recall = recall_at_10(&found, &truth).expect("computes");
    assert!((recall - expect).abs() < 1e-12, "recall {recall}, expected {expect}");
}

#[test]
fn recall_divides_by_the_passing_rows_when_fewer_than_10() {
    let ten: Vec<i64> = (0..10).collect();
    check_recall(&[&ten], &[&ten], 1.0);
    let reversed: Vec<i64> = (0..10).rev().collect();
    check_recall(&[&reversed], &[&ten], 1.0);
    check_recall(&[&[0, 1, 2, 3, 4, 5, 6, 7, 50, 51]], &[&ten], 0.8);
    // Hits past the tenth do not count; duplicates count once.
    check_recall(&[&[50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 0]], &[&ten], 0.0);
    check_recall(&[&[3, 3, 3]], &[&ten], 0.1);
    // Two rows pass: finding both is full recall, one of them half.
    check_recall(&[&[7, 9]], &[&[9, 7]], 1.0);
    check_recall(&[&[7, 1, 2]], &[&[9, 7]], 0.5);
    // The mean over queries.
    check_recall(&[&ten, &[7], &[]], &[&ten, &[9, 7], &[4]], 0.5);

    let err = recall_at_10(&[vec![1]], &[vec![]]).expect_err("no truth");
    assert_eq!(err.to_string(), "query 0: no base row passes the filter");
    let err = recall_at_10(&[vec![1], vec![2]], &[vec![1]]).expect_err("one truth short");
    assert_eq!(err.to_string(), "2 queries searched but 1 have a ground truth");
    assert!(recall_at_10(&[], &[]).is_err());
}
