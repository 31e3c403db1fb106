//! k-means++ seeding (Arthur and Vassilvitskii): the first centroid is a training row drawn
//! uniformly, every next one a row drawn with probability proportional to its squared distance
//! to the nearest centroid chosen so far. On clustered data this nearly always puts a seed in
//! every cluster, where a uniform draw often puts two seeds in one cluster and none in another,
//! a local minimum that Lloyd's iterations do not leave.
//!
//! Cost: `k` passes over the sample with one distance per row each, about one Lloyd iteration.
//! A pass over a large sample is split over the threads; the weights are summed in `f64` over
//! fixed blocks of rows, in order, so the draws do not depend on the thread count.

use std::thread;

use crate::distance::kernels;

use super::{SplitMix64, TrainingSet};

/// Rows whose weights are summed together (and the unit of work split over threads).
const SUM_BLOCK: usize = 4096;
/// Samples smaller than this are seeded on one thread: a pass is too short to share.
const PARALLEL_MIN: usize = 32768;

/// `k <= set.len()` seeds, row-major (normalised for spherical geometry).
pub(super) fn plus_plus(
    set: &TrainingSet<'_>,
    k: usize,
    rng: &mut SplitMix64,
    threads: usize,
) -> Vec<f32> {
    let len = set.len();
    let dim = set.dim;
    let mut centroids = Vec::with_capacity(k * dim);
    if k == 0 || len == 0 {
        return centroids;
    }
    centroids.extend(set.normalized(rng.below(len)));
    // The squared distance of every row to its nearest centroid so far.
    let mut nearest = vec![f32::INFINITY; len];
    let mut sums = vec![0f64; len.div_ceil(SUM_BLOCK)];
    let threads = if len >= PARALLEL_MIN { threads.max(1) } else { 1 };
    for c in 1..k {
        let latest = &centroids[(c - 1) * dim..c * dim];
        update(set, latest, &mut nearest, &mut sums, threads);
        // When every row coincides with a centroid, any row will do (and will be split off
        // again if it leaves a cluster empty).
        let chosen = draw(rng, &nearest, &sums).unwrap_or_else(|| rng.below(len));
        centroids.extend(set.normalized(chosen));
    }
    centroids
}

/// Lowers every row's `nearest` distance to `latest` where that is nearer, and recomputes the
/// block sums.
fn update(
    set: &TrainingSet<'_>,
    latest: &[f32],
    nearest: &mut [f32],
    sums: &mut [f64],
    threads: usize,
) {
    let blocks_per_thread = sums.len().div_ceil(threads.clamp(1, sums.len().max(1))).max(1);
    let work = |first_block: usize, nearest: &mut [f32], sums: &mut [f64]| {
        let kernels = kernels();
        for (b, (block, sum)) in nearest.chunks_mut(SUM_BLOCK).zip(sums).enumerate() {
            let start = (first_block + b) * SUM_BLOCK;
            let mut total = 0f64;
            for (j, d) in block.iter_mut().enumerate() {
                *d = d.min(set.distance_squared(kernels, start + j, latest));
                total += f64::from(*d);
            }
            *sum = total;
        }
    };
    thread::scope(|scope| {
        let work = &work;
        let mut parts = nearest
            .chunks_mut(blocks_per_thread * SUM_BLOCK)
            .zip(sums.chunks_mut(blocks_per_thread))
            .enumerate();
        let first = parts.next();
        for (i, (nearest, sums)) in parts {
            scope.spawn(move || work(i * blocks_per_thread, nearest, sums));
        }
        if let Some((_, (nearest, sums))) = first {
            work(0, nearest, sums);
        }
    });
}

/// A row drawn with probability proportional to its weight in `nearest`, or `None` when the
/// weights do not have a positive finite sum.
fn draw(rng: &mut SplitMix64, nearest: &[f32], sums: &[f64]) -> Option<usize> {
    let total: f64 = sums.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    let mut target = rng.unit() * total;
    for (b, &sum) in sums.iter().enumerate() {
        if target >= sum {
            target -= sum;
            continue;
        }
        let start = b * SUM_BLOCK;
        let block = &nearest[start..(start + SUM_BLOCK).min(nearest.len())];
        for (j, &d) in block.iter().enumerate() {
            let d = f64::from(d);
            if target < d {
                return Some(start + j);
            }
            target -= d;
        }
        // Rounding ran past the block's end: its last row of positive weight.
        return block.iter().rposition(|&d| d > 0.0).map(|j| start + j);
    }
    // Rounding ran past the end: the last row of positive weight.
    nearest.iter().rposition(|&d| d > 0.0)
}
