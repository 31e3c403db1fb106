//! The collection's recycle bin of partitions: `drop_partition` (with a retention) seals the
//! partition's rows into segment files and moves the partition and its segments to the bin,
//! where reads, writes and compaction do not see them; the manifest lists them as dropped
//! (with the time of the drop) until they are restored, purged or expire.
//!
//! Sealing (and checkpointing) first means no log record above the checkpoint writes to or
//! deletes from a dropped partition, so a replay never needs it; a partition id is never reused, so it is the partition's id in the
//! bin too.

use quiver_core::{Name, NameKind};

use super::state::State;
use super::{Collection, unix_millis};
use crate::EngineError;
use crate::manifest::{self, Manifest, PartitionMeta};
use crate::options::MAX_PARTITIONS;

/// How often a drop seals again when writes to the partition keep arriving meanwhile.
const SEAL_ATTEMPTS: usize = 3;

/// A dropped partition in the collection's recycle bin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrashedPartition {
    /// The id to restore or purge it by.
    pub id: i64,
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub dropped_ms: u64,
    pub expires_ms: u64,
    /// Rows it held when it was dropped.
    pub rows: u64,
}

impl Collection {
    /// Moves partition `name` to the recycle bin (see the module documentation).
    pub(super) fn trash_partition(&self, name: &str) -> Result<(), EngineError> {
        let _manifest = self.manifest_lock.lock();
        for _ in 0..SEAL_ATTEMPTS {
            self.check_writable()?;
            {
                let state = self.state.read();
                state.partition_id(name)?;
                if state.trashed_partitions.len() >= MAX_PARTITIONS {
                    return Err(EngineError::TrashFull { max: MAX_PARTITIONS });
                }
            }
            self.seal_holding_manifest_lock(&|_| true)?;
            if let Some(done) = self.move_to_trash(name)? {
                return Ok(done);
            }
        }
        Err(EngineError::invalid(
            "drop partition",
            "writes to the partition kept arriving while it was sealed; stop them and retry",
        ))
    }

    /// Moves the partition to the bin if it has no unsealed rows under the write lock;
    /// `None` when it has (a write arrived since the check).
    fn move_to_trash(&self, name: &str) -> Result<Option<()>, EngineError> {
        let _guard = self.write_lock.lock();
        self.check_writable()?;
        let mut state = self.state.write();
        let id = state.partition_id(name)?;
        if has_unlogged_changes(&state, id) {
            return Ok(None);
        }
        let dropped_ms = unix_millis();
        let meta = PartitionMeta { id, name: name.to_owned() };
        let mut next = self.manifest_now(&state);
        next.partitions.retain(|p| p.id != id);
        next.dropped_partitions.push((meta.clone(), dropped_ms));
        self.write_manifest_bytes(&manifest::encode(&next))?;
        let moved: Vec<u64> =
            state.segments.values().filter(|s| s.partition == id).map(|s| s.id).collect();
        for segment_id in &moved {
            if let Some(segment) = state.segments.remove(segment_id)
                && segment.sealed
            {
                state.trashed_segments.insert(segment.id, segment);
            }
        }
        state.pk_index.retain(|_, addr| !moved.contains(&addr.segment));
        state.growing.remove(&id);
        state.partitions.retain(|p| p.id != id);
        state.trashed_partitions.push((meta, dropped_ms));
        Ok(Some(()))
    }

    /// The partitions in the collection's recycle bin, oldest drop first.
    pub fn list_trashed_partitions(&self) -> Vec<TrashedPartition> {
        let retention = self.retention_ms();
        let state = self.state.read();
        state
            .trashed_partitions
            .iter()
            .map(|(meta, dropped_ms)| TrashedPartition {
                id: meta.id,
                name: meta.name.clone(),
                dropped_ms: *dropped_ms,
                expires_ms: dropped_ms.saturating_add(retention),
                rows: state
                    .trashed_segments
                    .values()
                    .filter(|s| s.partition == meta.id)
                    .map(|s| s.num_rows() as u64 - s.deleted as u64)
                    .sum(),
            })
            .collect()
    }

