use ring::rand::SystemRandom;

use crate::crypt::format::{
    CHUNK_LEN, Class, FILE_HEADER_LEN, FRAME_HEADER_LEN, SALT_LEN, Shape, StreamWriter, TAG_LEN,
    file_header, open_sealed, open_stream, scan_stream, seal, sealed_len, shape,
};
use crate::crypt::keys::{DataKey, KEY_LEN};
use crate::crypt::test_support::contains;
use crate::error::StorageError;

const PATH: &str = "collections/3/segments/00000000000000000001.qvs";

fn data_key(seed: u8) -> DataKey {
    DataKey::from_bytes([seed; KEY_LEN])
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 % 251) as u8 ^ 0x5a).collect()
}

/// Reads `bytes` as the file `path` would be read: by shape, then class.
fn read(path: &str, key: &DataKey, bytes: Vec<u8>) -> Result<Vec<u8>, StorageError> {
    match shape(path, &bytes)? {
        Shape::Empty => Ok(Vec::new()),
        Shape::Sealed => open_sealed(path, key, bytes),
        Shape::Stream => open_stream(path, key, bytes),
    }
}

#[track_caller]
fn assert_auth_failed(result: Result<Vec<u8>, StorageError>, path: &str) {
    match result {
        Err(StorageError::AuthenticationFailed { path: got, .. }) => assert_eq!(got, path),
        other => panic!("expected AuthenticationFailed for {path}, got {other:?}"),
    }
}

/// Sealed file sizes at and around the chunk boundaries.
fn sizes() -> Vec<usize> {
    vec![0, 1, 100, CHUNK_LEN - 1, CHUNK_LEN, CHUNK_LEN + 1, 2 * CHUNK_LEN, 3 * CHUNK_LEN + 7]
}

#[test]
fn sealed_files_round_trip_at_every_chunk_boundary() {
    let rng = SystemRandom::new();
    let key = data_key(1);
    for len in sizes() {
        let data = plaintext(len);
        let sealed = seal(PATH, &key, &rng, &data).unwrap();
        assert_eq!(sealed.len(), sealed_len(len), "len {len}");
        assert_eq!(shape(PATH, &sealed).unwrap(), Shape::Sealed);
        assert_eq!(read(PATH, &key, sealed).unwrap(), data, "len {len}");
    }
}

#[test]
fn sealed_file_holds_no_plaintext_and_a_new_salt_each_time() {
    let rng = SystemRandom::new();
    let key = data_key(1);
    let data = b"a known string: the quick brown fox jumps over the lazy dog".repeat(50);
    let first = seal(PATH, &key, &rng, &data).unwrap();
    let second = seal(PATH, &key, &rng, &data).unwrap();
    assert!(!contains(&first, b"quick brown fox"));
    let salt = |bytes: &[u8]| bytes[FILE_HEADER_LEN..FILE_HEADER_LEN + SALT_LEN].to_vec();
    assert_ne!(salt(&first), salt(&second), "every write draws a new salt");
    assert_ne!(first[FILE_HEADER_LEN + SALT_LEN..], second[FILE_HEADER_LEN + SALT_LEN..]);
}

#[test]
fn every_flipped_byte_of_a_sealed_file_is_refused() {
    let rng = SystemRandom::new();
    let key = data_key(1);
    let sealed = seal(PATH, &key, &rng, &plaintext(40)).unwrap();
    for pos in 0..sealed.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut damaged = sealed.clone();
            damaged[pos] ^= mask;
            match read(PATH, &key, damaged) {
                Err(
                    StorageError::AuthenticationFailed { path, .. }
                    | StorageError::Corrupt { path, .. }
                    | StorageError::NotEncrypted { path }
                    | StorageError::UnsupportedVersion { path, .. },
                ) => assert_eq!(path, PATH),
                other => panic!("flip {mask:#x} at {pos}: {other:?}"),
            }
        }
    }
}

