//! Exact brute-force search over a row-major `f32` matrix: the baseline index for small
//! segments and the oracle that approximate indexes are measured against.
//!
//! Every function here treats `vectors` as rows of `dim` floats; row `i` is
//! `vectors[i * dim..(i + 1) * dim]` and is reported with id `i`. A trailing partial row
//! (when `vectors.len()` is not a multiple of `dim`) is ignored. When `dim` is 0 or the
//! query length is not `dim`, the result is empty: the engine validates dimensions before it
//! gets here, and an empty answer is the safe one if it did not.
//!
//! `accept(row)` is called once per row, before the distance is computed; rows it rejects
//! (deleted rows, rows failing a filter) are skipped. The scan allocates nothing per row.

#[cfg(test)]
mod tests;

use quiver_core::Metric;

use crate::distance::PreparedQuery;
use crate::range::SearchRange;
use crate::topk::{Neighbor, TopK};

/// The `k` accepted rows closest to `query`, closest first (ties by smaller row id).
///
/// Returns fewer than `k` when fewer rows are accepted, and nothing when `k` is 0.
pub fn flat_search(
    vectors: &[f32],
    dim: usize,
    query: &[f32],
    metric: Metric,
    k: usize,
    accept: &dyn Fn(usize) -> bool,
) -> Vec<Neighbor> {
    if k == 0 || dim == 0 || query.len() != dim {
        return Vec::new();
    }
    let query = PreparedQuery::new(metric, query);
    let mut top = TopK::new(k);
    let row_bytes = dim * 4;
    for (row, vector) in vectors.chunks_exact(dim).enumerate() {
        // Ask for the row a few ahead: the scan is bound by memory, and the hint keeps
        // several lines in flight beyond what the hardware prefetcher starts on its own.
        let ahead = vector.as_ptr().wrapping_add(PREFETCH_ROWS_AHEAD * dim).cast::<u8>();
        let mut offset = 0;
        while offset < row_bytes {
            crate::hnsw::prefetch::prefetch(ahead.wrapping_add(offset));
            offset += 64;
        }
        if accept(row) {
            top.push(row as u64, query.distance(vector));
        }
    }
    top.into_sorted_vec()
}

/// How far ahead [`flat_search`] prefetches, in rows.
const PREFETCH_ROWS_AHEAD: usize = 4;

/// [`flat_search`] for each query in `queries`, a row-major matrix of queries of `dim` floats
/// (a trailing partial query is ignored). One result list per query, in order.
pub fn flat_search_batch(
    vectors: &[f32],
    dim: usize,
    queries: &[f32],
    metric: Metric,
    k: usize,
    accept: &dyn Fn(usize) -> bool,
) -> Vec<Vec<Neighbor>> {
    if dim == 0 {
        return Vec::new();
    }
    queries
        .chunks_exact(dim)
        .map(|query| flat_search(vectors, dim, query, metric, k, accept))
        .collect()
}

/// Up to `k` accepted rows within `range` of `query` (Milvus range search: see
/// [`SearchRange`] for which distances are hits), closest first (ties by smaller row id).
///
/// Like Milvus, `k` (the request's limit) caps the result: with more hits than `k`, the `k`
/// closest are returned.
pub fn flat_range_search(
    vectors: &[f32],
    dim: usize,
    query: &[f32],
    metric: Metric,
    k: usize,
    range: SearchRange,
    accept: &dyn Fn(usize) -> bool,
) -> Vec<Neighbor> {
    if k == 0 || dim == 0 || query.len() != dim {
        return Vec::new();
    }
    let (lower, upper) = range.distance_bounds(metric);
    let query = PreparedQuery::new(metric, query);
    let mut top = TopK::new(k);
    for (row, vector) in vectors.chunks_exact(dim).enumerate() {
        if !accept(row) {
            continue;
        }
        let distance = query.distance(vector);
        if lower <= distance && distance < upper {
            top.push(row as u64, distance);
        }
    }
    top.into_sorted_vec()
}
