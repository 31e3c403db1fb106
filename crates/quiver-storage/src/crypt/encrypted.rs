//! [`EncryptedBackend`]: a [`Backend`] that encrypts every file it writes and authenticates
//! every byte it reads, over any other backend.
//!
//! Whole-file writes become sealed files and `open_append` files become streams (`format.rs`);
//! the keyring (`keyring.rs`) holds the data keys. Everything else (listing, directories,
//! removal) passes through: names and sizes are not hidden.
//!
//! The [`Backend`] durability contract holds through the wrapper because every mutating call
//! maps to mutating calls of the inner backend with the same guarantee: `write_new` and
//! `write_atomic` write the whole encrypted file with the same call, an append is one inner
//! append (the session frame travels with the first data frame of its session, so nothing is
//! written that a sync would not cover), `sync` is the inner sync, and `truncate` is an inner
//! truncate (stream) or an atomic rewrite (sealed).
//!
//! Two operations differ from a plain backend:
//!
//! * `truncate` of a stream to a length inside a frame is refused
//!   ([`StorageError::Unsupported`]): re-encrypting the kept part of the frame and cutting the
//!   rest cannot be made atomic. The write-ahead log never asks for it: each of its appends is
//!   one frame holding whole records, a torn frame is dropped here before the log sees it, so
//!   the log only ever truncates at a frame boundary (to 0 for a torn file header).
//! * `rename` re-encrypts the file for its new name (the name is bound into every tag): it
//!   writes the destination atomically, then removes the source. A crash in between leaves
//!   both, the destination complete. Nothing in Quiver renames files today.
//!
//! A truncate of a stream while an append handle on it is open is not supported: the handle's
//! later frames carry the old offsets and fail authentication when read (they are never read
//! as data).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use ring::rand::SystemRandom;

use crate::backend::{AppendFile, Backend};
use crate::crypt::format::{self, FILE_HEADER_LEN, Shape, StreamWriter};
use crate::crypt::keyring::{self, KEYRING_KEY, Keyring};
use crate::crypt::keys::{DataKey, KeyId, MasterKey, Scope};
use crate::error::{Result, StorageError};

/// A frame buffer larger than this is freed after its append rather than kept for the next.
const REUSE_BUFFER_MAX: usize = 4 << 20;

/// A backend whose files are encrypted with per-collection data keys; see the module
/// documentation and `crypt.rs`.
pub struct EncryptedBackend {
    inner: Arc<dyn Backend>,
    master: MasterKey,
    keyring: RwLock<Keyring>,
    /// Serializes keyring changes (each one rewrites the keyring file).
    changes: Mutex<()>,
    rng: SystemRandom,
}

impl EncryptedBackend {
    /// Starts encrypting a directory that has no keyring yet: writes a keyring holding a new
    /// system key, sealed with `master`. Fails if a keyring exists.
    ///
    /// The caller decides that the directory holds no unencrypted data (the engine refuses to
    /// encrypt over existing files, see `Database::open`).
    pub fn create(inner: Arc<dyn Backend>, master: &MasterKey) -> Result<EncryptedBackend> {
        if inner.exists(KEYRING_KEY)? {
            return Err(StorageError::Unsupported {
                path: KEYRING_KEY.to_owned(),
                op: "create a keyring",
                reason: "a keyring already exists; open it instead",
            });
        }
        let rng = SystemRandom::new();
        let keyring = Keyring::with_system_key(&rng)?;
        let bytes = keyring::encode(&keyring.entries_with(None, None), master, &rng)?;
        // Atomically, so that a crash leaves no keyring or a whole one, never a torn one.
        inner.write_atomic(KEYRING_KEY, &bytes)?;
        Ok(EncryptedBackend::with(inner, master, keyring, rng))
    }

