//! IVF parameters under Milvus's names and ranges: `nlist` at build, validated once into
//! [`IvfParams`], and `nprobe` at search, checked against the index's `nlist`.
//!
//! | parameter | Milvus range              | here                      |
//! |-----------|---------------------------|---------------------------|
//! | `nlist`   | `1..=65536`               | `1..=65536`               |
//! | `nprobe`  | `1..=65536`, `<= nlist`   | `1..=min(nlist, 65536)`   |
//!
//! `nprobe` is checked against the requested `nlist`, as Milvus does, even when the index holds
//! fewer lists because the segment had fewer rows than `nlist` (see [`IvfParams`]).

#[cfg(test)]
mod tests;

use crate::error::{IndexError, check_range, to_i64};

/// Smallest `nlist` Milvus accepts.
pub const MIN_NLIST: usize = 1;
/// Largest `nlist` Milvus accepts.
pub const MAX_NLIST: usize = 65536;
/// Largest `nprobe` Milvus accepts.
pub const MAX_NPROBE: usize = 65536;
/// The k-means seed used when none is given, so builds are reproducible by default.
pub const DEFAULT_SEED: u64 = 0x2545_F491_4F6C_DD1D;
/// The largest dimension Milvus (and `quiver-core`) accepts.
pub(crate) const MAX_DIM: usize = 32768;

/// Validated build parameters: `nlist` (the number of k-means clusters, so of inverted lists)
/// and the k-means seed.
///
/// A segment with fewer rows than `nlist` gets one list per row (k-means cannot place more
/// distinct centroids than there are rows); the index remembers the requested `nlist`, which is
/// what `nprobe` is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IvfParams {
    nlist: usize,
    seed: u64,
}

impl IvfParams {
    /// Validates `nlist` as it comes from a request (hence `i64`).
    pub fn new(nlist: i64) -> Result<IvfParams, IndexError> {
        let nlist = check_range("nlist", nlist, MIN_NLIST, MAX_NLIST)?;
        Ok(IvfParams { nlist, seed: DEFAULT_SEED })
    }

    /// Parameters read back from a stored index, already range-checked by the decoder.
    pub(crate) fn from_stored(nlist: usize, seed: u64) -> IvfParams {
        IvfParams { nlist, seed }
    }

    /// The same parameters with another k-means seed.
    pub fn with_seed(self, seed: u64) -> IvfParams {
        IvfParams { seed, ..self }
    }

    pub fn nlist(&self) -> usize {
        self.nlist
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// Checks a search's `nprobe` against the index's requested `nlist`: it must be in
/// `1..=min(nlist, 65536)`; the error names `nprobe` and that range.
pub fn check_nprobe(nprobe: usize, nlist: usize) -> Result<(), IndexError> {
    check_range("nprobe", to_i64(nprobe), 1, nlist.min(MAX_NPROBE))?;
    Ok(())
}
