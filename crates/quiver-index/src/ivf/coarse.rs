//! The coarse quantizer: the trained centroids, the list each row is filed under, and the order
//! in which a query visits the lists.

use quiver_core::Metric;

use crate::distance::kernels;

use super::kmeans::{self, Geometry, RowSet};

/// One centroid per inverted list, row-major, compared with rows and queries under the index
/// metric's [`Geometry`].
#[derive(Clone, Debug)]
pub(crate) struct Coarse {
    dim: usize,
    geometry: Geometry,
    /// `lists · dim` floats; unit-norm rows for spherical geometry.
    centroids: Vec<f32>,
}

impl Coarse {
    /// Trains `min(nlist, n)` centroids over `vectors` (see [`kmeans`]) and returns them with
    /// the list of every row (its nearest centroid; ties to the lower list).
    pub(crate) fn train(
        vectors: &[f32],
        dim: usize,
        metric: Metric,
        nlist: usize,
        seed: u64,
        threads: usize,
    ) -> (Coarse, Vec<u32>) {
        let geometry = Geometry::of(metric);
        let trained = kmeans::train(vectors, dim, nlist, geometry, seed, threads);
        let coarse = Coarse { dim, geometry, centroids: trained.centroids };
        // Training on the whole segment leaves every row labelled already.
        let labels = trained.labels.unwrap_or_else(|| coarse.assign_all(vectors, threads));
        (coarse, labels)
    }

    /// Centroids read back from storage: `centroids` holds whole rows of `dim > 0` floats.
    pub(crate) fn from_stored(dim: usize, metric: Metric, centroids: Vec<f32>) -> Coarse {
        debug_assert!(dim > 0 && centroids.len().is_multiple_of(dim));
        Coarse { dim, geometry: Geometry::of(metric), centroids }
    }

    /// The number of centroids, so of lists.
    pub(crate) fn len(&self) -> usize {
        self.centroids.len() / self.dim
    }

    pub(crate) fn centroids(&self) -> &[f32] {
        &self.centroids
    }

    /// The list of every row of `vectors` (the nearest centroid; ties to the lower list),
    /// computed over `threads` threads.
    fn assign_all(&self, vectors: &[f32], threads: usize) -> Vec<u32> {
        let rows = RowSet::All(vectors.len() / self.dim);
        kmeans::assign(vectors, self.dim, rows, &self.centroids, self.geometry, threads).0
    }

    /// Fills `probes` with `(score, list)` for every list, where a smaller score is a nearer
    /// centroid; the caller picks and orders the ones to scan.
    pub(crate) fn rank(&self, query: &[f32], probes: &mut Vec<(f32, u32)>) {
        let kernels = kernels();
        probes.clear();
        probes.extend(
            self.centroids.chunks_exact(self.dim).enumerate().map(|(list, centroid)| {
                (self.geometry.score(kernels, query, centroid), list as u32)
            }),
        );
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.centroids.capacity() * size_of::<f32>()
    }
}
