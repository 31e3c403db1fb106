//! Insert, upsert and delete: validate, log, apply, then wait for the group commit.

use quiver_core::{InsertBatch, PkValue, RowBatch, WriteKind};

use super::read::{RowFilter, SegmentView};
use super::state::State;
use super::{Collection, DEFAULT_PARTITION, apply, unix_millis};
use crate::segment::LIVE;
use quiver_storage::MAX_RECORD_PAYLOAD;

use crate::EngineError;
use crate::options::MAX_ROWS_PER_WRITE;
use crate::wal_record::{self, WalOp};

/// What an acknowledged write did.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteResult {
    /// The primary keys written (inserts and upserts) or deleted (deletes), in order.
    pub pks: Vec<PkValue>,
    /// Rows written or deleted.
    pub count: u64,
    /// The log sequence number of the write; reads see it from now on.
    pub lsn: u64,
}

impl Collection {
    /// Inserts rows into a partition (`None`: `_default`). Fails without writing anything when
    /// any row is invalid or any primary key already exists.
    pub fn insert(
        &self,
        partition: Option<&str>,
        batch: InsertBatch,
    ) -> Result<WriteResult, EngineError> {
        self.write(partition, batch, WriteKind::Insert)
    }

    /// Inserts rows, replacing the live rows that have the same primary keys.
    pub fn upsert(
        &self,
        partition: Option<&str>,
        batch: InsertBatch,
    ) -> Result<WriteResult, EngineError> {
        self.write(partition, batch, WriteKind::Upsert)
    }

    fn write(
        &self,
        partition: Option<&str>,
        batch: InsertBatch,
        kind: WriteKind,
    ) -> Result<WriteResult, EngineError> {
        let mut batch = RowBatch::validate(&self.schema, batch, kind)?;
        if batch.num_rows() > MAX_ROWS_PER_WRITE {
            return Err(EngineError::invalid(
                "batch",
                format!("{} rows exceed the limit of {MAX_ROWS_PER_WRITE}", batch.num_rows()),
            ));
        }
        let guard = self.write_lock.lock();
        self.check_writable()?;
        let partition = self.state.read().partition_id(partition.unwrap_or(DEFAULT_PARTITION))?;
        if batch.needs_auto_ids() {
            let first = self.state.read().next_auto_id;
            batch.assign_auto_ids(&self.schema, first);
        } else if kind == WriteKind::Insert
            && let Some(pk) = self.state.read().existing_pk(&self.schema, &batch)
        {
            return Err(EngineError::DuplicatePrimaryKey { pk: pk.to_string() });
        }
        let pks = batch.primary_keys(&self.schema);
        let count = batch.num_rows() as u64;
        let op = match kind {
            WriteKind::Insert => WalOp::Insert { partition, batch },
            WriteKind::Upsert => WalOp::Upsert { partition, batch },
        };
        let lsn = self.log_and_apply(op)?;
        drop(guard);
        self.storage(self.wal.wait_durable(lsn))?;
        self.seal_if_full()?;
        Ok(WriteResult { pks, count, lsn })
    }

    /// Deletes the live rows with these primary keys; keys that do not exist are ignored.
    pub fn delete(&self, pks: &[PkValue]) -> Result<WriteResult, EngineError> {
        let pk_field = self.schema.primary_field();
        for pk in pks {
            let matches = matches!(
                (pk, pk_field.data_type),
                (PkValue::Int64(_), quiver_core::DataType::Int64)
                    | (PkValue::VarChar(_), quiver_core::DataType::VarChar { .. })
            );
            if !matches {
                return Err(EngineError::invalid(
                    "primary key",
                    format!("field {:?} is {}", pk_field.name, pk_field.data_type),
                ));
            }
        }
        if pks.len() > MAX_ROWS_PER_WRITE {
            return Err(EngineError::invalid("delete", "too many primary keys in one call"));
        }
        self.delete_found(|state| {
            let mut seen = std::collections::HashSet::new();
            Ok(pks
                .iter()
                .filter(|pk| state.pk_index.contains_key(*pk) && seen.insert(*pk))
                .cloned()
                .collect())
        })
    }

    /// Deletes the live rows that pass `filter`, found and logged under the write lock so no
    /// other write interleaves.
    pub(crate) fn delete_matching(
        &self,
        filter: &dyn RowFilter,
    ) -> Result<WriteResult, EngineError> {
        self.delete_found(|state| {
            let mut pks = Vec::new();
            for segment in state.segments.values() {
                let view = SegmentView {
                    schema: &self.schema,
                    columns: &segment.columns,
                    num_rows: segment.num_rows(),
                };
                let mask = filter.evaluate_with_indexes(&view, &|i| segment.scalar_index(i))?;
                let keys = &segment.columns[self.schema.primary_index()].data;
                let live = (0..segment.num_rows()).filter(|row| segment.deletes[*row] == LIVE);
                pks.extend(
                    live.filter(|row| mask.get(*row) == Some(&true)).filter_map(|row| keys.pk(row)),
                );
            }
            Ok(pks)
        })
    }

    /// Deletes the keys `find` picks from the latest state (in-flight writes included, as
    /// they precede this one in the log), logs them as one record, and waits for it.
    fn delete_found(
        &self,
        find: impl FnOnce(&State) -> Result<Vec<PkValue>, EngineError>,
    ) -> Result<WriteResult, EngineError> {
        let guard = self.write_lock.lock();
        self.check_writable()?;
        let found = find(&self.state.read())?;
        if found.is_empty() {
            return Ok(WriteResult { pks: Vec::new(), count: 0, lsn: self.wal.durable_lsn() });
        }
        let count = found.len() as u64;
        let lsn = self.log_and_apply(WalOp::Delete { pks: found.clone() })?;
        drop(guard);
        self.storage(self.wal.wait_durable(lsn))?;
        Ok(WriteResult { pks: found, count, lsn })
    }

    /// Appends the record to the log (no I/O yet) and applies it to the state. The caller
    /// holds `write_lock`, so records are applied in log order.
    fn log_and_apply(&self, op: WalOp) -> Result<u64, EngineError> {
        let millis = unix_millis();
        let payload = wal_record::encode(millis, &op);
        if payload.len() > MAX_RECORD_PAYLOAD {
            return Err(EngineError::invalid(
                "batch",
                format!(
                    "{} bytes exceed the limit of {MAX_RECORD_PAYLOAD} per write",
                    payload.len()
                ),
            ));
        }
        let lsn = self.storage(self.wal.append(&payload))?;
        let mut state = self.state.write();
        state.forget_superseded_through(self.wal.durable_lsn());
        state.timeline.record(millis, lsn);
        if let Err(err) = apply(&mut state, &self.schema, op, lsn, payload.len()) {
            // The record is in the log but not in memory: only a reopen can reconcile them.
            self.stop();
            return Err(err);
        }
        Ok(lsn)
    }
}
