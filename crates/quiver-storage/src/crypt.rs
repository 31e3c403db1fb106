//! Encryption at rest: [`EncryptedBackend`] encrypts and authenticates every file written
//! through it, under keys that only the operator's [`MasterKey`] unlocks.
//!
//! It answers the storage-access threats of the threat model: someone who can read the data
//! directory (a stolen disk, a copied volume or backup, a snapshot, loose permissions) but not
//! the master key learns nothing of its contents beyond file names and sizes, and someone who
//! can change files cannot make Quiver serve data it did not write: every byte read is
//! authenticated first, and a failure is [`crate::StorageError::AuthenticationFailed`] naming the
//! file, never garbage.
//!
//! # Key hierarchy (envelope encryption)
//!
//! * The **master key** (`keys.rs`): 32 random bytes in a key file the operator keeps outside
//!   the data directory. It only wraps data keys; its [`KeyId`] (HKDF-derived, safe to show)
//!   is stored in the keyring so that a wrong key is refused by name before any data is read.
//! * **Data keys**: 32 random bytes per collection (for `collections/<id>/...`) plus one
//!   system key (catalog, security store, anything else), kept in the keyring file
//!   (`keyring.rs`) wrapped with AES-256-GCM by a key derived from the master key. A
//!   collection's key is created with the collection and destroyed when it is dropped, after
//!   which what remains of its files on the medium cannot be decrypted.
//! * **File keys**: each sealed file and each append session of a stream file gets its own
//!   AES-256-GCM key, HKDF-SHA256 of the data key with a random 256-bit salt stored in the
//!   file (`format.rs`).
//!
//! Rotating the master key ([`rotate_master_key`]) re-wraps the data keys and rewrites the
//! keyring only: data files are untouched, and afterwards only the new key opens the
//! directory.
//!
//! # Nonces never repeat
//!
//! AES-GCM fails badly if a (key, nonce) pair encrypts two different messages, so every key
//! that encrypts data encrypts one thing only, and its nonces are counters:
//!
//! * a sealed file is written once under a key derived from a fresh salt; its chunks are
//!   numbered 0, 1, 2…; rewriting the file (`write_atomic`) draws a new salt;
//! * a stream (the write-ahead log) is written in sessions: every `open_append` draws a new
//!   salt, hence a new key, and numbers its frames from 0. A handle whose append failed is
//!   never used again. So when recovery cuts a torn frame off and appends after it, or the log
//!   truncates and appends again, the new frames belong to a new session: the same offset in
//!   the file is rewritten under a different key, never under the same (key, nonce).
//!
//! Two salts collide with probability 2^-256 per pair, so no state about used nonces has to be
//! kept (or trusted) across crashes. The keyring's wrapping key uses random 96-bit nonces, for
//! the few thousand wraps a directory sees (2^-47 chance of a repeat even after 2^25 wraps).
//!
//! # What authentication binds
//!
//! Every chunk and frame's AAD holds the format version and class, the file's backend key,
//! and its position (chunk index, or frame counter and plaintext offset); a sealed chunk also
//! says whether it is the last. So flipping a byte, reordering or dropping chunks, cutting or
//! extending a sealed file, splicing frames, and swapping files between names (or between
//! collections, which have different keys) are all authentication failures naming the file.
//!
//! Not answered: replacing a file with an older version of itself under the same name, or the
//! whole directory with an older copy (rollback: each version authenticates); cutting the end
//! of the last log file at a frame boundary (indistinguishable from a crash, as without
//! encryption); deleting or damaging files (denial of service, detected but not repaired);
//! anyone holding the master key or the memory of the running process. File names (collection
//! ids, segment ids, log sequence numbers), sizes and times stay visible, and so does the
//! keyring (wrapped keys, the collection ids, the master key id). Files not written through the
//! backend (`LOCK`, the TLS keys, the initial root password) are not encrypted by it.

mod encrypted;
mod format;
mod keyring;
mod keys;

pub use encrypted::{EncryptedBackend, is_encrypted_file, rotate_master_key};
pub use keyring::KEYRING_KEY;
pub use keys::{DerivedKey, KEY_LEN, KeyId, MASTER_KEY_PREFIX, MasterKey, Scope};

#[cfg(test)]
pub(crate) mod test_support;
