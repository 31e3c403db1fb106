use std::fs::{self, OpenOptions};
use std::path::Path;

use proptest::prelude::*;

use crate::error::ProblemKind;
use crate::event::{Event, LifecycleAction};
use crate::files::AUDIT_DIR;
use crate::head::HEAD_NAME;
use crate::line::{check_record, encode_record, line_hash};
use crate::test_support::{
    assert_intact, assert_problem_at, closed_log, key, lines, log_files, options, other_key,
    problem, write_event, write_lines,
};
use crate::verify::verify;
use crate::writer::AuditLog;

/// Records of `closed_log(10, ..)`: seq 0 created, 1..=10 writes, 11 closed; seq s is on line
/// s + 1 of the only file.
const RECORDS: u64 = 12;
const ONE_FILE: u64 = 1 << 20;

fn strip_newline(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

#[test]
fn intact_log_verifies_and_reports_its_head() {
    let root = closed_log(10, ONE_FILE);
    let report = assert_intact(root.path());
    assert_eq!((report.files, report.records), (1, RECORDS));
    let last = report.last.unwrap();
    assert_eq!(last.seq, RECORDS - 1);
    assert_eq!(report.head, Some(last), "HEAD names the last record");
    assert_eq!(report.torn_tail, None);
    let file = &log_files(root.path())[0];
    let last_line = lines(file).pop().unwrap();
    assert_eq!(last.hash, line_hash(strip_newline(&last_line)));
}

#[test]
fn edited_record_detected_and_located() {
    let root = closed_log(10, ONE_FILE);
    let file = &log_files(root.path())[0];
    let mut all = lines(file);
    let edited = String::from_utf8(all[5].clone()).unwrap().replace("\"rows\":4", "\"rows\":5");
    assert_ne!(edited.as_bytes(), all[5].as_slice());
    all[5] = edited.into_bytes();
    write_lines(file, &all);

    let found = problem(root.path());
    assert_problem_at(&found, &ProblemKind::MacMismatch, file, 6);
    assert_eq!(found.seq, Some(5));
    assert_eq!(found.offset, Some(all[..5].iter().map(|line| line.len() as u64).sum()));
    assert!(found.to_string().contains("line 6"), "{found}");
}

#[test]
fn deleted_record_detected() {
    let root = closed_log(10, ONE_FILE);
    let file = &log_files(root.path())[0];
    let mut all = lines(file);
    all.remove(5);
    write_lines(file, &all);
    let found = problem(root.path());
    assert_problem_at(&found, &ProblemKind::SeqGap { expected: 5, found: 6 }, file, 6);
    assert!(found.kind.is_missing_data());
}

#[test]
fn deleted_first_record_detected() {
    let root = closed_log(3, ONE_FILE);
    let file = &log_files(root.path())[0];
    let mut all = lines(file);
    all.remove(0);
    write_lines(file, &all);
    assert_problem_at(
        &problem(root.path()),
        &ProblemKind::SeqGap { expected: 0, found: 1 },
        file,
        1,
    );
}

#[test]
fn reordered_records_detected() {
    let root = closed_log(10, ONE_FILE);
    let file = &log_files(root.path())[0];
    let mut all = lines(file);
    all.swap(5, 6);
    write_lines(file, &all);
    assert_problem_at(
        &problem(root.path()),
        &ProblemKind::Reordered { expected: 5, found: 6 },
        file,
        6,
    );
}

#[test]
fn duplicated_record_detected() {
    let root = closed_log(10, ONE_FILE);
    let file = &log_files(root.path())[0];
    let mut all = lines(file);
    let copy = all[2].clone();
    all.insert(4, copy);
    write_lines(file, &all);
    assert_problem_at(
        &problem(root.path()),
        &ProblemKind::Reordered { expected: 4, found: 2 },
        file,
        5,
    );
}

#[test]
fn forged_appended_record_detected() {
    // A well-formed record with the right seq and prev, reusing a genuine record's MAC.
    let root = closed_log(10, ONE_FILE);
    let file = &log_files(root.path())[0];
    let mut all = lines(file);
    let last_hash = line_hash(strip_newline(all.last().unwrap()));
    let template = String::from_utf8(all[3].clone()).unwrap();
    let old_prev = template.split("\"prev\":\"").nth(1).unwrap()[..64].to_owned();
    let forged = template.replacen("\"seq\":3,", &format!("\"seq\":{RECORDS},"), 1).replacen(
        &old_prev,
        &crate::hex::encode(&last_hash),
        1,
    );
    assert!(serde_json::from_str::<serde_json::Value>(&forged).is_ok(), "valid JSON");
    all.push(forged.into_bytes());
    write_lines(file, &all);
    let found = problem(root.path());
    assert_problem_at(&found, &ProblemKind::MacMismatch, file, RECORDS + 1);
    assert_eq!(found.seq, Some(RECORDS));
}

#[test]
fn forged_record_with_recomputed_hash_but_no_key_detected() {
    // The forger edits seq 5, then rebuilds every later record so that the chain of hashes is
    // consistent again, signing with a key of their own.
    let root = closed_log(10, ONE_FILE);
    let file = &log_files(root.path())[0];
    let mut all = lines(file);
    let mut prev = line_hash(strip_newline(&all[4]));
    for line in all.iter_mut().skip(5) {
        let genuine = check_record(&key(), strip_newline(line)).unwrap();
        let event = if genuine.seq == 5 { write_event(999) } else { genuine.event };
        let mut forged = Vec::new();
        prev =
            encode_record(&other_key(), genuine.seq, genuine.unix_ms, &prev, &event, &mut forged)
                .unwrap();
        *line = forged;
    }
    write_lines(file, &all);
    let found = problem(root.path());
    assert_problem_at(&found, &ProblemKind::MacMismatch, file, 6);
    assert_eq!(found.seq, Some(5));
}

#[test]
fn spliced_record_from_another_log_under_the_same_key_breaks_the_chain() {
    let root = closed_log(10, ONE_FILE);
    let other = closed_log(10, ONE_FILE);
    let file = &log_files(root.path())[0];
    let mut all = lines(file);
    all[5] = lines(&log_files(other.path())[0])[5].clone();
    write_lines(file, &all);
    assert_problem_at(&problem(root.path()), &ProblemKind::ChainBreak, file, 6);
}

#[test]
fn truncated_tail_detected_via_head() {
    let root = closed_log(10, ONE_FILE);
    let file = &log_files(root.path())[0];
    let mut all = lines(file);
    all.truncate(all.len() - 2);
    write_lines(file, &all);
    let found = problem(root.path());
    assert_eq!(
        found.kind,
        ProblemKind::TruncatedBeforeHead { records: RECORDS - 2, head_records: RECORDS }
    );
    assert_eq!(found.file.as_deref(), file.file_name().and_then(|name| name.to_str()));
    assert_eq!(found.offset, Some(fs::metadata(file).unwrap().len()));
}

#[test]
fn tail_cut_inside_a_durable_record_is_truncation_not_a_crash() {
    let root = closed_log(10, ONE_FILE);
    let file = &log_files(root.path())[0];
    let len = fs::metadata(file).unwrap().len();
    OpenOptions::new().write(true).open(file).unwrap().set_len(len - 10).unwrap();
    let report = verify(root.path(), &key(), None).unwrap();
    let found = report.problem.unwrap();
    assert_eq!(
        found.kind,
        ProblemKind::TruncatedBeforeHead { records: RECORDS - 1, head_records: RECORDS }
    );
}

/// A log of several files: 40 writes in files of at most about 2 KiB.
fn rotated_log() -> tempfile::TempDir {
    let root = closed_log(40, 2048);
    assert!(log_files(root.path()).len() >= 3, "the test needs at least three files");
    root
}

fn first_seq(file: &Path) -> u64 {
    crate::files::parse_file_name(file.file_name().unwrap().to_str().unwrap()).unwrap()
}

#[test]
fn rotation_keeps_chain_across_files() {
    let root = rotated_log();
    let files = log_files(root.path());
    assert_eq!(first_seq(&files[0]), 0);
    for pair in files.windows(2) {
        let last_of_previous = lines(&pair[0]).pop().unwrap();
        let first_of_next = lines(&pair[1]).remove(0);
        let previous = check_record(&key(), strip_newline(&last_of_previous)).unwrap();
        let next = check_record(&key(), strip_newline(&first_of_next)).unwrap();
        assert_eq!(next.seq, previous.seq + 1);
        assert_eq!(next.prev, previous.hash, "the chain crosses the file boundary");
        assert_eq!(first_seq(&pair[1]), next.seq, "a file is named by its first seq");
        let expected_detail =
            format!("continues from {}", pair[0].file_name().unwrap().to_str().unwrap());
        match next.event {
            Event::Lifecycle { action: LifecycleAction::Rotated, detail } => {
                assert_eq!(detail.as_str(), expected_detail);
            }
            other => panic!("expected a Rotated record, got {other:?}"),
        }
    }
    let report = assert_intact(root.path());
    assert_eq!(report.files, files.len() as u64);

    let log = AuditLog::open(root.path(), key(), options(2048)).unwrap();
    for rows in 0..20 {
        log.append(&write_event(rows)).unwrap();
    }
    log.close().unwrap();
    assert!(log_files(root.path()).len() > files.len());
    assert_intact(root.path());
}

#[test]
fn removed_whole_file_detected() {
    // The middle file: the next file's first record is reported, as a gap.
    let root = rotated_log();
    let files = log_files(root.path());
    fs::remove_file(&files[1]).unwrap();
    let kind = ProblemKind::SeqGap { expected: first_seq(&files[1]), found: first_seq(&files[2]) };
    assert_problem_at(&problem(root.path()), &kind, &files[2], 1);

    // The first file.
    let root = rotated_log();
    let files = log_files(root.path());
    fs::remove_file(&files[0]).unwrap();
    let kind = ProblemKind::SeqGap { expected: 0, found: first_seq(&files[1]) };
    assert_problem_at(&problem(root.path()), &kind, &files[1], 1);

    // The last file: HEAD is not reached.
    let root = rotated_log();
    let files = log_files(root.path());
    let last = files.last().unwrap();
    fs::remove_file(last).unwrap();
    let found = problem(root.path());
    assert!(
        matches!(found.kind, ProblemKind::TruncatedBeforeHead { records, .. } if records == first_seq(last)),
        "{found}"
    );
}

#[test]
fn renamed_file_detected() {
    let root = rotated_log();
    let files = log_files(root.path());
    let renamed = files[1].with_file_name(crate::files::file_name(first_seq(&files[1]) - 1));
    fs::rename(&files[1], &renamed).unwrap();
    let kind = ProblemKind::FileNameMismatch {
        name_seq: first_seq(&files[1]) - 1,
        first_seq: first_seq(&files[1]),
    };
    assert_problem_at(&problem(root.path()), &kind, &renamed, 1);
}

#[test]
fn extra_empty_file_detected() {
    let root = rotated_log();
    let files = log_files(root.path());
    let extra = files[0].with_file_name(crate::files::file_name(1));
    fs::write(&extra, b"").unwrap();
    let found = problem(root.path());
    assert_eq!(found.kind, ProblemKind::EmptyFile, "{found}");
    assert_eq!(found.file.as_deref(), extra.file_name().and_then(|name| name.to_str()));
}

#[test]
fn unexpected_file_detected() {
    let root = closed_log(2, ONE_FILE);
    fs::write(root.path().join(AUDIT_DIR).join("notes.txt"), b"nothing to see").unwrap();
    let found = problem(root.path());
    assert_eq!(found.kind, ProblemKind::UnexpectedFile);
    assert_eq!(found.file.as_deref(), Some("notes.txt"));
}

#[test]
fn missing_head_detected() {
    let root = closed_log(2, ONE_FILE);
    fs::remove_file(root.path().join(AUDIT_DIR).join(HEAD_NAME)).unwrap();
    assert_eq!(problem(root.path()).kind, ProblemKind::HeadMissing);
}

#[test]
fn missing_log_is_a_problem_not_an_empty_success() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(problem(root.path()).kind, ProblemKind::LogMissing);
    let root = closed_log(2, ONE_FILE);
    fs::remove_dir_all(root.path().join(AUDIT_DIR)).unwrap();
    assert_eq!(problem(root.path()).kind, ProblemKind::LogMissing);
}

