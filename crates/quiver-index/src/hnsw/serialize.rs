//! The stored form of an [`Hnsw`]: a versioned little-endian layout that [`Hnsw::from_bytes`]
//! validates completely, so a loaded graph can be walked without further checks.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "QVHNSW\0\0"
//!      8     4  format version (1)
//!     12     4  metric: 0 L2, 1 IP, 2 COSINE
//!     16     8  rows (n)
//!     24     4  dim
//!     28     4  M
//!     32     4  efConstruction (informational)
//!     36     4  max level
//!     40     4  entry point (0xFFFF_FFFF when n = 0)
//!     44     4  reserved, 0
//!     48     8  level-generator seed (informational)
//!     56     n  level of each row (u8), then zero padding to a multiple of 4
//!      …  4·n·(1 + 2M)           level-0 lists: count, then 2M id slots (unused slots 0)
//!      …  4·Σ level(i)·(1 + M)   upper lists, by row then level: count, then M id slots
//!      …  4·n                    COSINE only: 1/|row| per row (f32)
//! ```
//!
//! The bytes carry no checksum of their own: the engine stores them inside its checksummed
//! block file. Decoding still trusts nothing: it checks the total size against the header
//! before allocating, then every count against its list's capacity, every id against `n`,
//! every upper-level link against the target's level, every level against the maximum, the
//! entry point, and the inverse norms; anything else is [`IndexError::Corrupt`].

#[cfg(test)]
mod tests;

use quiver_core::Metric;

use crate::error::IndexError;
use crate::stored::{Reader, check_stored_shape, corrupt, metric_code, metric_from_code, put_u32};

use super::build::Entry;
use super::graph::Graph;
use super::index::Hnsw;
use super::params::{HnswParams, MAX_EF, MAX_LEVEL, MAX_M, MIN_M};

const MAGIC: [u8; 8] = *b"QVHNSW\0\0";
/// The format version written and the only one read.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 56;
const NO_ENTRY: u32 = u32::MAX;

