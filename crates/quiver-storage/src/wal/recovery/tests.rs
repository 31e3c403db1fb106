use std::fs;
use std::sync::Arc;

use crate::error::StorageError;
use crate::wal::Wal;
use crate::wal::format::{FILE_HEADER_LEN, FRAME_HEADER_LEN, encode_file_header, file_key};
use crate::wal::test_support::{
    DIR, FLAVORS, Flavor, backend_with, expected, local_backend, make_log, open_collect, payload,
};

/// The byte offsets at which the records of a one-file log start, and its length.
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut offset = FILE_HEADER_LEN;
    while offset < bytes.len() {
        starts.push(offset);
        let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        offset += FRAME_HEADER_LEN + len;
    }
    assert_eq!(offset, bytes.len());
    starts
}

/// Opening `files` must fail with `Corrupt` naming `key` at `offset`, in both flavors.
#[track_caller]
fn check_corrupt(files: &[(String, Vec<u8>)], key: &str, offset: u64) {
    for flavor in FLAVORS {
        let (_temp, backend) = backend_with(flavor, files);
        match open_collect(&backend, 0) {
            Err(StorageError::Corrupt { path, offset: got, reason }) => {
                assert_eq!((path.as_str(), got), (key, offset), "{flavor:?}, reason: {reason}");
            }
            Err(other) => panic!("{flavor:?}: expected Corrupt in {key} at {offset}, got {other}"),
            Ok((_, records)) => {
                panic!("{flavor:?}: expected Corrupt in {key} at {offset}, recovered {records:?}")
            }
        }
    }
}

/// Opening `files` must recover exactly records `1..=last`, cut `truncated` bytes, and leave
/// a log that continues at `last + 1` across a reopen, in both flavors.
#[track_caller]
fn check_recovers(files: &[(String, Vec<u8>)], last: u64, truncated: u64) {
    for flavor in FLAVORS {
        let (_temp, backend) = backend_with(flavor, files);
        let (wal, records) = open_collect(&backend, 0).unwrap();
        assert_eq!(records, expected(1, last), "{flavor:?}");
        assert_eq!(wal.recovery_info().truncated_bytes, truncated, "{flavor:?}");
        assert_eq!(wal.recovery_info().next_lsn, last + 1, "{flavor:?}");
        assert_eq!((wal.durable_lsn(), wal.last_lsn()), (last, last), "{flavor:?}");
        assert_eq!(wal.append_durable(&payload(last + 1)).unwrap(), last + 1, "{flavor:?}");
        drop(wal);
        let (_, records) = open_collect(&backend, 0).unwrap();
        assert_eq!(records, expected(1, last + 1), "{flavor:?}");
    }
}

#[test]
fn round_trip_through_reopen() {
    for flavor in FLAVORS {
        let (_temp, backend) = local_backend(flavor);
        let (wal, records) = open_collect(&backend, 0).unwrap();
        assert!(records.is_empty());
        assert_eq!((wal.durable_lsn(), wal.last_lsn()), (0, 0));
        for lsn in 1..=5 {
            assert_eq!(wal.append(&payload(lsn)).unwrap(), lsn);
        }
        wal.wait_durable(5).unwrap();
        drop(wal);

        let (wal, records) = open_collect(&backend, 0).unwrap();
        assert_eq!(records, expected(1, 5));
        let info = wal.recovery_info();
        assert_eq!((info.files, info.first_lsn, info.records, info.next_lsn), (1, Some(1), 5, 6));
        assert_eq!(wal.durable_lsn(), 5);
        assert_eq!(wal.append(b"six").unwrap(), 6);
    }
}

#[test]
fn clean_log_ends_are_not_truncated() {
    check_recovers(&make_log(3, &[]), 3, 0);
    check_recovers(&make_log(0, &[]), 0, 0);
    check_recovers(&make_log(3, &[3]), 3, 0);
}

#[test]
fn torn_last_record_at_every_length_recovers_the_records_before() {
    let files = make_log(3, &[]);
    let bytes = &files[0].1;
    let last_start = *record_starts(bytes).last().unwrap();
    for cut in last_start..bytes.len() {
        let torn = vec![(files[0].0.clone(), bytes[..cut].to_vec())];
        check_recovers(&torn, 2, (cut - last_start) as u64);
    }
}

#[test]
fn torn_record_in_the_last_of_several_files_recovers() {
    let files = make_log(4, &[2]);
    let (key, bytes) = files.last().unwrap();
    let last_start = *record_starts(bytes).last().unwrap();
    for cut in [last_start + 1, last_start + FRAME_HEADER_LEN, bytes.len() - 1] {
        let mut torn = files.clone();
        torn[1] = (key.clone(), bytes[..cut].to_vec());
        check_recovers(&torn, 3, (cut - last_start) as u64);
    }
}

