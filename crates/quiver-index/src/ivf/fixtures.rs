//! Test data shaped like `/work/shared/bench/dataset.py`: Gaussian clusters (centres drawn
//! from N(0, 1) per dimension, rows scattered around them with N(0, 0.35)), seeded, plus a
//! wrapper that runs the same test against both IVF indexes.

use quiver_core::Metric;

use crate::error::IndexError;
use crate::testing::Rng;
use crate::topk::Neighbor;

use super::{IvfFlat, IvfParams, IvfScratch, IvfSq8};

/// `rows` rows of `dim` floats around `clusters` random centres (the first `rows` draws of
/// one sequence, so two calls with the same seed and more rows extend each other).
pub(crate) fn clustered(rows: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let centres: Vec<f32> = (0..clusters * dim).map(|_| gaussian(&mut rng)).collect();
    let mut out = Vec::with_capacity(rows * dim);
    for _ in 0..rows {
        let c = (rng.next_u64() % clusters as u64) as usize;
        for &centre in &centres[c * dim..(c + 1) * dim] {
            out.push(centre + 0.35 * gaussian(&mut rng));
        }
    }
    out
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut Rng) -> f32 {
    let u = rng.f32_in(f32::EPSILON, 1.0);
    let v = rng.f32_in(0.0, 1.0);
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

/// Which IVF index a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Flat,
    Sq8,
}

pub(crate) const KINDS: [Kind; 2] = [Kind::Flat, Kind::Sq8];

/// Either index, behind one interface.
#[derive(Debug)]
pub(crate) enum Ivf {
    Flat(IvfFlat),
    Sq8(IvfSq8),
}

impl Ivf {
    pub(crate) fn build(
        kind: Kind,
        vectors: &[f32],
        dim: usize,
        metric: Metric,
        nlist: i64,
        threads: usize,
    ) -> Result<Ivf, IndexError> {
        let params = IvfParams::new(nlist)?;
        Ok(match kind {
            Kind::Flat => Ivf::Flat(IvfFlat::build(vectors, dim, metric, &params, threads)?),
            Kind::Sq8 => Ivf::Sq8(IvfSq8::build(vectors, dim, metric, &params, threads)?),
        })
    }

    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        nprobe: usize,
        accept: Option<&dyn Fn(u32) -> bool>,
    ) -> Result<Vec<Neighbor>, IndexError> {
        let mut scratch = IvfScratch::new();
        match self {
            Ivf::Flat(index) => index.search(query, k, nprobe, accept, &mut scratch),
            Ivf::Sq8(index) => index.search(query, k, nprobe, accept, &mut scratch),
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        match self {
            Ivf::Flat(index) => index.to_bytes(),
            Ivf::Sq8(index) => index.to_bytes(),
        }
    }

    pub(crate) fn from_bytes(
        kind: Kind,
        bytes: &[u8],
        n_rows: usize,
        dim: usize,
        metric: Metric,
    ) -> Result<Ivf, IndexError> {
        Ok(match kind {
            Kind::Flat => Ivf::Flat(IvfFlat::from_bytes(bytes, n_rows, dim, metric)?),
            Kind::Sq8 => Ivf::Sq8(IvfSq8::from_bytes(bytes, n_rows, dim, metric)?),
        })
    }

    pub(crate) fn lists(&self) -> usize {
        match self {
            Ivf::Flat(index) => index.lists(),
            Ivf::Sq8(index) => index.lists(),
        }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        match self {
            Ivf::Flat(index) => index.memory_bytes(),
            Ivf::Sq8(index) => index.memory_bytes(),
        }
    }
}
