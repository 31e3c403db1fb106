//! Every kernel implementation the CPU supports against the scalar reference.
//!
//! # Tolerance
//!
//! A check passes when `|simd - scalar| <= 1e-4 * S + 1e-5`, where `S = Σ |t_i|` is the sum
//! of the magnitudes of the terms being added: `t_i = a_i * b_i` for `dot`, `t_i = d_i²` with
//! `d_i = a_i - b_i` for `l2_squared` (every implementation rounds `d_i` identically, so they
//! all sum the same terms) and `t_i = b_i²` for the norm half of `dot_and_norm_squared`.
//!
//! Why that bound holds: with `u = 2⁻²⁴` (the f32 unit roundoff), summing the terms along any
//! evaluation tree of depth `h`, with each product rounded or fused, errs by at most
//! `γ_h · S` where `γ_h = h·u / (1 - h·u)` (Higham, *Accuracy and Stability of Numerical
//! Algorithms*, §3.1). The scalar loop is a chain, `h = n`. The AVX2 kernel gives each of its
//! 32 lanes at most `n/32 + 3` fused steps, then combines accumulators (2 levels), lanes
//! (3 levels) and a scalar tail of at most 7 terms: `h ≤ n/32 + 16`. The AVX-512 kernel is
//! shallower (`h ≤ n/64 + 11`). Both errors are measured from the same exact sum, so the two
//! results differ by at most `(γ_n + γ_{n/32+16}) · S ≤ γ_1072 · S ≈ 6.4e-5 · S` for
//! `n ≤ 1024`, inside `1e-4 · S`. The `1e-5` absolute slack covers `S = 0` and gradual
//! underflow, which adds at most about `1e-45` per operation.

use proptest::collection::vec;
use proptest::prelude::*;

use super::{Kernels, kernels};
use crate::distance::scalar;
use crate::testing::Rng;

const MAX_LEN: usize = 1024;
const MAX_OFFSET: usize = 7;

#[test]
fn scalar_is_always_available_and_last() {
    let all = Kernels::all_available();
    let names: Vec<&str> = all.iter().map(|k| k.name()).collect();
    assert_eq!(names.last(), Some(&"scalar"), "{names:?}");
}

#[test]
fn dispatch_picks_the_best_path_the_cpu_supports() {
    let name = kernels().name();
    assert_eq!(name, Kernels::all_available()[0].name());
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            assert_eq!(name, "avx512");
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            assert_eq!(name, "avx2+fma", "the CPU has AVX2 and FMA, the dispatcher must use them");
        }
    }
}

#[test]
fn empty_inputs_give_zero() {
    for k in Kernels::all_available() {
        assert_eq!(k.dot(&[], &[]), 0.0, "{}", k.name());
        assert_eq!(k.l2_squared(&[], &[]), 0.0, "{}", k.name());
        assert_eq!(k.dot_and_norm_squared(&[], &[]), (0.0, 0.0), "{}", k.name());
    }
}

#[test]
fn every_kernel_matches_scalar_for_every_length_and_offset() {
    let mut rng = Rng::new(0x5EED_D157);
    for len in 1..=MAX_LEN {
        let a = rng.vec_in(len + MAX_OFFSET, -10.0, 10.0);
        let b = rng.vec_in(len + MAX_OFFSET, -10.0, 10.0);
        for a_offset in 0..=MAX_OFFSET {
            // A different misalignment for `b`, so the two loads are skewed against each other.
            let b_offset = (a_offset * 3 + 1) % (MAX_OFFSET + 1);
            check(&a[a_offset..a_offset + len], &b[b_offset..b_offset + len]);
        }
    }
}

