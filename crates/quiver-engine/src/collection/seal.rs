//! Sealing growing segments into files, checkpoints, compaction and partition changes: every
//! operation that rewrites the manifest.
//!
//! Each holds `manifest_lock` (one manifest change at a time) and `write_lock` while it
//! changes the state (sealing releases it while it writes segment files), and follows the
//! same order: write new segment files (fsynced), swap the manifest atomically, then update
//! memory, then delete what the new manifest no longer references. A crash at any point
//! leaves either the old manifest (new files are orphans, removed at the next open) or the
//! new one (old files are garbage, likewise removed).

use std::sync::atomic::Ordering;
use std::time::Instant;

use quiver_core::Name;

use super::state::{RowAddr, State};
use super::{Collection, DEFAULT_PARTITION, segment_key};
use crate::EngineError;
use crate::index::index_key;
use crate::manifest::{self, PartitionMeta};
use crate::options::MAX_PARTITIONS;
use crate::segment::{LIVE, Segment};

/// What a compaction did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactStats {
    pub segments_rewritten: usize,
    pub rows_purged: u64,
}

impl Collection {
    /// Seals every growing segment and checkpoints the log: after `flush` the rows live in
    /// segment files and recovery replays nothing older.
    pub fn flush(&self) -> Result<(), EngineError> {
        self.check_writable()?;
        let _manifest = self.manifest_lock.lock();
        self.seal_holding_manifest_lock(&|_| true)
    }

    /// Seals when a growing segment reached the row or byte threshold.
    pub(crate) fn seal_if_full(&self) -> Result<(), EngineError> {
        let full = |state: &State| {
            state.segments.values().any(|s| {
                !s.sealed
                    && (s.num_rows() >= self.options.seal_rows
                        || s.bytes >= self.options.seal_bytes)
            })
        };
        self.seal_when(&full)
    }

    /// Seals when a growing segment is older than the age threshold.
    pub(crate) fn seal_if_due(&self, now: Instant) -> Result<(), EngineError> {
        let due = |state: &State| {
            state.segments.values().any(|s| {
                !s.sealed
                    && s.num_rows() > 0
                    && now.duration_since(s.created) >= self.options.seal_age
            })
        };
        self.seal_when(&due)
    }

    /// Seals when `condition` holds: checked once cheaply, then again under the locks, so
    /// that concurrent writers crossing a threshold together seal once, not once each.
    fn seal_when(&self, condition: &dyn Fn(&State) -> bool) -> Result<(), EngineError> {
        if self.stopped.load(Ordering::SeqCst) || !condition(&self.state.read()) {
            return Ok(());
        }
        let _manifest = self.manifest_lock.lock();
        self.seal_holding_manifest_lock(condition)
    }

    /// Seals the growing segments in three steps, so that writers wait only for the first
    /// and the last, which do no bulk I/O:
    /// 1. under the write lock, checkpoint the log (rotate it: everything logged so far is
    ///    durable and in older files) and freeze the growing segments (new rows go to new
    ///    ones);
    /// 2. without it, write the frozen segments' files;
    /// 3. under it again, swap the manifest, mark the segments sealed, and finally remove the
    ///    log files the checkpoint covers.
    pub(super) fn seal_holding_manifest_lock(
        &self,
        condition: &dyn Fn(&State) -> bool,
    ) -> Result<(), EngineError> {
        let (checkpoint, images) = {
            let _guard = self.write_lock.lock();
            self.check_writable()?;
            if !condition(&self.state.read()) {
                return Ok(());
            }
            let checkpoint = self.storage(self.wal.rotate())?;
            let mut state = self.state.write();
            state.growing.clear();
            let images: Vec<_> = state
                .unsealed_ids()
                .iter()
                .filter_map(|id| state.segments.get(id).map(|s| s.image()))
                .collect();
            if images.is_empty() && checkpoint == state.checkpoint_lsn {
                return Ok(());
            }
            (checkpoint, images)
        };
        for image in &images {
            self.storage(
                self.backend.write_new(&segment_key(&self.dir, image.id), &image.encode()),
            )?;
        }
        {
            let _guard = self.write_lock.lock();
            let frozen: Vec<u64> = images.iter().map(|image| image.id).collect();
            let mut sealed = self.state.read().sealed_ids();
            sealed.extend(&frozen);
            self.write_manifest(&self.state.read(), checkpoint, &sealed)?;
            let mut state = self.state.write();
            for id in &frozen {
                if let Some(segment) = state.segments.get_mut(id) {
                    segment.sealed = true;
                }
            }
            // Frozen segments that stayed empty are forgotten; the current growing ones stay.
            let growing: Vec<u64> = state.growing.values().copied().collect();
            state.segments.retain(|id, s| s.sealed || growing.contains(id));
            state.checkpoint_lsn = checkpoint;
            // The rotation made every record up to the checkpoint durable.
            state.forget_superseded_through(checkpoint);
        }
        self.queue.push(self.id, &images.iter().map(|image| image.id).collect::<Vec<_>>());
        self.storage(self.wal.remove_files_through(checkpoint))
    }

