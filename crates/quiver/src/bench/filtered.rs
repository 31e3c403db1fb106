//! Filtered search (`--filter-pass`): the row filter the searches carry, its exact top-10 and
//! the recall against it.
//!
//! The filter passes a share `p` of the rows, spread evenly over the collection: the rows
//! whose `id` (the collection's Int64 primary key, which the benchmark sets to the base row
//! number) satisfies `id % 10000 < round(p · 10000)`. It is a [`RowFilter`], so the engine
//! evaluates it per segment and searches with the resulting mask exactly as it does for a
//! client's filter expression.
//!
//! The dataset's ground truth knows nothing of the filter, so the benchmark computes its own,
//! exactly: [`quiver_index::flat_search`] over all base vectors in memory, with the same
//! predicate applied to the row number, the dataset's metric and `k = 10`, the queries shared
//! among the benchmark's threads. Recall@10 is then the mean over queries of
//! `|found ∩ truth| / min(10, |truth|)` (fewer than 10 rows may pass on a small dataset).

#[cfg(test)]
mod tests;

use anyhow::{anyhow, ensure};
use quiver_core::ColumnData;
use quiver_engine::{EngineError, RowFilter, SegmentView};
use quiver_index::flat_search;

use super::dataset::{RECALL_K, Shape};
use super::measure;

/// Ids are bucketed by their remainder modulo this; a filter passes the lowest buckets.
pub(crate) const BUCKETS: i64 = 10_000;

/// Passes the rows with `id % BUCKETS < below`, where `below = round(pass · BUCKETS)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct IdFilter {
    /// The share asked for, as given (for the output).
    pass: f64,
    below: i64,
}

impl IdFilter {
    /// The filter for the share `pass`, which should be in (0, 1] (checked by the plan, which
    /// also refuses shares that round to no bucket).
    pub(crate) fn new(pass: f64) -> IdFilter {
        // In 0..=BUCKETS for a share in [0, 1]; `as` saturates anything else.
        let below = (pass * BUCKETS as f64).round() as i64;
        IdFilter { pass, below }
    }

    pub(crate) fn pass(&self) -> f64 {
        self.pass
    }

    /// The number of buckets (of [`BUCKETS`]) that pass.
    pub(crate) fn below(&self) -> i64 {
        self.below
    }

    pub(crate) fn accepts(&self, id: i64) -> bool {
        id.rem_euclid(BUCKETS) < self.below
    }
}

impl RowFilter for IdFilter {
    /// Reads the primary key, column 0 of the benchmark's schema.
    fn evaluate(&self, segment: &SegmentView<'_>) -> Result<Vec<bool>, EngineError> {
        match segment.columns.first().map(|column| &column.data) {
            Some(ColumnData::Int64(ids)) => Ok(ids.iter().map(|id| self.accepts(*id)).collect()),
            _ => Err(EngineError::InvalidRequest {
                what: "filter",
                reason: "the benchmark's filter needs the Int64 key as the first column".to_owned(),
            }),
        }
    }
}

/// For each query, the ids of the (at most [`RECALL_K`]) base rows nearest to it among those
/// `filter` passes, nearest first, by an exact scan of `base` (row-major, `shape.n` rows of
/// `shape.d`); the queries are split among `threads` threads.
pub(crate) fn exact_top_10(
    base: &[f32],
    shape: &Shape,
    queries: &[Vec<f32>],
    filter: &IdFilter,
    threads: usize,
) -> anyhow::Result<Vec<Vec<i64>>> {
    ensure!(
        base.len() == shape.n * shape.d,
        "{} base values do not make {} rows of {}",
        base.len(),
        shape.n,
        shape.d
    );
    // Row numbers are below the dataset's limit of 2^30 rows, so they fit an i64.
    let accept = |row: usize| filter.accepts(row as i64);
    let accept: &(dyn Fn(usize) -> bool + Sync) = &accept;
    let per_thread = queries.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = queries
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || -> Vec<Vec<i64>> {
                    chunk
                        .iter()
                        .map(|query| {
                            flat_search(base, shape.d, query, shape.metric, RECALL_K, accept)
                                .into_iter()
                                .map(|neighbor| neighbor.id as i64)
                                .collect()
                        })
                        .collect()
                })
            })
            .collect();
        let mut truth = Vec::with_capacity(queries.len());
        for worker in workers {
            truth.extend(worker.join().map_err(|_| anyhow!("a ground-truth thread panicked"))?);
        }
        Ok(truth)
    })
}

/// The mean over queries of `|found[..10] ∩ truth| / min(10, |truth|)`, with `truth` holding
/// the exact (at most 10) ids of each query, as [`exact_top_10`] gives them.
pub(crate) fn recall_at_10(found: &[Vec<i64>], truth: &[Vec<i64>]) -> anyhow::Result<f64> {
    ensure!(!found.is_empty(), "no queries");
    ensure!(
        found.len() == truth.len(),
        "{} queries searched but {} have a ground truth",
        found.len(),
        truth.len()
    );
    let mut sum = 0.0;
    for (i, (ids, truth)) in found.iter().zip(truth).enumerate() {
        ensure!(!truth.is_empty(), "query {i}: no base row passes the filter");
        let truth = &truth[..truth.len().min(RECALL_K)];
        sum += measure::hits(ids, truth) as f64 / truth.len() as f64;
    }
    Ok(sum / found.len() as f64)
}
