use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::error::AuditError;
use crate::key::AuditKey;

#[test]
fn key_file_round_trips_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.key");
    let created = AuditKey::create_file(&path).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let loaded = AuditKey::from_file(&path).unwrap();
    assert_eq!(created.key_id(), loaded.key_id());
    assert_eq!(created.sign_record(b"x"), loaded.sign_record(b"x"));
    assert!(AuditKey::create_file(&path).is_err(), "an existing key file is never replaced");
}

#[test]
fn key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.key");
    fs::write(&path, format!("{}\n", "ab".repeat(32))).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    match AuditKey::from_file(&path) {
        Err(AuditError::KeyFile { reason, .. }) => {
            assert!(reason.contains("chmod 600"), "{reason}")
        }
        other => panic!("expected KeyFile, got {other:?}"),
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    AuditKey::from_file(&path).unwrap();
}

#[test]
fn malformed_key_file_is_refused_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.key");
    for contents in ["", "abc", &"zz".repeat(32), &"ab".repeat(33), &"ab".repeat(100)] {
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        match AuditKey::from_file(&path) {
            Err(err @ AuditError::KeyFile { .. }) => {
                if contents.len() >= 8 {
                    assert!(!err.to_string().contains(&contents[..8]), "{err}");
                }
            }
            other => panic!("expected KeyFile for {contents:?}, got {other:?}"),
        }
    }
    fs::write(&path, format!("{}\r\n", "AB".repeat(32))).unwrap();
    let upper = AuditKey::from_file(&path).unwrap();
    assert_eq!(upper.key_id(), AuditKey::from_bytes([0xab; 32]).key_id(), "either case");
}

#[test]
fn debug_shows_the_key_id_only() {
    let key = AuditKey::from_bytes([0x5a; 32]);
    let shown = format!("{key:?}");
    assert!(shown.contains("redacted"), "{shown}");
    assert!(!shown.contains("5a5a5a5a"), "{shown}");
}

#[test]
fn record_and_head_macs_are_domain_separated() {
    let key = AuditKey::from_bytes([1; 32]);
    assert_ne!(key.sign_record(b"same bytes"), key.sign_head(b"same bytes"));
    let mac = key.sign_record(b"same bytes");
    assert!(key.verify_record(b"same bytes", &mac));
    assert!(!key.verify_head(b"same bytes", &mac));
    assert_ne!(AuditKey::from_bytes([2; 32]).key_id(), key.key_id());
}
