//! [`Hnsw`]: the public face of the index, which checks its inputs and dispatches to the walks
//! monomorphised for the metric and for filtered or unfiltered search.

use std::fmt;

use quiver_core::Metric;

use crate::distance::{PreparedQuery, kernels};
use crate::error::IndexError;
use crate::topk::Neighbor;

use super::build::{self, Built, Entry};
use super::graph::Graph;
use super::heap;
use super::params::{HnswParams, check_search_params};
use super::search::{Accept, AcceptAll, SearchScratch, greedy_descent, search_layer};
use super::space::{Cosine, Formula, Ip, L2, Query, Rows, inverse_norm};
use crate::error::{check_range, to_i64};

/// The largest dimension Milvus (and `quiver-core`) accepts.
const MAX_DIM: usize = 32768;

/// A Hierarchical Navigable Small World graph over one segment's vectors.
///
/// The index stores links (and, for COSINE, one inverse norm per row), never the vectors: every
/// call that needs them borrows the segment's row-major matrix, which must be the one the index
/// was built over. Ids are row offsets.
///
/// `Hnsw` is immutable once built, so any number of threads may search it at once (`Sync`),
/// each with its own [`SearchScratch`].
pub struct Hnsw {
    pub(crate) metric: Metric,
    pub(crate) dim: usize,
    pub(crate) params: HnswParams,
    pub(crate) graph: Graph<u32>,
    pub(crate) entry: Option<Entry>,
    /// `1/|row|` per row for COSINE; empty otherwise.
    pub(crate) inv_norms: Vec<f32>,
}

impl Hnsw {
    /// Builds the index over `vectors` (rows of `dim` floats) with `threads` threads (0 counts
    /// as 1).
    ///
    /// Row levels depend only on `params.seed()`; with one thread the graph is reproducible,
    /// with more the interleaving of insertions makes it vary slightly between runs.
    pub fn build(
        vectors: &[f32],
        dim: usize,
        metric: Metric,
        params: &HnswParams,
        threads: usize,
    ) -> Result<Hnsw, IndexError> {
        check_range("dim", to_i64(dim), 1, MAX_DIM)?;
        let n = whole_rows(vectors, dim)?;
        // Ids are `u32`, and `u32::MAX` marks "no entry point" in the stored format.
        check_range("rows", to_i64(n), 0, u32::MAX as usize - 1)?;
        let inv_norms = match metric {
            Metric::Cosine => {
                let kernels = kernels();
                vectors.chunks_exact(dim).map(|row| inverse_norm(kernels.dot(row, row))).collect()
            }
            Metric::L2 | Metric::Ip => Vec::new(),
        };
        let rows = Rows::new(vectors, dim, &inv_norms);
        let Built { graph, entry } = match metric {
            Metric::L2 => build::build::<L2>(rows, n, params, threads)?,
            Metric::Ip => build::build::<Ip>(rows, n, params, threads)?,
            Metric::Cosine => build::build::<Cosine>(rows, n, params, threads)?,
        };
        Ok(Hnsw { metric, dim, params: *params, graph, entry, inv_norms })
    }

