//! A latency histogram with fixed buckets from 100 µs to 60 s, recorded with atomics only.
//!
//! Quiver's requests range from a cached authorization check (well under a millisecond) to a
//! flush, an index build or a large search (seconds; the request timeout is minutes), so the
//! buckets follow a 1–2.5–5 progression over that range. Each observation adds to one bucket,
//! to the sum and is counted by the buckets themselves, so recording never takes a lock;
//! a scrape reads the atomics one by one (a concurrent observation may show in a bucket and
//! not yet in the sum, which Prometheus tolerates).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the finite buckets, in nanoseconds (`le` is inclusive).
const BOUNDS_NANOS: [u64; 18] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
    60_000_000_000,
];

const NANOS_PER_SECOND: f64 = 1e9;

/// Observations per bucket (the last one is `+Inf`) and their sum.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    buckets: [AtomicU64; BOUNDS_NANOS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub(crate) fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_NANOS.partition_point(|&bound| bound < nanos);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            counts: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            sum_nanos: self.sum_nanos.load(Ordering::Relaxed),
        }
    }
}

/// A histogram's values at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HistogramSnapshot {
    counts: [u64; BOUNDS_NANOS.len() + 1],
    sum_nanos: u64,
}

impl HistogramSnapshot {
    /// Each bucket's upper bound in seconds (`+Inf` last) with its own (not cumulative) count.
    pub(crate) fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let bounds = BOUNDS_NANOS
            .iter()
            .map(|&nanos| nanos as f64 / NANOS_PER_SECOND)
            .chain(std::iter::once(f64::INFINITY));
        bounds.zip(self.counts.iter().copied())
    }

    pub(crate) fn count(&self) -> u64 {
        self.counts.iter().fold(0u64, |acc, &n| acc.saturating_add(n))
    }

    pub(crate) fn sum_seconds(&self) -> f64 {
        self.sum_nanos as f64 / NANOS_PER_SECOND
    }
}
