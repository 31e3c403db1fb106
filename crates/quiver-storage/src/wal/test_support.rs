//! Helpers shared by the write-ahead log tests: temporary backends, opening a log while
//! collecting its records, and writing hand-made log files.
//!
//! Every helper that makes a backend takes a [`Flavor`]: the tests run each case on a plain
//! local backend and again through an [`EncryptedBackend`], whose log files are encrypted
//! streams, so the log's recovery rules are shown to hold unchanged through encryption.

use std::fs;
use std::sync::Arc;

use tempfile::TempDir;

use crate::backend::Backend;
use crate::crypt::{EncryptedBackend, MasterKey};
use crate::error::StorageError;
use crate::faulty::{FaultPlan, FaultyBackend};
use crate::local::LocalBackend;
use crate::wal::Wal;
use crate::wal::format::{FILE_HEADER_LEN, FRAME_HEADER_LEN};

/// The directory key the tests put their log in.
pub(crate) const DIR: &str = "collections/7/wal";

/// How the log's files are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// As they are, on a [`LocalBackend`].
    Plain,
    /// Through an [`EncryptedBackend`] (with a key for collection 7) over the backend.
    Encrypted,
}

/// Both flavors, for tests that run each case twice.
pub(crate) const FLAVORS: [Flavor; 2] = [Flavor::Plain, Flavor::Encrypted];

/// `raw` as the log sees it in `flavor`.
fn wrap(flavor: Flavor, raw: Arc<dyn Backend>) -> Arc<dyn Backend> {
    match flavor {
        Flavor::Plain => raw,
        Flavor::Encrypted => {
            let master = MasterKey::generate().unwrap();
            let backend = EncryptedBackend::create(raw, &master).unwrap();
            backend.create_collection_key(7).unwrap();
            Arc::new(backend)
        }
    }
}

/// A backend of `flavor` in a fresh temporary directory (dropped with the `TempDir`).
pub(crate) fn local_backend(flavor: Flavor) -> (TempDir, Arc<dyn Backend>) {
    let temp = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(temp.path().to_path_buf()).unwrap();
    (temp, wrap(flavor, Arc::new(backend)))
}

/// A backend of `flavor` over a fault-injecting one over a fresh local one (so faults hit the
/// bytes on the medium, encrypted or not), and the plan controlling it.
pub(crate) fn faulty_backend(flavor: Flavor, seed: u64) -> (TempDir, Arc<dyn Backend>, FaultPlan) {
    let temp = tempfile::tempdir().unwrap();
    let local = LocalBackend::new(temp.path().to_path_buf()).unwrap();
    let plan = FaultPlan::with_seed(seed);
    let faulty: Arc<dyn Backend> = Arc::new(FaultyBackend::new(Arc::new(local), plan.clone()));
    (temp, wrap(flavor, faulty), plan)
}

/// Records as `(lsn, payload)`.
pub(crate) type Records = Vec<(u64, Vec<u8>)>;

/// Opens the log in [`DIR`], returning it with every replayed `(lsn, payload)`.
pub(crate) fn open_collect(
    backend: &Arc<dyn Backend>,
    next_lsn_at_least: u64,
) -> Result<(Wal, Records), StorageError> {
    let mut records = Vec::new();
    let wal = Wal::open(backend.clone(), DIR, next_lsn_at_least, &mut |lsn, payload| {
        records.push((lsn, payload.to_vec()));
        Ok::<(), StorageError>(())
    })?;
    Ok((wal, records))
}

/// A payload for record number `i`, of varying length (including empty).
pub(crate) fn payload(i: u64) -> Vec<u8> {
    let len = usize::try_from(i * 7 % 23).unwrap();
    (0..len).map(|j| (i as u8).wrapping_mul(31).wrapping_add(j as u8) | 1).collect()
}

/// The expected records `first..=last` written with [`payload`].
pub(crate) fn expected(first: u64, last: u64) -> Records {
    (first..=last).map(|lsn| (lsn, payload(lsn))).collect()
}

/// Writes a log of `count` records with [`payload`] into a fresh backend, rotating after each
/// record number in `rotate_after`, and returns the files it consists of as `(key, bytes)`
/// (their plaintext).
pub(crate) fn make_log(count: u64, rotate_after: &[u64]) -> Vec<(String, Vec<u8>)> {
    let (_temp, backend) = local_backend(Flavor::Plain);
    let (wal, records) = open_collect(&backend, 0).unwrap();
    assert!(records.is_empty());
    for lsn in 1..=count {
        assert_eq!(wal.append(&payload(lsn)).unwrap(), lsn);
        if rotate_after.contains(&lsn) {
            assert_eq!(wal.rotate().unwrap(), lsn);
        }
    }
    wal.sync().unwrap();
    wal.file_keys().into_iter().map(|key| (key.clone(), backend.read(&key).unwrap())).collect()
}

/// A fresh backend of `flavor` holding exactly `files` (keys and plaintext contents).
///
/// Encrypted, each file is written as the log would have written it: one append per file
/// header and per record, each its own frame, so that every length the log may truncate to
/// (a record boundary) is a frame boundary. Hand-made damage that breaks the record framing
/// is split where the lengths still say, the rest appended whole.
pub(crate) fn backend_with(
    flavor: Flavor,
    files: &[(String, Vec<u8>)],
) -> (TempDir, Arc<dyn Backend>) {
    let (temp, backend) = local_backend(flavor);
    backend.create_dir_all(DIR).unwrap();
    for (key, bytes) in files {
        match flavor {
            Flavor::Plain => fs::write(temp.path().join(key), bytes).unwrap(),
            Flavor::Encrypted => {
                let mut file = backend.open_append(key).unwrap();
                for piece in record_pieces(bytes) {
                    file.append(piece).unwrap();
                }
                file.sync().unwrap();
            }
        }
    }
    (temp, backend)
}

/// `bytes` split into the file header and one piece per record (as far as the record lengths
/// can be read; the rest is one piece).
fn record_pieces(bytes: &[u8]) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut end = FILE_HEADER_LEN.min(bytes.len());
    while end > start {
        pieces.push(&bytes[start..end]);
        start = end;
        end = match bytes.get(start..start + 4) {
            Some(len) if start + FRAME_HEADER_LEN <= bytes.len() => {
                let len = u32::from_le_bytes(len.try_into().unwrap()) as usize;
                (start + FRAME_HEADER_LEN).saturating_add(len).min(bytes.len())
            }
            _ => bytes.len(),
        };
    }
    pieces
}