#[test]
fn zero_filled_tail_recovers() {
    let files = make_log(3, &[]);
    let (key, bytes) = &files[0];
    for zeros in [1, 19, 20, 21, 100, 4096] {
        let mut padded = bytes.clone();
        padded.resize(bytes.len() + zeros, 0);
        check_recovers(&[(key.clone(), padded)], 3, zeros as u64);
    }
    // The last record itself reads back as zeros (the file was extended, its data never came).
    let last_start = *record_starts(bytes).last().unwrap();
    let mut zeroed = bytes.clone();
    zeroed[last_start..].fill(0);
    check_recovers(&[(key.clone(), zeroed)], 2, (bytes.len() - last_start) as u64);
}

/// Flips each byte of each file in turn (with several masks): opening must fail every time,
/// naming the file and the offset of the damaged header or record.
fn check_every_flip_detected(flavor: Flavor, files: &[(String, Vec<u8>)]) {
    let mut trials = 0;
    for (file_idx, (key, bytes)) in files.iter().enumerate() {
        let starts = record_starts(bytes);
        for pos in 0..bytes.len() {
            let damaged_part = match starts.iter().rev().find(|start| **start <= pos) {
                Some(start) => *start as u64,
                None => 0,
            };
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut damaged = files.to_vec();
                damaged[file_idx].1[pos] ^= mask;
                let (_temp, backend) = backend_with(flavor, &damaged);
                match open_collect(&backend, 0) {
                    Err(StorageError::Corrupt { path, offset, .. }) => {
                        assert_eq!(&path, key, "flip {mask:#x} at {pos}");
                        assert_eq!(offset, damaged_part, "flip {mask:#x} at {pos} of {key}");
                    }
                    // The version field (bytes 8..12) may read as a newer version.
                    Err(StorageError::UnsupportedVersion { path, .. }) => {
                        assert_eq!(&path, key);
                        assert!((8..12).contains(&pos), "flip {mask:#x} at {pos}");
                    }
                    Err(other) => panic!("flip {mask:#x} at {pos} of {key}: unexpected {other}"),
                    Ok((_, records)) => {
                        panic!("flip {mask:#x} at {pos} of {key} undetected: {records:?}")
                    }
                }
                trials += 1;
            }
        }
    }
    assert!(trials > 300, "only {trials} trials");
}

#[test]
fn every_flipped_byte_of_a_three_record_log_is_detected() {
    for flavor in FLAVORS {
        check_every_flip_detected(flavor, &make_log(3, &[]));
    }
}

#[test]
fn every_flipped_byte_of_a_two_file_log_is_detected() {
    for flavor in FLAVORS {
        check_every_flip_detected(flavor, &make_log(3, &[2]));
    }
}

#[test]
fn damage_that_is_not_a_torn_tail_is_corrupt() {
    let files = make_log(3, &[]);
    let (key, bytes) = &files[0];
    let starts = record_starts(bytes);

    // Garbage after the last record, long enough to be a frame header. (Fewer bytes than a
    // frame header are indistinguishable from a torn header and are cut off.)
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(&[7; FRAME_HEADER_LEN]);
    check_corrupt(&[(key.clone(), trailing)], key, bytes.len() as u64);

    // A zeroed record followed by a good one.
    let mut zeroed_middle = bytes.clone();
    zeroed_middle[starts[1]..starts[2]].fill(0);
    check_corrupt(&[(key.clone(), zeroed_middle)], key, starts[1] as u64);

    // The last record's payload partly zero while its header is intact.
    let mut zero_payload = bytes.clone();
    let end = zero_payload.len();
    zero_payload[end - 1] = 0;
    zero_payload[end - 2] = 0;
    check_corrupt(&[(key.clone(), zero_payload)], key, starts[2] as u64);
}

#[test]
fn torn_non_last_file_is_corrupt() {
    let files = make_log(4, &[2]);
    let (first_key, first_bytes) = &files[0];
    let mut torn = files.clone();
    torn[0].1.truncate(first_bytes.len() - 3);
    let last_start = *record_starts(first_bytes).last().unwrap();
    check_corrupt(&torn, first_key, last_start as u64);

    let mut short_header = files.clone();
    short_header[0].1.truncate(FILE_HEADER_LEN - 1);
    check_corrupt(&short_header, first_key, 0);
}

#[test]
fn missing_middle_file_is_an_lsn_gap() {
    let files = make_log(6, &[2, 4]);
    assert_eq!(files.len(), 3);
    let gap = vec![files[0].clone(), files[2].clone()];
    check_corrupt(&gap, &files[2].0, 0);
}

#[test]
fn file_whose_name_disagrees_with_its_header_is_corrupt() {
    let files = make_log(2, &[]);
    let renamed_key = file_key(DIR, 7);
    check_corrupt(&[(renamed_key.clone(), files[0].1.clone())], &renamed_key, 0);
}

