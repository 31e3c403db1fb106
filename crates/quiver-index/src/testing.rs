//! Deterministic fixtures shared by the unit tests: a tiny seeded generator, so exhaustive
//! loops get varied data without a `rand` dependency and every run sees the same numbers.

/// SplitMix64: small, fast and good enough to fill test vectors.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[low, high)`.
    pub(crate) fn f32_in(&mut self, low: f32, high: f32) -> f32 {
        // The top 24 bits give every representable step of a unit interval's f32 mantissa.
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        low + (high - low) * unit
    }

    /// `len` values uniform in `[low, high)`.
    pub(crate) fn vec_in(&mut self, len: usize, low: f32, high: f32) -> Vec<f32> {
        (0..len).map(|_| self.f32_in(low, high)).collect()
    }
}
