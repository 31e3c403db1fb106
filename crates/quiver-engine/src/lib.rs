//! The embedded Quiver database: catalog, write path, read path and compaction over the
//! storage layer, usable without any network (`Database::open(dir)`), and the engine under
//! the server.
//!
//! # Layout
//! - [`Database`] (`database.rs`) owns the data directory, its lock and the catalog
//!   (`catalog.rs`) of databases and collection names.
//! - [`Collection`] (`collection/`) owns one collection: its schema (`meta.rs`), write-ahead
//!   log, segments (`segment.rs`) and manifest (`manifest.rs`).
//! - `wal_record.rs` and `column_codec.rs` encode what goes into the log and the files.
//! - The recycle bin: `database/trash.rs` (dropped collections, [`TrashEntry`]),
//!   `collection/partition_trash.rs` (dropped partitions), and point-in-time restore
//!   (`collection/timeline.rs`, `database/restore.rs`).

mod catalog;
mod collection;
mod column_codec;
mod database;
mod error;
mod index;
pub mod layout;
mod manifest;
mod meta;
mod options;
mod segment;
mod wal_record;

pub use collection::{
    Collection, CompactStats, ExprFilter, Hit, IndexInfo, QueryRequest, Row, RowFilter,
    SearchRequest, SegmentView, TrashedPartition, WriteResult,
};
pub use database::{CollectionInfo, Database, TrashEntry, rotate_master_key};
pub use error::EngineError;
pub use index::{
    AUTOINDEX_EF_CONSTRUCTION, AUTOINDEX_M, AUTOINDEX_MIN_ROWS, BuildParams, DEFAULT_EF,
    DEFAULT_NLIST, DEFAULT_NPROBE, IndexSpec, IndexType, SearchParams,
};
pub use options::{
    DEFAULT_TRASH_RETENTION, Encryption, MAX_PARTITIONS, MAX_QUERY_VECTORS, MAX_ROWS_PER_WRITE,
    MAX_TOPK_WINDOW, MAX_TRASH, Options,
};
pub use quiver_expr::{Limits as FilterLimits, TemplateValue};
pub use quiver_index::SearchRange;
