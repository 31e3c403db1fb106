//! The recycle bin and point-in-time restore: a dropped collection stays restorable (rows,
//! partitions, indexes) until purged or expired, and a collection can be recreated as it was
//! at a past time inside the retention window.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use quiver_engine::{
    Database, Encryption, EngineError, FilterLimits, IndexSpec, Options, TrashEntry,
};
use quiver_storage::{EncryptedBackend, LocalBackend, MasterKey};

use crate::support::{self, Stored, dump, options, pks, rows, wait_for_indexes};

const WEEK_MS: u64 = 7 * 24 * 3600 * 1000;

fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    since.as_millis() as u64
}

/// Waits until a new wall-clock second has begun and returns the time, then lets a few more
/// milliseconds pass: writes before and after it fall in different seconds of the timeline
/// (whose resolution is one second), and no later write has the very millisecond returned.
fn next_second() -> u64 {
    std::thread::sleep(Duration::from_millis(1000 - now_ms() % 1000 + 5));
    let t = now_ms();
    std::thread::sleep(Duration::from_millis(3));
    t
}

/// Seals every 64 rows, so collections have sealed and growing segments.
fn plain() -> Options {
    options(64)
}

fn encrypted(master: &MasterKey) -> Options {
    Options { encryption: Some(Encryption::new(master.clone())), ..plain() }
}

/// Ids of the data keys in the keyring of `dir` (the database must be closed).
fn collection_keys(dir: &Path, master: &MasterKey) -> Vec<u64> {
    let raw = std::sync::Arc::new(LocalBackend::new(dir.to_path_buf()).unwrap());
    EncryptedBackend::open(raw, master).unwrap().collection_key_ids().into_iter().collect()
}

/// A collection with sealed and growing segments, deleted and upserted rows; its contents.
fn filled(db: &Database, name: &str) -> BTreeMap<i64, Stored> {
    let c = db.create_collection("default", name, support::schema()).unwrap();
    c.insert(None, rows(0..150, 1, "a")).unwrap();
    c.delete(&pks(10..20)).unwrap();
    c.upsert(None, rows(20..30, 2, "b")).unwrap();
    c.insert(None, rows(150..170, 3, "c")).unwrap();
    dump(&c).unwrap()
}

fn only_entry(db: &Database) -> TrashEntry {
    let trash = db.list_trash();
    assert_eq!(trash.len(), 1, "{trash:?}");
    trash[0].clone()
}

fn assert_not_found(db: &Database, name: &str) {
    let err = db.collection("default", name).unwrap_err();
    assert!(matches!(err, EngineError::CollectionNotFound { .. }), "{err}");
}

/// Drop, list, restore, drop again, reopen, restore, write, reopen: the rows are the same at
/// every step. Returns the collection's id.
fn round_trip(dir: &Path, options: &Options) -> u64 {
    let (before, id) = {
        let db = Database::open(dir, options.clone()).unwrap();
        let before = filled(&db, "c");
        let id = db.collection("default", "c").unwrap().id();
        db.drop_collection("default", "c").unwrap();
        assert_not_found(&db, "c");
        assert!(db.list_collections("default").unwrap().is_empty());
        let entry = only_entry(&db);
        assert_eq!((entry.id, entry.database.as_str(), entry.name.as_str()), (id, "default", "c"));
        assert!(entry.dropped_ms >= entry.created_ms);
        assert_eq!(entry.expires_ms, entry.dropped_ms + WEEK_MS);
        assert_eq!(db.trashed_row_count(id).unwrap(), before.len() as u64);
        let restored = db.restore_collection(id, None).unwrap();
        assert_eq!(dump(&restored).unwrap(), before);
        assert!(db.list_trash().is_empty());
        db.drop_collection("default", "c").unwrap();
        (before, id)
    };
    // Closed with the collection in the bin: its directory is not an orphan.
    assert!(dir.join(format!("collections/{id}")).exists());
    let db = support::reopen(dir, options.clone()).unwrap();
    assert_not_found(&db, "c");
    assert_eq!(only_entry(&db).id, id);
    let restored = db.restore_collection(id, None).unwrap();
    assert_eq!(dump(&restored).unwrap(), before);
    restored.insert(None, rows(1000..1010, 4, "d")).unwrap();
    let after = dump(&restored).unwrap();
    assert_eq!(after.len(), before.len() + 10);
    drop(restored);
    drop(db);
    let db = support::reopen(dir, options.clone()).unwrap();
    assert_eq!(dump(&db.collection("default", "c").unwrap()).unwrap(), after);
    id
}