    /// Restores the dropped partition `id` under its old name or `new_name`, with its rows.
    /// Refused when the name is taken ([`EngineError::PartitionExists`]), the collection has
    /// [`MAX_PARTITIONS`] partitions, or a row's primary key was written again since the drop
    /// (keys are unique among live rows: delete those rows first).
    pub fn restore_partition(&self, id: i64, new_name: Option<&str>) -> Result<(), EngineError> {
        let _manifest = self.manifest_lock.lock();
        let _guard = self.write_lock.lock();
        self.check_writable()?;
        let mut state = self.state.write();
        let Some((meta, _)) = state.trashed_partitions.iter().find(|(p, _)| p.id == id).cloned()
        else {
            return Err(EngineError::PartitionTrashNotFound { id });
        };
        let name = new_name.unwrap_or(&meta.name);
        Name::new(NameKind::Partition, name)?;
        if state.partitions.iter().any(|p| p.name == name) {
            return Err(EngineError::PartitionExists { name: name.to_owned() });
        }
        if state.partitions.len() >= MAX_PARTITIONS {
            return Err(EngineError::TooManyPartitions { max: MAX_PARTITIONS });
        }
        let pk_index = self.schema.primary_index();
        let taken = state
            .trashed_segments
            .values()
            .filter(|s| s.partition == id)
            .flat_map(|s| {
                let keys = &s.columns[pk_index].data;
                (0..s.num_rows())
                    .filter(|row| s.deletes[*row] == crate::segment::LIVE)
                    .filter_map(move |row| keys.pk(row))
            })
            .filter(|pk| state.pk_index.contains_key(pk))
            .count();
        if taken > 0 {
            return Err(EngineError::invalid(
                "restore partition",
                format!("{taken} of its rows have primary keys written again since the drop"),
            ));
        }
        let restored = PartitionMeta { id, name: name.to_owned() };
        let mut next = self.manifest_now(&state);
        next.dropped_partitions.retain(|(p, _)| p.id != id);
        next.partitions.push(restored.clone());
        self.write_manifest_bytes(&manifest::encode(&next))?;
        let ids: Vec<u64> =
            state.trashed_segments.values().filter(|s| s.partition == id).map(|s| s.id).collect();
        for segment_id in &ids {
            if let Some(segment) = state.trashed_segments.remove(segment_id) {
                state.add_sealed(&self.schema, segment);
            }
        }
        state.trashed_partitions.retain(|(p, _)| p.id != id);
        state.partitions.push(restored);
        drop(state);
        self.queue.push(self.id, &ids);
        Ok(())
    }

    /// Removes the dropped partition `id` and its files for good.
    pub fn purge_partition(&self, id: i64) -> Result<(), EngineError> {
        if !self.state.read().trashed_partitions.iter().any(|(p, _)| p.id == id) {
            return Err(EngineError::PartitionTrashNotFound { id });
        }
        self.purge_partitions(&[id])
    }

    /// Purges the partitions dropped at least the retention before `now_ms` and returns
    /// their ids (the maintenance task calls it with the current time).
    pub fn purge_expired_partitions(&self, now_ms: u64) -> Result<Vec<i64>, EngineError> {
        let retention = self.retention_ms();
        let expired: Vec<i64> = self
            .state
            .read()
            .trashed_partitions
            .iter()
            .filter(|(_, dropped_ms)| dropped_ms.saturating_add(retention) <= now_ms)
            .map(|(p, _)| p.id)
            .collect();
        if !expired.is_empty() {
            self.purge_partitions(&expired)?;
        }
        Ok(expired)
    }

    fn purge_partitions(&self, ids: &[i64]) -> Result<(), EngineError> {
        let _manifest = self.manifest_lock.lock();
        let _guard = self.write_lock.lock();
        self.check_writable()?;
        let removed = {
            let mut state = self.state.write();
            let mut next = self.manifest_now(&state);
            next.dropped_partitions.retain(|(p, _)| !ids.contains(&p.id));
            next.segments.retain(|s| !ids.contains(&s.partition));
            self.write_manifest_bytes(&manifest::encode(&next))?;
            let removed: Vec<u64> = state
                .trashed_segments
                .values()
                .filter(|s| ids.contains(&s.partition))
                .map(|s| s.id)
                .collect();
            state.trashed_segments.retain(|id, _| !removed.contains(id));
            state.trashed_partitions.retain(|(p, _)| !ids.contains(&p.id));
            removed
        };
        for id in removed {
            self.remove_segment_files(id)?;
        }
        Ok(())
    }

    /// The manifest of the state as it is (at its checkpoint), to be changed and written.
    fn manifest_now(&self, state: &State) -> Manifest {
        state.manifest(state.checkpoint_lsn, &state.sealed_ids())
    }

    fn retention_ms(&self) -> u64 {
        u64::try_from(self.options.trash_retention.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Whether partition `id` has rows not yet sealed or deletions above the checkpoint: their
/// log records would be replayed at the next open, where a dropped partition takes none.
fn has_unlogged_changes(state: &State, id: i64) -> bool {
    let checkpoint = state.checkpoint_lsn;
    state.segments.values().filter(|s| s.partition == id).any(|s| {
        (!s.sealed && s.num_rows() > 0)
            || s.deletes.iter().any(|lsn| *lsn != crate::segment::LIVE && *lsn > checkpoint)
    })
}
