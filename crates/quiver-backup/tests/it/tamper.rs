//! Every change to a finished backup is detected, and the error names the path.

use std::fs;
use std::path::{Path, PathBuf};

use quiver_backup::{BackupError, create, restore, verify};
use quiver_storage::MasterKey;

use crate::support::{self, batch};

/// A small backup of an encrypted directory, and its master key.
fn backup(tmp: &Path) -> (PathBuf, MasterKey) {
    let data = tmp.join("data");
    let master = MasterKey::generate().unwrap();
    let db = quiver_engine::Database::open(&data, support::options(&master)).unwrap();
    let collection = support::create(&db);
    collection.insert(None, batch(0)).unwrap();
    collection.flush().unwrap();
    collection.insert(None, batch(1)).unwrap();
    let backup = tmp.join("backup");
    create(&data, &backup, &master, &mut ()).unwrap();
    verify(&backup, &master, &mut ()).unwrap();
    (backup, master)
}

/// The relative path (under `data/`) of the first file whose path ends with `suffix`.
fn file_ending(backup: &Path, master: &MasterKey, suffix: &str) -> String {
    let manifest = verify(backup, master, &mut ()).unwrap();
    manifest.files.iter().find(|f| f.path.ends_with(suffix)).unwrap().path.clone()
}

/// Verify fails with an error naming `path`, and restore refuses and leaves no target.
fn assert_detected(backup: &Path, master: &MasterKey, path: &str) -> BackupError {
    let err = verify(backup, master, &mut ()).unwrap_err();
    assert!(err.to_string().contains(path), "{path} not named in: {err}");
    let target = backup.with_file_name("restored");
    assert!(restore(backup, &target, master, &mut ()).is_err());
    assert!(!target.exists(), "a refused restore left {}", target.display());
    err
}

#[test]
fn a_changed_byte_in_a_data_file_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, master) = backup(tmp.path());
    let rel = file_ending(&backup, &master, ".qvs");
    let path = backup.join("data").join(&rel);
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    fs::write(&path, bytes).unwrap();
    let err = assert_detected(&backup, &master, &rel);
    assert!(matches!(err, BackupError::Changed { .. }), "{err}");
}

#[test]
fn a_truncated_file_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, master) = backup(tmp.path());
    let rel = file_ending(&backup, &master, ".wal");
    let path = backup.join("data").join(&rel);
    let len = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 1).unwrap();
    let err = assert_detected(&backup, &master, &rel);
    assert!(matches!(err, BackupError::Changed { .. }), "{err}");
}

#[test]
fn a_missing_file_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, master) = backup(tmp.path());
    let rel = file_ending(&backup, &master, "MANIFEST");
    fs::remove_file(backup.join("data").join(&rel)).unwrap();
    let err = assert_detected(&backup, &master, &rel);
    assert!(matches!(err, BackupError::Missing { .. }), "{err}");
}

#[test]
fn an_extra_file_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, master) = backup(tmp.path());
    fs::write(backup.join("data/collections/extra.bin"), b"x").unwrap();
    let err = assert_detected(&backup, &master, "data/collections/extra.bin");
    assert!(matches!(err, BackupError::Extra { .. }), "{err}");
    fs::remove_file(backup.join("data/collections/extra.bin")).unwrap();
    fs::write(backup.join("notes.txt"), b"x").unwrap();
    let err = assert_detected(&backup, &master, "notes.txt");
    assert!(matches!(err, BackupError::Extra { .. }), "{err}");
}

#[test]
fn a_changed_manifest_is_detected_by_its_signature() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, master) = backup(tmp.path());
    let path = backup.join("manifest.json");
    let text = fs::read_to_string(&path).unwrap();
    // Claim a different size for a file: a forger's attempt to cover a change.
    let changed = text.replacen("\"size\": ", "\"size\": 1", 1);
    assert_ne!(text, changed);
    fs::write(&path, changed).unwrap();
    let err = assert_detected(&backup, &master, "manifest.sig");
    assert!(matches!(err, BackupError::BadSignature { .. }), "{err}");
}

#[test]
fn a_missing_or_forged_signature_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, master) = backup(tmp.path());
    let sig = backup.join("manifest.sig");
    let good = fs::read(&sig).unwrap();
    fs::remove_file(&sig).unwrap();
    let err = assert_detected(&backup, &master, "manifest.sig");
    assert!(matches!(err, BackupError::Incomplete { .. }), "{err}");
    assert!(err.to_string().contains("incomplete"), "{err}");
    let mut forged = good.clone();
    forged[0] = if forged[0] == b'0' { b'1' } else { b'0' };
    fs::write(&sig, &forged).unwrap();
    let err = assert_detected(&backup, &master, "manifest.sig");
    assert!(matches!(err, BackupError::BadSignature { .. }), "{err}");
    fs::write(&sig, b"not hex at all\n").unwrap();
    assert_detected(&backup, &master, "manifest.sig");
    fs::write(&sig, &good).unwrap();
    verify(&backup, &master, &mut ()).unwrap();
}

#[test]
fn a_wrong_master_key_is_refused_naming_both_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, master) = backup(tmp.path());
    let wrong = MasterKey::generate().unwrap();
    let err = assert_detected(&backup, &wrong, "manifest.sig");
    let text = err.to_string();
    assert!(text.contains(&wrong.id().to_string()), "{text}");
    assert!(text.contains(&master.id().to_string()), "{text}");
}
