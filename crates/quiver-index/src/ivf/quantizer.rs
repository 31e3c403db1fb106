//! 8-bit scalar quantisation with one range per dimension (faiss's `QT_8bit`): dimension `j`
//! of a vector is stored as the byte `c` nearest to `(x[j] - min[j]) / step[j]`, and read back
//! as `min[j] + step[j] · c`, where `min[j]` and `max[j] = min[j] + 255 · step[j]` are the
//! smallest and largest value of dimension `j` over the rows encoded. A value is off by at most
//! `step[j] / 2`; a dimension with one value throughout (`step[j] = 0`) is exact.
//!
//! Searches score codes without decoding them: with `x = min + step ⊙ c`, every metric's
//! distance is one inner product between a per-query weight vector `w` and the code widened
//! to floats, plus per-query and per-row constants ([`CodeQuery`]):
//!
//! * L2: `|q - x|² = |q - min|² - 2 ((q - min) ⊙ step) · c + |step ⊙ c|²`, expanded around
//!   `min` rather than the origin so the cancellation is bounded by the data's spread, not by
//!   its distance from the origin; the row constant is `|step ⊙ c|²`;
//! * IP: `q · x = q · min + (q ⊙ step) · c`;
//! * COSINE: the same inner product times `1/|q|` and the row constant `1/|x|`.
//!
//! Widening bytes to floats is all the per-row work besides the SIMD inner product.

#[cfg(test)]
mod tests;

use quiver_core::Metric;

use crate::distance::kernels;
use crate::error::IndexError;

use crate::stored::{Reader, corrupt, put_f32s};

/// The largest step: `255 · MAX_STEP` is below `f32::MAX`.
const MAX_STEP: f64 = f32::MAX as f64 / 256.0;

/// The per-dimension grid of an 8-bit code.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Quantizer {
    /// The value of code 0 in each dimension.
    min: Vec<f32>,
    /// The distance between consecutive codes in each dimension (finite, `>= 0`).
    step: Vec<f32>,
}

impl Quantizer {
    /// Fits the grid to the rows of `vectors` (rows of `dim > 0` floats), each multiplied by
    /// `scale(row)` (1 to encode rows as they are, `1/|row|` to encode them normalised).
    pub(crate) fn train(vectors: &[f32], dim: usize, scale: impl Fn(&[f32]) -> f32) -> Quantizer {
        let mut min = vec![f32::INFINITY; dim];
        let mut max = vec![f32::NEG_INFINITY; dim];
        for row in vectors.chunks_exact(dim) {
            let s = scale(row);
            for ((&x, lo), hi) in row.iter().zip(&mut min).zip(&mut max) {
                let x = x * s;
                *lo = lo.min(x);
                *hi = hi.max(x);
            }
        }
        let step = min
            .iter_mut()
            .zip(&max)
            .map(|(lo, &hi)| {
                if !(lo.is_finite() && hi.is_finite()) {
                    // No rows: any grid will do.
                    *lo = 0.0;
                    return 0.0;
                }
                // In `f64`, `hi - lo` cannot overflow. Rounding the step to `f32` may shrink
                // the grid a hair below `hi`, which encoding clamps. The cap keeps
                // `255 · step` finite, so decoding never overflows; only a range wider than
                // `f32::MAX` hits it, and then the far end clamps.
                ((f64::from(hi) - f64::from(*lo)) / 255.0).min(MAX_STEP) as f32
            })
            .collect();
        Quantizer { min, step }
    }

    pub(crate) fn dim(&self) -> usize {
        self.min.len()
    }

    /// Writes the code of `row · scale` into `code` (both of the grid's dimension).
    pub(crate) fn encode(&self, row: &[f32], scale: f32, code: &mut [u8]) {
        for (((c, &x), &lo), &step) in code.iter_mut().zip(row).zip(&self.min).zip(&self.step) {
            let x = f64::from(x * scale);
            *c = if step > 0.0 {
                // `as u8` saturates, and the clamp keeps rounding at the edges in range.
                ((x - f64::from(lo)) / f64::from(step)).round().clamp(0.0, 255.0) as u8
            } else {
                0
            };
        }
    }

    /// Writes the vector `code` stands for into `out` (both of the grid's dimension).
    #[inline]
    pub(crate) fn decode(&self, code: &[u8], out: &mut [f32]) {
        let n = out.len().min(code.len()).min(self.min.len()).min(self.step.len());
        // Equal-length slices let the compiler drop the bounds checks and vectorise the loop.
        let (out, code, min, step) = (&mut out[..n], &code[..n], &self.min[..n], &self.step[..n]);
        for j in 0..n {
            out[j] = min[j] + step[j] * f32::from(code[j]);
        }
    }

