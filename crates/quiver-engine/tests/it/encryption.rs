//! Encryption at rest through the engine: nothing written under the data directory holds a
//! row's text or vector bytes in clear, a wrong or missing key (or keyring) is refused by name
//! before anything is served, tampered files are refused naming the file, and a rotated master
//! key opens the same data.

use std::path::{Path, PathBuf};

use quiver_core::{
    Column, ColumnData, DataType, FieldSpec, InsertBatch, Metric, PkValue, SchemaSpec, Value,
};
use quiver_engine::{
    Database, Encryption, EngineError, IndexSpec, Options, QueryRequest, SearchRequest,
    rotate_master_key,
};
use quiver_storage::{EncryptedBackend, KEYRING_KEY, LocalBackend, MasterKey, StorageError};

use crate::support::{self, dump, options, rows, wait_for_indexes};

/// A string no file would hold by chance.
const KNOWN: &str = "zebra_quokka_7f3a_known_plaintext";
const DIM: usize = 8;

/// A vector no other row has; its bytes are what the scan looks for.
fn known_vector(row: i64) -> Vec<f32> {
    (0..DIM).map(|k| 1234.5 + row as f32 * 10.0 + k as f32 * 0.25).collect()
}

fn vector_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn schema() -> SchemaSpec {
    SchemaSpec {
        description: "encryption test".to_owned(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("note", DataType::VarChar { max_length: 128 }),
            FieldSpec::new("vec", DataType::FloatVector { dim: DIM as u32 }),
        ],
        enable_dynamic_field: false,
    }
}

/// Rows `ids`, each with a note holding KNOWN and its known vector.
fn known_rows(ids: std::ops::Range<i64>) -> InsertBatch {
    let ids: Vec<i64> = ids.collect();
    let notes = ids.iter().map(|id| format!("{KNOWN} #{id}")).collect();
    let vectors = ids.iter().flat_map(|id| known_vector(*id)).collect();
    InsertBatch {
        columns: vec![
            ("id".to_owned(), Column::new(ColumnData::Int64(ids))),
            ("note".to_owned(), Column::new(ColumnData::VarChar(notes))),
            ("vec".to_owned(), Column::new(ColumnData::FloatVector { dim: DIM, data: vectors })),
        ],
    }
}

fn encrypted(master: &MasterKey) -> Options {
    Options { encryption: Some(Encryption::new(master.clone())), ..options(usize::MAX) }
}

/// Every regular file under `dir`, recursively.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(all_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Writes rows holding KNOWN and known vectors into every kind of file (sealed segment, vector
/// and scalar index files, manifest, log records left after the checkpoint, catalog and
/// schema naming it), closes the database, and returns the files under `dir` that hold KNOWN
/// or a known vector's bytes, relative to `dir`.
fn files_holding_known_data(dir: &Path, options: Options) -> Vec<String> {
    {
        let db = support::reopen(dir, options).expect("open");
        let c = db.create_collection("default", KNOWN, schema()).expect("create");
        c.insert(None, known_rows(0..200)).expect("insert");
        c.flush().expect("flush");
        let hnsw =
            [("M".to_owned(), "8".to_owned()), ("efConstruction".to_owned(), "40".to_owned())];
        c.create_index(IndexSpec::parse("vec", "", "HNSW", "L2", &hnsw).expect("spec"))
            .expect("vector index");
        c.create_index(IndexSpec::parse("note", "", "INVERTED", "", &[]).expect("spec"))
            .expect("scalar index");
        wait_for_indexes(&c);
        // These stay in the log only.
        c.insert(None, known_rows(200..230)).expect("insert");
        let read = c.get(&[PkValue::Int64(215)], &["note".to_owned()]).expect("get");
        assert_eq!(read[0].fields[0].1, Value::VarChar(format!("{KNOWN} #215")));
    }
    let needles: Vec<Vec<u8>> = [KNOWN.as_bytes().to_vec()]
        .into_iter()
        .chain([3, 150, 222].map(|row| vector_bytes(&known_vector(row))))
        .collect();
    let mut holding = Vec::new();
    for file in all_files(dir) {
        let bytes = std::fs::read(&file).expect("read");
        if needles.iter().any(|needle| contains(&bytes, needle)) {
            let relative = file.strip_prefix(dir).expect("under dir");
            holding.push(relative.display().to_string());
        }
    }
    holding.sort();
    holding
}

