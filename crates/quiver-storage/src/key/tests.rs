use super::{parent_key, validate_key};
use crate::error::StorageError;

#[track_caller]
fn check_rejected(key: &str, expected_reason: &str) {
    match validate_key(key) {
        Err(StorageError::InvalidKey { key: got_key, reason }) => {
            assert_eq!(got_key, key);
            assert_eq!(reason, expected_reason, "key {key:?}");
        }
        other => panic!("key {key:?} should be rejected, got {other:?}"),
    }
}

#[test]
fn accepts_plain_relative_keys() {
    for key in ["a", "collections/7/wal/00000000000000000001.wal", "x.tmp", "a/b..c/.hidden"] {
        assert!(validate_key(key).is_ok(), "{key:?} should be accepted");
    }
}

#[test]
fn rejects_unsafe_keys() {
    check_rejected("", "key is empty");
    check_rejected("/etc/passwd", "key is absolute");
    check_rejected("..", "key has a '..' component");
    check_rejected("a/../../b", "key has a '..' component");
    check_rejected("a/..", "key has a '..' component");
    check_rejected(".", "key has a '.' component");
    check_rejected("a/./b", "key has a '.' component");
    check_rejected("a//b", "key has an empty component");
    check_rejected("a/", "key has an empty component");
    check_rejected("a\\..\\b", "key contains a backslash");
    check_rejected("a\0b", "key contains a NUL byte");
    check_rejected(&"k".repeat(1025), "key is longer than 1024 bytes");
}

#[test]
fn parent_of_nested_and_top_level_keys() {
    assert_eq!(parent_key("a/b/c"), Some("a/b"));
    assert_eq!(parent_key("a"), None);
}
