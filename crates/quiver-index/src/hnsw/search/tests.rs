use quiver_core::Metric;

use super::SearchScratch;
use crate::hnsw::Hnsw;
use crate::hnsw::tests::{clustered, params};
use crate::hnsw::visited::Visited;

#[test]
fn one_scratch_serves_indexes_of_any_size_and_many_searches() {
    let small_vectors = clustered(50, 4, 2, 1);
    let large_vectors = clustered(3_000, 4, 8, 2);
    let small = Hnsw::build(&small_vectors, 4, Metric::L2, &params(4, 16), 1).expect("build");
    let large = Hnsw::build(&large_vectors, 4, Metric::L2, &params(4, 16), 1).expect("build");
    let mut shared = SearchScratch::new();
    for (i, query) in clustered(40, 4, 8, 3).chunks_exact(4).enumerate() {
        let (index, vectors) =
            if i % 2 == 0 { (&small, &small_vectors) } else { (&large, &large_vectors) };
        let got = index.search(vectors, query, 5, 16, None, &mut shared).expect("search");
        let fresh = index.search(vectors, query, 5, 16, None, &mut SearchScratch::new());
        assert_eq!(Ok(got), fresh);
    }
    assert!(shared.memory_bytes() >= 3_000 * 2);
}

#[test]
fn visited_stamps_survive_the_generation_wrapping() {
    let mut visited = Visited::default();
    for walk in 0..70_000u32 {
        visited.start(10);
        let node = walk % 10;
        assert!(!visited.contains(node));
        assert!(visited.insert(node));
        assert!(!visited.insert(node));
        assert!(visited.contains(node));
        assert!(!visited.contains((node + 1) % 10));
    }
}

#[test]
fn searches_run_concurrently_on_one_index() {
    let vectors = clustered(2_000, 8, 8, 4);
    let index = Hnsw::build(&vectors, 8, Metric::Cosine, &params(8, 32), 2).expect("build");
    let queries = clustered(64, 8, 8, 5);
    let serial: Vec<_> = queries
        .chunks_exact(8)
        .map(|q| index.search(&vectors, q, 10, 32, None, &mut SearchScratch::new()))
        .collect();
    let parallel: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = queries
            .chunks(8 * 32)
            .map(|chunk| {
                scope.spawn(|| {
                    let mut scratch = SearchScratch::new();
                    chunk
                        .chunks_exact(8)
                        .map(|q| index.search(&vectors, q, 10, 32, None, &mut scratch))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("no panic")).collect()
    });
    assert_eq!(serial, parallel);
}
