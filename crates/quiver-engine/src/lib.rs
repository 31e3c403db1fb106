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

mod catalog;
mod collection;
mod column_codec;
mod database;
mod error;
mod index;
mod manifest;
mod meta;
mod options;
mod segment;
mod wal_record;

pub use collection::{
    Collection, CompactStats, ExprFilter, Hit, IndexInfo, QueryRequest, Row, RowFilter,
    SearchRequest, SegmentView, WriteResult,
};
pub use database::{CollectionInfo, Database, rotate_master_key};
pub use error::EngineError;
pub use index::{
    AUTOINDEX_EF_CONSTRUCTION, AUTOINDEX_M, AUTOINDEX_MIN_ROWS, BuildParams, DEFAULT_EF,
    DEFAULT_NLIST, DEFAULT_NPROBE, IndexSpec, IndexType, SearchParams,
};
pub use options::{
    Encryption, MAX_PARTITIONS, MAX_QUERY_VECTORS, MAX_ROWS_PER_WRITE, MAX_TOPK_WINDOW, Options,
};
pub use quiver_expr::{Limits as FilterLimits, TemplateValue};
pub use quiver_index::SearchRange;
