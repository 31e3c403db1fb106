//! IVF_SQ8: the inverted lists of IVF_FLAT with each vector stored as `dim` bytes (8-bit
//! scalar quantisation per dimension, see `quantizer`) instead of `dim` floats, so the index
//! takes about a quarter of the vectors' memory (`n·(dim + 8)` bytes for codes, ids and row
//! terms, plus the centroids) and needs no access to them after the build.
//!
//! Search ranks the centroids exactly, then scores each row of the scanned lists against its
//! code: the code is widened to floats and one SIMD inner product with a per-query weight
//! vector gives the distance to the decoded vector (see `quantizer` for the algebra, and the
//! one float per row, `row_terms`, that L2 and COSINE need besides the code). There is no
//! refinement with the original vectors (Milvus's IVF_SQ8 has none either), so the reported
//! distances are those to the decoded vectors.
//!
//! Codes are not residuals: a row's code does not depend on its list, as in Milvus. For COSINE
//! the rows are normalised before they are encoded (the grid then spans unit vectors, and a
//! search computes the cosine with the decoded vector); for L2 and IP they are encoded as they
//! are.
//!
//! Stored payload, after the common part (see `partition`): `4·dim` bytes of per-dimension
//! minima and `4·dim` of steps (finite `f32`s), then `n·dim` code bytes in list order (the
//! order of the stored row ids).

use std::fmt;
use std::ops::Range;

use quiver_core::Metric;

use crate::distance::kernels;
use crate::error::IndexError;
use crate::topk::{Neighbor, TopK};

use super::kmeans::inverse_norm;
use super::params::IvfParams;
use super::partition::{IvfScratch, Partition};
use super::quantizer::{Quantizer, widen};
use crate::stored::{Reader, corrupt};

const MAGIC: [u8; 8] = *b"QVIVFSQ8";

/// An IVF_SQ8 index over one segment's vectors. Ids are row offsets.
///
/// Immutable once built, so any number of threads may search it at once (`Sync`), each with
/// its own [`IvfScratch`].
pub struct IvfSq8 {
    partition: Partition,
    quantizer: Quantizer,
    /// `dim` bytes per row, in list order: position `p` holds row `partition.lists.ids()[p]`.
    codes: Vec<u8>,
    /// Each row's [`Quantizer::row_term`], in list order; empty for IP. Derived from the
    /// codes, so not stored.
    row_terms: Vec<f32>,
}

impl IvfSq8 {
    /// Builds the index over `vectors` (rows of `dim` floats) with `threads` threads (0 counts
    /// as 1). The result depends only on the inputs and `params.seed()`, not on `threads`.
    pub fn build(
        vectors: &[f32],
        dim: usize,
        metric: Metric,
        params: &IvfParams,
        threads: usize,
    ) -> Result<IvfSq8, IndexError> {
        let partition = Partition::build(vectors, dim, metric, params, threads)?;
        let quantizer = Quantizer::train(vectors, dim, |row| encoding_scale(metric, row));
        let mut codes = vec![0u8; vectors.len()];
        for (&id, code) in partition.lists.ids().iter().zip(codes.chunks_exact_mut(dim)) {
            let row = &vectors[id as usize * dim..(id as usize + 1) * dim];
            quantizer.encode(row, encoding_scale(metric, row), code);
        }
        let row_terms = row_terms(&quantizer, metric, &codes, dim);
        Ok(IvfSq8 { partition, quantizer, codes, row_terms })
    }