#[test]
fn raw_kernels_read_only_the_common_prefix() {
    let mut rng = Rng::new(7);
    let lengths = [(0, 5), (5, 0), (7, 9), (33, 17), (17, 33), (100, 64), (64, 100), (130, 129)];
    for k in Kernels::all_available() {
        for (a_len, b_len) in lengths {
            let a = rng.vec_in(a_len, -1.0, 1.0);
            let b = rng.vec_in(b_len, -1.0, 1.0);
            let n = a_len.min(b_len);
            let (a_prefix, b_prefix) = (&a[..n], &b[..n]);
            // SAFETY: `k` came from `all_available`, so the CPU has the features its functions
            // need; the functions accept slices of any lengths.
            let (dot, l2, both) = unsafe {
                ((k.dot)(&a, &b), (k.l2_squared)(&a, &b), (k.dot_and_norm_squared)(&a, &b))
            };
            assert_eq!(dot.to_bits(), k.dot(a_prefix, b_prefix).to_bits(), "{}", k.name());
            assert_eq!(l2.to_bits(), k.l2_squared(a_prefix, b_prefix).to_bits(), "{}", k.name());
            assert_eq!(both, k.dot_and_norm_squared(a_prefix, b_prefix), "{}", k.name());
        }
    }
}

/// Element values at several scales, mixed within one vector so sums cancel.
fn element() -> impl Strategy<Value = f32> {
    prop_oneof![-1.0f32..1.0, -1000.0f32..1000.0, -1e-3f32..1e-3, Just(0.0f32)]
}

/// Two equal-length inputs inside larger buffers, each starting at its own offset.
fn unaligned_pair() -> impl Strategy<Value = (Vec<f32>, usize, Vec<f32>, usize, usize)> {
    (1..=MAX_LEN, 0..=MAX_OFFSET, 0..=MAX_OFFSET).prop_flat_map(|(len, a_offset, b_offset)| {
        (
            vec(element(), a_offset + len),
            Just(a_offset),
            vec(element(), b_offset + len),
            Just(b_offset),
            Just(len),
        )
    })
}

proptest! {
    #[test]
    fn every_kernel_matches_scalar_on_random_values(
        (a, a_offset, b, b_offset, len) in unaligned_pair()
    ) {
        check(&a[a_offset..a_offset + len], &b[b_offset..b_offset + len]);
    }
}

/// Checks every available implementation, and the scalar reference itself, against the
/// tolerance derived in the module docs.
#[track_caller]
fn check(a: &[f32], b: &[f32]) {
    let dot_terms: Vec<f64> = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).collect();
    let l2_terms: Vec<f64> =
        a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).collect();
    let norm_terms: Vec<f64> = b.iter().map(|y| f64::from(*y).powi(2)).collect();
    let exact = |terms: &[f64]| terms.iter().sum::<f64>();
    let magnitude = |terms: &[f64]| terms.iter().map(|t| t.abs()).sum::<f64>();

    let want_dot = scalar::dot(a, b);
    let want_l2 = scalar::l2_squared(a, b);
    let (want_both_dot, want_norm) = scalar::dot_and_norm_squared(a, b);
    assert_eq!(want_both_dot.to_bits(), want_dot.to_bits(), "scalar fused dot");

    // The oracle itself: within the bound of the exact (f64) sum.
    assert_close("scalar dot vs exact", want_dot, exact(&dot_terms), magnitude(&dot_terms));
    assert_close("scalar l2 vs exact", want_l2, exact(&l2_terms), magnitude(&l2_terms));
    assert_close("scalar norm vs exact", want_norm, exact(&norm_terms), magnitude(&norm_terms));

    for k in Kernels::all_available() {
        let (got_dot, got_norm) = k.dot_and_norm_squared(a, b);
        let want = |x: f32| f64::from(x);
        assert_close(k.name(), k.dot(a, b), want(want_dot), magnitude(&dot_terms));
        assert_close(k.name(), k.l2_squared(a, b), want(want_l2), magnitude(&l2_terms));
        assert_close(k.name(), got_dot, want(want_dot), magnitude(&dot_terms));
        assert_close(k.name(), got_norm, want(want_norm), magnitude(&norm_terms));
    }
}

#[track_caller]
fn assert_close(what: &str, got: f32, want: f64, magnitude: f64) {
    let tolerance = 1e-4 * magnitude + 1e-5;
    let error = (f64::from(got) - want).abs();
    assert!(error <= tolerance, "{what}: got {got}, want {want}, error {error} > {tolerance}");
}
