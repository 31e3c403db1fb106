//! A small little-endian binary codec for on-disk payloads (WAL records, segment columns).
//!
//! [`Encoder`] appends fixed-width little-endian integers and floats, booleans as one byte
//! (0 or 1), and length-prefixed byte strings (the length is a `u64`, so encoding never
//! truncates and never fails). Integers are always written at a fixed width: the format never
//! depends on the pointer width of the machine.
//!
//! [`Decoder`] reads the same shapes back from untrusted bytes without panicking: every read is
//! bounds-checked, and every decoded length is checked against a caller-supplied maximum and
//! against the bytes actually remaining *before* anything is allocated, so a corrupted length
//! can never trigger a huge allocation. Failures are [`CodecError`]s carrying the offset of the
//! bad field; [`CodecError::into_corrupt`] turns one into [`StorageError::Corrupt`] once the
//! caller knows which file (and where in it) the bytes came from.

use thiserror::Error;

use crate::error::StorageError;

/// Appends values to a byte buffer in the codec's format.
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

macro_rules! put_le {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&mut self, value: $ty) {
                self.buf.extend_from_slice(&value.to_le_bytes());
            }
        )*
    };
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// An empty encoder with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Encoder {
        Encoder { buf: Vec::with_capacity(capacity) }
    }

    put_le! {
        /// Appends a `u8`.
        put_u8: u8;
        /// Appends a little-endian `u16`.
        put_u16: u16;
        /// Appends a little-endian `u32`.
        put_u32: u32;
        /// Appends a little-endian `u64`.
        put_u64: u64;
        /// Appends an `i8`.
        put_i8: i8;
        /// Appends a little-endian `i16`.
        put_i16: i16;
        /// Appends a little-endian `i32`.
        put_i32: i32;
        /// Appends a little-endian `i64`.
        put_i64: i64;
        /// Appends a little-endian IEEE-754 `f32` (bit pattern preserved, NaN included).
        put_f32: f32;
        /// Appends a little-endian IEEE-754 `f64` (bit pattern preserved, NaN included).
        put_f64: f64;
    }

    /// Appends a boolean as one byte, 0 or 1.
    pub fn put_bool(&mut self, value: bool) {
        self.put_u8(u8::from(value));
    }

    /// Appends a length-prefixed byte string: the length as a `u64`, then the bytes.
    ///
    /// The caller bounds `bytes` (the decoder must be given a maximum at least as large).
    pub fn put_bytes(&mut self, bytes: &[u8]) {
        self.put_len(bytes.len());
        self.buf.extend_from_slice(bytes);
    }

    /// Appends a length-prefixed UTF-8 string, in the same format as [`Encoder::put_bytes`].
    pub fn put_str(&mut self, value: &str) {
        self.put_bytes(value.as_bytes());
    }

    /// Appends a length as a `u64`, for a caller encoding a count followed by elements.
    pub fn put_len(&mut self, len: usize) {
        // usize is at most 64 bits on every platform Rust supports, so this never saturates.
        self.put_u64(u64::try_from(len).unwrap_or(u64::MAX));
    }

    /// Appends `bytes` with no length prefix.
    pub fn put_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Appends each float as in [`Encoder::put_f32`], with no length prefix (the reader must
    /// know the count, as for a vector of the schema's dimension).
    pub fn put_f32_slice(&mut self, values: &[f32]) {
        self.buf.reserve(values.len().saturating_mul(4));
        for value in values {
            self.put_f32(*value);
        }
    }

    /// The number of bytes encoded so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True if nothing was encoded yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes encoded so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// A decoding failure: the bytes do not hold what the caller expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{reason} at byte {offset}")]
pub struct CodecError {
    /// Where, relative to the start of the decoded bytes, the bad field starts.
    pub offset: usize,
    /// What was wrong.
    pub reason: &'static str,
}

impl CodecError {
    /// The [`StorageError::Corrupt`] for this failure in the file `path`, whose decoded bytes
    /// start at `base_offset` within the file.
    pub fn into_corrupt(self, path: &str, base_offset: u64) -> StorageError {
        let offset = base_offset.saturating_add(u64::try_from(self.offset).unwrap_or(u64::MAX));
        StorageError::corrupt(path, offset, self.reason)
    }
}

/// Reads values from a byte slice in the codec's format; see the module documentation.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

macro_rules! get_le {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&mut self) -> Result<$ty, CodecError> {
                Ok(<$ty>::from_le_bytes(self.get_array()?))
            }
        )*
    };
}

