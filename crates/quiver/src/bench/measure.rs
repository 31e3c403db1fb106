//! What the benchmark measures: recall@10 against a ground truth, queries per second with
//! one thread sending one query per call (`qps_1t`, as a server sees a single client) and with
//! every benchmark thread doing so at once (`qps_all`), each the median of [`REPETITIONS`]
//! timed passes over all queries, and the process's peak resident memory.
//!
//! The searches and the scoring of their results are given as closures, so this module knows
//! nothing of the engine, and filtered searches (`filtered.rs`) are timed exactly like the
//! others.

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{anyhow, ensure};

use super::dataset::RECALL_K;

/// Timed passes per throughput figure; the median is reported.
pub(crate) const REPETITIONS: usize = 3;

/// Searches query `i` and returns the ids of its nearest base rows, nearest first.
pub(crate) type SearchFn<'a> = dyn Fn(usize) -> anyhow::Result<Vec<i64>> + Sync + 'a;

/// Scores the ids found for every query (in query order) as a recall.
pub(crate) type RecallFn<'a> = dyn Fn(&[Vec<i64>]) -> anyhow::Result<f64> + 'a;

/// The figures of one search setting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Measured {
    pub(crate) recall: f64,
    pub(crate) qps_1t: f64,
    pub(crate) qps_all: f64,
}

/// Runs all `queries` [`REPETITIONS`] times on one thread and as many times on `threads`
/// threads; recall is `recall` of the first pass's results.
pub(crate) fn measure(
    search: &SearchFn<'_>,
    queries: usize,
    threads: usize,
    recall_of: &RecallFn<'_>,
) -> anyhow::Result<Measured> {
    ensure!(queries > 0 && threads > 0, "nothing to measure");
    let mut serial = Vec::with_capacity(REPETITIONS);
    let mut recall = None;
    for _ in 0..REPETITIONS {
        let started = Instant::now();
        let found = (0..queries).map(search).collect::<anyhow::Result<Vec<_>>>()?;
        serial.push(per_second(queries, started));
        if recall.is_none() {
            recall = Some(recall_of(&found)?);
        }
    }
    let mut parallel = Vec::with_capacity(REPETITIONS);
    for _ in 0..REPETITIONS {
        let started = Instant::now();
        run_parallel(search, queries, threads)?;
        parallel.push(per_second(queries, started));
    }
    Ok(Measured {
        recall: recall.unwrap_or_default(),
        qps_1t: median(&mut serial),
        qps_all: median(&mut parallel),
    })
}

fn per_second(queries: usize, started: Instant) -> f64 {
    queries as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

/// Searches every query once, spread over `threads` threads that each take the next query
/// until none is left.
fn run_parallel(search: &SearchFn<'_>, queries: usize, threads: usize) -> anyhow::Result<()> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= queries {
                            return Ok(());
                        }
                        if let Err(err) = search(i) {
                            // Let the other threads stop at their next query.
                            next.store(queries, Ordering::Relaxed);
                            return Err(err);
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().try_for_each(|worker| {
            worker.join().map_err(|_| anyhow!("a search thread panicked"))?
        })
    })
}

/// The mean over queries of |found[..10] ∩ ground_truth[..10]| / 10, with `ground_truth`
/// holding one row of ids per query.
pub(crate) fn recall_at_10(found: &[Vec<i64>], ground_truth: &[i32]) -> anyhow::Result<f64> {
    ensure!(!found.is_empty(), "no queries");
    ensure!(
        ground_truth.len().is_multiple_of(found.len())
            && ground_truth.len() / found.len() >= RECALL_K,
        "{} ground-truth ids do not give {RECALL_K} per query for {} queries",
        ground_truth.len(),
        found.len()
    );
    let k = ground_truth.len() / found.len();
    let total: usize = found
        .iter()
        .zip(ground_truth.chunks_exact(k))
        .map(|(ids, truth)| {
            let truth: Vec<i64> = truth[..RECALL_K].iter().map(|id| i64::from(*id)).collect();
            hits(ids, &truth)
        })
        .sum();
    Ok(total as f64 / (found.len() * RECALL_K) as f64)
}

/// How many distinct ids among the first [`RECALL_K`] of `found` are in `truth`.
pub(crate) fn hits(found: &[i64], truth: &[i64]) -> usize {
    let mut truth = truth.to_vec();
    truth.sort_unstable();
    truth.dedup();
    let mut ids: Vec<i64> = found.iter().take(RECALL_K).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    ids.iter().filter(|id| truth.binary_search(id).is_ok()).count()
}

/// The median (the mean of the middle two for an even count); 0 when empty.
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        len if len % 2 == 1 => values[len / 2],
        len => (values[len / 2 - 1] + values[len / 2]) / 2.0,
    }
}

/// The process's peak resident set size in MiB (`VmHWM` of /proc/self/status); `None` where
/// the kernel does not report it.
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm_kib(&status).map(|kib| kib as f64 / 1024.0)
}

/// The `VmHWM:  123456 kB` line's value in KiB.
pub(crate) fn parse_vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?;
    let mut words = line.split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}
