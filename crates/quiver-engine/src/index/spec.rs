//! Index definitions with Milvus's names and parameters, parsed from the strings clients send
//! (`index_type`, `metric_type`, `params`) into a validated [`IndexSpec`].

use std::fmt;

use quiver_core::Metric;
use quiver_expr::ScalarIndexKind;
use quiver_index::{HnswParams, IvfParams};

use crate::EngineError;

/// AUTOINDEX builds HNSW with these parameters...
pub const AUTOINDEX_M: i64 = 16;
pub const AUTOINDEX_EF_CONSTRUCTION: i64 = 200;
/// ...on segments of at least this many rows; smaller ones are scanned (FLAT), which is as
/// fast as a graph at that size and costs no build.
pub const AUTOINDEX_MIN_ROWS: usize = 10_000;
/// The search beam (`ef`) used when a request gives none; raised to `k` when smaller.
pub const DEFAULT_EF: usize = 64;
/// IVF defaults, as Milvus documents them: lists at build, lists probed at search.
pub const DEFAULT_NLIST: i64 = 128;
pub const DEFAULT_NPROBE: usize = 8;

/// Milvus's index types that Quiver builds: vector indexes, and the scalar INVERTED and
/// STL_SORT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndexType {
    Flat,
    Hnsw,
    IvfFlat,
    IvfSq8,
    AutoIndex,
    Inverted,
    StlSort,
}

impl IndexType {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexType::Flat => "FLAT",
            IndexType::Hnsw => "HNSW",
            IndexType::IvfFlat => "IVF_FLAT",
            IndexType::IvfSq8 => "IVF_SQ8",
            IndexType::AutoIndex => "AUTOINDEX",
            IndexType::Inverted => "INVERTED",
            IndexType::StlSort => "STL_SORT",
        }
    }

    /// Parses Milvus's spelling, in any case.
    pub fn parse(name: &str) -> Result<IndexType, EngineError> {
        match name.to_ascii_uppercase().as_str() {
            "FLAT" => Ok(IndexType::Flat),
            "HNSW" => Ok(IndexType::Hnsw),
            "IVF_FLAT" => Ok(IndexType::IvfFlat),
            "IVF_SQ8" => Ok(IndexType::IvfSq8),
            "AUTOINDEX" => Ok(IndexType::AutoIndex),
            "INVERTED" => Ok(IndexType::Inverted),
            "STL_SORT" => Ok(IndexType::StlSort),
            _ => Err(EngineError::invalid(
                "index_type",
                format!(
                    "{:?} is not supported; use FLAT, HNSW, IVF_FLAT, IVF_SQ8, AUTOINDEX, \
                     INVERTED or STL_SORT",
                    name.chars().take(32).collect::<String>()
                ),
            )),
        }
    }
}

impl fmt::Display for IndexType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a segment's index is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildParams {
    /// No structure: the segment is scanned.
    Flat,
    Hnsw(HnswParams),
    /// IVF_FLAT or IVF_SQ8 (the index type says which).
    Ivf(IvfParams),
    /// A scalar index (INVERTED or STL_SORT) on a scalar field.
    Scalar(ScalarIndexKind),
}

/// A validated index on one field: a vector index with its metric, or a scalar index.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexSpec {
    pub field: String,
    pub index_name: String,
    pub index_type: IndexType,
    /// The metric of a vector index; `None` for a scalar index.
    pub metric: Option<Metric>,
    pub build: BuildParams,
}