#[test]
fn no_plaintext_on_disk_when_encrypted() {
    let master = MasterKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("temp dir");
    let leaked = files_holding_known_data(dir.path(), encrypted(&master));
    assert!(leaked.is_empty(), "files holding plaintext: {leaked:?}");
    let files = all_files(dir.path());
    for kind in [".wal", ".qvs", ".qvi", "MANIFEST", "schema.qvm", "catalog.qvc", KEYRING_KEY] {
        let found = files.iter().any(|f| f.to_string_lossy().ends_with(kind));
        assert!(found, "no {kind} file was written: {files:?}");
    }
    // And the data is all there through the key.
    let db = support::reopen(dir.path(), encrypted(&master)).expect("reopen");
    let c = db.collection("default", KNOWN).expect("collection");
    assert_eq!(c.count(), 230);

    // The same writes without encryption leave the text and the vectors in the log, the
    // segment and the scalar index: the scan above would have found them.
    let plain = tempfile::tempdir().expect("temp dir");
    let leaked = files_holding_known_data(plain.path(), options(usize::MAX));
    for kind in [".wal", ".qvs", ".qvi", "catalog.qvc"] {
        assert!(leaked.iter().any(|f| f.ends_with(kind)), "no {kind} in {leaked:?}");
    }
}

#[test]
fn wrong_master_key_is_refused_naming_both_key_ids() {
    let master = MasterKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let db = support::reopen(dir.path(), encrypted(&master)).expect("open");
        assert_eq!(db.master_key_id(), Some(master.id()));
        let c = db.create_collection("default", "c", support::schema()).expect("create");
        c.insert(None, rows(0..10, 0, "a")).expect("insert");
    }
    let wrong = MasterKey::generate().expect("key");
    let err = support::reopen(dir.path(), encrypted(&wrong)).err().expect("refused");
    match &err {
        EngineError::Storage(cause) => match cause.as_ref() {
            StorageError::WrongMasterKey { expected, offered } => {
                assert_eq!((*expected, *offered), (master.id(), wrong.id()));
            }
            other => panic!("expected WrongMasterKey, got {other}"),
        },
        other => panic!("expected a storage error, got {other}"),
    }
    let message = err.to_string();
    assert!(message.contains(&master.id().to_string()), "{message}");
    assert!(message.contains(&wrong.id().to_string()), "{message}");
    let db = support::reopen(dir.path(), encrypted(&master)).expect("the right key opens it");
    assert_eq!(db.collection("default", "c").expect("c").count(), 10);
}

#[track_caller]
fn assert_refused(result: Result<Database, EngineError>, expected: fn(&StorageError) -> bool) {
    match result {
        Err(EngineError::Storage(cause)) if expected(&cause) => {}
        Err(other) => panic!("unexpected refusal: {other}"),
        Ok(_) => panic!("the directory opened"),
    }
}

#[test]
fn encrypted_and_unencrypted_directories_are_never_mixed() {
    let master = MasterKey::generate().expect("key");
    // An encrypted directory opened without a key.
    let dir = tempfile::tempdir().expect("temp dir");
    drop(support::reopen(dir.path(), encrypted(&master)).expect("open"));
    assert_refused(support::reopen(dir.path(), options(10)), |e| {
        matches!(e, StorageError::EncryptionRequired { .. })
    });
    // ... whose keyring was lost: with the key, the keyring is missing; without, still
    // refused (the catalog is encrypted).
    std::fs::remove_file(dir.path().join(KEYRING_KEY)).expect("remove keyring");
    assert_refused(support::reopen(dir.path(), encrypted(&master)), |e| {
        matches!(e, StorageError::KeyringMissing { .. })
    });
    assert_refused(support::reopen(dir.path(), options(10)), |e| {
        matches!(e, StorageError::EncryptionRequired { .. })
    });
    // An unencrypted directory with data opened with a key: refused, nothing written.
    let plain = tempfile::tempdir().expect("temp dir");
    {
        let db = support::reopen(plain.path(), options(10)).expect("open");
        db.create_collection("default", "c", support::schema()).expect("create");
    }
    assert_refused(support::reopen(plain.path(), encrypted(&master)), |e| {
        matches!(e, StorageError::NotEncrypted { .. })
    });
    assert!(!plain.path().join(KEYRING_KEY).exists());
    assert!(support::reopen(plain.path(), options(10)).is_ok());
}

