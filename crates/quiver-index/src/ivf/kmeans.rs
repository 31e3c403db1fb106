//! Training the coarse quantizer: Lloyd's k-means, seeded and parallel, with the choices faiss
//! makes for IVF unless stated otherwise.
//!
//! * **Sample.** Training reads `min(n, max(256·k, 65536))` distinct rows drawn with the seed
//!   (all rows when that is `n`). faiss caps training at 256 rows per centroid; the floor of
//!   65536 costs little for small `k`, since an iteration costs `sample · k` distances.
//! * **Initialisation.** k-means++ on the sample (see `init`), where faiss draws `k` rows
//!   uniformly: it costs about one more iteration, and on clustered data it avoids the local
//!   minima (two centroids in one cluster, one centroid across two) that a uniform draw falls
//!   into and Lloyd's iterations never leave.
//! * **Iterations.** At most [`MAX_ITERATIONS`] (faiss's IVF default), stopping early once no
//!   sample row changes cluster. The assignment step (see `assign`) is split over the threads
//!   by contiguous slices of the sample, the update step by ranges of clusters; sums are taken
//!   in `f64` in row order, so the centroids depend only on the seed, never on the number of
//!   threads. When the sample is the whole segment, the last assignment is the build's, so the
//!   rows are not assigned again. A build thus costs about `(MAX_ITERATIONS + 2) · sample · k`
//!   distances (plus `(n - sample) · k` when sampling), nearly all of it in the assignments.
//! * **Empty clusters** are re-seeded by splitting the largest: each empty cluster takes as its
//!   centroid the member farthest from the centroid of the largest cluster that has not yet
//!   given one up in this round, so the next assignment cuts that cluster in two (scikit-learn
//!   relocates empty clusters to far rows in the same spirit). A cluster of identical rows
//!   cannot be split and may leave lists empty, which searches simply skip.
//! * **Geometry.** L2 trains Euclidean k-means. COSINE and IP train spherical k-means: rows are
//!   normalised, a centroid is the normalised mean of its rows, and a row belongs to the
//!   centroid with the largest inner product (the largest cosine, since centroids have unit
//!   norm; a zero row, which has no direction, contributes nothing). For IP this partitions rows by direction, which is what ranking by `q · x` mostly
//!   depends on; it avoids the degenerate clusters that unnormalised inner-product k-means forms
//!   around long centroids.
//! * **`k > n`** is clamped to `n`: there cannot be more distinct centroids than rows.

mod assign;
mod init;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::thread;

use quiver_core::Metric;

use crate::distance::{Kernels, kernels};

pub(crate) use assign::assign;

/// The most Lloyd iterations run.
pub(crate) const MAX_ITERATIONS: usize = 10;
/// Training rows per centroid (faiss's `max_points_per_centroid`).
pub(crate) const ROWS_PER_CENTROID: usize = 256;
/// The smallest training sample, when the segment has that many rows.
pub(crate) const MIN_SAMPLE: usize = 65536;

/// How rows are compared with centroids, for training and for probing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Geometry {
    /// L2: the squared distance to the centroid.
    Euclidean,
    /// COSINE and IP: unit-norm centroids, compared by inner product.
    Spherical,
}

impl Geometry {
    pub(crate) fn of(metric: Metric) -> Geometry {
        match metric {
            Metric::L2 => Geometry::Euclidean,
            Metric::Ip | Metric::Cosine => Geometry::Spherical,
        }
    }

    /// How far `row` is from `centroid` (smaller is nearer). For spherical geometry this is
    /// `-(row · centroid)`, which ranks unit centroids by cosine whatever the row's norm.
    #[inline]
    pub(crate) fn score(self, kernels: &Kernels, row: &[f32], centroid: &[f32]) -> f32 {
        match self {
            Geometry::Euclidean => kernels.l2_squared(row, centroid),
            Geometry::Spherical => -kernels.dot(row, centroid),
        }
    }
}

/// The rows of a matrix that take part in a pass: all of them, or a sample given by row ids.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RowSet<'a> {
    All(usize),
    Sample(&'a [u32]),
}

impl RowSet<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            RowSet::All(n) => *n,
            RowSet::Sample(ids) => ids.len(),
        }
    }

    /// The matrix row of the set's `i`-th member.
    #[inline]
    fn row(&self, i: usize) -> usize {
        match self {
            RowSet::All(_) => i,
            RowSet::Sample(ids) => ids[i] as usize,
        }
    }
}

/// Centroids trained by [`train`], and the label of every row when the whole segment was the
/// training sample (so the build need not assign the rows again).
#[derive(Debug)]
pub(crate) struct Trained {
    /// `min(k, n)` row-major centroids; unit-norm for spherical geometry.
    pub(crate) centroids: Vec<f32>,
    /// Each row's nearest centroid, when every row was in the sample.
    pub(crate) labels: Option<Vec<u32>>,
}

