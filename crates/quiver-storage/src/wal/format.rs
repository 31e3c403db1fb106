//! The byte layout of write-ahead log files: file names, the file header and record frames.
//!
//! All integers are little-endian; CRCs are CRC-32C (Castagnoli).
//!
//! A log file is named by the LSN of its first record, 20 decimal digits, zero-padded, so that
//! names sort in LSN order: `00000000000000000001.wal`.
//!
//! ```text
//! file header, 24 bytes:
//!   +------------------+---------------+-----------------+-----------------+
//!   | magic "QUIVWAL\0"| version u32   | first_lsn u64   | header_crc u32  |
//!   | 8 bytes          |               |                 | CRC of bytes    |
//!   |                  |               |                 | 0..20           |
//!   +------------------+---------------+-----------------+-----------------+
//! then records, back to back until end of file:
//!   +-----------+-----------+-----------------+------------------+-------------+
//!   | len u32   | lsn u64   | header_crc u32  | payload_crc u32  | payload     |
//!   |           |           | CRC of len, lsn | CRC of payload   | len bytes   |
//!   +-----------+-----------+-----------------+------------------+-------------+
//!   \___________ frame header, 20 bytes ___________________________/
//! ```
//!
//! The first record of a file has LSN `first_lsn`, each next record the LSN before plus one
//! (a file may hold no record). `len` is at most [`MAX_RECORD_PAYLOAD`].

use crate::codec::{Decoder, Encoder};
use crate::error::{Result, StorageError};

/// The largest payload of one record: 256 MiB.
pub const MAX_RECORD_PAYLOAD: usize = 256 << 20;

/// The format version this build writes and the newest it reads.
pub(crate) const WAL_VERSION: u32 = 1;
/// The magic number opening every log file.
const MAGIC: [u8; 8] = *b"QUIVWAL\0";
/// Length of the file header.
pub(crate) const FILE_HEADER_LEN: usize = 24;
/// Length of a record frame header.
pub(crate) const FRAME_HEADER_LEN: usize = 20;
/// Suffix of log file names.
const SUFFIX: &str = ".wal";
/// Number of digits in a log file name.
const NAME_DIGITS: usize = 20;

/// The key of the log file in `dir` whose first record has LSN `first_lsn`.
pub(crate) fn file_key(dir: &str, first_lsn: u64) -> String {
    format!("{dir}/{first_lsn:020}{SUFFIX}")
}

/// The first LSN encoded in a log file name, or `None` if `name` is not a log file name.
pub(crate) fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != NAME_DIGITS || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The header of a new log file whose first record will have LSN `first_lsn`.
pub(crate) fn encode_file_header(first_lsn: u64) -> Vec<u8> {
    let mut header = Encoder::with_capacity(FILE_HEADER_LEN);
    header.put_raw(&MAGIC);
    header.put_u32(WAL_VERSION);
    header.put_u64(first_lsn);
    header.put_u32(crc32c::crc32c(header.as_bytes()));
    header.into_bytes()
}

/// Checks the header at the start of `bytes` (at least [`FILE_HEADER_LEN`] long), read from
/// the file `key`, and returns its first LSN.
pub(crate) fn decode_file_header(key: &str, bytes: &[u8]) -> Result<u64> {
    let header = bytes.get(..FILE_HEADER_LEN).unwrap_or_default();
    let mut decoder = Decoder::new(header);
    let magic: [u8; 8] = decoder.get_array().map_err(|err| err.into_corrupt(key, 0))?;
    if magic != MAGIC {
        return Err(StorageError::corrupt(key, 0, "bad magic: not a write-ahead log file"));
    }
    let version = decoder.get_u32().map_err(|err| err.into_corrupt(key, 0))?;
    if version > WAL_VERSION {
        return Err(StorageError::UnsupportedVersion {
            path: key.to_owned(),
            found: version,
            supported: WAL_VERSION,
        });
    }
    let first_lsn = decoder.get_u64().map_err(|err| err.into_corrupt(key, 0))?;
    let crc = decoder.get_u32().map_err(|err| err.into_corrupt(key, 0))?;
    if crc != crc32c::crc32c(header.get(..FILE_HEADER_LEN - 4).unwrap_or_default()) {
        return Err(StorageError::corrupt(key, 0, "file header checksum mismatch"));
    }
    if version == 0 {
        return Err(StorageError::corrupt(key, 0, "file header has version 0"));
    }
    Ok(first_lsn)
}

/// Appends the frame of a record to `buf`. The caller has checked that the payload is at most
/// [`MAX_RECORD_PAYLOAD`] bytes and computed `payload_crc = crc32c(payload)`.
pub(crate) fn encode_frame(buf: &mut Vec<u8>, lsn: u64, payload: &[u8], payload_crc: u32) {
    // MAX_RECORD_PAYLOAD < u32::MAX, so the length always fits.
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut head = [0u8; 12];
    head[..4].copy_from_slice(&len.to_le_bytes());
    head[4..].copy_from_slice(&lsn.to_le_bytes());
    buf.reserve(FRAME_HEADER_LEN + payload.len());
    buf.extend_from_slice(&head);
    buf.extend_from_slice(&crc32c::crc32c(&head).to_le_bytes());
    buf.extend_from_slice(&payload_crc.to_le_bytes());
    buf.extend_from_slice(payload);
}

/// A decoded record frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub(crate) len: u32,
    pub(crate) lsn: u64,
    pub(crate) payload_crc: u32,
}

/// Decodes a frame header from exactly [`FRAME_HEADER_LEN`] bytes; `None` if its `header_crc`
/// does not match (or fewer bytes were given).
pub(crate) fn decode_frame_header(bytes: &[u8]) -> Option<FrameHeader> {
    let mut decoder = Decoder::new(bytes);
    let head: [u8; 12] = decoder.get_array().ok()?;
    let header_crc = decoder.get_u32().ok()?;
    let payload_crc = decoder.get_u32().ok()?;
    if header_crc != crc32c::crc32c(&head) {
        return None;
    }
    let mut head = Decoder::new(&head);
    let len = head.get_u32().ok()?;
    let lsn = head.get_u64().ok()?;
    Some(FrameHeader { len, lsn, payload_crc })
}
