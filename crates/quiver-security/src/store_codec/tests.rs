use proptest::prelude::*;
use quiver_storage::{BlockFile, BlockFileWriter};

use super::{KIND, SECURITY_FILE, VERSION, decode, encode};
use crate::SecurityError;
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
    s
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
    assert_eq!(decode(encode(&state)).unwrap(), state);
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
