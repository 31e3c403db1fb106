//! `quiver trash list|restore|purge` through the real binary, on a stopped server's data
//! directory: a dropped collection is listed, restored with its rows, and purged as expired
//! only under the retention the server's config file sets.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs;

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
