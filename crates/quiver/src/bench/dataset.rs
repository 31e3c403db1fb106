//! The benchmark dataset of `../shared/bench/dataset.py`: `PREFIX.json` (the shape and the
//! metric), `PREFIX.base.f32` and `PREFIX.query.f32` (little-endian float32, row-major) and
//! `PREFIX.gt.i32` (for each query the `k` nearest base rows, exact, little-endian int32).
//!
//! Everything is checked before it is used: the json's fields, types and ranges, every file's
//! length against the shape (exactly), every float finite and every ground-truth id a base row.
//! Errors name the file. The base vectors are streamed in batches, as they can take gigabytes;
//! the queries and the ground truth are read whole.

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use quiver_core::Metric;

/// Recall is measured at this depth, so the ground truth must hold at least this many ids.
pub(crate) const RECALL_K: usize = 10;
/// Most base rows: the engine's limit for one segment, as the index is built over one.
const MAX_BASE_ROWS: u64 = 1 << 30;
/// Most base values (`n·d`): 16 GiB of float32.
const MAX_BASE_VALUES: u64 = 1 << 32;
/// Most queries.
const MAX_QUERIES: u64 = 1_000_000;
/// Most query values (`nq·d`) and most ground-truth ids (`nq·k`): 1 GiB each.
const MAX_QUERY_VALUES: u64 = 1 << 28;
/// Most ground-truth ids per query.
const MAX_GT_K: u64 = 1_000;
/// The ground-truth depth when the json gives none (dataset.py's).
const DEFAULT_GT_K: u64 = 100;
/// Largest json file read.
const MAX_JSON_BYTES: u64 = 64 << 10;
/// Bytes per read when [`read_base`] reads the base vectors whole.
const READ_BATCH_BYTES: usize = 16 << 20;

/// What `PREFIX.json` describes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Shape {
    /// Base rows.
    pub(crate) n: usize,
    /// Dimension.
    pub(crate) d: usize,
    /// Queries.
    pub(crate) nq: usize,
    /// Ground-truth ids per query.
    pub(crate) k: usize,
    pub(crate) metric: Metric,
}

/// A checked dataset: the queries and ground truth in memory, the base file open for
/// streaming.
pub(crate) struct Dataset {
    pub(crate) shape: Shape,
    /// One vector per query (the engine's search takes them so).
    pub(crate) queries: Vec<Vec<f32>>,
    /// `nq` rows of `k` base row numbers, nearest first.
    pub(crate) ground_truth: Vec<i32>,
    /// The base vectors, not yet read.
    pub(crate) base: BaseReader,
}

/// Reads the base vectors in batches, checking each.
pub(crate) struct BaseReader {
    file: File,
    path: PathBuf,
    d: usize,
    /// Rows read so far, and rows in all.
    next_row: usize,
    rows: usize,
}

/// Opens the dataset at `prefix`, checking all four files; reads the queries and the ground
/// truth.
pub(crate) fn open(prefix: &Path) -> anyhow::Result<Dataset> {
    let json_path = with_suffix(prefix, ".json");
    let shape = parse_shape(&read_json(&json_path)?)
        .with_context(|| format!("invalid {}", json_path.display()))?;

    let base = open_base(prefix, &shape)?;

    let query_path = with_suffix(prefix, ".query.f32");
    let bytes = read_sized(&query_path, bytes_of(&[shape.nq, shape.d, 4]), &shape, "queries")?;
    let values =
        floats(&bytes, shape.d, 0).with_context(|| format!("invalid {}", query_path.display()))?;
    let queries = values.chunks_exact(shape.d).map(<[f32]>::to_vec).collect();

    let gt_path = with_suffix(prefix, ".gt.i32");
    let gt_bytes = bytes_of(&[shape.nq, shape.k, 4]);
    let bytes = read_sized(&gt_path, gt_bytes, &shape, "ground-truth ids")?;
    let ground_truth =
        ids(&bytes, shape.k, shape.n).with_context(|| format!("invalid {}", gt_path.display()))?;

    Ok(Dataset { shape, queries, ground_truth, base })
}

/// Reads every base vector of the dataset at `prefix` (row-major), with the checks of
/// [`open`] and [`BaseReader::next_batch`]: `shape.n · shape.d · 4` bytes, all finite.
pub(crate) fn read_base(prefix: &Path, shape: &Shape) -> anyhow::Result<Vec<f32>> {
    let mut reader = open_base(prefix, shape)?;
    let mut base = Vec::with_capacity(shape.n * shape.d);
    let batch_rows = (READ_BATCH_BYTES / (shape.d * 4)).max(1);
    while let Some(batch) = reader.next_batch(batch_rows)? {
        base.extend_from_slice(&batch);
    }
    Ok(base)
}

/// Opens `PREFIX.base.f32`, checking its length against `shape`.
fn open_base(prefix: &Path, shape: &Shape) -> anyhow::Result<BaseReader> {
    let path = with_suffix(prefix, ".base.f32");
    let file = open_sized(&path, bytes_of(&[shape.n, shape.d, 4]), shape, "base vectors")?;
    Ok(BaseReader { file, path, d: shape.d, next_row: 0, rows: shape.n })
}

impl BaseReader {
    /// The next at most `max_rows` base vectors (row-major), or `None` once all are read.
    pub(crate) fn next_batch(&mut self, max_rows: usize) -> anyhow::Result<Option<Vec<f32>>> {
        let rows = max_rows.max(1).min(self.rows - self.next_row);
        if rows == 0 {
            return Ok(None);
        }
        let mut bytes = vec![0; rows * self.d * 4];
        self.file.read_exact(&mut bytes).with_context(|| {
            format!("cannot read rows from {} at row {}", self.path.display(), self.next_row)
        })?;
        let values = floats(&bytes, self.d, self.next_row)
            .with_context(|| format!("invalid {}", self.path.display()))?;
        self.next_row += rows;
        Ok(Some(values))
    }
}

