//! `quiver bench`: builds one vector index over a dataset of `../shared/bench/dataset.py`
//! through the engine code the server uses, then measures build time, peak memory, recall@10
//! and queries per second for each search setting, on the anchors' terms
//! (`../shared/bench/anchors_*.py`): one index over all base vectors (one sealed segment), and
//! one query per search call.
//!
//! With `--filter-pass`, every search setting is then measured again with a row filter passing
//! a given share of the rows, against an exact filtered ground truth the command computes.
//!
//! `run.rs` runs the steps; `plan.rs` turns the flags into the index's parameters and the
//! search settings, `dataset.rs` reads and checks the four files, `measure.rs` times the
//! searches and computes recall, `filtered.rs` holds the filter and its exact top-10,
//! `bandwidth.rs` measures memory bandwidth (for FLAT, whose scan speed is stated as a share of
//! it), and `plot.rs` draws recall against queries/s (`font.rs` is its bitmap font) as a PNG
//! (`png.rs`).

mod bandwidth;
mod dataset;
mod filtered;
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
