//! AVX2+FMA kernels: 8 lanes per register, four independent accumulators (32 floats per loop
//! step) to hide the FMA latency, unaligned loads, and a scalar tail for the last `len % 8`
//! elements.
//!
//! The functions are safe `#[target_feature]` functions: calling them from code not compiled
//! with AVX2 and FMA is `unsafe`, and the only such caller is the dispatcher, which checks the
//! CPU first. Each reads the common prefix of its inputs. Slices are split into fixed-size
//! arrays with `as_chunks`, so the one `unsafe` operation, the load, only ever sees a
//! `&[f32; 8]`.

use std::arch::x86_64::{
    __m256, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehl_ps, _mm_shuffle_ps, _mm256_add_ps,
    _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_setzero_ps, _mm256_sub_ps,
};

const LANES: usize = 8;
const ACCUMULATORS: usize = 4;

/// `Σ a[i] * b[i]` over the common prefix.
///
/// # Safety
///
/// Safe to call from code compiled with AVX2 and FMA; anywhere else the caller must ensure the
/// CPU supports both (the dispatcher checks with `is_x86_feature_detected!`).
#[target_feature(enable = "avx2,fma")]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a_vecs, a_tail) = a[..n].as_chunks::<LANES>();
    let (b_vecs, b_tail) = b[..n].as_chunks::<LANES>();
    let (a_blocks, a_vecs) = a_vecs.as_chunks::<ACCUMULATORS>();
    let (b_blocks, b_vecs) = b_vecs.as_chunks::<ACCUMULATORS>();

    let [mut acc0, mut acc1, mut acc2, mut acc3] = [_mm256_setzero_ps(); ACCUMULATORS];
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        acc0 = _mm256_fmadd_ps(load(&x[0]), load(&y[0]), acc0);
        acc1 = _mm256_fmadd_ps(load(&x[1]), load(&y[1]), acc1);
        acc2 = _mm256_fmadd_ps(load(&x[2]), load(&y[2]), acc2);
        acc3 = _mm256_fmadd_ps(load(&x[3]), load(&y[3]), acc3);
    }
    for (x, y) in a_vecs.iter().zip(b_vecs) {
        acc0 = _mm256_fmadd_ps(load(x), load(y), acc0);
    }
    let mut sum = horizontal_sum(combine(acc0, acc1, acc2, acc3));
    for (x, y) in a_tail.iter().zip(b_tail) {
        sum += x * y;
    }
    sum
}

/// `Σ (a[i] - b[i])²` over the common prefix.
///
/// # Safety
///
/// As for [`dot`]: the CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a_vecs, a_tail) = a[..n].as_chunks::<LANES>();
    let (b_vecs, b_tail) = b[..n].as_chunks::<LANES>();
    let (a_blocks, a_vecs) = a_vecs.as_chunks::<ACCUMULATORS>();
    let (b_blocks, b_vecs) = b_vecs.as_chunks::<ACCUMULATORS>();

    let [mut acc0, mut acc1, mut acc2, mut acc3] = [_mm256_setzero_ps(); ACCUMULATORS];
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        let d0 = _mm256_sub_ps(load(&x[0]), load(&y[0]));
        let d1 = _mm256_sub_ps(load(&x[1]), load(&y[1]));
        let d2 = _mm256_sub_ps(load(&x[2]), load(&y[2]));
        let d3 = _mm256_sub_ps(load(&x[3]), load(&y[3]));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
        acc1 = _mm256_fmadd_ps(d1, d1, acc1);
        acc2 = _mm256_fmadd_ps(d2, d2, acc2);
        acc3 = _mm256_fmadd_ps(d3, d3, acc3);
    }
    for (x, y) in a_vecs.iter().zip(b_vecs) {
        let d = _mm256_sub_ps(load(x), load(y));
        acc0 = _mm256_fmadd_ps(d, d, acc0);
    }
    let mut sum = horizontal_sum(combine(acc0, acc1, acc2, acc3));
    for (x, y) in a_tail.iter().zip(b_tail) {
        let diff = x - y;
        sum += diff * diff;
    }
    sum
}

/// `(Σ a[i] * b[i], Σ b[i]²)` over the common prefix, in one pass.
///
/// # Safety
///
/// As for [`dot`]: the CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) fn dot_and_norm_squared(a: &[f32], b: &[f32]) -> (f32, f32) {
    let n = a.len().min(b.len());
    let (a_vecs, a_tail) = a[..n].as_chunks::<LANES>();
    let (b_vecs, b_tail) = b[..n].as_chunks::<LANES>();
    let (a_blocks, a_vecs) = a_vecs.as_chunks::<ACCUMULATORS>();
    let (b_blocks, b_vecs) = b_vecs.as_chunks::<ACCUMULATORS>();

    let [mut ab0, mut ab1, mut ab2, mut ab3] = [_mm256_setzero_ps(); ACCUMULATORS];
    let [mut bb0, mut bb1, mut bb2, mut bb3] = [_mm256_setzero_ps(); ACCUMULATORS];
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        let (y0, y1, y2, y3) = (load(&y[0]), load(&y[1]), load(&y[2]), load(&y[3]));
        ab0 = _mm256_fmadd_ps(load(&x[0]), y0, ab0);
        ab1 = _mm256_fmadd_ps(load(&x[1]), y1, ab1);
        ab2 = _mm256_fmadd_ps(load(&x[2]), y2, ab2);
        ab3 = _mm256_fmadd_ps(load(&x[3]), y3, ab3);
        bb0 = _mm256_fmadd_ps(y0, y0, bb0);
        bb1 = _mm256_fmadd_ps(y1, y1, bb1);
        bb2 = _mm256_fmadd_ps(y2, y2, bb2);
        bb3 = _mm256_fmadd_ps(y3, y3, bb3);
    }
    for (x, y) in a_vecs.iter().zip(b_vecs) {
        let y = load(y);
        ab0 = _mm256_fmadd_ps(load(x), y, ab0);
        bb0 = _mm256_fmadd_ps(y, y, bb0);
    }
    let mut dot = horizontal_sum(combine(ab0, ab1, ab2, ab3));
    let mut norm_squared = horizontal_sum(combine(bb0, bb1, bb2, bb3));
    for (x, y) in a_tail.iter().zip(b_tail) {
        dot += x * y;
        norm_squared += y * y;
    }
    (dot, norm_squared)
}

/// Loads eight floats with no alignment requirement.
#[inline]
#[target_feature(enable = "avx2")]
fn load(v: &[f32; LANES]) -> __m256 {
    // SAFETY: `v` borrows exactly eight initialised `f32`s, which is what an unaligned 256-bit
    // load reads; `loadu` has no alignment requirement. AVX is enabled on this function.
    unsafe { _mm256_loadu_ps(v.as_ptr()) }
}

/// Adds four accumulators pairwise.
#[inline]
#[target_feature(enable = "avx2")]
fn combine(acc0: __m256, acc1: __m256, acc2: __m256, acc3: __m256) -> __m256 {
    _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3))
}

/// Sums the eight lanes of `v` as a tree (halves, then quarters, then the last pair).
#[inline]
#[target_feature(enable = "avx2")]
fn horizontal_sum(v: __m256) -> f32 {
    let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    let single = _mm_add_ss(pair, _mm_shuffle_ps::<0b01>(pair, pair));
    _mm_cvtss_f32(single)
}
