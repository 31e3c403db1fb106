//! [`AuditKey`]: the secret that signs every record and the HEAD file.
//!
//! The key is 32 bytes the caller supplies: derived from another secret (the server derives it
//! with HKDF from its master key) or read from a key file kept outside the data directory
//! ([`AuditKey::from_file`], refused unless only its owner can read it). It must never be
//! stored beside the log: whoever can write the log and read the key can forge records.
//!
//! Two HMAC-SHA256 keys are derived from it with HKDF-Expand (RFC 5869, one block, the 32 bytes
//! used as the pseudo-random key), one per kind of signed text (`quiver-audit v1 record`,
//! `quiver-audit v1 head`), so a signed record can never pass for a signed HEAD or the reverse.
//! A third derivation gives the *key id*, 8 bytes written in HEAD, so that verifying with the
//! wrong key is reported as such rather than as damage of every record.
//!
//! The raw bytes are overwritten when the key is dropped (best effort without `unsafe`, as for
//! `quiver_security::Secret`; the derived HMAC states inside `ring` are not wiped), and `Debug`
//! shows only the key id.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::AuditError;
use crate::hex;

/// Length of an audit key in bytes.
pub const AUDIT_KEY_LEN: usize = 32;

/// Length of the key id in bytes (16 hex digits in HEAD).
pub(crate) const KEY_ID_LEN: usize = 8;

/// The longest key file read: 64 hex digits and some trailing white space.
const MAX_KEY_FILE_LEN: u64 = 128;

const RECORD_LABEL: &[u8] = b"quiver-audit v1 record";
const HEAD_LABEL: &[u8] = b"quiver-audit v1 head";
const KEY_ID_LABEL: &[u8] = b"quiver-audit v1 key id";

/// The secret key of an audit log; see the module documentation.
pub struct AuditKey {
    bytes: [u8; AUDIT_KEY_LEN],
    record: hmac::Key,
    head: hmac::Key,
    key_id: [u8; KEY_ID_LEN],
}

