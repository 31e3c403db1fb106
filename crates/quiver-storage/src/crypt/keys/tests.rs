use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;

use ring::rand::SystemRandom;

use crate::crypt::keys::{DataKey, KEY_LEN, MasterKey, Scope};
use crate::error::StorageError;

const HEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn key_text() -> String {
    format!("qmk1_{HEX_KEY}\n")
}

/// Writes `text` to a file with `mode` and loads it.
fn load_with(text: &[u8], mode: u32) -> Result<MasterKey, StorageError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    fs::write(&path, text).unwrap();
    #[cfg(unix)]
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    #[cfg(not(unix))]
    let _ = mode;
    MasterKey::load(&path)
}

#[track_caller]
fn assert_refused(result: Result<MasterKey, StorageError>, reason_part: &str) {
    match result {
        Err(err @ StorageError::MasterKeyFile { .. }) => {
            let message = err.to_string();
            assert!(message.contains(reason_part), "{message:?} lacks {reason_part:?}");
            assert!(!message.contains(&HEX_KEY[..16]), "the error shows key material: {message}");
        }
        other => panic!("expected MasterKeyFile, got {other:?}"),
    }
}

#[test]
fn generated_key_file_is_private_and_loads_to_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let key = MasterKey::generate_to(&path).unwrap();
    #[cfg(unix)]
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("qmk1_") && text.ends_with('\n') && text.len() == 70, "{text:?}");
    let loaded = MasterKey::load(&path).unwrap();
    assert_eq!(loaded.id(), key.id());
    assert_eq!(MasterKey::from_text(&text, "env").unwrap().id(), key.id());
}

#[test]
fn generate_to_never_replaces_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    fs::write(&path, "precious").unwrap();
    match MasterKey::generate_to(&path) {
        Err(StorageError::Io { op: "create", .. }) => {}
        other => panic!("expected a create error, got {other:?}"),
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), "precious");
}

#[test]
fn generated_keys_differ() {
    let a = MasterKey::generate().unwrap();
    let b = MasterKey::generate().unwrap();
    assert_ne!(a.id(), b.id());
}

#[cfg(unix)]
#[test]
fn key_file_readable_by_group_or_others_is_refused() {
    for mode in [0o640, 0o604, 0o660, 0o644, 0o606, 0o700 | 0o040] {
        assert_refused(load_with(key_text().as_bytes(), mode), "chmod 600");
    }
    assert!(load_with(key_text().as_bytes(), 0o400).is_ok());
    assert!(load_with(key_text().as_bytes(), 0o600).is_ok());
}

#[test]
fn key_file_not_exactly_in_the_format_is_refused() {
    let upper = format!("qmk1_{}\n", HEX_KEY.to_uppercase());
    let short = format!("qmk1_{}\n", &HEX_KEY[..62]);
    let long = format!("qmk1_{HEX_KEY}00\n");
    let two_newlines = format!("qmk1_{HEX_KEY}\n\n");
    let spaces = format!(" qmk1_{HEX_KEY}\n");
    let crlf = format!("qmk1_{HEX_KEY}\r\n");
    let no_prefix = format!("{HEX_KEY}\n");
    let cases: Vec<(&[u8], &str)> = vec![
        (upper.as_bytes(), "lowercase hexadecimal"),
        (short.as_bytes(), "exactly 64"),
        (long.as_bytes(), "exactly 64"),
        (two_newlines.as_bytes(), "exactly 64"),
        (spaces.as_bytes(), "qmk1_"),
        (crlf.as_bytes(), "exactly 64"),
        (no_prefix.as_bytes(), "qmk1_"),
        (b"", "qmk1_"),
        (&[0xff; 32], "not text"),
        (&[b'q'; 200], "longer than"),
    ];
    for (text, reason) in cases {
        assert_refused(load_with(text, 0o600), reason);
    }
    // Without the newline is the same key.
    let bare = load_with(format!("qmk1_{HEX_KEY}").as_bytes(), 0o600).unwrap();
    assert_eq!(bare.id(), load_with(key_text().as_bytes(), 0o600).unwrap().id());
}

#[test]
fn directory_is_not_a_key_file() {
    let dir = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    assert_refused(MasterKey::load(dir.path()), "regular file");
}

#[test]
fn key_id_is_stable_and_shown_in_hex_never_the_key() {
    let key = MasterKey::from_text(&key_text(), "test").unwrap();
    let id = key.id().to_string();
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{id}");
    assert_eq!(MasterKey::from_text(&key_text(), "again").unwrap().id().to_string(), id);
    // The id is derived, not a prefix of the key.
    assert!(!HEX_KEY.contains(&id), "{id}");
    let debug = format!("{key:?}");
    assert!(debug.contains(&id), "{debug}");
    assert!(!debug.contains(&HEX_KEY[..8]) && !debug.contains("[0, 1, 2"), "{debug}");
}

#[test]
fn data_key_debug_is_redacted() {
    let key = DataKey::from_bytes([7u8; KEY_LEN]);
    assert_eq!(format!("{key:?}"), "DataKey(<redacted>)");
    let random = DataKey::generate(&SystemRandom::new()).unwrap();
    assert_eq!(format!("{random:?}"), "DataKey(<redacted>)");
}

#[test]
fn scope_of_a_key_is_its_collection_or_the_system() {
    assert_eq!(Scope::of_key("catalog.qvc"), Some(Scope::System));
    assert_eq!(Scope::of_key("security.qvs"), Some(Scope::System));
    assert_eq!(Scope::of_key("collections/7/MANIFEST"), Some(Scope::Collection(7)));
    assert_eq!(
        Scope::of_key("collections/12/wal/00000000000000000001.wal"),
        Some(Scope::Collection(12))
    );
    assert_eq!(Scope::of_key("collections/x/MANIFEST"), None);
    assert_eq!(Scope::of_key("collections//MANIFEST"), None);
    assert_eq!(Scope::of_key("collections/99999999999999999999999/MANIFEST"), None);
    assert_eq!(Scope::of_key("collectionsX/1"), Some(Scope::System));
}

#[test]
fn derived_keys_are_stable_per_label_and_differ_across_labels_and_master_keys() {
    let key = MasterKey::from_text(&key_text(), "test").unwrap();
    let again = MasterKey::from_text(&key_text(), "test").unwrap();
    let a = key.derive_key("backup-manifest").unwrap();
    assert_eq!(a.as_bytes(), again.derive_key("backup-manifest").unwrap().as_bytes());
    assert_ne!(a.as_bytes(), key.derive_key("other").unwrap().as_bytes());
    assert_ne!(
        a.as_bytes(),
        MasterKey::generate().unwrap().derive_key("backup-manifest").unwrap().as_bytes()
    );
    assert_ne!(a.as_bytes(), &[0u8; KEY_LEN]);
    assert_eq!(format!("{a:?}"), "DerivedKey(<redacted>)");
}
