//! HNSW against its oracle, [`flat_search`]: recall@10 on seeded clustered data for every
//! metric, filtered recall across pass ratios, and the edge cases (tiny and empty indexes,
//! fewer accepted rows than `k`, degenerate data).
//!
//! The recall tests build with `M = 16, efConstruction = 100` and search with
//! [`DEFAULT_TEST_EF`] = 64, the `ef` the engine should default to for `k <= 64`.

use quiver_core::Metric;

use super::{Hnsw, HnswParams, SearchScratch};
use crate::flat::flat_search;
use crate::testing::Rng;
use crate::topk::Neighbor;

/// The search beam the recall tests hold to 0.95.
const DEFAULT_TEST_EF: usize = 64;

/// `n` rows of `dim` floats around `clusters` Gaussian-ish centres (sums of uniforms), like
/// `shared/bench/dataset.py`: the shape real embeddings have and the hard case for graphs.
pub(super) fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let centres = rng.vec_in(clusters * dim, -1.0, 1.0);
    let mut res = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = (rng.next_u64() % clusters as u64) as usize;
        for d in 0..dim {
            let noise = (0..3).map(|_| rng.f32_in(-0.35, 0.35)).sum::<f32>();
            res.push(centres[c * dim + d] + noise);
        }
    }
    res
}

/// `n` rows and `n_queries` queries from the same clusters (queries are held-out rows).
fn rows_and_queries(n: usize, n_queries: usize, dim: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut vectors = clustered(n + n_queries, dim, 64, seed);
    let queries = vectors.split_off(n * dim);
    (vectors, queries)
}

pub(super) fn params(m: i64, ef_construction: i64) -> HnswParams {
    HnswParams::new(m, ef_construction).expect("valid parameters")
}

/// Mean recall@k of `index` against the exact search, over `queries`.
fn recall(
    index: &Hnsw,
    vectors: &[f32],
    queries: &[f32],
    k: usize,
    ef: usize,
    accept: Option<&dyn Fn(u32) -> bool>,
) -> f64 {
    let dim = index.dim();
    let mut scratch = SearchScratch::new();
    let (mut hits, mut total) = (0, 0);
    for query in queries.chunks_exact(dim) {
        let got = index.search(vectors, query, k, ef, accept, &mut scratch).expect("search");
        let flat_accept = |row: usize| accept.is_none_or(|f| f(row as u32));
        let want = flat_search(vectors, dim, query, index.metric(), k, &flat_accept);
        assert_eq!(got.len(), want.len(), "hnsw returned fewer hits than exist");
        assert!(got.windows(2).all(|w| w[0].distance <= w[1].distance), "not sorted");
        if let Some(f) = accept {
            assert!(got.iter().all(|n| f(n.id as u32)), "returned a rejected row");
        }
        hits += got.iter().filter(|g| want.iter().any(|w| w.id == g.id)).count();
        total += want.len();
    }
    hits as f64 / total.max(1) as f64
}

#[track_caller]
fn check_recall(metric: Metric, dim: usize, min_recall: f64) {
    let n = 20_000;
    let (vectors, queries) = rows_and_queries(n, 200, dim, 7);
    let index = Hnsw::build(&vectors, dim, metric, &params(16, 100), 2).expect("build");
    assert_eq!(index.len(), n);
    let got = recall(&index, &vectors, &queries, 10, DEFAULT_TEST_EF, None);
    assert!(got >= min_recall, "{metric} dim {dim}: recall@10 {got:.3} < {min_recall}");
}

#[test]
fn recall_at_10_l2() {
    check_recall(Metric::L2, 32, 0.95);
}

#[test]
fn recall_at_10_ip() {
    check_recall(Metric::Ip, 64, 0.95);
}

#[test]
fn recall_at_10_cosine() {
    check_recall(Metric::Cosine, 128, 0.95);
}

/// Pseudo-random rows passing with probability `pass`, from a hash so it is fixed per row.
fn passes(row: u32, pass: f64) -> bool {
    let hash = u64::from(row).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    (hash as f64) < pass * (1u64 << 24) as f64
}

#[test]
fn filtered_recall_holds_from_5_to_100_percent_pass() {
    let dim = 32;
    let (vectors, queries) = rows_and_queries(20_000, 100, dim, 11);
    let index = Hnsw::build(&vectors, dim, Metric::L2, &params(16, 100), 2).expect("build");
    for pass in [0.05, 0.10, 0.50, 1.0] {
        let accept = |row: u32| passes(row, pass);
        let got = recall(&index, &vectors, &queries, 10, DEFAULT_TEST_EF, Some(&accept));
        assert!(got >= 0.95, "pass ratio {pass}: filtered recall@10 {got:.3}");
    }
}