    /// Removes a segment's file and its index files.
    pub(super) fn remove_segment_files(&self, id: u64) -> Result<(), EngineError> {
        self.storage(self.backend.remove_file(&segment_key(&self.dir, id)))?;
        // Every field may have an index file (vector or scalar); removing a missing file is
        // not an error.
        for field in self.schema.fields() {
            let field_id = field.id.0;
            self.storage(self.backend.remove_file(&index_key(&self.dir, id, field_id)))?;
        }
        Ok(())
    }

    pub(super) fn write_manifest(
        &self,
        state: &State,
        checkpoint: u64,
        sealed: &[u64],
    ) -> Result<(), EngineError> {
        self.write_manifest_bytes(&manifest::encode(&state.manifest(checkpoint, sealed)))
    }

    pub(super) fn write_manifest_bytes(&self, bytes: &[u8]) -> Result<(), EngineError> {
        self.storage(self.backend.write_atomic(&format!("{}/MANIFEST", self.dir), bytes))
    }

    /// Rewrites the sealed segments that hold deleted rows, dropping the rows deleted at or
    /// below `purge_through_lsn` (rows deleted later stay, with their deletion, so that a
    /// retention window can keep them restorable). Seals and checkpoints first.
    pub fn compact_through(&self, purge_through_lsn: u64) -> Result<CompactStats, EngineError> {
        self.check_writable()?;
        let _manifest = self.manifest_lock.lock();
        self.seal_holding_manifest_lock(&|_| true)?;
        let _guard = self.write_lock.lock();
        self.check_writable()?;
        let checkpoint = self.state.read().checkpoint_lsn;
        let horizon = purge_through_lsn.min(checkpoint);
        let mut stats = CompactStats::default();
        let mut rewritten: Vec<(u64, Segment)> = Vec::new();
        {
            let mut state = self.state.write();
            // No restore may go back before what is purged now; the timeline keeps no older
            // entries than it needs.
            if horizon > state.purged_through_lsn {
                state.purged_through_lsn = horizon;
                if let Some(earliest) = state.timeline.earliest_at_or_after(horizon) {
                    state.timeline.prune_before(earliest);
                }
            }
            let candidates: Vec<u64> = state
                .segments
                .values()
                .filter(|s| s.sealed && s.deletes.iter().any(|lsn| *lsn <= horizon))
                .map(|s| s.id)
                .collect();
            for old_id in candidates {
                let new_id = state.next_segment_id;
                state.next_segment_id += 1;
                let Some(old) = state.segments.get(&old_id) else { continue };
                let (segment, purged) = without_purged(old, new_id, horizon)?;
                stats.rows_purged += purged;
                stats.segments_rewritten += 1;
                rewritten.push((old_id, segment));
            }
        }
        if rewritten.is_empty() {
            return Ok(stats);
        }
        for (_, segment) in &rewritten {
            self.storage(
                self.backend
                    .write_new(&segment_key(&self.dir, segment.id), &segment.image().encode()),
            )?;
        }
        let removed: Vec<u64> = rewritten.iter().map(|(old_id, _)| *old_id).collect();
        {
            let state = self.state.read();
            let kept = state.segments.values().filter(|s| s.sealed && !removed.contains(&s.id));
            let new = rewritten.iter().map(|(_, segment)| segment);
            self.write_manifest_bytes(&manifest::encode(
                &state.manifest_of(checkpoint, kept.chain(new)),
            ))?;
        }
        let mut state = self.state.write();
        for (old_id, segment) in rewritten {
            state.segments.remove(&old_id);
            let pk_column = &segment.columns[self.schema.primary_index()].data;
            for row in 0..segment.num_rows() {
                if segment.deletes[row] == LIVE
                    && let Some(pk) = pk_column.pk(row)
                {
                    state.pk_index.insert(pk, RowAddr { segment: segment.id, row: row as u32 });
                }
            }
            state.segments.insert(segment.id, segment);
        }
        let new_ids: Vec<u64> =
            state.sealed_ids().into_iter().filter(|id| !removed.contains(id)).collect();
        drop(state);
        self.queue.push(self.id, &new_ids);
        for id in removed {
            self.remove_segment_files(id)?;
        }
        Ok(stats)
    }