#[test]
fn truncated_or_extended_sealed_file_fails_authentication() {
    let rng = SystemRandom::new();
    let key = data_key(1);
    let data = plaintext(3 * CHUNK_LEN + 7);
    let sealed = seal(PATH, &key, &rng, &data).unwrap();
    let body = FILE_HEADER_LEN + SALT_LEN;
    let stride = CHUNK_LEN + TAG_LEN;
    // Every chunk boundary, inside tags and chunks, one byte short, the header and salt.
    let mut cuts = vec![FILE_HEADER_LEN, body - 1, body, body + 1, sealed.len() - 1];
    for chunk in 1..=3 {
        cuts.extend([body + chunk * stride - 1, body + chunk * stride, body + chunk * stride + 5]);
    }
    for cut in cuts {
        assert_auth_failed(read(PATH, &key, sealed[..cut].to_vec()), PATH);
    }
    // A cut inside the header is refused too (not read as an empty file).
    assert_auth_failed(read(PATH, &key, sealed[..FILE_HEADER_LEN - 1].to_vec()), PATH);
    // Extended by garbage, by a copy of its last chunk, by a whole other chunk.
    let mut garbage = sealed.clone();
    garbage.extend_from_slice(&[9; 40]);
    assert_auth_failed(read(PATH, &key, garbage), PATH);
    let mut doubled_tail = sealed.clone();
    doubled_tail.extend_from_slice(&sealed[body + 3 * stride..]);
    assert_auth_failed(read(PATH, &key, doubled_tail), PATH);
    let mut extra_chunk = sealed[..body + 3 * stride].to_vec();
    extra_chunk.extend_from_slice(&sealed[body + stride..body + 2 * stride]);
    extra_chunk.extend_from_slice(&sealed[body + 3 * stride..]);
    assert_auth_failed(read(PATH, &key, extra_chunk), PATH);
}

#[test]
fn reordered_chunks_fail_authentication() {
    let rng = SystemRandom::new();
    let key = data_key(1);
    let sealed = seal(PATH, &key, &rng, &plaintext(3 * CHUNK_LEN)).unwrap();
    let body = FILE_HEADER_LEN + SALT_LEN;
    let stride = CHUNK_LEN + TAG_LEN;
    let mut swapped = sealed[..body].to_vec();
    swapped.extend_from_slice(&sealed[body + stride..body + 2 * stride]);
    swapped.extend_from_slice(&sealed[body..body + stride]);
    swapped.extend_from_slice(&sealed[body + 2 * stride..]);
    assert_eq!(swapped.len(), sealed.len());
    assert_auth_failed(read(PATH, &key, swapped), PATH);
}

#[test]
fn sealed_file_under_another_name_or_key_fails_authentication() {
    let rng = SystemRandom::new();
    let sealed = seal(PATH, &data_key(1), &rng, &plaintext(500)).unwrap();
    let other = "collections/3/segments/00000000000000000002.qvs";
    assert_auth_failed(read(other, &data_key(1), sealed.clone()), other);
    assert_auth_failed(read(PATH, &data_key(2), sealed), PATH);
}

