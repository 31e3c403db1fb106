//! Point-in-time restore: a new collection holding exactly the rows another one showed at a
//! past wall-clock time inside the retention window.

use std::sync::Arc;

use super::Database;
use crate::EngineError;
use crate::collection::{Collection, DEFAULT_PARTITION};

impl Database {
    /// Creates the collection `target_name` in `database` with the schema, partitions and
    /// index definitions of collection `name` (a name or an alias), holding exactly the rows
    /// `name` showed at `at_ms` (milliseconds since the Unix epoch): inserted at or before,
    /// not deleted at or before, to the resolution of the collection's timeline (one second).
    /// The rows go through the normal write path in bounded batches; `name` keeps serving
    /// reads and writes meanwhile.
    ///
    /// Refuses a time before the earliest restorable point (the collection's creation or its
    /// compaction horizon, see [`Collection::restorable_since`]) or in the future with
    /// [`EngineError::RestorePointOutOfRange`], and a taken `target_name` like
    /// [`Database::create_collection`]. Rows of partitions dropped since are not restored. On
    /// a failure part way, the new collection is removed.
    pub fn restore_collection_as_of(
        &self,
        database: &str,
        name: &str,
        at_ms: u64,
        target_name: &str,
    ) -> Result<Arc<Collection>, EngineError> {
        let source = self.collection(database, name)?;
        self.restore_from(&source, at_ms, database, target_name)
    }

    /// Like [`Database::restore_collection_as_of`], from the dropped collection `trash_id` in
    /// the recycle bin (which stays there), into `target_name` in `database`.
    pub fn restore_trashed_as_of(
        &self,
        trash_id: u64,
        at_ms: u64,
        database: &str,
        target_name: &str,
    ) -> Result<Arc<Collection>, EngineError> {
        let source = self.open_trashed(trash_id)?;
        self.restore_from(&source, at_ms, database, target_name)
    }

    fn restore_from(
        &self,
        source: &Collection,
        at_ms: u64,
        database: &str,
        target_name: &str,
    ) -> Result<Arc<Collection>, EngineError> {
        let lsn = source.lsn_at(at_ms)?;
        let snapshot = source.snapshot_at(lsn);
        let target =
            self.create_collection_with_schema(database, target_name, source.schema().clone())?;
        let filled = (|| {
            for partition in source.partitions() {
                if partition != DEFAULT_PARTITION {
                    target.create_partition(&partition)?;
                }
            }
            for info in source.indexes() {
                target.create_index(info.spec)?;
            }
            for part in &snapshot {
                for batch in part.batches(source.schema()) {
                    target.upsert(Some(&part.partition), batch?)?;
                }
            }
            target.flush()
        })();
        if let Err(err) = filled {
            // Best effort: the half-filled collection must not look like a restore.
            let id = target.id();
            if self.drop_collection(database, target_name).is_ok() {
                let _ = self.purge_trash(id);
            }
            return Err(err);
        }
        Ok(target)
    }
}
