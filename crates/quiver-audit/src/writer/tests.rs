use std::collections::BTreeMap;
use std::fs;
use std::sync::{Arc, Barrier};
use std::thread;

use quiver_storage::{Backend, FaultPlan, FaultyBackend, LocalBackend, StorageError};

use crate::error::{AuditError, ProblemKind};
use crate::event::{Event, LifecycleAction};
use crate::files::AUDIT_DIR;
use crate::head::HEAD_NAME;
use crate::read::{RecordFilter, read_records};
use crate::test_support::{
    assert_intact, closed_log, key, lines, log_files, options, write_event, write_lines,
};
use crate::writer::{AuditLog, AuditOptions};

const ONE_FILE: u64 = 1 << 20;

/// A log under `root` written through a `FaultyBackend` driven by the returned plan.
fn faulty_log(root: &std::path::Path, seed: u64) -> (AuditLog, FaultPlan) {
    let plan = FaultPlan::with_seed(seed);
    let local: Arc<dyn Backend> = Arc::new(LocalBackend::new(root.to_owned()).unwrap());
    let faulty: Arc<dyn Backend> = Arc::new(FaultyBackend::new(local, plan.clone()));
    let options = AuditOptions { max_file_bytes: ONE_FILE, backend: Some(faulty) };
    (AuditLog::open(root, key(), options).unwrap(), plan)
}

fn events(root: &std::path::Path) -> Vec<(u64, Event)> {
    read_records(root, &key(), RecordFilter::default())
        .unwrap()
        .map(|record| record.map(|record| (record.seq, record.event)).unwrap())
        .collect()
}

fn lifecycle_action(event: &Event) -> Option<LifecycleAction> {
    match event {
        Event::Lifecycle { action, .. } => Some(*action),
        _ => None,
    }
}

#[track_caller]
fn assert_injected<T: std::fmt::Debug>(result: Result<T, AuditError>) {
    match result {
        Err(AuditError::Storage(StorageError::Io { source, .. })) => {
            assert_eq!(source.to_string(), "injected fault");
        }
        other => panic!("expected the injected IO error, got {other:?}"),
    }
}

#[track_caller]
fn assert_fail_stopped<T: std::fmt::Debug>(result: Result<T, AuditError>) {
    assert!(matches!(result, Err(AuditError::FailStopped)), "expected FailStopped, got {result:?}");
}

#[test]
fn chain_verifies_after_appends_and_reopen() {
    let root = tempfile::tempdir().unwrap();
    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    assert!(log.open_info().created);
    assert_eq!(log.append(&write_event(1)).unwrap(), 1, "seq 0 is the Created record");
    assert_eq!(log.append(&write_event(2)).unwrap(), 2);
    assert_eq!(log.durable_records(), 3);
    drop(log); // no close record: an unclean shutdown

    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    let info = log.open_info().clone();
    assert!(!info.created && info.unclean_shutdown && info.torn_tail.is_none(), "{info:?}");
    assert_eq!(log.append(&write_event(3)).unwrap(), 4);
    let head = log.close().unwrap();
    assert_eq!(head.seq, 5);

    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    assert!(!log.open_info().unclean_shutdown, "the last record was a clean close");
    log.close().unwrap();

    let report = assert_intact(root.path());
    assert_eq!(report.records, 8);
    let kinds: Vec<Option<LifecycleAction>> =
        events(root.path()).iter().map(|(_, event)| lifecycle_action(event)).collect();
    use LifecycleAction::{Closed, Created, Opened};
    assert_eq!(
        kinds,
        [Some(Created), None, None, Some(Opened), None, Some(Closed), Some(Opened), Some(Closed)]
    );
}

