//! Both IVF indexes against the exact search, on clustered data like the benchmark's.

use std::sync::OnceLock;

use quiver_core::Metric;

use crate::error::IndexError;
use crate::flat::flat_search;
use crate::topk::Neighbor;

use super::fixtures::{Ivf, KINDS, Kind, clustered};

const N: usize = 20_000;
const DIM: usize = 64;
const NLIST: usize = 128;
const NQ: usize = 100;
const K: usize = 10;
const METRICS: [Metric; 3] = [Metric::L2, Metric::Ip, Metric::Cosine];

/// Clusters in the test data. `dataset.py` draws 256 for 100k rows, where `nlist = 1024`
/// cuts each cluster into about four lists; here 16 clusters over `NLIST = 128` lists cut each
/// into about eight, so the nearest rows of a query spread over several lists and `nprobe`
/// matters. (With 256 clusters and 128 lists one list holds whole clusters, and `nprobe = 1`
/// already has a recall of 0.997.)
const CLUSTERS: usize = 16;

/// The segment and the queries: `N + NQ` rows drawn like `dataset.py`'s, split like it.
fn data() -> &'static (Vec<f32>, Vec<f32>) {
    static DATA: OnceLock<(Vec<f32>, Vec<f32>)> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut rows = clustered(N + NQ, DIM, CLUSTERS, 7);
        let queries = rows.split_off(N * DIM);
        (rows, queries)
    })
}

/// The index of each kind and metric over [`data`], built once for all the tests.
fn build(kind: Kind, metric: Metric) -> &'static Ivf {
    static BUILT: [[OnceLock<Ivf>; 3]; 2] = [const { [const { OnceLock::new() }; 3] }; 2];
    let metric_index = METRICS.iter().position(|&m| m == metric).unwrap_or(0);
    BUILT[kind as usize][metric_index].get_or_init(|| {
        Ivf::build(kind, &data().0, DIM, metric, NLIST as i64, 2).expect("valid parameters")
    })
}

/// Recall@`K` of `index` against `flat_search` over the queries, with the same filter.
fn recall(index: &Ivf, metric: Metric, nprobe: usize, accept: Option<&dyn Fn(u32) -> bool>) -> f64 {
    let (vectors, queries) = data();
    let (mut found, mut wanted) = (0, 0);
    for query in queries.chunks_exact(DIM) {
        let want = flat_search(vectors, DIM, query, metric, K, &|row| {
            accept.is_none_or(|accept| accept(row as u32))
        });
        let got = index.search(query, K, nprobe, accept).expect("valid search");
        assert!(got.len() <= K);
        found += got.iter().filter(|hit| want.iter().any(|w| w.id == hit.id)).count();
        wanted += want.len();
    }
    found as f64 / wanted as f64
}

#[track_caller]
fn check_recall(kind: Kind, metric: Metric, nprobe: usize, min: f64) {
    let got = recall(build(kind, metric), metric, nprobe, None);
    assert!(got >= min, "{kind:?} {metric:?} nprobe {nprobe}: recall {got} < {min}");
}

#[test]
fn recall_at_nprobe_nlist_over_8_is_at_least_0_9() {
    for kind in KINDS {
        for metric in METRICS {
            check_recall(kind, metric, NLIST / 8, 0.9);
        }
    }
}

#[test]
fn recall_grows_with_nprobe() {
    for kind in KINDS {
        for metric in [Metric::L2, Metric::Cosine] {
            let index = build(kind, metric);
            let recalls: Vec<f64> =
                [1, 2, 4, 8, 16, 32, 128].iter().map(|&p| recall(index, metric, p, None)).collect();
            // IVF_FLAT scans a superset of rows as nprobe grows, so its recall cannot drop;
            // IVF_SQ8 ranks by decoded vectors, so allow it a hair of noise.
            let slack = if kind == Kind::Flat { 0.0 } else { 0.005 };
            for pair in recalls.windows(2) {
                assert!(pair[1] >= pair[0] - slack, "{kind:?} {metric:?}: {recalls:?}");
            }
            assert!(recalls[0] < 0.9 && recalls[6] > recalls[0] + 0.2, "{kind:?}: {recalls:?}");
            if kind == Kind::Flat {
                assert_eq!(recalls[6], 1.0, "{metric:?}: {recalls:?}");
            }
        }
    }
}

#[test]
fn ivf_flat_with_nprobe_nlist_is_exactly_flat_search() {
    let (vectors, queries) = data();
    let accept = |row: u32| !row.is_multiple_of(3);
    for metric in METRICS {
        let index = build(Kind::Flat, metric);
        for query in queries.chunks_exact(DIM).take(20) {
            let want = flat_search(vectors, DIM, query, metric, K, &|_| true);
            assert_eq!(index.search(query, K, NLIST, None), Ok(want));
            let want = flat_search(vectors, DIM, query, metric, K, &|row| accept(row as u32));
            assert_eq!(index.search(query, K, NLIST, Some(&accept)), Ok(want));
        }
    }
}

