//! What point-in-time restore reads from a collection: the LSN a wall-clock time maps to,
//! checked against the restorable window, and the rows visible at that LSN.

use std::sync::Arc;

use quiver_core::{Column, DataType, InsertBatch, Schema};

use super::{Collection, unix_millis};
use crate::EngineError;

/// Most rows per batch a restore writes.
const RESTORE_BATCH_ROWS: usize = 4096;
/// Roughly the most bytes of row data per batch a restore writes.
const RESTORE_BATCH_BYTES: usize = 16 << 20;

/// Rows of one segment visible at a restore's LSN, by row number, with the segment's columns
/// (shared, not copied).
pub(crate) struct SnapshotPart {
    pub(crate) partition: String,
    columns: Arc<Vec<Column>>,
    rows: Vec<u32>,
}

impl Collection {
    /// The earliest wall-clock time (milliseconds since the Unix epoch) a point-in-time
    /// restore of this collection can go back to: its creation, or the horizon of its last
    /// compaction; `None` while nothing is restorable (a collection from before timelines,
    /// until its next write).
    pub fn restorable_since(&self) -> Option<u64> {
        let state = self.state.read();
        state.timeline.earliest_at_or_after(state.purged_through_lsn)
    }

    /// The LSN whose state a restore to `at_ms` shows, or why that time is outside the
    /// restorable window (before [`Collection::restorable_since`], or in the future).
    pub(crate) fn lsn_at(&self, at_ms: u64) -> Result<u64, EngineError> {
        let now = unix_millis();
        let earliest = self.restorable_since();
        match earliest {
            Some(earliest) if earliest <= at_ms && at_ms <= now => {}
            _ => {
                return Err(EngineError::RestorePointOutOfRange {
                    requested_ms: at_ms,
                    earliest_ms: earliest.unwrap_or(now),
                    latest_ms: now,
                });
            }
        }
        let lsn = self.state.read().timeline.lsn_at(at_ms).unwrap_or(0);
        Ok(lsn.min(self.wal.durable_lsn()))
    }

    /// The rows visible at `lsn` (inserted at or before it, not deleted at or before it),
    /// segment by segment.
    pub(crate) fn snapshot_at(&self, lsn: u64) -> Vec<SnapshotPart> {
        let state = self.state.read();
        let mut parts = Vec::new();
        for segment in state.segments.values() {
            let Some(partition) = state.partitions.iter().find(|p| p.id == segment.partition)
            else {
                continue;
            };
            let rows: Vec<u32> = (0..segment.num_rows())
                .filter(|row| segment.is_visible(*row, lsn))
                .map(|row| row as u32)
                .collect();
            if !rows.is_empty() {
                parts.push(SnapshotPart {
                    partition: partition.name.clone(),
                    columns: segment.columns.clone(),
                    rows,
                });
            }
        }
        parts
    }
}

impl SnapshotPart {
    /// The part's rows as insert batches of bounded size.
    pub(crate) fn batches(
        &self,
        schema: &Schema,
    ) -> impl Iterator<Item = Result<InsertBatch, EngineError>> + '_ {
        let per_batch = (RESTORE_BATCH_BYTES / row_bytes(schema)).clamp(1, RESTORE_BATCH_ROWS);
        let names: Vec<String> = schema.fields().iter().map(|f| f.name.clone()).collect();
        self.rows.chunks(per_batch).map(move |rows| {
            let mut columns: Vec<Column> =
                self.columns.iter().map(|c| Column::new(c.data.empty_like())).collect();
            // Copy runs of consecutive rows at once.
            let mut start = 0;
            while start < rows.len() {
                let mut end = start + 1;
                while end < rows.len() && rows[end] == rows[end - 1] + 1 {
                    end += 1;
                }
                let range = rows[start] as usize..rows[end - 1] as usize + 1;
                for (mine, theirs) in columns.iter_mut().zip(self.columns.iter()) {
                    mine.extend_from(theirs, range.clone())?;
                }
                start = end;
            }
            Ok(InsertBatch { columns: names.iter().cloned().zip(columns).collect() })
        })
    }
}

/// A generous estimate of the bytes of one row of `schema`, to size restore batches.
fn row_bytes(schema: &Schema) -> usize {
    let field = |data_type: DataType| match data_type {
        DataType::FloatVector { dim } => dim as usize * 4,
        DataType::VarChar { max_length } => max_length as usize + 8,
        DataType::Json => 64 << 10,
        DataType::Array { max_capacity, .. } => max_capacity as usize * 64,
        _ => 8,
    };
    schema.fields().iter().map(|f| field(f.data_type)).sum::<usize>().max(1)
}
