//! The in-memory state of one collection, and how each logged write changes it.
//!
//! The same `apply_*` functions run for a live write (after its record is appended to the
//! log) and for recovery (replaying the log), so recovery rebuilds exactly what was served.

use std::collections::{BTreeMap, HashMap, VecDeque};

use quiver_core::{PkValue, RowBatch, Schema};

use crate::EngineError;
use crate::index::IndexSpec;
use crate::manifest::{Manifest, PartitionMeta, SegmentMeta};
use crate::segment::{LIVE, Segment};

use super::timeline::Timeline;

/// A growing segment never exceeds this many rows, so row numbers fit in a `u32`.
pub(crate) const MAX_SEGMENT_ROWS: usize = 1 << 30;

/// Where a live row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RowAddr {
    pub(crate) segment: u64,
    pub(crate) row: u32,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) partitions: Vec<PartitionMeta>,
    /// Sealed and growing segments by id.
    pub(crate) segments: BTreeMap<u64, Segment>,
    /// The growing segment that takes new rows of each partition.
    pub(crate) growing: HashMap<i64, u64>,
    /// Every live row by primary key (the newest write wins; keys are unique among live rows).
    pub(crate) pk_index: HashMap<PkValue, RowAddr>,
    /// Rows that records not yet durable deleted or replaced, oldest first per key. Reads show
    /// the state at the durable LSN, where one of these may still be the live row of its key.
    pub(crate) superseded: HashMap<PkValue, Vec<RowAddr>>,
    /// The entries of `superseded` in log order, with the LSN of the superseding record, so
    /// they are forgotten once that record is durable.
    superseded_order: VecDeque<(u64, PkValue)>,
    pub(crate) checkpoint_lsn: u64,
    /// The vector indexes defined on the collection, at most one per field.
    pub(crate) indexes: Vec<IndexSpec>,
    /// Index builds that failed, by segment and field position, with the reason.
    pub(crate) index_failures: HashMap<(u64, usize), String>,
    pub(crate) next_segment_id: u64,
    pub(crate) next_partition_id: i64,
    pub(crate) next_auto_id: i64,
    /// Wall-clock time → LSN, for point-in-time restore.
    pub(crate) timeline: Timeline,
    /// Rows deleted at or below this LSN are purged (see `Manifest::purged_through_lsn`).
    pub(crate) purged_through_lsn: u64,
    /// Partitions in the recycle bin with the unix millis of their drop, and their (sealed)
    /// segments, which reads, writes and compaction do not see.
    pub(crate) trashed_partitions: Vec<(PartitionMeta, u64)>,
    pub(crate) trashed_segments: BTreeMap<u64, Segment>,
}

impl State {
    pub(crate) fn from_manifest(manifest: &Manifest) -> State {
        State {
            partitions: manifest.partitions.clone(),
            segments: BTreeMap::new(),
            growing: HashMap::new(),
            pk_index: HashMap::new(),
            superseded: HashMap::new(),
            superseded_order: VecDeque::new(),
            checkpoint_lsn: manifest.checkpoint_lsn,
            indexes: manifest.indexes.clone(),
            index_failures: HashMap::new(),
            next_segment_id: manifest.next_segment_id,
            next_partition_id: manifest.next_partition_id,
            next_auto_id: manifest.next_auto_id,
            timeline: Timeline::from_entries(manifest.timeline.clone()).unwrap_or_default(),
            purged_through_lsn: manifest.purged_through_lsn,
            trashed_partitions: manifest.dropped_partitions.clone(),
            trashed_segments: BTreeMap::new(),
        }
    }

