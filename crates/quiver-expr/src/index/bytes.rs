//! A bounded little-endian reader for index bytes: every read checks what remains, and
//! every count is checked against the bytes that remain before anything is allocated.

use super::ScalarIndexError;

pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    pub(super) fn corrupt(&self, reason: &'static str) -> ScalarIndexError {
        ScalarIndexError::Corrupt { offset: self.at, reason }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ScalarIndexError> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len());
        let Some(end) = end else { return Err(self.corrupt("truncated")) };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    pub(super) fn u8(&mut self) -> Result<u8, ScalarIndexError> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn u32(&mut self) -> Result<u32, ScalarIndexError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    pub(super) fn u64(&mut self) -> Result<u64, ScalarIndexError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    pub(super) fn i64(&mut self) -> Result<i64, ScalarIndexError> {
        Ok(self.u64()? as i64)
    }

    pub(super) fn f64(&mut self) -> Result<f64, ScalarIndexError> {
        Ok(f64::from_bits(self.u64()?))
    }

    pub(super) fn str(&mut self) -> Result<&'a str, ScalarIndexError> {
        let len = self.u32()? as usize;
        let raw = self.take(len)?;
        std::str::from_utf8(raw).map_err(|_| self.corrupt("a key is not UTF-8"))
    }

    /// A count of items of at least `min_size` bytes each, checked against what remains.
    pub(super) fn count(&mut self, min_size: usize) -> Result<usize, ScalarIndexError> {
        let n = self.u32()? as usize;
        let remaining = self.bytes.len() - self.at;
        if n.saturating_mul(min_size.max(1)) > remaining {
            return Err(self.corrupt("a count exceeds the bytes that remain"));
        }
        Ok(n)
    }

    pub(super) fn finish(&self) -> Result<(), ScalarIndexError> {
        if self.at != self.bytes.len() {
            return Err(self.corrupt("trailing bytes"));
        }
        Ok(())
    }
}

pub(super) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(super) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Lengths are bounded by the row count (at most `u32::MAX`) or by a key's length (a
/// VarChar of at most 65,535 bytes), so they fit.
pub(super) fn put_len(out: &mut Vec<u8>, n: usize) {
    put_u32(out, u32::try_from(n).unwrap_or(u32::MAX));
}
