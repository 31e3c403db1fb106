//! HNSW parameters under Milvus's names and ranges, validated once into [`HnswParams`], and the
//! search-time checks on `k` and `ef`.
//!
//! | parameter        | Milvus range       | here               |
//! |------------------|--------------------|--------------------|
//! | `M`              | `2..=2048`         | `2..=2048`         |
//! | `efConstruction` | `1..=i32::MAX`     | `1..=32768` ([`MAX_EF`]) |
//! | `ef` (search)    | `1..=32768`, `>= k`| `max(k, 1)..=32768` |
//!
//! `efConstruction` is capped at the search cap: a build-time beam wider than any search may
//! use buys no recall, and the cap bounds the per-thread build scratch.

#[cfg(test)]
mod tests;

use crate::error::{IndexError, check_range, to_i64};

/// Smallest `M` Milvus accepts.
pub const MIN_M: usize = 2;
/// Largest `M` Milvus accepts.
pub const MAX_M: usize = 2048;
/// Largest `ef` and `efConstruction` accepted (Milvus's search cap), and so also the largest
/// `k` an HNSW search serves.
pub const MAX_EF: usize = 32768;
/// The highest level a node may have. Levels are drawn with `mult = 1 / ln(M)`, so even with
/// `M = 2` a level above 40 has probability `2^-40` per row; drawn levels are clamped to it and
/// stored indexes with a higher level are rejected as corrupt.
pub const MAX_LEVEL: usize = 40;
/// The seed used when none is given: builds with one thread are reproducible by default.
pub const DEFAULT_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Validated build parameters: `M` (the out-degree on upper levels; level 0 keeps up to `2M`),
/// `efConstruction` (the beam width while inserting) and the seed of the level generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HnswParams {
    m: usize,
    ef_construction: usize,
    seed: u64,
}

impl HnswParams {
    /// Validates `M` and `efConstruction` as they come from a request (hence `i64`).
    pub fn new(m: i64, ef_construction: i64) -> Result<HnswParams, IndexError> {
        let m = check_range("M", m, MIN_M, MAX_M)?;
        let ef_construction = check_range("efConstruction", ef_construction, 1, MAX_EF)?;
        Ok(HnswParams { m, ef_construction, seed: DEFAULT_SEED })
    }

    /// Parameters read back from a stored index, already range-checked by the decoder.
    pub(crate) fn from_stored(m: usize, ef_construction: usize, seed: u64) -> HnswParams {
        HnswParams { m, ef_construction, seed }
    }

    /// The same parameters with another level-generator seed.
    pub fn with_seed(self, seed: u64) -> HnswParams {
        HnswParams { seed, ..self }
    }

    pub fn m(&self) -> usize {
        self.m
    }

    pub fn ef_construction(&self) -> usize {
        self.ef_construction
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// Checks a search's `k` and `ef`: `k <= MAX_EF` and `max(k, 1) <= ef <= MAX_EF` (Milvus
/// requires `ef >= topk` for HNSW; the error names `ef` and the range it must be in).
pub fn check_search_params(k: usize, ef: usize) -> Result<(), IndexError> {
    check_range("k", to_i64(k), 0, MAX_EF)?;
    check_range("ef", to_i64(ef), k.max(1), MAX_EF)?;
    Ok(())
}
