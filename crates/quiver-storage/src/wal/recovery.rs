//! Recovery: reading a log directory back at open, replaying every record, and repairing a torn
//! tail.
//!
//! The files are read one at a time (each whole, with [`Backend::read`]), so memory during
//! recovery is bounded by the largest log file, not by the log; the caller bounds file sizes by
//! rotating. Records are handed to the caller's `replay` callback in LSN order as they are
//! verified. If recovery then fails (a later record is corrupt), the caller must discard what it
//! built from the records it was given.

use crate::backend::{AppendFile, Backend};
use crate::error::StorageError;
use crate::wal::format::{
    FILE_HEADER_LEN, FRAME_HEADER_LEN, MAX_RECORD_PAYLOAD, decode_file_header, decode_frame_header,
    encode_file_header, file_key, parse_file_name,
};

/// The callback [`crate::Wal::open`] hands each recovered record to, as `(lsn, payload)`; its
/// error type is the caller's.
pub type Replay<'a, E> = dyn FnMut(u64, &[u8]) -> Result<(), E> + 'a;

/// What [`crate::Wal::open`] found and repaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryInfo {
    /// Number of log files found in the directory.
    pub files: usize,
    /// The first LSN of the oldest log file found, if any. Records below it are gone (their
    /// files were removed after a checkpoint); the caller can check that its checkpoint covers
    /// them, i.e. that `first_lsn <= checkpoint_lsn + 1`.
    pub first_lsn: Option<u64>,
    /// Number of records passed to the replay callback.
    pub records: u64,
    /// Number of bytes of a torn last record cut off the end of the log (0 if the log ended
    /// cleanly).
    pub truncated_bytes: u64,
    /// The LSN the next appended record gets.
    pub next_lsn: u64,
}

/// One log file of the directory: its key and the LSN of its first record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogFile {
    pub(crate) key: String,
    pub(crate) first_lsn: u64,
}

/// The state of a recovered log, ready for writing.
pub(crate) struct Recovered {
    /// The files before the current one, oldest first.
    pub(crate) older: Vec<LogFile>,
    /// The file new records go to.
    pub(crate) current: LogFile,
    /// `current`, opened for appending, with everything in it synced.
    pub(crate) file: Box<dyn AppendFile>,
    pub(crate) info: RecoveryInfo,
}

/// How the last file of the log ended.
enum LastFile {
    /// With a file header shorter than [`FILE_HEADER_LEN`] or all zero: it crashed while being
    /// created, so it holds no record.
    TornHeader,
    /// With `valid_len` bytes of header and whole records, out of `file_len`.
    Records { valid_len: usize, file_len: usize },
}

/// Reads, verifies and replays the log in `dir`, then repairs its end and opens it for writing.
/// See [`crate::Wal::open`] for the rules.
pub(crate) fn recover<E: From<StorageError>>(
    backend: &dyn Backend,
    dir: &str,
    next_lsn_at_least: u64,
    replay: &mut Replay<'_, E>,
) -> Result<Recovered, E> {
    backend.create_dir_all(dir)?;
    let mut found: Vec<LogFile> = backend
        .list(dir)?
        .iter()
        .filter_map(|name| {
            let first_lsn = parse_file_name(name)?;
            Some(LogFile { key: format!("{dir}/{name}"), first_lsn })
        })
        .collect();
    found.sort_by_key(|file| file.first_lsn);

    let mut info = RecoveryInfo {
        files: found.len(),
        first_lsn: found.first().map(|file| file.first_lsn),
        records: 0,
        truncated_bytes: 0,
        next_lsn: 0,
    };
    let mut next_lsn: Option<u64> = None;
    let mut last = LastFile::TornHeader;
    for (index, file) in found.iter().enumerate() {
        let is_last = index + 1 == found.len();
        let key = file.key.as_str();
        if file.first_lsn == 0 {
            return Err(StorageError::corrupt(key, 0, "file name gives first LSN 0").into());
        }
        if let Some(expected) = next_lsn.filter(|expected| *expected != file.first_lsn) {
            let reason = format!(
                "LSN gap: file starts at LSN {} but the previous file ends at LSN {}",
                file.first_lsn,
                expected - 1
            );
            return Err(StorageError::corrupt(key, 0, reason).into());
        }
        let bytes = backend.read(key)?;
        if is_last && is_torn_header(&bytes) {
            next_lsn = Some(file.first_lsn);
            last = LastFile::TornHeader;
            break;
        }
        if bytes.len() < FILE_HEADER_LEN {
            return Err(StorageError::corrupt(key, 0, "file is shorter than its header").into());
        }
        let first_lsn = decode_file_header(key, &bytes)?;
        if first_lsn != file.first_lsn {
            let reason = format!("file header gives first LSN {first_lsn}, its name does not");
            return Err(StorageError::corrupt(key, 0, reason).into());
        }
        let (end_lsn, valid_len) = scan_records(key, &bytes, first_lsn, is_last, replay)?;
        info.records += end_lsn - first_lsn;
        next_lsn = Some(end_lsn);
        last = LastFile::Records { valid_len, file_len: bytes.len() };
    }

    let floor = next_lsn_at_least.max(1);
    let (current, file) = match next_lsn {
        // A new log, or one whose every record is covered by the caller's checkpoint: start a
        // new file at the caller's floor. Remove the old files first, oldest first, so that a
        // crash in between leaves a suffix of the log (or nothing), never an LSN gap.
        Some(next) if next < floor => {
            for old in &found {
                backend.remove_file(&old.key)?;
            }
            found.clear();
            next_lsn = Some(floor);
            create_file(backend, dir, floor)?
        }
        None => {
            next_lsn = Some(floor);
            create_file(backend, dir, floor)?
        }
        Some(_) => {
            let Some(current) = found.pop() else {
                return Err(
                    StorageError::corrupt(dir, 0, "log file list changed during recovery").into()
                );
            };
            let mut file = match last {
                LastFile::TornHeader => {
                    backend.truncate(&current.key, 0)?;
                    let mut file = backend.open_append(&current.key)?;
                    file.append(&encode_file_header(current.first_lsn))?;
                    file
                }
                LastFile::Records { valid_len, file_len } => {
                    if valid_len < file_len {
                        backend.truncate(&current.key, valid_len as u64)?;
                        info.truncated_bytes = (file_len - valid_len) as u64;
                    }
                    backend.open_append(&current.key)?
                }
            };
            // The records just read may still be only in the page cache of a crashed process.
            file.sync()?;
            (current, file)
        }
    };
    info.next_lsn = next_lsn.unwrap_or(floor);
    Ok(Recovered { older: found, current, file, info })
}