#[test]
fn a_dropped_collection_is_restored_with_identical_query_results() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(dir.path(), &plain());
}

#[test]
fn a_dropped_encrypted_collection_is_restored_with_identical_query_results_and_its_key() {
    let master = MasterKey::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = encrypted(&master);
    let id = round_trip(dir.path(), &options);
    {
        let db = support::reopen(dir.path(), options.clone()).unwrap();
        db.drop_collection("default", "c").unwrap();
    }
    // The data key stays while the collection is in the bin, also across an open.
    assert_eq!(collection_keys(dir.path(), &master), vec![id]);
    let db = support::reopen(dir.path(), options).unwrap();
    assert_eq!(db.restore_collection(id, None).unwrap().count(), 170);
}

#[test]
fn a_restored_collection_keeps_its_indexes_and_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), plain()).unwrap();
    let c = db.create_collection("default", "c", support::schema()).unwrap();
    c.create_partition("p1").unwrap();
    c.insert(None, rows(0..100, 1, "a")).unwrap();
    c.insert(Some("p1"), rows(100..200, 1, "b")).unwrap();
    c.flush().unwrap();
    let hnsw = [("M".to_owned(), "8".to_owned()), ("efConstruction".to_owned(), "40".to_owned())];
    c.create_index(IndexSpec::parse("vec", "", "HNSW", "L2", &hnsw).unwrap()).unwrap();
    c.create_index(IndexSpec::parse("tag", "", "INVERTED", "", &[]).unwrap()).unwrap();
    wait_for_indexes(&c);
    let before = dump(&c).unwrap();
    let specs: Vec<IndexSpec> = c.indexes().into_iter().map(|i| i.spec).collect();
    let id = c.id();
    drop(c);
    db.drop_collection("default", "c").unwrap();
    drop(db);
    let db = support::reopen(dir.path(), plain()).unwrap();
    let c = db.restore_collection(id, None).unwrap();
    assert_eq!(c.partitions(), ["_default", "p1"]);
    assert_eq!(c.count_partition("p1").unwrap(), 100);
    assert_eq!(c.indexes().into_iter().map(|i| i.spec).collect::<Vec<_>>(), specs);
    wait_for_indexes(&c);
    assert!(c.indexes().iter().all(|i| i.indexed_rows == 200), "{:?}", c.indexes());
    assert_eq!(dump(&c).unwrap(), before);
}

#[test]
fn the_name_of_a_dropped_collection_can_be_reused_and_restore_then_needs_a_new_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), plain()).unwrap();
    let old = filled(&db, "c");
    let id = db.collection("default", "c").unwrap().id();
    db.drop_collection("default", "c").unwrap();
    let new = db.create_collection("default", "c", support::schema()).unwrap();
    new.insert(None, rows(500..510, 9, "new")).unwrap();
    assert_ne!(new.id(), id, "a trash id is never reused");

    let taken = db.restore_collection(id, None).unwrap_err();
    assert!(matches!(taken, EngineError::CollectionExists { .. }), "{taken}");
    db.create_alias("default", "x", "c").unwrap();
    let alias = db.restore_collection(id, Some("x")).unwrap_err();
    assert!(matches!(alias, EngineError::NameConflict { kind: "alias", .. }), "{alias}");
    let bad = db.restore_collection(id, Some("1 bad name")).unwrap_err();
    assert!(matches!(bad, EngineError::Model(_)), "{bad}");
    let missing = db.restore_collection(id + 100, None).unwrap_err();
    assert!(matches!(missing, EngineError::TrashNotFound { .. }), "{missing}");
    // Refusals leave it in the bin and the new collection untouched.
    assert_eq!(only_entry(&db).id, id);
    assert_eq!(db.collection("default", "c").unwrap().count(), 10);

    let restored = db.restore_collection(id, Some("c_old")).unwrap();
    assert_eq!(restored.name(), "c_old");
    assert_eq!(dump(&restored).unwrap(), old);
    assert_eq!(db.list_collections("default").unwrap(), ["c", "c_old"]);
}

