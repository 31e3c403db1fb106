//! Block files: the versioned, checksummed container of every immutable file (segments,
//! manifests, the catalog).
//!
//! A block file holds a sequence of opaque blocks. Every byte of the file is covered by a
//! check, so a flipped byte anywhere, or a truncation at any length, makes [`BlockFile::parse`]
//! fail with [`StorageError::Corrupt`] naming the file and the offset of the damaged part (or
//! with [`StorageError::UnsupportedVersion`] if the damage is in the version field and reads as
//! a newer version).
//!
//! # Layout
//!
//! All integers are little-endian. CRCs are CRC-32C (Castagnoli).
//!
//! ```text
//! offset 0                  +----------------------------------+
//!                           | kind magic        [u8; 8]        |  header, 16 bytes
//!                           | version           u32            |
//!                           | header_crc        u32            |  CRC of bytes 0..12
//! offset 16                 +----------------------------------+
//!                           | block 0           len_0 bytes    |  blocks, back to back,
//!                           | block 1           len_1 bytes    |  no padding
//!                           | ...                              |
//! index_offset              +----------------------------------+
//!                           | block 0: offset u64, len u64,    |  index, 20 bytes per block
//!                           |          crc u32 (of its bytes)  |
//!                           | ...                              |
//! index_offset + 20 * n     +----------------------------------+
//!                           | index_offset      u64            |  trailer, 28 bytes
//!                           | block_count n     u64            |
//!                           | index_crc         u32            |  CRC of index + the 16
//!                           |                                  |  trailer bytes above it
//!                           | kind magic again  [u8; 8]        |
//! EOF                       +----------------------------------+
//! ```
//!
//! Invariants checked by the reader: the file is at least 44 bytes; both magics equal the
//! expected kind; `version <= max_version`; the header and index CRCs match;
//! `index_offset + 20 * n + 28` equals the file length exactly (checked arithmetic); block `i`
//! starts where block `i - 1` ends (block 0 at 16) and the last one ends at `index_offset`;
//! every block's CRC matches.

use crate::codec::{CodecError, Decoder, Encoder};
use crate::error::{Result, StorageError};

/// Length of the header.
const HEADER_LEN: usize = 16;
/// Length of one index entry.
const INDEX_ENTRY_LEN: usize = 20;
/// Length of the trailer.
const TRAILER_LEN: usize = 28;

/// Builds a block file in memory.
#[derive(Debug, Clone)]
pub struct BlockFileWriter {
    kind: [u8; 8],
    buf: Vec<u8>,
    index: Encoder,
    num_blocks: u64,
}

impl BlockFileWriter {
    /// Starts a file of the given kind (its 8-byte magic) and format version.
    pub fn new(kind: [u8; 8], version: u32) -> BlockFileWriter {
        let mut header = Encoder::with_capacity(HEADER_LEN);
        header.put_raw(&kind);
        header.put_u32(version);
        header.put_u32(crc32c::crc32c(header.as_bytes()));
        BlockFileWriter { kind, buf: header.into_bytes(), index: Encoder::new(), num_blocks: 0 }
    }

    /// Appends a block and returns its index.
    pub fn add_block(&mut self, bytes: &[u8]) -> usize {
        self.index.put_len(self.buf.len());
        self.index.put_len(bytes.len());
        self.index.put_u32(crc32c::crc32c(bytes));
        self.buf.extend_from_slice(bytes);
        self.num_blocks += 1;
        usize::try_from(self.num_blocks - 1).unwrap_or(usize::MAX)
    }

    /// The finished file.
    pub fn finish(self) -> Vec<u8> {
        let index_offset = self.buf.len();
        let mut tail = self.index;
        tail.put_len(index_offset);
        tail.put_u64(self.num_blocks);
        tail.put_u32(crc32c::crc32c(tail.as_bytes()));
        tail.put_raw(&self.kind);
        let mut file = self.buf;
        file.extend_from_slice(tail.as_bytes());
        file
    }
}

/// A verified block file; see the module documentation for what was checked.
#[derive(Debug, Clone)]
pub struct BlockFile {
    path: String,
    version: u32,
    bytes: Vec<u8>,
    /// `(start, end)` of each block within `bytes`.
    blocks: Vec<(usize, usize)>,
}

