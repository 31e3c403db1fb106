//! `create`: the optimistic copy of a data directory that a server may be writing (see the
//! crate documentation for why the result is a state the database was in).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quiver_engine::layout;
use quiver_storage::{EncryptedBackend, LocalBackend, MasterKey, StorageError};

use crate::error::{BackupError, Result};
use crate::fsio;
use crate::location::Location;
use crate::manifest::{
    self, DATA_DIR, FORMAT_VERSION, FileEntry, MANIFEST_FILE, MAX_ENTRIES, Manifest, SIGNATURE_FILE,
};
use crate::object::target::ObjectTarget;
use crate::path;
use crate::progress::Progress;
use crate::target::{LocalTarget, Target};

/// Attempts at copying one collection before giving up.
pub const COLLECTION_ATTEMPTS: u32 = 16;
/// Attempts at the whole copy (restarted when the catalog or keyring changed).
pub const ROUNDS: u32 = 4;
/// Largest catalog or keyring read, in bytes.
const MAX_ROOT_FILE: u64 = 256 << 20;

/// Copies the data directory `source` into a new backup at `to` (which must not exist or be
/// an empty directory), encrypted as the data directory is, with a manifest signed under a
/// key derived from `master`. Works while a server has `source` open and without its lock.
///
/// `master` must be the key `source` is encrypted with (checked against its keyring before
/// anything is copied); it is never copied. On failure, what was written to `to` is removed.
pub fn create(
    source: &Path,
    to: &Path,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    create_at(source, &Location::Local(to.to_path_buf()), master, progress)
}

/// [`create`] at any [`Location`]: a local directory, or `s3://bucket/prefix`, which must
/// hold no object yet (on failure, the objects written under it are deleted again).
pub fn create_at(
    source: &Path,
    to: &Location,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    let shown = source.display().to_string();
    let meta = fs::symlink_metadata(source).map_err(|e| BackupError::io("open", &shown, e))?;
    if !meta.is_dir() {
        return Err(BackupError::Source { path: shown, reason: "is not a directory" });
    }
    check_key(source, master)?;
    let mut target: Box<dyn Target> = match to {
        Location::Local(dir) => Box::new(LocalTarget::prepare(dir)?),
        Location::S3(s3) => Box::new(ObjectTarget::open(s3)?),
    };
    let result = create_in(source, target.as_mut(), master, progress);
    if result.is_err() {
        target.abandon();
    }
    result
}

/// Refuses a directory that is not encrypted, or whose keyring the key does not open.
fn check_key(source: &Path, master: &MasterKey) -> Result<()> {
    let backend = Arc::new(LocalBackend::new(source.to_path_buf())?);
    match EncryptedBackend::open(backend, master) {
        Ok(_) => Ok(()),
        Err(StorageError::KeyringMissing { .. }) => Err(BackupError::Source {
            path: source.display().to_string(),
            reason: "is not an encrypted data directory (no keyring.qvk): backups hold \
                     encrypted data only",
        }),
        Err(err) => Err(err.into()),
    }
}

/// The files copied so far: data-relative directories and files.
#[derive(Default)]
struct Copied {
    dirs: Vec<String>,
    files: Vec<FileEntry>,
}

impl Copied {
    fn extend(&mut self, other: Copied) {
        self.dirs.extend(other.dirs);
        self.files.extend(other.files);
    }
}

/// One copy of the directory into `to/data`, restarted while the catalog or keyring changed.
fn create_in(
    source: &Path,
    target: &mut dyn Target,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    let mut copied = None;
    for round in 1..=ROUNDS {
        progress.start("copy", estimate(source));
        target.remove_tree(DATA_DIR)?;
        target.make_dir(DATA_DIR)?;
        match copy_round(source, target, progress)? {
            Some(done) => {
                copied = Some(done);
                break;
            }
            None => std::thread::sleep(Duration::from_millis(100 * u64::from(round))),
        }
    }
    let Some(mut copied) = copied else {
        return Err(BackupError::Unstable {
            what: "the catalog and keyring".to_owned(),
            attempts: ROUNDS,
        });
    };
    copied.files.sort_by(|a, b| a.path.cmp(&b.path));
    copied.dirs.sort();
    if copied.files.len() > MAX_ENTRIES || copied.dirs.len() > MAX_ENTRIES {
        return Err(BackupError::TooLarge {
            path: source.display().to_string(),
            what: "the number of files",
            limit: MAX_ENTRIES as u64,
        });
    }
    target.sync_dirs()?;
    let total_bytes = copied.files.iter().map(|f| f.size).sum();
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        created_unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        master_key_id: master.id().to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        total_files: copied.files.len() as u64,
        total_bytes,
        dirs: copied.dirs,
        files: copied.files,
    };
    manifest.validate(MANIFEST_FILE)?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::InvalidManifest {
        path: MANIFEST_FILE.to_owned(),
        reason: e.to_string(),
    })?;
    target.put(MANIFEST_FILE, &json)?;
    target.sync_dirs()?;
    target.put(SIGNATURE_FILE, manifest::sign(master, &json)?.as_bytes())?;
    target.sync_dirs()?;
    Ok(manifest)
}