#[test]
fn filtered_search_returns_only_accepted_rows_and_finds_them() {
    // 10% of the rows pass.
    let accept = |row: u32| row % 10 == 7;
    for kind in KINDS {
        for metric in [Metric::L2, Metric::Cosine] {
            let index = build(kind, metric);
            for query in data().1.chunks_exact(DIM) {
                let got = index.search(query, K, NLIST / 8, Some(&accept)).expect("valid search");
                assert_eq!(got.len(), K);
                assert!(got.iter().all(|hit| accept(hit.id as u32)), "{kind:?}: {got:?}");
            }
            let got = recall(index, metric, NLIST / 8, Some(&accept));
            assert!(got >= 0.9, "{kind:?} {metric:?}: filtered recall {got}");
        }
    }
}

#[test]
fn a_selective_filter_scans_further_lists_until_k_rows_are_found() {
    let (vectors, queries) = data();
    // Five rows in all pass, almost surely in lists far from the query.
    let accept = |row: u32| row % 4000 == 123;
    for kind in KINDS {
        let index = build(kind, Metric::L2);
        for query in queries.chunks_exact(DIM).take(5) {
            let got = index.search(query, K, 1, Some(&accept)).expect("valid search");
            let mut ids: Vec<u64> = got.iter().map(|hit| hit.id).collect();
            ids.sort_unstable();
            assert_eq!(ids, [123, 4123, 8123, 12123, 16123], "{kind:?}");
            if kind == Kind::Flat {
                let want = flat_search(vectors, DIM, query, Metric::L2, K, &|r| accept(r as u32));
                assert_eq!(got, want);
            }
        }
    }
}

#[test]
fn serialization_round_trip_gives_identical_results() {
    let (_, queries) = data();
    let accept = |row: u32| row.is_multiple_of(2);
    for kind in KINDS {
        for metric in METRICS {
            let index = build(kind, metric);
            let bytes = index.to_bytes();
            let loaded = Ivf::from_bytes(kind, &bytes, N, DIM, metric).expect("own bytes load");
            assert_eq!(loaded.to_bytes(), bytes);
            assert_eq!(loaded.memory_bytes(), index.memory_bytes());
            for query in queries.chunks_exact(DIM).take(20) {
                for nprobe in [1, 16] {
                    assert_eq!(
                        loaded.search(query, K, nprobe, None),
                        index.search(query, K, nprobe, None)
                    );
                    assert_eq!(
                        loaded.search(query, K, nprobe, Some(&accept)),
                        index.search(query, K, nprobe, Some(&accept))
                    );
                }
            }
        }
    }
}

#[test]
fn the_build_does_not_depend_on_the_thread_count() {
    let vectors = &data().0[..3000 * DIM];
    for kind in KINDS {
        for metric in [Metric::L2, Metric::Cosine] {
            let one = Ivf::build(kind, vectors, DIM, metric, 32, 1).map(|i| i.to_bytes());
            for threads in [0, 2, 3, 7] {
                let many =
                    Ivf::build(kind, vectors, DIM, metric, 32, threads).map(|i| i.to_bytes());
                assert_eq!(many, one, "{kind:?} {metric:?} {threads} threads");
            }
        }
    }
}

fn out_of_range(param: &'static str, value: i64, min: i64, max: i64) -> IndexError {
    IndexError::ParamOutOfRange { param, value, min, max }
}

#[test]
fn out_of_range_parameters_are_refused_with_the_allowed_range() {
    let vectors = &data().0[..500 * DIM];
    let query = &data().1[..DIM];
    for kind in KINDS {
        for nlist in [0, -5, 65537] {
            let got = Ivf::build(kind, vectors, DIM, Metric::L2, nlist, 1).map(|_| ());
            assert_eq!(got, Err(out_of_range("nlist", nlist, 1, 65536)));
        }
        let index = Ivf::build(kind, vectors, DIM, Metric::L2, 16, 1).expect("valid");
        assert_eq!(index.search(query, K, 0, None), Err(out_of_range("nprobe", 0, 1, 16)));
        assert_eq!(index.search(query, K, 17, None), Err(out_of_range("nprobe", 17, 1, 16)));
        assert_eq!(
            index.search(&query[1..], K, 4, None),
            Err(IndexError::DimMismatch { expected: DIM, got: DIM - 1 })
        );
        assert_eq!(index.search(query, 0, 4, None), Ok(Vec::new()));
        let got = Ivf::build(kind, &vectors[1..], DIM, Metric::L2, 16, 1).map(|_| ());
        assert_eq!(got, Err(IndexError::NotWholeRows { len: 500 * DIM - 1, dim: DIM }));
        let got = Ivf::build(kind, &[], 0, Metric::L2, 16, 1).map(|_| ());
        assert_eq!(got, Err(out_of_range("dim", 0, 1, 32768)));
        let got = Ivf::build(kind, &[], 32769, Metric::L2, 16, 1).map(|_| ());
        assert_eq!(got, Err(out_of_range("dim", 32769, 1, 32768)));
    }
}

