use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::thread;

use crate::error::StorageError;
use crate::wal::MAX_RECORD_PAYLOAD;
use crate::wal::format::file_key;
use crate::wal::test_support::{
    DIR, FLAVORS, expected, faulty_backend, local_backend, open_collect, payload,
};

#[track_caller]
fn assert_injected(result: Result<impl std::fmt::Debug, StorageError>) {
    match result {
        Err(StorageError::Io { source, .. }) => assert_eq!(source.to_string(), "injected fault"),
        other => panic!("expected the injected IO error, got {other:?}"),
    }
}

#[track_caller]
fn assert_fail_stopped(result: Result<impl std::fmt::Debug, StorageError>) {
    match result {
        Err(StorageError::FailStopped { path }) => assert!(path.starts_with(DIR), "{path}"),
        other => panic!("expected FailStopped, got {other:?}"),
    }
}

#[test]
fn append_assigns_lsns_and_wait_makes_them_durable() {
    for flavor in FLAVORS {
        let (_temp, backend) = local_backend(flavor);
        let (wal, _) = open_collect(&backend, 0).unwrap();
        assert_eq!(wal.append(b"a").unwrap(), 1);
        assert_eq!(wal.append(b"").unwrap(), 2);
        assert_eq!(wal.append(b"c").unwrap(), 3);
        assert_eq!((wal.last_lsn(), wal.durable_lsn()), (3, 0), "append does no IO");
        wal.wait_durable(2).unwrap();
        assert_eq!(wal.durable_lsn(), 3, "one round takes everything pending");
        wal.wait_durable(0).unwrap();
        assert_eq!(wal.sync().unwrap(), 3);
        match wal.wait_durable(4) {
            Err(StorageError::LsnNotAssigned { lsn: 4, last_lsn: 3, .. }) => {}
            other => panic!("expected LsnNotAssigned, got {other:?}"),
        }
    }
}

#[test]
fn oversized_payload_is_rejected_without_consuming_an_lsn() {
    for flavor in FLAVORS {
        let (_temp, backend) = local_backend(flavor);
        let (wal, _) = open_collect(&backend, 0).unwrap();
        let huge = vec![0u8; MAX_RECORD_PAYLOAD + 1];
        match wal.append(&huge) {
            Err(StorageError::TooLarge { len, max, .. }) => {
                assert_eq!((len, max), (MAX_RECORD_PAYLOAD as u64 + 1, MAX_RECORD_PAYLOAD as u64));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert_eq!(wal.append(b"ok").unwrap(), 1);
        assert!(!wal.is_failed());
    }
}

#[test]
fn concurrent_writers_share_syncs() {
    for flavor in FLAVORS {
        const THREADS: u64 = 8;
        const PER_THREAD: u64 = 200;
        let (_temp, backend, plan) = faulty_backend(flavor, 1);
        let (wal, _) = open_collect(&backend, 0).unwrap();
        let wal = Arc::new(wal);
        let syncs_before = plan.syncs();
        let start = Arc::new(Barrier::new(THREADS as usize));
        let handles: Vec<_> = (0..THREADS)
            .map(|thread_idx| {
                let wal = Arc::clone(&wal);
                let start = Arc::clone(&start);
                thread::spawn(move || {
                    start.wait();
                    let mut lsns = Vec::new();
                    for i in 0..PER_THREAD {
                        let body = format!("t{thread_idx}-{i}").into_bytes();
                        let lsn = wal.append(&body).unwrap();
                        wal.wait_durable(lsn).unwrap();
                        assert!(wal.durable_lsn() >= lsn);
                        lsns.push((lsn, body));
                    }
                    lsns
                })
            })
            .collect();
        let mut written: Vec<(u64, Vec<u8>)> =
            handles.into_iter().flat_map(|handle| handle.join().unwrap()).collect();
        written.sort();

        let total = THREADS * PER_THREAD;
        let lsns: BTreeSet<u64> = written.iter().map(|(lsn, _)| *lsn).collect();
        assert_eq!(lsns.len() as u64, total, "LSNs are unique");
        assert_eq!(lsns.iter().copied().collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());
        assert_eq!(wal.durable_lsn(), total);
        let syncs = plan.syncs() - syncs_before;
        assert!(syncs < total, "group commit: {syncs} syncs for {total} appends");

        drop(wal);
        let (_, records) = open_collect(&backend, 0).unwrap();
        assert_eq!(records, written);
    }
}

#[test]
fn failed_sync_stops_the_log() {
    for flavor in FLAVORS {
        let (_temp, backend, plan) = faulty_backend(flavor, 2);
        let (wal, _) = open_collect(&backend, 0).unwrap();
        assert_eq!(wal.append_durable(&payload(1)).unwrap(), 1);
        plan.fail_nth_sync(1);
        assert_eq!(wal.append(&payload(2)).unwrap(), 2);
        assert_injected(wal.wait_durable(2));
        assert_eq!(wal.durable_lsn(), 1, "an unsynced record is never reported durable");
        assert!(wal.is_failed());
        assert_fail_stopped(wal.append(&payload(3)));
        assert_fail_stopped(wal.wait_durable(2));
        assert_fail_stopped(wal.wait_durable(1));
        assert_fail_stopped(wal.sync());
        assert_fail_stopped(wal.rotate());
        assert_fail_stopped(wal.remove_files_through(1));
        assert_eq!(wal.durable_lsn(), 1);
        drop(wal);

        // The write itself went through (as after a failed fsync on Linux, the data may survive).
        plan.disarm();
        let (wal, records) = open_collect(&backend, 0).unwrap();
        assert_eq!(records, expected(1, 2));
        assert_eq!(wal.append(&payload(3)).unwrap(), 3);
    }
}

#[test]
fn short_write_stops_the_log_and_recovers_the_synced_records() {
    for flavor in FLAVORS {
        for seed in 0..16 {
            let (_temp, backend, plan) = faulty_backend(flavor, seed);
            let (wal, _) = open_collect(&backend, 0).unwrap();
            for lsn in 1..=3 {
                wal.append(&payload(lsn)).unwrap();
            }
            wal.sync().unwrap();
            plan.fail_nth_write(1);
            for lsn in 4..=6 {
                wal.append(&payload(lsn)).unwrap();
            }
            assert_injected(wal.wait_durable(6));
            assert_eq!(wal.durable_lsn(), 3);
            assert_fail_stopped(wal.append(&payload(7)));
            drop(wal);

            let (wal, records) = open_collect(&backend, 0).unwrap();
            let recovered = records.len() as u64;
            assert!((3..6).contains(&recovered), "seed {seed}: recovered {recovered}");
            assert_eq!(records, expected(1, recovered), "seed {seed}");
            assert_eq!(wal.append(&payload(recovered + 1)).unwrap(), recovered + 1);
        }
    }
}

#[test]
fn concurrent_writers_never_see_unsynced_records_acknowledged() {
    for flavor in FLAVORS {
        let (_temp, backend, plan) = faulty_backend(flavor, 3);
        let (wal, _) = open_collect(&backend, 0).unwrap();
        let wal = Arc::new(wal);
        plan.fail_nth_sync(5);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let wal = Arc::clone(&wal);
                thread::spawn(move || {
                    let mut acknowledged = Vec::new();
                    loop {
                        let Ok(lsn) = wal.append(&payload(0)) else { return acknowledged };
                        match wal.wait_durable(lsn) {
                            Ok(()) => acknowledged.push(lsn),
                            Err(_) => return acknowledged,
                        }
                    }
                })
            })
            .collect();
        let acknowledged: Vec<u64> =
            handles.into_iter().flat_map(|handle| handle.join().unwrap()).collect();
        assert!(wal.is_failed());
        let durable = wal.durable_lsn();
        assert!(acknowledged.iter().all(|lsn| *lsn <= durable), "{acknowledged:?} > {durable}");
        assert!(!acknowledged.is_empty());
        drop(wal);
        plan.disarm();
        let (_, records) = open_collect(&backend, 0).unwrap();
        assert!(records.len() as u64 >= durable);
    }
}

