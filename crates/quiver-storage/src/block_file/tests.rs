use proptest::prelude::*;

use super::{BlockFile, BlockFileWriter};
use crate::error::StorageError;

const KIND: [u8; 8] = *b"QVSEGMT\0";
const PATH: &str = "collections/7/segments/00000000000000000001.seg";

fn build(version: u32, blocks: &[&[u8]]) -> Vec<u8> {
    let mut writer = BlockFileWriter::new(KIND, version);
    for (index, block) in blocks.iter().enumerate() {
        assert_eq!(writer.add_block(block), index);
    }
    writer.finish()
}

#[track_caller]
fn check_round_trip(blocks: &[&[u8]]) {
    let bytes = build(3, blocks);
    let file = BlockFile::parse(PATH, bytes, KIND, 3).unwrap();
    assert_eq!((file.version(), file.num_blocks(), file.path()), (3, blocks.len(), PATH));
    let mut offset = 16;
    for (index, block) in blocks.iter().enumerate() {
        assert_eq!(file.block(index), Some(*block));
        assert_eq!(file.block_offset(index), Some(offset));
        offset += block.len() as u64;
    }
    assert_eq!(file.block(blocks.len()), None);
}

#[test]
fn round_trips() {
    check_round_trip(&[]);
    check_round_trip(&[b"one block"]);
    check_round_trip(&[b"a", b"", b"third block", &[0; 100]]);
}

proptest! {
    #[test]
    fn round_trip_random(blocks in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..64), 0..8)
    ) {
        let slices: Vec<&[u8]> = blocks.iter().map(Vec::as_slice).collect();
        let file = BlockFile::parse(PATH, build(1, &slices), KIND, 1).unwrap();
        prop_assert_eq!(file.num_blocks(), blocks.len());
        for (index, block) in blocks.iter().enumerate() {
            prop_assert_eq!(file.block(index), Some(block.as_slice()));
        }
    }
}

#[test]
fn every_flipped_byte_is_detected() {
    let bytes = build(1, &[b"first", b"", b"the third block"]);
    for pos in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut damaged = bytes.clone();
            damaged[pos] ^= mask;
            match BlockFile::parse(PATH, damaged, KIND, 1) {
                Err(StorageError::Corrupt { path, offset, .. }) => {
                    assert_eq!(path, PATH);
                    assert!(offset <= pos as u64, "flip at {pos} reported at {offset}");
                }
                Err(StorageError::UnsupportedVersion { found, .. }) => {
                    assert!((8..12).contains(&pos), "flip at {pos} read as version {found}");
                }
                Err(other) => panic!("flip {mask:#x} at {pos}: unexpected {other}"),
                Ok(_) => panic!("flip {mask:#x} at {pos} was not detected"),
            }
        }
    }
}

#[test]
fn truncation_and_extension_are_detected() {
    let bytes = build(1, &[b"first", b"second"]);
    for len in 0..bytes.len() {
        let result = BlockFile::parse(PATH, bytes[..len].to_vec(), KIND, 1);
        assert!(
            matches!(&result, Err(StorageError::Corrupt { path, .. }) if path == PATH),
            "truncated to {len}: {result:?}"
        );
    }
    let mut extended = bytes.clone();
    extended.extend_from_slice(&KIND);
    assert!(matches!(BlockFile::parse(PATH, extended, KIND, 1), Err(StorageError::Corrupt { .. })));
}

#[test]
fn wrong_kind_is_corrupt() {
    let bytes = build(1, &[b"x"]);
    match BlockFile::parse(PATH, bytes, *b"QVMANIF\0", 1) {
        Err(StorageError::Corrupt { offset: 0, reason, .. }) => assert!(reason.contains("magic")),
        other => panic!("expected Corrupt at 0, got {other:?}"),
    }
}

#[test]
fn versions_up_to_the_maximum_are_accepted() {
    assert_eq!(BlockFile::parse(PATH, build(1, &[]), KIND, 2).unwrap().version(), 1);
    match BlockFile::parse(PATH, build(3, &[]), KIND, 2) {
        Err(StorageError::UnsupportedVersion { path, found: 3, supported: 2 }) => {
            assert_eq!(path, PATH);
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}

#[test]
fn huge_block_count_is_rejected_without_allocating() {
    // A well-formed trailer (valid magic) claiming u64::MAX / 20 blocks.
    let mut bytes = build(1, &[]);
    let trailer = bytes.len() - 28;
    bytes[trailer + 8..trailer + 16].copy_from_slice(&(u64::MAX / 20).to_le_bytes());
    match BlockFile::parse(PATH, bytes, KIND, 1) {
        Err(StorageError::Corrupt { offset, .. }) => assert_eq!(offset, trailer as u64),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn block_errors_name_the_file_and_absolute_offset() {
    let file = BlockFile::parse(PATH, build(1, &[b"abc", b"defg"]), KIND, 1).unwrap();
    let mut decoder = crate::codec::Decoder::new(file.block(1).unwrap());
    let error = decoder.get_u64().unwrap_err();
    let corrupt = file.block_error(1, error);
    let StorageError::Corrupt { path, offset, .. } = corrupt else {
        panic!("expected Corrupt, got {corrupt:?}");
    };
    assert_eq!((path.as_str(), offset), (PATH, 19));
}