impl IndexSpec {
    /// Builds a spec from what a Milvus client sends. Parameter values are decimal text (as in
    /// Milvus's `params` map); unknown parameters are refused, naming the ones allowed. A
    /// scalar index (INVERTED, STL_SORT) takes no parameters and an empty metric.
    pub fn parse(
        field: &str,
        index_name: &str,
        index_type: &str,
        metric: &str,
        params: &[(String, String)],
    ) -> Result<IndexSpec, EngineError> {
        let index_type = IndexType::parse(index_type)?;
        let metric: Option<Metric> = match index_type {
            IndexType::Inverted | IndexType::StlSort if metric.is_empty() => None,
            IndexType::Inverted | IndexType::StlSort => {
                return Err(EngineError::invalid(
                    "metric_type",
                    format!("{index_type} is a scalar index and takes no metric"),
                ));
            }
            _ => Some(metric.parse()?),
        };
        let allowed: &[&str] = match index_type {
            IndexType::Flat | IndexType::AutoIndex | IndexType::Inverted | IndexType::StlSort => {
                &[]
            }
            IndexType::Hnsw => &["M", "efConstruction"],
            IndexType::IvfFlat | IndexType::IvfSq8 => &["nlist"],
        };
        for (key, _) in params {
            if !allowed.contains(&key.as_str()) {
                return Err(EngineError::invalid(
                    "index parameter",
                    format!(
                        "{:?} is not a parameter of {index_type} (allowed: {})",
                        key.chars().take(32).collect::<String>(),
                        if allowed.is_empty() { "none".to_owned() } else { allowed.join(", ") }
                    ),
                ));
            }
        }
        let number = |key: &str, default: i64| -> Result<i64, EngineError> {
            match params.iter().find(|(k, _)| k == key) {
                None => Ok(default),
                Some((_, text)) => text.trim().parse::<i64>().map_err(|_| {
                    EngineError::invalid("index parameter", format!("{key} must be an integer"))
                }),
            }
        };
        let build = match index_type {
            IndexType::Flat => BuildParams::Flat,
            IndexType::Hnsw => BuildParams::Hnsw(HnswParams::new(
                number("M", AUTOINDEX_M)?,
                number("efConstruction", AUTOINDEX_EF_CONSTRUCTION)?,
            )?),
            IndexType::IvfFlat | IndexType::IvfSq8 => {
                BuildParams::Ivf(IvfParams::new(number("nlist", DEFAULT_NLIST)?)?)
            }
            IndexType::AutoIndex => {
                BuildParams::Hnsw(HnswParams::new(AUTOINDEX_M, AUTOINDEX_EF_CONSTRUCTION)?)
            }
            IndexType::Inverted => BuildParams::Scalar(ScalarIndexKind::Inverted),
            IndexType::StlSort => BuildParams::Scalar(ScalarIndexKind::StlSort),
        };
        let index_name = if index_name.is_empty() { field } else { index_name };
        Ok(IndexSpec {
            field: field.to_owned(),
            index_name: index_name.to_owned(),
            index_type,
            metric,
            build,
        })
    }

    /// The build parameters as Milvus's DescribeIndex lists them.
    pub fn params(&self) -> Vec<(String, String)> {
        match self.build {
            BuildParams::Flat | BuildParams::Scalar(_) => Vec::new(),
            BuildParams::Hnsw(p) => vec![
                ("M".to_owned(), p.m().to_string()),
                ("efConstruction".to_owned(), p.ef_construction().to_string()),
            ],
            BuildParams::Ivf(p) => vec![("nlist".to_owned(), p.nlist().to_string())],
        }
    }

    /// The kind of a scalar index; `None` for a vector index.
    pub fn scalar_kind(&self) -> Option<ScalarIndexKind> {
        match self.build {
            BuildParams::Scalar(kind) => Some(kind),
            BuildParams::Flat | BuildParams::Hnsw(_) | BuildParams::Ivf(_) => None,
        }
    }

    /// True when a segment of `rows` rows gets a built structure (not a scan).
    pub(crate) fn builds_for(&self, rows: usize) -> bool {
        match (self.index_type, self.build) {
            (_, BuildParams::Flat) => false,
            (IndexType::AutoIndex, _) => rows >= AUTOINDEX_MIN_ROWS,
            (
                IndexType::Flat
                | IndexType::Hnsw
                | IndexType::IvfFlat
                | IndexType::IvfSq8
                | IndexType::Inverted
                | IndexType::StlSort,
                _,
            ) => rows > 0,
        }
    }
}