#[test]
fn failed_rotation_stops_the_log() {
    for flavor in FLAVORS {
        let (_temp, backend, plan) = faulty_backend(flavor, 4);
        let (wal, _) = open_collect(&backend, 0).unwrap();
        wal.append(&payload(1)).unwrap();
        // The first write is the pending record, the second the new file's header.
        plan.fail_nth_write(2);
        assert_injected(wal.rotate());
        assert_eq!(wal.durable_lsn(), 1, "the pending record was made durable first");
        assert_fail_stopped(wal.append(&payload(2)));
        drop(wal);
        plan.disarm();
        // The new file was created before its header write failed (a short write of part of
        // it): recovery finds a torn header and re-initialises the file, which continues the
        // log at LSN 2.
        let (wal, records) = open_collect(&backend, 0).unwrap();
        assert_eq!(records, expected(1, 1), "{flavor:?}");
        assert_eq!(wal.file_keys(), vec![file_key(DIR, 1), file_key(DIR, 2)], "{flavor:?}");
        assert_eq!(wal.append_durable(&payload(2)).unwrap(), 2);
        drop(wal);
        let (_, records) = open_collect(&backend, 0).unwrap();
        assert_eq!(records, expected(1, 2), "{flavor:?}");
    }
}

#[test]
fn operation_counts_of_a_commit_round() {
    for flavor in FLAVORS {
        let (_temp, backend, plan) = faulty_backend(flavor, 5);
        let (wal, _) = open_collect(&backend, 0).unwrap();
        let (writes, syncs) = (plan.writes(), plan.syncs());
        wal.append(b"x").unwrap();
        wal.append(b"y").unwrap();
        wal.sync().unwrap();
        assert_eq!((plan.writes() - writes, plan.syncs() - syncs), (1, 1));
        assert_eq!(wal.sync().unwrap(), 2);
        assert_eq!((plan.writes() - writes, plan.syncs() - syncs), (1, 1), "nothing to sync");
    }
}

#[test]
fn wal_and_backends_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<crate::wal::Wal>();
    assert_send_sync::<crate::LocalBackend>();
    assert_send_sync::<crate::FaultyBackend>();
    assert_send_sync::<crate::EncryptedBackend>();
    assert_send_sync::<crate::FaultPlan>();
}