impl BlockFile {
    /// Verifies `bytes`, read from the file `path`, as a block file of the given kind written
    /// by a format version up to `max_version`.
    pub fn parse(path: &str, bytes: Vec<u8>, kind: [u8; 8], max_version: u32) -> Result<BlockFile> {
        let file_len = bytes.len();
        let corrupt = |offset: usize, reason: &str| {
            StorageError::corrupt(path, u64::try_from(offset).unwrap_or(u64::MAX), reason)
        };
        let codec = |err: CodecError, base: usize| {
            err.into_corrupt(path, u64::try_from(base).unwrap_or(u64::MAX))
        };
        if file_len < HEADER_LEN + TRAILER_LEN {
            return Err(corrupt(0, "file is too short to be a block file (truncated?)"));
        }

        // Header.
        let mut header = Decoder::new(&bytes[..HEADER_LEN]);
        let magic: [u8; 8] = header.get_array().map_err(|err| codec(err, 0))?;
        if magic != kind {
            return Err(corrupt(0, "bad magic: not a file of the expected kind"));
        }
        let version = header.get_u32().map_err(|err| codec(err, 0))?;
        if version > max_version {
            return Err(StorageError::UnsupportedVersion {
                path: path.to_owned(),
                found: version,
                supported: max_version,
            });
        }
        let header_crc = header.get_u32().map_err(|err| codec(err, 0))?;
        if header_crc != crc32c::crc32c(&bytes[..HEADER_LEN - 4]) {
            return Err(corrupt(0, "header checksum mismatch"));
        }

        // Trailer.
        let trailer_offset = file_len - TRAILER_LEN;
        let mut trailer = Decoder::new(&bytes[trailer_offset..]);
        let index_offset = trailer.get_u64().map_err(|err| codec(err, trailer_offset))?;
        let num_blocks = trailer.get_u64().map_err(|err| codec(err, trailer_offset))?;
        let index_crc = trailer.get_u32().map_err(|err| codec(err, trailer_offset))?;
        let end_magic: [u8; 8] = trailer.get_array().map_err(|err| codec(err, trailer_offset))?;
        if end_magic != kind {
            return Err(corrupt(file_len - 8, "bad trailing magic (truncated?)"));
        }
        let index_len = num_blocks.checked_mul(INDEX_ENTRY_LEN as u64);
        let expected_len = index_len
            .and_then(|index_len| index_offset.checked_add(index_len))
            .and_then(|end| end.checked_add(TRAILER_LEN as u64));
        if expected_len != Some(file_len as u64) || index_offset < HEADER_LEN as u64 {
            return Err(corrupt(trailer_offset, "index position or block count is impossible"));
        }
        // Both fit: they are below the file length.
        let index_offset = usize::try_from(index_offset).unwrap_or(usize::MAX);
        let num_blocks = usize::try_from(num_blocks).unwrap_or(usize::MAX);
        let checked = bytes.get(index_offset..trailer_offset + 16).unwrap_or_default();
        if index_crc != crc32c::crc32c(checked) {
            return Err(corrupt(index_offset, "index checksum mismatch"));
        }

        // Blocks.
        let mut index = Decoder::new(bytes.get(index_offset..trailer_offset).unwrap_or_default());
        let mut blocks = Vec::with_capacity(num_blocks);
        let mut expected_start = HEADER_LEN;
        for _ in 0..num_blocks {
            let entry_offset = index_offset + index.position();
            let start = index.get_u64().map_err(|err| codec(err, index_offset))?;
            let len = index.get_u64().map_err(|err| codec(err, index_offset))?;
            let crc = index.get_u32().map_err(|err| codec(err, index_offset))?;
            if start != expected_start as u64 {
                return Err(corrupt(entry_offset, "block does not start where the previous ends"));
            }
            let end = start.checked_add(len).filter(|end| *end <= index_offset as u64);
            let Some(end) = end.and_then(|end| usize::try_from(end).ok()) else {
                return Err(corrupt(entry_offset, "block extends past the index"));
            };
            let block = bytes.get(expected_start..end).unwrap_or_default();
            if crc32c::crc32c(block) != crc {
                return Err(corrupt(expected_start, "block checksum mismatch"));
            }
            blocks.push((expected_start, end));
            expected_start = end;
        }
        if expected_start != index_offset {
            return Err(corrupt(expected_start, "bytes between the last block and the index"));
        }
        Ok(BlockFile { path: path.to_owned(), version, bytes, blocks })
    }

    /// The key of the file, as given to [`BlockFile::parse`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The format version the file was written with.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The number of blocks.
    pub fn num_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// The bytes of block `index`, or `None` past the last block.
    pub fn block(&self, index: usize) -> Option<&[u8]> {
        let (start, end) = *self.blocks.get(index)?;
        self.bytes.get(start..end)
    }

    /// The offset within the file at which block `index` starts.
    pub fn block_offset(&self, index: usize) -> Option<u64> {
        self.blocks.get(index).map(|(start, _)| *start as u64)
    }

    /// The [`StorageError::Corrupt`] for a [`CodecError`] met while decoding block `index`:
    /// names this file and the absolute offset of the bad field.
    pub fn block_error(&self, index: usize, err: CodecError) -> StorageError {
        err.into_corrupt(&self.path, self.block_offset(index).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests;
