//! AVX-512F kernels: 16 lanes per register, four independent accumulators (64 floats per loop
//! step), unaligned loads, and one masked load for the last `len % 16` elements (masked-off
//! lanes are neither read nor faulted on, and load as zero, which adds nothing to any sum).
//!
//! Like the AVX2 kernels these are safe `#[target_feature]` functions that only the
//! dispatcher calls, after checking the CPU. Each reads the common prefix of its inputs.
//!
//! This machine's CI has no AVX-512, so these paths are exercised by the property tests only
//! on CPUs that report `avx512f`; keep them structurally identical to the AVX2 kernels.

use std::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_maskz_loadu_ps,
    _mm512_reduce_add_ps, _mm512_setzero_ps, _mm512_sub_ps,
};

const LANES: usize = 16;
const ACCUMULATORS: usize = 4;

/// `Σ a[i] * b[i]` over the common prefix.
///
/// # Safety
///
/// Safe to call from code compiled with AVX-512F; anywhere else the caller must ensure the CPU
/// supports it (the dispatcher checks with `is_x86_feature_detected!`).
#[target_feature(enable = "avx512f")]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a_vecs, a_tail) = a[..n].as_chunks::<LANES>();
    let (b_vecs, b_tail) = b[..n].as_chunks::<LANES>();
    let (a_blocks, a_vecs) = a_vecs.as_chunks::<ACCUMULATORS>();
    let (b_blocks, b_vecs) = b_vecs.as_chunks::<ACCUMULATORS>();

    let [mut acc0, mut acc1, mut acc2, mut acc3] = [_mm512_setzero_ps(); ACCUMULATORS];
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        acc0 = _mm512_fmadd_ps(load(&x[0]), load(&y[0]), acc0);
        acc1 = _mm512_fmadd_ps(load(&x[1]), load(&y[1]), acc1);
        acc2 = _mm512_fmadd_ps(load(&x[2]), load(&y[2]), acc2);
        acc3 = _mm512_fmadd_ps(load(&x[3]), load(&y[3]), acc3);
    }
    for (x, y) in a_vecs.iter().zip(b_vecs) {
        acc0 = _mm512_fmadd_ps(load(x), load(y), acc0);
    }
    acc1 = _mm512_fmadd_ps(load_partial(a_tail), load_partial(b_tail), acc1);
    _mm512_reduce_add_ps(combine(acc0, acc1, acc2, acc3))
}

/// `Σ (a[i] - b[i])²` over the common prefix.
///
/// # Safety
///
/// As for [`dot`]: the CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a_vecs, a_tail) = a[..n].as_chunks::<LANES>();
    let (b_vecs, b_tail) = b[..n].as_chunks::<LANES>();
    let (a_blocks, a_vecs) = a_vecs.as_chunks::<ACCUMULATORS>();
    let (b_blocks, b_vecs) = b_vecs.as_chunks::<ACCUMULATORS>();

    let [mut acc0, mut acc1, mut acc2, mut acc3] = [_mm512_setzero_ps(); ACCUMULATORS];
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        let d0 = _mm512_sub_ps(load(&x[0]), load(&y[0]));
        let d1 = _mm512_sub_ps(load(&x[1]), load(&y[1]));
        let d2 = _mm512_sub_ps(load(&x[2]), load(&y[2]));
        let d3 = _mm512_sub_ps(load(&x[3]), load(&y[3]));
        acc0 = _mm512_fmadd_ps(d0, d0, acc0);
        acc1 = _mm512_fmadd_ps(d1, d1, acc1);
        acc2 = _mm512_fmadd_ps(d2, d2, acc2);
        acc3 = _mm512_fmadd_ps(d3, d3, acc3);
    }
    for (x, y) in a_vecs.iter().zip(b_vecs) {
        let d = _mm512_sub_ps(load(x), load(y));
        acc0 = _mm512_fmadd_ps(d, d, acc0);
    }
    let d = _mm512_sub_ps(load_partial(a_tail), load_partial(b_tail));
    acc1 = _mm512_fmadd_ps(d, d, acc1);
    _mm512_reduce_add_ps(combine(acc0, acc1, acc2, acc3))
}

