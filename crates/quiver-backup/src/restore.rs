//! `restore`: a verified backup into a new directory, and proof that it opens.

use std::fs;
use std::path::Path;

use quiver_engine::{Database, Encryption, Options};
use quiver_storage::MasterKey;

use crate::error::{BackupError, Result};
use crate::fsio;
use crate::manifest::{DATA_DIR, Manifest};
use crate::path;
use crate::progress::Progress;
use crate::verify::{check_entry, verify};

/// Restores the backup at `path` into `new_dir` (which must not exist or be an empty
/// directory) and opens the result with `master` to prove it is a working data directory.
///
/// Refuses unless [`verify`] passes. Writes only below `new_dir`: every path is validated
/// again, directories are created one by one under `new_dir`, files with `create_new`, and each
/// file is hashed while it is copied, so a backup changed after verification is still refused.
/// On any failure the partial target is removed (an empty `new_dir` given by the caller is
/// emptied again, not removed).
pub fn restore(
    path: &Path,
    new_dir: &Path,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    let manifest = verify(path, master, progress)?;
    let created = fsio::prepare_empty_dir(new_dir)?;
    match restore_into(path, new_dir, &manifest, master, progress) {
        Ok(()) => Ok(manifest),
        Err(err) => {
            fsio::clean_up(new_dir, created);
            Err(err)
        }
    }
}

fn restore_into(
    path: &Path,
    new_dir: &Path,
    manifest: &Manifest,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<()> {
    for dir in &manifest.dirs {
        path::validate(dir)?;
        let to = new_dir.join(dir);
        fs::create_dir(&to).map_err(|e| BackupError::io("create directory", to.display(), e))?;
    }
    progress.start("restore", manifest.total_bytes);
    let data = path.join(DATA_DIR);
    for entry in &manifest.files {
        path::validate(&entry.path)?;
        let shown = format!("{DATA_DIR}/{}", entry.path);
        let mut from = fsio::open_plain(&data.join(&entry.path), &shown)?;
        let to_path = new_dir.join(&entry.path);
        let to_shown = to_path.display().to_string();
        let mut to = fsio::create_new(&to_path, &to_shown)?;
        let (size, hash) =
            fsio::copy_hashed(&mut from, Some((&mut to, &to_shown)), &shown, progress)?;
        check_entry(entry, size, &hash, &shown)?;
        to.sync_all().map_err(|e| BackupError::io("fsync", &to_shown, e))?;
    }
    for dir in manifest.dirs.iter().rev() {
        fsio::sync_dir(&new_dir.join(dir))?;
    }
    fsio::sync_dir(new_dir)?;
    let options = Options {
        encryption: Some(Encryption::new(master.clone())),
        maintenance_interval: None,
        index_build_threads: 1,
        ..Options::default()
    };
    drop(Database::open(new_dir, options)?);
    Ok(())
}
