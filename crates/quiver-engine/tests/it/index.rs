//! Vector indexes through the engine: built in the background per sealed segment, used by
//! search with recall against exact search, persisted and reloaded without a rebuild,
//! rebuilt when their file is damaged, honoring deletes and filters, and checked parameters.

use std::sync::Arc;

use quiver_core::{
    Column, ColumnData, DataType, FieldSpec, InsertBatch, Metric, PkValue, SchemaSpec,
};
use quiver_engine::{
    Collection, Database, EngineError, IndexSpec, Options, RowFilter, SearchParams, SearchRequest,
    SegmentView,
};

use crate::support::{reopen, wait_for_indexes};

const DIM: usize = 32;
const ROWS: usize = 20_000;

fn options() -> Options {
    Options { maintenance_interval: None, ..Options::default() }
}

fn spec() -> SchemaSpec {
    SchemaSpec {
        description: String::new(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("bucket", DataType::Int64),
            FieldSpec::new("v", DataType::FloatVector { dim: DIM as u32 }),
        ],
        enable_dynamic_field: false,
    }
}

/// SplitMix64, for repeatable data without a dependency.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn uniform(state: &mut u64) -> f32 {
    (next(state) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
}

/// Clustered vectors (64 centres with noise), like the benchmark data.
fn vectors(n: usize, seed: u64) -> Vec<f32> {
    let mut state = 7;
    let centres: Vec<f32> = (0..64 * DIM).map(|_| uniform(&mut state) * 4.0).collect();
    let mut state = seed;
    let mut out = Vec::with_capacity(n * DIM);
    for _ in 0..n {
        let c = (next(&mut state) % 64) as usize;
        out.extend((0..DIM).map(|d| centres[c * DIM + d] + uniform(&mut state)));
    }
    out
}

fn insert(c: &Collection, first: usize, data: &[f32]) {
    let n = data.len() / DIM;
    for start in (0..n).step_by(5000) {
        let end = (start + 5000).min(n);
        let ids: Vec<i64> = (first + start..first + end).map(|i| i as i64).collect();
        let buckets = ids.iter().map(|id| id % 1000).collect();
        let batch = InsertBatch {
            columns: vec![
                ("id".to_owned(), Column::new(ColumnData::Int64(ids))),
                ("bucket".to_owned(), Column::new(ColumnData::Int64(buckets))),
                (
                    "v".to_owned(),
                    Column::new(ColumnData::FloatVector {
                        dim: DIM,
                        data: data[start * DIM..end * DIM].to_vec(),
                    }),
                ),
            ],
        };
        c.insert(None, batch).unwrap();
    }
}

fn hnsw(metric: &str) -> IndexSpec {
    let params =
        [("M".to_owned(), "16".to_owned()), ("efConstruction".to_owned(), "100".to_owned())];
    IndexSpec::parse("v", "", "HNSW", metric, &params).unwrap()
}

/// A collection of ROWS rows in one sealed segment, indexed.
fn indexed(db: &Database, name: &str, metric: &str) -> Arc<Collection> {
    let c = db.create_collection("default", name, spec()).unwrap();
    insert(&c, 0, &vectors(ROWS, 1));
    c.flush().unwrap();
    c.create_index(hnsw(metric)).unwrap();
    wait_for_indexes(&c);
    c
}

fn request<'a>(queries: &'a [Vec<f32>], metric: Metric, k: usize) -> SearchRequest<'a> {
    SearchRequest {
        vector_field: None,
        metric,
        queries,
        limit: k,
        offset: 0,
        partitions: &[],
        output_fields: &[],
        filter: None,
        params: SearchParams::default(),
        range: None,
    }
}

fn queries(n: usize) -> Vec<Vec<f32>> {
    vectors(n, 99).chunks(DIM).map(<[f32]>::to_vec).collect()
}

fn keys(hits: &[quiver_engine::Hit]) -> Vec<i64> {
    hits.iter().map(|h| crate::support::int_key(&h.row.pk)).collect()
}

/// Exact results through a collection without index over the same rows.
fn exact(db: &Database, name: &str, data: &[f32]) -> Arc<Collection> {
    let c = db.create_collection("default", name, spec()).unwrap();
    insert(&c, 0, data);
    c.flush().unwrap();
    c
}

fn recall(got: &[Vec<quiver_engine::Hit>], truth: &[Vec<quiver_engine::Hit>]) -> f64 {
    let mut found = 0;
    let mut total = 0;
    for (g, t) in got.iter().zip(truth) {
        let t = keys(t);
        total += t.len();
        found += keys(g).iter().filter(|id| t.contains(id)).count();
    }
    found as f64 / total.max(1) as f64
}

