//! Shared helpers: an encrypted engine database with a small collection, its contents as
//! search and query results.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use quiver_core::{Column, ColumnData, DataType, FieldSpec, InsertBatch, Metric, SchemaSpec};
use quiver_engine::{
    Collection, Database, Encryption, Hit, Options, QueryRequest, Row, SearchRequest,
};
use quiver_storage::MasterKey;

pub(crate) const DB: &str = "default";
pub(crate) const NAME: &str = "docs";
pub(crate) const DIM: usize = 8;
/// Rows per numbered batch.
pub(crate) const BATCH: usize = 50;

pub(crate) fn options(master: &MasterKey) -> Options {
    Options {
        encryption: Some(Encryption::new(master.clone())),
        maintenance_interval: None,
        index_build_threads: 1,
        ..Options::default()
    }
}

/// Options that seal often in the background, so manifests change during a backup.
pub(crate) fn busy_options(master: &MasterKey) -> Options {
    Options {
        seal_rows: 20 * BATCH,
        maintenance_interval: Some(Duration::from_millis(5)),
        ..options(master)
    }
}

pub(crate) fn create(db: &Database) -> Arc<Collection> {
    let spec = SchemaSpec {
        description: "backup tests".to_owned(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("tag", DataType::VarChar { max_length: 32 }),
            FieldSpec::new("embedding", DataType::FloatVector { dim: DIM as u32 }),
        ],
        enable_dynamic_field: false,
    };
    db.create_collection(DB, NAME, spec).unwrap()
}

/// Batch number `n`: ids `n*BATCH .. (n+1)*BATCH`.
pub(crate) fn batch(n: usize) -> InsertBatch {
    let ids: Vec<i64> = (n * BATCH..(n + 1) * BATCH).map(|i| i as i64).collect();
    let tags = ids.iter().map(|i| format!("tag-{}", i % 7)).collect();
    let vectors = ids.iter().flat_map(|i| vector(*i as u64)).collect();
    InsertBatch {
        columns: vec![
            ("id".to_owned(), Column::new(ColumnData::Int64(ids))),
            ("tag".to_owned(), Column::new(ColumnData::VarChar(tags))),
            (
                "embedding".to_owned(),
                Column::new(ColumnData::FloatVector { dim: DIM, data: vectors }),
            ),
        ],
    }
}

/// A deterministic pseudo-random vector per seed (splitmix64).
pub(crate) fn vector(seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..DIM)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// Every live row, sorted by key.
pub(crate) fn all_rows(collection: &Collection) -> Vec<Row> {
    let outputs = vec!["tag".to_owned(), "embedding".to_owned()];
    let mut rows = collection
        .query(&QueryRequest {
            filter: None,
            partitions: &[],
            output_fields: &outputs,
            offset: 0,
            limit: None,
        })
        .unwrap();
    rows.sort_by_key(pk);
    rows
}

/// The Int64 key of a row.
pub(crate) fn pk(row: &Row) -> i64 {
    match row.pk {
        quiver_core::PkValue::Int64(id) => id,
        ref other => panic!("unexpected key {other:?}"),
    }
}

/// The ids of every live row, sorted.
pub(crate) fn ids(collection: &Collection) -> Vec<i64> {
    let mut ids: Vec<i64> = all_rows(collection).iter().map(pk).collect();
    ids.sort_unstable();
    ids
}

/// Top-10 hits of three fixed queries.
pub(crate) fn search(collection: &Collection) -> Vec<Vec<Hit>> {
    let queries: Vec<Vec<f32>> = [3u64, 1_000_003, 77].iter().map(|s| vector(*s)).collect();
    let outputs = vec!["tag".to_owned()];
    collection
        .search(&SearchRequest {
            vector_field: None,
            metric: Metric::L2,
            queries: &queries,
            limit: 10,
            offset: 0,
            partitions: &[],
            output_fields: &outputs,
            filter: None,
            params: quiver_engine::SearchParams::default(),
            range: None,
        })
        .unwrap()
}

/// Opens the directory at `dir` and returns the test collection.
pub(crate) fn open(dir: &Path, master: &MasterKey) -> (Database, Arc<Collection>) {
    let db = Database::open(dir, options(master)).unwrap();
    let collection = db.collection(DB, NAME).unwrap();
    (db, collection)
}

/// True if `dir` does not exist or is empty.
pub(crate) fn is_absent_or_empty(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}