/// The total size of the files under `dir`, for progress only (errors count as 0).
fn estimate(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => estimate(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// One round: `None` when the catalog or keyring changed during it.
fn copy_round(
    source: &Path,
    target: &mut dyn Target,
    progress: &mut dyn Progress,
) -> Result<Option<Copied>> {
    let read_root =
        |name: &str| fsio::read_bounded(&source.join(name), name, "the file's size", MAX_ROOT_FILE);
    let catalog = read_root(layout::CATALOG)?;
    let keyring = read_root(layout::KEYRING)?;
    let mut copied = Copied::default();
    for name in list(source, "")? {
        if layout::NOT_DATA.contains(&name.as_str())
            || name.ends_with(layout::TEMP_SUFFIX)
            || name == layout::CATALOG
            || name == layout::KEYRING
        {
            continue;
        }
        let rel = name.clone();
        let meta = fsio::lstat_plain(&source.join(&rel), &rel)?;
        if meta.is_dir() && rel == layout::COLLECTIONS_DIR {
            let rel_target = format!("{DATA_DIR}/{rel}");
            target.make_dir(&rel_target)?;
            copied.dirs.push(rel.clone());
            for id in list(source, &rel)? {
                if layout::collection_id(&id).is_none() {
                    // Not a collection: the engine removes it at the next open.
                    continue;
                }
                copied.extend(copy_collection(source, &format!("{rel}/{id}"), target, progress)?);
            }
        } else {
            // Another file or directory of the data directory: copied as it is; a file
            // replaced atomically is read through one open descriptor, hence whole.
            match copy_tree(source, &rel, target, progress, &mut copied, &mut Retry::default()) {
                Ok(()) => {}
                Err(err) if err.is_not_found() => return Ok(None),
                Err(err) => return Err(err),
            }
        }
    }
    if read_root(layout::CATALOG)? != catalog || read_root(layout::KEYRING)? != keyring {
        return Ok(None);
    }
    for (name, bytes) in [(layout::CATALOG, &catalog), (layout::KEYRING, &keyring)] {
        target.put(&format!("{DATA_DIR}/{name}"), bytes)?;
        copied.files.push(FileEntry {
            path: name.to_owned(),
            size: bytes.len() as u64,
            blake3: blake3::hash(bytes).to_hex().to_string(),
        });
        progress.advance(bytes.len() as u64);
    }
    Ok(Some(copied))
}

/// Copies one collection so that its files are those its MANIFEST named: the manifest's bytes
/// are read before and after the copy, and the copy is retried while they differ or a file
/// vanished. A retry copies again only what may have changed: an immutable file (segment,
/// index, schema) already copied whole is kept when the source still has the same inode and
/// size (immutable files only grow while they are written, and one a manifest references was
/// complete before that manifest was written), so retries are short even while the server
/// seals often. A directory without a MANIFEST is not a collection (a create that a crash cut
/// short, which the engine removes at the next open) and is skipped.
fn copy_collection(
    source: &Path,
    rel: &str,
    target: &mut dyn Target,
    progress: &mut dyn Progress,
) -> Result<Copied> {
    let manifest_rel = format!("{rel}/{}", layout::MANIFEST);
    let manifest_path = source.join(&manifest_rel);
    let read_manifest =
        || fsio::read_bounded(&manifest_path, &manifest_rel, "the manifest's size", MAX_ROOT_FILE);
    let mut state = Retry::default();
    for attempt in 1..=COLLECTION_ATTEMPTS {
        let before = match read_manifest() {
            Ok(bytes) => bytes,
            Err(err) if err.is_not_found() => {
                target.remove_tree(&format!("{DATA_DIR}/{rel}"))?;
                return Ok(Copied::default());
            }
            Err(err) => return Err(err),
        };
        let mut copied = Copied::default();
        let result = copy_tree(source, rel, target, progress, &mut copied, &mut state);
        match result {
            Ok(()) => {}
            Err(err) if err.is_not_found() => {
                std::thread::sleep(Duration::from_millis(10 * u64::from(attempt)));
                continue;
            }
            Err(err) => return Err(err),
        }
        let after = match read_manifest() {
            Ok(bytes) => bytes,
            Err(err) if err.is_not_found() => continue,
            Err(err) => return Err(err),
        };
        if after != before {
            std::thread::sleep(Duration::from_millis(10 * u64::from(attempt)));
            continue;
        }
        // Files and directories of earlier attempts that this one did not see are stale.
        let files: BTreeSet<&str> = copied.files.iter().map(|f| f.path.as_str()).collect();
        for stale in state.written.keys().filter(|p| !files.contains(p.as_str())) {
            target.remove_file(&format!("{DATA_DIR}/{stale}"))?;
        }
        let dirs: BTreeSet<&str> = copied.dirs.iter().map(String::as_str).collect();
        for stale in state.dirs.iter().rev().filter(|d| !dirs.contains(d.as_str())) {
            target.remove_tree(&format!("{DATA_DIR}/{stale}"))?;
        }
        target.put(&format!("{DATA_DIR}/{manifest_rel}"), &before)?;
        copied.files.push(FileEntry {
            path: manifest_rel,
            size: before.len() as u64,
            blake3: blake3::hash(&before).to_hex().to_string(),
        });
        return Ok(copied);
    }
    Err(BackupError::Unstable { what: rel.to_owned(), attempts: COLLECTION_ATTEMPTS })
}

/// What earlier attempts at a collection left in the target.
#[derive(Default)]
struct Retry {
    /// Every file written, with the source inode it was copied from and its entry.
    written: BTreeMap<String, (u64, FileEntry)>,
    /// Every directory made.
    dirs: BTreeSet<String>,
}

/// Copies the file or directory `rel` of `source` (recursively, in name order, so a log's
/// files are copied oldest first), skipping temporary files and, directly in a collection
/// directory, its MANIFEST (written by [`copy_collection`]). `state` carries what earlier
/// attempts wrote: see [`copy_collection`].
fn copy_tree(
    source: &Path,
    rel: &str,
    target: &mut dyn Target,
    progress: &mut dyn Progress,
    copied: &mut Copied,
    state: &mut Retry,
) -> Result<()> {
    path::validate(rel).map_err(|_| BackupError::Source {
        path: source.join(rel).display().to_string(),
        reason: "has a name a backup cannot hold (only [A-Za-z0-9._-], 16 levels)",
    })?;
    let from = source.join(rel);
    let meta = fsio::lstat_plain(&from, rel)?;
    let rel_target = format!("{DATA_DIR}/{rel}");
    if meta.is_dir() {
        if state.dirs.insert(rel.to_owned()) {
            target.make_dir(&rel_target)?;
        }
        copied.dirs.push(rel.to_owned());
        let is_collection = rel
            .strip_prefix(layout::COLLECTIONS_DIR)
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|r| layout::collection_id(r).is_some());
        for name in list(source, rel)? {
            if name.ends_with(layout::TEMP_SUFFIX) || (is_collection && name == layout::MANIFEST) {
                continue;
            }
            copy_tree(source, &format!("{rel}/{name}"), target, progress, copied, state)?;
        }
        return Ok(());
    }
    if let Some((ino, entry)) = state.written.get(rel)
        && layout::kind_of(rel) == Some(layout::FileKind::Immutable)
        && *ino == meta.ino()
        && entry.size == meta.len()
    {
        copied.files.push(entry.clone());
        return Ok(());
    }
    if state.written.remove(rel).is_some() {
        target.remove_file(&rel_target)?;
    }
    let mut file = fsio::open_plain(&from, rel)?;
    let (size, hash) = target.copy_in(&rel_target, &mut file, rel, progress)?;
    let entry = FileEntry { path: rel.to_owned(), size, blake3: hash.to_hex().to_string() };
    state.written.insert(rel.to_owned(), (meta.ino(), entry.clone()));
    copied.files.push(entry);
    Ok(())
}

/// The names in the directory `rel` of `source` (`""`: the root), sorted.
fn list(source: &Path, rel: &str) -> Result<Vec<String>> {
    let dir = if rel.is_empty() { source.to_path_buf() } else { source.join(rel) };
    let entries = fs::read_dir(&dir).map_err(|e| BackupError::io("list", dir.display(), e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| BackupError::io("list", dir.display(), e))?;
        let name = entry.file_name().into_string().map_err(|name| BackupError::Source {
            path: dir.join(name).display().to_string(),
            reason: "has a name that is not UTF-8",
        })?;
        names.push(name);
        if names.len() > MAX_ENTRIES {
            return Err(BackupError::TooLarge {
                path: dir.display().to_string(),
                what: "the number of entries",
                limit: MAX_ENTRIES as u64,
            });
        }
    }
    names.sort();
    Ok(names)
}
