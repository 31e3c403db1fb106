//! `verify`: the signature first, then the manifest's paths, then the listing, then every
//! byte of `data/`; the same steps for a local directory and an object store ([`Source`]).

use std::path::Path;

use quiver_storage::MasterKey;

use crate::error::{BackupError, Result};
use crate::location::Location;
use crate::manifest::{
    self, DATA_DIR, FileEntry, MANIFEST_FILE, MAX_MANIFEST_BYTES, Manifest, SIGNATURE_FILE,
};
use crate::path;
use crate::progress::Progress;
use crate::source::{LocalSource, Source, open_source};

/// Longest `manifest.sig` read, in bytes.
const MAX_SIGNATURE_BYTES: u64 = 256;

/// Verifies the backup at `path` with `master` and returns its manifest:
///
/// 1. `manifest.json` and `manifest.sig` exist (else [`BackupError::Incomplete`]), are
///    regular files, and the manifest is at most [`MAX_MANIFEST_BYTES`];
/// 2. the signature verifies (constant time) before the manifest is parsed;
/// 3. every path in the manifest is safe ([`crate::path`]) and the manifest is consistent;
/// 4. a walk of `data/` (never following links) finds exactly the listed directories and
///    files, and no symbolic link, hard link, device, fifo or socket;
/// 5. every file has the listed size and BLAKE3 hash.
///
/// The first problem found is the error; it names the path.
pub fn verify(path: &Path, master: &MasterKey, progress: &mut dyn Progress) -> Result<Manifest> {
    verify_source(&mut LocalSource::open(path)?, master, progress)
}

/// [`verify`] at any [`Location`]. For `s3://bucket/prefix`, step 4 lists the prefix: every
/// object must be the manifest, its signature or a listed file of the listed size.
pub fn verify_at(
    location: &Location,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    verify_source(open_source(location)?.as_mut(), master, progress)
}

/// The steps of [`verify`], on any source.
pub(crate) fn verify_source(
    source: &mut dyn Source,
    master: &MasterKey,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    let manifest = signed_and_listed(source, master)?;
    progress.start("verify", manifest.total_bytes);
    for entry in &manifest.files {
        let (size, hash) = source.copy_file(entry, None, progress)?;
        check_entry(entry, size, &hash, &format!("{DATA_DIR}/{}", entry.path))?;
    }
    Ok(manifest)
}

/// Steps 1 to 4 of [`verify`]: everything but the contents of the files.
pub(crate) fn signed_and_listed(source: &mut dyn Source, master: &MasterKey) -> Result<Manifest> {
    let manifest = read_signed_manifest(source, master)?;
    source.check_listing(&manifest)?;
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
fn read_signed_manifest(source: &mut dyn Source, master: &MasterKey) -> Result<Manifest> {
    let json = source.read_root(MANIFEST_FILE, "the manifest's size", MAX_MANIFEST_BYTES)?;
    let sig = source.read_root(SIGNATURE_FILE, "the signature's size", MAX_SIGNATURE_BYTES)?;
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
