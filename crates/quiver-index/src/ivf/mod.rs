//! IVF (inverted file) indexes with Milvus's names and parameters: `IVF_FLAT` ([`IvfFlat`])
//! and `IVF_SQ8` ([`IvfSq8`]), built with `nlist` ([`IvfParams`]) and searched with `nprobe`.
//!
//! Building trains `min(nlist, n)` centroids by k-means on a sample of the segment and files
//! every row under its nearest centroid; a search ranks the centroids against the query and
//! scans the rows of the `nprobe` nearest lists. IVF_FLAT keeps a copy of each list's vectors
//! and scores them exactly; IVF_SQ8 keeps one byte per dimension and scores the decoded
//! vectors. Neither needs the segment's vectors after the build, and both search through
//! `&self` with the caller's [`IvfScratch`], so one index serves any number of threads.
//!
//! Layout: `params` (validated parameters), `kmeans` (training), `coarse` (centroids: assigning
//! rows, ranking lists), `lists` (row ids per list), `partition` (what both indexes share: the
//! search driver, the scratch and the common stored format), `flat` and `sq8` (the indexes),
//! `quantizer` (the 8-bit codes); bounded reading and writing is the crate's `stored` module.

mod coarse;
#[cfg(test)]
mod fixtures;
mod flat;
mod kmeans;
mod lists;
mod params;
mod partition;
mod quantizer;
mod sq8;
#[cfg(test)]
mod tests;

pub use flat::IvfFlat;
pub use params::{DEFAULT_SEED, IvfParams, MAX_NLIST, MAX_NPROBE, MIN_NLIST, check_nprobe};
pub use partition::{FORMAT_VERSION, IvfScratch};
pub use sq8::IvfSq8;
