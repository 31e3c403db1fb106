//! Segments: the rows of one partition, growing in memory until sealed into an immutable,
//! versioned, checksummed file (`collections/<id>/segments/<segment id>.qvs`).
//!
//! A segment file is a block file: block 0 is a header (segment id, partition id, row count),
//! block 1 the insert LSN of every row, then one block per schema field. Deletions are not in
//! the file (it never changes); they live in the manifest and in the write-ahead log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use quiver_core::{Column, ColumnData, RowBatch, Schema};
use quiver_storage::codec::{Decoder, Encoder};
use quiver_storage::{BlockFile, BlockFileWriter};

use crate::EngineError;
use crate::column_codec::{decode_column, encode_column};
use crate::index::BuiltIndex;

const KIND: [u8; 8] = *b"QVSEGMNT";
const VERSION: u32 = 1;

/// Delete LSN of a live row.
pub(crate) const LIVE: u64 = u64::MAX;

#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) id: u64,
    pub(crate) partition: i64,
    /// One column per schema field, in schema order. Shared, so that index builds and file
    /// writes read a sealed segment without holding the collection's lock; a growing segment
    /// is appended to in place (its `Arc` is not shared while it grows).
    pub(crate) columns: Arc<Vec<Column>>,
    /// The LSN of the record that inserted each row.
    pub(crate) lsns: Vec<u64>,
    /// The LSN of the record that deleted each row, or [`LIVE`].
    pub(crate) deletes: Vec<u64>,
    /// How many entries of `deletes` are not [`LIVE`], so that a search knows without a scan
    /// whether it must check rows one by one.
    pub(crate) deleted: usize,
    pub(crate) sealed: bool,
    /// When the first row arrived (growing segments are sealed by age).
    pub(crate) created: Instant,
    /// Approximate bytes of row data (growing segments are sealed by size).
    pub(crate) bytes: usize,
    /// Built indexes (vector and scalar) by field position (sealed segments only).
    pub(crate) indexes: HashMap<usize, Arc<BuiltIndex>>,
}

impl Segment {
    pub(crate) fn new_growing(id: u64, partition: i64, schema: &Schema) -> Segment {
        let columns = Arc::new(
            schema
                .fields()
                .iter()
                .map(|f| Column::new(ColumnData::placeholders(f.data_type, 0)))
                .collect(),
        );
        Segment {
            id,
            partition,
            columns,
            lsns: Vec::new(),
            deletes: Vec::new(),
            deleted: 0,
            sealed: false,
            created: Instant::now(),
            bytes: 0,
            indexes: HashMap::new(),
        }
    }

    /// The scalar index of the field at `position`, if built.
    pub(crate) fn scalar_index(&self, position: usize) -> Option<&quiver_expr::ScalarIndex> {
        self.indexes.get(&position).and_then(|index| index.as_scalar())
    }

    pub(crate) fn num_rows(&self) -> usize {
        self.lsns.len()
    }

    /// Marks a row deleted by the record at `lsn`; false when it already was (or is no row).
    pub(crate) fn mark_deleted(&mut self, row: usize, lsn: u64) -> bool {
        match self.deletes.get_mut(row) {
            Some(slot) if *slot == LIVE => {
                *slot = lsn;
                self.deleted += 1;
                true
            }
            Some(_) | None => false,
        }
    }

    /// True when the row exists and is not deleted as of `visible_lsn`.
    pub(crate) fn is_visible(&self, row: usize, visible_lsn: u64) -> bool {
        self.lsns.get(row).is_some_and(|lsn| *lsn <= visible_lsn)
            && self.deletes.get(row).is_some_and(|lsn| *lsn > visible_lsn)
    }

    pub(crate) fn append(
        &mut self,
        batch: &RowBatch,
        lsn: u64,
        bytes: usize,
    ) -> Result<(), EngineError> {
        if self.lsns.is_empty() {
            self.created = Instant::now();
        }
        for (mine, theirs) in Arc::make_mut(&mut self.columns).iter_mut().zip(batch.columns()) {
            mine.extend_from(theirs, 0..batch.num_rows())?;
        }
        self.lsns.extend(std::iter::repeat_n(lsn, batch.num_rows()));
        self.deletes.extend(std::iter::repeat_n(LIVE, batch.num_rows()));
        self.bytes += bytes;
        Ok(())
    }

