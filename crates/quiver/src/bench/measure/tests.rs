//! Recall, medians, the timed passes and the peak-memory parser.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

#[track_caller]
fn check_recall(found: &[&[i64]], ground_truth: &[i32], expect: f64) {
    let found: Vec<Vec<i64>> = found.iter().map(|ids| ids.to_vec()).collect();
    let recall = recall_at_10(&found, ground_truth).expect("computes");
    assert!((recall - expect).abs() < 1e-12, "recall {recall}, expected {expect}");
}

/// Ground truth rows of 12 ids: `base, base + 1, ...`.
fn truth(bases: &[i32]) -> Vec<i32> {
    bases.iter().flat_map(|base| *base..*base + 12).collect()
}

#[test]
fn recall_counts_the_true_top_10_among_the_first_10_found() {
    let all: Vec<i64> = (0..10).collect();
    check_recall(&[&all], &truth(&[0]), 1.0);
    // Order does not matter.
    let reversed: Vec<i64> = (0..10).rev().collect();
    check_recall(&[&reversed], &truth(&[0]), 1.0);
    // Ids 10 and 11 are in the ground truth, but beyond its top 10.
    check_recall(&[&[0, 1, 2, 3, 4, 5, 6, 7, 10, 11]], &truth(&[0]), 0.8);
    // Hits past the tenth are not counted.
    check_recall(&[&[50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 0, 1]], &truth(&[0]), 0.0);
    // Fewer than 10 found; duplicates count once.
    check_recall(&[&[3, 3, 3]], &truth(&[0]), 0.1);
    // The mean over queries.
    check_recall(&[&all, &[100, 101, 102, 103, 104, 0, 0, 0, 0, 0]], &truth(&[0, 100]), 0.75);
}

#[test]
fn recall_refuses_a_short_ground_truth() {
    let found = vec![vec![0; 10]; 2];
    let err = recall_at_10(&found, &[0; 18]).expect_err("9 ids per query");
    assert!(err.to_string().contains("18 ground-truth ids do not give 10 per query"), "{err}");
    assert!(recall_at_10(&[], &[]).is_err());
}

#[test]
fn median_of_odd_and_even_counts() {
    assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    assert_eq!(median(&mut []), 0.0);
}

#[test]
fn measure_searches_every_query_once_per_pass() {
    let calls: Vec<AtomicUsize> = (0..7).map(|_| AtomicUsize::new(0)).collect();
    let search = |i: usize| -> anyhow::Result<Vec<i64>> {
        calls[i].fetch_add(1, Ordering::Relaxed);
        Ok((0..10).map(|j| (i * 12 + j) as i64).collect())
    };
    let ground_truth: Vec<i32> = (0..7 * 12).collect();
    let recall_of = |found: &[Vec<i64>]| recall_at_10(found, &ground_truth);
    let measured = measure(&search, 7, 3, &recall_of).expect("measures");
    assert_eq!(measured.recall, 1.0);
    assert!(measured.qps_1t > 0.0 && measured.qps_all > 0.0);
    for count in &calls {
        assert_eq!(count.load(Ordering::Relaxed), 2 * REPETITIONS);
    }
}

#[test]
fn measure_reports_a_failed_search() {
    let search = |i: usize| -> anyhow::Result<Vec<i64>> {
        anyhow::ensure!(i != 3, "query 3 failed");
        Ok(vec![0; 10])
    };
    let err = measure(&search, 5, 2, &|found| recall_at_10(found, &[0; 50])).expect_err("fails");
    assert_eq!(err.to_string(), "query 3 failed");
}

#[test]
fn parses_the_peak_resident_set() {
    let status = "Name:\tquiver\nVmPeak:\t  999 kB\nVmHWM:\t   20480 kB\nVmRSS:\t 100 kB\n";
    assert_eq!(parse_vm_hwm_kib(status), Some(20_480));
    assert_eq!(parse_vm_hwm_kib("VmRSS:\t100 kB\n"), None);
    assert_eq!(parse_vm_hwm_kib("VmHWM:\tlots\n"), None);
    assert_eq!(parse_vm_hwm_kib("VmHWM:\t100 MB\n"), None);
}
