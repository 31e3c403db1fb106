//! The embedded API's contract, one behavior per test: DDL and its errors, the data
//! directory lock, search semantics (metrics, offset, several queries, range search, deletes,
//! partitions, output fields, dynamic fields) and the bounds every request is checked against.

use std::sync::Arc;

use quiver_core::{
    Column, ColumnData, DataType, FieldSpec, InsertBatch, Metric, PkValue, SchemaSpec, Value,
    batch_from_json_rows,
};
use quiver_engine::{
    Collection, Database, EngineError, Options, QueryRequest, RowFilter, SearchRange,
    SearchRequest, SegmentView,
};
use serde_json::json;

use crate::support::{int_key, reopen};

fn options() -> Options {
    Options { maintenance_interval: None, ..Options::default() }
}

fn spec(dim: u32) -> SchemaSpec {
    SchemaSpec {
        description: String::new(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("tag", DataType::Int64),
            FieldSpec::new("v", DataType::FloatVector { dim }),
        ],
        enable_dynamic_field: true,
    }
}

fn rows(ids: std::ops::Range<i64>, vector: impl Fn(i64) -> Vec<f32>) -> InsertBatch {
    let ids: Vec<i64> = ids.collect();
    let tags = ids.iter().map(|id| id % 10).collect();
    let dim = vector(0).len();
    let data = ids.iter().flat_map(|id| vector(*id)).collect();
    InsertBatch {
        columns: vec![
            ("id".to_owned(), Column::new(ColumnData::Int64(ids))),
            ("tag".to_owned(), Column::new(ColumnData::Int64(tags))),
            ("v".to_owned(), Column::new(ColumnData::FloatVector { dim, data })),
        ],
    }
}

/// 100 rows on a line: row `i` has vector `[i, 0]`.
fn line(db: &Database, name: &str) -> Arc<Collection> {
    let c = db.create_collection("default", name, spec(2)).unwrap();
    c.insert(None, rows(0..100, |id| vec![id as f32, 0.0])).unwrap();
    c
}

fn search<'a>(queries: &'a [Vec<f32>], limit: usize) -> SearchRequest<'a> {
    SearchRequest {
        vector_field: None,
        metric: Metric::L2,
        queries,
        limit,
        offset: 0,
        partitions: &[],
        output_fields: &[],
        filter: None,
        params: quiver_engine::SearchParams::default(),
        range: None,
    }
}

fn ids(hits: &[quiver_engine::Hit]) -> Vec<i64> {
    hits.iter().map(|h| int_key(&h.row.pk)).collect()
}

#[test]
fn default_database_exists_and_database_ddl_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    assert_eq!(db.list_databases(), vec!["default".to_owned()]);
    db.create_database("analytics").unwrap();
    assert!(matches!(db.create_database("analytics"), Err(EngineError::DatabaseExists { .. })));
    assert!(matches!(db.create_database("bad-name"), Err(EngineError::Model(_))));
    assert!(matches!(db.drop_database("default"), Err(EngineError::DefaultDatabase)));
    db.create_collection("analytics", "c", spec(2)).unwrap();
    assert!(matches!(db.drop_database("analytics"), Err(EngineError::DatabaseNotEmpty { .. })));
    db.drop_collection("analytics", "c").unwrap();
    db.drop_database("analytics").unwrap();
    assert!(matches!(db.drop_database("analytics"), Err(EngineError::DatabaseNotFound { .. })));
}

#[test]
fn collections_are_scoped_by_database_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = reopen(dir.path(), options()).unwrap();
        db.create_database("other").unwrap();
        line(&db, "points");
        db.create_collection("other", "points", spec(3)).unwrap();
        assert!(matches!(
            db.create_collection("default", "points", spec(2)),
            Err(EngineError::CollectionExists { .. })
        ));
        db.rename_collection("default", "points", "default", "renamed").unwrap();
    }
    let db = reopen(dir.path(), options()).unwrap();
    assert_eq!(db.list_collections("default").unwrap(), vec!["renamed".to_owned()]);
    assert_eq!(db.list_collections("other").unwrap(), vec!["points".to_owned()]);
    assert_eq!(db.collection("default", "renamed").unwrap().count(), 100);
    assert!(matches!(
        db.collection("default", "points"),
        Err(EngineError::CollectionNotFound { .. })
    ));
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _db = Database::open(dir.path(), options()).unwrap();
    assert!(matches!(Database::open(dir.path(), options()), Err(EngineError::Locked { .. })));
}