    /// The `k` accepted rows closest to `query` among the lists scanned, closest first (ties
    /// by smaller row id), with internal distances (smaller is closer) to the decoded vectors.
    ///
    /// `nprobe`, `k`, `accept` and the guarantee of `min(k, accepted rows)` results are as for
    /// [`IvfFlat::search`](super::IvfFlat::search).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        nprobe: usize,
        accept: Option<&dyn Fn(u32) -> bool>,
        scratch: &mut IvfScratch,
    ) -> Result<Vec<Neighbor>, IndexError> {
        let partition = &self.partition;
        partition.check_search(query, nprobe)?;
        let metric = partition.metric;
        let ids = partition.lists.ids();
        let dim = partition.dim;
        let IvfScratch { probes, decoded, weights } = scratch;
        decoded.clear();
        decoded.resize(dim, 0.0);
        let code_query = self.quantizer.prepare(metric, query, weights);
        let weights = &weights[..];
        let kernels = kernels();
        let scan = |positions: Range<usize>, top: &mut TopK| {
            let codes = self.codes[positions.start * dim..positions.end * dim].chunks_exact(dim);
            // IP has no row terms: zeros stand in for them.
            let terms = self.row_terms.get(positions.clone()).unwrap_or(&[]);
            let terms = terms.iter().copied().chain(std::iter::repeat(0.0));
            let listed = ids[positions].iter().zip(codes).zip(terms);
            for ((&id, code), term) in listed {
                if accept.is_none_or(|accept| accept(id)) {
                    widen(code, decoded);
                    let distance = code_query.distance(kernels.dot(weights, decoded), term);
                    top.push(u64::from(id), distance);
                }
            }
        };
        Ok(partition.search(query, k, nprobe, probes, scan))
    }

    /// The index in the stored format (see the module docs and `partition`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let payload = 8 * self.quantizer.dim() + self.codes.len();
        let mut out = Vec::with_capacity(self.partition.stored_len() + payload);
        self.partition.write(&MAGIC, &mut out);
        self.quantizer.write(&mut out);
        out.extend_from_slice(&self.codes);
        out
    }

    /// Loads an index stored by [`IvfSq8::to_bytes`] for a segment of `n_rows` rows of `dim`
    /// floats under `metric`, validating everything. Never panics, and allocates no more than
    /// the size of `bytes` justifies.
    pub fn from_bytes(
        bytes: &[u8],
        n_rows: usize,
        dim: usize,
        metric: Metric,
    ) -> Result<IvfSq8, IndexError> {
        let mut reader = Reader::new(bytes);
        let payload = n_rows
            .checked_mul(dim)
            .and_then(|codes| codes.checked_add(Quantizer::stored_len(dim)?));
        let partition = Partition::read(&mut reader, &MAGIC, n_rows, dim, metric, payload)?;
        let quantizer = Quantizer::read(&mut reader, dim)?;
        let codes = reader.take(n_rows * dim)?.to_vec();
        if reader.remaining() != 0 {
            return Err(corrupt(reader.pos(), "trailing bytes"));
        }
        let row_terms = row_terms(&quantizer, metric, &codes, dim);
        Ok(IvfSq8 { partition, quantizer, codes, row_terms })
    }

    /// The number of rows indexed.
    pub fn len(&self) -> usize {
        self.partition.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dim(&self) -> usize {
        self.partition.dim
    }

    pub fn metric(&self) -> Metric {
        self.partition.metric
    }

    pub fn params(&self) -> &IvfParams {
        &self.partition.params
    }

    /// The number of inverted lists: `min(nlist, rows)`.
    pub fn lists(&self) -> usize {
        self.partition.lists.len()
    }

    /// The heap memory the index holds, in bytes: the codes (`n·dim`), the row ids (`4·n`),
    /// for L2 and COSINE one float per row (`4·n`), the centroids (`4·lists·dim`), the list
    /// offsets and the quantizer (`8·dim`).
    pub fn memory_bytes(&self) -> usize {
        size_of::<IvfSq8>()
            + self.partition.memory_bytes()
            + self.quantizer.memory_bytes()
            + self.codes.capacity()
            + self.row_terms.capacity() * size_of::<f32>()
    }
}

/// Every row's [`Quantizer::row_term`] (none for IP), in the order of `codes`.
fn row_terms(quantizer: &Quantizer, metric: Metric, codes: &[u8], dim: usize) -> Vec<f32> {
    if metric == Metric::Ip {
        return Vec::new();
    }
    let mut decoded = vec![0f32; dim];
    codes.chunks_exact(dim).map(|code| quantizer.row_term(metric, code, &mut decoded)).collect()
}

/// What a row is multiplied by before it is encoded: `1/|row|` for COSINE (0 for a zero row),
/// 1 otherwise.
fn encoding_scale(metric: Metric, row: &[f32]) -> f32 {
    match metric {
        Metric::Cosine => inverse_norm(kernels().dot(row, row)),
        Metric::L2 | Metric::Ip => 1.0,
    }
}

impl fmt::Debug for IvfSq8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IvfSq8")
            .field("metric", &self.metric())
            .field("dim", &self.dim())
            .field("rows", &self.len())
            .field("params", self.params())
            .field("lists", &self.lists())
            .finish_non_exhaustive()
    }
}
