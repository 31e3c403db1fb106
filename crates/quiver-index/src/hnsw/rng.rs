//! The seeded level generator: SplitMix64 and HNSW's exponentially decaying level
//! distribution, drawn for every row before insertion starts so the levels depend only on the
//! seed, never on the number of threads.

#[cfg(test)]
mod tests;

use super::params::MAX_LEVEL;

/// SplitMix64: small, fast, and statistically fine for drawing levels.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `(0, 1]`.
    fn unit_open_closed(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

/// One level per row: `floor(-ln(u) / ln(M))` for uniform `u`, clamped to [`MAX_LEVEL`], so
/// a level is `M` times rarer than the one below (the HNSW paper's `mL = 1 / ln(M)`).
pub(crate) fn draw_levels(n: usize, m: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix64(seed);
    let mult = 1.0 / (m as f64).ln();
    (0..n)
        .map(|_| {
            let level = (-rng.unit_open_closed().ln() * mult).floor();
            // `level` is finite and >= 0 (u is in (0, 1]); the cast saturates anyway.
            (level as usize).min(MAX_LEVEL) as u8
        })
        .collect()
}
