//! Little-endian reading and writing for the stored index formats (HNSW, IVF): a cursor that
//! never reads past the end and never allocates more than the bytes it has already checked
//! are there, the metric codes, and the check that a stored index describes the segment it
//! is loaded for.

use quiver_core::Metric;

use crate::error::IndexError;

pub(crate) fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub(crate) fn put_f32s(out: &mut Vec<u8>, values: &[f32]) {
    for value in values {
        out.extend_from_slice(&value.to_le_bytes());
    }
}

pub(crate) fn metric_code(metric: Metric) -> u32 {
    match metric {
        Metric::L2 => 0,
        Metric::Ip => 1,
        Metric::Cosine => 2,
    }
}

pub(crate) fn metric_from_code(code: u32) -> Option<Metric> {
    match code {
        0 => Some(Metric::L2),
        1 => Some(Metric::Ip),
        2 => Some(Metric::Cosine),
        _ => None,
    }
}

pub(crate) fn corrupt(offset: usize, reason: &'static str) -> IndexError {
    IndexError::Corrupt { offset, reason }
}

/// Checks the metric, row count and dimension a stored index records against those of the
/// segment it is loaded for.
pub(crate) fn check_stored_shape(
    (metric, n_rows, dim): (Metric, usize, usize),
    (stored_metric, stored_rows, stored_dim): (Metric, u64, u32),
) -> Result<(), IndexError> {
    let mismatch = |field, expected: u64, stored: u64| {
        Err(IndexError::StoredMismatch { field, expected, stored })
    };
    if stored_metric != metric {
        let (expected, stored) = (metric_code(metric), metric_code(stored_metric));
        return mismatch("metric", u64::from(expected), u64::from(stored));
    }
    if stored_rows != n_rows as u64 {
        return mismatch("rows", n_rows as u64, stored_rows);
    }
    if u64::from(stored_dim) != dim as u64 {
        return mismatch("dim", dim as u64, u64::from(stored_dim));
    }
    Ok(())
}

/// A cursor over stored bytes.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    /// The offset of the next byte to read.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], IndexError> {
        if len > self.remaining() {
            return Err(corrupt(self.pos, "truncated"));
        }
        let taken = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(taken)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, IndexError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, IndexError> {
        let (low, high) = (self.u32()?, self.u32()?);
        Ok(u64::from(low) | (u64::from(high) << 32))
    }

    /// `count` little-endian `u32`s; `take` checks they are all there before anything is
    /// allocated.
    pub(crate) fn u32s(&mut self, count: usize) -> Result<Vec<u32>, IndexError> {
        let len = count.checked_mul(4).ok_or_else(|| corrupt(self.pos, "size overflow"))?;
        let bytes = self.take(len)?;
        Ok(bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    /// `count` little-endian `f32`s, each required to be finite (`reason` names the field).
    pub(crate) fn finite_f32s(
        &mut self,
        count: usize,
        reason: &'static str,
    ) -> Result<Vec<f32>, IndexError> {
        let at = self.pos;
        let values: Vec<f32> = self.u32s(count)?.into_iter().map(f32::from_bits).collect();
        if let Some(i) = values.iter().position(|x| !x.is_finite()) {
            return Err(corrupt(at + 4 * i, reason));
        }
        Ok(values)
    }
}