/// Creates a new, empty log file in `dir` starting at `first_lsn`, synced, and opens it.
///
/// The file is created by [`Backend::open_append`] and its header appended and synced (rather
/// than written with [`Backend::write_new`]), because a backend may store files written whole
/// differently from appended ones: [`crate::EncryptedBackend`] seals the former and can only
/// append to the latter. A crash before the sync leaves a short or zero-filled header, which
/// recovery re-initialises as before.
pub(crate) fn create_file(
    backend: &dyn Backend,
    dir: &str,
    first_lsn: u64,
) -> Result<(LogFile, Box<dyn AppendFile>), StorageError> {
    let key = file_key(dir, first_lsn);
    if backend.exists(&key)? {
        return Err(StorageError::corrupt(&key, 0, "a log file to be created exists already"));
    }
    let mut file = backend.open_append(&key)?;
    file.append(&encode_file_header(first_lsn))?;
    file.sync()?;
    Ok((LogFile { key, first_lsn }, file))
}

/// True if the file was cut off while its header was being written: shorter than the header,
/// or nothing but zero bytes (a file extended before its data reached the disk).
fn is_torn_header(bytes: &[u8]) -> bool {
    bytes.len() < FILE_HEADER_LEN || bytes.iter().all(|byte| *byte == 0)
}

/// Verifies and replays the records of one file, starting after its header. Returns the LSN
/// after the last good record and the length of the file up to the end of that record.
///
/// In the last file (`is_last`), a torn last record ends the scan: the file ends inside its
/// frame (inside the frame header, or inside a payload whose frame header is intact), or
/// everything from the record start to the end is zero bytes. Any other damage, and any
/// damage in another file, is [`StorageError::Corrupt`] with the offset of the record.
fn scan_records<E: From<StorageError>>(
    key: &str,
    bytes: &[u8],
    first_lsn: u64,
    is_last: bool,
    replay: &mut Replay<'_, E>,
) -> Result<(u64, usize), E> {
    let corrupt = |offset: usize, reason: String| -> E {
        StorageError::corrupt(key, offset as u64, reason).into()
    };
    let mut lsn = first_lsn;
    let mut offset = FILE_HEADER_LEN;
    while let Some(rest) = bytes.get(offset..).filter(|rest| !rest.is_empty()) {
        let Some(head) = rest.get(..FRAME_HEADER_LEN) else {
            if is_last {
                return Ok((lsn, offset));
            }
            return Err(corrupt(offset, "file ends inside a record header".to_owned()));
        };
        let Some(frame) = decode_frame_header(head) else {
            if is_last && rest.iter().all(|byte| *byte == 0) {
                return Ok((lsn, offset));
            }
            return Err(corrupt(offset, "record header checksum mismatch".to_owned()));
        };
        if frame.lsn != lsn {
            let reason = format!("record has LSN {} where LSN {lsn} was expected", frame.lsn);
            return Err(corrupt(offset, reason));
        }
        let len = frame.len as usize;
        if len > MAX_RECORD_PAYLOAD {
            let reason = format!("record length {len} exceeds the maximum {MAX_RECORD_PAYLOAD}");
            return Err(corrupt(offset, reason));
        }
        let Some(payload) = rest.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len) else {
            if is_last {
                return Ok((lsn, offset));
            }
            return Err(corrupt(offset, "record extends past the end of the file".to_owned()));
        };
        if crc32c::crc32c(payload) != frame.payload_crc {
            return Err(corrupt(offset, "record payload checksum mismatch".to_owned()));
        }
        replay(lsn, payload)?;
        let Some(next) = lsn.checked_add(1) else {
            return Err(corrupt(offset, "LSN overflow".to_owned()));
        };
        lsn = next;
        offset += FRAME_HEADER_LEN + len;
    }
    Ok((lsn, offset))
}

#[cfg(test)]
mod tests;
