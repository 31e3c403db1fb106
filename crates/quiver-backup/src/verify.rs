//! `verify`: the signature first, then the manifest's paths, then every byte of `data/`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use quiver_storage::MasterKey;

use crate::error::{BackupError, Result};
use crate::fsio;
use crate::manifest::{
    self, DATA_DIR, FileEntry, MANIFEST_FILE, MAX_ENTRIES, MAX_MANIFEST_BYTES, Manifest,
    SIGNATURE_FILE,
};
use crate::path;
use crate::progress::Progress;

/// Longest `manifest.sig` read, in bytes.
const MAX_SIGNATURE_BYTES: u64 = 256;

/// Verifies the backup at `path` with `master` and returns its manifest:
///
/// 1. `manifest.json` and `manifest.sig` exist (else [`BackupError::Incomplete`]), are
///    regular files, and the manifest is at most [`MAX_MANIFEST_BYTES`];
/// 2. the signature verifies (constant time) before the manifest is parsed;
/// 3. every path in the manifest is safe ([`crate::path`]) and the manifest is consistent;
/// 4. a walk of `data/` (never following links) finds exactly the listed directories and
///    files, each file with the listed size and BLAKE3 hash, and no symbolic link, hard link,
///    device, fifo or socket.
///
/// The first problem found is the error; it names the path.
pub fn verify(path: &Path, master: &MasterKey, progress: &mut dyn Progress) -> Result<Manifest> {
    let manifest = read_signed_manifest(path, master)?;
    let mut files: BTreeMap<&str, &FileEntry> = BTreeMap::new();
    for file in &manifest.files {
        files.insert(&file.path, file);
    }
    let dirs: BTreeSet<&str> = manifest.dirs.iter().map(String::as_str).collect();
    for name in names(path, "")? {
        if name != DATA_DIR && name != MANIFEST_FILE && name != SIGNATURE_FILE {
            fsio::lstat_plain(&path.join(&name), &name)?;
            return Err(BackupError::Extra { path: name });
        }
    }
    let data = path.join(DATA_DIR);
    let meta = fsio::lstat_plain(&data, DATA_DIR)?;
    if !meta.is_dir() {
        return Err(BackupError::Changed {
            path: DATA_DIR.to_owned(),
            what: "not a directory".into(),
        });
    }
    progress.start("verify", manifest.total_bytes);
    let mut seen_files = 0usize;
    let mut seen_dirs = BTreeSet::new();
    let mut pending = vec![String::new()];
    while let Some(dir) = pending.pop() {
        for name in names(&data, &dir)? {
            let rel = if dir.is_empty() { name } else { format!("{dir}/{name}") };
            let shown = format!("{DATA_DIR}/{rel}");
            let full = data.join(&rel);
            let meta = fsio::lstat_plain(&full, &shown)?;
            if meta.is_dir() {
                if !dirs.contains(rel.as_str()) {
                    return Err(BackupError::Extra { path: shown });
                }
                seen_dirs.insert(rel.clone());
                pending.push(rel);
                continue;
            }
            let Some(entry) = files.get(rel.as_str()) else {
                return Err(BackupError::Extra { path: shown });
            };
            let mut file = fsio::open_plain(&full, &shown)?;
            let (size, hash) = fsio::copy_hashed(&mut file, None, &shown, progress)?;
            check_entry(entry, size, &hash, &shown)?;
            seen_files += 1;
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
    Ok(manifest)
}

/// Compares a file's size and hash with its manifest entry.
pub(crate) fn check_entry(
    entry: &FileEntry,
    size: u64,
    hash: &blake3::Hash,
    shown: &str,
) -> Result<()> {
    if size != entry.size {
        return Err(BackupError::Changed {
            path: shown.to_owned(),
            what: format!("{size} bytes, the manifest says {}", entry.size),
        });
    }
    if hash.to_hex().as_str() != entry.blake3 {
        return Err(BackupError::Changed {
            path: shown.to_owned(),
            what: "its BLAKE3 hash differs from the manifest's".to_owned(),
        });
    }
    Ok(())
}

/// Reads `manifest.json`, checks `manifest.sig` over its exact bytes, then parses and
/// validates it.
fn read_signed_manifest(path: &Path, master: &MasterKey) -> Result<Manifest> {
    let root =
        fs::symlink_metadata(path).map_err(|e| BackupError::io("open", path.display(), e))?;
    if !root.is_dir() {
        return Err(BackupError::SpecialFile {
            path: path.display().to_string(),
            what: "not a directory (a backup is a directory)",
        });
    }
    let read =
        |name: &str, what, limit| match fsio::read_bounded(&path.join(name), name, what, limit) {
            Err(err) if err.is_not_found() => {
                Err(BackupError::Incomplete { path: name.to_owned() })
            }
            other => other,
        };
    let json = read(MANIFEST_FILE, "the manifest's size", MAX_MANIFEST_BYTES)?;
    let sig = read(SIGNATURE_FILE, "the signature's size", MAX_SIGNATURE_BYTES)?;
    if !manifest::check_signature(master, &json, &sig)? {
        return Err(BackupError::BadSignature {
            path: SIGNATURE_FILE.to_owned(),
            offered: master.id().to_string(),
            named: claimed_key_id(&json)
                .map_or_else(String::new, |id| format!("; the manifest claims key {id}")),
        });
    }
    let manifest: Manifest = serde_json::from_slice(&json).map_err(|e| {
        BackupError::InvalidManifest { path: MANIFEST_FILE.to_owned(), reason: e.to_string() }
    })?;
    manifest.validate(MANIFEST_FILE)?;
    for dir in &manifest.dirs {
        path::validate(dir)?;
    }
    Ok(manifest)
}

/// The key id an unverified manifest claims, shown only if it looks like one.
fn claimed_key_id(json: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    let id = value.get("master_key_id")?.as_str()?;
    (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_owned())
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
