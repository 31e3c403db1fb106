//! The one error type of the engine layer.

use std::sync::Arc;

use quiver_storage::StorageError;
use thiserror::Error;

/// Everything the embedded database can refuse or fail with.
///
/// Variants are grouped by who must act: the caller (invalid input, not found, conflict), the
/// operator (unavailable, corruption, fail-stop) or nobody (internal).
#[derive(Debug, Error, Clone)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] quiver_core::Error),

    #[error(transparent)]
    Storage(#[from] Arc<StorageError>),

    #[error(transparent)]
    Index(#[from] quiver_index::IndexError),

    #[error("invalid filter: {0}")]
    Filter(Box<quiver_expr::ExprError>),

    #[error("filter evaluation failed: {0}")]
    FilterEval(quiver_expr::EvalError),

    #[error("field {field:?} has no index")]
    IndexNotFound { field: String },

    #[error("field {field:?} already has a different index; drop it first")]
    IndexExists { field: String },

    #[error(
        "metric type mismatch: the index of field {field:?} uses {index}, the search asks for {requested}"
    )]
    MetricMismatch { field: String, index: quiver_core::Metric, requested: quiver_core::Metric },

    #[error("the data directory {path} is in use by another process")]
    Locked { path: String },

    #[error("database {name:?} not found")]
    DatabaseNotFound { name: String },

    #[error("database {name:?} already exists")]
    DatabaseExists { name: String },

    #[error("database {name:?} still has collections; drop them first")]
    DatabaseNotEmpty { name: String },

    #[error("the default database cannot be dropped")]
    DefaultDatabase,

    #[error("collection {name:?} not found in database {database:?}")]
    CollectionNotFound { database: String, name: String },

    #[error("collection {name:?} already exists in database {database:?}")]
    CollectionExists { database: String, name: String },

    #[error("collection {name:?} is unavailable: {cause}")]
    CollectionUnavailable { name: String, cause: Arc<EngineError> },

    #[error("alias {name:?} not found in database {database:?}")]
    AliasNotFound { database: String, name: String },

    #[error("alias {name:?} already exists in database {database:?}")]
    AliasExists { database: String, name: String },

    #[error("{name:?} is already the name of a {kind} in database {database:?}")]
    NameConflict { database: String, name: String, kind: &'static str },

    #[error("collection {name:?} still has aliases {aliases:?}; drop them first")]
    CollectionHasAliases { name: String, aliases: Vec<String> },

    #[error("partition {name:?} not found")]
    PartitionNotFound { name: String },

    #[error("partition {name:?} already exists")]
    PartitionExists { name: String },

    #[error("the _default partition cannot be dropped")]
    DefaultPartition,

    #[error("a collection has at most {max} partitions")]
    TooManyPartitions { max: usize },

    #[error("primary key {pk} already exists; use upsert to replace it")]
    DuplicatePrimaryKey { pk: String },

    #[error("collection {name:?} stopped accepting writes after a storage failure; reopen it")]
    FailStopped { name: String },

    #[error(
        "the recycle bin is full ({max} dropped collections); purge entries (`quiver trash purge`) before dropping more"
    )]
    TrashFull { max: usize },

    #[error("no dropped collection with id {id} in the recycle bin")]
    TrashNotFound { id: u64 },

    #[error("no dropped partition with id {id} in the collection's recycle bin")]
    PartitionTrashNotFound { id: i64 },

    #[error(
        "cannot restore to {requested_ms} ms since the epoch: the restorable window runs from {earliest_ms} to {latest_ms} ms"
    )]
    RestorePointOutOfRange { requested_ms: u64, earliest_ms: u64, latest_ms: u64 },

    #[error("invalid {what}: {reason}")]
    InvalidRequest { what: &'static str, reason: String },

    #[error("corrupt data in {path} at offset {offset}: {reason}")]
    Corrupt { path: String, offset: u64, reason: String },
}

impl From<StorageError> for EngineError {
    fn from(err: StorageError) -> EngineError {
        EngineError::Storage(Arc::new(err))
    }
}

impl EngineError {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> EngineError {
        EngineError::InvalidRequest { what, reason: reason.into() }
    }

    pub(crate) fn corrupt(path: &str, offset: u64, reason: impl Into<String>) -> EngineError {
        EngineError::Corrupt { path: path.to_owned(), offset, reason: reason.into() }
    }
}
