//! `quiver backup create|verify|restore` through the real binary: exit codes, the reasons
//! printed on failure, and the audit records of a backup and a restore.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs;

use support::{data_dir, quiver, stderr, stdout};

#[test]
fn backup_create_verify_and_restore_exit_zero_and_are_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = data_dir(dir);

    let created = quiver(&["backup", "create", "--data-dir", "data", "--to", "backup"], dir);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(stdout(&created).contains("backup of data written to backup"), "{}", stdout(&created));
    assert!(!dir.join("backup/data/LOCK").exists());

    let verified =
        quiver(&["backup", "verify", "backup", "--master-key-file", "data.master-key"], dir);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(stdout(&verified).contains("intact"), "{}", stdout(&verified));

    let restored = quiver(
        &[
            "backup",
            "restore",
            "backup",
            "--data-dir",
            "restored",
            "--master-key-file",
            "data.master-key",
        ],
        dir,
    );
    assert!(restored.status.success(), "{}", stderr(&restored));
    assert!(dir.join("restored.audit-key").exists());
    drop(db);

    // The backup is recorded in the source's audit log, the restore in the new one's.
    for (data, action) in [("data", "backup"), ("restored", "restore")] {
        let shown = quiver(&["audit", "show", "--data-dir", data, "--kind", "admin"], dir);
        assert!(shown.status.success(), "{}", stderr(&shown));
        assert!(stdout(&shown).contains(&format!("\"action\":\"{action}\"")), "{}", stdout(&shown));
        let verified = quiver(&["audit", "verify", "--data-dir", data], dir);
        assert!(verified.status.success(), "{}", stdout(&verified));
    }
}

#[test]
fn backup_commands_exit_non_zero_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let _db = data_dir(dir);
    // A running server holds the audit log: the backup is still made, and says it is not
    // recorded there.
    let key = quiver_audit::AuditKey::from_file(&dir.join("data.audit-key")).unwrap();
    let log = quiver_audit::AuditLog::open(&dir.join("data"), key, Default::default()).unwrap();
    let created = quiver(&["backup", "create", "--data-dir", "data", "--to", "backup"], dir);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(stderr(&created).contains("a running server holds it"), "{}", stderr(&created));
    drop(log);

    // verify has no data directory: the key must be given.
    let no_key = quiver(&["backup", "verify", "backup"], dir);
    assert!(!no_key.status.success());
    assert!(stderr(&no_key).contains("--master-key-file"), "{}", stderr(&no_key));

    // A changed byte: verify and restore fail naming the file; nothing is restored.
    let wal = fs::read_dir(dir.join("backup/data/collections"))
        .unwrap()
        .map(|e| e.unwrap().path().join("wal"))
        .next()
        .unwrap();
    let file = fs::read_dir(&wal).unwrap().next().unwrap().unwrap().path();
    let mut bytes = fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(&file, bytes).unwrap();
    let name = file.file_name().unwrap().to_str().unwrap().to_owned();
    let verified =
        quiver(&["backup", "verify", "backup", "--master-key-file", "data.master-key"], dir);
    assert!(!verified.status.success());
    assert!(stderr(&verified).contains(&name), "{}", stderr(&verified));
    let restored = quiver(
        &[
            "backup",
            "restore",
            "backup",
            "--data-dir",
            "restored",
            "--master-key-file",
            "data.master-key",
        ],
        dir,
    );
    assert!(!restored.status.success());
    assert!(stderr(&restored).contains(&name), "{}", stderr(&restored));
    assert!(!dir.join("restored").exists());

    // A second backup into the same place is refused.
    let again = quiver(&["backup", "create", "--data-dir", "data", "--to", "backup"], dir);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("must not exist or must be an empty directory"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_backup_is_audited_under_the_audit_key_file_given() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    drop(data_dir(dir));
    fs::create_dir(dir.join("keys")).unwrap();
    fs::rename(dir.join("data.audit-key"), dir.join("keys/audit.key")).unwrap();

    // Without the key at its default place, the backup is made and says it is unrecorded.
    let unrecorded = quiver(&["backup", "create", "--data-dir", "data", "--to", "b1"], dir);
    assert!(unrecorded.status.success(), "{}", stderr(&unrecorded));
    assert!(stderr(&unrecorded).contains("not recorded"), "{}", stderr(&unrecorded));
    let args = ["backup", "create", "--data-dir", "data", "--to", "b2"];
    let recorded = quiver(&[&args[..], &["--audit-key-file", "keys/audit.key"]].concat(), dir);
    assert!(recorded.status.success(), "{}", stderr(&recorded));
    assert!(!stderr(&recorded).contains("not recorded"), "{}", stderr(&recorded));

    let show = ["audit", "show", "--data-dir", "data", "--kind", "admin"];
    let shown = quiver(&[&show[..], &["--audit-key-file", "keys/audit.key"]].concat(), dir);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let admin = stdout(&shown);
    assert_eq!(admin.matches("\"action\":\"backup\"").count(), 1, "{admin}");
    assert!(admin.contains("b2") && !admin.contains("b1"), "{admin}");
}