#[test]
fn concurrent_appenders_share_fsync_and_keep_order() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 100;
    let root = tempfile::tempdir().unwrap();
    let (log, plan) = faulty_log(root.path(), 1);
    let log = Arc::new(log);
    let syncs_before = plan.syncs();
    let start = Arc::new(Barrier::new(THREADS as usize));
    let handles: Vec<_> = (0..THREADS)
        .map(|thread_idx| {
            let log = Arc::clone(&log);
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                let mut seqs = Vec::new();
                for i in 0..PER_THREAD {
                    let rows = thread_idx * 1000 + i;
                    let seq = log.append(&write_event(rows)).unwrap();
                    assert!(log.durable_records() > seq, "append returns once durable");
                    seqs.push((seq, rows));
                }
                seqs
            })
        })
        .collect();
    let appended: BTreeMap<u64, u64> =
        handles.into_iter().flat_map(|handle| handle.join().unwrap()).collect();
    let total = THREADS * PER_THREAD;
    assert_eq!(appended.len() as u64, total, "seqs are unique");

    // One round is one fsync of the log file and one of HEAD; without group commit there
    // would be a round per append.
    let rounds = (plan.syncs() - syncs_before) / 2;
    assert!(rounds < total / 2, "group commit: {rounds} rounds for {total} appends");

    Arc::try_unwrap(log).unwrap().close().unwrap();
    assert_intact(root.path());
    let written: BTreeMap<u64, u64> = events(root.path())
        .into_iter()
        .filter_map(|(seq, event)| match event {
            Event::Write { rows, .. } => Some((seq, rows)),
            _ => None,
        })
        .collect();
    assert_eq!(written, appended, "every record is in the log under the seq append returned");
    for thread_idx in 0..THREADS {
        let own: Vec<u64> =
            written.values().copied().filter(|rows| rows / 1000 == thread_idx).collect();
        assert_eq!(own, (0..PER_THREAD).map(|i| thread_idx * 1000 + i).collect::<Vec<_>>());
    }
}

#[test]
fn fsync_failure_is_fail_stop() {
    let root = tempfile::tempdir().unwrap();
    let (log, plan) = faulty_log(root.path(), 2);
    log.append(&write_event(1)).unwrap();
    let durable = log.durable_records();
    plan.fail_nth_sync(1);
    assert_injected(log.append(&write_event(2)));
    assert!(log.is_failed());
    assert_eq!(log.durable_records(), durable, "nothing more was acknowledged");
    assert_fail_stopped(log.append(&write_event(3)));
    assert_fail_stopped(log.append_buffered(&write_event(4)));
    assert_fail_stopped(log.sync());
    drop(log);

    // Reopening re-reads what reached the file; the log is intact and writable again.
    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    log.append(&write_event(5)).unwrap();
    log.close().unwrap();
    assert_intact(root.path());
    let rows: Vec<u64> = events(root.path())
        .into_iter()
        .filter_map(|(_, event)| match event {
            Event::Write { rows, .. } => Some(rows),
            _ => None,
        })
        .collect();
    // The record whose fsync failed was written before the failure (as on Linux), so it is
    // there; the refused ones are not.
    assert_eq!(rows, [1, 2, 5]);
}

#[test]
fn short_write_is_fail_stop_and_reopen_cuts_the_torn_line() {
    let root = tempfile::tempdir().unwrap();
    let (log, plan) = faulty_log(root.path(), 3);
    log.append(&write_event(1)).unwrap();
    plan.fail_nth_write(1);
    assert_injected(log.append(&write_event(2)));
    assert_fail_stopped(log.append(&write_event(3)));
    drop(log);

    // With this seed the failed append leaves part of its line in the file.
    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    let torn = log.open_info().torn_tail.clone().unwrap();
    assert!(torn.len > 0);
    log.close().unwrap();
    assert_intact(root.path());
    let lifecycle: Vec<LifecycleAction> =
        events(root.path()).iter().filter_map(|(_, event)| lifecycle_action(event)).collect();
    assert!(lifecycle.contains(&LifecycleAction::TornTailDiscarded), "{lifecycle:?}");
    assert!(!events(root.path()).iter().any(|(_, event)| *event == write_event(2)));
}

#[test]
fn head_write_failure_is_fail_stop() {
    let root = tempfile::tempdir().unwrap();
    let (log, plan) = faulty_log(root.path(), 4);
    // A round's writes: the append to the log file, then the replacement of HEAD.
    plan.fail_nth_write(2);
    assert_injected(log.append(&write_event(1)));
    assert_fail_stopped(log.append(&write_event(2)));
    drop(log);

    // The record reached the log (fsynced) but not HEAD: after HEAD, which is allowed.
    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    log.close().unwrap();
    assert_intact(root.path());
    assert!(events(root.path()).iter().any(|(_, event)| *event == write_event(1)));
}

