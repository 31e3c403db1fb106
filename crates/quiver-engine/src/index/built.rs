//! A built index of one segment's field (a vector index, or a scalar index of a scalar
//! field), a vector index's search, and the file
//! (`segments/<segment id>.<field id>.qvi`): a block file whose header names the segment, the
//! field and the spec it was built for, so a stale or foreign file is never used.

use std::cell::RefCell;

use quiver_expr::ScalarIndex;
use quiver_index::{Hnsw, IvfFlat, IvfScratch, IvfSq8, Neighbor, SearchScratch};
use quiver_storage::codec::{Decoder, Encoder};
use quiver_storage::{BlockFile, BlockFileWriter};

use super::spec::{BuildParams, DEFAULT_EF, DEFAULT_NPROBE, IndexSpec, IndexType};
use crate::EngineError;

const KIND: [u8; 8] = *b"QVINDEXF";
const VERSION: u32 = 1;

/// The structure built for one segment.
#[derive(Debug)]
pub(crate) enum BuiltIndex {
    Hnsw(Hnsw),
    IvfFlat(IvfFlat),
    IvfSq8(IvfSq8),
    /// INVERTED or STL_SORT on a scalar field, used by filters.
    Scalar(ScalarIndex),
}

/// Search-time parameters of a request (Milvus's `search_params.params`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchParams {
    /// HNSW beam width; must be at least `offset + limit`.
    pub ef: Option<usize>,
    /// IVF lists probed; at most the index's `nlist`.
    pub nprobe: Option<usize>,
}

thread_local! {
    /// One scratch per searching thread, reused across queries and segments, so a search
    /// allocates nothing in the steady state.
    static SCRATCH: RefCell<SearchScratch> = RefCell::new(SearchScratch::new());
    static IVF_SCRATCH: RefCell<IvfScratch> = RefCell::new(IvfScratch::new());
}

impl BuiltIndex {
    /// Builds the index of `spec` over `vectors`, or `None` for a scan-only spec.
    pub(crate) fn build(
        spec: &IndexSpec,
        vectors: &[f32],
        dim: usize,
        threads: usize,
    ) -> Result<Option<BuiltIndex>, EngineError> {
        let Some(metric) = spec.metric else { return Ok(None) };
        Ok(match spec.build {
            BuildParams::Flat | BuildParams::Scalar(_) => None,
            BuildParams::Hnsw(params) => {
                Some(BuiltIndex::Hnsw(Hnsw::build(vectors, dim, metric, &params, threads)?))
            }
            BuildParams::Ivf(params) if spec.index_type == IndexType::IvfSq8 => {
                Some(BuiltIndex::IvfSq8(IvfSq8::build(vectors, dim, metric, &params, threads)?))
            }
            BuildParams::Ivf(params) => {
                Some(BuiltIndex::IvfFlat(IvfFlat::build(vectors, dim, metric, &params, threads)?))
            }
        })
    }

    /// The scalar index of `spec` over `column`, or `None` for a vector spec.
    pub(crate) fn build_scalar(
        spec: &IndexSpec,
        column: &quiver_core::Column,
    ) -> Result<Option<BuiltIndex>, EngineError> {
        let Some(kind) = spec.scalar_kind() else { return Ok(None) };
        let index = ScalarIndex::build(column, kind).map_err(|e| {
            EngineError::invalid("index field", format!("field {:?}: {e}", spec.field))
        })?;
        Ok(Some(BuiltIndex::Scalar(index)))
    }

    pub(crate) fn as_scalar(&self) -> Option<&ScalarIndex> {
        match self {
            BuiltIndex::Scalar(index) => Some(index),
            BuiltIndex::Hnsw(_) | BuiltIndex::IvfFlat(_) | BuiltIndex::IvfSq8(_) => None,
        }
    }

    /// The `k` accepted rows closest to `query`, with internal distances.
    pub(crate) fn search(
        &self,
        vectors: &[f32],
        query: &[f32],
        k: usize,
        params: SearchParams,
        accept: Option<&dyn Fn(u32) -> bool>,
    ) -> Result<Vec<Neighbor>, EngineError> {
        match self {
            BuiltIndex::Hnsw(hnsw) => {
                let ef = params.ef.unwrap_or(DEFAULT_EF.max(k));
                SCRATCH.with(|scratch| {
                    let mut scratch = scratch.borrow_mut();
                    Ok(hnsw.search(vectors, query, k, ef, accept, &mut scratch)?)
                })
            }
            BuiltIndex::IvfFlat(ivf) => {
                let nprobe = params.nprobe.unwrap_or(DEFAULT_NPROBE.min(ivf.params().nlist()));
                IVF_SCRATCH.with(|scratch| {
                    Ok(ivf.search(query, k, nprobe, accept, &mut scratch.borrow_mut())?)
                })
            }
            BuiltIndex::IvfSq8(ivf) => {
                let nprobe = params.nprobe.unwrap_or(DEFAULT_NPROBE.min(ivf.params().nlist()));
                IVF_SCRATCH.with(|scratch| {
                    Ok(ivf.search(query, k, nprobe, accept, &mut scratch.borrow_mut())?)
                })
            }
            // A scalar index is never on a vector field, so never searched: callers scan.
            BuiltIndex::Scalar(_) => {
                Err(EngineError::invalid("index", "a scalar index does not search vectors"))
            }
        }
    }

