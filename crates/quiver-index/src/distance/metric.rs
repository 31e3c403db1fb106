//! Milvus metrics on top of the kernels: the internal distance where smaller is always closer,
//! the conversion to and from the score Milvus reports, and cosine with the query norm taken
//! once per search.
//!
//! | metric | internal distance | reported score |
//! |--------|-------------------|----------------|
//! | L2     | `Σ (a-b)²`        | the same (squared, not rooted) |
//! | IP     | `-(a · b)`        | `a · b` |
//! | COSINE | `-cos(a, b)`      | `cos(a, b)` in `[-1, 1]`, `0` when either vector is zero |
//!
//! Vectors are assumed finite (the engine rejects NaN and infinity at insert and search).
//! With a NaN input the distance is NaN, which [`TopK`](crate::TopK) never admits.

#[cfg(test)]
mod tests;

use quiver_core::Metric;

use super::dispatch::{Kernels, kernels};

/// The internal distance between `a` and `b`: smaller is closer for every metric.
///
/// For a scan, build a [`PreparedQuery`] once instead, so the cosine query norm is computed
/// once. `a` and `b` must have equal lengths (see [`Kernels`]).
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    PreparedQuery::new(metric, a).distance(b)
}

/// Converts an internal distance to the score Milvus reports: squared distance for L2,
/// similarity for IP and COSINE.
pub fn to_score(metric: Metric, distance: f32) -> f32 {
    match metric {
        Metric::L2 => distance,
        Metric::Ip | Metric::Cosine => -distance,
    }
}

/// Converts a Milvus score (for example a range-search radius) to an internal distance; the
/// inverse of [`to_score`].
pub fn to_distance(metric: Metric, score: f32) -> f32 {
    match metric {
        Metric::L2 => score,
        Metric::Ip | Metric::Cosine => -score,
    }
}

/// The Euclidean norm `√(v · v)`.
pub fn norm(v: &[f32]) -> f32 {
    kernels().dot(v, v).sqrt()
}

/// Cosine similarity in `[-1, 1]`; `0` (never NaN) when either vector has norm zero.
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f32 {
    let kernels = kernels();
    let (dot, b_norm_squared) = kernels.dot_and_norm_squared(a, b);
    cosine_from_parts(dot, norm(a), b_norm_squared.sqrt())
}

/// A query ready to be compared with many stored rows under one metric.
///
/// It holds the kernel table and, for COSINE, the query norm, so neither is looked up or
/// recomputed per row. Construction is cheap (one pass over the query for COSINE, nothing
/// otherwise); build one per query per search.
#[derive(Clone, Copy, Debug)]
pub struct PreparedQuery<'q> {
    metric: Metric,
    query: &'q [f32],
    /// `|query|`, used by COSINE only (0 for the other metrics).
    query_norm: f32,
    kernels: &'static Kernels,
}

impl<'q> PreparedQuery<'q> {
    pub fn new(metric: Metric, query: &'q [f32]) -> PreparedQuery<'q> {
        let query_norm = match metric {
            Metric::Cosine => norm(query),
            Metric::L2 | Metric::Ip => 0.0,
        };
        PreparedQuery { metric, query, query_norm, kernels: kernels() }
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn query(&self) -> &'q [f32] {
        self.query
    }

    /// The internal distance from the query to `row` (smaller is closer). `row` must have the
    /// query's length (see [`Kernels`]).
    #[inline]
    pub fn distance(&self, row: &[f32]) -> f32 {
        match self.metric {
            Metric::L2 => self.kernels.l2_squared(self.query, row),
            Metric::Ip => -self.kernels.dot(self.query, row),
            Metric::Cosine => {
                let (dot, row_norm_squared) = self.kernels.dot_and_norm_squared(self.query, row);
                -cosine_from_parts(dot, self.query_norm, row_norm_squared.sqrt())
            }
        }
    }
}

/// `dot / (a_norm · b_norm)` clamped to `[-1, 1]` (rounding can overshoot by an ulp), and `0`
/// when either norm is zero (including norms that underflow to zero).
///
/// Divides twice rather than by the product so tiny norms do not underflow the denominator.
fn cosine_from_parts(dot: f32, a_norm: f32, b_norm: f32) -> f32 {
    if a_norm == 0.0 || b_norm == 0.0 {
        return 0.0;
    }
    (dot / a_norm / b_norm).clamp(-1.0, 1.0)
}
