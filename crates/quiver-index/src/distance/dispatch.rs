//! Run-time choice of kernel implementation, made once per process, behind a safe interface.
//!
//! A [`Kernels`] value is a table of plain function pointers for one implementation. The SIMD
//! tables exist only as private statics and are handed out only after
//! `is_x86_feature_detected!` confirmed the features they were compiled for; that is the
//! invariant that makes the `unsafe` calls in the safe methods sound.

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::OnceLock;

use super::scalar;

/// One implementation of the distance kernels, reached through safe methods.
///
/// Get the best one for this CPU with [`kernels`]; tests and benchmarks can get every
/// implementation the CPU supports with [`Kernels::all_available`].
///
/// All methods read the common prefix of their inputs. Callers must pass slices of equal
/// length: a mismatch is a bug in the caller, caught by a `debug_assert!` in debug builds; in
/// release builds the result is computed over the first `min(a.len(), b.len())` elements.
/// Nothing is ever read out of bounds.
pub struct Kernels {
    name: &'static str,
    // Invariant: these pointers may be called only on a CPU that supports the features the
    // functions were compiled for. Every `Kernels` value is one of the statics below, and only
    // `all_available` hands them out, after checking those features.
    dot: unsafe fn(&[f32], &[f32]) -> f32,
    l2_squared: unsafe fn(&[f32], &[f32]) -> f32,
    dot_and_norm_squared: unsafe fn(&[f32], &[f32]) -> (f32, f32),
}

static SCALAR: Kernels = Kernels {
    name: "scalar",
    dot: scalar::dot,
    l2_squared: scalar::l2_squared,
    dot_and_norm_squared: scalar::dot_and_norm_squared,
};

#[cfg(target_arch = "x86_64")]
static AVX2_FMA: Kernels = Kernels {
    name: "avx2+fma",
    dot: super::avx2::dot,
    l2_squared: super::avx2::l2_squared,
    dot_and_norm_squared: super::avx2::dot_and_norm_squared,
};

#[cfg(target_arch = "x86_64")]
static AVX512: Kernels = Kernels {
    name: "avx512",
    dot: super::avx512::dot,
    l2_squared: super::avx512::l2_squared,
    dot_and_norm_squared: super::avx512::dot_and_norm_squared,
};

static BEST: OnceLock<&'static Kernels> = OnceLock::new();

/// The fastest kernel implementation this CPU supports, detected on first use.
pub fn kernels() -> &'static Kernels {
    BEST.get_or_init(|| Kernels::all_available().first().copied().unwrap_or(&SCALAR))
}

impl Kernels {
    /// Every implementation this CPU supports, fastest first; the scalar reference is always
    /// last.
    ///
    /// Reads no environment: it exists so tests and benchmarks can exercise each path
    /// explicitly.
    pub fn all_available() -> Vec<&'static Kernels> {
        let mut res = Vec::with_capacity(3);
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                res.push(&AVX512);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                res.push(&AVX2_FMA);
            }
        }
        res.push(&SCALAR);
        res
    }

    /// `"avx512"`, `"avx2+fma"` or `"scalar"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Inner product `Σ a[i] * b[i]`.
    #[inline]
    pub fn dot(&self, a: &[f32], b: &[f32]) -> f32 {
        debug_assert_eq!(a.len(), b.len(), "dot of slices with different lengths");
        // SAFETY: `self` is one of the statics above, obtained through `all_available`, which
        // returns a table only after detecting the CPU features its functions need. The
        // functions read only the common prefix of `a` and `b`, so any slices are fine.
        unsafe { (self.dot)(a, b) }
    }

    /// Squared Euclidean distance `Σ (a[i] - b[i])²`.
    #[inline]
    pub fn l2_squared(&self, a: &[f32], b: &[f32]) -> f32 {
        debug_assert_eq!(a.len(), b.len(), "l2_squared of slices with different lengths");
        // SAFETY: as in `dot`: the table was handed out only after its CPU features were
        // detected, and the function reads only the common prefix of `a` and `b`.
        unsafe { (self.l2_squared)(a, b) }
    }

    /// `(a · b, b · b)` in one pass over both slices: the two sums a cosine scan needs per
    /// stored row `b` once the query (`a`) norm is known.
    #[inline]
    pub fn dot_and_norm_squared(&self, a: &[f32], b: &[f32]) -> (f32, f32) {
        debug_assert_eq!(a.len(), b.len(), "dot_and_norm_squared of slices with different lengths");
        // SAFETY: as in `dot`: the table was handed out only after its CPU features were
        // detected, and the function reads only the common prefix of `a` and `b`.
        unsafe { (self.dot_and_norm_squared)(a, b) }
    }
}

impl fmt::Debug for Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernels").field("name", &self.name).finish_non_exhaustive()
    }
}
