//! The one error type of the storage layer.
//!
//! Every variant carries the structured facts a caller needs to act: the backend key of the file
//! involved, the byte offset of damaged data, the operation that failed. Nothing here is a
//! free-form `String` error; the `reason` of [`StorageError::Corrupt`] only describes which check
//! failed.

use std::io;

use thiserror::Error;

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