#[test]
fn newer_format_version_is_unsupported() {
    for flavor in FLAVORS {
        let mut header = encode_file_header(1);
        header[8..12].copy_from_slice(&2u32.to_le_bytes());
        let crc = crc32c::crc32c(&header[..20]);
        header[20..].copy_from_slice(&crc.to_le_bytes());
        let (_temp, backend) = backend_with(flavor, &[(file_key(DIR, 1), header)]);
        match open_collect(&backend, 0) {
            Err(StorageError::UnsupportedVersion { path, found: 2, supported: 1 }) => {
                assert_eq!(path, file_key(DIR, 1));
            }
            other => panic!("expected UnsupportedVersion, got {:?}", other.map(|(_, r)| r)),
        }
    }
}

#[test]
fn torn_header_of_the_last_file_is_reinitialised() {
    for flavor in FLAVORS {
        let files = make_log(3, &[3]);
        assert_eq!(files.len(), 2);
        let (new_key, header) = &files[1];
        assert_eq!(header.len(), FILE_HEADER_LEN);
        for torn_header in [Vec::new(), header[..10].to_vec(), vec![0; FILE_HEADER_LEN + 5]] {
            let torn = vec![files[0].clone(), (new_key.clone(), torn_header)];
            let (_temp, backend) = backend_with(flavor, &torn);
            let (wal, records) = open_collect(&backend, 0).unwrap();
            assert_eq!(records, expected(1, 3));
            assert_eq!(wal.append_durable(&payload(4)).unwrap(), 4);
            assert_eq!(wal.file_keys(), vec![files[0].0.clone(), new_key.clone()]);
            drop(wal);
            let (_, records) = open_collect(&backend, 0).unwrap();
            assert_eq!(records, expected(1, 4));
        }
    }
}

#[test]
fn files_that_are_not_log_files_are_ignored() {
    let mut files = make_log(2, &[]);
    files.push((format!("{DIR}/notes.txt"), b"hello".to_vec()));
    files.push((format!("{DIR}/00000000000000000009.wal.tmp"), b"junk".to_vec()));
    files.push((format!("{DIR}/123.wal"), b"junk".to_vec()));
    check_recovers(&files, 2, 0);
}

#[derive(Debug, PartialEq)]
enum EngineError {
    Storage(String),
    Rejected(u64),
}

impl From<StorageError> for EngineError {
    fn from(err: StorageError) -> EngineError {
        EngineError::Storage(err.to_string())
    }
}

#[test]
fn replay_errors_stay_typed_and_abort_the_open() {
    for flavor in FLAVORS {
        let files = make_log(3, &[]);
        let (_temp, backend) = backend_with(flavor, &files);
        let mut seen = Vec::new();
        let result = Wal::open(backend.clone(), DIR, 0, &mut |lsn, _payload| {
            seen.push(lsn);
            if lsn == 2 { Err(EngineError::Rejected(lsn)) } else { Ok(()) }
        });
        assert_eq!(result.err(), Some(EngineError::Rejected(2)));
        assert_eq!(seen, vec![1, 2]);

        // Storage errors reach the caller through its own From impl.
        let mut damaged = files.clone();
        damaged[0].1[0] ^= 1;
        let (_temp, backend) = backend_with(flavor, &damaged);
        let result = Wal::open(backend, DIR, 0, &mut |_, _| Ok::<(), EngineError>(()));
        match result.err() {
            Some(EngineError::Storage(message)) => {
                assert!(message.contains("at offset 0"), "{message}")
            }
            other => panic!("expected a storage error, got {other:?}"),
        }
    }
}

#[test]
fn rotation_removal_and_reopen_keep_numbering() {
    for flavor in FLAVORS {
        let (_temp, backend) = local_backend(flavor);
        let (wal, _) = open_collect(&backend, 0).unwrap();
        for lsn in 1..=3 {
            wal.append(&payload(lsn)).unwrap();
        }
        assert_eq!(wal.rotate().unwrap(), 3);
        assert_eq!(wal.durable_lsn(), 3);
        assert_eq!(wal.rotate().unwrap(), 3, "rotating an empty file changes nothing");
        for lsn in 4..=5 {
            wal.append(&payload(lsn)).unwrap();
        }
        assert_eq!(wal.rotate().unwrap(), 5);
        assert_eq!(wal.file_keys(), vec![file_key(DIR, 1), file_key(DIR, 4), file_key(DIR, 6)]);

        // Through LSN 4, only the first file is entirely covered.
        wal.remove_files_through(4).unwrap();
        assert_eq!(wal.file_keys(), vec![file_key(DIR, 4), file_key(DIR, 6)]);
        assert!(!backend.exists(&file_key(DIR, 1)).unwrap());
        drop(wal);

        let (wal, records) = open_collect(&backend, 4).unwrap();
        assert_eq!(records, expected(4, 5));
        assert_eq!(wal.recovery_info().first_lsn, Some(4));
        wal.remove_files_through(5).unwrap();
        assert_eq!(wal.file_keys(), vec![file_key(DIR, 6)]);
        wal.remove_files_through(u64::MAX).unwrap();
        assert_eq!(wal.file_keys(), vec![file_key(DIR, 6)], "the current file is never removed");
        drop(wal);

        let (wal, records) = open_collect(&backend, 6).unwrap();
        assert!(records.is_empty());
        assert_eq!(wal.append(&payload(6)).unwrap(), 6);
        drop(wal);

        // The whole log directory removed: numbering continues after the caller's checkpoint.
        backend.remove_dir_all(DIR).unwrap();
        let (wal, records) = open_collect(&backend, 6).unwrap();
        assert!(records.is_empty());
        assert_eq!(wal.recovery_info().files, 0);
        assert_eq!(wal.append_durable(&payload(6)).unwrap(), 6);
        assert_eq!(wal.file_keys(), vec![file_key(DIR, 6)]);
    }
}