/// `(Σ a[i] * b[i], Σ b[i]²)` over the common prefix, in one pass.
///
/// # Safety
///
/// As for [`dot`]: the CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) fn dot_and_norm_squared(a: &[f32], b: &[f32]) -> (f32, f32) {
    let n = a.len().min(b.len());
    let (a_vecs, a_tail) = a[..n].as_chunks::<LANES>();
    let (b_vecs, b_tail) = b[..n].as_chunks::<LANES>();
    let (a_blocks, a_vecs) = a_vecs.as_chunks::<ACCUMULATORS>();
    let (b_blocks, b_vecs) = b_vecs.as_chunks::<ACCUMULATORS>();

    let [mut ab0, mut ab1, mut ab2, mut ab3] = [_mm512_setzero_ps(); ACCUMULATORS];
    let [mut bb0, mut bb1, mut bb2, mut bb3] = [_mm512_setzero_ps(); ACCUMULATORS];
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        let (y0, y1, y2, y3) = (load(&y[0]), load(&y[1]), load(&y[2]), load(&y[3]));
        ab0 = _mm512_fmadd_ps(load(&x[0]), y0, ab0);
        ab1 = _mm512_fmadd_ps(load(&x[1]), y1, ab1);
        ab2 = _mm512_fmadd_ps(load(&x[2]), y2, ab2);
        ab3 = _mm512_fmadd_ps(load(&x[3]), y3, ab3);
        bb0 = _mm512_fmadd_ps(y0, y0, bb0);
        bb1 = _mm512_fmadd_ps(y1, y1, bb1);
        bb2 = _mm512_fmadd_ps(y2, y2, bb2);
        bb3 = _mm512_fmadd_ps(y3, y3, bb3);
    }
    for (x, y) in a_vecs.iter().zip(b_vecs) {
        let y = load(y);
        ab0 = _mm512_fmadd_ps(load(x), y, ab0);
        bb0 = _mm512_fmadd_ps(y, y, bb0);
    }
    let y = load_partial(b_tail);
    ab1 = _mm512_fmadd_ps(load_partial(a_tail), y, ab1);
    bb1 = _mm512_fmadd_ps(y, y, bb1);
    let dot = _mm512_reduce_add_ps(combine(ab0, ab1, ab2, ab3));
    let norm_squared = _mm512_reduce_add_ps(combine(bb0, bb1, bb2, bb3));
    (dot, norm_squared)
}

/// Loads sixteen floats with no alignment requirement.
#[inline]
#[target_feature(enable = "avx512f")]
fn load(v: &[f32; LANES]) -> __m512 {
    // SAFETY: `v` borrows exactly sixteen initialised `f32`s, which is what an unaligned
    // 512-bit load reads; `loadu` has no alignment requirement. AVX-512F is enabled here.
    unsafe { _mm512_loadu_ps(v.as_ptr()) }
}

/// Loads the first `min(v.len(), 16)` floats of `v` into the low lanes and zeroes the rest.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_partial(v: &[f32]) -> __m512 {
    let len = v.len().min(LANES);
    // Bit `i` is set exactly for `i < len`; `len <= 16`, so the shift cannot overflow a u32
    // and the result fits the 16-bit mask.
    let mask = ((1u32 << len) - 1) as __mmask16;
    // SAFETY: the masked load touches only lanes whose mask bit is set, i.e. elements
    // `0..len` of `v`, all in bounds; masked-off lanes are not accessed (faults on them are
    // suppressed) and read as zero. No alignment is required. AVX-512F is enabled here.
    unsafe { _mm512_maskz_loadu_ps(mask, v.as_ptr()) }
}

/// Adds four accumulators pairwise.
#[inline]
#[target_feature(enable = "avx512f")]
fn combine(acc0: __m512, acc1: __m512, acc2: __m512, acc3: __m512) -> __m512 {
    _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3))
}
