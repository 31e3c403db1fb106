//! Builders shared by the integration tests: the schema they use, batches whose vectors are
//! derived from key and tag (so a read can be checked row by row), dumps of a whole collection,
//! seeds, and copies of data directories.

use std::collections::BTreeMap;
use std::path::Path;

use quiver_core::{
    Column, ColumnData, DataType, FieldSpec, InsertBatch, Metric, PkValue, SchemaSpec, Value,
};
use quiver_engine::{
    Collection, Database, EngineError, MAX_TOPK_WINDOW, Options, QueryRequest, SearchRequest,
};

pub(crate) const DIM: usize = 8;

/// The schema of every test collection; the crash writer (`src/bin/crash_writer.rs`) declares
/// the same one.
pub(crate) fn schema() -> SchemaSpec {
    SchemaSpec {
        description: "integration test".to_owned(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("batch", DataType::Int64),
            FieldSpec::new("tag", DataType::VarChar { max_length: 64 }),
            FieldSpec::new("vec", DataType::FloatVector { dim: DIM as u32 }),
        ],
        enable_dynamic_field: false,
    }
}

/// Options without the background task, sealing a growing segment at `seal_rows` rows.
pub(crate) fn options(seal_rows: usize) -> Options {
    Options { seal_rows, maintenance_interval: None, ..Options::default() }
}

/// Rows with these keys, all in `batch` and with `tag`.
pub(crate) fn rows(ids: impl IntoIterator<Item = i64>, batch: i64, tag: &str) -> InsertBatch {
    let ids: Vec<i64> = ids.into_iter().collect();
    let vectors = ids.iter().flat_map(|id| vector(*id, tag)).collect();
    InsertBatch {
        columns: vec![
            ("id".to_owned(), Column::new(ColumnData::Int64(ids.clone()))),
            ("batch".to_owned(), Column::new(ColumnData::Int64(vec![batch; ids.len()]))),
            ("tag".to_owned(), Column::new(ColumnData::VarChar(vec![tag.to_owned(); ids.len()]))),
            ("vec".to_owned(), Column::new(ColumnData::FloatVector { dim: DIM, data: vectors })),
        ],
    }
}

pub(crate) fn pks(ids: impl IntoIterator<Item = i64>) -> Vec<PkValue> {
    ids.into_iter().map(PkValue::Int64).collect()
}

/// The vector of the row with key `id` written with `tag`. Must equal `vector` in
/// `src/bin/crash_writer.rs`.
pub(crate) fn vector(id: i64, tag: &str) -> Vec<f32> {
    let salt = tag.bytes().fold(0i64, |acc, b| acc.wrapping_mul(31).wrapping_add(i64::from(b)));
    (0..DIM as i64)
        .map(|k| {
            let x = id.wrapping_mul(7919).wrapping_add(salt).wrapping_add(k * 104_729);
            (x.rem_euclid(2001) - 1000) as f32 / 1000.0
        })
        .collect()
}

/// One stored row as the tests compare it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Stored {
    pub(crate) partition: String,
    pub(crate) batch: i64,
    pub(crate) tag: String,
}

/// Every visible row of the collection by key, read partition by partition with `query`.
///
/// Fails (with a description) when a key appears twice, a row lacks a field, a row's vector is
/// not the one derived from its key and tag (a row pieced together from different writes), or
/// `count` or `search` disagree with `query`.
pub(crate) fn dump(collection: &Collection) -> Result<BTreeMap<i64, Stored>, String> {
    let fields = ["batch".to_owned(), "tag".to_owned(), "vec".to_owned()];
    let mut all = BTreeMap::new();
    for partition in collection.partitions() {
        let names = [partition.clone()];
        let request = QueryRequest {
            filter: None,
            partitions: &names,
            output_fields: &fields,
            offset: 0,
            limit: None,
        };
        let found = collection.query(&request).map_err(|e| format!("query failed: {e}"))?;
        for row in found {
            let PkValue::Int64(id) = row.pk else {
                return Err(format!("key {} is not an Int64", row.pk));
            };
            let (batch, tag, vec) = match row.fields.as_slice() {
                [
                    (_, Value::Int64(batch)),
                    (_, Value::VarChar(tag)),
                    (_, Value::FloatVector(vec)),
                ] => (*batch, tag.clone(), vec.clone()),
                other => return Err(format!("row {id} has unexpected fields {other:?}")),
            };
            if vec != vector(id, &tag) {
                return Err(format!("row {id} (tag {tag:?}) has a vector of another write"));
            }
            let stored = Stored { partition: partition.clone(), batch, tag };
            if let Some(earlier) = all.insert(id, stored) {
                return Err(format!("key {id} is visible twice (also as {earlier:?})"));
            }
        }
    }
    let count = collection.count();
    if count != all.len() as u64 {
        return Err(format!("count() says {count} rows but query returned {}", all.len()));
    }
    // Search sees the same rows: as many hits as rows (up to its window), each one of them.
    let limit = all.len().clamp(1, MAX_TOPK_WINDOW);
    let queries = [vector(0, "probe")];
    let request = SearchRequest {
        vector_field: None,
        metric: Metric::L2,
        queries: &queries,
        limit,
        offset: 0,
        partitions: &[],
        output_fields: &[],
        filter: None,
        params: quiver_engine::SearchParams::default(),
        range: None,
    };
    let hits = collection.search(&request).map_err(|e| format!("search failed: {e}"))?;
    let hits = hits.first().map_or(&[][..], Vec::as_slice);
    if hits.len() != all.len().min(limit) {
        return Err(format!("search found {} of {} rows", hits.len(), all.len()));
    }
    if let Some(hit) =
        hits.iter().find(|h| !matches!(h.row.pk, PkValue::Int64(id) if all.contains_key(&id)))
    {
        return Err(format!("search found row {}, which query does not show", hit.row.pk));
    }
    Ok(all)
}

/// Opens a data directory that this process had open a moment ago.
///
/// The directory lock is an `flock` on `LOCK`, which belongs to the open file, and a child
/// process spawned by another test thread (the crash test) holds a copy of every descriptor
/// of this process from its fork until its exec: for that moment the lock of a database just
/// dropped is still held, and the open fails with `Locked`. So `Locked` is retried, briefly.
pub(crate) fn reopen(path: &Path, options: Options) -> Result<Database, EngineError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Database::open(path, options.clone()) {
            Err(EngineError::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// The seed of a randomized test: `QUIVER_TEST_SEED` if set, else one derived from the clock.
/// Tests name it in every assertion message, so a failure can be replayed.
pub(crate) fn seed() -> u64 {
    if let Some(seed) = std::env::var("QUIVER_TEST_SEED").ok().and_then(|s| s.parse().ok()) {
        return seed;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    nanos as u64
}

/// Copies the directory tree `from` into `to` (which must not exist yet).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy directory");
    for entry in std::fs::read_dir(from).expect("list directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// The key of a collection with an Int64 primary key.
pub(crate) fn int_key(pk: &quiver_core::PkValue) -> i64 {
    match pk {
        quiver_core::PkValue::Int64(v) => *v,
        quiver_core::PkValue::VarChar(_) => panic!("the collection has Int64 keys"),
    }
}

/// Waits until no sealed segment waits for an index build (two minutes at most).
pub(crate) fn wait_for_indexes(c: &quiver_engine::Collection) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while c.indexes().iter().any(|info| info.pending_rows > 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "index build did not finish: {:?}",
            c.indexes()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