#[test]
fn log_entirely_below_the_callers_floor_restarts_there() {
    for flavor in FLAVORS {
        let files = make_log(3, &[2]);
        let (_temp, backend) = backend_with(flavor, &files);
        let (wal, records) = open_collect(&backend, 10).unwrap();
        assert_eq!(records, expected(1, 3), "records are still replayed");
        assert_eq!(wal.file_keys(), vec![file_key(DIR, 10)]);
        assert_eq!(wal.append_durable(&payload(10)).unwrap(), 10);
        drop(wal);
        assert_eq!(backend.list(DIR).unwrap(), vec!["00000000000000000010.wal".to_owned()]);
        let (_, records) = open_collect(&backend, 0).unwrap();
        assert_eq!(records, vec![(10, payload(10))]);
    }
}

#[test]
fn floor_below_the_log_end_changes_nothing() {
    for flavor in FLAVORS {
        let files = make_log(3, &[]);
        let (_temp, backend) = backend_with(flavor, &files);
        let (wal, records) = open_collect(&backend, 2).unwrap();
        assert_eq!(records, expected(1, 3));
        assert_eq!(wal.append(&payload(4)).unwrap(), 4);
    }
}

#[test]
fn open_rejects_an_unsafe_directory_key() {
    for flavor in FLAVORS {
        let (_temp, backend) = local_backend(flavor);
        let result =
            Wal::open(Arc::clone(&backend), "../wal", 0, &mut |_, _| Ok::<(), StorageError>(()));
        assert!(matches!(result, Err(StorageError::InvalidKey { .. })), "{result:?}");
    }
}

#[test]
fn recovered_file_is_truncated_on_disk() {
    let files = make_log(2, &[]);
    let (key, bytes) = &files[0];
    let mut torn = bytes.clone();
    torn.truncate(bytes.len() - 1);
    let (temp, backend) = backend_with(Flavor::Plain, &[(key.clone(), torn)]);
    let (_wal, records) = open_collect(&backend, 0).unwrap();
    assert_eq!(records, expected(1, 1));
    let on_disk = fs::read(temp.path().join(key)).unwrap();
    assert_eq!(on_disk, bytes[..record_starts(bytes)[1]]);
}

#[test]
fn torn_encrypted_frame_at_every_length_recovers_the_records_before() {
    // Each record its own commit round, hence its own encrypted frame.
    let (temp, backend) = local_backend(Flavor::Encrypted);
    let key = file_key(DIR, 1);
    let path = temp.path().join(&key);
    let (wal, _) = open_collect(&backend, 0).unwrap();
    let mut ends = Vec::new();
    for lsn in 1..=3 {
        wal.append_durable(&payload(lsn)).unwrap();
        ends.push(fs::metadata(&path).unwrap().len() as usize);
    }
    drop(wal);
    let pristine = fs::read(&path).unwrap();
    assert_eq!(pristine.len(), ends[2]);
    for cut in ends[1]..ends[2] {
        fs::write(&path, &pristine[..cut]).unwrap();
        let (wal, records) = open_collect(&backend, 0).unwrap();
        assert_eq!(records, expected(1, 2), "cut at {cut}");
        // The torn frame is dropped below the log, which sees a clean end; the backend cut it
        // off the file when the log reopened it for appending.
        assert_eq!(wal.recovery_info().truncated_bytes, 0, "cut at {cut}");
        assert_eq!(fs::metadata(&path).unwrap().len() as usize, ends[1], "cut at {cut}");
        assert_eq!(wal.append_durable(&payload(3)).unwrap(), 3);
        drop(wal);
        let (_, records) = open_collect(&backend, 0).unwrap();
        assert_eq!(records, expected(1, 3), "cut at {cut}");
    }
}
