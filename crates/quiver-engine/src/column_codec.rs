//! Binary encoding of columns and values, shared by WAL records, segment files and metadata.
//!
//! Every column starts with a type tag and a row count, then an optional null mask (one byte
//! per row), then the values. Decoding checks each length against the bytes that remain
//! before allocating, and checks the tag against the type the schema expects.

use quiver_core::{
    ArrayValue, Column, ColumnData, DataType, ElementType, MAX_ARRAY_CAPACITY, MAX_DIM,
    MAX_JSON_BYTES, MAX_VARCHAR_LENGTH, PkValue, Value,
};
use quiver_storage::codec::{CodecError, Decoder, Encoder};

const TAG_BOOL: u8 = 1;
const TAG_INT8: u8 = 2;
const TAG_INT16: u8 = 3;
const TAG_INT32: u8 = 4;
const TAG_INT64: u8 = 5;
const TAG_FLOAT: u8 = 6;
const TAG_DOUBLE: u8 = 7;
const TAG_VARCHAR: u8 = 8;
const TAG_JSON: u8 = 9;
const TAG_ARRAY: u8 = 10;
const TAG_FLOAT_VECTOR: u8 = 11;
const TAG_NULL: u8 = 12;

fn err(offset: usize, reason: &'static str) -> CodecError {
    CodecError { offset, reason }
}

pub(crate) fn encode_column(enc: &mut Encoder, column: &Column) {
    match &column.data {
        ColumnData::Bool(_) => enc.put_u8(TAG_BOOL),
        ColumnData::Int8(_) => enc.put_u8(TAG_INT8),
        ColumnData::Int16(_) => enc.put_u8(TAG_INT16),
        ColumnData::Int32(_) => enc.put_u8(TAG_INT32),
        ColumnData::Int64(_) => enc.put_u8(TAG_INT64),
        ColumnData::Float(_) => enc.put_u8(TAG_FLOAT),
        ColumnData::Double(_) => enc.put_u8(TAG_DOUBLE),
        ColumnData::VarChar(_) => enc.put_u8(TAG_VARCHAR),
        ColumnData::Json(_) => enc.put_u8(TAG_JSON),
        ColumnData::Array(_) => enc.put_u8(TAG_ARRAY),
        ColumnData::FloatVector { .. } => enc.put_u8(TAG_FLOAT_VECTOR),
    }
    enc.put_len(column.len());
    match &column.validity {
        None => enc.put_u8(0),
        Some(validity) => {
            enc.put_u8(1);
            for valid in validity {
                enc.put_bool(*valid);
            }
        }
    }
    match &column.data {
        ColumnData::Bool(v) => v.iter().for_each(|x| enc.put_bool(*x)),
        ColumnData::Int8(v) => v.iter().for_each(|x| enc.put_i8(*x)),
        ColumnData::Int16(v) => v.iter().for_each(|x| enc.put_i16(*x)),
        ColumnData::Int32(v) => v.iter().for_each(|x| enc.put_i32(*x)),
        ColumnData::Int64(v) => v.iter().for_each(|x| enc.put_i64(*x)),
        ColumnData::Float(v) => v.iter().for_each(|x| enc.put_f32(*x)),
        ColumnData::Double(v) => v.iter().for_each(|x| enc.put_f64(*x)),
        ColumnData::VarChar(v) | ColumnData::Json(v) => v.iter().for_each(|x| enc.put_str(x)),
        ColumnData::Array(v) => v.iter().for_each(|x| encode_array(enc, x)),
        ColumnData::FloatVector { dim, data } => {
            enc.put_u32(*dim as u32);
            data.iter().for_each(|x| enc.put_f32(*x));
        }
    }
}