    /// Opens the keyring of an encrypted directory with `master`. Reads nothing but the
    /// keyring: a wrong key is [`StorageError::WrongMasterKey`] (naming the expected and the
    /// offered key ids) before any data file is touched, a missing keyring
    /// [`StorageError::KeyringMissing`].
    pub fn open(inner: Arc<dyn Backend>, master: &MasterKey) -> Result<EncryptedBackend> {
        let bytes = match inner.read(KEYRING_KEY) {
            Ok(bytes) => bytes,
            Err(err) if err.is_not_found() => {
                return Err(StorageError::KeyringMissing { path: KEYRING_KEY.to_owned() });
            }
            Err(err) => return Err(err),
        };
        let keyring = keyring::decode(&bytes, master)?;
        Ok(EncryptedBackend::with(inner, master, keyring, SystemRandom::new()))
    }

    fn with(
        inner: Arc<dyn Backend>,
        master: &MasterKey,
        keyring: Keyring,
        rng: SystemRandom,
    ) -> EncryptedBackend {
        EncryptedBackend {
            inner,
            master: master.clone(),
            keyring: RwLock::new(keyring),
            changes: Mutex::new(()),
            rng,
        }
    }

    /// The identifier of the master key the keyring is sealed with.
    pub fn master_key_id(&self) -> KeyId {
        self.master.id()
    }

    /// Gives collection `id` a new random data key (replacing any it had: its files, if any
    /// are left, become unreadable) and makes the keyring durable. Call it before writing the
    /// collection's first file.
    pub fn create_collection_key(&self, id: u64) -> Result<()> {
        let _change = self.changes.lock();
        let key = DataKey::generate(&self.rng)?;
        let scope = Scope::Collection(id);
        let bytes = {
            let keyring = self.keyring.read();
            keyring::encode(
                &keyring.entries_with(Some((scope, &key)), None),
                &self.master,
                &self.rng,
            )?
        };
        self.inner.write_atomic(KEYRING_KEY, &bytes)?;
        self.keyring.write().insert(scope, key);
        Ok(())
    }

    /// Destroys the data key of collection `id` (wiped from memory, gone from the keyring
    /// file once this returns): whatever is left of its files can no longer be decrypted.
    /// A collection without a key is not an error.
    pub fn destroy_collection_key(&self, id: u64) -> Result<()> {
        let _change = self.changes.lock();
        let scope = Scope::Collection(id);
        let bytes = {
            let keyring = self.keyring.read();
            if keyring.get(scope).is_none() {
                return Ok(());
            }
            keyring::encode(&keyring.entries_with(None, Some(scope)), &self.master, &self.rng)?
        };
        self.inner.write_atomic(KEYRING_KEY, &bytes)?;
        self.keyring.write().remove(scope);
        Ok(())
    }

    /// The collection ids that have a data key, ascending.
    pub fn collection_key_ids(&self) -> BTreeSet<u64> {
        self.keyring.read().collections().into_iter().collect()
    }

    /// The backend this one encrypts into.
    pub fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }

    /// Runs `f` with the data key of the file at `key`.
    fn with_key<T>(&self, key: &str, f: impl FnOnce(&DataKey) -> Result<T>) -> Result<T> {
        let Some(scope) = Scope::of_key(key) else {
            return Err(StorageError::InvalidKey {
                key: key.to_owned(),
                reason: "a key under collections/ must name a collection id",
            });
        };
        let keyring = self.keyring.read();
        match keyring.get(scope) {
            Some(data_key) => f(data_key),
            None => Err(StorageError::NoDataKey { path: key.to_owned(), scope }),
        }
    }

    fn seal(&self, key: &str, bytes: &[u8]) -> Result<Vec<u8>> {
        refuse_keyring(key)?;
        self.with_key(key, |data_key| format::seal(key, data_key, &self.rng, bytes))
    }

    /// The bytes of a new stream file holding `plaintext` (for `rename`).
    fn new_stream(&self, key: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.with_key(key, |data_key| {
            let mut writer = StreamWriter::start(key, data_key, &self.rng, 0, true)?;
            let mut out = Vec::new();
            writer.seal_frame(&mut out, plaintext)?;
            Ok(out)
        })
    }
}

impl fmt::Debug for EncryptedBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedBackend")
            .field("inner", &self.inner)
            .field("master_key_id", &self.master.id())
            .finish_non_exhaustive()
    }
}

