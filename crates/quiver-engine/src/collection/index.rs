//! Index definitions on a collection and their per-segment structures: create, drop, describe,
//! build (called by the background builder), and load at open.

use std::sync::Arc;

use quiver_core::{ColumnData, DataType};

use super::Collection;
use super::state::State;
use crate::EngineError;
use crate::index::{BuiltIndex, IndexSpec, index_key};
use crate::segment::Segment;

/// What DescribeIndex reports of one index.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexInfo {
    pub spec: IndexSpec,
    /// Rows of sealed segments whose index is built (or that need none).
    pub indexed_rows: u64,
    /// All rows, growing segments included.
    pub total_rows: u64,
    /// Rows of sealed segments still waiting for their index.
    pub pending_rows: u64,
    /// Rows of sealed segments whose build failed (they are scanned; the build is retried at
    /// the next open), and why the last one failed.
    pub failed_rows: u64,
    pub last_error: Option<String>,
}

impl Collection {
    /// Defines an index on a field (a vector index on a vector field, INVERTED or STL_SORT on
    /// a scalar field of a type it supports) and queues its build on every sealed segment.
    /// Creating the same index again is accepted; a different one on the same field is not.
    pub fn create_index(&self, spec: IndexSpec) -> Result<(), EngineError> {
        let Some(field) = self.schema.field(&spec.field) else {
            return Err(EngineError::invalid(
                "index field",
                format!("{:?} is not a field of the collection", spec.field),
            ));
        };
        match spec.scalar_kind() {
            Some(kind) if !kind.supports(field.data_type.name()) => {
                return Err(EngineError::invalid(
                    "index field",
                    format!(
                        "field {:?} is {}, which {} does not index",
                        spec.field, field.data_type, spec.index_type
                    ),
                ));
            }
            None if !matches!(field.data_type, DataType::FloatVector { .. }) => {
                return Err(EngineError::invalid(
                    "index field",
                    format!("field {:?} is {}, not a vector", spec.field, field.data_type),
                ));
            }
            Some(_) | None => {}
        }
        self.check_writable()?;
        let _manifest = self.manifest_lock.lock();
        let _guard = self.write_lock.lock();
        let sealed = {
            let mut state = self.state.write();
            if let Some(existing) = state.indexes.iter().find(|s| s.field == spec.field) {
                if *existing == spec {
                    return Ok(());
                }
                return Err(EngineError::IndexExists { field: spec.field });
            }
            state.indexes.push(spec);
            let (checkpoint, sealed) = (state.checkpoint_lsn, state.sealed_ids());
            if let Err(err) = self.write_manifest(&state, checkpoint, &sealed) {
                state.indexes.pop();
                return Err(err);
            }
            sealed
        };
        self.queue.push(self.id, &sealed);
        Ok(())
    }

    /// Drops the index of a field (searches scan its segments again).
    pub fn drop_index(&self, field: &str) -> Result<(), EngineError> {
        self.check_writable()?;
        let _manifest = self.manifest_lock.lock();
        let _guard = self.write_lock.lock();
        let Some(field_id) = self.schema.field(field).map(|f| f.id.0) else {
            return Err(EngineError::IndexNotFound { field: field.to_owned() });
        };
        let field_index = self.schema.field_index(field).unwrap_or(usize::MAX);
        let segments = {
            let mut state = self.state.write();
            let Some(position) = state.indexes.iter().position(|s| s.field == field) else {
                return Err(EngineError::IndexNotFound { field: field.to_owned() });
            };
            let removed = state.indexes.remove(position);
            let (checkpoint, sealed) = (state.checkpoint_lsn, state.sealed_ids());
            if let Err(err) = self.write_manifest(&state, checkpoint, &sealed) {
                state.indexes.insert(position, removed);
                return Err(err);
            }
            for segment in state.segments.values_mut() {
                segment.indexes.remove(&field_index);
            }
            state.index_failures.retain(|(_, field), _| *field != field_index);
            sealed
        };
        for segment in segments {
            self.storage(self.backend.remove_file(&index_key(&self.dir, segment, field_id)))?;
        }
        Ok(())
    }

