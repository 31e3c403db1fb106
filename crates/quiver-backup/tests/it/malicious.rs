//! Backups crafted by hand with a VALID signature (made with the test's key): unsafe paths,
//! links and special files are refused, nothing is written outside the target, and the
//! target is not left half-filled.

use std::fs;
use std::path::PathBuf;

use quiver_backup::manifest::{FORMAT_VERSION, FileEntry, Manifest, sign};
use quiver_backup::{BackupError, restore, verify};
use quiver_storage::MasterKey;

use crate::support::is_absent_or_empty;

/// A workspace: the backup directory, a sentinel directory beside the target that must stay
/// empty, and the target.
struct Crafted {
    _tmp: tempfile::TempDir,
    backup: PathBuf,
    sentinel: PathBuf,
    target: PathBuf,
    master: MasterKey,
}

impl Crafted {
    fn new() -> Crafted {
        let tmp = tempfile::tempdir().unwrap();
        let backup = tmp.path().join("backup");
        let sentinel = tmp.path().join("sentinel");
        fs::create_dir_all(backup.join("data")).unwrap();
        fs::create_dir(&sentinel).unwrap();
        let target = tmp.path().join("target");
        Crafted { backup, sentinel, target, master: MasterKey::generate().unwrap(), _tmp: tmp }
    }

    /// Writes `data/<path>` in the backup, creating its parents.
    fn put(&self, path: &str, bytes: &[u8]) -> FileEntry {
        let full = self.backup.join("data").join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(&full, bytes).unwrap();
        entry(path, bytes)
    }

    /// Signs a manifest of `files` and `dirs` with the test's (valid) key.
    fn sign(&self, dirs: &[&str], files: Vec<FileEntry>) {
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            created_unix_ms: 0,
            master_key_id: self.master.id().to_string(),
            tool_version: "crafted".to_owned(),
            dirs: dirs.iter().map(|d| (*d).to_owned()).collect(),
            total_files: files.len() as u64,
            total_bytes: files.iter().map(|f| f.size).sum(),
            files,
        };
        let json = serde_json::to_vec(&manifest).unwrap();
        fs::write(self.backup.join("manifest.json"), &json).unwrap();
        fs::write(self.backup.join("manifest.sig"), sign(&self.master, &json).unwrap()).unwrap();
    }

    /// Restore is refused with an error naming `named`; nothing reached the sentinel and the
    /// target does not exist (or, when it was an empty directory, is still empty).
    fn assert_refused(&self, named: &str) -> BackupError {
        // Unsafe paths are shown quoted and escaped (`{:?}`), so that no path can forge output.
        let quoted = format!("{named:?}");
        let names = |text: String| text.contains(named) || text.contains(&quoted);
        let err = verify(&self.backup, &self.master, &mut ()).unwrap_err();
        assert!(names(err.to_string()), "{named} not named in: {err}");
        for precreate in [false, true] {
            if precreate {
                fs::create_dir(&self.target).unwrap();
            }
            let err = restore(&self.backup, &self.target, &self.master, &mut ()).unwrap_err();
            assert!(names(err.to_string()), "{named} not named in: {err}");
            assert!(is_absent_or_empty(&self.sentinel), "something was written outside");
            assert!(is_absent_or_empty(&self.target), "the target was left half-filled");
            assert_eq!(self.target.exists(), precreate);
        }
        fs::remove_dir(&self.target).unwrap();
        err
    }
}

fn entry(path: &str, bytes: &[u8]) -> FileEntry {
    FileEntry {
        path: path.to_owned(),
        size: bytes.len() as u64,
        blake3: blake3::hash(bytes).to_hex().to_string(),
    }
}