#[test]
fn rotated_master_key_opens_the_same_data_and_the_old_key_is_refused() {
    let old = MasterKey::generate().expect("key");
    let new = MasterKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("temp dir");
    let before = {
        let db = support::reopen(dir.path(), encrypted(&old)).expect("open");
        let c = db.create_collection("default", "c", support::schema()).expect("create");
        c.insert(None, rows(0..100, 0, "a")).expect("insert");
        c.flush().expect("flush");
        c.insert(None, rows(100..150, 1, "b")).expect("insert");
        // The directory is locked while open.
        assert!(matches!(
            rotate_master_key(dir.path(), &old, &new),
            Err(EngineError::Locked { .. })
        ));
        (dump(&c).expect("dump"), search(&c))
    };
    let stranger = MasterKey::generate().expect("key");
    assert!(matches!(
        rotate_master_key(dir.path(), &stranger, &new),
        Err(EngineError::Storage(cause)) if matches!(*cause, StorageError::WrongMasterKey { .. })
    ));
    rotate_master_key(dir.path(), &old, &new).expect("rotate");
    match support::reopen(dir.path(), encrypted(&old)).err() {
        Some(EngineError::Storage(cause)) => match cause.as_ref() {
            StorageError::WrongMasterKey { expected, offered } => {
                assert_eq!((*expected, *offered), (new.id(), old.id()));
            }
            other => panic!("expected WrongMasterKey, got {other}"),
        },
        other => panic!("the old key was not refused: {other:?}"),
    }
    let db = support::reopen(dir.path(), encrypted(&new)).expect("the new key opens it");
    let c = db.collection("default", "c").expect("c");
    assert_eq!((dump(&c).expect("dump"), search(&c)), before);
}

fn search(c: &quiver_engine::Collection) -> Vec<Vec<quiver_engine::Hit>> {
    let queries = [support::vector(3, "q")];
    let output = ["tag".to_owned()];
    let request = SearchRequest {
        vector_field: None,
        metric: Metric::L2,
        queries: &queries,
        limit: 10,
        offset: 0,
        partitions: &[],
        output_fields: &output,
        filter: None,
        params: quiver_engine::SearchParams::default(),
        range: None,
    };
    c.search(&request).expect("search")
}

#[test]
fn dropped_collection_loses_its_data_key() {
    let master = MasterKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = |dir: &Path| {
        let raw = std::sync::Arc::new(LocalBackend::new(dir.to_path_buf()).expect("backend"));
        EncryptedBackend::open(raw, &master).expect("keyring").collection_key_ids()
    };
    let (a, b) = {
        // Without a recycle bin: a drop removes the data at once.
        let options = Options { trash_retention: std::time::Duration::ZERO, ..encrypted(&master) };
        let db = support::reopen(dir.path(), options).expect("open");
        let a = db.create_collection("default", "a", support::schema()).expect("a").id();
        let b = db.create_collection("default", "b", support::schema()).expect("b").id();
        db.drop_collection("default", "a").expect("drop");
        (a, b)
    };
    assert_eq!(keys(dir.path()).into_iter().collect::<Vec<_>>(), vec![b]);
    assert!(!dir.path().join(format!("collections/{a}")).exists());
}

