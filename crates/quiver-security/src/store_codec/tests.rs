use proptest::prelude::*;
use quiver_storage::{BlockFile, BlockFileWriter};

use super::{KIND, SECURITY_FILE, VERSION, decode, encode};
use crate::SecurityError;
use crate::api_key::{KeyDigest, MAX_API_KEYS_PER_USER};
use crate::hash::test_hash;
use crate::state::SecurityState;

/// A state using every kind of record.
fn sample() -> SecurityState {
    let mut s = SecurityState::initial(test_hash(), 7);
    s.create_user("alice", test_hash(), 8).unwrap();
    s.create_role("readers").unwrap();
    s.add_user_to_role("alice", "readers").unwrap();
    s.create_privilege_group("g").unwrap();
    s.add_privileges_to_group("g", &["Search", "Query"]).unwrap();
    for (privilege, db, collection) in [("g", "default", "books"), ("ClusterReadOnly", "*", "*")] {
        let target = s.grant_target_v2("readers", privilege, db, collection).unwrap();
        s.grant(&target, "root").unwrap();
    }
    add_keys(&mut s);
    s
}

/// API keys of every shape: with and without expiry and roles.
fn add_keys(s: &mut SecurityState) {
    let key = |n: u8| ("0123456789abcd".to_owned() + &format!("{n:02x}"), KeyDigest([n; 32]));
    let (id, digest) = key(1);
    s.create_api_key("alice", "ci", &["readers".to_owned()], Some(100), 8, id, digest).unwrap();
    let (id, digest) = key(2);
    s.create_api_key("root", "_ops", &["admin".to_owned()], None, 9, id, digest).unwrap();
    let (id, digest) = key(3);
    s.create_api_key("alice", "bare", &[], None, 10, id, digest).unwrap();
}

/// Encodes a state that breaks an invariant (valid checksums) and expects it refused.
#[track_caller]
fn refused(damage: impl FnOnce(&mut SecurityState), reason: &str) {
    let mut state = sample();
    damage(&mut state);
    match decode(encode(&state)) {
        Err(SecurityError::Corrupt { path, reason: got, offset }) => {
            assert_eq!(path, SECURITY_FILE);
            assert!(got.contains(reason), "expected {reason:?}, got {got:?}");
            assert!(offset >= 16, "offset {offset} points into the block");
        }
        other => panic!("expected corruption {reason:?}, got {other:?}"),
    }
}

fn body_of(file: Vec<u8>) -> Vec<u8> {
    let parsed = BlockFile::parse(SECURITY_FILE, file, KIND, VERSION).unwrap();
    parsed.block(0).unwrap().to_vec()
}

/// Wraps a (possibly damaged) body in a file with valid checksums.
fn file_of(body: &[u8]) -> Vec<u8> {
    let mut writer = BlockFileWriter::new(KIND, VERSION);
    writer.add_block(body);
    writer.finish()
}

#[test]
fn encode_then_decode_is_identity() {
    let state = sample();
    assert_eq!(state.api_keys.len(), 3);
    assert_eq!(decode(encode(&state)).unwrap(), state);
    let parsed = BlockFile::parse(SECURITY_FILE, encode(&state), KIND, VERSION).unwrap();
    assert_eq!(parsed.version(), 2);
}

#[test]
fn version_1_files_are_read_as_states_without_keys() {
    let mut state = sample();
    state.api_keys.clear();
    // A version 1 body is the version 2 body without the API key section (here an empty
    // list: its u64 count).
    let body = body_of(encode(&state));
    let v1_body = &body[..body.len() - 8];
    let mut writer = BlockFileWriter::new(KIND, 1);
    writer.add_block(v1_body);
    assert_eq!(decode(writer.finish()).unwrap(), state);
    // A version 1 file with a key section has bytes left over.
    let mut writer = BlockFileWriter::new(KIND, 1);
    writer.add_block(&body);
    assert!(matches!(decode(writer.finish()), Err(SecurityError::Corrupt { .. })));
    // There is no version 0.
    let mut writer = BlockFileWriter::new(KIND, 0);
    writer.add_block(v1_body);
    assert!(matches!(decode(writer.finish()), Err(SecurityError::Corrupt { .. })));
}