#[test]
fn wrong_key_is_reported_as_such() {
    let root = closed_log(2, ONE_FILE);
    let report = verify(root.path(), &other_key(), None).unwrap();
    assert_eq!(report.problem.unwrap().kind, ProblemKind::WrongKey);
}

#[test]
fn expected_head_detects_rollback_of_log_and_head() {
    let root = closed_log(3, ONE_FILE);
    let audit_dir = root.path().join(AUDIT_DIR);
    let saved = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(&audit_dir).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, saved.path().join(path.file_name().unwrap())).unwrap();
    }
    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    log.append(&write_event(77)).unwrap();
    let later = log.close().unwrap();
    assert!(verify(root.path(), &key(), Some(later)).unwrap().is_intact());

    // Put the old log and its HEAD back: consistent by itself, but short of the later head.
    for entry in fs::read_dir(saved.path()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, audit_dir.join(path.file_name().unwrap())).unwrap();
    }
    assert_intact(root.path());
    let report = verify(root.path(), &key(), Some(later)).unwrap();
    assert!(matches!(report.problem.unwrap().kind, ProblemKind::ExpectedHeadNotReached { .. }));

    // Rolled back and then written on: the seq exists with another hash.
    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    for rows in 0..3 {
        log.append(&write_event(rows)).unwrap();
    }
    log.close().unwrap();
    let report = verify(root.path(), &key(), Some(later)).unwrap();
    assert_eq!(report.problem.unwrap().kind, ProblemKind::ExpectedHeadMismatch);
}