#[test]
fn hnsw_recall_against_exact_search_at_default_ef() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    for (name, metric, m) in
        [("l2", "L2", Metric::L2), ("ip", "IP", Metric::Ip), ("cos", "COSINE", Metric::Cosine)]
    {
        let c = indexed(&db, name, metric);
        let info = &c.indexes()[0];
        assert_eq!((info.indexed_rows, info.pending_rows), (ROWS as u64, 0));
        let truth_c = exact(&db, &format!("{name}_exact"), &vectors(ROWS, 1));
        let qs = queries(200);
        let got = c.search(&request(&qs, m, 10)).unwrap();
        let truth = truth_c.search(&request(&qs, m, 10)).unwrap();
        let r = recall(&got, &truth);
        assert!(r >= 0.95, "{metric}: recall@10 {r}");
        // The narrowest beam loses some neighbours: proof that the graph, not a scan, answered.
        let narrow = SearchRequest {
            params: SearchParams { ef: Some(10), nprobe: None },
            ..request(&qs, m, 10)
        };
        let r = recall(&c.search(&narrow).unwrap(), &truth);
        assert!(r < 1.0, "{metric}: ef=10 is exact ({r}): the index was not used");
    }
}

#[test]
fn index_is_reloaded_without_rebuild_and_results_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let qs = queries(50);
    let before = {
        let db = reopen(dir.path(), options()).unwrap();
        let c = indexed(&db, "c", "L2");
        c.search(&request(&qs, Metric::L2, 10)).unwrap()
    };
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.collection("default", "c").unwrap();
    // Loaded at open: nothing is pending, so nothing is rebuilt.
    assert_eq!(c.indexes()[0].pending_rows, 0);
    assert_eq!(c.search(&request(&qs, Metric::L2, 10)).unwrap(), before);
}

#[test]
fn a_corrupt_index_file_is_rebuilt_and_the_collection_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let qs = queries(50);
    {
        let db = reopen(dir.path(), options()).unwrap();
        indexed(&db, "c", "L2");
    }
    let segments = dir.path().join("collections/1/segments");
    let index_file = std::fs::read_dir(&segments)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "qvi"))
        .expect("an index file");
    let mut bytes = std::fs::read(&index_file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&index_file, &bytes).unwrap();

    let db = reopen(dir.path(), options()).unwrap();
    let c = db.collection("default", "c").unwrap();
    // Searchable at once (scanned until the index is rebuilt), then rebuilt in the background.
    let exact_results = c.search(&request(&qs, Metric::L2, 10)).unwrap();
    wait_for_indexes(&c);
    let rebuilt = std::fs::read(&index_file).unwrap();
    assert_ne!(rebuilt, bytes, "the damaged file was replaced");
    let r = recall(&c.search(&request(&qs, Metric::L2, 10)).unwrap(), &exact_results);
    assert!(r >= 0.95, "recall after rebuild {r}");
    drop(c);
    drop(db);
    let db = reopen(dir.path(), options()).unwrap();
    assert_eq!(db.collection("default", "c").unwrap().indexes()[0].pending_rows, 0);
}

#[test]
fn deleted_rows_are_never_returned_by_an_index_search() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = indexed(&db, "c", "L2");
    let qs = queries(20);
    let first = c.search(&request(&qs, Metric::L2, 10)).unwrap();
    let doomed: Vec<PkValue> =
        first.iter().flat_map(|hits| keys(hits)).map(PkValue::Int64).collect();
    c.delete(&doomed).unwrap();
    let after = c.search(&request(&qs, Metric::L2, 10)).unwrap();
    for hits in &after {
        assert_eq!(hits.len(), 10, "deletes do not shrink the result");
        for id in keys(hits) {
            assert!(!doomed.contains(&PkValue::Int64(id)), "deleted row {id} returned");
        }
    }
}

/// Rows whose bucket (id % 1000) is below a threshold pass.
struct BucketBelow(i64);

impl RowFilter for BucketBelow {
    fn evaluate(&self, segment: &SegmentView<'_>) -> Result<Vec<bool>, EngineError> {
        let index = segment.schema.field_index("bucket").unwrap();
        match &segment.columns[index].data {
            ColumnData::Int64(v) => Ok(v.iter().map(|b| *b < self.0).collect()),
            _ => panic!("bucket is Int64"),
        }
    }
}

#[test]
fn filtered_search_keeps_recall_at_every_pass_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = indexed(&db, "c", "L2");
    let truth_c = exact(&db, "exact", &vectors(ROWS, 1));
    let qs = queries(100);
    for per_mille in [1, 10, 100, 500, 1000] {
        let filter = BucketBelow(per_mille);
        let with_filter = |c: &Collection| {
            c.search(&SearchRequest { filter: Some(&filter), ..request(&qs, Metric::L2, 10) })
                .unwrap()
        };
        let got = with_filter(&c);
        let truth = with_filter(&truth_c);
        for hits in &got {
            assert!(keys(hits).iter().all(|id| id % 1000 < per_mille), "filter honored");
        }
        let r = recall(&got, &truth);
        assert!(r >= 0.95, "pass ratio {}: recall@10 {r}", per_mille as f64 / 1000.0);
    }
}