    pub(crate) fn encode(&self, segment_id: u64, field_id: i64, spec: &IndexSpec) -> Vec<u8> {
        let mut header = Encoder::new();
        header.put_u64(segment_id);
        header.put_i64(field_id);
        header.put_str(&spec_fingerprint(spec));
        let mut writer = BlockFileWriter::new(KIND, VERSION);
        writer.add_block(&header.into_bytes());
        match self {
            BuiltIndex::Hnsw(hnsw) => writer.add_block(&hnsw.to_bytes()),
            BuiltIndex::IvfFlat(ivf) => writer.add_block(&ivf.to_bytes()),
            BuiltIndex::IvfSq8(ivf) => writer.add_block(&ivf.to_bytes()),
            BuiltIndex::Scalar(index) => writer.add_block(&index.to_bytes()),
        };
        writer.finish()
    }

    /// Loads an index file, checking that it was built for this segment, field and spec over
    /// `n_rows` rows of `dim` floats.
    pub(crate) fn decode(
        path: &str,
        bytes: Vec<u8>,
        segment_id: u64,
        field_id: i64,
        spec: &IndexSpec,
        n_rows: usize,
        dim: usize,
    ) -> Result<BuiltIndex, EngineError> {
        let file = BlockFile::parse(path, bytes, KIND, VERSION)?;
        let (Some(header), Some(body)) = (file.block(0), file.block(1)) else {
            return Err(EngineError::corrupt(path, 0, "index file lacks a block"));
        };
        let mut dec = Decoder::new(header);
        let codec =
            |e: quiver_storage::CodecError| EngineError::corrupt(path, e.offset as u64, e.reason);
        let stored_segment = dec.get_u64().map_err(codec)?;
        let stored_field = dec.get_i64().map_err(codec)?;
        let stored_spec = dec.get_str(4096).map_err(codec)?;
        dec.finish().map_err(codec)?;
        if stored_segment != segment_id
            || stored_field != field_id
            || stored_spec != spec_fingerprint(spec)
        {
            return Err(EngineError::corrupt(
                path,
                0,
                "index file was built for another segment or spec",
            ));
        }
        let corrupt = |e: String| EngineError::corrupt(path, 0, e);
        if let BuildParams::Scalar(kind) = spec.build {
            let index =
                ScalarIndex::from_bytes(body, n_rows).map_err(|e| corrupt(e.to_string()))?;
            if index.kind() != kind {
                return Err(corrupt("index file holds another kind of index".to_owned()));
            }
            return Ok(BuiltIndex::Scalar(index));
        }
        let Some(metric) = spec.metric else {
            return Err(corrupt("a vector index without a metric".to_owned()));
        };
        let loaded = match (spec.build, spec.index_type) {
            (BuildParams::Hnsw(_), _) => {
                Hnsw::from_bytes(body, n_rows, dim, metric).map(BuiltIndex::Hnsw)
            }
            (BuildParams::Ivf(_), IndexType::IvfSq8) => {
                IvfSq8::from_bytes(body, n_rows, dim, metric).map(BuiltIndex::IvfSq8)
            }
            (BuildParams::Ivf(_), _) => {
                IvfFlat::from_bytes(body, n_rows, dim, metric).map(BuiltIndex::IvfFlat)
            }
            (BuildParams::Scalar(_), _) => {
                return Err(corrupt("a scalar index is loaded above".to_owned()));
            }
            (BuildParams::Flat, _) => {
                return Err(EngineError::corrupt(path, 0, "a FLAT index has no file"));
            }
        };
        loaded.map_err(|e| EngineError::corrupt(path, 0, e.to_string()))
    }
}

/// A text naming everything about a spec that shapes the built structure.
fn spec_fingerprint(spec: &IndexSpec) -> String {
    let params: Vec<String> = spec.params().iter().map(|(k, v)| format!("{k}={v}")).collect();
    let metric = spec.metric.map_or("-", |m| m.as_str());
    format!("{} {metric} {}", spec.index_type, params.join(","))
}

pub(crate) fn index_key(dir: &str, segment_id: u64, field_id: i64) -> String {
    format!("{dir}/segments/{segment_id:020}.{field_id}.qvi")
}
