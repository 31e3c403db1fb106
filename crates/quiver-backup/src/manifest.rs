//! `manifest.json` and its signature `manifest.sig`.
//!
//! The manifest lists every directory and every file of `data/` (relative path, size, BLAKE3
//! hash) with totals, the format version, the creation time, the id of the master key the
//! data is encrypted with and the tool's version. `manifest.sig` is one line: the hex
//! HMAC-SHA256 of the exact bytes of `manifest.json` under a key derived from the master key
//! ([`SIGNING_LABEL`]). Verification checks the signature before it interprets a byte of the
//! manifest, and bounds the manifest's size before reading it.

use std::collections::BTreeSet;

use quiver_storage::MasterKey;
use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::error::{BackupError, Result};
use crate::path;

/// The manifest's file name at the root of a backup.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The signature's file name at the root of a backup.
pub const SIGNATURE_FILE: &str = "manifest.sig";
/// The directory of a backup that holds the copied data directory.
pub const DATA_DIR: &str = "data";
/// The format this version writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The label of the signing key derived from the master key.
pub const SIGNING_LABEL: &str = "quiver/backup-manifest/v1";
/// Largest `manifest.json` read, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Most files (and, separately, directories) a manifest may list.
pub const MAX_ENTRIES: usize = 1_000_000;

/// What `manifest.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// When the copy finished, in milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
    /// The id of the master key the copied data is encrypted with (16 hex digits).
    pub master_key_id: String,
    /// The version of the tool that made the backup.
    pub tool_version: String,
    /// Every directory under `data/`, parents before children.
    pub dirs: Vec<String>,
    /// Every file under `data/`, sorted by path.
    pub files: Vec<FileEntry>,
    /// The number of files.
    pub total_files: u64,
    /// The sum of the files' sizes.
    pub total_bytes: u64,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative to `data/`, `/`-separated (see [`crate::path`]).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 hash of the bytes, 64 lowercase hex digits.
    pub blake3: String,
}

impl Manifest {
    /// Checks what the signature cannot: the version, every path, the bounds, the totals, no
    /// duplicates, and that every file's directory is listed.
    pub fn validate(&self, shown: &str) -> Result<()> {
        let invalid =
            |reason: String| Err(BackupError::InvalidManifest { path: shown.to_owned(), reason });
        if self.format_version != FORMAT_VERSION {
            return invalid(format!(
                "format version {} is not {FORMAT_VERSION}",
                self.format_version
            ));
        }
        if self.files.len() > MAX_ENTRIES || self.dirs.len() > MAX_ENTRIES {
            return invalid(format!("more than {MAX_ENTRIES} entries"));
        }
        let mut dirs = BTreeSet::new();
        for dir in &self.dirs {
            path::validate(dir)?;
            if let Some((parent, _)) = dir.rsplit_once('/')
                && !dirs.contains(parent)
            {
                return invalid(format!("directory {dir} comes before its parent"));
            }
            if !dirs.insert(dir.as_str()) {
                return invalid(format!("directory {dir} listed twice"));
            }
        }
        let mut files = BTreeSet::new();
        let mut bytes: u64 = 0;
        for file in &self.files {
            path::validate(&file.path)?;
            if let Some((parent, _)) = file.path.rsplit_once('/')
                && !dirs.contains(parent)
            {
                return invalid(format!("the directory of {} is not listed", file.path));
            }
            if dirs.contains(file.path.as_str()) || !files.insert(file.path.as_str()) {
                return invalid(format!("{} listed twice", file.path));
            }
            if file.blake3.len() != 64
                || !file.blake3.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return invalid(format!(
                    "the hash of {} is not 64 lowercase hex digits",
                    file.path
                ));
            }
            bytes = bytes.saturating_add(file.size);
        }
        if self.total_files != self.files.len() as u64 || self.total_bytes != bytes {
            return invalid("the totals do not match the files".to_owned());
        }
        Ok(())
    }
}

/// The HMAC key that signs manifests made under `master`.
pub(crate) fn signing_key(master: &MasterKey) -> Result<hmac::Key> {
    let derived = master.derive_key(SIGNING_LABEL)?;
    Ok(hmac::Key::new(hmac::HMAC_SHA256, derived.as_bytes()))
}

/// The text of `manifest.sig` for the manifest bytes `json`.
pub fn sign(master: &MasterKey, json: &[u8]) -> Result<String> {
    let tag = hmac::sign(&signing_key(master)?, json);
    let mut text = hex(tag.as_ref());
    text.push('\n');
    Ok(text)
}

/// Checks `sig` (the text of `manifest.sig`) against `json` in constant time.
pub(crate) fn check_signature(master: &MasterKey, json: &[u8], sig: &[u8]) -> Result<bool> {
    let text = sig.strip_suffix(b"\n").unwrap_or(sig);
    let Some(tag) = unhex(text) else { return Ok(false) };
    Ok(hmac::verify(&signing_key(master)?, json, &tag).is_ok())
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    text.chunks_exact(2).map(|pair| Some((digit(pair[0])? << 4) | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let file =
            |path: &str, size| FileEntry { path: path.to_owned(), size, blake3: "0".repeat(64) };
        Manifest {
            format_version: FORMAT_VERSION,
            created_unix_ms: 1,
            master_key_id: "00".repeat(8),
            tool_version: "t".to_owned(),
            dirs: vec!["a".to_owned(), "a/b".to_owned()],
            files: vec![file("a/b/c", 3), file("d", 4)],
            total_files: 2,
            total_bytes: 7,
        }
    }

    #[test]
    fn a_manifest_must_be_consistent_beyond_its_signature() {
        manifest().validate("m").unwrap();
        let mut bad = manifest();
        bad.dirs.reverse();
        assert!(bad.validate("m").is_err(), "child directory before its parent");
        let mut bad = manifest();
        bad.files[0].path = "x/c".to_owned();
        assert!(bad.validate("m").is_err(), "file in an unlisted directory");
        let mut bad = manifest();
        bad.total_bytes = 8;
        assert!(bad.validate("m").is_err(), "totals");
        let mut bad = manifest();
        bad.files[1].path = "a".to_owned();
        assert!(bad.validate("m").is_err(), "a file named like a directory");
        let mut bad = manifest();
        bad.files[1].blake3 = "G".repeat(64);
        assert!(bad.validate("m").is_err(), "hash format");
        let mut bad = manifest();
        bad.format_version = 2;
        assert!(bad.validate("m").is_err(), "version");
    }

    #[test]
    fn a_signature_verifies_only_for_the_same_bytes_and_key() {
        let key = MasterKey::generate().unwrap();
        let sig = sign(&key, b"{}").unwrap();
        assert!(check_signature(&key, b"{}", sig.as_bytes()).unwrap());
        assert!(!check_signature(&key, b"{ }", sig.as_bytes()).unwrap());
        let other = MasterKey::generate().unwrap();
        assert!(!check_signature(&other, b"{}", sig.as_bytes()).unwrap());
        assert!(!check_signature(&key, b"{}", b"zz").unwrap());
    }
}
