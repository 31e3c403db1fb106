use ring::rand::SystemRandom;

use crate::crypt::keyring::{Keyring, decode, encode};
use crate::crypt::keys::{DataKey, MasterKey, Scope};
use crate::error::StorageError;

/// A keyring with the system key and collections 3 and 9, and its file under `master`.
fn sample(master: &MasterKey) -> (Keyring, Vec<u8>) {
    let rng = SystemRandom::new();
    let mut keyring = Keyring::with_system_key(&rng).unwrap();
    keyring.insert(Scope::Collection(3), DataKey::generate(&rng).unwrap());
    keyring.insert(Scope::Collection(9), DataKey::generate(&rng).unwrap());
    let bytes = encode(&keyring.entries_with(None, None), master, &rng).unwrap();
    (keyring, bytes)
}

fn same_keys(a: &Keyring, b: &Keyring) -> bool {
    let scopes = [Scope::System, Scope::Collection(3), Scope::Collection(9)];
    a.collections() == b.collections()
        && scopes.iter().all(|scope| {
            a.get(*scope).map(|k| *k.as_bytes()) == b.get(*scope).map(|k| *k.as_bytes())
        })
}

/// Recomputes the trailing CRC, as someone editing the file on purpose would.
fn fix_crc(bytes: &mut [u8]) {
    let end = bytes.len() - 4;
    let crc = crc32c::crc32c(&bytes[..end]);
    bytes[end..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn keyring_round_trips_under_its_master_key() {
    let master = MasterKey::generate().unwrap();
    let (keyring, bytes) = sample(&master);
    let decoded = decode(&bytes, &master).unwrap();
    assert!(same_keys(&keyring, &decoded));
    assert_eq!(decoded.collections(), vec![3, 9]);
}

#[test]
fn wrong_master_key_is_refused_naming_both_key_ids() {
    let master = MasterKey::generate().unwrap();
    let other = MasterKey::generate().unwrap();
    let (_, bytes) = sample(&master);
    let err = decode(&bytes, &other).unwrap_err();
    match &err {
        StorageError::WrongMasterKey { expected, offered } => {
            assert_eq!((*expected, *offered), (master.id(), other.id()));
        }
        other => panic!("expected WrongMasterKey, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&master.id().to_string()), "{message}");
    assert!(message.contains(&other.id().to_string()), "{message}");
}

#[test]
fn every_flipped_byte_is_detected() {
    let master = MasterKey::generate().unwrap();
    let (_, bytes) = sample(&master);
    for pos in 0..bytes.len() {
        // Accidental damage: the checksum catches it.
        let mut damaged = bytes.clone();
        damaged[pos] ^= 0x10;
        match decode(&damaged, &master) {
            Err(StorageError::Corrupt { path, .. }) => assert_eq!(path, "keyring.qvk"),
            other => panic!("flip at {pos}: {other:?}"),
        }
        // Deliberate change with the checksum fixed: authentication catches it (or the
        // header checks, which come first).
        let end = damaged.len() - 4;
        if pos < end {
            fix_crc(&mut damaged);
            match decode(&damaged, &master) {
                Err(
                    StorageError::AuthenticationFailed { .. }
                    | StorageError::WrongMasterKey { .. }
                    | StorageError::UnsupportedVersion { .. }
                    | StorageError::Corrupt { .. },
                ) => {}
                other => panic!("flip at {pos} with the CRC fixed: {other:?}"),
            }
        }
    }
}

#[test]
fn entries_moved_dropped_or_replayed_fail_authentication() {
    let master = MasterKey::generate().unwrap();
    let (_, bytes) = sample(&master);
    let header = 24;
    let entry = 69;
    // Collection ids of entries 1 and 2 swapped (each wrapped key bound to its scope).
    let mut moved = bytes.clone();
    let (a, b) = (header + entry + 1, header + 2 * entry + 1);
    let id_a: Vec<u8> = moved[a..a + 8].to_vec();
    let id_b: Vec<u8> = moved[b..b + 8].to_vec();
    moved[a..a + 8].copy_from_slice(&id_b);
    moved[b..b + 8].copy_from_slice(&id_a);
    fix_crc(&mut moved);
    assert!(matches!(decode(&moved, &master), Err(StorageError::AuthenticationFailed { .. })));
    // The last entry dropped, count adjusted.
    let mut dropped = bytes[..header + 2 * entry].to_vec();
    dropped[20..24].copy_from_slice(&2u32.to_le_bytes());
    dropped.extend_from_slice(&bytes[header + 3 * entry..]);
    fix_crc(&mut dropped);
    assert!(matches!(decode(&dropped, &master), Err(StorageError::AuthenticationFailed { .. })));
    // An entry of another keyring sealed with the same master key spliced in.
    let (_, second) = sample(&master);
    let mut spliced = bytes.clone();
    spliced[header + entry..header + 2 * entry]
        .copy_from_slice(&second[header + entry..header + 2 * entry]);
    fix_crc(&mut spliced);
    assert!(matches!(decode(&spliced, &master), Err(StorageError::AuthenticationFailed { .. })));
}

#[test]
fn truncated_keyring_is_corrupt() {
    let master = MasterKey::generate().unwrap();
    let (_, bytes) = sample(&master);
    for cut in [0, 10, 59, 60, bytes.len() - 1] {
        assert!(
            matches!(decode(&bytes[..cut], &master), Err(StorageError::Corrupt { .. })),
            "cut at {cut}"
        );
    }
}

#[test]
fn keyring_holds_no_data_key_in_clear() {
    let master = MasterKey::generate().unwrap();
    let (keyring, bytes) = sample(&master);
    for scope in [Scope::System, Scope::Collection(3), Scope::Collection(9)] {
        let key = keyring.get(scope).unwrap().as_bytes();
        assert!(!crate::crypt::test_support::contains(&bytes, &key[..8]), "{scope}");
    }
}