#[test]
fn restoring_a_collection_of_a_dropped_database_recreates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), plain()).unwrap();
    db.create_database("analytics").unwrap();
    let c = db.create_collection("analytics", "events", support::schema()).unwrap();
    c.insert(None, rows(0..10, 1, "a")).unwrap();
    let id = c.id();
    drop(c);
    db.drop_collection("analytics", "events").unwrap();
    db.drop_database("analytics").unwrap();
    assert_eq!(only_entry(&db).database, "analytics");
    let restored = db.restore_collection(id, None).unwrap();
    assert_eq!(restored.count(), 10);
    assert!(db.list_databases().contains(&"analytics".to_owned()));
    assert_eq!(db.list_collections("analytics").unwrap(), ["events"]);
}

#[test]
fn expired_trash_is_purged_and_its_files_and_data_key_are_gone() {
    let master = MasterKey::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = encrypted(&master);
    let (kept, purged, rows) = {
        let db = Database::open(dir.path(), options.clone()).unwrap();
        filled(&db, "gone");
        let rows = filled(&db, "kept").len() as u64;
        let gone = db.collection("default", "gone").unwrap().id();
        let kept = db.collection("default", "kept").unwrap().id();
        db.drop_collection("default", "gone").unwrap();
        let entry = only_entry(&db);
        // Not yet expired one millisecond before the retention ends.
        assert!(db.purge_expired(entry.expires_ms - 1).unwrap().is_empty());
        assert_eq!(db.list_trash().len(), 1);
        assert_eq!(db.purge_expired(entry.expires_ms).unwrap(), vec![gone]);
        assert!(db.list_trash().is_empty());
        let err = db.restore_collection(gone, None).unwrap_err();
        assert!(matches!(err, EngineError::TrashNotFound { .. }), "{err}");
        (kept, gone, rows)
    };
    assert!(!dir.path().join(format!("collections/{purged}")).exists());
    assert_eq!(collection_keys(dir.path(), &master), vec![kept]);
    let db = support::reopen(dir.path(), options).unwrap();
    assert!(db.list_trash().is_empty());
    assert_eq!(db.collection("default", "kept").unwrap().count(), rows);
}

#[test]
fn the_maintenance_task_purges_expired_trash() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        maintenance_interval: Some(Duration::from_millis(20)),
        trash_retention: Duration::from_millis(50),
        ..plain()
    };
    let db = Database::open(dir.path(), options).unwrap();
    let id = db.create_collection("default", "c", support::schema()).unwrap().id();
    db.drop_collection("default", "c").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !db.list_trash().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the entry did not expire");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!dir.path().join(format!("collections/{id}")).exists());
}

#[test]
fn purge_removes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), plain()).unwrap();
    filled(&db, "c");
    let id = db.collection("default", "c").unwrap().id();
    db.drop_collection("default", "c").unwrap();
    db.purge_trash(id).unwrap();
    assert!(db.list_trash().is_empty());
    assert!(!dir.path().join(format!("collections/{id}")).exists());
    let again = db.purge_trash(id).unwrap_err();
    assert!(matches!(again, EngineError::TrashNotFound { id: i } if i == id), "{again}");
    assert!(matches!(db.restore_collection(id, None), Err(EngineError::TrashNotFound { .. })));
    drop(db);
    let db = support::reopen(dir.path(), plain()).unwrap();
    assert!(db.list_trash().is_empty());
}

