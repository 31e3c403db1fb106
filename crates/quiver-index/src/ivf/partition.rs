//! What IVF_FLAT and IVF_SQ8 share: the trained centroids and the inverted lists (together a
//! [`Partition`] of the segment's rows), the search driver that picks the lists to scan, and
//! the common part of the stored format.
//!
//! Stored format, little-endian; each index appends its payload (see [`IvfFlat`] and
//! [`IvfSq8`]):
//!
//! ```text
//! offset  size     field
//!      0     8     magic: "QVIVFFLT" (IVF_FLAT) or "QVIVFSQ8" (IVF_SQ8)
//!      8     4     format version (1)
//!     12     4     metric: 0 L2, 1 IP, 2 COSINE
//!     16     8     rows (n)
//!     24     4     dim (d)
//!     28     4     nlist as requested, 1..=65536
//!     32     4     lists (c): min(nlist, n)
//!     36     4     reserved, 0
//!     40     8     k-means seed (informational)
//!     48     4·c·d centroids (f32, finite), list by list
//!      …     4·c   list sizes (u32), adding up to n
//!      …     4·n   row ids (u32), list by list: every row in 0..n exactly once
//!      …           the index's payload, whose size depends only on n and d
//! ```
//!
//! The bytes carry no checksum of their own: the engine stores them inside its checksummed
//! block file. Decoding still trusts nothing: the header must match the caller's rows, dim and
//! metric, the total length must be exactly what the header implies (checked before anything is
//! allocated, with checked arithmetic), every float must be finite and the ids must be a
//! permutation of the rows; anything else is [`IndexError::Corrupt`].
//!
//! [`IvfFlat`]: super::IvfFlat
//! [`IvfSq8`]: super::IvfSq8

#[cfg(test)]
mod tests;

use std::ops::Range;

use quiver_core::Metric;

use crate::error::IndexError;
use crate::topk::{Neighbor, TopK};

use super::coarse::Coarse;
use super::lists::{Lists, ListsError};
use super::params::{IvfParams, MAX_DIM, MAX_NLIST, check_nprobe};
use crate::error::{check_range, to_i64};
use crate::stored::{
    Reader, check_stored_shape, corrupt, metric_code, metric_from_code, put_f32s, put_u32, put_u64,
};

/// The format version written and the only one read.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 48;

/// The centroids and the rows filed under each.
#[derive(Clone, Debug)]
pub(crate) struct Partition {
    pub(crate) metric: Metric,
    pub(crate) dim: usize,
    pub(crate) params: IvfParams,
    pub(crate) coarse: Coarse,
    pub(crate) lists: Lists,
}

/// Reusable memory for searching an IVF index: the centroid ranking and, for IVF_SQ8, the
/// query weights and a widened code. Keep one per thread and pass it to every search; after the first search a
/// search allocates nothing but its result.
///
/// One scratch may serve several indexes of either kind (it grows to the largest).
#[derive(Debug, Default)]
pub struct IvfScratch {
    /// `(centroid score, list)` for every list.
    pub(crate) probes: Vec<(f32, u32)>,
    /// One IVF_SQ8 code widened to floats.
    pub(crate) decoded: Vec<f32>,
    /// The IVF_SQ8 query weights (see `quantizer`).
    pub(crate) weights: Vec<f32>,
}

impl IvfScratch {
    pub fn new() -> IvfScratch {
        IvfScratch::default()
    }

    /// The heap memory held, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.probes.capacity() * size_of::<(f32, u32)>()
            + (self.decoded.capacity() + self.weights.capacity()) * size_of::<f32>()
    }
}

impl Partition {
    /// Trains the centroids over `vectors` (rows of `dim` floats) and files every row under
    /// its nearest centroid, with `threads` threads (0 counts as 1).
    pub(crate) fn build(
        vectors: &[f32],
        dim: usize,
        metric: Metric,
        params: &IvfParams,
        threads: usize,
    ) -> Result<Partition, IndexError> {
        check_range("dim", to_i64(dim), 1, MAX_DIM)?;
        if !vectors.len().is_multiple_of(dim) {
            return Err(IndexError::NotWholeRows { len: vectors.len(), dim });
        }
        let n = vectors.len() / dim;
        // Ids and list offsets are `u32`.
        check_range("rows", to_i64(n), 0, u32::MAX as usize)?;
        let (coarse, labels) =
            Coarse::train(vectors, dim, metric, params.nlist(), params.seed(), threads);
        let lists = Lists::group(&labels, coarse.len());
        Ok(Partition { metric, dim, params: *params, coarse, lists })
    }

    /// The number of rows indexed.
    pub(crate) fn len(&self) -> usize {
        self.lists.ids().len()
    }

    /// Checks a search's `nprobe` (against the requested `nlist`) and query dimension.
    pub(crate) fn check_search(&self, query: &[f32], nprobe: usize) -> Result<(), IndexError> {
        check_nprobe(nprobe, self.params.nlist())?;
        if query.len() != self.dim {
            return Err(IndexError::DimMismatch { expected: self.dim, got: query.len() });
        }
        Ok(())
    }

