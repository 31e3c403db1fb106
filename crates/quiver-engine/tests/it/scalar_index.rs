//! Scalar indexes (INVERTED, STL_SORT) through the engine: filters give the same rows with
//! and without them over sealed and growing data, they are persisted and reloaded without a
//! rebuild, a damaged file is rebuilt, and a field of the wrong type is refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use quiver_core::{DataType, FieldSpec, SchemaSpec, batch_from_json_rows};
use quiver_engine::{Collection, Database, FilterLimits, IndexSpec, Options, QueryRequest};
use serde_json::json;

use crate::support::{reopen, wait_for_indexes};

const ROWS: i64 = 3000;
const SEALED: i64 = 2000;

const FILTERS: &[&str] = &[
    "age == 17",
    "age != 17",
    "age > 90 and age < 95",
    "age >= 10 and age <= 12",
    "5 < age < 8",
    "age in [1, 2, 3, 99]",
    "age not in [1, 2, 3]",
    "age < 3 or name == \"n7\"",
    "not (age > 2)",
    "age is null",
    "age is not null and score < 3.5",
    "score >= 2.5 and score <= 2.75",
    "score == 1.5",
    "name == \"n42\"",
    "name in [\"n1\", \"n2\", \"missing\"]",
    "name like \"n1%\"",
    "name like \"%3\"",
    "name > \"n98\"",
    "name is null",
    "flag",
    "not flag",
    "flag == false and age < 50",
];

fn options() -> Options {
    Options { maintenance_interval: None, ..Options::default() }
}

fn schema() -> SchemaSpec {
    let nullable = |spec: FieldSpec| FieldSpec { nullable: true, ..spec };
    SchemaSpec {
        description: String::new(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            nullable(FieldSpec::new("age", DataType::Int64)),
            nullable(FieldSpec::new("name", DataType::VarChar { max_length: 16 })),
            FieldSpec::new("flag", DataType::Bool),
            FieldSpec::new("score", DataType::Double),
            FieldSpec::new("v", DataType::FloatVector { dim: 2 }),
        ],
        enable_dynamic_field: false,
    }
}

/// `SEALED` rows in a sealed segment and the rest growing; every 13th age and every 17th
/// name is null.
fn collection(db: &Database) -> std::sync::Arc<Collection> {
    let c = db.create_collection("default", "c", schema()).unwrap();
    let rows: Vec<serde_json::Value> = (0..ROWS)
        .map(|id| {
            let age = if id % 13 == 0 { json!(null) } else { json!(id % 100) };
            let name = if id % 17 == 0 { json!(null) } else { json!(format!("n{}", id % 500)) };
            json!({
                "id": id, "age": age, "name": name, "flag": id % 3 == 0,
                "score": (id % 16) as f64 / 4.0, "v": [id as f32, 0.0],
            })
        })
        .collect();
    let (sealed, growing) = rows.split_at(SEALED as usize);
    c.insert(None, batch_from_json_rows(c.schema(), sealed).unwrap()).unwrap();
    c.flush().unwrap();
    c.insert(None, batch_from_json_rows(c.schema(), growing).unwrap()).unwrap();
    c
}

fn scalar(field: &str, index_type: &str) -> IndexSpec {
    IndexSpec::parse(field, "", index_type, "", &[]).unwrap()
}

fn create_indexes(c: &Collection) {
    c.create_index(scalar("age", "STL_SORT")).unwrap();
    c.create_index(scalar("name", "INVERTED")).unwrap();
    c.create_index(scalar("flag", "INVERTED")).unwrap();
    c.create_index(scalar("score", "STL_SORT")).unwrap();
}

/// Per filter: the matching ids and the count.
fn results(c: &Collection) -> Vec<(Vec<i64>, u64)> {
    FILTERS
        .iter()
        .map(|text| {
            let filter = c.compile_filter(text, &HashMap::new(), &FilterLimits::default()).unwrap();
            let req = QueryRequest {
                filter: Some(&filter),
                partitions: &[],
                output_fields: &[],
                offset: 0,
                limit: None,
            };
            let ids = c
                .query(&req)
                .unwrap()
                .into_iter()
                .map(|row| crate::support::int_key(&row.pk))
                .collect();
            (ids, c.count_matching(&filter, &[]).unwrap())
        })
        .collect()
}

