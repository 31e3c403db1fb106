//! Distances from one query to stored rows, monomorphised per metric so the hot loops carry no
//! metric `match` and call one kernel function per row.
//!
//! COSINE is computed as `-(q · x) · (1/|q|) · (1/|x|)` with the row inverse norms stored in
//! the index (`n` floats), so a visit costs one dot product, the same as IP. It rounds
//! differently from [`PreparedQuery`](crate::PreparedQuery)'s `dot / |q| / |x|`, so searches
//! rescore their final `k` hits with `PreparedQuery` and report exactly the distances a flat
//! scan reports. A zero (or subnormal-norm) row or query gets inverse norm 0, hence distance
//! 0, as in the flat scan.

use std::marker::PhantomData;

use crate::distance::{Kernels, kernels};

use super::prefetch::prefetch;

/// The most cache lines of one row to prefetch: a 128-d row whole; longer rows' first 1 KiB,
/// after which the hardware stream prefetcher has picked the row up.
const PREFETCH_MAX_LINES: usize = 16;

/// One metric's distance formula on top of the kernels.
pub(crate) trait Formula: Copy + Send + Sync + 'static {
    /// Whether the formula reads the per-row inverse norms.
    const NEEDS_NORMS: bool;
    /// The internal distance (smaller is closer) between `query` and `row`; `scale` is
    /// `inv_norm(query) * inv_norm(row)` and is read only when [`Self::NEEDS_NORMS`].
    fn eval(kernels: &Kernels, query: &[f32], row: &[f32], scale: impl FnOnce() -> f32) -> f32;
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct L2;
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ip;
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cosine;

impl Formula for L2 {
    const NEEDS_NORMS: bool = false;
    #[inline(always)]
    fn eval(kernels: &Kernels, query: &[f32], row: &[f32], _: impl FnOnce() -> f32) -> f32 {
        kernels.l2_squared(query, row)
    }
}

impl Formula for Ip {
    const NEEDS_NORMS: bool = false;
    #[inline(always)]
    fn eval(kernels: &Kernels, query: &[f32], row: &[f32], _: impl FnOnce() -> f32) -> f32 {
        -kernels.dot(query, row)
    }
}

impl Formula for Cosine {
    const NEEDS_NORMS: bool = true;
    #[inline(always)]
    fn eval(kernels: &Kernels, query: &[f32], row: &[f32], scale: impl FnOnce() -> f32) -> f32 {
        -(kernels.dot(query, row) * scale())
    }
}

/// The stored rows: a borrowed row-major matrix plus, for COSINE, the index's inverse norms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rows<'a> {
    vectors: &'a [f32],
    dim: usize,
    /// `1/|row|` per row for COSINE (0 for a zero row); empty for the other metrics.
    inv_norms: &'a [f32],
    kernels: &'static Kernels,
}

impl<'a> Rows<'a> {
    /// `vectors` must hold whole rows of `dim > 0` floats and `inv_norms` must be empty or have
    /// one entry per row; the callers check both before building one.
    pub(crate) fn new(vectors: &'a [f32], dim: usize, inv_norms: &'a [f32]) -> Rows<'a> {
        debug_assert!(dim > 0 && vectors.len().is_multiple_of(dim));
        Rows { vectors, dim, inv_norms, kernels: kernels() }
    }

    #[inline(always)]
    pub(crate) fn row(&self, id: u32) -> &'a [f32] {
        let start = id as usize * self.dim;
        &self.vectors[start..start + self.dim]
    }

    #[inline(always)]
    fn inv_norm(&self, id: u32) -> f32 {
        self.inv_norms[id as usize]
    }

    /// A distance-to-query view for stored row `id` (used while inserting it).
    pub(crate) fn query_for_row<F: Formula>(&self, id: u32) -> Query<'a, F> {
        let query_scale = if F::NEEDS_NORMS { self.inv_norm(id) } else { 1.0 };
        Query::with_scale(*self, self.row(id), query_scale)
    }

    /// The distance between stored rows `a` and `b`.
    #[inline(always)]
    pub(crate) fn between<F: Formula>(&self, a: u32, b: u32) -> f32 {
        F::eval(self.kernels, self.row(a), self.row(b), || self.inv_norm(a) * self.inv_norm(b))
    }
}

/// Distances from one query to stored rows under formula `F`. The kernel table is fetched once,
/// with the [`Rows`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Query<'a, F> {
    rows: Rows<'a>,
    query: &'a [f32],
    /// `1/|query|` for COSINE, 1 otherwise.
    query_scale: f32,
    formula: PhantomData<F>,
}

impl<'a, F: Formula> Query<'a, F> {
    /// An external query of the rows' dimension (checked by the caller).
    pub(crate) fn new(rows: Rows<'a>, query: &'a [f32]) -> Query<'a, F> {
        let query_scale =
            if F::NEEDS_NORMS { inverse_norm(rows.kernels.dot(query, query)) } else { 1.0 };
        Query::with_scale(rows, query, query_scale)
    }

    fn with_scale(rows: Rows<'a>, query: &'a [f32], query_scale: f32) -> Query<'a, F> {
        Query { rows, query, query_scale, formula: PhantomData }
    }

    /// The distance from the query to stored row `id`.
    #[inline(always)]
    pub(crate) fn to(&self, id: u32) -> f32 {
        F::eval(self.rows.kernels, self.query, self.rows.row(id), || {
            self.query_scale * self.rows.inv_norm(id)
        })
    }

    /// Hints the CPU to start loading row `id` (up to [`PREFETCH_MAX_LINES`] cache lines) and,
    /// for COSINE, its inverse norm.
    #[inline(always)]
    pub(crate) fn prefetch(&self, id: u32) {
        let row = self.rows.vectors.as_ptr().wrapping_add(id as usize * self.rows.dim);
        let lines = (self.rows.dim * size_of::<f32>()).div_ceil(64).min(PREFETCH_MAX_LINES);
        for line in 0..lines {
            prefetch(row.cast::<u8>().wrapping_add(line * 64));
        }
        if F::NEEDS_NORMS {
            prefetch(self.rows.inv_norms.as_ptr().wrapping_add(id as usize));
        }
    }
}

/// `1/√norm_squared`, or 0 when that is not finite (a zero or subnormal-norm vector), so such a
/// vector's cosine with anything is 0 as in the flat scan.
pub(crate) fn inverse_norm(norm_squared: f32) -> f32 {
    let inv = 1.0 / norm_squared.sqrt();
    if inv.is_finite() { inv } else { 0.0 }
}