#[test]
fn fewer_rows_than_nlist_gives_one_list_per_row() {
    let (vectors, queries) = data();
    let vectors = &vectors[..50 * DIM];
    for kind in KINDS {
        for metric in METRICS {
            let index = Ivf::build(kind, vectors, DIM, metric, 128, 2).expect("valid");
            assert_eq!(index.lists(), 50);
            let query = &queries[..DIM];
            // nprobe is checked against the requested nlist, not the 50 lists.
            let full = index.search(query, K, 128, None).expect("nprobe <= nlist");
            assert_eq!(index.search(query, K, 50, None).as_ref(), Ok(&full));
            assert_eq!(index.search(query, K, 1, None).map(|hits| hits.len()), Ok(K));
            if kind == Kind::Flat {
                assert_eq!(full, flat_search(vectors, DIM, query, metric, K, &|_| true));
            }
            assert_eq!(index.search(query, 100, 3, None).map(|hits| hits.len()), Ok(50));
        }
    }
}

#[test]
fn one_row_and_no_rows() {
    let row = [1.0f32, -2.0, 0.5];
    for kind in KINDS {
        for metric in METRICS {
            let index = Ivf::build(kind, &row, 3, metric, 64, 2).expect("valid");
            assert_eq!(index.lists(), 1);
            let hits = index.search(&[1.0, -2.0, 0.0], 5, 64, None).expect("valid search");
            assert_eq!(hits.iter().map(|hit| hit.id).collect::<Vec<_>>(), [0]);
            let reject_all = |_: u32| false;
            assert_eq!(index.search(&row, 5, 1, Some(&reject_all)), Ok(Vec::new()));
            let loaded = Ivf::from_bytes(kind, &index.to_bytes(), 1, 3, metric).expect("loads");
            assert_eq!(loaded.search(&row, 5, 1, None), index.search(&row, 5, 1, None));

            let empty = Ivf::build(kind, &[], 3, metric, 64, 2).expect("valid");
            assert_eq!(empty.lists(), 0);
            assert_eq!(empty.search(&row, 5, 64, None), Ok(Vec::new()));
            assert_eq!(empty.search(&row, 5, 65, None), Err(out_of_range("nprobe", 65, 1, 64)));
            let loaded = Ivf::from_bytes(kind, &empty.to_bytes(), 0, 3, metric).expect("loads");
            assert_eq!(loaded.search(&row, 5, 1, None), Ok(Vec::new()));
        }
    }
}

#[test]
fn sq8_distances_are_close_to_exact_ones_and_its_memory_a_quarter() {
    let (vectors, queries) = data();
    for metric in METRICS {
        let index = build(Kind::Sq8, metric);
        for query in queries.chunks_exact(DIM).take(10) {
            for hit in index.search(query, K, 16, None).expect("valid search") {
                let row = &vectors[hit.id as usize * DIM..(hit.id as usize + 1) * DIM];
                let exact = crate::distance::distance(metric, query, row);
                let tolerance = match metric {
                    Metric::L2 | Metric::Ip => 0.02 * exact.abs().max(1.0),
                    Metric::Cosine => 1e-3,
                };
                assert!(
                    (hit.distance - exact).abs() <= tolerance,
                    "{metric:?}: {hit:?} vs {exact}"
                );
            }
        }
        let flat = build(Kind::Flat, metric).memory_bytes();
        let sq8 = index.memory_bytes();
        // Codes take `dim` bytes a row instead of `4·dim`; ids and centroids are shared costs.
        assert!(sq8 * 3 < flat, "{metric:?}: sq8 {sq8} vs flat {flat}");
    }
}

#[test]
fn k_larger_than_the_segment_returns_every_accepted_row() {
    let vectors = &data().0[..300 * DIM];
    let query = &data().1[..DIM];
    for kind in KINDS {
        let index = Ivf::build(kind, vectors, DIM, Metric::L2, 8, 1).expect("valid");
        let hits: Vec<Neighbor> = index.search(query, 1000, 1, None).expect("valid search");
        assert_eq!(hits.len(), 300);
        assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance));
        let odd = |row: u32| row % 2 == 1;
        assert_eq!(index.search(query, 1000, 2, Some(&odd)).map(|h| h.len()), Ok(150));
    }
}

#[test]
fn indexes_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<super::IvfFlat>();
    shared::<super::IvfSq8>();
    shared::<super::IvfScratch>();
    let index = build(Kind::Sq8, Metric::L2);
    let (_, queries) = data();
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = queries
            .chunks_exact(DIM)
            .take(4)
            .map(|query| scope.spawn(move || index.search(query, K, 8, None)))
            .collect();
        handles.into_iter().map(|h| h.join().expect("no panic")).collect()
    });
    for (query, got) in queries.chunks_exact(DIM).zip(results) {
        assert_eq!(got, index.search(query, K, 8, None));
    }
}
