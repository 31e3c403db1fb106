//! The one error type of the storage layer.
//!
//! Every variant carries the structured facts a caller needs to act: the backend key of the file
//! involved, the byte offset of damaged data, the operation that failed. Nothing here is a
//! free-form `String` error; the `reason` of [`StorageError::Corrupt`] only describes which check
//! failed.

use std::io;

use thiserror::Error;

use crate::crypt::{KeyId, Scope};

/// The result type of the storage layer.
pub type Result<T> = std::result::Result<T, StorageError>;

/// A failure of the storage layer.
#[derive(Debug, Error)]
pub enum StorageError {
    /// An operating-system I/O call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation that failed, such as `"open"`, `"fsync"` or `"rename"`.
        op: &'static str,
        /// The backend key (or, for the backend root itself, the local path) involved.
        path: String,
        #[source]
        source: io::Error,
    },

    /// Data read back from storage fails a check: a checksum mismatch, a bad magic number, an
    /// impossible length, a gap in the log sequence numbers.
    #[error("corrupt {path} at offset {offset}: {reason}")]
    Corrupt {
        /// The backend key of the damaged file.
        path: String,
        /// The byte offset, within that file, of the damaged record, block or header.
        offset: u64,
        /// Which check failed.
        reason: String,
    },

    /// A file was written by a newer format version than this build can read.
    #[error("{path} has format version {found}, this build reads up to version {supported}")]
    UnsupportedVersion { path: String, found: u32, supported: u32 },

    /// The write-ahead log refuses work because an earlier write or fsync failed.
    ///
    /// After a failed fsync the kernel may have dropped the dirty pages, so the only safe way
    /// on is to reopen the log, which re-reads what really reached the file.
    #[error("write-ahead log {path} stopped after an earlier write or sync failure; reopen it")]
    FailStopped { path: String },

    /// Something to be written is larger than its format allows.
    #[error("{what} of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { what: &'static str, len: u64, max: u64 },

    /// A backend key is not a safe relative path (absolute, empty, `..`, `.`, backslash, NUL…).
    #[error("invalid storage key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },

    /// `Wal::wait_durable` was asked about a log sequence number that was never assigned.
    #[error("write-ahead log {path}: LSN {lsn} was never assigned (last assigned is {last_lsn})")]
    LsnNotAssigned { path: String, lsn: u64, last_lsn: u64 },

    /// An encrypted file (or the keyring) fails authentication: it was changed, cut, extended,
    /// moved from another name or written under another key. Never read as data.
    #[error(
        "authentication failed for {path} at offset {offset}: {reason} (the file was changed, \
         cut, extended or moved, or written under another key)"
    )]
    AuthenticationFailed { path: String, offset: u64, reason: &'static str },

    /// The keyring is sealed with another master key than the one given. Both are named by
    /// their [`KeyId`], never by the key itself.
    #[error(
        "wrong master key: the data directory's keyring is sealed with master key {expected}, \
         the key given is {offered}"
    )]
    WrongMasterKey { expected: KeyId, offered: KeyId },

    /// The data directory holds encrypted data but no keyring.
    #[error(
        "the data directory holds encrypted data but its keyring {path} is missing; without it \
         nothing can be decrypted: restore it from a backup"
    )]
    KeyringMissing { path: String },

    /// Encryption is on but the data directory (or this file) was written without it.
    #[error(
        "{path} is not encrypted: the data directory was written without encryption (or the \
         file was replaced); refusing to mix encrypted and unencrypted data: open the directory \
         without encryption, or export its data and import it into a new encrypted directory"
    )]
    NotEncrypted { path: String },

    /// Encryption is off but the data directory is encrypted.
    #[error("the data directory is encrypted ({path}); open it with its master key")]
    EncryptionRequired { path: String },

    /// The keyring has no data key for the scope of the file (a collection created without
    /// encryption, or whose key was destroyed).
    #[error("no data key for {scope} in the keyring, needed for {path}")]
    NoDataKey { path: String, scope: Scope },

    /// A master key file (or text) is not usable: wrong format, too open permissions.
    #[error("master key {path}: {reason}")]
    MasterKeyFile { path: String, reason: &'static str },

    /// An operation the encrypted backend cannot perform on this file.
    #[error("{path}: cannot {op}: {reason}")]
    Unsupported { path: String, op: &'static str, reason: &'static str },

    /// The system random generator or a key derivation failed.
    #[error("cryptographic operation failed: {what}")]
    Crypto { what: &'static str },
}

impl StorageError {
    /// True if this is an I/O error saying the file or directory does not exist.
    ///
    /// Lets callers treat "missing" as a normal outcome of [`crate::Backend::read`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    pub(crate) fn io(op: &'static str, path: &str, source: io::Error) -> StorageError {
        StorageError::Io { op, path: path.to_owned(), source }
    }

    pub(crate) fn corrupt(path: &str, offset: u64, reason: impl Into<String>) -> StorageError {
        StorageError::Corrupt { path: path.to_owned(), offset, reason: reason.into() }
    }
}