fn index_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "qvi") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn filters_give_the_same_rows_with_and_without_scalar_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = collection(&db);
    let unindexed = results(&c);
    create_indexes(&c);
    wait_for_indexes(&c);
    for info in c.indexes() {
        assert_eq!(info.indexed_rows, SEALED as u64, "{info:?}");
        assert_eq!((info.pending_rows, info.failed_rows), (0, 0), "{info:?}");
        assert_eq!(info.total_rows, ROWS as u64);
    }
    // One file per index of the sealed segment.
    assert_eq!(index_files(dir.path()).len(), 4);
    let indexed = results(&c);
    for ((text, before), after) in FILTERS.iter().zip(&unindexed).zip(&indexed) {
        assert_eq!(before, after, "{text}");
    }
    assert!(unindexed.iter().all(|(ids, count)| ids.len() as u64 == *count));
    // Delete by filter uses the indexes too, and deletes the same rows.
    let filter = c
        .compile_filter(
            "age in [5, 6] or name like \"n49%\"",
            &HashMap::new(),
            &FilterLimits::default(),
        )
        .unwrap();
    let expected = c.count_matching(&filter, &[]).unwrap();
    assert_eq!(c.delete_by_filter(&filter).unwrap().count, expected);
    assert_eq!(c.count_matching(&filter, &[]).unwrap(), 0);
}

#[test]
fn scalar_indexes_are_reloaded_without_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let db = reopen(dir.path(), options()).unwrap();
        let c = collection(&db);
        create_indexes(&c);
        wait_for_indexes(&c);
        results(&c)
    };
    let files: Vec<(PathBuf, std::time::SystemTime)> = index_files(dir.path())
        .into_iter()
        .map(|p| {
            let modified = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, modified)
        })
        .collect();
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.collection("default", "c").unwrap();
    // Loaded at open: nothing is pending right away, so nothing is rebuilt.
    assert!(c.indexes().iter().all(|info| info.pending_rows == 0), "{:?}", c.indexes());
    assert_eq!(c.indexes().len(), 4);
    assert!(c.indexes().iter().all(|info| info.spec.metric.is_none()));
    assert_eq!(results(&c), before);
    for (path, modified) in files {
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified, "{path:?}");
    }
}

#[test]
fn a_damaged_scalar_index_file_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let db = reopen(dir.path(), options()).unwrap();
        let c = collection(&db);
        create_indexes(&c);
        wait_for_indexes(&c);
        results(&c)
    };
    let files = index_files(dir.path());
    let originals: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    for (i, path) in files.iter().enumerate() {
        let mut bytes = originals[i].clone();
        let at = bytes.len() / 2 + i;
        bytes[at] ^= 0x5A;
        std::fs::write(path, &bytes).unwrap();
    }
    std::fs::remove_file(&files[0]).unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.collection("default", "c").unwrap();
    // Served (by scan) while rebuilding, with the same results.
    assert_eq!(results(&c), before);
    wait_for_indexes(&c);
    assert_eq!(results(&c), before);
    // The files were rewritten as they were (the build is deterministic).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now: Vec<Option<Vec<u8>>> = files.iter().map(|p| std::fs::read(p).ok()).collect();
        if now.iter().zip(&originals).all(|(a, b)| a.as_ref() == Some(b)) {
            break;
        }
        assert!(Instant::now() < deadline, "index files were not rewritten");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_scalar_index_on_a_field_of_the_wrong_type_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = collection(&db);
    for (field, index_type, type_name) in [
        ("name", "STL_SORT", "VarChar"),
        ("flag", "STL_SORT", "Bool"),
        ("score", "INVERTED", "Double"),
        ("v", "INVERTED", "FloatVector"),
    ] {
        let err = c.create_index(scalar(field, index_type)).unwrap_err().to_string();
        assert!(err.contains(field) && err.contains(type_name), "{field}: {err}");
        assert!(err.contains(index_type), "{err}");
    }
    // A scalar index takes no metric and no parameters; a vector index stays on vectors.
    assert!(IndexSpec::parse("age", "", "STL_SORT", "L2", &[]).is_err());
    let params = [("nlist".to_owned(), "4".to_owned())];
    assert!(IndexSpec::parse("age", "", "INVERTED", "", &params).is_err());
    assert!(c.create_index(IndexSpec::parse("age", "", "HNSW", "L2", &[]).unwrap()).is_err());
    // One index per field.
    c.create_index(scalar("age", "STL_SORT")).unwrap();
    c.create_index(scalar("age", "STL_SORT")).unwrap();
    assert!(c.create_index(scalar("age", "INVERTED")).is_err());
    assert!(c.indexes().iter().all(|info| info.spec.field == "age"));
}
