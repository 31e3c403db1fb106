//! Where a backup is written. [`Target`] is the handful of operations `create` needs (make a
//! directory, stream a new file, put a small file, drop a subtree on retry, make everything
//! durable, undo a failed backup); [`LocalTarget`] implements them on a local directory,
//! `object::target::ObjectTarget` on an object store (`s3://bucket/prefix`): its
//! "directories" are key prefixes, a file is an upload, durability is the completed upload,
//! and the manifest and its signature, uploaded last, still mark the backup complete.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::error::{BackupError, Result};
use crate::fsio;
use crate::progress::Progress;

/// The operations `create` writes a backup through; paths are relative to the backup root
/// and already validated (see [`crate::path`]).
pub(crate) trait Target {
    /// Creates the directory `rel` (its parent exists).
    fn make_dir(&mut self, rel: &str) -> Result<()>;
    /// Copies `from` to the new file `rel`, returning its size and hash.
    fn copy_in(
        &mut self,
        rel: &str,
        from: &mut File,
        shown: &str,
        progress: &mut dyn Progress,
    ) -> Result<(u64, blake3::Hash)>;
    /// Writes `bytes` to the new file `rel`.
    fn put(&mut self, rel: &str, bytes: &[u8]) -> Result<()>;
    /// Removes the subtree `rel` (a retry starts it again).
    fn remove_tree(&mut self, rel: &str) -> Result<()>;
    /// Removes the file `rel` (a retry copies it again); a missing file is not an error.
    fn remove_file(&mut self, rel: &str) -> Result<()>;
    /// Makes every directory written so far durable.
    fn sync_dirs(&mut self) -> Result<()>;
    /// Removes what this backup wrote, after a failure (best effort).
    fn abandon(&mut self);
}

/// A backup in a local directory; every file is created with `create_new` and fsynced.
pub(crate) struct LocalTarget {
    root: PathBuf,
    dirs: BTreeSet<String>,
    /// Whether `root` was created here (else it was an empty directory).
    created: bool,
}

impl LocalTarget {
    /// The backup directory `root`, which must not exist or be an empty directory.
    pub(crate) fn prepare(root: &Path) -> Result<LocalTarget> {
        let created = fsio::prepare_empty_dir(root)?;
        Ok(LocalTarget { root: root.to_path_buf(), dirs: BTreeSet::new(), created })
    }
}

impl Target for LocalTarget {
    fn make_dir(&mut self, rel: &str) -> Result<()> {
        let path = self.root.join(rel);
        fs::create_dir(&path)
            .map_err(|e| BackupError::io("create directory", path.display(), e))?;
        self.dirs.insert(rel.to_owned());
        Ok(())
    }

    fn copy_in(
        &mut self,
        rel: &str,
        from: &mut File,
        shown: &str,
        progress: &mut dyn Progress,
    ) -> Result<(u64, blake3::Hash)> {
        let path = self.root.join(rel);
        let name = path.display().to_string();
        let mut to = fsio::create_new(&path, &name)?;
        let copied =
            fsio::copy_hashed(from, Some((&mut to, &name)), shown, u64::MAX - 1, progress)?;
        to.sync_all().map_err(|e| BackupError::io("fsync", &name, e))?;
        Ok(copied)
    }

    fn put(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.root.join(rel);
        fsio::write_new(&path, &path.display().to_string(), bytes)
    }

    fn remove_tree(&mut self, rel: &str) -> Result<()> {
        let path = self.root.join(rel);
        match fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::io("remove", path.display(), e)),
        }
        let prefix = format!("{rel}/");
        self.dirs.retain(|d| d != rel && !d.starts_with(&prefix));
        Ok(())
    }

    fn remove_file(&mut self, rel: &str) -> Result<()> {
        let path = self.root.join(rel);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(BackupError::io("remove", path.display(), e)),
        }
    }

    fn sync_dirs(&mut self) -> Result<()> {
        for dir in self.dirs.iter().rev() {
            fsio::sync_dir(&self.root.join(dir))?;
        }
        fsio::sync_dir(&self.root)
    }

    fn abandon(&mut self) {
        fsio::clean_up(&self.root, self.created);
    }
}
