//! Vector search without I/O: distance kernels, top-k collection and exact (flat) search.
//!
//! Everything here works on borrowed row-major `f32` matrices and returns [`Neighbor`]s whose
//! `id` is a row offset; mapping offsets to primary keys, segments and storage is the engine's
//! job.
//!
//! Internally every metric is a *distance* where smaller is closer (L2 squared, negated inner
//! product, negated cosine similarity), so one top-k collector and one ordering serve all
//! metrics. [`to_score`] turns a distance back into the score Milvus reports.
//!
//! This is the only crate allowed `unsafe` code, and only for the SIMD kernels in `distance`:
//! they are reached solely through the safe [`Kernels`] dispatcher, which checks CPU features
//! once. (The one other `unsafe` call is the baseline-SSE prefetch hint in `hnsw`.)
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

mod distance;
mod error;
mod flat;
pub mod hnsw;
pub mod ivf;
mod range;
mod stored;
#[cfg(test)]
mod testing;
mod topk;

pub use distance::{
    Kernels, PreparedQuery, cosine_similarity, distance, kernels, norm, to_distance, to_score,
};
pub use error::IndexError;
pub use flat::{flat_range_search, flat_search, flat_search_batch};
pub use hnsw::{Hnsw, HnswParams, SearchScratch};
pub use ivf::{IvfFlat, IvfParams, IvfScratch, IvfSq8};
pub use range::SearchRange;
pub use topk::{Neighbor, TopK, merge_topk};
