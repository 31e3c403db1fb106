//! The machine's memory read bandwidth, measured in the same run as a FLAT scan so that the
//! scan's speed can be stated as a share of it.
//!
//! One thread streams through a buffer far larger than any cache with the same SIMD kernel a
//! FLAT scan uses (a dot product of each block with itself reads every byte once), so the
//! figure is the bandwidth one searching thread can get.

use std::time::Instant;

use super::measure::median;

/// Large enough to defeat the last-level cache of any machine we run on.
const BUFFER_BYTES: usize = 512 << 20;
/// Bytes per kernel call: long enough for the kernel's loop to dominate its call overhead.
const BLOCK_FLOATS: usize = 4096;
const PASSES: usize = 5;

/// Median single-thread read bandwidth in GB/s (10^9 bytes per second).
pub(crate) fn read_gb_per_s() -> f64 {
    let floats = BUFFER_BYTES / 4;
    // Non-zero values, so the pages are really backed by memory.
    let buffer: Vec<f32> = (0..floats).map(|i| (i % 7) as f32 * 0.25).collect();
    let kernels = quiver_index::kernels();
    let mut rates = Vec::with_capacity(PASSES);
    let mut sink = 0.0f32;
    for _ in 0..PASSES {
        let started = Instant::now();
        for block in buffer.chunks_exact(BLOCK_FLOATS) {
            sink += kernels.dot(block, block);
        }
        let seconds = started.elapsed().as_secs_f64();
        rates.push(BUFFER_BYTES as f64 / seconds / 1e9);
    }
    // Keeps the loop from being optimised away.
    std::hint::black_box(sink);
    median(&mut rates)
}