fn encode_array(enc: &mut Encoder, value: &ArrayValue) {
    enc.put_len(value.len());
    match value {
        ArrayValue::Bool(v) => v.iter().for_each(|x| enc.put_bool(*x)),
        ArrayValue::Int8(v) => v.iter().for_each(|x| enc.put_i8(*x)),
        ArrayValue::Int16(v) => v.iter().for_each(|x| enc.put_i16(*x)),
        ArrayValue::Int32(v) => v.iter().for_each(|x| enc.put_i32(*x)),
        ArrayValue::Int64(v) => v.iter().for_each(|x| enc.put_i64(*x)),
        ArrayValue::Float(v) => v.iter().for_each(|x| enc.put_f32(*x)),
        ArrayValue::Double(v) => v.iter().for_each(|x| enc.put_f64(*x)),
        ArrayValue::VarChar(v) => v.iter().for_each(|x| enc.put_str(x)),
    }
}

/// Decodes a column that must have `data_type`.
pub(crate) fn decode_column(
    dec: &mut Decoder<'_>,
    data_type: DataType,
) -> Result<Column, CodecError> {
    let at = dec.position();
    let tag = dec.get_u8()?;
    let expected = match data_type {
        DataType::Bool => TAG_BOOL,
        DataType::Int8 => TAG_INT8,
        DataType::Int16 => TAG_INT16,
        DataType::Int32 => TAG_INT32,
        DataType::Int64 => TAG_INT64,
        DataType::Float => TAG_FLOAT,
        DataType::Double => TAG_DOUBLE,
        DataType::VarChar { .. } => TAG_VARCHAR,
        DataType::Json => TAG_JSON,
        DataType::Array { .. } => TAG_ARRAY,
        DataType::FloatVector { .. } => TAG_FLOAT_VECTOR,
    };
    if tag != expected {
        return Err(err(at, "column type differs from the schema"));
    }
    // Every row takes at least one byte, so the row count is bounded by what remains.
    let rows = dec.get_len(dec.remaining() as u64)?;
    let validity = match dec.get_u8()? {
        0 => None,
        1 => Some((0..rows).map(|_| dec.get_bool()).collect::<Result<Vec<_>, _>>()?),
        _ => return Err(err(dec.position(), "bad null-mask flag")),
    };
    let data = match data_type {
        DataType::Bool => ColumnData::Bool(repeat(rows, || dec.get_bool())?),
        DataType::Int8 => ColumnData::Int8(repeat(rows, || dec.get_i8())?),
        DataType::Int16 => ColumnData::Int16(repeat(rows, || dec.get_i16())?),
        DataType::Int32 => ColumnData::Int32(repeat(rows, || dec.get_i32())?),
        DataType::Int64 => ColumnData::Int64(repeat(rows, || dec.get_i64())?),
        DataType::Float => ColumnData::Float(repeat(rows, || dec.get_f32())?),
        DataType::Double => ColumnData::Double(repeat(rows, || dec.get_f64())?),
        DataType::VarChar { max_length } => {
            ColumnData::VarChar(repeat(rows, || get_string(dec, u64::from(max_length)))?)
        }
        DataType::Json => {
            ColumnData::Json(repeat(rows, || get_string(dec, MAX_JSON_BYTES as u64))?)
        }
        DataType::Array { element, .. } => {
            ColumnData::Array(repeat(rows, || decode_array(dec, element))?)
        }
        DataType::FloatVector { dim } => {
            let at = dec.position();
            let stored = dec.get_u32()?;
            if stored != dim || dim == 0 || dim > MAX_DIM {
                return Err(err(at, "vector dimension differs from the schema"));
            }
            let count =
                rows.checked_mul(dim as usize).ok_or_else(|| err(at, "vector column too large"))?;
            ColumnData::FloatVector { dim: dim as usize, data: dec.get_f32_vec(count)? }
        }
    };
    Ok(Column { data, validity })
}

fn repeat<T>(
    rows: usize,
    mut get: impl FnMut() -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    let mut out = Vec::with_capacity(rows);
    for _ in 0..rows {
        out.push(get()?);
    }
    Ok(out)
}

fn get_string(dec: &mut Decoder<'_>, max: u64) -> Result<String, CodecError> {
    Ok(dec.get_str(max)?.to_owned())
}