#[test]
fn torn_last_line_is_crash_not_tamper() {
    let root = closed_log(3, ONE_FILE);
    let file = log_files(root.path()).pop().unwrap();
    let clean_len = fs::metadata(&file).unwrap().len();
    let mut all = lines(&file);
    all.push(b"{\"seq\":5,\"ts\":\"2025-01-".to_vec());
    write_lines(&file, &all);

    let report = assert_intact(root.path());
    let torn = report.torn_tail.unwrap();
    assert_eq!((torn.offset, torn.len), (clean_len, 23));

    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    assert_eq!(log.open_info().torn_tail.as_ref(), Some(&torn));
    log.close().unwrap();
    let report = assert_intact(root.path());
    assert_eq!(report.torn_tail, None, "open cut the torn line off");
    let actions: Vec<LifecycleAction> =
        crate::read::read_records(root.path(), &key(), Default::default())
            .unwrap()
            .filter_map(|record| match record.unwrap().event {
                Event::Lifecycle { action, .. } => Some(action),
                _ => None,
            })
            .collect();
    assert_eq!(
        actions,
        [
            LifecycleAction::Created,
            LifecycleAction::Closed,
            LifecycleAction::TornTailDiscarded,
            LifecycleAction::Opened,
            LifecycleAction::Closed
        ]
    );
}