#[test]
fn invalid_schema_is_refused_with_the_field_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let mut bad = spec(2);
    bad.fields[2].data_type = DataType::FloatVector { dim: 40_000 };
    let err = db.create_collection("default", "c", bad).unwrap_err().to_string();
    assert!(err.contains("\"v\"") && err.contains("1..=32768"), "{err}");
    assert!(db.list_collections("default").unwrap().is_empty());
}

#[test]
fn search_returns_nearest_first_with_offset_and_several_queries() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = line(&db, "c");
    let queries = vec![vec![10.2, 0.0], vec![90.0, 0.0]];
    let hits = c.search(&search(&queries, 3)).unwrap();
    assert_eq!(ids(&hits[0]), vec![10, 11, 9]);
    assert_eq!(ids(&hits[1]), vec![90, 89, 91]);
    assert!((hits[0][0].score - 0.04).abs() < 1e-5, "L2 is reported squared");
    let with_offset = c.search(&SearchRequest { offset: 1, ..search(&queries, 2) }).unwrap();
    assert_eq!(ids(&with_offset[0]), vec![11, 9]);
}

#[test]
fn ip_and_cosine_report_similarities_larger_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.create_collection("default", "c", spec(2)).unwrap();
    c.insert(None, rows(1..4, |id| vec![id as f32, 1.0])).unwrap();
    let q = vec![vec![1.0, 0.0]];
    let ip = c.search(&SearchRequest { metric: Metric::Ip, ..search(&q, 3) }).unwrap();
    assert_eq!(ids(&ip[0]), vec![3, 2, 1]);
    assert_eq!(ip[0][0].score, 3.0);
    let cos = c.search(&SearchRequest { metric: Metric::Cosine, ..search(&q, 3) }).unwrap();
    assert_eq!(ids(&cos[0]), vec![3, 2, 1]);
    assert!((cos[0][0].score - 3.0 / 10f32.sqrt()).abs() < 1e-6);
}

#[test]
fn deleted_rows_are_never_returned_and_do_not_shrink_results() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = line(&db, "c");
    c.flush().unwrap();
    let deleted: Vec<PkValue> = (8..13).map(PkValue::Int64).collect();
    assert_eq!(c.delete(&deleted).unwrap().count, 5);
    let q = vec![vec![10.0, 0.0]];
    // Equal distances come back in storage order.
    assert_eq!(ids(&c.search(&search(&q, 4)).unwrap()[0]), vec![7, 13, 6, 14]);
    assert!(c.get(&deleted, &[]).unwrap().is_empty());
    assert_eq!(c.count(), 95);
}

#[test]
fn range_search_follows_milvus_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = line(&db, "c");
    let q = vec![vec![50.0, 0.0]];
    // L2: range_filter <= distance < radius; distances are squared: 1, 4, 9, ...
    let range = SearchRange { radius: 9.0, range_filter: Some(1.0) };
    let hits = c.search(&SearchRequest { range: Some(range), ..search(&q, 10) }).unwrap();
    let mut got = ids(&hits[0]);
    got.sort_unstable();
    assert_eq!(got, vec![48, 49, 51, 52]);
    let inverted = SearchRange { radius: 1.0, range_filter: Some(9.0) };
    let err = c.search(&SearchRequest { range: Some(inverted), ..search(&q, 10) }).unwrap_err();
    assert!(err.to_string().contains("range_filter must be less than radius"), "{err}");
}