/// Trains `min(k, n)` centroids over the `n` rows of `vectors` (rows of `dim > 0` floats) with
/// `threads` threads (0 counts as 1).
pub(crate) fn train(
    vectors: &[f32],
    dim: usize,
    k: usize,
    geometry: Geometry,
    seed: u64,
    threads: usize,
) -> Trained {
    let n = vectors.len() / dim;
    let k = k.min(n);
    if k == 0 {
        return Trained { centroids: Vec::new(), labels: Some(vec![0; n]) };
    }
    let mut rng = SplitMix64(seed);
    let sample_size = n.min(k.saturating_mul(ROWS_PER_CENTROID).max(MIN_SAMPLE));
    let sample = if sample_size < n {
        let mut ids = draw_distinct(&mut rng, n, sample_size);
        // Reading the sample in row order is kinder to the caches.
        ids.sort_unstable();
        ids
    } else {
        Vec::new()
    };
    let rows = if sample_size < n { RowSet::Sample(&sample) } else { RowSet::All(n) };
    let set = TrainingSet::new(vectors, dim, rows, geometry);

    let mut centroids = init::plus_plus(&set, k, &mut rng, threads);
    let (mut labels, mut scores) = assign(vectors, dim, rows, &centroids, geometry, threads);
    for _ in 0..MAX_ITERATIONS {
        let clusters = update(&set, &labels, &scores, &mut centroids, threads);
        split_empty(&set, &clusters, &mut centroids);
        let previous = labels;
        (labels, scores) = assign(vectors, dim, rows, &centroids, geometry, threads);
        if labels == previous {
            // No row moved, so the centroids are already the means of their rows.
            break;
        }
    }
    // The labels are those of the final centroids: when every row was in the sample, the
    // build need not assign the rows again.
    let labels = (sample_size == n).then_some(labels);
    Trained { centroids, labels }
}

/// The training rows, with the inverse norms spherical geometry normalises them by.
struct TrainingSet<'a> {
    vectors: &'a [f32],
    dim: usize,
    rows: RowSet<'a>,
    geometry: Geometry,
    /// `1/|row|` per member for spherical geometry (0 for a zero row); empty otherwise.
    inv_norms: Vec<f32>,
}

impl<'a> TrainingSet<'a> {
    fn new(vectors: &'a [f32], dim: usize, rows: RowSet<'a>, geometry: Geometry) -> Self {
        let mut set = TrainingSet { vectors, dim, rows, geometry, inv_norms: Vec::new() };
        if geometry == Geometry::Spherical {
            let kernels = kernels();
            set.inv_norms = (0..rows.len())
                .map(|i| {
                    let row = set.row(i);
                    inverse_norm(kernels.dot(row, row))
                })
                .collect();
        }
        set
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    /// The squared distance between member `i` and `centroid`: Euclidean, or for spherical
    /// geometry the squared chord `2 - 2 cos` between the normalised row and the unit
    /// centroid. k-means++ weighs rows by it, and the update step looks for the farthest
    /// member by it. (A zero row is at 0 under spherical geometry, so it never seeds a cluster
    /// nor is split off.)
    fn distance_squared(&self, kernels: &Kernels, i: usize, centroid: &[f32]) -> f32 {
        let score = self.geometry.score(kernels, self.row(i), centroid);
        self.score_to_distance_squared(i, score)
    }

    /// [`TrainingSet::distance_squared`] from member `i`'s [`Geometry::score`].
    #[inline]
    fn score_to_distance_squared(&self, i: usize, score: f32) -> f32 {
        match self.geometry {
            Geometry::Euclidean => score.max(0.0),
            // `score` is `-(row · centroid)`, so `2 - 2 cos` is `2 + 2 · score / |row|`.
            Geometry::Spherical => {
                let inv_norm = self.weight(i);
                if inv_norm == 0.0 {
                    return 0.0;
                }
                (2.0 + 2.0 * score * inv_norm).max(0.0)
            }
        }
    }

    fn row(&self, i: usize) -> &'a [f32] {
        let row = self.rows.row(i);
        &self.vectors[row * self.dim..(row + 1) * self.dim]
    }

    /// The weight of member `i` in a centroid's sum: `1/|row|` for spherical geometry.
    fn weight(&self, i: usize) -> f32 {
        self.inv_norms.get(i).copied().unwrap_or(1.0)
    }

    /// Member `i` as a centroid: the row itself, or for spherical geometry the row normalised
    /// (and the first unit vector for a zero row, so every spherical centroid has unit norm).
    fn normalized(&self, i: usize) -> impl Iterator<Item = f32> + 'a {
        let weight = self.weight(i);
        let zero = self.geometry == Geometry::Spherical && weight == 0.0;
        self.row(i).iter().enumerate().map(move |(j, &x)| match zero {
            false => x * weight,
            true => f32::from(u8::from(j == 0)),
        })
    }
}

/// What the update step learned about one cluster.
#[derive(Clone, Copy, Debug, Default)]
struct Cluster {
    size: usize,
    /// The member farthest from the centroid it was assigned to (meaningless when empty).
    farthest: usize,
}

