//! One collection: its schema, its write-ahead log, its segments and the operations on them.
//!
//! Concurrency: writers are serialized by `write_lock` only while they validate against the
//! state, append their record to the log (no I/O) and apply it in memory; they then release it
//! and wait for the group commit that makes their record durable, so concurrent writers share
//! fsyncs. Readers see a row only when its record is durable (`lsn <= wal.durable_lsn()`), so
//! nothing is ever read that a crash could take back.

mod filter;
mod index;
mod partition_trash;
mod read;
mod restore;
mod seal;
mod state;
mod timeline;
mod write;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use quiver_core::Schema;
use quiver_storage::{Backend, Wal};

use crate::index::BuildQueue;
use crate::manifest::{self, Manifest, PartitionMeta};
use crate::segment::Segment;
use crate::{EngineError, Options, meta, wal_record};

pub use filter::ExprFilter;
pub use index::IndexInfo;
pub use partition_trash::TrashedPartition;
pub use read::{Hit, QueryRequest, Row, RowFilter, SearchRequest, SegmentView};
pub use seal::CompactStats;
pub use write::WriteResult;

pub(crate) use timeline::{MAX_TIMELINE_ENTRIES, Timeline};

use state::State;

pub(crate) const DEFAULT_PARTITION: &str = "_default";

/// A collection of the embedded database. Handles are shared (`Arc<Collection>`).
#[derive(Debug)]
pub struct Collection {
    id: u64,
    name: String,
    schema: Arc<Schema>,
    dir: String,
    backend: Arc<dyn Backend>,
    options: Options,
    wal: Wal,
    /// Serializes manifest changes: seals, compactions, partition changes. Taken before
    /// `write_lock`, never while holding it.
    manifest_lock: Mutex<()>,
    /// Serializes writers (validation, log append, apply) and the short steps of manifest
    /// changes that must see a state no writer changes.
    write_lock: Mutex<()>,
    state: RwLock<State>,
    /// Set after a storage failure or a drop: writes are refused until the collection is
    /// opened again.
    stopped: AtomicBool,
    /// The database's index builder, which this collection feeds with sealed segments.
    queue: Arc<BuildQueue>,
    /// Index files that could not be written (the index is still used; the file is rebuilt
    /// at the next open).
    index_write_failures: AtomicU64,
}

pub(crate) fn collection_dir(id: u64) -> String {
    format!("collections/{id}")
}

impl Collection {
    /// Writes the files of a new, empty collection under `dir`.
    pub(crate) fn create_files(
        backend: &dyn Backend,
        dir: &str,
        schema: &Schema,
    ) -> Result<(), EngineError> {
        backend.remove_dir_all(dir)?;
        backend.create_dir_all(&format!("{dir}/segments"))?;
        backend.create_dir_all(&format!("{dir}/wal"))?;
        backend.write_new(&format!("{dir}/schema.qvm"), &meta::encode_schema(schema))?;
        let manifest = Manifest {
            checkpoint_lsn: 0,
            next_segment_id: 1,
            next_partition_id: 2,
            // Like Milvus, automatic keys start from a time-derived value, so a recreated
            // collection does not hand out the keys of its predecessor.
            next_auto_id: (unix_millis() as i64) << 18,
            partitions: vec![PartitionMeta { id: 1, name: DEFAULT_PARTITION.to_owned() }],
            segments: Vec::new(),
            indexes: Vec::new(),
            purged_through_lsn: 0,
            // The creation is the earliest point a restore can go back to: an empty collection.
            timeline: vec![(unix_millis(), 0)],
            dropped_partitions: Vec::new(),
        };
        backend.write_atomic(&format!("{dir}/MANIFEST"), &manifest::encode(&manifest))?;
        Ok(())
    }