/// `PREFIX` followed by `suffix`, without assuming the prefix is UTF-8.
fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut path = prefix.as_os_str().to_owned();
    path.push(suffix);
    PathBuf::from(path)
}

/// The product of factors already bounded by `parse_shape`, as a byte count.
fn bytes_of(factors: &[usize]) -> u64 {
    factors.iter().map(|f| *f as u64).product()
}

/// Reads `PREFIX.json`, bounded by `MAX_JSON_BYTES`.
fn read_json(path: &Path) -> anyhow::Result<String> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    ensure!(
        bytes.len() as u64 <= MAX_JSON_BYTES,
        "{} is larger than the {MAX_JSON_BYTES} bytes a dataset description may have",
        path.display()
    );
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))
}

/// Opens a data file and checks that it holds exactly `expected` bytes of `what`.
fn open_sized(path: &Path, expected: u64, shape: &Shape, what: &str) -> anyhow::Result<File> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot read the size of {}", path.display()))?
        .len();
    check_len(path, len, expected, shape, what)?;
    Ok(file)
}

/// Reads a whole data file of exactly `expected` bytes of `what`.
fn read_sized(path: &Path, expected: u64, shape: &Shape, what: &str) -> anyhow::Result<Vec<u8>> {
    let file = open_sized(path, expected, shape, what)?;
    // The shape's bounds keep `expected` within memory's reach (at most 1 GiB).
    let mut bytes = Vec::with_capacity(expected as usize);
    file.take(expected + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    ensure!(
        bytes.len() as u64 == expected,
        "{} changed size while it was read ({expected} bytes expected, {} read)",
        path.display(),
        bytes.len()
    );
    Ok(bytes)
}

/// Checks a file's length against the length the json's shape gives it.
fn check_len(
    path: &Path,
    len: u64,
    expected: u64,
    shape: &Shape,
    what: &str,
) -> anyhow::Result<()> {
    ensure!(
        len == expected,
        "{} has {len} bytes, but the json's shape (n={}, d={}, nq={}, k={}) gives {expected} \
         bytes of {what}",
        path.display(),
        shape.n,
        shape.d,
        shape.nq,
        shape.k
    );
    Ok(())
}

/// Checks the json's fields: `n`, `d`, `nq` (required), `k` (default 100) and `metric`
/// (default L2, as the anchors read it). Other keys are ignored.
fn parse_shape(text: &str) -> anyhow::Result<Shape> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("not valid JSON: {e}"))?;
    let Some(entries) = json.as_object() else { bail!("the json must be an object") };
    let integer = |key: &str, default: Option<u64>, min: u64, max: u64| -> anyhow::Result<u64> {
        let value = match (entries.get(key), default) {
            (Some(value), _) => value.as_u64(),
            (None, Some(default)) => Some(default),
            (None, None) => bail!("{key:?} is missing"),
        };
        match value {
            Some(value) if (min..=max).contains(&value) => Ok(value),
            _ => bail!("{key:?} must be an integer in {min}..={max}"),
        }
    };
    let d = integer("d", None, 1, u64::from(quiver_core::MAX_DIM))?;
    let n = integer("n", None, 1, MAX_BASE_ROWS)?;
    let nq = integer("nq", None, 1, MAX_QUERIES)?;
    let k = integer("k", Some(DEFAULT_GT_K), RECALL_K as u64, MAX_GT_K)?;
    ensure!(
        n * d <= MAX_BASE_VALUES,
        "n·d = {} base values exceeds the limit of {MAX_BASE_VALUES}",
        n * d
    );
    ensure!(
        nq * d <= MAX_QUERY_VALUES,
        "nq·d = {} query values exceeds the limit of {MAX_QUERY_VALUES}",
        nq * d
    );
    ensure!(
        nq * k <= MAX_QUERY_VALUES,
        "nq·k = {} ground-truth ids exceeds the limit of {MAX_QUERY_VALUES}",
        nq * k
    );
    let metric = match entries.get("metric") {
        None => Metric::L2,
        Some(serde_json::Value::String(name)) => name.parse::<Metric>().map_err(|_| {
            let shown: String = name.chars().take(32).collect();
            anyhow::anyhow!("\"metric\" {shown:?} is not L2, IP or COSINE")
        })?,
        Some(_) => bail!("\"metric\" must be a string (L2, IP or COSINE)"),
    };
    // The bounds above keep every count within usize on 64-bit targets.
    Ok(Shape { n: n as usize, d: d as usize, nq: nq as usize, k: k as usize, metric })
}

/// Little-endian float32 values, all finite, in rows of `d` numbered from `first_row`.
fn floats(bytes: &[u8], d: usize, first_row: usize) -> anyhow::Result<Vec<f32>> {
    let values: Vec<f32> =
        bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    if let Some(at) = values.iter().position(|v| !v.is_finite()) {
        bail!("row {} holds NaN or infinity (at value {})", first_row + at / d, at % d);
    }
    Ok(values)
}

/// Little-endian int32 ids in rows of `k`, each a base row number below `n`.
fn ids(bytes: &[u8], k: usize, n: usize) -> anyhow::Result<Vec<i32>> {
    let ids: Vec<i32> =
        bytes.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    if let Some(at) = ids.iter().position(|id| !usize::try_from(*id).is_ok_and(|id| id < n)) {
        bail!(
            "query {} holds id {} at position {}, which is not a base row (0..{n})",
            at / k,
            ids[at],
            at % k
        );
    }
    Ok(ids)
}