#[test]
fn zero_retention_drops_for_good() {
    let master = MasterKey::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = Options { trash_retention: Duration::ZERO, ..encrypted(&master) };
    let id = {
        let db = Database::open(dir.path(), options).unwrap();
        filled(&db, "c");
        let id = db.collection("default", "c").unwrap().id();
        db.drop_collection("default", "c").unwrap();
        assert!(db.list_trash().is_empty());
        id
    };
    assert!(!dir.path().join(format!("collections/{id}")).exists());
    assert!(collection_keys(dir.path(), &master).is_empty());
}

#[test]
fn point_in_time_restore_recovers_rows_deleted_after_that_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), plain()).unwrap();
    let c = db.create_collection("default", "c", support::schema()).unwrap();
    c.create_partition("p1").unwrap();
    c.insert(None, rows(0..150, 1, "a")).unwrap();
    c.insert(Some("p1"), rows(150..200, 1, "p")).unwrap();
    c.delete(&pks(0..5)).unwrap();
    c.upsert(None, rows(5..10, 2, "b")).unwrap();
    let t1 = next_second();
    let at_t1 = dump(&c).unwrap();

    let filter = c.compile_filter("id < 100", &HashMap::new(), &FilterLimits::default()).unwrap();
    assert_eq!(c.delete_by_filter(&filter).unwrap().count, 95);
    c.upsert(None, rows(120..130, 3, "later")).unwrap();
    c.insert(Some("p1"), rows(300..310, 3, "later")).unwrap();
    c.flush().unwrap();
    // Inside the retention window compaction keeps the deleted rows.
    assert_eq!(c.compact().unwrap().rows_purged, 0);
    assert_ne!(dump(&c).unwrap(), at_t1);

    let restored = db.restore_collection_as_of("default", "c", t1, "c_t1").unwrap();
    assert_eq!(restored.partitions(), ["_default", "p1"]);
    assert_eq!(dump(&restored).unwrap(), at_t1);
    // The source is unchanged, and the restore is a collection of its own.
    assert_eq!(dump(&c).unwrap().len(), at_t1.len() - 95 + 10);
    drop(restored);
    drop(c);
    drop(db);
    let db = support::reopen(dir.path(), plain()).unwrap();
    assert_eq!(dump(&db.collection("default", "c_t1").unwrap()).unwrap(), at_t1);
}

#[test]
fn point_in_time_before_the_window_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), plain()).unwrap();
    let c = db.create_collection("default", "c", support::schema()).unwrap();
    let created = c.restorable_since().unwrap();
    c.insert(None, rows(0..10, 1, "a")).unwrap();
    let early = db.restore_collection_as_of("default", "c", created - 1, "r").unwrap_err();
    assert!(
        matches!(early, EngineError::RestorePointOutOfRange { earliest_ms, .. } if earliest_ms == created),
        "{early}"
    );
    let future = db.restore_collection_as_of("default", "c", now_ms() + 60_000, "r").unwrap_err();
    assert!(matches!(future, EngineError::RestorePointOutOfRange { .. }), "{future}");
    assert!(!db.has_collection("default", "r").unwrap(), "a refusal creates nothing");
    // At creation time: an empty collection.
    assert_eq!(db.restore_collection_as_of("default", "c", created, "empty").unwrap().count(), 0);
    let taken = db.restore_collection_as_of("default", "c", created, "empty").unwrap_err();
    assert!(matches!(taken, EngineError::CollectionExists { .. }), "{taken}");

    // Compaction outside the window moves the earliest point past what it purged.
    let dir = tempfile::tempdir().unwrap();
    let db =
        Database::open(dir.path(), Options { trash_retention: Duration::ZERO, ..plain() }).unwrap();
    let c = db.create_collection("default", "c", support::schema()).unwrap();
    c.insert(None, rows(0..10, 1, "a")).unwrap();
    let t1 = next_second();
    c.delete(&pks(0..5)).unwrap();
    assert_eq!(c.compact().unwrap().rows_purged, 5);
    let earliest = c.restorable_since().unwrap();
    assert!(earliest > t1);
    let purged = db.restore_collection_as_of("default", "c", t1, "r").unwrap_err();
    assert!(
        matches!(purged, EngineError::RestorePointOutOfRange { earliest_ms, requested_ms, .. }
            if earliest_ms == earliest && requested_ms == t1),
        "{purged}"
    );
    assert!(purged.to_string().contains(&earliest.to_string()), "{purged}");
}

