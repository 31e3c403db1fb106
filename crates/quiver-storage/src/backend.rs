//! The storage backend seam: everything the engine stores goes through [`Backend`].
//!
//! Files are named by keys: relative, `/`-separated paths under the backend root, validated by
//! [`crate::validate_key`] (so a backend never touches anything outside its root). The
//! operations are whole-file reads and writes plus an append-only file for the write-ahead log,
//! which is the shape an object store can also provide (segments and backups may later live in
//! one; the log stays on a local disk).
//!
//! Implementations: [`crate::LocalBackend`] (a directory on the local file system),
//! [`crate::FaultyBackend`] (wraps another backend and injects write and sync failures) and
//! [`crate::EncryptedBackend`] (wraps another backend and encrypts and authenticates every
//! file; it keeps the durability contract below).
//!
//! Durability contract: when a mutating call returns `Ok`, its effect (the data and the
//! directory entry) survives a power loss. Keys ending in `.tmp` are used by
//! [`Backend::write_atomic`] for its temporary file; callers should not use such keys for their
//! own files and should ignore them in listings.

use std::fmt;

use crate::error::Result;

/// A store of files named by relative keys; see the module documentation.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Reads the whole file. A missing file is an `Io` error for which
    /// [`crate::StorageError::is_not_found`] is true.
    fn read(&self, key: &str) -> Result<Vec<u8>>;

    /// True if a file or directory exists at `key`.
    fn exists(&self, key: &str) -> Result<bool>;

    /// The names (not keys) of the files and directories directly in `dir`, sorted; empty if
    /// `dir` does not exist.
    fn list(&self, dir: &str) -> Result<Vec<String>>;

    /// Creates `dir` and any missing parents, and fsyncs the parent of each directory it
    /// created.
    fn create_dir_all(&self, dir: &str) -> Result<()>;

    /// Creates a new file (failing if it exists), writes `bytes`, fsyncs the file and its parent
    /// directory. For immutable files such as segments.
    fn write_new(&self, key: &str, bytes: &[u8]) -> Result<()>;

    /// Replaces the file at `key` (or creates it) atomically: writes `key.tmp`, fsyncs it,
    /// renames it over `key` and fsyncs the parent directory. Readers see the old or the new
    /// contents, never a mixture.
    fn write_atomic(&self, key: &str, bytes: &[u8]) -> Result<()>;

    /// Opens the file for appending, creating it if missing (then fsyncing the parent
    /// directory); writes go to its end.
    fn open_append(&self, key: &str) -> Result<Box<dyn AppendFile>>;

    /// Sets the length of the file to `len` and fsyncs it.
    fn truncate(&self, key: &str, len: u64) -> Result<()>;

    /// Renames `from` to `to` (replacing `to`), then fsyncs both parent directories.
    fn rename(&self, from: &str, to: &str) -> Result<()>;

    /// Removes the file and fsyncs its parent directory; a missing file is not an error.
    fn remove_file(&self, key: &str) -> Result<()>;

    /// Removes the directory and everything in it; a missing directory is not an error.
    fn remove_dir_all(&self, dir: &str) -> Result<()>;
}

/// A file opened by [`Backend::open_append`].
pub trait AppendFile: Send {
    /// Appends all of `bytes` at the end of the file (no durability until [`AppendFile::sync`]).
    ///
    /// On error an unknown prefix of `bytes` may have been written.
    fn append(&mut self, bytes: &[u8]) -> Result<()>;

    /// Makes everything appended so far durable (fdatasync).
    fn sync(&mut self) -> Result<()>;
}