    /// What the segment's file holds, detached from the collection's lock: the columns are
    /// shared, the LSNs copied.
    pub(crate) fn image(&self) -> SegmentImage {
        SegmentImage {
            id: self.id,
            partition: self.partition,
            columns: self.columns.clone(),
            lsns: self.lsns.clone(),
        }
    }

    /// Reads a sealed segment, checking it against what the manifest says of it.
    pub(crate) fn decode(
        path: &str,
        bytes: Vec<u8>,
        schema: &Schema,
        expect_id: u64,
        expect_partition: i64,
        expect_rows: u64,
    ) -> Result<Segment, EngineError> {
        let file = BlockFile::parse(path, bytes, KIND, VERSION)?;
        let block = |idx: usize| {
            file.block(idx).ok_or_else(|| EngineError::corrupt(path, 0, "missing block"))
        };
        let codec = |e: quiver_storage::codec::CodecError| {
            EngineError::corrupt(path, e.offset as u64, e.reason)
        };
        let mut header = Decoder::new(block(0)?);
        let id = header.get_u64().map_err(codec)?;
        let partition = header.get_i64().map_err(codec)?;
        let rows = header.get_u64().map_err(codec)?;
        let n_columns = header.get_u32().map_err(codec)? as usize;
        header.finish().map_err(codec)?;
        if id != expect_id || partition != expect_partition || rows != expect_rows {
            return Err(EngineError::corrupt(
                path,
                0,
                "segment header disagrees with the manifest",
            ));
        }
        if n_columns != schema.fields().len() || file.num_blocks() != n_columns + 2 {
            return Err(EngineError::corrupt(path, 0, "segment column count differs from schema"));
        }
        let mut lsn_dec = Decoder::new(block(1)?);
        let n_rows = usize::try_from(rows)
            .map_err(|_| EngineError::corrupt(path, 0, "row count too large"))?;
        if lsn_dec.remaining() != n_rows.saturating_mul(8) {
            return Err(EngineError::corrupt(path, 0, "LSN block length differs from row count"));
        }
        let lsns =
            (0..n_rows).map(|_| lsn_dec.get_u64()).collect::<Result<Vec<_>, _>>().map_err(codec)?;
        let mut columns = Vec::with_capacity(n_columns);
        for (idx, field) in schema.fields().iter().enumerate() {
            let mut dec = Decoder::new(block(idx + 2)?);
            let column = decode_column(&mut dec, field.data_type).map_err(codec)?;
            dec.finish().map_err(codec)?;
            if column.len() != n_rows {
                return Err(EngineError::corrupt(path, 0, "column length differs from row count"));
            }
            columns.push(column);
        }
        Ok(Segment {
            id,
            partition,
            columns: Arc::new(columns),
            lsns,
            deletes: vec![LIVE; n_rows],
            deleted: 0,
            sealed: true,
            created: Instant::now(),
            bytes: 0,
            indexes: HashMap::new(),
        })
    }
}

/// The contents of a segment file, ready to be encoded without holding any lock.
#[derive(Debug)]
pub(crate) struct SegmentImage {
    pub(crate) id: u64,
    partition: i64,
    columns: Arc<Vec<Column>>,
    lsns: Vec<u64>,
}

impl SegmentImage {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut writer = BlockFileWriter::new(KIND, VERSION);
        let mut header = Encoder::new();
        header.put_u64(self.id);
        header.put_i64(self.partition);
        header.put_u64(self.lsns.len() as u64);
        header.put_u32(self.columns.len() as u32);
        writer.add_block(&header.into_bytes());
        let mut lsns = Encoder::new();
        self.lsns.iter().for_each(|lsn| lsns.put_u64(*lsn));
        writer.add_block(&lsns.into_bytes());
        for column in self.columns.iter() {
            let mut enc = Encoder::new();
            encode_column(&mut enc, column);
            writer.add_block(&enc.into_bytes());
        }
        writer.finish()
    }
}