#[test]
fn api_keys_breaking_an_invariant_are_corrupt() {
    let first = "0123456789abcd01";
    refused(|s| s.api_keys.get_mut(first).unwrap().user = "ghost".to_owned(), "unknown user");
    refused(
        |s| {
            s.api_keys.get_mut(first).unwrap().roles.insert("admin".to_owned());
        },
        "role its user does not",
    );
    refused(
        |s| {
            s.api_keys.get_mut(first).unwrap().roles.insert("public".to_owned());
        },
        "role its user does not",
    );
    refused(|s| s.users.get_mut("alice").unwrap().roles.clear(), "role its user does not");
    refused(|s| s.api_keys.get_mut(first).unwrap().name = "bare".to_owned(), "duplicate");
    refused(|s| s.api_keys.get_mut(first).unwrap().name = "no-dash".to_owned(), "key name");
    refused(|s| s.api_keys.get_mut(first).unwrap().expires_unix_secs = Some(8), "expiry");
    refused(
        |s| {
            let key = s.api_keys.remove(first).unwrap();
            s.api_keys.insert("0123456789ABCD01".to_owned(), key);
        },
        "key id",
    );
    refused(
        |s| {
            let key = s.api_keys.remove(first).unwrap();
            s.api_keys.insert("0123".to_owned(), key);
        },
        "key id",
    );
    refused(
        |s| {
            let key = s.api_keys.remove(first).unwrap();
            s.api_keys.insert("0123456789abcdef0".to_owned(), key);
        },
        "length exceeds",
    );
    refused(
        |s| {
            for i in 0..=MAX_API_KEYS_PER_USER {
                let mut key = s.api_keys[first].clone();
                key.name = format!("k{i}");
                s.api_keys.insert(format!("{i:016x}"), key);
            }
        },
        "too many API keys",
    );
}

#[test]
fn an_expiry_flag_and_value_must_agree() {
    let mut state = sample();
    state.api_keys.retain(|_, key| key.expires_unix_secs.is_none() && key.user == "root");
    let mut body = body_of(encode(&state));
    // The key record ends with: has_expiry u8, expires u64, role count u64, "admin" (8 + 5).
    let at = body.len() - (1 + 8 + 8 + 8 + 5);
    assert_eq!(body[at], 0);
    body[at + 1] = 7;
    match decode(file_of(&body)) {
        Err(SecurityError::Corrupt { reason, .. }) => {
            assert!(reason.contains("expiry"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    body[at + 1] = 0;
    body[at] = 2;
    assert!(matches!(decode(file_of(&body)), Err(SecurityError::Corrupt { .. })));
    body[at] = 0;
    assert_eq!(decode(file_of(&body)).unwrap(), state);
}

#[test]
fn every_truncation_of_the_body_is_corrupt() {
    let body = body_of(encode(&sample()));
    for len in 0..body.len() {
        match decode(file_of(&body[..len])) {
            Err(SecurityError::Corrupt { path, .. }) => assert_eq!(path, SECURITY_FILE),
            other => panic!("body cut to {len} bytes: {other:?}"),
        }
    }
    let mut longer = body.clone();
    longer.push(0);
    assert!(matches!(decode(file_of(&longer)), Err(SecurityError::Corrupt { .. })));
}

#[test]
fn a_huge_count_is_refused_before_allocating() {
    let mut body = body_of(encode(&sample()));
    // The group count follows the u64 next_generation.
    body[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    match decode(file_of(&body)) {
        Err(SecurityError::Corrupt { reason, offset, .. }) => {
            assert!(reason.contains("length exceeds"), "{reason}");
            assert_eq!(offset, 16 + 8);
        }
        other => panic!("{other:?}"),
    }
}

proptest! {
    /// Damage behind valid checksums (a bug, or a hand-edited file) decodes to an error or to a
    /// state that passes every check, never to a panic.
    #[test]
    fn damaged_bodies_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut body = body_of(encode(&sample()));
        for (index, value) in flips {
            let at = index.index(body.len());
            body[at] = value;
        }
        match decode(file_of(&body)) {
            Ok(state) => prop_assert_eq!(decode(encode(&state)).unwrap(), state),
            Err(SecurityError::Corrupt { path, .. }) => prop_assert_eq!(path, SECURITY_FILE),
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}