    /// The `k` accepted rows closest to `query`, closest first (ties by smaller row id), with
    /// internal distances (smaller is closer; for COSINE rescored to be bit-identical to
    /// [`flat_search`](crate::flat_search)'s).
    ///
    /// `vectors` must be the matrix the index was built over. `ef` is the search beam: it must
    /// be in `max(k, 1)..=32768` (Milvus requires `ef >= topk`); `k = 0` returns nothing.
    ///
    /// `accept`, when given, is the row filter (deleted rows, a scalar predicate, a bitmap
    /// lookup): rejected rows are walked through but never returned. When the walk finds fewer
    /// than `k` accepted rows, the rows it did not reach are scanned, so the result always has
    /// `min(k, accepted rows)` entries.
    pub fn search(
        &self,
        vectors: &[f32],
        query: &[f32],
        k: usize,
        ef: usize,
        accept: Option<&dyn Fn(u32) -> bool>,
        scratch: &mut SearchScratch,
    ) -> Result<Vec<Neighbor>, IndexError> {
        check_search_params(k, ef)?;
        if query.len() != self.dim {
            return Err(IndexError::DimMismatch { expected: self.dim, got: query.len() });
        }
        let n = whole_rows(vectors, self.dim)?;
        if n != self.len() {
            return Err(IndexError::RowCountMismatch { expected: self.len(), got: n });
        }
        let Some(entry) = self.entry else { return Ok(Vec::new()) };
        if k == 0 {
            return Ok(Vec::new());
        }
        let rows = Rows::new(vectors, self.dim, &self.inv_norms);
        let mut res = match (self.metric, accept) {
            (Metric::L2, None) => self.walk::<L2, _>(rows, query, entry, k, ef, AcceptAll, scratch),
            (Metric::L2, Some(f)) => self.walk::<L2, _>(rows, query, entry, k, ef, f, scratch),
            (Metric::Ip, None) => self.walk::<Ip, _>(rows, query, entry, k, ef, AcceptAll, scratch),
            (Metric::Ip, Some(f)) => self.walk::<Ip, _>(rows, query, entry, k, ef, f, scratch),
            (Metric::Cosine, None) => {
                self.walk::<Cosine, _>(rows, query, entry, k, ef, AcceptAll, scratch)
            }
            (Metric::Cosine, Some(f)) => {
                self.walk::<Cosine, _>(rows, query, entry, k, ef, f, scratch)
            }
        };
        if self.metric == Metric::Cosine {
            // The walk's `dot · (1/|q|) · (1/|x|)` rounds differently from the flat scan's
            // `dot / |q| / |x|`; report the latter so results merge exactly across segments.
            let prepared = PreparedQuery::new(Metric::Cosine, query);
            for neighbor in &mut res {
                neighbor.distance = prepared.distance(rows.row(neighbor.id as u32)) + 0.0;
            }
            res.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
        }
        Ok(res)
    }

    /// The search proper, for one metric and one kind of filter.
    #[allow(clippy::too_many_arguments)] // `search`'s checked inputs, passed straight through.
    fn walk<F: Formula, A: Accept>(
        &self,
        rows: Rows<'_>,
        query: &[f32],
        entry: Entry,
        k: usize,
        ef: usize,
        accept: A,
        scratch: &mut SearchScratch,
    ) -> Vec<Neighbor> {
        let query = Query::<F>::new(rows, query);
        let graph = &self.graph;
        let start = query.to(entry.node);
        let (node, distance) = greedy_descent(graph, entry.level, 0, entry.node, start, &query);
        let layer = &mut scratch.layer;
        search_layer(graph, 0, node, distance, ef, &query, &accept, layer);

        if layer.top.len() < k {
            // Too few accepted rows reached (a very selective filter, or rows the graph does
            // not connect): finish with an exact scan of the rows the walk never scored.
            for row in 0..graph.len() as u32 {
                if !layer.visited.contains(row) && accept.accept(row) {
                    layer.top.push(heap::pack(query.to(row), row));
                    if layer.top.len() > ef {
                        layer.top.pop();
                    }
                }
            }
        }

        let top = &mut layer.top;
        while top.len() > k {
            top.pop();
        }
        let mut res = Vec::with_capacity(top.len());
        while let Some(packed) = top.pop() {
            let distance = heap::distance(packed);
            if !distance.is_nan() {
                res.push(Neighbor { id: u64::from(heap::id(packed)), distance });
            }
        }
        res.reverse();
        res
    }

    /// The number of rows indexed.
    pub fn len(&self) -> usize {
        self.graph.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn params(&self) -> &HnswParams {
        &self.params
    }

    /// The heap memory the index holds, in bytes: the link lists plus, for COSINE, one float
    /// per row (the vectors are borrowed, not held).
    pub fn memory_bytes(&self) -> usize {
        size_of::<Hnsw>() + self.graph.memory_bytes() + self.inv_norms.capacity() * size_of::<f32>()
    }
}

impl fmt::Debug for Hnsw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hnsw")
            .field("metric", &self.metric)
            .field("dim", &self.dim)
            .field("rows", &self.len())
            .field("params", &self.params)
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

/// The number of `dim`-float rows in `vectors` (`dim > 0`), or the error for a ragged matrix.
fn whole_rows(vectors: &[f32], dim: usize) -> Result<usize, IndexError> {
    if dim == 0 || !vectors.len().is_multiple_of(dim) {
        return Err(IndexError::NotWholeRows { len: vectors.len(), dim });
    }
    Ok(vectors.len() / dim)
}