#[test]
fn search_requests_are_bounded_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = line(&db, "c");
    let q = vec![vec![1.0, 0.0]];
    let too_far = SearchRequest { offset: 16_000, ..search(&q, 385) };
    assert!(c.search(&too_far).unwrap_err().to_string().contains("16384"));
    assert!(c.search(&SearchRequest { offset: 16_000, ..search(&q, 384) }).is_ok());
    let wrong_dim = vec![vec![1.0, 0.0, 0.0]];
    assert!(c.search(&search(&wrong_dim, 1)).unwrap_err().to_string().contains("dimension"));
    let nan = vec![vec![f32::NAN, 0.0]];
    assert!(c.search(&search(&nan, 1)).unwrap_err().to_string().contains("NaN"));
    assert!(c.search(&search(&[], 1)).is_err());
    assert!(c.search(&search(&q, 0)).is_err());
    let unknown = ["no-such-field".to_owned()];
    let err = c.search(&SearchRequest { output_fields: &unknown, ..search(&q, 1) }).unwrap_err();
    assert!(err.to_string().contains("no-such-field"), "{err}");
    let parts = ["nope".to_owned()];
    let err = c.search(&SearchRequest { partitions: &parts, ..search(&q, 1) }).unwrap_err();
    assert!(matches!(err, EngineError::PartitionNotFound { .. }), "{err}");
}

#[test]
fn partitions_scope_writes_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.create_collection("default", "c", spec(2)).unwrap();
    c.create_partition("hot").unwrap();
    assert!(matches!(c.create_partition("hot"), Err(EngineError::PartitionExists { .. })));
    c.insert(Some("hot"), rows(0..5, |id| vec![id as f32, 0.0])).unwrap();
    c.insert(None, rows(5..10, |id| vec![id as f32, 0.0])).unwrap();
    let hot = ["hot".to_owned()];
    let q = vec![vec![9.0, 0.0]];
    let hits = c.search(&SearchRequest { partitions: &hot, ..search(&q, 10) }).unwrap();
    assert_eq!(ids(&hits[0]), vec![4, 3, 2, 1, 0]);
    assert_eq!(c.partitions(), vec!["_default".to_owned(), "hot".to_owned()]);
    assert!(matches!(c.drop_partition("_default"), Err(EngineError::DefaultPartition)));
    c.drop_partition("hot").unwrap();
    assert_eq!(c.count(), 5);
    assert!(matches!(
        c.insert(Some("hot"), rows(20..21, |_| vec![0.0, 0.0])),
        Err(EngineError::PartitionNotFound { .. })
    ));
}

#[test]
fn duplicate_keys_are_refused_on_insert_and_replaced_on_upsert() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = line(&db, "c");
    let err = c.insert(None, rows(99..101, |_| vec![0.0, 0.0])).unwrap_err();
    assert!(matches!(err, EngineError::DuplicatePrimaryKey { .. }), "{err}");
    assert_eq!(c.count(), 100, "the failed batch left nothing behind");
    c.upsert(None, rows(99..101, |_| vec![-1.0, 0.0])).unwrap();
    assert_eq!(c.count(), 101);
    let got = c.get(&[PkValue::Int64(99)], &["v".to_owned()]).unwrap();
    assert_eq!(got[0].fields, vec![("v".to_owned(), Value::FloatVector(vec![-1.0, 0.0]))]);
}

#[test]
fn auto_id_assigns_unique_increasing_keys_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut auto = spec(2);
    auto.fields[0].auto_id = true;
    let json_rows = |n: usize| -> Vec<serde_json::Value> {
        (0..n).map(|i| json!({"tag": i, "v": [i as f32, 0.0]})).collect()
    };
    let first = {
        let db = reopen(dir.path(), options()).unwrap();
        let c = db.create_collection("default", "c", auto).unwrap();
        let batch = batch_from_json_rows(c.schema(), &json_rows(3)).unwrap();
        c.insert(None, batch).unwrap().pks
    };
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.collection("default", "c").unwrap();
    let batch = batch_from_json_rows(c.schema(), &json_rows(2)).unwrap();
    let second = c.insert(None, batch).unwrap().pks;
    let keys: Vec<i64> = first.iter().chain(&second).map(int_key).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    assert_eq!(c.count(), 5);
}