impl Hnsw {
    /// The index in the stored format above (the vectors are not included).
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.len();
        let level0 = self.graph.level0_raw();
        let upper = self.graph.upper_raw();
        let padded_levels = n.next_multiple_of(4);
        let len =
            HEADER_LEN + padded_levels + 4 * (level0.len() + upper.len() + self.inv_norms.len());
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&MAGIC);
        put_u32(&mut out, FORMAT_VERSION);
        put_u32(&mut out, metric_code(self.metric));
        out.extend_from_slice(&(n as u64).to_le_bytes());
        put_u32(&mut out, self.dim as u32);
        put_u32(&mut out, self.params.m() as u32);
        put_u32(&mut out, self.params.ef_construction() as u32);
        put_u32(&mut out, self.entry.map_or(0, |entry| entry.level as u32));
        put_u32(&mut out, self.entry.map_or(NO_ENTRY, |entry| entry.node));
        put_u32(&mut out, 0);
        out.extend_from_slice(&self.params.seed().to_le_bytes());
        out.extend((0..n as u32).map(|node| self.graph.level(node) as u8));
        out.resize(HEADER_LEN + padded_levels, 0);
        for &slot in level0.iter().chain(upper) {
            put_u32(&mut out, slot);
        }
        for &inv_norm in &self.inv_norms {
            out.extend_from_slice(&inv_norm.to_le_bytes());
        }
        debug_assert_eq!(out.len(), len);
        out
    }

    /// Loads an index stored by [`Hnsw::to_bytes`] for a segment of `n_rows` rows of `dim`
    /// floats under `metric`, validating everything (see the module docs). Never panics, and
    /// allocates no more than the size `bytes` itself justifies.
    pub fn from_bytes(
        bytes: &[u8],
        n_rows: usize,
        dim: usize,
        metric: Metric,
    ) -> Result<Hnsw, IndexError> {
        let mut reader = Reader::new(bytes);
        if reader.take(8)? != MAGIC {
            return Err(corrupt(0, "not an HNSW index (bad magic)"));
        }
        let version = reader.u32()?;
        if version != FORMAT_VERSION {
            return Err(IndexError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let Some(stored_metric) = metric_from_code(reader.u32()?) else {
            return Err(corrupt(12, "unknown metric code"));
        };
        let stored_rows = reader.u64()?;
        let stored_dim = reader.u32()?;
        check_stored_shape((metric, n_rows, dim), (stored_metric, stored_rows, stored_dim))?;
        if dim == 0 {
            return Err(corrupt(24, "dimension 0"));
        }
        let m = reader.u32()? as usize;
        if !(MIN_M..=MAX_M).contains(&m) {
            return Err(corrupt(28, "M out of range"));
        }
        let ef_construction = reader.u32()? as usize;
        if !(1..=MAX_EF).contains(&ef_construction) {
            return Err(corrupt(32, "efConstruction out of range"));
        }
        let max_level = reader.u32()? as usize;
        if max_level > MAX_LEVEL {
            return Err(corrupt(36, "max level above the limit"));
        }
        let entry_node = reader.u32()?;
        let _reserved = reader.u32()?;
        let seed = reader.u64()?;
        let n = n_rows;
        if n >= NO_ENTRY as usize {
            return Err(corrupt(16, "too many rows"));
        }
        let entry = match (n, entry_node) {
            (0, NO_ENTRY) if max_level == 0 => None,
            (0, _) => return Err(corrupt(40, "entry point in an empty index")),
            (_, node) if (node as usize) < n => Some(Entry { node, level: max_level }),
            _ => return Err(corrupt(40, "entry point out of range")),
        };

        // Everything else has a size fixed by the levels: check it before allocating.
        let levels_at = reader.pos();
        let levels = reader.take(n)?;
        for (node, &level) in levels.iter().enumerate() {
            if usize::from(level) > max_level {
                return Err(corrupt(levels_at + node, "level above the max level"));
            }
        }
        if let Some(entry) = entry
            && usize::from(levels[entry.node as usize]) != max_level
        {
            return Err(corrupt(40, "entry point is not on the top level"));
        }
        let padding = n.next_multiple_of(4) - n;
        if reader.take(padding)?.iter().any(|&b| b != 0) {
            return Err(corrupt(levels_at + n, "non-zero padding"));
        }
        // `n <= bytes.len()` now and every factor is small, but a 32-bit target could still
        // overflow: checked arithmetic throughout.
        let upper_len = levels
            .iter()
            .try_fold(0usize, |acc, &level| acc.checked_add(usize::from(level) * (1 + m)));
        let norms_len = if metric == Metric::Cosine { n } else { 0 };
        let sizes = n.checked_mul(1 + 2 * m).zip(upper_len).and_then(|(level0_len, upper_len)| {
            let total = level0_len.checked_add(upper_len)?.checked_add(norms_len)?;
            Some((level0_len, upper_len, total.checked_mul(4)?))
        });
        let Some((level0_len, upper_len, expected)) = sizes else {
            return Err(corrupt(levels_at, "sizes overflow"));
        };
        if reader.remaining() != expected {
            return Err(corrupt(reader.pos(), "length does not match the header"));
        }

        let level0_at = reader.pos();
        let level0 = reader.u32s(level0_len)?;
        let upper_at = reader.pos();
        let upper = reader.u32s(upper_len)?;
        let norms_at = reader.pos();
        let inv_norms: Vec<f32> = reader.u32s(norms_len)?.into_iter().map(f32::from_bits).collect();
        if let Some(i) = inv_norms.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(corrupt(norms_at + 4 * i, "inverse norm not finite and non-negative"));
        }

        let graph = Graph::from_parts(m, levels, level0, upper)
            .map_err(|_| corrupt(upper_at, "upper levels too large"))?;
        validate_lists(&graph, level0_at, upper_at)?;
        let params = HnswParams::from_stored(m, ef_construction, seed);
        Ok(Hnsw { metric, dim, params, graph, entry, inv_norms })
    }
}

/// Checks every list of every node: count within capacity, ids `< n`, and on upper levels
/// ids of nodes that exist at that level.
fn validate_lists(graph: &Graph<u32>, level0_at: usize, upper_at: usize) -> Result<(), IndexError> {
    let n = graph.len();
    let m = graph.m();
    let mut upper_offset = upper_at;
    for node in 0..n as u32 {
        for level in 0..=graph.level(node) {
            let list = graph.list(node, level);
            let at = if level == 0 {
                level0_at + 4 * node as usize * (1 + 2 * m)
            } else {
                let at = upper_offset;
                upper_offset += 4 * (1 + m);
                at
            };
            if list[0] as usize >= list.len() {
                return Err(corrupt(at, "neighbour count above M bound"));
            }
            for (i, &id) in graph.neighbors(node, level).iter().enumerate() {
                let id_at = at + 4 * (1 + i);
                if id as usize >= n {
                    return Err(corrupt(id_at, "neighbour id out of range"));
                }
                if graph.level(id) < level {
                    return Err(corrupt(id_at, "link to a node absent from that level"));
                }
            }
        }
    }
    Ok(())
}