/// Lloyd's update: every non-empty cluster's centroid becomes the mean of its members
/// (normalised for spherical geometry); empty clusters keep theirs.
fn update(
    set: &TrainingSet<'_>,
    labels: &[u32],
    scores: &[f32],
    centroids: &mut [f32],
    threads: usize,
) -> Vec<Cluster> {
    let dim = set.dim;
    let k = centroids.len() / dim;
    // Members grouped by cluster, each group in row order (a counting sort).
    let mut offsets = vec![0usize; k + 1];
    for &label in labels {
        offsets[label as usize + 1] += 1;
    }
    for c in 0..k {
        offsets[c + 1] += offsets[c];
    }
    let mut next = offsets.clone();
    let mut members = vec![0u32; labels.len()];
    for (i, &label) in labels.iter().enumerate() {
        members[next[label as usize]] = i as u32;
        next[label as usize] += 1;
    }

    let mut clusters = vec![Cluster::default(); k];
    let per_thread = k.div_ceil(threads.clamp(1, k));
    let (offsets, members) = (&offsets, &members);
    thread::scope(|scope| {
        let mut parts = centroids
            .chunks_mut(per_thread * dim)
            .zip(clusters.chunks_mut(per_thread))
            .enumerate()
            .map(|(i, (centroids, clusters))| {
                move || {
                    let mut sum = vec![0f64; dim];
                    let first = i * per_thread;
                    for (j, (centroid, cluster)) in
                        centroids.chunks_exact_mut(dim).zip(clusters).enumerate()
                    {
                        let group = &members[offsets[first + j]..offsets[first + j + 1]];
                        *cluster = mean(set, group, scores, centroid, &mut sum);
                    }
                }
            });
        let first = parts.next();
        for part in parts {
            scope.spawn(part);
        }
        if let Some(part) = first {
            part();
        }
    });
    clusters
}

/// Sets `centroid` to the (normalised) mean of the members in `group`, unless the group is
/// empty or (spherical) its mean is zero, and reports the group's size and farthest member.
fn mean(
    set: &TrainingSet<'_>,
    group: &[u32],
    scores: &[f32],
    centroid: &mut [f32],
    sum: &mut [f64],
) -> Cluster {
    let Some(&first) = group.first() else { return Cluster::default() };
    sum.fill(0.0);
    let mut farthest = (f32::NEG_INFINITY, first as usize);
    for &i in group {
        let i = i as usize;
        let weight = f64::from(set.weight(i));
        for (acc, &x) in sum.iter_mut().zip(set.row(i)) {
            *acc += f64::from(x) * weight;
        }
        let distance = set.score_to_distance_squared(i, scores[i]);
        if distance > farthest.0 {
            farthest = (distance, i);
        }
    }
    let scale = match set.geometry {
        Geometry::Euclidean => 1.0 / group.len() as f64,
        Geometry::Spherical => {
            let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 { 1.0 / norm } else { 0.0 }
        }
    };
    if scale > 0.0 && scale.is_finite() {
        for (c, &x) in centroid.iter_mut().zip(sum.iter()) {
            *c = (x * scale) as f32;
        }
    }
    Cluster { size: group.len(), farthest: farthest.1 }
}

/// Re-seeds every empty cluster with the farthest member of the largest cluster that has not
/// already given one up in this round (see the module docs).
fn split_empty(set: &TrainingSet<'_>, clusters: &[Cluster], centroids: &mut [f32]) {
    let dim = set.dim;
    let mut donors: BinaryHeap<(usize, Reverse<usize>)> = clusters
        .iter()
        .enumerate()
        .filter(|(_, cluster)| cluster.size >= 2)
        .map(|(c, cluster)| (cluster.size, Reverse(c)))
        .collect();
    for (empty, cluster) in clusters.iter().enumerate() {
        if cluster.size > 0 {
            continue;
        }
        let Some((_, Reverse(donor))) = donors.pop() else { return };
        let farthest = clusters[donor].farthest;
        for (c, x) in
            centroids[empty * dim..(empty + 1) * dim].iter_mut().zip(set.normalized(farthest))
        {
            *c = x;
        }
    }
}

/// `1/√norm_squared`, or 0 when that is not finite (a zero or subnormal-norm row), so such a
/// row contributes nothing to a spherical centroid.
pub(crate) fn inverse_norm(norm_squared: f32) -> f32 {
    let inv = 1.0 / norm_squared.sqrt();
    if inv.is_finite() { inv } else { 0.0 }
}

/// SplitMix64: small, fast and statistically fine for drawing samples.
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..bound` (`bound > 0`), by multiply-and-shift (bias below `bound / 2^64`).
    fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

/// `m <= n` distinct values of `0..n` in random order (a partial Fisher–Yates shuffle).
fn draw_distinct(rng: &mut SplitMix64, n: usize, m: usize) -> Vec<u32> {
    let mut pool: Vec<u32> = (0..n as u32).collect();
    for i in 0..m.min(n) {
        let j = i + rng.below(n - i);
        pool.swap(i, j);
    }
    pool.truncate(m);
    pool
}
