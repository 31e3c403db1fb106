//! HNSW (Hierarchical Navigable Small World graphs, Malkov & Yashunin), the approximate index
//! Milvus calls `HNSW`, with its parameter names (`M`, `efConstruction`, search `ef`).
//!
//! The index borrows the segment's vectors at build and at every search and stores only the
//! graph, so its memory is the link lists (plus one float per row for COSINE). Building is
//! parallel (hnswlib's scheme); searching is lock-free and allocation-free apart from the
//! result, with the caller's [`SearchScratch`]; a filter hides rows from the results without
//! cutting the graph.
//!
//! Layout: `params` (validated parameters), `graph` (link storage), `space` (per-metric
//! distances), `heap` and `visited` (the walks' data structures), `search` (the walks),
//! `build` (parallel insertion), `index` (the public [`Hnsw`]), `serialize` (stored form).

mod build;
mod graph;
mod heap;
mod index;
mod params;
pub(crate) mod prefetch;
mod rng;
mod search;
mod serialize;
mod space;
#[cfg(test)]
mod tests;
mod visited;

pub use index::Hnsw;
pub use params::{DEFAULT_SEED, HnswParams, MAX_EF, MAX_LEVEL, MAX_M, MIN_M, check_search_params};
pub use search::SearchScratch;
pub use serialize::FORMAT_VERSION;
