//! A software prefetch hint: the graph walks know which rows and link lists they will read a
//! few hundred cycles before they read them.

/// Asks the CPU to bring the cache line holding `ptr` into L1. Any address is allowed: the
/// hint never faults, and on targets other than x86_64 it does nothing.
#[inline(always)]
pub(crate) fn prefetch<T>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is `unsafe` only because it is a `#[target_feature(enable =
    // "sse")]` function, and SSE is part of the x86_64 baseline that every x86_64 CPU and this
    // compilation target have. PREFETCHT0 is a hint that never faults and never dereferences
    // architecturally, so `ptr` may be any address, even dangling or out of bounds.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(ptr.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}
