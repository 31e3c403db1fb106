use std::sync::Arc;

use super::{FaultPlan, FaultyBackend};
use crate::backend::Backend;
use crate::error::StorageError;
use crate::local::LocalBackend;

fn backend(seed: u64) -> (tempfile::TempDir, FaultyBackend, FaultPlan) {
    let temp = tempfile::tempdir().unwrap();
    let local = LocalBackend::new(temp.path().to_path_buf()).unwrap();
    let plan = FaultPlan::with_seed(seed);
    let backend = FaultyBackend::new(Arc::new(local), plan.clone());
    (temp, backend, plan)
}

#[track_caller]
fn assert_injected(result: Result<(), StorageError>, expected_op: &str) {
    match result {
        Err(StorageError::Io { op, source, .. }) => {
            assert_eq!(op, expected_op);
            assert_eq!(source.kind(), std::io::ErrorKind::Other);
            assert_eq!(source.to_string(), "injected fault");
        }
        other => panic!("expected an injected fault, got {other:?}"),
    }
}

#[test]
fn counts_writes_and_syncs() {
    let (_temp, backend, plan) = backend(0);
    backend.create_dir_all("d").unwrap();
    assert_eq!((plan.writes(), plan.syncs()), (0, 0), "directories are not counted");
    backend.write_new("d/a", b"1").unwrap();
    backend.write_atomic("d/b", b"2").unwrap();
    let mut file = backend.open_append("d/c").unwrap();
    file.append(b"3").unwrap();
    file.sync().unwrap();
    backend.truncate("d/c", 0).unwrap();
    backend.rename("d/c", "d/e").unwrap();
    backend.remove_file("d/e").unwrap();
    assert_eq!(backend.read("d/a").unwrap(), b"1");
    assert_eq!((plan.writes(), plan.syncs()), (5, 3));
    assert_eq!(
        format!("{plan:?}"),
        "FaultPlan { writes: 5, syncs: 3, fail_write_at: 0, fail_sync_at: 0 }"
    );
}

#[test]
fn nth_write_fails_once() {
    let (_temp, backend, plan) = backend(0);
    backend.create_dir_all("d").unwrap();
    plan.fail_nth_write(3);
    backend.write_new("d/1", b"x").unwrap();
    backend.write_new("d/2", b"x").unwrap();
    assert_injected(backend.write_new("d/3", b"x"), "write");
    assert!(!backend.exists("d/3").unwrap(), "a failed write_new writes nothing");
    backend.write_new("d/4", b"x").unwrap();

    plan.fail_nth_write(1);
    assert_injected(backend.rename("d/1", "d/5"), "rename");
    assert!(backend.exists("d/1").unwrap());
    plan.fail_nth_write(1);
    assert_injected(backend.truncate("d/1", 0), "truncate");
    assert_eq!(backend.read("d/1").unwrap(), b"x");
    plan.fail_nth_write(1);
    assert_injected(backend.write_atomic("d/1", b"y"), "write");
    assert_eq!(backend.read("d/1").unwrap(), b"x");
}

#[test]
fn failed_append_writes_a_strict_prefix() {
    let mut prefix_lens = Vec::new();
    for seed in 0..32 {
        let (_temp, backend, plan) = backend(seed);
        let mut file = backend.open_append("f").unwrap();
        file.append(b"head:").unwrap();
        plan.fail_nth_write(1);
        assert_injected(file.append(b"0123456789"), "append");
        let bytes = backend.read("f").unwrap();
        assert!(bytes.len() < 15, "seed {seed}: the whole append was written");
        assert_eq!(bytes[..], b"head:0123456789"[..bytes.len()]);
        prefix_lens.push(bytes.len() - 5);
        file.append(b"!").unwrap();
    }
    prefix_lens.sort_unstable();
    prefix_lens.dedup();
    assert!(prefix_lens.len() > 3, "short writes vary in length: {prefix_lens:?}");
}

#[test]
fn failed_sync_happens_after_the_data_was_written() {
    let (_temp, backend, plan) = backend(0);
    plan.fail_nth_sync(2);
    let mut file = backend.open_append("f").unwrap();
    file.append(b"abc").unwrap();
    file.sync().unwrap();
    file.append(b"def").unwrap();
    assert_injected(file.sync(), "fsync");
    assert_eq!(backend.read("f").unwrap(), b"abcdef");

    plan.fail_nth_sync(1);
    assert_injected(backend.write_new("g", b"new"), "fsync");
    assert_eq!(backend.read("g").unwrap(), b"new");
    plan.fail_nth_sync(1);
    assert_injected(backend.write_atomic("g", b"newer"), "fsync");
    assert_eq!(backend.read("g").unwrap(), b"newer");
}

#[test]
fn disarm_cancels_armed_failures() {
    let (_temp, backend, plan) = backend(0);
    plan.fail_nth_write(1);
    plan.fail_nth_sync(1);
    plan.disarm();
    backend.write_new("a", b"x").unwrap();
    let mut file = backend.open_append("b").unwrap();
    file.append(b"y").unwrap();
    file.sync().unwrap();
}