    /// The indexes of the collection with their build progress.
    pub fn indexes(&self) -> Vec<IndexInfo> {
        let state = self.state.read();
        let total_rows: u64 = state.segments.values().map(|s| s.num_rows() as u64).sum();
        state
            .indexes
            .iter()
            .map(|spec| {
                let field_index = self.schema.field_index(&spec.field).unwrap_or(usize::MAX);
                let (mut indexed_rows, mut pending_rows, mut failed_rows) = (0, 0, 0);
                let mut last_error = None;
                for segment in state.segments.values().filter(|s| s.sealed) {
                    let rows = segment.num_rows() as u64;
                    let done = !spec.builds_for(segment.num_rows())
                        || segment.indexes.contains_key(&field_index);
                    let failed = state.index_failures.get(&(segment.id, field_index));
                    match (done, failed) {
                        (true, _) => indexed_rows += rows,
                        (false, Some(error)) => {
                            failed_rows += rows;
                            last_error = Some(error.clone());
                        }
                        (false, None) => pending_rows += rows,
                    }
                }
                IndexInfo {
                    spec: spec.clone(),
                    indexed_rows,
                    total_rows,
                    pending_rows,
                    failed_rows,
                    last_error,
                }
            })
            .collect()
    }

    /// Builds the missing indexes of a sealed segment with `threads` threads, writes their
    /// files and attaches them. Called by the background builder; the collection's lock is
    /// held only to take what the build reads and to attach the result.
    pub(crate) fn build_segment_indexes(&self, segment_id: u64, threads: usize) {
        loop {
            let work = {
                let state = self.state.read();
                let Some(segment) = state.segments.get(&segment_id).filter(|s| s.sealed) else {
                    return;
                };
                let missing =
                    state.indexes.iter().find(|spec| self.needs_build(&state, segment, spec));
                missing.map(|spec| (spec.clone(), segment.columns.clone(), segment.num_rows()))
            };
            let Some((spec, columns, rows)) = work else { return };
            let Some(field_index) = self.schema.field_index(&spec.field) else { return };
            let field_id = self.schema.fields()[field_index].id.0;
            let built = match &columns[field_index].data {
                _ if spec.scalar_kind().is_some() => {
                    BuiltIndex::build_scalar(&spec, &columns[field_index])
                }
                ColumnData::FloatVector { dim, data } => {
                    BuiltIndex::build(&spec, data, *dim, threads)
                }
                _ => return,
            };
            let built = match built {
                Ok(Some(built)) => built,
                Ok(None) => return,
                Err(error) => {
                    // The segment stays scanned (searches stay exact); DescribeIndex says why.
                    let mut state = self.state.write();
                    state.index_failures.insert((segment_id, field_index), error.to_string());
                    return;
                }
            };
            let key = index_key(&self.dir, segment_id, field_id);
            if self.backend.write_atomic(&key, &built.encode(segment_id, field_id, &spec)).is_err()
            {
                // The index is derived data: without its file it is rebuilt at the next open.
                self.index_write_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let mut state = self.state.write();
            let still_wanted = state.indexes.contains(&spec);
            match state.segments.get_mut(&segment_id) {
                Some(segment) if still_wanted && segment.num_rows() == rows => {
                    segment.indexes.insert(field_index, Arc::new(built));
                }
                _ => return,
            }
        }
    }

    fn needs_build(&self, state: &State, segment: &Segment, spec: &IndexSpec) -> bool {
        let Some(field_index) = self.schema.field_index(&spec.field) else { return false };
        spec.builds_for(segment.num_rows())
            && !segment.indexes.contains_key(&field_index)
            && !state.index_failures.contains_key(&(segment.id, field_index))
    }
}

/// Attaches the index files of the sealed segments at open; returns the segments whose index
/// is missing or damaged (they are queued for a build, and scanned until it is done).
pub(super) fn load_indexes(
    backend: &dyn quiver_storage::Backend,
    dir: &str,
    schema: &quiver_core::Schema,
    state: &mut State,
) -> Vec<u64> {
    let mut rebuild = Vec::new();
    let specs = state.indexes.clone();
    for segment in state.segments.values_mut() {
        for spec in &specs {
            let Some(field_index) = schema.field_index(&spec.field) else { continue };
            if !spec.builds_for(segment.num_rows()) {
                continue;
            }
            let field = &schema.fields()[field_index];
            // A scalar index needs no dimension.
            let dim = match field.data_type {
                DataType::FloatVector { dim } => dim,
                _ if spec.scalar_kind().is_some() => 0,
                _ => continue,
            };
            let key = index_key(dir, segment.id, field.id.0);
            let loaded = backend.read(&key).map_err(EngineError::from).and_then(|bytes| {
                BuiltIndex::decode(
                    &key,
                    bytes,
                    segment.id,
                    field.id.0,
                    spec,
                    segment.num_rows(),
                    dim as usize,
                )
            });
            match loaded {
                Ok(index) => {
                    segment.indexes.insert(field_index, Arc::new(index));
                }
                Err(_) => rebuild.push(segment.id),
            }
        }
    }
    rebuild.dedup();
    rebuild
}
