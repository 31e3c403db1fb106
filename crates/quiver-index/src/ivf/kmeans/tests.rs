use super::{Geometry, RowSet, SplitMix64, TrainingSet, assign, draw_distinct, split_empty, train};
use crate::ivf::fixtures::clustered;

/// Eight tight blobs far apart, 100 rows each, row `i` in blob `i % 8`.
fn blobs(dim: usize) -> Vec<f32> {
    let mut rows = Vec::new();
    let noise = clustered(800, dim, 1, 3);
    for (i, jitter) in noise.chunks_exact(dim).enumerate() {
        for (d, x) in jitter.iter().enumerate() {
            // Blob b sits at 100·(±1, ±1, ±1, 0, …) by the bits of b; the single-cluster
            // fixture adds one shared random offset plus N(0, 0.35) noise.
            let b = i % 8;
            let centre = if d < 3 { if b >> d & 1 == 1 { 100.0 } else { -100.0 } } else { 0.0 };
            rows.push(centre + x);
        }
    }
    rows
}

#[track_caller]
fn check_recovers_blobs(geometry: Geometry) {
    let dim = 6;
    let rows = blobs(dim);
    let trained = train(&rows, dim, 8, geometry, 11, 2);
    let centroids = trained.centroids;
    assert_eq!(centroids.len(), 8 * dim);
    let (labels, _) = assign(&rows, dim, RowSet::All(800), &centroids, geometry, 2);
    // Training on every row labelled them as a full scan does.
    assert_eq!(trained.labels.as_ref(), Some(&labels));
    for blob in 0..8 {
        let label = labels[blob];
        let members: Vec<usize> = (0..800).filter(|&i| labels[i] == label).collect();
        let want: Vec<usize> = (blob..800).step_by(8).collect();
        assert_eq!(members, want, "{geometry:?}: blob {blob}");
    }
    if geometry == Geometry::Spherical {
        for centroid in centroids.chunks_exact(dim) {
            let norm = centroid.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
    }
}

#[test]
fn separated_blobs_are_recovered() {
    check_recovers_blobs(Geometry::Euclidean);
    check_recovers_blobs(Geometry::Spherical);
}

#[test]
fn centroids_depend_on_the_seed_not_on_the_threads() {
    let rows = clustered(2000, 8, 20, 5);
    for geometry in [Geometry::Euclidean, Geometry::Spherical] {
        let centroids = |seed, threads| train(&rows, 8, 32, geometry, seed, threads).centroids;
        let one = centroids(1, 1);
        for threads in [0, 2, 5, 64] {
            assert_eq!(centroids(1, threads), one, "{threads} threads");
        }
        assert_ne!(centroids(2, 1), one);
    }
}

#[test]
fn k_above_the_row_count_is_clamped() {
    let rows = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
    let trained = train(&rows, 2, 10, Geometry::Euclidean, 0, 2);
    // Five rows, five clusters: every row is its own centroid.
    let mut sorted: Vec<f32> = trained.centroids.clone();
    sorted.sort_by(f32::total_cmp);
    assert_eq!(sorted, rows);
    let mut labels = trained.labels.unwrap_or_default();
    labels.sort_unstable();
    assert_eq!(labels, [0, 1, 2, 3, 4]);
    let empty = train(&[], 2, 10, Geometry::Euclidean, 0, 2);
    assert_eq!((empty.centroids, empty.labels), (Vec::new(), Some(Vec::new())));
}

#[test]
fn identical_and_zero_rows_do_not_break_training() {
    for geometry in [Geometry::Euclidean, Geometry::Spherical] {
        for value in [0.0f32, 3.0] {
            let rows = vec![value; 100 * 4];
            let centroids = train(&rows, 4, 8, geometry, 0, 2).centroids;
            assert_eq!(centroids.len(), 8 * 4);
            assert!(centroids.iter().all(|x| x.is_finite()));
            let (labels, _) = assign(&rows, 4, RowSet::All(100), &centroids, geometry, 2);
            assert!(labels.iter().all(|&l| l == labels[0]), "{geometry:?}");
        }
    }
}

#[test]
fn empty_clusters_take_the_farthest_member_of_the_largest_clusters() {
    let dim = 2;
    let rows: Vec<f32> = (0..8).flat_map(|i| [i as f32, 0.0]).collect();
    let set = TrainingSet::new(&rows, dim, RowSet::All(8), Geometry::Euclidean);
    let cluster = |size, farthest| super::Cluster { size, farthest };
    // Cluster 2 is the largest, then 0; 1 and 3 are empty; 4 has one member and cannot split.
    let clusters = [cluster(3, 5), cluster(0, 0), cluster(4, 7), cluster(0, 0), cluster(1, 2)];
    let mut centroids = vec![-1.0f32; 5 * dim];
    split_empty(&set, &clusters, &mut centroids);
    assert_eq!(centroids, [-1.0, -1.0, 7.0, 0.0, -1.0, -1.0, 5.0, 0.0, -1.0, -1.0]);
    // With no cluster able to give a member up, empty clusters stay as they are.
    let clusters = [cluster(1, 3), cluster(0, 0)];
    let mut centroids = vec![-1.0f32; 2 * dim];
    split_empty(&set, &clusters, &mut centroids);
    assert_eq!(centroids, [-1.0; 4]);
}

#[test]
fn training_on_a_sample_still_finds_the_blobs() {
    // 70000 rows exceed the minimum sample of 65536 for k = 8, so a sample is drawn.
    let dim = 3;
    let base = blobs(dim);
    let rows: Vec<f32> = base.iter().copied().cycle().take(70_000 / 800 * 800 * dim).collect();
    let n = rows.len() / dim;
    assert!(n > super::MIN_SAMPLE);
    let trained = train(&rows, dim, 8, Geometry::Euclidean, 4, 2);
    assert_eq!(trained.labels, None);
    let (labels, _) =
        assign(&rows, dim, RowSet::All(n), &trained.centroids, Geometry::Euclidean, 2);
    let mut seen: Vec<u32> = labels[..8].to_vec();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 8);
    assert!(labels.iter().enumerate().all(|(i, &l)| l == labels[i % 8]));
}

#[test]
fn draws_are_distinct_and_in_range() {
    let mut rng = SplitMix64(9);
    for (n, m) in [(0, 0), (1, 1), (10, 3), (10, 10), (1000, 999)] {
        let mut drawn = draw_distinct(&mut rng, n, m);
        assert_eq!(drawn.len(), m);
        drawn.sort_unstable();
        drawn.dedup();
        assert_eq!(drawn.len(), m);
        assert!(drawn.iter().all(|&x| (x as usize) < n));
    }
}