#[test]
fn files_that_are_not_encrypted_are_refused_by_name() {
    let key = data_key(1);
    for bytes in [b"QVSEGMNT plaintext block file header".to_vec(), b"x".to_vec()] {
        match read(PATH, &key, bytes) {
            Err(StorageError::NotEncrypted { path }) => assert_eq!(path, PATH),
            other => panic!("expected NotEncrypted, got {other:?}"),
        }
    }
    let mut newer = file_header(Class::Sealed);
    newer[8..12].copy_from_slice(&2u32.to_le_bytes());
    let crc = crc32c::crc32c(&newer[..16]);
    newer[16..].copy_from_slice(&crc.to_le_bytes());
    match shape(PATH, &newer) {
        Err(StorageError::UnsupportedVersion { found: 2, supported: 1, .. }) => {}
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}

/// A stream of `frames` appends (each its own frame), in `sessions` sessions of equal size,
/// and the plaintext of each append.
fn stream(
    path: &str,
    key: &DataKey,
    lens: &[usize],
    session_every: usize,
) -> (Vec<u8>, Vec<Vec<u8>>) {
    let rng = SystemRandom::new();
    let mut file = Vec::new();
    let mut pieces = Vec::new();
    let mut offset = 0u64;
    let mut writer = None;
    for (index, len) in lens.iter().enumerate() {
        if index % session_every == 0 {
            writer = Some(StreamWriter::start(path, key, &rng, offset, index == 0).unwrap());
        }
        let writer = writer.as_mut().unwrap();
        let piece: Vec<u8> = plaintext(*len).iter().map(|b| b.wrapping_add(index as u8)).collect();
        writer.seal_frame(&mut file, &piece).unwrap();
        writer.written(piece.len()).unwrap();
        offset += piece.len() as u64;
        pieces.push(piece);
    }
    (file, pieces)
}

const WAL: &str = "collections/3/wal/00000000000000000001.wal";

#[test]
fn stream_round_trips_across_sessions() {
    let key = data_key(4);
    for session_every in [1, 2, 10] {
        let (file, pieces) = stream(WAL, &key, &[24, 100, 0, 7, 3000, 1], session_every);
        assert_eq!(shape(WAL, &file).unwrap(), Shape::Stream);
        assert_eq!(
            read(WAL, &key, file).unwrap(),
            pieces.concat(),
            "session every {session_every}"
        );
    }
}

#[test]
fn torn_last_frame_at_every_length_reads_the_frames_before() {
    let key = data_key(4);
    let (file, pieces) = stream(WAL, &key, &[24, 50, 60], 2);
    let layout = scan_stream(WAL, &file).unwrap();
    let last = *layout.frames.last().unwrap();
    for cut in last.offset..file.len() {
        let torn = file[..cut].to_vec();
        assert_eq!(read(WAL, &key, torn).unwrap(), pieces[..2].concat(), "cut at {cut}");
        assert_eq!(scan_stream(WAL, &file[..cut]).unwrap().valid_len, last.offset);
    }
    // The session frame of the last session torn as well: only the first frame stays.
    let session = layout.frames[2];
    for cut in session.offset..session.end() {
        assert_eq!(read(WAL, &key, file[..cut].to_vec()).unwrap(), pieces[0], "cut at {cut}");
    }
    // Zeros where the end of the file never reached the disk.
    let mut zeroed = file.clone();
    zeroed[last.offset..].fill(0);
    zeroed.extend_from_slice(&[0; 100]);
    assert_eq!(read(WAL, &key, zeroed).unwrap(), pieces[..2].concat());
}

#[test]
fn interrupted_stream_creation_reads_as_empty() {
    let key = data_key(4);
    let (file, _) = stream(WAL, &key, &[24], 1);
    for cut in 0..FILE_HEADER_LEN {
        assert_eq!(read(WAL, &key, file[..cut].to_vec()).unwrap(), b"", "cut at {cut}");
    }
    assert_eq!(read(WAL, &key, vec![0; 300]).unwrap(), b"");
    assert_eq!(read(WAL, &key, file[..FILE_HEADER_LEN + 5].to_vec()).unwrap(), b"");
}

#[test]
fn damage_inside_a_stream_is_refused_not_dropped() {
    let key = data_key(4);
    let (file, _) = stream(WAL, &key, &[24, 50, 60], 1);
    let frames = scan_stream(WAL, &file).unwrap().frames;
    // Every byte of every frame but a torn-looking tail: flipped, never read as data.
    for pos in FILE_HEADER_LEN..file.len() {
        let mut damaged = file.clone();
        damaged[pos] ^= 0x20;
        match read(WAL, &key, damaged) {
            Err(
                StorageError::AuthenticationFailed { path, .. }
                | StorageError::Corrupt { path, .. },
            ) => assert_eq!(path, WAL),
            other => panic!("flip at {pos}: {other:?}"),
        }
    }
    // Garbage after the last frame, at least a frame header long.
    let mut trailing = file.clone();
    trailing.extend_from_slice(&[7; FRAME_HEADER_LEN]);
    assert!(matches!(read(WAL, &key, trailing), Err(StorageError::Corrupt { .. })));
    // A middle session (its session and data frames) cut out: the offsets no longer match.
    let mut spliced = file[..frames[2].offset].to_vec();
    spliced.extend_from_slice(&file[frames[4].offset..]);
    assert_auth_failed(read(WAL, &key, spliced), WAL);
    // Two sessions swapped.
    let mut swapped = file[..frames[2].offset].to_vec();
    swapped.extend_from_slice(&file[frames[4].offset..]);
    swapped.extend_from_slice(&file[frames[2].offset..frames[4].offset]);
    assert_auth_failed(read(WAL, &key, swapped), WAL);
    // A stream under another name or key.
    let other = "collections/3/wal/00000000000000000009.wal";
    assert_auth_failed(read(other, &key, file.clone()), other);
    assert_auth_failed(read(WAL, &data_key(5), file), WAL);
}

#[test]
fn frames_of_one_session_spliced_fail_authentication() {
    let key = data_key(4);
    let (file, _) = stream(WAL, &key, &[10, 10, 10], 10);
    let frames = scan_stream(WAL, &file).unwrap().frames;
    // Same-length frames of one session swapped: the counters no longer match.
    let mut swapped = file[..frames[1].offset].to_vec();
    swapped.extend_from_slice(&file[frames[2].offset..frames[2].end()]);
    swapped.extend_from_slice(&file[frames[1].offset..frames[1].end()]);
    swapped.extend_from_slice(&file[frames[3].offset..]);
    assert_eq!(swapped.len(), file.len());
    assert_auth_failed(read(WAL, &key, swapped), WAL);
    // A frame repeated.
    let mut repeated = file.clone();
    repeated.extend_from_slice(&file[frames[3].offset..frames[3].end()]);
    assert_auth_failed(read(WAL, &key, repeated), WAL);
}

#[test]
fn stream_holds_no_plaintext() {
    let key = data_key(4);
    let rng = SystemRandom::new();
    let mut writer = StreamWriter::start(WAL, &key, &rng, 0, true).unwrap();
    let mut file = Vec::new();
    writer.seal_frame(&mut file, b"the quick brown fox jumps over the lazy dog").unwrap();
    assert!(!contains(&file, b"quick brown"));
}
