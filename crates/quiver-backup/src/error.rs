//! The one error type of backups: every variant that is about a file names it.

use std::io;

use quiver_engine::EngineError;
use quiver_storage::StorageError;

/// Why a backup could not be created, verified or restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// An I/O operation failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    /// The backup location or restore target exists and is not an empty directory.
    #[error("{path} must not exist or must be an empty directory")]
    TargetNotEmpty { path: String },
    /// The `s3://bucket/prefix` a backup is to be written to already holds objects.
    #[error("{location} already holds objects: a backup is written under an empty prefix")]
    PrefixNotEmpty { location: String },
    /// The source of a backup is not a data directory usable for one.
    #[error("cannot back up {path}: {reason}")]
    Source { path: String, reason: &'static str },
    /// The data directory kept changing under the copy (see the crate documentation).
    #[error(
        "the data directory kept changing while {what} was copied ({attempts} attempts); retry when it is less busy"
    )]
    Unstable { what: String, attempts: u32 },
    /// A limit of the backup format was exceeded.
    #[error("{path}: {what} exceeds the limit of {limit}")]
    TooLarge { path: String, what: &'static str, limit: u64 },
    /// `manifest.json` or `manifest.sig` is missing: the backup was not finished.
    #[error(
        "the backup is incomplete: {path} is missing (the manifest and its signature are written last)"
    )]
    Incomplete { path: String },
    /// The signature does not verify: the manifest was changed, the signature forged, or the
    /// master key is not the one the backup was made with.
    #[error(
        "{path}: the signature does not verify: the manifest was changed or forged, or this is not the master key the backup was made with (key {offered}{named})"
    )]
    BadSignature { path: String, offered: String, named: String },
    /// `manifest.json` (after its signature verified) does not describe a valid backup.
    #[error("{path}: invalid manifest: {reason}")]
    InvalidManifest { path: String, reason: String },
    /// A path in the manifest is not a safe relative path.
    #[error("unsafe path {path:?} in the manifest: {reason}")]
    UnsafePath { path: String, reason: &'static str },
    /// A file's bytes differ from the manifest's size or hash.
    #[error("{path} was changed: {what}")]
    Changed { path: String, what: String },
    /// A file the manifest lists is not in the backup.
    #[error("{path} is missing from the backup")]
    Missing { path: String },
    /// The backup holds a file or directory its manifest does not list.
    #[error("{path} is in the backup but not in its manifest")]
    Extra { path: String },
    /// A symbolic link, hard link, device, fifo or socket where only regular files and
    /// directories may be.
    #[error("{path} is a {what}: refused")]
    SpecialFile { path: String, what: &'static str },
    /// The master key is not the one the data directory is encrypted with, or another
    /// storage-layer failure.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A backup location (`s3://bucket/prefix`) that cannot be used.
    #[error("invalid backup location {location}: {reason}")]
    Location { location: String, reason: String },
    /// An object-store request failed (the error names the key; it never holds a credential).
    #[error("cannot {op} {path}: {source}")]
    ObjectStore {
        op: &'static str,
        path: String,
        #[source]
        source: object_store::Error,
    },
    /// The restored directory does not open.
    #[error("the restored directory does not open: {0}")]
    Open(#[from] EngineError),
}

impl BackupError {
    pub(crate) fn io(op: &'static str, path: impl std::fmt::Display, source: io::Error) -> Self {
        BackupError::Io { op, path: path.to_string(), source }
    }

    pub(crate) fn store(
        op: &'static str,
        path: impl std::fmt::Display,
        source: object_store::Error,
    ) -> Self {
        BackupError::ObjectStore { op, path: path.to_string(), source }
    }

    /// True for an I/O or object-store error that says a file, directory or object vanished.
    pub(crate) fn is_not_found(&self) -> bool {
        match self {
            BackupError::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            BackupError::ObjectStore { source, .. } => {
                matches!(source, object_store::Error::NotFound { .. })
            }
            _ => false,
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = BackupError> = std::result::Result<T, E>;