    /// The search driver: ranks the centroids, calls `scan` with the positions of each of the
    /// `nprobe` nearest lists (nearest first), then keeps scanning further lists, nearest
    /// first, while fewer than `k` rows have been admitted (a selective filter, or lists
    /// smaller than `k`). So the result has `min(k, accepted rows)` entries, closest first.
    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        nprobe: usize,
        probes: &mut Vec<(f32, u32)>,
        mut scan: impl FnMut(Range<usize>, &mut TopK),
    ) -> Vec<Neighbor> {
        if k == 0 || self.len() == 0 {
            return Vec::new();
        }
        self.coarse.rank(query, probes);
        if probes.is_empty() {
            return Vec::new();
        }
        let mut top = TopK::new(k);
        let order = |a: &(f32, u32), b: &(f32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        let nprobe = nprobe.min(probes.len()).max(1);
        if nprobe < probes.len() {
            probes.select_nth_unstable_by(nprobe - 1, order);
        }
        let (first, rest) = probes.split_at_mut(nprobe);
        first.sort_unstable_by(order);
        for &(_, list) in first.iter() {
            scan(self.lists.positions(list as usize), &mut top);
        }
        if top.len() < k && !rest.is_empty() {
            rest.sort_unstable_by(order);
            for &(_, list) in rest.iter() {
                if top.len() >= k {
                    break;
                }
                scan(self.lists.positions(list as usize), &mut top);
            }
        }
        top.into_sorted_vec()
    }

    /// Writes the header, centroids and lists (everything but the payload).
    pub(crate) fn write(&self, magic: &[u8; 8], out: &mut Vec<u8>) {
        out.extend_from_slice(magic);
        put_u32(out, FORMAT_VERSION);
        put_u32(out, metric_code(self.metric));
        put_u64(out, self.len() as u64);
        put_u32(out, self.dim as u32);
        put_u32(out, self.params.nlist() as u32);
        put_u32(out, self.coarse.len() as u32);
        put_u32(out, 0);
        put_u64(out, self.params.seed());
        put_f32s(out, self.coarse.centroids());
        for size in self.lists.sizes() {
            put_u32(out, size);
        }
        for &id in self.lists.ids() {
            put_u32(out, id);
        }
    }

    /// The stored size of everything but the payload.
    pub(crate) fn stored_len(&self) -> usize {
        HEADER_LEN + 4 * (self.coarse.centroids().len() + self.lists.len() + self.len())
    }

    /// Reads what [`Partition::write`] wrote for a segment of `n_rows` rows of `dim` floats
    /// under `metric`, and checks that exactly `payload_len` bytes follow (`None` when the
    /// caller's size computation overflowed). Leaves `reader` at the payload.
    pub(crate) fn read(
        reader: &mut Reader<'_>,
        magic: &[u8; 8],
        n_rows: usize,
        dim: usize,
        metric: Metric,
        payload_len: Option<usize>,
    ) -> Result<Partition, IndexError> {
        if reader.take(8)? != magic {
            return Err(corrupt(0, "bad magic (not this kind of IVF index)"));
        }
        let version = reader.u32()?;
        if version != FORMAT_VERSION {
            return Err(IndexError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let Some(stored_metric) = metric_from_code(reader.u32()?) else {
            return Err(corrupt(12, "unknown metric code"));
        };
        let stored_rows = reader.u64()?;
        let stored_dim = reader.u32()?;
        check_stored_shape((metric, n_rows, dim), (stored_metric, stored_rows, stored_dim))?;
        if !(1..=MAX_DIM).contains(&dim) {
            return Err(corrupt(24, "dimension out of range"));
        }
        if n_rows > u32::MAX as usize {
            return Err(corrupt(16, "too many rows"));
        }
        let nlist = reader.u32()? as usize;
        if !(1..=MAX_NLIST).contains(&nlist) {
            return Err(corrupt(28, "nlist out of range"));
        }
        let lists = reader.u32()? as usize;
        if lists != nlist.min(n_rows) {
            return Err(corrupt(32, "list count is not min(nlist, rows)"));
        }
        if reader.u32()? != 0 {
            return Err(corrupt(36, "reserved field is not zero"));
        }
        let seed = reader.u64()?;

        // Every size below is fixed by the header: check the total before allocating.
        let expected = lists
            .checked_mul(dim)
            .and_then(|floats| floats.checked_add(lists)?.checked_add(n_rows)?.checked_mul(4))
            .and_then(|len| len.checked_add(payload_len?));
        let Some(expected) = expected else {
            return Err(corrupt(HEADER_LEN, "sizes overflow"));
        };
        if reader.remaining() != expected {
            return Err(corrupt(reader.pos(), "length does not match the header"));
        }
        let centroids = reader.finite_f32s(lists * dim, "centroid is not finite")?;
        let sizes_at = reader.pos();
        let sizes = reader.u32s(lists)?;
        let ids_at = reader.pos();
        let ids = reader.u32s(n_rows)?;
        let lists = Lists::from_stored(&sizes, ids).map_err(|e| match e {
            ListsError::SizeSum => corrupt(sizes_at, "list sizes do not add up to the rows"),
            ListsError::IdOutOfRange(i) => corrupt(ids_at + 4 * i, "row id out of range"),
            ListsError::DuplicateId(i) => corrupt(ids_at + 4 * i, "row id listed twice"),
        })?;
        Ok(Partition {
            metric,
            dim,
            params: IvfParams::from_stored(nlist, seed),
            coarse: Coarse::from_stored(dim, metric, centroids),
            lists,
        })
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.coarse.memory_bytes() + self.lists.memory_bytes()
    }
}
