//! Where a backup is read from. [`Source`] is what `verify` and `restore` need (read the
//! manifest and signature, check that the backup holds exactly what the manifest lists, stream
//! a file); [`LocalSource`] reads a local directory, `object::source::ObjectSource` an object
//! store. The checks themselves (signature first, paths, sizes, hashes) are in `verify` and
//! `restore`, written once for both.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{BackupError, Result};
use crate::fsio;
use crate::location::Location;
use crate::manifest::{DATA_DIR, FileEntry, MANIFEST_FILE, MAX_ENTRIES, Manifest, SIGNATURE_FILE};
use crate::object::source::ObjectSource;
use crate::progress::Progress;

/// The operations `verify` and `restore` read a backup through.
pub(crate) trait Source {
    /// Reads the root file `name` (the manifest or its signature), refusing more than `limit`
    /// bytes; a missing one is [`BackupError::Incomplete`].
    fn read_root(&mut self, name: &str, what: &'static str, limit: u64) -> Result<Vec<u8>>;
    /// Checks, without reading file contents, that the backup holds exactly the manifest's
    /// files (and directories, where the source has them) and nothing else: an extra entry is
    /// [`BackupError::Extra`], a missing one [`BackupError::Missing`], a link or special file
    /// [`BackupError::SpecialFile`]. `manifest` has been verified and validated.
    fn check_listing(&mut self, manifest: &Manifest) -> Result<()>;
    /// Streams the file `data/<entry.path>` into `to` (when given), reading at most
    /// `entry.size + 1` bytes, and returns the size read and the BLAKE3 hash.
    fn copy_file(
        &mut self,
        entry: &FileEntry,
        to: Option<(&mut dyn Write, &str)>,
        progress: &mut dyn Progress,
    ) -> Result<(u64, blake3::Hash)>;
}

/// The [`Source`] of the backup at `location`.
pub(crate) fn open_source(location: &Location) -> Result<Box<dyn Source>> {
    Ok(match location {
        Location::Local(path) => Box::new(LocalSource::open(path)?),
        Location::S3(s3) => Box::new(ObjectSource::open(s3)?),
    })
}

/// Maps a missing root file to [`BackupError::Incomplete`].
pub(crate) fn incomplete_if_missing(name: &str, read: Result<Vec<u8>>) -> Result<Vec<u8>> {
    match read {
        Err(err) if err.is_not_found() => Err(BackupError::Incomplete { path: name.to_owned() }),
        other => other,
    }
}

/// A backup in a local directory; nothing is followed through a link.
pub(crate) struct LocalSource {
    root: PathBuf,
}

impl LocalSource {
    /// The backup directory `root` (which must be a directory, not a link to one).
    pub(crate) fn open(root: &Path) -> Result<LocalSource> {
        let meta =
            fs::symlink_metadata(root).map_err(|e| BackupError::io("open", root.display(), e))?;
        if !meta.is_dir() {
            return Err(BackupError::SpecialFile {
                path: root.display().to_string(),
                what: "not a directory (a backup is a directory)",
            });
        }
        Ok(LocalSource { root: root.to_path_buf() })
    }
}

impl Source for LocalSource {
    fn read_root(&mut self, name: &str, what: &'static str, limit: u64) -> Result<Vec<u8>> {
        incomplete_if_missing(name, fsio::read_bounded(&self.root.join(name), name, what, limit))
    }

    /// A walk of the backup (never following links) that finds exactly the manifest's
    /// directories and files, and no symbolic link, hard link, device, fifo or socket.
    fn check_listing(&mut self, manifest: &Manifest) -> Result<()> {
        let files: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        let dirs: BTreeSet<&str> = manifest.dirs.iter().map(String::as_str).collect();
        for name in names(&self.root, "")? {
            if name != DATA_DIR && name != MANIFEST_FILE && name != SIGNATURE_FILE {
                fsio::lstat_plain(&self.root.join(&name), &name)?;
                return Err(BackupError::Extra { path: name });
            }
        }
        let data = self.root.join(DATA_DIR);
        let meta = fsio::lstat_plain(&data, DATA_DIR)?;
        if !meta.is_dir() {
            return Err(BackupError::Changed {
                path: DATA_DIR.to_owned(),
                what: "not a directory".into(),
            });
        }
        let mut seen_files = 0usize;
        let mut seen_dirs = BTreeSet::new();
        let mut pending = vec![String::new()];
        while let Some(dir) = pending.pop() {
            for name in names(&data, &dir)? {
                let rel = if dir.is_empty() { name } else { format!("{dir}/{name}") };
                let shown = format!("{DATA_DIR}/{rel}");
                let meta = fsio::lstat_plain(&data.join(&rel), &shown)?;
                if meta.is_dir() {
                    if !dirs.contains(rel.as_str()) {
                        return Err(BackupError::Extra { path: shown });
                    }
                    seen_dirs.insert(rel.clone());
                    pending.push(rel);
                } else if files.contains(rel.as_str()) {
                    seen_files += 1;
                } else {
                    return Err(BackupError::Extra { path: shown });
                }
            }
        }
        if seen_files != files.len() {
            let missing = manifest
                .files
                .iter()
                .find(|f| fs::symlink_metadata(data.join(&f.path)).is_err())
                .map_or_else(|| "a file".to_owned(), |f| format!("{DATA_DIR}/{}", f.path));
            return Err(BackupError::Missing { path: missing });
        }
        if let Some(dir) = manifest.dirs.iter().find(|d| !seen_dirs.contains(d.as_str())) {
            return Err(BackupError::Missing { path: format!("{DATA_DIR}/{dir}") });
        }
        Ok(())
    }

    fn copy_file(
        &mut self,
        entry: &FileEntry,
        to: Option<(&mut dyn Write, &str)>,
        progress: &mut dyn Progress,
    ) -> Result<(u64, blake3::Hash)> {
        let shown = format!("{DATA_DIR}/{}", entry.path);
        let mut from = fsio::open_plain(&self.root.join(DATA_DIR).join(&entry.path), &shown)?;
        fsio::copy_hashed(&mut from, to, &shown, entry.size, progress)
    }
}

/// The names in `base/rel`, sorted; bounded, and a name that is not UTF-8 is an extra file.
fn names(base: &Path, rel: &str) -> Result<Vec<String>> {
    let dir = if rel.is_empty() { base.to_path_buf() } else { base.join(rel) };
    let entries = fs::read_dir(&dir).map_err(|e| BackupError::io("list", dir.display(), e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| BackupError::io("list", dir.display(), e))?;
        let name = entry
            .file_name()
            .into_string()
            .map_err(|name| BackupError::Extra { path: dir.join(name).display().to_string() })?;
        out.push(name);
        if out.len() > MAX_ENTRIES {
            return Err(BackupError::TooLarge {
                path: dir.display().to_string(),
                what: "the number of entries",
                limit: MAX_ENTRIES as u64,
            });
        }
    }
    out.sort();
    Ok(out)
}