/// Opens `dir` and returns the error that makes collection `c` unavailable.
fn unavailable_error(dir: &Path, master: &MasterKey) -> String {
    let db = support::reopen(dir, encrypted(master)).expect("the database opens");
    match db.collection("default", "c") {
        Err(err @ EngineError::CollectionUnavailable { .. }) => err.to_string(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the tampered collection opened"),
    }
}

#[test]
fn tampered_files_are_refused_naming_the_file() {
    let master = MasterKey::generate().expect("key");
    let pristine = tempfile::tempdir().expect("temp dir");
    let dir_key = {
        let db = support::reopen(pristine.path(), encrypted(&master)).expect("open");
        let c = db.create_collection("default", "c", support::schema()).expect("create");
        c.insert(None, rows(0..50, 0, "a")).expect("insert");
        c.flush().expect("flush");
        c.insert(None, rows(50..100, 1, "b")).expect("insert");
        c.flush().expect("flush");
        c.insert(None, rows(100..120, 2, "c")).expect("insert");
        format!("collections/{}", c.id())
    };
    let copy = || {
        let tmp = tempfile::tempdir().expect("temp dir");
        let path = tmp.path().join("data");
        support::copy_dir(pristine.path(), &path);
        (tmp, path)
    };
    let segments: Vec<String> = std::fs::read_dir(pristine.path().join(&dir_key).join("segments"))
        .expect("segments")
        .map(|e| format!("{dir_key}/segments/{}", e.expect("entry").file_name().to_string_lossy()))
        .collect();
    assert_eq!(segments.len(), 2, "{segments:?}");
    let wal: Vec<String> = std::fs::read_dir(pristine.path().join(&dir_key).join("wal"))
        .expect("wal")
        .map(|e| format!("{dir_key}/wal/{}", e.expect("entry").file_name().to_string_lossy()))
        .collect();

    // A flipped byte in the ciphertext of each file.
    let files =
        [segments[0].clone(), format!("{dir_key}/MANIFEST"), format!("{dir_key}/schema.qvm")]
            .into_iter()
            .chain(wal.iter().cloned());
    for key in files {
        let (_tmp, path) = copy();
        let file = path.join(&key);
        let mut bytes = std::fs::read(&file).expect("read");
        let at = bytes.len() - 20;
        bytes[at] ^= 0x04;
        std::fs::write(&file, &bytes).expect("write");
        let message = unavailable_error(&path, &master);
        assert!(message.contains(&key) && message.contains("authentication failed"), "{message}");
    }
    // A segment cut short, by a whole chunk's worth or a few bytes.
    for cut in [1, 30] {
        let (_tmp, path) = copy();
        let file = path.join(&segments[1]);
        let len = std::fs::metadata(&file).expect("stat").len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .and_then(|f| f.set_len(len - cut))
            .expect("truncate");
        let message = unavailable_error(&path, &master);
        assert!(message.contains(&segments[1]), "{message}");
    }
    // Two segments swapped.
    {
        let (_tmp, path) = copy();
        let (a, b) = (path.join(&segments[0]), path.join(&segments[1]));
        let (bytes_a, bytes_b) = (std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
        std::fs::write(&a, bytes_b).expect("write");
        std::fs::write(&b, bytes_a).expect("write");
        let message = unavailable_error(&path, &master);
        assert!(message.contains("/segments/") && message.contains("authentication failed"));
    }
    // The catalog: the whole open fails, naming it.
    {
        let (_tmp, path) = copy();
        let file = path.join("catalog.qvc");
        let mut bytes = std::fs::read(&file).expect("read");
        let at = bytes.len() - 5;
        bytes[at] ^= 0x40;
        std::fs::write(&file, &bytes).expect("write");
        let err = support::reopen(&path, encrypted(&master)).err().expect("refused");
        assert!(err.to_string().contains("catalog.qvc"), "{err}");
    }
}

#[test]
fn query_results_are_the_same_with_and_without_encryption() {
    let master = MasterKey::generate().expect("key");
    let mut results = Vec::new();
    for options in [options(40), Options { seal_rows: 40, ..encrypted(&master) }] {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = support::reopen(dir.path(), options.clone()).expect("open");
        let c = db.create_collection("default", "c", support::schema()).expect("create");
        c.insert(None, rows(0..100, 0, "a")).expect("insert");
        c.delete(&support::pks(10..20)).expect("delete");
        c.upsert(None, rows(50..60, 1, "b")).expect("upsert");
        drop((c, db));
        let db = support::reopen(dir.path(), options).expect("reopen");
        let c = db.collection("default", "c").expect("c");
        let fields = ["tag".to_owned()];
        let none = std::collections::HashMap::new();
        let filter = c
            .compile_filter("batch == 1", &none, &quiver_engine::FilterLimits::default())
            .expect("filter");
        let query = QueryRequest {
            filter: Some(&filter),
            partitions: &[],
            output_fields: &fields,
            offset: 0,
            limit: None,
        };
        let mut found: Vec<i64> =
            c.query(&query).expect("query").iter().map(|row| support::int_key(&row.pk)).collect();
        found.sort();
        results.push((dump(&c).expect("dump"), search(&c), found));
    }
    assert_eq!(results[0], results[1]);
}

#[test]
fn options_debug_shows_the_master_key_id_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("master.key");
    let master = MasterKey::generate_to(&path).expect("key file");
    let text = std::fs::read_to_string(&path).expect("read key file");
    let hex = text.trim_end().trim_start_matches("qmk1_");
    let shown = format!("{:?}", encrypted(&master));
    assert!(shown.contains(&master.id().to_string()), "{shown}");
    for window in hex.as_bytes().windows(8) {
        let window = std::str::from_utf8(window).expect("hex");
        assert!(!shown.contains(window), "{shown} shows part of the key");
    }
}