    /// Compacts away the checkpointed deletions older than the retention window
    /// ([`crate::Options::trash_retention`]): those at or below the LSN the timeline gives for
    /// `now - retention`. With a zero retention, every checkpointed deletion.
    pub fn compact(&self) -> Result<CompactStats, EngineError> {
        let retention = self.options.trash_retention;
        if retention.is_zero() {
            return self.compact_through(u64::MAX);
        }
        let retention_ms = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        let cutoff = super::unix_millis().saturating_sub(retention_ms);
        let horizon = self.state.read().timeline.lsn_at(cutoff).unwrap_or(0);
        self.compact_through(horizon)
    }

    pub fn create_partition(&self, name: &str) -> Result<(), EngineError> {
        Name::new(quiver_core::NameKind::Partition, name)?;
        let _manifest = self.manifest_lock.lock();
        let _guard = self.write_lock.lock();
        self.check_writable()?;
        let mut state = self.state.write();
        if state.partitions.iter().any(|p| p.name == name) {
            return Err(EngineError::PartitionExists { name: name.to_owned() });
        }
        if state.partitions.len() >= MAX_PARTITIONS {
            return Err(EngineError::TooManyPartitions { max: MAX_PARTITIONS });
        }
        let id = state.next_partition_id;
        state.next_partition_id += 1;
        state.partitions.push(PartitionMeta { id, name: name.to_owned() });
        let (checkpoint, sealed) = (state.checkpoint_lsn, state.sealed_ids());
        if let Err(err) = self.write_manifest(&state, checkpoint, &sealed) {
            state.partitions.pop();
            return Err(err);
        }
        Ok(())
    }

    /// Drops a partition: moves it to the collection's recycle bin (see
    /// [`Collection::list_trashed_partitions`]) for [`crate::Options::trash_retention`], or,
    /// with a zero retention, removes it and its rows at once.
    pub fn drop_partition(&self, name: &str) -> Result<(), EngineError> {
        if name == DEFAULT_PARTITION {
            return Err(EngineError::DefaultPartition);
        }
        if !self.options.trash_retention.is_zero() {
            return self.trash_partition(name);
        }
        let _manifest = self.manifest_lock.lock();
        let _guard = self.write_lock.lock();
        self.check_writable()?;
        let mut state = self.state.write();
        let id = state.partition_id(name)?;
        let partitions = state.partitions.clone();
        state.partitions.retain(|p| p.id != id);
        let dropped: Vec<u64> =
            state.segments.values().filter(|s| s.partition == id).map(|s| s.id).collect();
        let (checkpoint, sealed) = (state.checkpoint_lsn, state.sealed_ids());
        let kept: Vec<u64> = sealed.into_iter().filter(|s| !dropped.contains(s)).collect();
        if let Err(err) = self.write_manifest(&state, checkpoint, &kept) {
            // Memory follows the manifest: until the new one is in place, the partition stays.
            state.partitions = partitions;
            return Err(err);
        }
        state.pk_index.retain(|_, addr| !dropped.contains(&addr.segment));
        state.segments.retain(|id, _| !dropped.contains(id));
        state.growing.remove(&id);
        drop(state);
        for id in dropped {
            self.remove_segment_files(id)?;
        }
        Ok(())
    }
}

/// A copy of `old` under `new_id` without the rows deleted at or below `horizon`.
fn without_purged(old: &Segment, new_id: u64, horizon: u64) -> Result<(Segment, u64), EngineError> {
    let mut segment = Segment {
        id: new_id,
        partition: old.partition,
        columns: std::sync::Arc::new(
            old.columns.iter().map(|c| quiver_core::Column::new(c.data.empty_like())).collect(),
        ),
        lsns: Vec::new(),
        deletes: Vec::new(),
        deleted: 0,
        sealed: true,
        created: old.created,
        bytes: 0,
        indexes: std::collections::HashMap::new(),
    };
    let mut purged = 0;
    let mut row = 0;
    while row < old.num_rows() {
        // Copy runs of kept rows at once.
        if old.deletes[row] <= horizon {
            purged += 1;
            row += 1;
            continue;
        }
        let start = row;
        while row < old.num_rows() && old.deletes[row] > horizon {
            row += 1;
        }
        let columns = std::sync::Arc::make_mut(&mut segment.columns);
        for (mine, theirs) in columns.iter_mut().zip(old.columns.iter()) {
            mine.extend_from(theirs, start..row)?;
        }
        segment.lsns.extend_from_slice(&old.lsns[start..row]);
        segment.deletes.extend_from_slice(&old.deletes[start..row]);
        segment.deleted += old.deletes[start..row].iter().filter(|lsn| **lsn != LIVE).count();
    }
    Ok((segment, purged))
}