/// The keyring is managed by [`EncryptedBackend`] itself, never read or written as a file.
fn refuse_keyring(key: &str) -> Result<()> {
    if key == KEYRING_KEY || key.strip_suffix(".tmp") == Some(KEYRING_KEY) {
        return Err(StorageError::InvalidKey {
            key: key.to_owned(),
            reason: "reserved for the keyring of the encrypted backend",
        });
    }
    Ok(())
}

impl Backend for EncryptedBackend {
    fn read(&self, key: &str) -> Result<Vec<u8>> {
        refuse_keyring(key)?;
        let bytes = self.inner.read(key)?;
        match format::shape(key, &bytes)? {
            Shape::Empty => Ok(Vec::new()),
            Shape::Sealed => {
                self.with_key(key, |data_key| format::open_sealed(key, data_key, bytes))
            }
            Shape::Stream => {
                self.with_key(key, |data_key| format::open_stream(key, data_key, bytes))
            }
        }
    }

    fn exists(&self, key: &str) -> Result<bool> {
        self.inner.exists(key)
    }

    fn list(&self, dir: &str) -> Result<Vec<String>> {
        self.inner.list(dir)
    }

    fn create_dir_all(&self, dir: &str) -> Result<()> {
        self.inner.create_dir_all(dir)
    }

    fn write_new(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let sealed = self.seal(key, bytes)?;
        self.inner.write_new(key, &sealed)
    }

    fn write_atomic(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let sealed = self.seal(key, bytes)?;
        self.inner.write_atomic(key, &sealed)
    }

    /// Opens the stream `key` (creating it if missing) after cutting off a torn tail, and
    /// starts a new session on it (see `crypt.rs` for why every open starts one).
    fn open_append(&self, key: &str) -> Result<Box<dyn AppendFile>> {
        refuse_keyring(key)?;
        let existing = match self.inner.read(key) {
            Ok(bytes) => Some(bytes),
            Err(err) if err.is_not_found() => None,
            Err(err) => return Err(err),
        };
        let (plaintext_len, new_file) = match existing {
            None => (0, true),
            Some(bytes) => match format::shape(key, &bytes)? {
                Shape::Empty => {
                    if !bytes.is_empty() {
                        self.inner.truncate(key, 0)?;
                    }
                    (0, true)
                }
                Shape::Sealed => {
                    return Err(StorageError::Unsupported {
                        path: key.to_owned(),
                        op: "append",
                        reason: "the file was written whole (sealed), not as an appendable stream",
                    });
                }
                Shape::Stream => {
                    let layout = format::scan_stream(key, &bytes)?;
                    if layout.valid_len < bytes.len() {
                        self.inner.truncate(key, layout.valid_len as u64)?;
                    }
                    (layout.plaintext_len, false)
                }
            },
        };
        let writer = self.with_key(key, |data_key| {
            StreamWriter::start(key, data_key, &self.rng, plaintext_len, new_file)
        })?;
        let inner = self.inner.open_append(key)?;
        Ok(Box::new(EncryptedAppendFile {
            inner,
            writer,
            key: key.to_owned(),
            buf: Vec::new(),
            failed: false,
        }))
    }

