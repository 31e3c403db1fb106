use std::fs;
use std::io;

use super::LocalBackend;
use crate::backend::Backend;
use crate::error::StorageError;

fn backend() -> (tempfile::TempDir, LocalBackend) {
    let temp = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(temp.path().join("root")).unwrap();
    (temp, backend)
}

#[test]
fn new_creates_the_root() {
    let (temp, backend) = backend();
    assert!(temp.path().join("root").is_dir());
    assert_eq!(backend.root(), temp.path().join("root"));
}

#[test]
fn whole_file_writes_and_reads() {
    let (_temp, backend) = backend();
    backend.create_dir_all("a/b").unwrap();
    backend.create_dir_all("a/b").unwrap();
    backend.write_new("a/b/one", b"first").unwrap();
    assert_eq!(backend.read("a/b/one").unwrap(), b"first");
    match backend.write_new("a/b/one", b"again") {
        Err(StorageError::Io { op: "create", path, source }) => {
            assert_eq!(path, "a/b/one");
            assert_eq!(source.kind(), io::ErrorKind::AlreadyExists);
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    backend.write_atomic("a/b/one", b"replaced").unwrap();
    assert_eq!(backend.read("a/b/one").unwrap(), b"replaced");
    assert!(!backend.exists("a/b/one.tmp").unwrap(), "the temporary file was renamed away");
    backend.write_atomic("a/new", b"created").unwrap();
    assert_eq!(backend.read("a/new").unwrap(), b"created");
}

#[test]
fn missing_files_and_directories() {
    let (_temp, backend) = backend();
    let error = backend.read("nope").unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert_eq!(error.to_string().split(':').next(), Some("read nope"));
    assert!(!backend.exists("nope").unwrap());
    assert_eq!(backend.list("nope").unwrap(), Vec::<String>::new());
    backend.remove_file("nope").unwrap();
    backend.remove_dir_all("nope").unwrap();
    assert!(backend.write_new("no/dir/file", b"x").is_err(), "parents are not created implicitly");
}

#[test]
fn list_is_sorted_and_holds_files_and_directories() {
    let (_temp, backend) = backend();
    backend.create_dir_all("d/sub").unwrap();
    for name in ["c", "a", "b"] {
        backend.write_new(&format!("d/{name}"), name.as_bytes()).unwrap();
    }
    assert_eq!(backend.list("d").unwrap(), vec!["a", "b", "c", "sub"]);
}

#[test]
fn append_truncate_rename_remove() {
    let (_temp, backend) = backend();
    backend.create_dir_all("log").unwrap();
    let mut file = backend.open_append("log/f").unwrap();
    file.append(b"hello ").unwrap();
    file.append(b"world").unwrap();
    file.sync().unwrap();
    drop(file);
    let mut file = backend.open_append("log/f").unwrap();
    file.append(b"!").unwrap();
    file.sync().unwrap();
    assert_eq!(backend.read("log/f").unwrap(), b"hello world!");

    backend.truncate("log/f", 5).unwrap();
    assert_eq!(backend.read("log/f").unwrap(), b"hello");
    file.append(b"?").unwrap();
    assert_eq!(backend.read("log/f").unwrap(), b"hello?", "append mode writes at the end");

    backend.create_dir_all("other").unwrap();
    backend.rename("log/f", "other/g").unwrap();
    assert!(!backend.exists("log/f").unwrap());
    assert_eq!(backend.read("other/g").unwrap(), b"hello?");

    backend.remove_file("other/g").unwrap();
    assert!(!backend.exists("other/g").unwrap());
    backend.remove_dir_all("other").unwrap();
    assert_eq!(backend.list("other").unwrap(), Vec::<String>::new());
}

#[test]
fn unsafe_keys_never_touch_anything_outside_the_root() {
    let (temp, backend) = backend();
    fs::write(temp.path().join("outside"), b"keep").unwrap();
    let bad_keys = ["../outside", "/tmp/x", "", "a/../../outside", "./x", "a\\b", "x\0y"];
    for key in bad_keys {
        let is_invalid = |result: Result<(), StorageError>| {
            matches!(result, Err(StorageError::InvalidKey { .. }))
        };
        assert!(is_invalid(backend.read(key).map(drop)), "read {key:?}");
        assert!(is_invalid(backend.exists(key).map(drop)), "exists {key:?}");
        assert!(is_invalid(backend.list(key).map(drop)), "list {key:?}");
        assert!(is_invalid(backend.create_dir_all(key)), "create_dir_all {key:?}");
        assert!(is_invalid(backend.write_new(key, b"x")), "write_new {key:?}");
        assert!(is_invalid(backend.write_atomic(key, b"x")), "write_atomic {key:?}");
        assert!(is_invalid(backend.open_append(key).map(drop)), "open_append {key:?}");
        assert!(is_invalid(backend.truncate(key, 0)), "truncate {key:?}");
        assert!(is_invalid(backend.rename(key, "ok")), "rename from {key:?}");
        assert!(is_invalid(backend.rename("ok", key)), "rename to {key:?}");
        assert!(is_invalid(backend.remove_file(key)), "remove_file {key:?}");
        assert!(is_invalid(backend.remove_dir_all(key)), "remove_dir_all {key:?}");
    }
    assert_eq!(fs::read(temp.path().join("outside")).unwrap(), b"keep");
    assert_eq!(fs::read_dir(temp.path()).unwrap().count(), 2, "only root and outside exist");
}