    /// Opens a collection: loads its schema, manifest and sealed segments, then replays the
    /// log records above the manifest's checkpoint.
    pub(crate) fn open(
        backend: Arc<dyn Backend>,
        id: u64,
        name: &str,
        options: &Options,
        queue: Arc<BuildQueue>,
    ) -> Result<Collection, EngineError> {
        let dir = collection_dir(id);
        let schema_key = format!("{dir}/schema.qvm");
        let schema = Arc::new(meta::decode_schema(&schema_key, backend.read(&schema_key)?)?);
        let manifest_key = format!("{dir}/MANIFEST");
        let manifest = manifest::decode(&manifest_key, backend.read(&manifest_key)?)?;
        let mut state = State::from_manifest(&manifest);
        for meta in &manifest.segments {
            let key = segment_key(&dir, meta.id);
            let trashed = state.trashed_partitions.iter().any(|(p, _)| p.id == meta.partition);
            if !trashed && !state.partitions.iter().any(|p| p.id == meta.partition) {
                return Err(EngineError::corrupt(&manifest_key, 0, "segment of unknown partition"));
            }
            let mut segment = Segment::decode(
                &key,
                backend.read(&key)?,
                &schema,
                meta.id,
                meta.partition,
                meta.rows,
            )?;
            for (row, lsn) in &meta.deletes {
                if *lsn > manifest.checkpoint_lsn || !segment.mark_deleted(*row as usize, *lsn) {
                    return Err(EngineError::corrupt(&manifest_key, 0, "bad delete entry"));
                }
            }
            if trashed {
                state.trashed_segments.insert(segment.id, segment);
            } else {
                state.add_sealed(&schema, segment);
            }
        }
        remove_orphan_files(backend.as_ref(), &dir, &manifest, &schema)?;
        let rebuild = index::load_indexes(backend.as_ref(), &dir, &schema, &mut state);
        let wal_dir = format!("{dir}/wal");
        let checkpoint = manifest.checkpoint_lsn;
        let wal = Wal::open(backend.clone(), &wal_dir, checkpoint + 1, &mut |lsn, payload| {
            if lsn <= checkpoint {
                return Ok(());
            }
            let op = wal_record::decode(payload, &schema)
                .map_err(|e| EngineError::corrupt(&wal_dir, e.offset as u64, e.reason))?;
            state.timeline.record(record_millis(payload), lsn);
            apply(&mut state, &schema, op, lsn, payload.len())
        })?;
        // Files at or below the checkpoint may be gone; a gap above it means lost records.
        if wal.recovery_info().first_lsn.is_some_and(|first| first > checkpoint + 1) {
            return Err(EngineError::corrupt(
                &wal_dir,
                0,
                "log records after the checkpoint are missing",
            ));
        }
        Ok(Collection {
            id,
            name: name.to_owned(),
            schema,
            dir,
            backend,
            options: options.clone(),
            wal,
            manifest_lock: Mutex::new(()),
            write_lock: Mutex::new(()),
            state: RwLock::new(state),
            stopped: AtomicBool::new(false),
            queue: queue.clone(),
            index_write_failures: AtomicU64::new(0),
        })
        .inspect(|_| queue.push(id, &rebuild))
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Names of the partitions, `_default` first.
    pub fn partitions(&self) -> Vec<String> {
        self.state.read().partitions.iter().map(|p| p.name.clone()).collect()
    }

    /// The last log sequence number that is durable; reads see exactly the writes up to it.
    pub fn durable_lsn(&self) -> u64 {
        self.wal.durable_lsn()
    }

    /// Stops further writes (after a drop, or a storage failure).
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    fn check_writable(&self) -> Result<(), EngineError> {
        if self.stopped.load(Ordering::SeqCst) {
            return Err(EngineError::FailStopped { name: self.name.clone() });
        }
        Ok(())
    }

    /// Runs a storage operation; on failure the collection stops taking writes (fail-stop).
    fn storage<T>(
        &self,
        result: Result<T, quiver_storage::StorageError>,
    ) -> Result<T, EngineError> {
        result.map_err(|err| {
            self.stop();
            EngineError::from(err)
        })
    }
}

/// Applies one logged operation to the state (shared by live writes and recovery).
fn apply(
    state: &mut State,
    schema: &Schema,
    op: wal_record::WalOp,
    lsn: u64,
    bytes: usize,
) -> Result<(), EngineError> {
    match op {
        wal_record::WalOp::Insert { partition, batch } => {
            state.apply_insert(schema, partition, &batch, lsn, bytes)
        }
        wal_record::WalOp::Upsert { partition, batch } => {
            state.apply_upsert(schema, partition, &batch, lsn, bytes)
        }
        wal_record::WalOp::Delete { pks } => {
            state.apply_delete(&pks, lsn);
            Ok(())
        }
    }
}

pub(crate) fn segment_key(dir: &str, id: u64) -> String {
    format!("{dir}/segments/{id:020}.qvs")
}

/// Removes the files of `segments/` that the manifest does not reference: segment files a
/// crash left between their write and the manifest swap, and index files of segments or
/// fields that are gone.
fn remove_orphan_files(
    backend: &dyn Backend,
    dir: &str,
    manifest: &Manifest,
    schema: &Schema,
) -> Result<(), EngineError> {
    let indexed: Vec<i64> = manifest
        .indexes
        .iter()
        .filter_map(|spec| schema.field(&spec.field).map(|f| f.id.0))
        .collect();
    for name in backend.list(&format!("{dir}/segments"))? {
        let live = manifest.segments.iter().any(|s| {
            name == format!("{:020}.qvs", s.id)
                || indexed.iter().any(|field| name == format!("{:020}.{field}.qvi", s.id))
        });
        if !live {
            backend.remove_file(&format!("{dir}/segments/{name}"))?;
        }
    }
    Ok(())
}

/// The wall-clock time a log record was written at: its first eight bytes (see
/// `wal_record::encode`), which `wal_record::decode` has checked are there.
fn record_millis(payload: &[u8]) -> u64 {
    quiver_storage::codec::Decoder::new(payload).get_u64().unwrap_or(0)
}

pub(crate) fn unix_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