fn decode_array(dec: &mut Decoder<'_>, element: ElementType) -> Result<ArrayValue, CodecError> {
    let len = dec.get_len(u64::from(MAX_ARRAY_CAPACITY))?;
    Ok(match element {
        ElementType::Bool => ArrayValue::Bool(repeat(len, || dec.get_bool())?),
        ElementType::Int8 => ArrayValue::Int8(repeat(len, || dec.get_i8())?),
        ElementType::Int16 => ArrayValue::Int16(repeat(len, || dec.get_i16())?),
        ElementType::Int32 => ArrayValue::Int32(repeat(len, || dec.get_i32())?),
        ElementType::Int64 => ArrayValue::Int64(repeat(len, || dec.get_i64())?),
        ElementType::Float => ArrayValue::Float(repeat(len, || dec.get_f32())?),
        ElementType::Double => ArrayValue::Double(repeat(len, || dec.get_f64())?),
        ElementType::VarChar { max_length } => {
            ArrayValue::VarChar(repeat(len, || get_string(dec, u64::from(max_length)))?)
        }
    })
}

pub(crate) fn encode_pk(enc: &mut Encoder, pk: &PkValue) {
    match pk {
        PkValue::Int64(v) => {
            enc.put_u8(TAG_INT64);
            enc.put_i64(*v);
        }
        PkValue::VarChar(v) => {
            enc.put_u8(TAG_VARCHAR);
            enc.put_str(v);
        }
    }
}

pub(crate) fn decode_pk(dec: &mut Decoder<'_>) -> Result<PkValue, CodecError> {
    let at = dec.position();
    match dec.get_u8()? {
        TAG_INT64 => Ok(PkValue::Int64(dec.get_i64()?)),
        TAG_VARCHAR => Ok(PkValue::VarChar(get_string(dec, u64::from(MAX_VARCHAR_LENGTH))?)),
        _ => Err(err(at, "bad primary key tag")),
    }
}

/// Encodes a scalar value (used for default values in metadata).
pub(crate) fn encode_value(enc: &mut Encoder, value: &Value) {
    match value {
        Value::Null => enc.put_u8(TAG_NULL),
        Value::Bool(v) => {
            enc.put_u8(TAG_BOOL);
            enc.put_bool(*v);
        }
        Value::Int8(v) => {
            enc.put_u8(TAG_INT8);
            enc.put_i8(*v);
        }
        Value::Int16(v) => {
            enc.put_u8(TAG_INT16);
            enc.put_i16(*v);
        }
        Value::Int32(v) => {
            enc.put_u8(TAG_INT32);
            enc.put_i32(*v);
        }
        Value::Int64(v) => {
            enc.put_u8(TAG_INT64);
            enc.put_i64(*v);
        }
        Value::Float(v) => {
            enc.put_u8(TAG_FLOAT);
            enc.put_f32(*v);
        }
        Value::Double(v) => {
            enc.put_u8(TAG_DOUBLE);
            enc.put_f64(*v);
        }
        Value::VarChar(v) => {
            enc.put_u8(TAG_VARCHAR);
            enc.put_str(v);
        }
        Value::Json(v) => {
            enc.put_u8(TAG_JSON);
            enc.put_str(v);
        }
        // Schemas admit defaults only on scalar types; these never reach metadata.
        Value::Array(_) | Value::FloatVector(_) => enc.put_u8(TAG_NULL),
    }
}

pub(crate) fn decode_value(dec: &mut Decoder<'_>) -> Result<Value, CodecError> {
    let at = dec.position();
    Ok(match dec.get_u8()? {
        TAG_NULL => Value::Null,
        TAG_BOOL => Value::Bool(dec.get_bool()?),
        TAG_INT8 => Value::Int8(dec.get_i8()?),
        TAG_INT16 => Value::Int16(dec.get_i16()?),
        TAG_INT32 => Value::Int32(dec.get_i32()?),
        TAG_INT64 => Value::Int64(dec.get_i64()?),
        TAG_FLOAT => Value::Float(dec.get_f32()?),
        TAG_DOUBLE => Value::Double(dec.get_f64()?),
        TAG_VARCHAR => Value::VarChar(get_string(dec, u64::from(MAX_VARCHAR_LENGTH))?),
        TAG_JSON => Value::Json(get_string(dec, MAX_JSON_BYTES as u64)?),
        _ => return Err(err(at, "bad value tag")),
    })
}
