//! Key material: the operator's [`MasterKey`], the random [`DataKey`]s it wraps, the
//! [`KeyId`] that names a master key without revealing it, and the [`Scope`] a data key
//! serves.
//!
//! Every secret here is a fixed-size array that is wiped (`zeroize`, volatile writes the
//! compiler cannot drop) when its owner is dropped, has a redacting `Debug` and no `Display`,
//! and never appears in an error. Copies made outside these types are the caller's to avoid:
//! the text of a key file is wiped right after it is parsed. `ring` keeps the expanded AES
//! key schedules of the keys derived from them and does not wipe those; they live as long as
//! the file operation (or the open log session) that needed them.
//!
//! # The master key file
//!
//! One line of text: `qmk1_` followed by 64 lowercase hexadecimal digits (the 32 key bytes),
//! optionally followed by one newline; nothing else is accepted. Text rather than raw bytes so
//! that it can be made with `printf 'qmk1_%s\n' "$(openssl rand -hex 32)"`, passed through an
//! environment variable ([`MasterKey::from_text`]) or kept in a secret manager, and so that a
//! wrong file (a certificate, a password file) is refused by its shape rather than used as a
//! key. [`MasterKey::load`] also refuses a file that its group or others may read or write
//! (the key must be as private as an SSH key), and [`MasterKey::generate_to`] writes a new one
//! with mode 0600, refusing to replace an existing file.
//!
//! # Key identifiers
//!
//! A [`KeyId`] is 8 bytes of HKDF-SHA256 output from the master key (salt
//! `quiver/master-key/v1`, info `key-id`), shown as 16 hex digits. It is stored in the
//! keyring so that a wrong key is named as such before anything is decrypted; 64 bits of a
//! one-way function of a 256-bit random key reveal nothing usable about the key.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use ring::rand::{SecureRandom, SystemRandom};
use ring::{aead, hkdf, hmac};
use zeroize::Zeroize;

use crate::error::{Result, StorageError};

/// Length in bytes of a master key and of a data key (AES-256).
pub const KEY_LEN: usize = 32;
/// The text a master key file starts with; the digit is the format version.
pub const MASTER_KEY_PREFIX: &str = "qmk1_";
/// Longest master key file read, in bytes: the format is 70 bytes with its newline.
const MAX_KEY_FILE_LEN: u64 = 128;
/// The HKDF salt of every key derived from a master key.
const MASTER_KDF_SALT: &[u8] = b"quiver/master-key/v1";

/// The operator's key: wraps the data keys in the keyring, never encrypts data itself.
///
/// Load it with [`MasterKey::load`], make one with [`MasterKey::generate_to`]. Its `Debug`
/// shows its [`KeyId`] only.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; KEY_LEN],
    id: KeyId,
}