    /// The constant a row contributes to its distances (see the module docs): `|step ⊙ c|²`
    /// for L2, `1/|x|` for COSINE (0 for a zero vector), 0 for IP. `decoded` is scratch of
    /// the grid's dimension.
    pub(crate) fn row_term(&self, metric: Metric, code: &[u8], decoded: &mut [f32]) -> f32 {
        match metric {
            Metric::L2 => {
                let offsets = code.iter().zip(&self.step).map(|(&c, &step)| step * f32::from(c));
                offsets.map(|x| x * x).sum()
            }
            Metric::Cosine => {
                self.decode(code, decoded);
                let norm = kernels().dot(decoded, decoded).sqrt();
                let inv = 1.0 / norm;
                if inv.is_finite() { inv } else { 0.0 }
            }
            Metric::Ip => 0.0,
        }
    }

    /// Prepares `query` (of the grid's dimension) for scoring codes: fills `weights` and
    /// returns the per-query constants.
    pub(crate) fn prepare(
        &self,
        metric: Metric,
        query: &[f32],
        weights: &mut Vec<f32>,
    ) -> CodeQuery {
        let kernels = kernels();
        weights.clear();
        let base = match metric {
            Metric::L2 => {
                let centred = query.iter().zip(&self.min).map(|(&q, &lo)| q - lo);
                weights.extend(centred.zip(&self.step).map(|(q, &step)| q * step));
                kernels.l2_squared(query, &self.min)
            }
            Metric::Ip | Metric::Cosine => {
                weights.extend(query.iter().zip(&self.step).map(|(&q, &step)| q * step));
                kernels.dot(query, &self.min)
            }
        };
        let inv_query_norm = match metric {
            Metric::Cosine => {
                let inv = 1.0 / kernels.dot(query, query).sqrt();
                if inv.is_finite() { inv } else { 0.0 }
            }
            Metric::L2 | Metric::Ip => 0.0,
        };
        CodeQuery { metric, base, inv_query_norm }
    }

    /// The stored form: `dim` `f32` minima, then `dim` `f32` steps.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        put_f32s(out, &self.min);
        put_f32s(out, &self.step);
    }

    /// The stored size for a grid of `dim` dimensions.
    pub(crate) fn stored_len(dim: usize) -> Option<usize> {
        dim.checked_mul(8)
    }

    /// Reads a grid of `dim` dimensions; every value must be finite, every step `>= 0`, and the
    /// largest code must decode to a finite value.
    pub(crate) fn read(reader: &mut Reader<'_>, dim: usize) -> Result<Quantizer, IndexError> {
        let min = reader.finite_f32s(dim, "quantizer minimum is not finite")?;
        let steps_at = reader.pos();
        let step = reader.finite_f32s(dim, "quantizer step is not finite")?;
        for (i, (&lo, &step)) in min.iter().zip(&step).enumerate() {
            if !(step >= 0.0 && f64::from(step) <= MAX_STEP && (lo + 255.0 * step).is_finite()) {
                return Err(corrupt(steps_at + 4 * i, "quantizer step out of range"));
            }
        }
        Ok(Quantizer { min, step })
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        (self.min.capacity() + self.step.capacity()) * size_of::<f32>()
    }
}

/// Writes `code`'s bytes as floats into `out` (of the same length).
#[inline]
pub(crate) fn widen(code: &[u8], out: &mut [f32]) {
    for (x, &c) in out.iter_mut().zip(code) {
        *x = f32::from(c);
    }
}

/// A query's constants for scoring codes (see the module docs and [`Quantizer::prepare`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CodeQuery {
    metric: Metric,
    /// `|q - min|²` for L2, `q · min` for IP and COSINE.
    base: f32,
    /// `1/|q|` for COSINE (0 for a zero query), else unused.
    inv_query_norm: f32,
}

impl CodeQuery {
    /// The internal distance (smaller is closer) to a row whose widened code has inner product
    /// `dot` with the weights and whose [`Quantizer::row_term`] is `row_term`.
    #[inline]
    pub(crate) fn distance(&self, dot: f32, row_term: f32) -> f32 {
        match self.metric {
            // Rounding may take a near-zero distance a hair below zero.
            Metric::L2 => (self.base - 2.0 * dot + row_term).max(0.0),
            Metric::Ip => -(self.base + dot),
            Metric::Cosine => {
                let cos = (self.base + dot) * self.inv_query_norm * row_term;
                // A zero query or row has cosine 0 with everything, as in the flat scan.
                if cos.is_finite() { -cos.clamp(-1.0, 1.0) } else { 0.0 }
            }
        }
    }
}