#[test]
fn zero_filled_tail_of_any_length_is_a_crash_not_tamper() {
    let root = closed_log(3, ONE_FILE);
    let file = log_files(root.path()).pop().unwrap();
    let clean_len = fs::metadata(&file).unwrap().len();
    let zeros = 3 * crate::line::MAX_LINE_LEN as u64;
    OpenOptions::new().write(true).open(&file).unwrap().set_len(clean_len + zeros).unwrap();
    let torn = assert_intact(root.path()).torn_tail.unwrap();
    assert_eq!((torn.offset, torn.len), (clean_len, zeros));
}

#[test]
fn verify_bounded_on_huge_line() {
    // A 16 GiB line (a sparse file: one byte, then a hole). Reading it whole would need 16 GiB
    // of memory; the verifier stops after MAX_LINE_LEN + 1 bytes.
    let root = closed_log(3, ONE_FILE);
    let file = log_files(root.path()).pop().unwrap();
    let clean_len = fs::metadata(&file).unwrap().len();
    let mut all = lines(&file);
    all.push(b"x".to_vec());
    write_lines(&file, &all);
    OpenOptions::new().write(true).open(&file).unwrap().set_len(clean_len + (16 << 30)).unwrap();
    let found = problem(root.path());
    let kind = ProblemKind::LineTooLong { max: crate::line::MAX_LINE_LEN };
    assert_problem_at(&found, &kind, &file, 6);
}

/// The files of a small rotated log, built once: (name, bytes) for every log file and HEAD.
fn template() -> &'static [(String, Vec<u8>)] {
    static TEMPLATE: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let root = closed_log(12, 1024);
        let audit_dir = root.path().join(AUDIT_DIR);
        let mut files: Vec<(String, Vec<u8>)> = log_files(root.path())
            .into_iter()
            .map(|path| {
                (path.file_name().unwrap().to_str().unwrap().to_owned(), fs::read(path).unwrap())
            })
            .collect();
        files.push((HEAD_NAME.to_owned(), fs::read(audit_dir.join(HEAD_NAME)).unwrap()));
        assert!(files.len() >= 3, "the template needs at least two log files");
        files
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_single_byte_change_anywhere_is_detected(
        file_pick in any::<prop::sample::Index>(),
        offset_pick in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let files = template();
        let root = tempfile::tempdir().unwrap();
        let audit_dir = root.path().join(AUDIT_DIR);
        fs::create_dir(&audit_dir).unwrap();
        let target = file_pick.index(files.len());
        for (idx, (name, bytes)) in files.iter().enumerate() {
            let mut bytes = bytes.clone();
            if idx == target {
                let offset = offset_pick.index(bytes.len());
                bytes[offset] ^= mask;
            }
            fs::write(audit_dir.join(name), bytes).unwrap();
        }
        let report = verify(root.path(), &key(), None).unwrap();
        prop_assert!(report.problem.is_some(), "undetected change in {}: {:?}", files[target].0, report);
    }
}
