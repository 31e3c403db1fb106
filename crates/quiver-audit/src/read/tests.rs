use std::fs;

use crate::error::{AuditError, ProblemKind};
use crate::event::{Event, EventKind, Outcome, WriteAction};
use crate::read::{RecordFilter, read_records};
use crate::test_support::{every_kind, key, lines, log_files, options, write_lines};
use crate::text::{Text, UserName};
use crate::writer::AuditLog;

fn sample_log() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let log = AuditLog::open(root.path(), key(), options(1 << 20)).unwrap();
    for event in every_kind() {
        log.append(&event).unwrap();
    }
    log.append(&Event::Write {
        user: UserName::new("alice"),
        peer: None,
        action: WriteAction::Upsert,
        db: Text::new("other"),
        collection: Text::new("films"),
        partition: None,
        rows: 2,
        filter: None,
        outcome: Outcome::Ok,
    })
    .unwrap();
    log.close().unwrap();
    root
}

fn seqs(root: &std::path::Path, filter: RecordFilter) -> Vec<u64> {
    read_records(root, &key(), filter).unwrap().map(|record| record.unwrap().seq).collect()
}

#[test]
fn filters_select_by_user_kind_place_time_and_seq() {
    let root = sample_log();
    // seq 0 Created, 1..=7 every kind (auth, ddl, dcl, write, read, admin, lifecycle),
    // 8 the upsert by alice, 9 Closed.
    assert_eq!(seqs(root.path(), RecordFilter::default()), (0..10).collect::<Vec<_>>());
    let by_alice = RecordFilter { user: Some("alice".to_owned()), ..Default::default() };
    assert_eq!(seqs(root.path(), by_alice), [1, 2, 8]);
    let writes = RecordFilter { kinds: vec![EventKind::Write], ..Default::default() };
    assert_eq!(seqs(root.path(), writes), [4, 8]);
    let books = RecordFilter { collection: Some("books".to_owned()), ..Default::default() };
    assert_eq!(seqs(root.path(), books), [2, 4, 5]);
    let other_db = RecordFilter { db: Some("other".to_owned()), ..Default::default() };
    assert_eq!(seqs(root.path(), other_db), [8]);
    let range = RecordFilter { seqs: Some(3..=5), ..Default::default() };
    assert_eq!(seqs(root.path(), range), [3, 4, 5]);
    let combined = RecordFilter {
        user: Some("alice".to_owned()),
        kinds: vec![EventKind::Write, EventKind::Ddl],
        ..Default::default()
    };
    assert_eq!(seqs(root.path(), combined), [2, 8]);
    let future = RecordFilter { since_ms: Some(u64::MAX), ..Default::default() };
    assert!(seqs(root.path(), future).is_empty());
    let past = RecordFilter { until_ms: Some(1), ..Default::default() };
    assert!(seqs(root.path(), past).is_empty());
    let now = RecordFilter { since_ms: Some(1), until_ms: Some(u64::MAX), ..Default::default() };
    assert_eq!(seqs(root.path(), now).len(), 10);
}

#[test]
fn reading_stops_at_the_first_tampered_record() {
    let root = sample_log();
    let file = log_files(root.path()).pop().unwrap();
    let mut all = lines(&file);
    all[4] = String::from_utf8(all[4].clone())
        .unwrap()
        .replace("\"rows\":12", "\"rows\":0")
        .into_bytes();
    write_lines(&file, &all);
    let items: Vec<Result<u64, AuditError>> =
        read_records(root.path(), &key(), RecordFilter::default())
            .unwrap()
            .map(|record| record.map(|record| record.seq))
            .collect();
    assert_eq!(items.len(), 5);
    assert_eq!(
        items[..4].iter().map(|item| *item.as_ref().unwrap()).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    match &items[4] {
        Err(AuditError::Tampered(problem)) => {
            assert_eq!(problem.kind, ProblemKind::MacMismatch);
            assert_eq!(problem.seq, Some(4));
        }
        other => panic!("expected Tampered, got {other:?}"),
    }
}

#[test]
fn reading_a_log_cut_short_ends_with_the_truncation() {
    let root = sample_log();
    let file = log_files(root.path()).pop().unwrap();
    let mut all = lines(&file);
    all.pop();
    write_lines(&file, &all);
    let last = read_records(root.path(), &key(), RecordFilter::default()).unwrap().last().unwrap();
    match last {
        Err(AuditError::Tampered(problem)) => {
            assert!(matches!(problem.kind, ProblemKind::TruncatedBeforeHead { .. }), "{problem}");
        }
        other => panic!("expected Tampered, got {other:?}"),
    }
    let _ = fs::metadata(&file).unwrap();
}