#[test]
fn dynamic_fields_are_kept_and_readable_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.create_collection("default", "c", spec(2)).unwrap();
    let input = vec![json!({"id": 1, "tag": 3, "v": [0.0, 1.0], "color": "red", "size": 2})];
    c.insert(None, batch_from_json_rows(c.schema(), &input).unwrap()).unwrap();
    c.flush().unwrap();
    let got = c.get(&[PkValue::Int64(1)], &["color".to_owned(), "tag".to_owned()]).unwrap();
    assert_eq!(
        got[0].fields,
        vec![
            ("color".to_owned(), Value::Json("\"red\"".to_owned())),
            ("tag".to_owned(), Value::Int64(3)),
        ]
    );
}

struct TagIs(i64);

impl RowFilter for TagIs {
    fn evaluate(&self, segment: &SegmentView<'_>) -> Result<Vec<bool>, EngineError> {
        let index = segment.schema.field_index("tag").expect("tag field");
        match &segment.columns[index].data {
            ColumnData::Int64(tags) => Ok(tags.iter().map(|t| *t == self.0).collect()),
            _ => Ok(vec![false; segment.num_rows]),
        }
    }
}

#[test]
fn a_row_filter_restricts_search_and_query() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = line(&db, "c");
    c.flush().unwrap();
    c.insert(None, rows(100..120, |id| vec![id as f32, 0.0])).unwrap();
    let filter = TagIs(3);
    let q = vec![vec![0.0, 0.0]];
    let hits = c.search(&SearchRequest { filter: Some(&filter), ..search(&q, 3) }).unwrap();
    assert_eq!(ids(&hits[0]), vec![3, 13, 23]);
    let req = QueryRequest {
        filter: Some(&filter),
        partitions: &[],
        output_fields: &[],
        offset: 10,
        limit: Some(5),
    };
    let rows: Vec<i64> =
        c.query(&req).unwrap().iter().map(|r| crate::support::int_key(&r.pk)).collect();
    assert_eq!(rows, vec![103, 113]);
}

#[test]
fn concurrent_writers_are_all_acknowledged_and_visible() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.create_collection("default", "c", spec(2)).unwrap();
    std::thread::scope(|scope| {
        for writer in 0..8i64 {
            let c = &c;
            scope.spawn(move || {
                for batch in 0..25 {
                    let start = writer * 1000 + batch * 10;
                    c.insert(None, rows(start..start + 10, |id| vec![id as f32, 1.0])).unwrap();
                }
            });
        }
    });
    assert_eq!(c.count(), 8 * 25 * 10);
    drop(c);
    drop(db);
    let db = reopen(dir.path(), options()).unwrap();
    assert_eq!(db.collection("default", "c").unwrap().count(), 2000);
}

#[test]
fn compaction_purges_deleted_rows_and_keeps_results() {
    let dir = tempfile::tempdir().unwrap();
    // Without a retention window, compaction purges every checkpointed deletion.
    let options = || Options { trash_retention: std::time::Duration::ZERO, ..options() };
    let db = reopen(dir.path(), options()).unwrap();
    let c = line(&db, "c");
    c.flush().unwrap();
    let deleted: Vec<PkValue> = (0..50).map(PkValue::Int64).collect();
    let lsn = c.delete(&deleted).unwrap().lsn;
    let q = vec![vec![0.0, 0.0]];
    let before = c.search(&search(&q, 5)).unwrap();
    // A retention horizon below the delete keeps the deleted rows in the files.
    assert_eq!(c.compact_through(lsn - 1).unwrap().rows_purged, 0);
    let stats = c.compact().unwrap();
    assert_eq!(stats.rows_purged, 50);
    assert_eq!(c.search(&search(&q, 5)).unwrap(), before);
    drop(c);
    drop(db);
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.collection("default", "c").unwrap();
    assert_eq!(c.count(), 50);
    assert_eq!(c.search(&search(&q, 5)).unwrap(), before);
}

