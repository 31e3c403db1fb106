//! `restore`: a verified backup into a new directory, and proof that it opens.

use std::fs;
use std::path::Path;

use quiver_engine::{Database, Encryption, Options};
use quiver_storage::MasterKey;

use crate::error::{BackupError, Result};
use crate::fsio;
use crate::location::Location;
use crate::manifest::{DATA_DIR, Manifest};
use crate::path;
use crate::progress::Progress;
use crate::source::{LocalSource, Source};
use crate::verify::{check_entry, open_source, verify_source};

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
    restore_from(&mut LocalSource::open(path)?, new_dir, master, progress)
}

/// [`restore`] from any [`Location`] (an `s3://bucket/prefix` backup is downloaded twice: once
/// to verify it, once into `new_dir`, hashed again).
pub fn restore_at(
    location: &Location,
    new_dir: &Path,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    restore_from(open_source(location)?.as_mut(), new_dir, master, progress)
}

/// The steps of [`restore`], from any source.
fn restore_from(
    source: &mut dyn Source,
    new_dir: &Path,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    let manifest = verify_source(source, master, progress)?;
    let created = fsio::prepare_empty_dir(new_dir)?;
    match restore_into(source, new_dir, &manifest, master, progress) {
        Ok(()) => Ok(manifest),
        Err(err) => {
            fsio::clean_up(new_dir, created);
            Err(err)
        }
    }
}

fn restore_into(
    source: &mut dyn Source,
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
    for entry in &manifest.files {
        path::validate(&entry.path)?;
        let shown = format!("{DATA_DIR}/{}", entry.path);
        let to_path = new_dir.join(&entry.path);
        let to_shown = to_path.display().to_string();
        let mut to = fsio::create_new(&to_path, &to_shown)?;
        let (size, hash) = source.copy_file(entry, Some((&mut to, &to_shown)), progress)?;
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