impl AuditKey {
    /// The key made of `bytes`. The caller's copy of the array is the caller's to wipe.
    pub fn from_bytes(bytes: [u8; AUDIT_KEY_LEN]) -> AuditKey {
        let prk = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        let record = derive_hmac_key(&prk, RECORD_LABEL);
        let head = derive_hmac_key(&prk, HEAD_LABEL);
        let id_key = derive_hmac_key(&prk, KEY_ID_LABEL);
        let tag = hmac::sign(&id_key, b"");
        let mut key_id = [0u8; KEY_ID_LEN];
        key_id.copy_from_slice(&tag.as_ref()[..KEY_ID_LEN]);
        AuditKey { bytes, record, head, key_id }
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<AuditKey, AuditError> {
        let mut bytes = [0u8; AUDIT_KEY_LEN];
        SystemRandom::new().fill(&mut bytes).map_err(|_| AuditError::Random)?;
        let key = AuditKey::from_bytes(bytes);
        wipe(&mut bytes);
        Ok(key)
    }

    /// Reads a key file: 64 hexadecimal digits (either case), optionally followed by white
    /// space. Refused with [`AuditError::KeyFile`] when it is not a regular file, when its
    /// group or others have any permission on it (it must be `chmod 600` or stricter), or when
    /// its contents are not a key. The error never shows the contents.
    pub fn from_file(path: &Path) -> Result<AuditKey, AuditError> {
        let shown = path.display().to_string();
        let key_file_error =
            |reason: &'static str| AuditError::KeyFile { path: shown.clone(), reason };
        let file = File::open(path).map_err(|source| AuditError::io("open", &shown, source))?;
        let meta = file.metadata().map_err(|source| AuditError::io("stat", &shown, source))?;
        if !meta.is_file() {
            return Err(key_file_error("is not a regular file"));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(key_file_error(
                "is accessible to its group or to others; restrict it with chmod 600",
            ));
        }
        let mut contents = Vec::with_capacity(MAX_KEY_FILE_LEN as usize + 1);
        let read = file.take(MAX_KEY_FILE_LEN + 1).read_to_end(&mut contents);
        let parsed = match read {
            Ok(_) if contents.len() as u64 > MAX_KEY_FILE_LEN => {
                Err(key_file_error("is longer than a key file can be"))
            }
            Ok(_) => parse_key_text(&contents)
                .ok_or_else(|| key_file_error("does not hold exactly 64 hexadecimal digits")),
            Err(source) => Err(AuditError::io("read", &shown, source)),
        };
        wipe(&mut contents);
        let mut bytes = parsed?;
        let key = AuditKey::from_bytes(bytes);
        wipe(&mut bytes);
        Ok(key)
    }

    /// Generates a key and writes it to a new key file at `path` (64 lowercase hex digits and a
    /// newline, mode 0600, fsynced with its directory entry). Fails if `path` exists.
    pub fn create_file(path: &Path) -> Result<AuditKey, AuditError> {
        let shown = path.display().to_string();
        let key = AuditKey::generate()?;
        let mut text = hex::encode(&key.bytes).into_bytes();
        text.push(b'\n');
        let written = write_new_private(path, &text);
        wipe(&mut text);
        written.map_err(|(op, source)| AuditError::io(op, &shown, source))?;
        Ok(key)
    }

    /// The key id (not secret): what HEAD records to tell a wrong key from damage.
    pub(crate) fn key_id(&self) -> [u8; KEY_ID_LEN] {
        self.key_id
    }

    /// The MAC of a record line's signed prefix.
    pub(crate) fn sign_record(&self, signed: &[u8]) -> [u8; 32] {
        tag_bytes(&hmac::sign(&self.record, signed))
    }

    /// True if `mac` is the MAC of a record line's signed prefix (constant-time comparison).
    pub(crate) fn verify_record(&self, signed: &[u8], mac: &[u8; 32]) -> bool {
        hmac::verify(&self.record, signed, mac).is_ok()
    }

    /// The MAC of the HEAD file's signed prefix.
    pub(crate) fn sign_head(&self, signed: &[u8]) -> [u8; 32] {
        tag_bytes(&hmac::sign(&self.head, signed))
    }

    /// True if `mac` is the MAC of the HEAD file's signed prefix (constant-time comparison).
    pub(crate) fn verify_head(&self, signed: &[u8], mac: &[u8; 32]) -> bool {
        hmac::verify(&self.head, signed, mac).is_ok()
    }
}

impl Clone for AuditKey {
    fn clone(&self) -> AuditKey {
        AuditKey::from_bytes(self.bytes)
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey(id {}, <redacted>)", hex::encode(&self.key_id))
    }
}

impl Drop for AuditKey {
    fn drop(&mut self) {
        wipe(&mut self.bytes);
    }
}

/// HKDF-Expand (RFC 5869) of one 32-byte block: `T(1) = HMAC(prk, label || 0x01)`, as an
/// HMAC-SHA256 key. Written out because one block is all we need and it cannot fail, where
/// `ring::hkdf`'s general expansion returns a `Result`.
fn derive_hmac_key(prk: &hmac::Key, label: &[u8]) -> hmac::Key {
    let mut context = hmac::Context::with_key(prk);
    context.update(label);
    context.update(&[1]);
    let mut block = tag_bytes(&context.sign());
    let key = hmac::Key::new(hmac::HMAC_SHA256, &block);
    wipe(&mut block);
    key
}

fn tag_bytes(tag: &hmac::Tag) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// 64 hex digits (either case) followed only by ASCII white space.
fn parse_key_text(text: &[u8]) -> Option<[u8; AUDIT_KEY_LEN]> {
    let end = text.iter().rposition(|byte| !byte.is_ascii_whitespace()).map_or(0, |idx| idx + 1);
    let digits = text.get(..end)?;
    let mut lower = [0u8; 2 * AUDIT_KEY_LEN];
    if digits.len() != lower.len() {
        return None;
    }
    for (out, byte) in lower.iter_mut().zip(digits) {
        *out = byte.to_ascii_lowercase();
    }
    let parsed = hex::decode_32(&lower);
    wipe(&mut lower);
    parsed
}

/// Creates `path` (failing if it exists) with mode 0600, writes `bytes`, fsyncs the file and
/// its directory.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), (&'static str, std::io::Error)> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| ("create", err))?;
    file.write_all(bytes).map_err(|err| ("write", err))?;
    file.sync_all().map_err(|err| ("fsync", err))?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let dir = File::open(parent).map_err(|err| ("open dir", err))?;
    dir.sync_all().map_err(|err| ("fsync dir", err))?;
    // A umask cannot widen 0600, but a pre-existing ACL default could; check what we made.
    let mode = fs::metadata(path).map_err(|err| ("stat", err))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(("chmod", std::io::Error::other("key file is not private after creation")));
    }
    Ok(())
}

/// Overwrites `bytes` with zeros; `black_box` keeps the writes from being optimised away.
pub(crate) fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

#[cfg(test)]
mod tests;