    fn truncate(&self, key: &str, len: u64) -> Result<()> {
        refuse_keyring(key)?;
        let bytes = self.inner.read(key)?;
        match format::shape(key, &bytes)? {
            Shape::Empty if len == 0 => self.inner.truncate(key, 0),
            Shape::Empty => Err(beyond_end(key)),
            Shape::Stream if len == 0 => self.inner.truncate(key, 0),
            Shape::Stream => {
                let layout = format::scan_stream(key, &bytes)?;
                let mut plaintext_end = 0u64;
                for frame in layout.frames.iter().filter(|f| f.kind == format::FrameKind::Data) {
                    plaintext_end += frame.len as u64;
                    if plaintext_end == len {
                        return self.inner.truncate(key, frame.end() as u64);
                    }
                    if plaintext_end > len {
                        return Err(StorageError::Unsupported {
                            path: key.to_owned(),
                            op: "truncate",
                            reason: "the new length falls inside an encrypted frame",
                        });
                    }
                }
                Err(beyond_end(key))
            }
            Shape::Sealed => {
                let mut plaintext =
                    self.with_key(key, |data_key| format::open_sealed(key, data_key, bytes))?;
                let Ok(len) = usize::try_from(len) else { return Err(beyond_end(key)) };
                if len > plaintext.len() {
                    return Err(beyond_end(key));
                }
                plaintext.truncate(len);
                let sealed = self.seal(key, &plaintext)?;
                self.inner.write_atomic(key, &sealed)
            }
        }
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        refuse_keyring(from)?;
        refuse_keyring(to)?;
        let bytes = self.inner.read(from)?;
        let shape = format::shape(from, &bytes)?;
        let plaintext = match shape {
            Shape::Empty => Vec::new(),
            Shape::Sealed => {
                self.with_key(from, |data_key| format::open_sealed(from, data_key, bytes))?
            }
            Shape::Stream => {
                self.with_key(from, |data_key| format::open_stream(from, data_key, bytes))?
            }
        };
        let encrypted = match shape {
            Shape::Sealed => self.seal(to, &plaintext)?,
            Shape::Empty | Shape::Stream => self.new_stream(to, &plaintext)?,
        };
        self.inner.write_atomic(to, &encrypted)?;
        self.inner.remove_file(from)
    }

    fn remove_file(&self, key: &str) -> Result<()> {
        refuse_keyring(key)?;
        self.inner.remove_file(key)
    }

    fn remove_dir_all(&self, dir: &str) -> Result<()> {
        self.inner.remove_dir_all(dir)
    }
}

fn beyond_end(key: &str) -> StorageError {
    StorageError::Unsupported {
        path: key.to_owned(),
        op: "truncate",
        reason: "an encrypted file cannot be extended by truncate",
    }
}

/// A stream opened by [`EncryptedBackend::open_append`]: every append is one data frame.
struct EncryptedAppendFile {
    inner: Box<dyn AppendFile>,
    writer: StreamWriter,
    key: String,
    /// The frame being written, kept between appends to save the allocation.
    buf: Vec<u8>,
    /// Set when an inner append failed: where the file ends is unknown, so nothing more is
    /// written through this handle (reopen, which cuts a torn frame and starts a session).
    failed: bool,
}

impl AppendFile for EncryptedAppendFile {
    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        if self.failed {
            return Err(StorageError::FailStopped { path: self.key.clone() });
        }
        if bytes.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        self.writer.seal_frame(&mut self.buf, bytes)?;
        if let Err(err) = self.inner.append(&self.buf) {
            self.failed = true;
            return Err(err);
        }
        if self.buf.capacity() > REUSE_BUFFER_MAX {
            self.buf = Vec::new();
        }
        self.writer.written(bytes.len())
    }

    fn sync(&mut self) -> Result<()> {
        self.inner.sync()
    }
}

/// Re-wraps every data key of the keyring in `inner` under `new`, after opening it with `old`
/// (so a wrong `old` is [`StorageError::WrongMasterKey`]), and replaces the keyring atomically.
/// No data file is read or written. The caller must make sure no [`EncryptedBackend`] has the
/// directory open (the engine's `rotate_master_key` holds the directory lock).
pub fn rotate_master_key(inner: &dyn Backend, old: &MasterKey, new: &MasterKey) -> Result<()> {
    let bytes = match inner.read(KEYRING_KEY) {
        Ok(bytes) => bytes,
        Err(err) if err.is_not_found() => {
            return Err(StorageError::KeyringMissing { path: KEYRING_KEY.to_owned() });
        }
        Err(err) => return Err(err),
    };
    let keyring = keyring::decode(&bytes, old)?;
    let rng = SystemRandom::new();
    let rewrapped = keyring::encode(&keyring.entries_with(None, None), new, &rng)?;
    inner.write_atomic(KEYRING_KEY, &rewrapped)
}

/// True if `bytes` (the start of a file, or all of it) begin like an encrypted file.
pub fn is_encrypted_file(bytes: &[u8]) -> bool {
    bytes.len() >= FILE_HEADER_LEN && bytes[..8] == format::MAGIC
}

#[cfg(test)]
mod tests;