    pub(crate) fn partition_id(&self, name: &str) -> Result<i64, EngineError> {
        self.partitions
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.id)
            .ok_or_else(|| EngineError::PartitionNotFound { name: name.to_owned() })
    }

    fn has_partition(&self, id: i64) -> bool {
        self.partitions.iter().any(|p| p.id == id)
    }

    /// Adds a loaded sealed segment and indexes its live rows.
    pub(crate) fn add_sealed(&mut self, schema: &Schema, segment: Segment) {
        let pk_column = &segment.columns[schema.primary_index()].data;
        for row in 0..segment.num_rows() {
            if segment.deletes[row] == LIVE
                && let Some(pk) = pk_column.pk(row)
            {
                self.pk_index.insert(pk, RowAddr { segment: segment.id, row: row as u32 });
            }
        }
        self.segments.insert(segment.id, segment);
    }

    /// Primary keys of `batch` that are live already.
    pub(crate) fn existing_pk(&self, schema: &Schema, batch: &RowBatch) -> Option<PkValue> {
        batch.primary_keys(schema).into_iter().find(|pk| self.pk_index.contains_key(pk))
    }

    pub(crate) fn apply_insert(
        &mut self,
        schema: &Schema,
        partition: i64,
        batch: &RowBatch,
        lsn: u64,
        bytes: usize,
    ) -> Result<(), EngineError> {
        if !self.has_partition(partition) {
            // The partition was dropped after this record was logged.
            return Ok(());
        }
        let segment_id = self.growing_for(schema, partition, batch.num_rows());
        let Some(segment) = self.segments.get_mut(&segment_id) else {
            return Err(EngineError::corrupt("(memory)", 0, "growing segment vanished"));
        };
        let first_row = segment.num_rows();
        segment.append(batch, lsn, bytes)?;
        for (offset, pk) in batch.primary_keys(schema).into_iter().enumerate() {
            // Keep automatic keys ahead of every key stored, whoever chose it (an upsert may
            // bring its own); VarChar automatic keys are decimal numbers.
            let numeric = match &pk {
                PkValue::Int64(key) => Some(*key),
                PkValue::VarChar(key) if schema.auto_id() => key.parse::<i64>().ok(),
                PkValue::VarChar(_) => None,
            };
            if let Some(key) = numeric {
                self.next_auto_id = self.next_auto_id.max(key.saturating_add(1));
            }
            let addr = RowAddr { segment: segment_id, row: (first_row + offset) as u32 };
            self.pk_index.insert(pk, addr);
        }
        Ok(())
    }

    pub(crate) fn apply_upsert(
        &mut self,
        schema: &Schema,
        partition: i64,
        batch: &RowBatch,
        lsn: u64,
        bytes: usize,
    ) -> Result<(), EngineError> {
        self.apply_delete(&batch.primary_keys(schema), lsn);
        self.apply_insert(schema, partition, batch, lsn, bytes)
    }

    /// Tombstones the live rows with these keys; returns how many there were.
    pub(crate) fn apply_delete(&mut self, pks: &[PkValue], lsn: u64) -> u64 {
        let mut deleted = 0;
        for pk in pks {
            let Some(addr) = self.pk_index.remove(pk) else { continue };
            let marked = self
                .segments
                .get_mut(&addr.segment)
                .is_some_and(|segment| segment.mark_deleted(addr.row as usize, lsn));
            if marked {
                deleted += 1;
                self.superseded.entry(pk.clone()).or_default().push(addr);
                self.superseded_order.push_back((lsn, pk.clone()));
            }
        }
        deleted
    }

    /// Forgets the superseded rows whose superseding record is durable: no read can show
    /// them any more.
    pub(crate) fn forget_superseded_through(&mut self, durable_lsn: u64) {
        while let Some((lsn, _)) = self.superseded_order.front() {
            if *lsn > durable_lsn {
                break;
            }
            let Some((_, pk)) = self.superseded_order.pop_front() else { break };
            if let Some(rows) = self.superseded.get_mut(&pk) {
                if !rows.is_empty() {
                    rows.remove(0);
                }
                if rows.is_empty() {
                    self.superseded.remove(&pk);
                }
            }
        }
    }

    /// The row of `pk` that a read at `visible_lsn` shows, if any.
    pub(crate) fn visible_row(&self, pk: &PkValue, visible_lsn: u64) -> Option<(&Segment, usize)> {
        let current = self.pk_index.get(pk).into_iter();
        let older = self.superseded.get(pk).into_iter().flat_map(|rows| rows.iter().rev());
        current.chain(older).find_map(|addr| {
            let segment = self.segments.get(&addr.segment)?;
            let row = addr.row as usize;
            segment.is_visible(row, visible_lsn).then_some((segment, row))
        })
    }

    fn growing_for(&mut self, schema: &Schema, partition: i64, incoming: usize) -> u64 {
        if let Some(id) = self.growing.get(&partition)
            && self.segments.get(id).is_some_and(|s| s.num_rows() + incoming <= MAX_SEGMENT_ROWS)
        {
            return *id;
        }
        let id = self.next_segment_id;
        self.next_segment_id += 1;
        self.segments.insert(id, Segment::new_growing(id, partition, schema));
        self.growing.insert(partition, id);
        id
    }

    /// The manifest describing the sealed segments `sealed` as of `checkpoint_lsn`.
    pub(crate) fn manifest(&self, checkpoint_lsn: u64, sealed: &[u64]) -> Manifest {
        self.manifest_of(checkpoint_lsn, sealed.iter().filter_map(|id| self.segments.get(id)))
    }

    /// The manifest listing `segments` (which need not be in the state yet) and the segments
    /// of trashed partitions as of `checkpoint_lsn`.
    pub(crate) fn manifest_of<'a>(
        &'a self,
        checkpoint_lsn: u64,
        segments: impl Iterator<Item = &'a Segment>,
    ) -> Manifest {
        let segments = segments
            .chain(self.trashed_segments.values())
            .map(|segment| SegmentMeta {
                id: segment.id,
                partition: segment.partition,
                rows: segment.num_rows() as u64,
                deletes: segment
                    .deletes
                    .iter()
                    .enumerate()
                    .filter(|(_, lsn)| **lsn <= checkpoint_lsn)
                    .map(|(row, lsn)| (row as u32, *lsn))
                    .collect(),
            })
            .collect();
        Manifest {
            checkpoint_lsn,
            next_segment_id: self.next_segment_id,
            next_partition_id: self.next_partition_id,
            next_auto_id: self.next_auto_id,
            partitions: self.partitions.clone(),
            segments,
            indexes: self.indexes.clone(),
            purged_through_lsn: self.purged_through_lsn,
            // Entries above the checkpoint come back from the log at the next open (and are
            // lost with their records if those never became durable).
            timeline: self
                .timeline
                .entries()
                .iter()
                .copied()
                .filter(|(_, lsn)| *lsn <= checkpoint_lsn)
                .collect(),
            dropped_partitions: self.trashed_partitions.clone(),
        }
    }

    /// Ids of the sealed segments.
    pub(crate) fn sealed_ids(&self) -> Vec<u64> {
        self.segments.values().filter(|s| s.sealed).map(|s| s.id).collect()
    }

    /// Ids of the unsealed segments that hold rows.
    pub(crate) fn unsealed_ids(&self) -> Vec<u64> {
        self.segments.values().filter(|s| !s.sealed && s.num_rows() > 0).map(|s| s.id).collect()
    }
}
