//! Plain-loop kernels: the oracle every SIMD path is tested against, and the fallback on CPUs
//! and targets without SIMD support.
//!
//! Each kernel reads the common prefix of its inputs (`min(a.len(), b.len())` elements) and
//! accumulates left to right in `f32` without fused multiply-adds, so its rounding is the
//! textbook recursive-summation error that the tolerance in the dispatch tests is derived from.

/// `Σ a[i] * b[i]`.
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        acc += x * y;
    }
    acc
}

/// `Σ (a[i] - b[i])²`.
pub(super) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        let diff = x - y;
        acc += diff * diff;
    }
    acc
}

/// `(Σ a[i] * b[i], Σ b[i]²)` in one pass: what a cosine scan needs per row once the query
/// norm is known.
pub(super) fn dot_and_norm_squared(a: &[f32], b: &[f32]) -> (f32, f32) {
    let mut dot = 0.0f32;
    let mut norm_squared = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        norm_squared += y * y;
    }
    (dot, norm_squared)
}
