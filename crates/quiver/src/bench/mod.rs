//! `quiver bench`: builds one vector index over a dataset of `../shared/bench/dataset.py`
//! through the engine code the server uses, then measures build time, peak memory, recall@10
//! and queries per second for each search setting, on the anchors' terms
//! (`../shared/bench/anchors_*.py`): one index over all base vectors (one sealed segment), and
//! one query per search call.
//!
//! `run.rs` runs the steps; `plan.rs` turns the flags into the index's parameters and the
//! search settings, `dataset.rs` reads and checks the four files, `measure.rs` times the searches and computes recall, and `plot.rs` draws
//! recall against queries/s (`font.rs` is its bitmap font) as a PNG (`png.rs`).

mod dataset;
#[cfg(test)]
mod fixtures;
mod font;
mod measure;
mod plan;
mod plot;
mod png;
mod run;
#[cfg(test)]
mod tests;

pub(crate) use self::plan::BenchArgs;
pub(crate) use self::run::run;