/// Search results for one query, by the index and by the exact scan.
fn both(
    index: &Hnsw,
    vectors: &[f32],
    query: &[f32],
    k: usize,
    ef: usize,
    accept: &dyn Fn(u32) -> bool,
) -> (Vec<Neighbor>, Vec<Neighbor>) {
    let got =
        index.search(vectors, query, k, ef, Some(accept), &mut SearchScratch::new()).expect("ok");
    let want =
        flat_search(vectors, index.dim(), query, index.metric(), k, &|row| accept(row as u32));
    (got, want)
}

#[test]
fn more_k_than_accepted_rows_returns_every_accepted_row() {
    let dim = 16;
    let vectors = clustered(5_000, dim, 16, 3);
    let index = Hnsw::build(&vectors, dim, Metric::L2, &params(8, 50), 2).expect("build");
    let query = &vectors[..dim];
    for accepted in [0u32, 1, 7, 30] {
        // Rows scattered over the whole id range, so the walk cannot find them all nearby.
        let accept = |row: u32| row % 97 == 5 && row / 97 < accepted;
        let (got, want) = both(&index, &vectors, query, 50, 50, &accept);
        assert_eq!(want.len(), accepted as usize);
        assert_eq!(got, want, "{accepted} accepted rows");
    }
}

#[test]
fn small_indexes_are_exact_and_report_flat_distances() {
    for metric in [Metric::L2, Metric::Ip, Metric::Cosine] {
        for n in [1, 2, 3, 10, 60] {
            let dim = 5;
            let vectors = clustered(n, dim, 3, n as u64);
            let index = Hnsw::build(&vectors, dim, metric, &params(4, 16), 1).expect("build");
            for query in clustered(5, dim, 3, 99).chunks_exact(dim) {
                // ef >= n: the walk reaches everything the graph connects, and the scan the rest.
                let (got, want) = both(&index, &vectors, query, n, 64, &|_| true);
                assert_eq!(got, want, "{metric} n={n}");
            }
        }
    }
}

#[test]
fn empty_index_searches_to_nothing() {
    let index = Hnsw::build(&[], 8, Metric::L2, &params(16, 200), 2).expect("build");
    assert!(index.is_empty());
    let mut scratch = SearchScratch::new();
    let res = index.search(&[], &[0.0; 8], 10, 10, None, &mut scratch).expect("search");
    assert!(res.is_empty());
}

#[test]
fn k_zero_returns_nothing() {
    let vectors = clustered(10, 4, 2, 1);
    let index = Hnsw::build(&vectors, 4, Metric::L2, &params(4, 8), 1).expect("build");
    let res = index.search(&vectors, &vectors[..4], 0, 1, None, &mut SearchScratch::new());
    assert_eq!(res, Ok(Vec::new()));
}

#[test]
fn degenerate_data_still_yields_k_results() {
    // All-equal rows (every distance ties) and all-zero rows under COSINE (every cosine is 0).
    for (metric, value) in [(Metric::L2, 1.5f32), (Metric::Cosine, 0.0), (Metric::Ip, 2.0)] {
        let vectors = vec![value; 300 * 4];
        let index = Hnsw::build(&vectors, 4, metric, &params(4, 20), 2).expect("build");
        let (got, want) = both(&index, &vectors, &[1.0, 0.0, 0.0, 0.0], 10, 10, &|_| true);
        assert_eq!(got.len(), 10, "{metric}");
        assert!(got.iter().zip(&want).all(|(g, w)| g.distance == w.distance), "{metric}");
    }
}

#[test]
fn one_thread_builds_are_reproducible() {
    let vectors = clustered(2_000, 8, 8, 5);
    let build = |seed| {
        let params = params(8, 40).with_seed(seed);
        Hnsw::build(&vectors, 8, Metric::L2, &params, 1).expect("build").to_bytes()
    };
    assert_eq!(build(1), build(1));
    assert_ne!(build(1), build(2));
}

#[test]
fn memory_is_the_graph_not_the_vectors() {
    let (n, dim) = (10_000, 64);
    let vectors = clustered(n, dim, 16, 9);
    let index = Hnsw::build(&vectors, dim, Metric::L2, &params(16, 40), 2).expect("build");
    let level0 = n * (1 + 32) * 4;
    let bytes = index.memory_bytes();
    // Level 0 plus about 1/15 of the rows on upper levels, plus the offsets: well under 1.2×.
    assert!(bytes >= level0 && bytes < level0 * 6 / 5, "{bytes} bytes");
}

#[test]
fn zero_threads_builds_like_one() {
    let vectors = clustered(500, 4, 4, 8);
    let build = |threads| {
        Hnsw::build(&vectors, 4, Metric::Ip, &params(4, 16), threads).expect("build").to_bytes()
    };
    assert_eq!(build(0), build(1));
}
