//! The machine's memory read bandwidth, measured in the same run as a FLAT scan so that the
//! scan's speed can be stated as a share of it.
//!
//! One thread streams through a buffer far larger than any cache, summing its 64-bit words
//! (a loop the compiler vectorizes and that does nothing but read), so the figure is the best
//! read bandwidth one searching thread can get.

use std::time::Instant;

use super::measure::median;

/// Large enough to defeat the last-level cache of any machine we run on.
const BUFFER_BYTES: usize = 512 << 20;
const PASSES: usize = 5;

/// Median single-thread read bandwidth in GB/s (10^9 bytes per second).
pub(crate) fn read_gb_per_s() -> f64 {
    let words = BUFFER_BYTES / 8;
    // Non-zero values, so the pages are really backed by memory.
    let buffer: Vec<u64> = (0..words as u64).collect();
    let mut rates = Vec::with_capacity(PASSES);
    for _ in 0..PASSES {
        let started = Instant::now();
        let mut sums = [0u64; 8];
        for chunk in buffer.chunks_exact(8) {
            for (sum, word) in sums.iter_mut().zip(chunk) {
                *sum = sum.wrapping_add(*word);
            }
        }
        // Keeps the loop from being optimised away.
        std::hint::black_box(sums);
        rates.push(BUFFER_BYTES as f64 / started.elapsed().as_secs_f64() / 1e9);
    }
    median(&mut rates)
}
