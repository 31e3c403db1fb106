//! The stored form: round trips give identical searches, and no input (truncated, flipped or
//! arbitrary bytes) makes `from_bytes` panic or yields an index that panics when searched.

use proptest::collection::vec;
use proptest::prelude::*;
use quiver_core::Metric;

use super::{FORMAT_VERSION, HEADER_LEN};
use crate::error::IndexError;
use crate::hnsw::tests::{clustered, params};
use crate::hnsw::{Hnsw, SearchScratch};
use crate::testing::Rng;

const METRICS: [Metric; 3] = [Metric::L2, Metric::Ip, Metric::Cosine];

fn small_index(metric: Metric, n: usize, dim: usize) -> (Vec<f32>, Hnsw) {
    let vectors = clustered(n, dim, 4, n as u64 + dim as u64);
    // M = 2 gives many upper levels on few rows, so every section of the format is present.
    let index = Hnsw::build(&vectors, dim, metric, &params(2, 10), 1).expect("build");
    (vectors, index)
}

/// Loads `bytes` and, when that succeeds, searches the result: neither may panic, and a
/// successful search returns at most `k` distinct in-range rows.
#[track_caller]
fn check_load_is_safe(bytes: &[u8], vectors: &[f32], n: usize, dim: usize, metric: Metric) {
    let Ok(index) = Hnsw::from_bytes(bytes, n, dim, metric) else { return };
    let mut scratch = SearchScratch::new();
    for query in vectors.chunks_exact(dim).take(3) {
        let res = index.search(vectors, query, 5, 8, None, &mut scratch).expect("valid input");
        assert!(res.len() <= 5 && res.iter().all(|hit| (hit.id as usize) < n));
    }
}

#[test]
fn round_trip_gives_identical_searches() {
    for metric in METRICS {
        let (vectors, index) = small_index(metric, 300, 6);
        let bytes = index.to_bytes();
        let loaded = Hnsw::from_bytes(&bytes, 300, 6, metric).expect("load");
        assert_eq!(loaded.to_bytes(), bytes);
        assert_eq!(loaded.params(), index.params());
        let (mut a, mut b) = (SearchScratch::new(), SearchScratch::new());
        for query in clustered(20, 6, 4, 1).chunks_exact(6) {
            let want = index.search(&vectors, query, 10, 20, None, &mut a).expect("search");
            let got = loaded.search(&vectors, query, 10, 20, None, &mut b).expect("search");
            assert_eq!(got, want, "{metric}");
        }
    }
}

#[test]
fn empty_and_single_row_indexes_round_trip() {
    for n in [0, 1] {
        let (vectors, index) = small_index(Metric::Cosine, n, 3);
        let loaded = Hnsw::from_bytes(&index.to_bytes(), n, 3, Metric::Cosine).expect("load");
        let res = loaded.search(&vectors, &[1.0, 2.0, 3.0], 3, 3, None, &mut SearchScratch::new());
        assert_eq!(res.expect("search").len(), n);
    }
}

#[test]
fn every_truncation_is_an_error() {
    for metric in METRICS {
        let (_, index) = small_index(metric, 40, 3);
        let bytes = index.to_bytes();
        for len in 0..bytes.len() {
            let res = Hnsw::from_bytes(&bytes[..len], 40, 3, metric);
            assert!(
                matches!(res, Err(IndexError::Corrupt { .. })),
                "{metric}: truncation to {len} bytes gave {res:?}"
            );
        }
    }
}

#[test]
fn byte_flips_are_rejected_or_harmless() {
    let mut rng = Rng::new(42);
    for metric in METRICS {
        let (vectors, index) = small_index(metric, 60, 4);
        let bytes = index.to_bytes();
        // Every byte of the header and level table flipped, then random flips in the lists.
        let random: Vec<usize> = (0..2000).map(|_| rng.next_u64() as usize).collect();
        for (i, at) in (0..HEADER_LEN + 60).chain(random).enumerate() {
            let mut corrupt = bytes.clone();
            corrupt[at % bytes.len()] ^= 1 << (i % 8);
            check_load_is_safe(&corrupt, &vectors, 60, 4, metric);
        }
    }
}

#[test]
fn a_foreign_segment_or_version_is_refused() {
    let (_, index) = small_index(Metric::L2, 30, 4);
    let bytes = index.to_bytes();
    let stored =
        |field, expected, stored| Err(IndexError::StoredMismatch { field, expected, stored });
    assert_eq!(Hnsw::from_bytes(&bytes, 31, 4, Metric::L2).map(|_| ()), stored("rows", 31, 30));
    assert_eq!(Hnsw::from_bytes(&bytes, 30, 5, Metric::L2).map(|_| ()), stored("dim", 5, 4));
    assert_eq!(Hnsw::from_bytes(&bytes, 30, 4, Metric::Ip).map(|_| ()), stored("metric", 1, 0));
    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(
        Hnsw::from_bytes(&newer, 30, 4, Metric::L2).map(|_| ()),
        Err(IndexError::UnsupportedVersion {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        })
    );
}

#[test]
fn out_of_range_links_and_levels_are_corrupt() {
    let (_, index) = small_index(Metric::L2, 30, 4);
    let bytes = index.to_bytes();
    let m = index.params().m();
    let level0_at = HEADER_LEN + 32; // 30 level bytes padded to 32.
    let reason = |bytes: &[u8]| match Hnsw::from_bytes(bytes, 30, 4, Metric::L2) {
        Err(IndexError::Corrupt { reason, .. }) => reason,
        other => panic!("expected corrupt, got {other:?}"),
    };
    let mut bad = bytes.clone();
    bad[level0_at..level0_at + 4].copy_from_slice(&(2 * m as u32 + 1).to_le_bytes());
    assert_eq!(reason(&bad), "neighbour count above M bound");
    let mut bad = bytes.clone();
    bad[level0_at..level0_at + 4].copy_from_slice(&1u32.to_le_bytes());
    bad[level0_at + 4..level0_at + 8].copy_from_slice(&30u32.to_le_bytes());
    assert_eq!(reason(&bad), "neighbour id out of range");
    let mut bad = bytes.clone();
    bad[HEADER_LEN + 3] = 41;
    assert_eq!(reason(&bad), "level above the max level");
    let mut bad = bytes.clone();
    bad[40..44].copy_from_slice(&30u32.to_le_bytes());
    assert_eq!(reason(&bad), "entry point out of range");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600), n in 0usize..40) {
        let vectors = vec![0.5f32; n * 3];
        for metric in METRICS {
            check_load_is_safe(&bytes, &vectors, n, 3, metric);
        }
    }

    #[test]
    fn a_valid_header_with_arbitrary_lists_never_panics(
        seed in any::<u64>(),
        edits in vec((any::<usize>(), any::<u32>()), 1..8),
    ) {
        let metric = METRICS[(seed % 3) as usize];
        let (vectors, index) = small_index(metric, 25, 3);
        let mut bytes = index.to_bytes();
        let body = bytes.len() - HEADER_LEN;
        for (at, value) in edits {
            // Overwrite whole little-endian words in the body: counts, ids, levels, norms.
            let at = HEADER_LEN + (at % body) / 4 * 4;
            let end = (at + 4).min(bytes.len());
            bytes[at..end].copy_from_slice(&value.to_le_bytes()[..end - at]);
        }
        check_load_is_safe(&bytes, &vectors, 25, 3, metric);
    }
}