#[test]
fn the_timeline_survives_reopen_by_replay_and_by_checkpoint() {
    for flush in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (t1, at_t1) = {
            let db = Database::open(dir.path(), options(usize::MAX)).unwrap();
            let c = db.create_collection("default", "c", support::schema()).unwrap();
            c.insert(None, rows(0..50, 1, "a")).unwrap();
            if flush {
                c.flush().unwrap();
            }
            let t1 = next_second();
            let at_t1 = dump(&c).unwrap();
            c.delete(&pks(0..50)).unwrap();
            if flush {
                c.flush().unwrap();
            }
            (t1, at_t1)
        };
        let db = support::reopen(dir.path(), options(usize::MAX)).unwrap();
        assert_eq!(db.collection("default", "c").unwrap().count(), 0);
        let restored = db.restore_collection_as_of("default", "c", t1, "r").unwrap();
        assert_eq!(dump(&restored).unwrap(), at_t1, "flush: {flush}");
    }
}

#[test]
fn a_dropped_collection_can_be_restored_as_of_a_past_time_and_stays_in_the_bin() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), plain()).unwrap();
    let c = db.create_collection("default", "c", support::schema()).unwrap();
    c.insert(None, rows(0..100, 1, "a")).unwrap();
    let t1 = next_second();
    let at_t1 = dump(&c).unwrap();
    c.delete(&pks(0..60)).unwrap();
    let id = c.id();
    drop(c);
    db.drop_collection("default", "c").unwrap();
    let restored = db.restore_trashed_as_of(id, t1, "default", "c_t1").unwrap();
    assert_eq!(dump(&restored).unwrap(), at_t1);
    assert_eq!(only_entry(&db).id, id);
    let late = db.restore_trashed_as_of(id, now_ms() + 60_000, "default", "x").unwrap_err();
    assert!(matches!(late, EngineError::RestorePointOutOfRange { .. }), "{late}");
    let missing = db.restore_trashed_as_of(id + 1, t1, "default", "x").unwrap_err();
    assert!(matches!(missing, EngineError::TrashNotFound { .. }), "{missing}");
    // The dropped collection itself comes back with its deletion.
    assert_eq!(db.restore_collection(id, None).unwrap().count(), 40);
}

#[test]
fn a_dropped_partition_is_hidden_then_restored_with_its_rows_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (before, id) = {
        let db = Database::open(dir.path(), plain()).unwrap();
        let c = db.create_collection("default", "c", support::schema()).unwrap();
        c.create_partition("p1").unwrap();
        c.insert(None, rows(0..100, 1, "a")).unwrap();
        // Sealed and growing rows, some deleted before the drop.
        c.insert(Some("p1"), rows(100..200, 1, "p")).unwrap();
        c.delete(&pks(100..110)).unwrap();
        let before = dump(&c).unwrap();
        c.drop_partition("p1").unwrap();
        assert_eq!(c.partitions(), ["_default"]);
        assert_eq!(c.count(), 100);
        let trashed = c.list_trashed_partitions();
        assert_eq!(trashed.len(), 1);
        assert_eq!((trashed[0].name.as_str(), trashed[0].rows), ("p1", 90));
        // Writes and deletes do not reach it; its keys are free meanwhile, its name too.
        assert_eq!(c.delete(&pks(150..160)).unwrap().count, 0);
        c.create_partition("p1").unwrap();
        c.insert(Some("p1"), rows(100..105, 2, "again")).unwrap();
        c.delete(&pks(100..105)).unwrap();
        (before, trashed[0].id)
    };
    let db = support::reopen(dir.path(), plain()).unwrap();
    let c = db.collection("default", "c").unwrap();
    assert_eq!(c.count(), 100);
    assert_eq!(c.list_trashed_partitions()[0].id, id);
    let taken = c.restore_partition(id, None).unwrap_err();
    assert!(matches!(taken, EngineError::PartitionExists { .. }), "{taken}");
    c.restore_partition(id, Some("p1_restored")).unwrap();
    assert!(c.list_trashed_partitions().is_empty());
    let renamed: BTreeMap<i64, Stored> = before
        .into_iter()
        .map(|(k, mut v)| {
            if v.partition == "p1" {
                v.partition = "p1_restored".to_owned();
            }
            (k, v)
        })
        .collect();
    assert_eq!(dump(&c).unwrap(), renamed);
    drop(c);
    drop(db);
    let db = support::reopen(dir.path(), plain()).unwrap();
    assert_eq!(dump(&db.collection("default", "c").unwrap()).unwrap(), renamed);
}