impl MasterKey {
    /// A new random key, kept only in memory (tests and tools that store it themselves).
    pub fn generate() -> Result<MasterKey> {
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| StorageError::Crypto { what: "generate a master key" })?;
        let key = MasterKey::from_bytes(bytes);
        bytes.zeroize();
        key
    }

    /// Generates a new key and writes it to `path` in the key file format, with mode 0600
    /// (created, never replaced: an existing file is an error), then fsyncs the file and its
    /// directory. Keep the file outside the data directory: a copy of the data directory
    /// (a backup) must not carry its own key.
    pub fn generate_to(path: &Path) -> Result<MasterKey> {
        let key = MasterKey::generate()?;
        let shown = path.display().to_string();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file =
            options.open(path).map_err(|source| StorageError::io("create", &shown, source))?;
        let mut text = key.to_text();
        text.push('\n');
        let written = file.write_all(text.as_bytes());
        text.zeroize();
        written.map_err(|source| StorageError::io("write", &shown, source))?;
        file.sync_all().map_err(|source| StorageError::io("fsync", &shown, source))?;
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        File::open(parent).and_then(|dir| dir.sync_all()).map_err(|source| {
            StorageError::io("fsync dir", &parent.display().to_string(), source)
        })?;
        Ok(key)
    }

    /// Reads the key file at `path`. Refuses a file that is not a regular file, that its group
    /// or others may access (Unix mode bits `0o077`), that is longer than the format allows,
    /// or whose text is not exactly the format (see the module documentation).
    pub fn load(path: &Path) -> Result<MasterKey> {
        let shown = path.display().to_string();
        let refuse =
            |reason: &'static str| StorageError::MasterKeyFile { path: shown.clone(), reason };
        let mut file =
            File::open(path).map_err(|source| StorageError::io("open", &shown, source))?;
        let meta = file.metadata().map_err(|source| StorageError::io("stat", &shown, source))?;
        if !meta.is_file() {
            return Err(refuse("is not a regular file"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(refuse(
                    "may be read or written by its group or by others; make it private \
                     (chmod 600) before using it",
                ));
            }
        }
        if meta.len() > MAX_KEY_FILE_LEN {
            return Err(refuse("is longer than a master key file"));
        }
        let mut bytes = Vec::with_capacity(MAX_KEY_FILE_LEN as usize + 1);
        let read = (&mut file).take(MAX_KEY_FILE_LEN + 1).read_to_end(&mut bytes);
        if let Err(source) = read {
            bytes.zeroize();
            return Err(StorageError::io("read", &shown, source));
        }
        let parsed = match std::str::from_utf8(&bytes) {
            Ok(text) => parse_text(text),
            Err(_) => Err("is not text"),
        };
        bytes.zeroize();
        parsed.map_err(refuse)
    }

    /// Parses the key file format from `text` (e.g. an environment variable's value);
    /// `source` names where it came from, for the error.
    pub fn from_text(text: &str, source: &str) -> Result<MasterKey> {
        parse_text(text)
            .map_err(|reason| StorageError::MasterKeyFile { path: source.to_owned(), reason })
    }

    /// The key's identifier, safe to show and to store.
    pub fn id(&self) -> KeyId {
        self.id
    }

    fn from_bytes(bytes: [u8; KEY_LEN]) -> Result<MasterKey> {
        let mut id = [0u8; KeyId::LEN];
        let prk = master_prk(&bytes);
        prk.expand(&[b"key-id"], OutLen(KeyId::LEN))
            .and_then(|okm| okm.fill(&mut id))
            .map_err(derivation_failed)?;
        Ok(MasterKey { bytes, id: KeyId(id) })
    }

    /// The key file text (without newline). Wiped by the caller.
    fn to_text(&self) -> String {
        let mut text = String::with_capacity(MASTER_KEY_PREFIX.len() + 2 * KEY_LEN + 1);
        text.push_str(MASTER_KEY_PREFIX);
        push_hex(&mut text, &self.bytes);
        text
    }

    /// The AES-256-GCM key that wraps data keys in the keyring (info `keyring-wrap`).
    pub(crate) fn wrapping_key(&self) -> Result<aead::LessSafeKey> {
        let prk = master_prk(&self.bytes);
        let okm = prk.expand(&[b"keyring-wrap"], &aead::AES_256_GCM).map_err(derivation_failed)?;
        Ok(aead::LessSafeKey::new(aead::UnboundKey::from(okm)))
    }

    /// A 256-bit key for a purpose outside the storage layer (e.g. signing backup manifests),
    /// HKDF-SHA256 of the master key with info `derived/` followed by `label`. The prefix keeps
    /// these keys apart from the storage layer's own (`keyring-wrap`, `keyring-mac`, `key-id`);
    /// distinct labels give independent keys. The result is wiped when dropped.
    pub fn derive_key(&self, label: &str) -> Result<DerivedKey> {
        let mut bytes = [0u8; KEY_LEN];
        master_prk(&self.bytes)
            .expand(&[b"derived/", label.as_bytes()], OutLen(KEY_LEN))
            .and_then(|okm| okm.fill(&mut bytes))
            .map_err(derivation_failed)?;
        Ok(DerivedKey(bytes))
    }

    /// The HMAC-SHA256 key that authenticates the whole keyring file (info `keyring-mac`).
    pub(crate) fn keyring_mac_key(&self) -> Result<hmac::Key> {
        let prk = master_prk(&self.bytes);
        let okm = prk.expand(&[b"keyring-mac"], hmac::HMAC_SHA256).map_err(derivation_failed)?;
        Ok(hmac::Key::from(okm))
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

/// A key derived from a master key with [`MasterKey::derive_key`]: wiped when dropped, with a
/// redacting `Debug`.
pub struct DerivedKey([u8; KEY_LEN]);

impl DerivedKey {
    /// The key bytes; copies are the caller's to wipe.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl Drop for DerivedKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

/// The HKDF-SHA256 pseudorandom key of a master key (salt `quiver/master-key/v1`); every key
/// derived from the master key is an expansion of it with its own info label.
fn master_prk(master: &[u8; KEY_LEN]) -> hkdf::Prk {
    hkdf::Salt::new(hkdf::HKDF_SHA256, MASTER_KDF_SALT).extract(master)
}

fn derivation_failed(_: ring::error::Unspecified) -> StorageError {
    StorageError::Crypto { what: "derive a key with HKDF" }
}

/// An `hkdf::KeyType` of a given byte length.
pub(crate) struct OutLen(pub(crate) usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

fn parse_text(text: &str) -> std::result::Result<MasterKey, &'static str> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let Some(hex) = body.strip_prefix(MASTER_KEY_PREFIX) else {
        return Err("does not start with qmk1_ (see the master key file format)");
    };
    if hex.len() != 2 * KEY_LEN {
        return Err("must hold exactly 64 hexadecimal digits after qmk1_");
    }
    let mut bytes = [0u8; KEY_LEN];
    for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        match (hex_digit(pair[0]), hex_digit(pair[1])) {
            (Some(high), Some(low)) => *byte = (high << 4) | low,
            _ => {
                bytes.zeroize();
                return Err("must hold only lowercase hexadecimal digits after qmk1_");
            }
        }
    }
    let key = MasterKey::from_bytes(bytes).map_err(|_| "cannot derive the key id");
    bytes.zeroize();
    key
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

/// The public name of a master key: 8 bytes derived from it (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; KeyId::LEN]);

impl KeyId {
    /// Length of an identifier in bytes.
    pub const LEN: usize = 8;

    pub(crate) fn from_bytes(bytes: [u8; KeyId::LEN]) -> KeyId {
        KeyId(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; KeyId::LEN] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::with_capacity(2 * KeyId::LEN);
        push_hex(&mut text, &self.0);
        f.write_str(&text)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A random 256-bit key that encrypts the files of one [`Scope`] (through per-file keys
/// derived from it), stored only wrapped by the master key.
pub(crate) struct DataKey([u8; KEY_LEN]);

impl DataKey {
    pub(crate) fn generate(rng: &SystemRandom) -> Result<DataKey> {
        let mut bytes = [0u8; KEY_LEN];
        rng.fill(&mut bytes).map_err(|_| StorageError::Crypto { what: "generate a data key" })?;
        Ok(DataKey(bytes))
    }

    pub(crate) fn from_bytes(bytes: [u8; KEY_LEN]) -> DataKey {
        DataKey(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// What a data key encrypts: the files of one collection (`collections/<id>/...`), or every
/// other file of the data directory (catalog, security store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    System,
    Collection(u64),
}

impl Scope {
    /// The scope of the file at `key`: `collections/<id>/...` belongs to collection `id`,
    /// anything else to the system scope. `None` for a key under `collections/` whose next
    /// component is not a collection id.
    pub(crate) fn of_key(key: &str) -> Option<Scope> {
        let Some(rest) = key.strip_prefix("collections/") else { return Some(Scope::System) };
        let id = rest.split('/').next()?;
        if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        id.parse().ok().map(Scope::Collection)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::System => f.write_str("the system files"),
            Scope::Collection(id) => write!(f, "collection {id}"),
        }
    }
}

#[cfg(test)]
mod tests;