#[test]
fn index_definitions_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.create_collection("default", "c", spec()).unwrap();
    let m1 = [("M".to_owned(), "1".to_owned())];
    let err = IndexSpec::parse("v", "", "HNSW", "L2", &m1).unwrap_err().to_string();
    assert!(err.contains('M') && err.contains("[2, 2048]"), "{err}");
    let unknown = [("nlist".to_owned(), "8".to_owned())];
    let err = IndexSpec::parse("v", "", "HNSW", "L2", &unknown).unwrap_err().to_string();
    assert!(err.contains("nlist") && err.contains("efConstruction"), "{err}");
    assert!(IndexSpec::parse("v", "", "DISKANN", "L2", &[]).is_err());
    assert!(IndexSpec::parse("v", "", "HNSW", "HAMMING", &[]).is_err());
    let on_scalar = IndexSpec::parse("bucket", "", "HNSW", "L2", &[]).unwrap();
    assert!(c.create_index(on_scalar).is_err());
    c.create_index(hnsw("L2")).unwrap();
    c.create_index(hnsw("L2")).unwrap();
    assert!(matches!(c.create_index(hnsw("IP")), Err(EngineError::IndexExists { .. })));
    let q = queries(1);
    let err = c.search(&request(&q, Metric::Ip, 10)).unwrap_err();
    assert!(matches!(err, EngineError::MetricMismatch { .. }), "{err}");
    let small_ef = SearchParams { ef: Some(5), nprobe: None };
    insert(&c, 0, &vectors(100, 3));
    c.flush().unwrap();
    wait_for_indexes(&c);
    let err = c
        .search(&SearchRequest { params: small_ef, ..request(&q, Metric::L2, 10) })
        .unwrap_err()
        .to_string();
    assert!(err.contains("ef"), "{err}");
    c.drop_index("v").unwrap();
    assert!(c.indexes().is_empty());
    assert!(c.search(&request(&q, Metric::Ip, 10)).is_ok(), "no index: any metric scans");
}

#[test]
fn autoindex_scans_small_segments_and_indexes_large_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.create_collection("default", "c", spec()).unwrap();
    insert(&c, 0, &vectors(500, 5));
    c.flush().unwrap();
    c.create_index(IndexSpec::parse("v", "", "AUTOINDEX", "L2", &[]).unwrap()).unwrap();
    let info = &c.indexes()[0];
    assert_eq!((info.indexed_rows, info.pending_rows), (500, 0), "small segment: no build");
    insert(&c, 500, &vectors(ROWS, 6));
    c.flush().unwrap();
    wait_for_indexes(&c);
    let files = std::fs::read_dir(dir.path().join("collections/1/segments"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "qvi"))
        .count();
    assert_eq!(files, 1, "one index file, for the large segment");
    // The definition survives a reopen (its implied build parameters are not stored).
    let before = c.indexes()[0].spec.clone();
    drop(c);
    drop(db);
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.collection("default", "c").unwrap();
    assert_eq!(c.indexes()[0].spec, before);
}

#[test]
fn ivf_recall_at_an_eighth_of_the_lists_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let qs = queries(200);
    let mut before = Vec::new();
    {
        let db = reopen(dir.path(), options()).unwrap();
        let truth_c = exact(&db, "exact", &vectors(ROWS, 1));
        let truth = truth_c.search(&request(&qs, Metric::L2, 10)).unwrap();
        for index_type in ["IVF_FLAT", "IVF_SQ8"] {
            let name = index_type.to_ascii_lowercase();
            let c = db.create_collection("default", &name, spec()).unwrap();
            insert(&c, 0, &vectors(ROWS, 1));
            c.flush().unwrap();
            let nlist = [("nlist".to_owned(), "64".to_owned())];
            c.create_index(IndexSpec::parse("v", "", index_type, "L2", &nlist).unwrap()).unwrap();
            wait_for_indexes(&c);
            let eighth = SearchParams { ef: None, nprobe: Some(8) };
            let got = c.search(&SearchRequest { params: eighth, ..request(&qs, Metric::L2, 10) });
            let got = got.unwrap();
            let r = recall(&got, &truth);
            assert!(r >= 0.9, "{index_type}: recall@10 {r} at nprobe = nlist/8");
            let too_many = SearchParams { ef: None, nprobe: Some(65) };
            let err = c
                .search(&SearchRequest { params: too_many, ..request(&qs, Metric::L2, 10) })
                .unwrap_err()
                .to_string();
            assert!(err.contains("nprobe") && err.contains("64"), "{err}");
            before.push(got);
        }
    }
    let db = reopen(dir.path(), options()).unwrap();
    for (index_type, before) in ["IVF_FLAT", "IVF_SQ8"].iter().zip(before) {
        let c = db.collection("default", &index_type.to_ascii_lowercase()).unwrap();
        assert_eq!(c.indexes()[0].pending_rows, 0, "{index_type} reloaded, not rebuilt");
        let eighth = SearchParams { ef: None, nprobe: Some(8) };
        let after = c.search(&SearchRequest { params: eighth, ..request(&qs, Metric::L2, 10) });
        assert_eq!(after.unwrap(), before, "{index_type}: identical results after reopen");
    }
}