#[test]
fn manifest_paths_with_dot_dot_are_refused() {
    let crafted = Crafted::new();
    let good = crafted.put("catalog.qvc", b"catalog");
    for path in ["../sentinel/pwned", "a/../../sentinel/pwned", ".."] {
        crafted.sign(&[], vec![good.clone(), entry(path, b"pwned")]);
        let err = crafted.assert_refused(path);
        assert!(matches!(err, BackupError::UnsafePath { .. }), "{err}");
    }
    crafted.sign(&["..", "../sentinel"], vec![good]);
    let err = crafted.assert_refused("..");
    assert!(matches!(err, BackupError::UnsafePath { .. }), "{err}");
}

#[test]
fn absolute_paths_empty_components_and_backslashes_are_refused() {
    let crafted = Crafted::new();
    let escaped = crafted.sentinel.join("pwned").display().to_string();
    for path in [escaped.as_str(), "/etc/passwd", "a//b", "a\\..\\..\\sentinel\\pwned", "a/"] {
        crafted.sign(&["a"], vec![entry(path, b"pwned")]);
        let err = crafted.assert_refused(path);
        assert!(matches!(err, BackupError::UnsafePath { .. }), "{path}: {err}");
    }
}

#[test]
fn a_symlink_in_data_pointing_outside_is_refused() {
    let crafted = Crafted::new();
    let good = crafted.put("catalog.qvc", b"catalog");
    let secret = crafted.backup.parent().unwrap().join("secret");
    fs::write(&secret, b"outside").unwrap();
    std::os::unix::fs::symlink(&secret, crafted.backup.join("data/keyring.qvk")).unwrap();
    // A symlinked directory too: data/collections -> the sentinel.
    crafted.sign(&[], vec![good.clone(), entry("keyring.qvk", b"outside")]);
    let err = crafted.assert_refused("keyring.qvk");
    assert!(matches!(err, BackupError::SpecialFile { what: "symbolic link", .. }), "{err}");
    fs::remove_file(crafted.backup.join("data/keyring.qvk")).unwrap();
    std::os::unix::fs::symlink(&crafted.sentinel, crafted.backup.join("data/collections")).unwrap();
    crafted.sign(&["collections"], vec![good]);
    let err = crafted.assert_refused("collections");
    assert!(matches!(err, BackupError::SpecialFile { .. }), "{err}");
}

#[test]
fn a_hard_link_in_data_is_refused() {
    let crafted = Crafted::new();
    let outside = crafted.backup.parent().unwrap().join("outside-file");
    fs::write(&outside, b"shared").unwrap();
    fs::hard_link(&outside, crafted.backup.join("data/catalog.qvc")).unwrap();
    crafted.sign(&[], vec![entry("catalog.qvc", b"shared")]);
    let err = crafted.assert_refused("catalog.qvc");
    assert!(matches!(err, BackupError::SpecialFile { .. }), "{err}");
    assert!(err.to_string().contains("hard link"), "{err}");
}

#[test]
fn a_fifo_in_data_is_refused() {
    let crafted = Crafted::new();
    let good = crafted.put("catalog.qvc", b"catalog");
    let fifo = crafted.backup.join("data/keyring.qvk");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    crafted.sign(&[], vec![good, entry("keyring.qvk", b"")]);
    let err = crafted.assert_refused("keyring.qvk");
    assert!(matches!(err, BackupError::SpecialFile { what: "fifo", .. }), "{err}");
}

#[test]
fn a_valid_crafted_backup_that_is_not_a_database_is_refused_and_removed() {
    // Everything checks out but the files are not a data directory: the open fails and the
    // partial target is removed.
    let crafted = Crafted::new();
    let files = vec![crafted.put("catalog.qvc", b"not a catalog"), crafted.put("x/y", b"y")];
    crafted.sign(&["x"], files);
    verify(&crafted.backup, &crafted.master, &mut ()).unwrap();
    let err = restore(&crafted.backup, &crafted.target, &crafted.master, &mut ()).unwrap_err();
    assert!(matches!(err, BackupError::Open(_) | BackupError::Storage(_)), "{err}");
    assert!(!crafted.target.exists());
    assert!(is_absent_or_empty(&crafted.sentinel));
}
