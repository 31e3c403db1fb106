//! The assignment step: every row's nearest centroid, by a full scan of the centroids.
//!
//! Rows are scored in blocks of [`BLOCK`] against each centroid in turn, so a centroid is read
//! from memory once per block rather than once per row. Work is split over the threads by
//! contiguous slices of rows, and each row's result depends only on that row, so the result
//! does not depend on the thread count.
//!
//! Triangle-inequality bounds (Elkan's, Hamerly's) were tried and dropped: on the benchmark's
//! 128-dimensional clusters a row's nearest and second-nearest centroids are almost equally
//! far, so the bounds skipped under 3% of the rows.

use std::thread;

use crate::distance::kernels;

use super::{Geometry, RowSet};

/// Rows scored together against each centroid.
const BLOCK: usize = 16;

/// The nearest centroid of each member of `rows` (ties to the lower index) and its
/// [`Geometry::score`], computed over `threads` threads (0 counts as 1).
pub(crate) fn assign(
    vectors: &[f32],
    dim: usize,
    rows: RowSet<'_>,
    centroids: &[f32],
    geometry: Geometry,
    threads: usize,
) -> (Vec<u32>, Vec<f32>) {
    let mut nearest = vec![(0u32, 0f32); rows.len()];
    if nearest.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let chunk = nearest.len().div_ceil(threads.clamp(1, nearest.len()));
    let work = |start: usize, nearest: &mut [(u32, f32)]| {
        let kernels = kernels();
        for (b, nearest) in nearest.chunks_mut(BLOCK).enumerate() {
            let first = start + b * BLOCK;
            let mut block: [&[f32]; BLOCK] = [&[]; BLOCK];
            for (i, slot) in block.iter_mut().enumerate().take(nearest.len()) {
                let row = rows.row(first + i);
                *slot = &vectors[row * dim..(row + 1) * dim];
            }
            nearest.fill((0, f32::INFINITY));
            for (c, centroid) in centroids.chunks_exact(dim).enumerate() {
                for (row, nearest) in block.iter().zip(nearest.iter_mut()) {
                    let score = geometry.score(kernels, row, centroid);
                    if score < nearest.1 {
                        *nearest = (c as u32, score);
                    }
                }
            }
        }
    };
    thread::scope(|scope| {
        let work = &work;
        let mut slices = nearest.chunks_mut(chunk).enumerate();
        let first = slices.next();
        for (i, slice) in slices {
            scope.spawn(move || work(i * chunk, slice));
        }
        if let Some((_, slice)) = first {
            work(0, slice);
        }
    });
    nearest.into_iter().unzip()
}