#[test]
fn buffered_appends_become_durable_with_sync_and_share_one_round() {
    let root = tempfile::tempdir().unwrap();
    let (log, plan) = faulty_log(root.path(), 5);
    let durable = log.durable_records();
    let syncs = plan.syncs();
    let seqs: Vec<u64> =
        (0..5).map(|rows| log.append_buffered(&write_event(rows)).unwrap()).collect();
    assert_eq!(log.durable_records(), durable, "buffered appends do no IO");
    assert_eq!(plan.syncs(), syncs);
    let head = log.sync().unwrap().unwrap();
    assert_eq!(head.seq, *seqs.last().unwrap());
    assert_eq!(log.durable_records(), durable + 5);
    assert_eq!(plan.syncs() - syncs, 2, "one fsync of the log file and one of HEAD");
    log.close().unwrap();
    assert_intact(root.path());
}

#[test]
fn buffered_records_never_synced_are_lost_without_damage() {
    let root = tempfile::tempdir().unwrap();
    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    log.append(&write_event(1)).unwrap();
    log.append_buffered(&write_event(2)).unwrap();
    drop(log);
    assert_intact(root.path());
    assert!(!events(root.path()).iter().any(|(_, event)| *event == write_event(2)));
}

#[test]
fn buffered_appends_flush_themselves_beyond_the_pending_limit() {
    let root = tempfile::tempdir().unwrap();
    let log = AuditLog::open(root.path(), key(), options(64 << 20)).unwrap();
    let durable = log.durable_records();
    for rows in 0..10_000 {
        log.append_buffered(&write_event(rows)).unwrap();
    }
    assert!(log.durable_records() > durable, "memory held by buffered records is bounded");
    log.close().unwrap();
    assert_intact(root.path());
}

#[test]
fn second_writer_is_locked_out() {
    let root = tempfile::tempdir().unwrap();
    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    let second = AuditLog::open(root.path(), key(), options(ONE_FILE));
    assert!(matches!(second, Err(AuditError::Locked { .. })), "{second:?}");
    log.close().unwrap();
    AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap().close().unwrap();
}

#[test]
fn open_refuses_a_tampered_log() {
    let root = closed_log(3, ONE_FILE);
    let file = log_files(root.path()).pop().unwrap();
    let mut all = lines(&file);
    all[2] = String::from_utf8(all[2].clone()).unwrap().replace("alice", "mallory").into_bytes();
    write_lines(&file, &all);
    match AuditLog::open(root.path(), key(), options(ONE_FILE)) {
        Err(AuditError::Tampered(problem)) => {
            assert_eq!(problem.kind, ProblemKind::MacMismatch);
            assert_eq!(problem.line, Some(3));
        }
        other => panic!("expected Tampered, got {other:?}"),
    }
}

#[test]
fn open_refuses_log_files_without_head() {
    let root = closed_log(1, ONE_FILE);
    fs::remove_file(root.path().join(AUDIT_DIR).join(HEAD_NAME)).unwrap();
    match AuditLog::open(root.path(), key(), options(ONE_FILE)) {
        Err(AuditError::Tampered(problem)) => assert_eq!(problem.kind, ProblemKind::HeadMissing),
        other => panic!("expected Tampered, got {other:?}"),
    }
}

#[test]
fn open_refuses_a_log_cut_before_head() {
    let root = closed_log(3, ONE_FILE);
    let file = log_files(root.path()).pop().unwrap();
    let mut all = lines(&file);
    all.pop();
    write_lines(&file, &all);
    match AuditLog::open(root.path(), key(), options(ONE_FILE)) {
        Err(AuditError::Tampered(problem)) => {
            assert!(matches!(problem.kind, ProblemKind::TruncatedBeforeHead { .. }), "{problem}");
        }
        other => panic!("expected Tampered, got {other:?}"),
    }
}

#[test]
fn open_continues_in_an_empty_file_left_by_a_crash_during_rotation() {
    let root = closed_log(3, ONE_FILE);
    let next_seq = assert_intact(root.path()).records;
    let empty = root.path().join(AUDIT_DIR).join(crate::files::file_name(next_seq));
    fs::write(&empty, b"").unwrap();
    assert_intact(root.path());
    let log = AuditLog::open(root.path(), key(), options(ONE_FILE)).unwrap();
    log.close().unwrap();
    assert_intact(root.path());
    assert_eq!(lines(&empty).len(), 2, "the Opened and Closed records went to the empty file");
}

#[test]
fn log_and_key_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AuditLog>();
    assert_send_sync::<crate::key::AuditKey>();
}
