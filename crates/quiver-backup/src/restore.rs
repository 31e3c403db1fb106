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
use crate::source::{LocalSource, Source, open_source};
use crate::verify::{check_entry, signed_and_listed};

/// Restores the backup at `path` into `new_dir` (which must not exist or be an empty
/// directory) and opens the result with `master` to prove it is a working data directory.
///
/// Refuses unless the backup verifies ([`verify`](crate::verify())), reading each file once:
/// the signature, every path and the listing are checked before anything is written; each
/// file is then copied into a staging directory inside `new_dir` and hashed as it is copied;
/// only when every file matches the manifest are the directories created (one by one, under
/// `new_dir`) and the files moved into place (a link that fails if the name exists, then the
/// staged name removed). Nothing is written outside `new_dir`, and no byte that did not verify
/// reaches its place. On any failure the partial target is removed (an empty `new_dir` given
/// by the caller is emptied again, not removed).
pub fn restore(
    path: &Path,
    new_dir: &Path,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    restore_from(&mut LocalSource::open(path)?, new_dir, master, progress)
}

/// [`restore`] from any [`Location`] (an `s3://bucket/prefix` backup is downloaded once).
pub fn restore_at(
    location: &Location,
    new_dir: &Path,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    restore_from(open_source(location)?.as_mut(), new_dir, master, progress)
}

/// Where files wait, inside the target, until every one of them has verified.
const STAGING_DIR: &str = ".restore-staging";

/// The steps of [`restore`], from any source.
fn restore_from(
    source: &mut dyn Source,
    new_dir: &Path,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    let manifest = signed_and_listed(source, master)?;
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
    let staging = new_dir.join(STAGING_DIR);
    fs::create_dir(&staging)
        .map_err(|e| BackupError::io("create directory", staging.display(), e))?;
    progress.start("restore", manifest.total_bytes);
    for (index, entry) in manifest.files.iter().enumerate() {
        let staged = staging.join(index.to_string());
        let staged_shown = staged.display().to_string();
        let mut to = fsio::create_new(&staged, &staged_shown)?;
        let (size, hash) = source.copy_file(entry, Some((&mut to, &staged_shown)), progress)?;
        check_entry(entry, size, &hash, &format!("{DATA_DIR}/{}", entry.path))?;
        to.sync_all().map_err(|e| BackupError::io("fsync", &staged_shown, e))?;
    }
    // Every file verified: into place.
    for dir in &manifest.dirs {
        path::validate(dir)?;
        let to = new_dir.join(dir);
        fs::create_dir(&to).map_err(|e| BackupError::io("create directory", to.display(), e))?;
    }
    for (index, entry) in manifest.files.iter().enumerate() {
        path::validate(&entry.path)?;
        let staged = staging.join(index.to_string());
        let to = new_dir.join(&entry.path);
        fs::hard_link(&staged, &to).map_err(|e| BackupError::io("create", to.display(), e))?;
        fs::remove_file(&staged).map_err(|e| BackupError::io("remove", staged.display(), e))?;
    }
    fs::remove_dir(&staging).map_err(|e| BackupError::io("remove", staging.display(), e))?;
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
