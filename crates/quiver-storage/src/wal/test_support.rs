//! Helpers shared by the write-ahead log tests: temporary backends, opening a log while
//! collecting its records, and writing hand-made log files.

use std::fs;
use std::sync::Arc;

use tempfile::TempDir;

use crate::backend::Backend;
use crate::error::StorageError;
use crate::faulty::{FaultPlan, FaultyBackend};
use crate::local::LocalBackend;
use crate::wal::Wal;

/// The directory key the tests put their log in.
pub(crate) const DIR: &str = "collections/7/wal";

/// A local backend in a fresh temporary directory (dropped with the `TempDir`).
pub(crate) fn local_backend() -> (TempDir, Arc<dyn Backend>) {
    let temp = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(temp.path().to_path_buf()).unwrap();
    (temp, Arc::new(backend))
}

/// A fault-injecting backend over a fresh local one, and the plan controlling it.
pub(crate) fn faulty_backend(seed: u64) -> (TempDir, Arc<dyn Backend>, FaultPlan) {
    let (temp, local) = local_backend();
    let plan = FaultPlan::with_seed(seed);
    let backend = FaultyBackend::new(local, plan.clone());
    (temp, Arc::new(backend), plan)
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
/// record number in `rotate_after`, and returns the files it consists of as `(key, bytes)`.
pub(crate) fn make_log(count: u64, rotate_after: &[u64]) -> Vec<(String, Vec<u8>)> {
    let (_temp, backend) = local_backend();
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

/// A fresh backend holding exactly `files` (keys and contents).
pub(crate) fn backend_with(files: &[(String, Vec<u8>)]) -> (TempDir, Arc<dyn Backend>) {
    let (temp, backend) = local_backend();
    backend.create_dir_all(DIR).unwrap();
    for (key, bytes) in files {
        fs::write(temp.path().join(key), bytes).unwrap();
    }
    (temp, backend)
}