impl<'a> Decoder<'a> {
    /// A decoder positioned at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder { bytes, pos: 0 }
    }

    get_le! {
        /// Reads a `u8`.
        get_u8: u8;
        /// Reads a little-endian `u16`.
        get_u16: u16;
        /// Reads a little-endian `u32`.
        get_u32: u32;
        /// Reads a little-endian `u64`.
        get_u64: u64;
        /// Reads an `i8`.
        get_i8: i8;
        /// Reads a little-endian `i16`.
        get_i16: i16;
        /// Reads a little-endian `i32`.
        get_i32: i32;
        /// Reads a little-endian `i64`.
        get_i64: i64;
        /// Reads a little-endian `f32`.
        get_f32: f32;
        /// Reads a little-endian `f64`.
        get_f64: f64;
    }

    /// Reads a boolean; any byte other than 0 or 1 is an error.
    pub fn get_bool(&mut self) -> Result<bool, CodecError> {
        let at = self.pos;
        match self.get_u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(CodecError { offset: at, reason: "invalid boolean byte" }),
        }
    }

    /// Reads exactly `N` bytes.
    pub fn get_array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let raw = self.get_raw(N)?;
        <[u8; N]>::try_from(raw)
            .map_err(|_| CodecError { offset: self.pos, reason: "internal length mismatch" })
    }

    /// Reads `len` bytes with no length prefix, borrowing them.
    pub fn get_raw(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(len);
        match end.and_then(|end| self.bytes.get(self.pos..end).map(|raw| (end, raw))) {
            Some((end, raw)) => {
                self.pos = end;
                Ok(raw)
            }
            None => Err(CodecError { offset: self.pos, reason: "unexpected end of data" }),
        }
    }

    /// Reads a `u64` length (as written by [`Encoder::put_len`]) and checks it: it must not
    /// exceed `max` nor the number of bytes remaining after it (every counted unit takes at
    /// least one byte). Nothing is allocated.
    pub fn get_len(&mut self, max: u64) -> Result<usize, CodecError> {
        let at = self.pos;
        let len = self.get_u64()?;
        let fail = |decoder: &mut Decoder<'a>, reason: &'static str| {
            decoder.pos = at;
            Err(CodecError { offset: at, reason })
        };
        if len > max {
            return fail(self, "length exceeds its limit");
        }
        let Ok(len) = usize::try_from(len) else {
            return fail(self, "length exceeds the remaining bytes");
        };
        if len > self.remaining() {
            return fail(self, "length exceeds the remaining bytes");
        }
        Ok(len)
    }

    /// Reads a length-prefixed byte string of at most `max` bytes, borrowing it.
    pub fn get_bytes(&mut self, max: u64) -> Result<&'a [u8], CodecError> {
        let len = self.get_len(max)?;
        self.get_raw(len)
    }

    /// Reads a length-prefixed UTF-8 string of at most `max` bytes, borrowing it.
    pub fn get_str(&mut self, max: u64) -> Result<&'a str, CodecError> {
        let at = self.pos;
        let bytes = self.get_bytes(max)?;
        std::str::from_utf8(bytes).map_err(|_| {
            self.pos = at;
            CodecError { offset: at, reason: "string is not valid UTF-8" }
        })
    }

    /// Reads `count` floats written by [`Encoder::put_f32_slice`]. Fails, without allocating,
    /// if fewer than `count * 4` bytes remain.
    pub fn get_f32_vec(&mut self, count: usize) -> Result<Vec<f32>, CodecError> {
        let Some(len) = count.checked_mul(4) else {
            return Err(CodecError { offset: self.pos, reason: "vector length overflows" });
        };
        let raw = self.get_raw(len)?;
        let mut values = Vec::with_capacity(count);
        for chunk in raw.chunks_exact(4) {
            let mut word = [0u8; 4];
            word.copy_from_slice(chunk);
            values.push(f32::from_le_bytes(word));
        }
        Ok(values)
    }

    /// The number of bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The number of bytes read so far (the offset of the next field).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Succeeds only if every byte was read: trailing bytes mean the data is not what the
    /// caller thinks it is.
    pub fn finish(&self) -> Result<(), CodecError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(CodecError { offset: self.pos, reason: "unexpected trailing bytes" })
        }
    }
}

#[cfg(test)]
mod tests;
