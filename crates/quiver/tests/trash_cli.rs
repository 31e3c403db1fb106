//! `quiver trash list|restore|purge` through the real binary, on a stopped server's data
//! directory: a dropped collection is listed, restored with its rows, and purged as expired
//! only under the retention the server's config file sets; the same for dropped partitions.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs;

use quiver_core::{Column, ColumnData, InsertBatch};
use quiver_engine::{Database, Encryption, Options};
use quiver_storage::MasterKey;
use support::{data_dir, quiver, stderr, stdout};

fn reopen(dir: &std::path::Path) -> Database {
    let key = MasterKey::load(&dir.join("data.master-key")).unwrap();
    let options = Options {
        encryption: Some(Encryption::new(key)),
        maintenance_interval: None,
        ..Options::default()
    };
    Database::open(&dir.join("data"), options).unwrap()
}

#[test]
fn trash_list_restore_and_purge_follow_the_configured_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = data_dir(dir);
    db.drop_collection("default", "c").unwrap();
    let id = db.list_trash()[0].id.to_string();

    // While a process holds the directory, the command refuses and says what to do.
    let locked = quiver(&["trash", "list", "--data-dir", "data"], dir);
    assert!(!locked.status.success());
    assert!(stderr(&locked).contains("stop the server"), "{}", stderr(&locked));
    drop(db);

    let listed = quiver(&["trash", "list", "--data-dir", "data"], dir);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(stdout(&listed).contains('c') && stdout(&listed).contains(&id), "{}", stdout(&listed));

    let restored = quiver(&["trash", "restore", "--data-dir", "data", &id], dir);
    assert!(restored.status.success(), "{}", stderr(&restored));
    let db = reopen(dir);
    assert_eq!(db.collection("default", "c").unwrap().count(), 100);
    db.drop_collection("default", "c").unwrap();
    drop(db);

    // The default retention is a week: nothing has expired.
    let kept = quiver(&["trash", "purge", "--data-dir", "data", "--expired"], dir);
    assert!(kept.status.success(), "{}", stderr(&kept));
    assert_eq!(reopen(dir).list_trash().len(), 1);
    // Under the server's configured retention of zero hours, it has.
    fs::write(dir.join("quiver.toml"), "[deletion]\nretention_hours = 0\n").unwrap();
    let args = ["trash", "purge", "--data-dir", "data", "--expired", "--config", "quiver.toml"];
    let purged = quiver(&args, dir);
    assert!(purged.status.success(), "{}", stderr(&purged));
    assert!(reopen(dir).list_trash().is_empty());
    assert!(!dir.join("data/collections").join(&id).exists());

    // Each restore and purge is in the audit log, which still verifies.
    let shown = quiver(&["audit", "show", "--data-dir", "data", "--kind", "admin"], dir);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let admin = stdout(&shown);
    assert!(admin.contains("\"restore\"") && admin.contains("\"purge\""), "{admin}");
    let verified = quiver(&["audit", "verify", "--data-dir", "data"], dir);
    assert!(verified.status.success(), "{}", stderr(&verified));
}

/// Rows `from..from + n` into the new partition `name` of collection `c`.
fn fill_partition(db: &Database, name: &str, from: i64, n: i64) {
    let collection = db.collection("default", "c").unwrap();
    collection.create_partition(name).unwrap();
    let ids: Vec<i64> = (from..from + n).collect();
    let data = ids.iter().flat_map(|i| [*i as f32, 0.0, 0.0, 1.0]).collect();
    let batch = InsertBatch {
        columns: vec![
            ("id".to_owned(), Column::new(ColumnData::Int64(ids))),
            ("v".to_owned(), Column::new(ColumnData::FloatVector { dim: 4, data })),
        ],
    };
    collection.insert(Some(name), batch).unwrap();
}

#[test]
fn trash_partitions_are_listed_restored_purged_and_expire_with_the_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = data_dir(dir);
    fill_partition(&db, "p1", 1000, 20);
    fill_partition(&db, "p2", 2000, 5);
    let collection = db.collection("default", "c").unwrap();
    collection.drop_partition("p1").unwrap();
    collection.drop_partition("p2").unwrap();
    let ids: Vec<String> =
        collection.list_trashed_partitions().iter().map(|p| p.id.to_string()).collect();
    assert_eq!(collection.count(), 100);
    drop((collection, db));

    let of = ["--data-dir", "data", "--collection", "c"];
    let listed = quiver(&[&["trash", "partitions"][..], &of].concat(), dir);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let text = stdout(&listed);
    assert!(text.contains("p1") && text.contains("p2") && text.contains(" 20"), "{text}");

    // p1 comes back under a new name with its 20 rows; an unknown id is refused.
    let args = [&["trash", "restore-partition"][..], &of, &[ids[0].as_str(), "--as", "back"]];
    let restored = quiver(&args.concat(), dir);
    assert!(restored.status.success(), "{}", stderr(&restored));
    let unknown = quiver(&[&["trash", "restore-partition"][..], &of, &["999"]].concat(), dir);
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("999"), "{}", stderr(&unknown));
    let db = reopen(dir);
    let collection = db.collection("default", "c").unwrap();
    assert_eq!(collection.count(), 120);
    assert!(collection.partitions().contains(&"back".to_owned()));
    drop((collection, db));

    // p2 is not expired under the default week, and is under a zero-hour retention.
    let kept = quiver(&["trash", "purge", "--data-dir", "data", "--expired"], dir);
    assert!(kept.status.success(), "{}", stderr(&kept));
    assert_eq!(reopen(dir).collection("default", "c").unwrap().list_trashed_partitions().len(), 1);
    fs::write(dir.join("quiver.toml"), "[deletion]\nretention_hours = 0\n").unwrap();
    let args = ["trash", "purge", "--data-dir", "data", "--expired", "--config", "quiver.toml"];
    let purged = quiver(&args, dir);
    assert!(purged.status.success(), "{}", stderr(&purged));
    assert!(stdout(&purged).contains(&format!("default.c#{}", ids[1])), "{}", stdout(&purged));
    let db = reopen(dir);
    let collection = db.collection("default", "c").unwrap();
    assert!(collection.list_trashed_partitions().is_empty());
    assert_eq!(collection.count(), 120);

    // A purge by id of a partition dropped since.
    collection.drop_partition("back").unwrap();
    drop((collection, db));
    let args = [&["trash", "purge-partition"][..], &of, &[ids[0].as_str()]].concat();
    let purged = quiver(&args, dir);
    assert!(purged.status.success(), "{}", stderr(&purged));
    let again = quiver(&args, dir);
    assert!(!again.status.success());
    assert!(reopen(dir).collection("default", "c").unwrap().list_trashed_partitions().is_empty());

    let shown = quiver(&["audit", "show", "--data-dir", "data", "--kind", "admin"], dir);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let admin = stdout(&shown);
    assert_eq!(admin.matches("partition id").count(), 4, "{admin}");
    let verified = quiver(&["audit", "verify", "--data-dir", "data"], dir);
    assert!(verified.status.success(), "{}", stderr(&verified));
}
