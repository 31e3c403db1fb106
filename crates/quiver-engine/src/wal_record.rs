//! Payloads of the collection's write-ahead log records: one record per write call, so a
//! batch is atomic (after a crash its record is either wholly present or wholly absent).

use quiver_core::{Column, PkValue, RowBatch, Schema};
use quiver_storage::codec::{CodecError, Decoder, Encoder};

use crate::column_codec::{decode_column, decode_pk, encode_column, encode_pk};

const OP_INSERT: u8 = 1;
const OP_UPSERT: u8 = 2;
const OP_DELETE: u8 = 3;

/// One logged write.
#[derive(Debug)]
pub(crate) enum WalOp {
    /// New rows; their primary keys were checked to be new.
    Insert { partition: i64, batch: RowBatch },
    /// Rows replacing any live rows with the same primary keys, wherever they are.
    Upsert { partition: i64, batch: RowBatch },
    /// Tombstones for the live rows with these primary keys.
    Delete { pks: Vec<PkValue> },
}

pub(crate) fn encode(unix_millis: u64, op: &WalOp) -> Vec<u8> {
    let mut enc = Encoder::new();
    enc.put_u64(unix_millis);
    match op {
        WalOp::Insert { partition, batch } | WalOp::Upsert { partition, batch } => {
            enc.put_u8(if matches!(op, WalOp::Insert { .. }) { OP_INSERT } else { OP_UPSERT });
            enc.put_i64(*partition);
            enc.put_u32(batch.columns().len() as u32);
            for column in batch.columns() {
                encode_column(&mut enc, column);
            }
        }
        WalOp::Delete { pks } => {
            enc.put_u8(OP_DELETE);
            enc.put_len(pks.len());
            for pk in pks {
                encode_pk(&mut enc, pk);
            }
        }
    }
    enc.into_bytes()
}

/// Decodes a record. The wall-clock time in front of each record is skipped: it is written
/// for point-in-time restore, which maps a time to an LSN.
pub(crate) fn decode(bytes: &[u8], schema: &Schema) -> Result<WalOp, CodecError> {
    let mut dec = Decoder::new(bytes);
    let _unix_millis = dec.get_u64()?;
    let at = dec.position();
    let op = match dec.get_u8()? {
        tag @ (OP_INSERT | OP_UPSERT) => {
            let partition = dec.get_i64()?;
            let at = dec.position();
            let n_columns = dec.get_u32()? as usize;
            if n_columns != schema.fields().len() {
                return Err(CodecError { offset: at, reason: "column count differs from schema" });
            }
            let columns = schema
                .fields()
                .iter()
                .map(|field| decode_column(&mut dec, field.data_type))
                .collect::<Result<Vec<Column>, _>>()?;
            let batch = RowBatch::from_stored_columns(columns)
                .map_err(|_| CodecError { offset: at, reason: "columns of different lengths" })?;
            if tag == OP_INSERT {
                WalOp::Insert { partition, batch }
            } else {
                WalOp::Upsert { partition, batch }
            }
        }
        OP_DELETE => {
            // A key takes at least nine bytes, which bounds the count by what remains.
            let count = dec.get_len(dec.remaining() as u64 / 9)?;
            let pks = (0..count).map(|_| decode_pk(&mut dec)).collect::<Result<Vec<_>, _>>()?;
            WalOp::Delete { pks }
        }
        _ => return Err(CodecError { offset: at, reason: "unknown operation" }),
    };
    dec.finish()?;
    Ok(op)
}