#[test]
fn a_dropped_partition_whose_keys_were_written_again_is_not_restored() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), plain()).unwrap();
    let c = db.create_collection("default", "c", support::schema()).unwrap();
    c.create_partition("p1").unwrap();
    c.insert(Some("p1"), rows(0..10, 1, "p")).unwrap();
    c.drop_partition("p1").unwrap();
    c.insert(None, rows(5..6, 2, "again")).unwrap();
    let id = c.list_trashed_partitions()[0].id;
    let err = c.restore_partition(id, None).unwrap_err();
    assert!(err.to_string().contains("1 of its rows"), "{err}");
    c.delete(&pks(5..6)).unwrap();
    c.restore_partition(id, None).unwrap();
    assert_eq!(c.count_partition("p1").unwrap(), 10);
    let missing = c.restore_partition(id, None).unwrap_err();
    assert!(matches!(missing, EngineError::PartitionTrashNotFound { .. }), "{missing}");
}

#[test]
fn dropped_partitions_are_purged_at_once_or_when_expired_with_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), plain()).unwrap();
    let c = db.create_collection("default", "c", support::schema()).unwrap();
    let segments = dir.path().join(format!("collections/{}/segments", c.id()));
    let files = || std::fs::read_dir(&segments).unwrap().count();
    c.insert(None, rows(0..10, 1, "a")).unwrap();
    c.flush().unwrap();
    let baseline = files();
    for name in ["p1", "p2"] {
        c.create_partition(name).unwrap();
        c.insert(Some(name), rows(if name == "p1" { 100..200 } else { 200..300 }, 1, name))
            .unwrap();
        c.drop_partition(name).unwrap();
    }
    assert!(files() > baseline);
    let trashed = c.list_trashed_partitions();
    c.purge_partition(trashed[0].id).unwrap();
    assert_eq!(c.list_trashed_partitions().len(), 1);
    let expires = trashed[1].expires_ms;
    assert!(c.purge_expired_partitions(expires - 1).unwrap().is_empty());
    assert_eq!(c.purge_expired_partitions(expires).unwrap(), vec![trashed[1].id]);
    assert!(c.list_trashed_partitions().is_empty());
    assert_eq!(files(), baseline);
    let missing = c.purge_partition(trashed[0].id).unwrap_err();
    assert!(matches!(missing, EngineError::PartitionTrashNotFound { .. }), "{missing}");
    drop(c);
    drop(db);
    let db = support::reopen(dir.path(), plain()).unwrap();
    let c = db.collection("default", "c").unwrap();
    assert!(c.list_trashed_partitions().is_empty());
    assert_eq!(c.count(), 10);
}

#[test]
fn zero_retention_drops_partitions_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let db =
        Database::open(dir.path(), Options { trash_retention: Duration::ZERO, ..plain() }).unwrap();
    let c = db.create_collection("default", "c", support::schema()).unwrap();
    c.create_partition("p1").unwrap();
    c.insert(Some("p1"), rows(0..100, 1, "p")).unwrap();
    c.drop_partition("p1").unwrap();
    assert!(c.list_trashed_partitions().is_empty());
    assert_eq!(c.count(), 0);
}
