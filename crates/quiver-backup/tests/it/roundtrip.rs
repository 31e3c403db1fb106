//! Backup → verify → restore gives a database with identical search and query results.

use quiver_backup::{create, restore, verify};
use quiver_core::PkValue;
use quiver_storage::MasterKey;

use crate::support::{self, all_rows, batch, search};

/// The phases and bytes a [`quiver_backup::Progress`] was told of.
#[derive(Default)]
struct Recorded {
    phases: Vec<(&'static str, u64)>,
    bytes: u64,
}

impl quiver_backup::Progress for Recorded {
    fn start(&mut self, phase: &'static str, total: u64) {
        self.phases.push((phase, total));
    }

    fn advance(&mut self, bytes: u64) {
        self.bytes += bytes;
    }
}

#[test]
fn a_restored_backup_has_identical_search_and_query_results() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let master = MasterKey::generate().unwrap();
    let db = quiver_engine::Database::open(&data, support::options(&master)).unwrap();
    let collection = support::create(&db);
    for n in 0..6 {
        collection.insert(None, batch(n)).unwrap();
    }
    collection.flush().unwrap(); // sealed segments
    for n in 6..9 {
        collection.insert(None, batch(n)).unwrap(); // rows only in the log
    }
    collection.delete(&[PkValue::Int64(3), PkValue::Int64(360)]).unwrap();
    // Files that are not data: they must stay out of the backup.
    std::fs::create_dir_all(data.join("tls")).unwrap();
    std::fs::write(data.join("tls/server.key"), b"secret").unwrap();
    std::fs::write(data.join("initial-root-password"), b"hunter2").unwrap();
    let expected_rows = all_rows(&collection);
    let expected_hits = search(&collection);
    assert_eq!(expected_rows.len(), 9 * support::BATCH - 2);

    // The source stays open (and locked) during the backup.
    let backup = tmp.path().join("backup");
    let made = create(&data, &backup, &master, &mut ()).unwrap();
    assert!(made.files.iter().any(|f| f.path.ends_with(".wal")));
    assert!(made.files.iter().any(|f| f.path.ends_with(".qvs")));
    for excluded in ["LOCK", "tls/server.key", "initial-root-password"] {
        assert!(!made.files.iter().any(|f| f.path == excluded), "{excluded} was copied");
        assert!(!backup.join("data").join(excluded).exists());
    }
    assert_eq!(verify(&backup, &master, &mut ()).unwrap(), made);

    // The restore reads every byte once: one phase, as many bytes as the backup holds.
    let restored = tmp.path().join("restored");
    let mut progress = Recorded::default();
    restore(&backup, &restored, &master, &mut progress).unwrap();
    assert_eq!(progress.phases, [("restore", made.total_bytes)]);
    assert_eq!(progress.bytes, made.total_bytes);
    assert!(!restored.join(".restore-staging").exists());
    drop(collection);
    drop(db);
    let (_db, collection) = support::open(&restored, &master);
    assert_eq!(all_rows(&collection), expected_rows);
    assert_eq!(search(&collection), expected_hits);
}

#[test]
fn create_refuses_a_wrong_key_and_a_non_empty_target() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let master = MasterKey::generate().unwrap();
    let db = quiver_engine::Database::open(&data, support::options(&master)).unwrap();
    support::create(&db).insert(None, batch(0)).unwrap();
    let backup = tmp.path().join("backup");
    let wrong = MasterKey::generate().unwrap();
    let err = create(&data, &backup, &wrong, &mut ()).unwrap_err();
    assert!(err.to_string().contains(&wrong.id().to_string()), "{err}");
    assert!(!backup.exists());
    std::fs::create_dir(&backup).unwrap();
    std::fs::write(backup.join("x"), b"x").unwrap();
    let err = create(&data, &backup, &master, &mut ()).unwrap_err();
    assert!(matches!(err, quiver_backup::BackupError::TargetNotEmpty { .. }), "{err}");
    assert_eq!(std::fs::read(backup.join("x")).unwrap(), b"x");
}