#[test]
fn aliases_resolve_swap_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options()).unwrap();
    line(&db, "blue");
    db.create_collection("default", "green", spec(2)).unwrap();
    db.create_alias("default", "live", "blue").unwrap();
    assert_eq!(db.collection("default", "live").unwrap().count(), 100);
    assert!(db.has_collection("default", "live").unwrap());
    assert_eq!(db.describe_alias("default", "live").unwrap(), "blue");
    assert_eq!(db.collection_info("default", "live").unwrap().name, "blue");

    // Blue-green swap: the alias moves in one catalog write.
    db.alter_alias("default", "live", "green").unwrap();
    assert_eq!(db.collection("default", "live").unwrap().count(), 0);
    assert_eq!(db.list_aliases("default", Some("green")).unwrap(), ["live"]);
    assert!(db.list_aliases("default", Some("blue")).unwrap().is_empty());

    drop(db);
    let db = reopen(dir.path(), options()).unwrap();
    assert_eq!(db.describe_alias("default", "live").unwrap(), "green");
    assert_eq!(db.list_aliases("default", None).unwrap(), ["live"]);
}

#[test]
fn alias_errors_are_typed_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options()).unwrap();
    line(&db, "a");
    db.create_alias("default", "x", "a").unwrap();
    let exists = db.create_alias("default", "x", "a").unwrap_err();
    assert!(matches!(exists, EngineError::AliasExists { .. }), "{exists}");
    let conflict = db.create_alias("default", "a", "a").unwrap_err();
    assert!(matches!(conflict, EngineError::NameConflict { kind: "collection", .. }), "{conflict}");
    let conflict = db.create_collection("default", "x", spec(2)).unwrap_err();
    assert!(matches!(conflict, EngineError::NameConflict { kind: "alias", .. }), "{conflict}");
    let missing = db.drop_alias("default", "nope").unwrap_err();
    assert!(matches!(missing, EngineError::AliasNotFound { .. }), "{missing}");
    let missing = db.create_alias("default", "y", "nope").unwrap_err();
    assert!(matches!(missing, EngineError::CollectionNotFound { .. }), "{missing}");
    assert!(db.create_alias("default", "1bad", "a").is_err());
    // A collection with aliases cannot be dropped, and not through an alias either.
    let has = db.drop_collection("default", "a").unwrap_err();
    assert!(matches!(has, EngineError::CollectionHasAliases { .. }), "{has}");
    assert!(db.drop_collection("default", "x").is_err());
    assert_eq!(db.collection("default", "a").unwrap().count(), 100);
    db.drop_alias("default", "x").unwrap();
    db.drop_collection("default", "a").unwrap();
    assert!(db.list_aliases("default", None).unwrap().is_empty());
}

#[test]
fn load_state_and_properties_are_recorded_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options()).unwrap();
    line(&db, "c");
    let info = db.collection_info("default", "c").unwrap();
    assert!(!info.loaded, "a new collection starts released, as in Milvus");
    assert!(info.created_ms > 1_700_000_000_000);
    db.set_loaded("default", "c", true).unwrap();
    let set = [("collection.ttl.seconds".to_owned(), "60".to_owned())];
    db.alter_properties("default", "c", &set, &[]).unwrap();
    drop(db);
    let db = reopen(dir.path(), options()).unwrap();
    let info = db.collection_info("default", "c").unwrap();
    assert!(info.loaded);
    assert_eq!(info.properties, set);
    db.alter_properties("default", "c", &[], &["collection.ttl.seconds".to_owned()]).unwrap();
    assert!(db.collection_info("default", "c").unwrap().properties.is_empty());
    let too_long = [("k".to_owned(), "v".repeat(5000))];
    assert!(db.alter_properties("default", "c", &too_long, &[]).is_err());
}
