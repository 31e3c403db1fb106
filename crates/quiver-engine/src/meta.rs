//! The collection's schema file (`collections/<id>/schema.qvm`): written once at creation,
//! checksummed, and turned back into a validated [`Schema`] at open.

use quiver_core::{DataType, ElementType, FieldSpec, Schema, SchemaSpec};
use quiver_storage::codec::{CodecError, Decoder, Encoder};
use quiver_storage::{BlockFile, BlockFileWriter};

use crate::EngineError;
use crate::column_codec::{decode_value, encode_value};

const KIND: [u8; 8] = *b"QVSCHEMA";
const VERSION: u32 = 1;
const MAX_TEXT: u64 = 64 * 1024;

pub(crate) fn encode_schema(schema: &Schema) -> Vec<u8> {
    let mut enc = Encoder::new();
    enc.put_str(schema.description());
    enc.put_bool(schema.enable_dynamic_field());
    let user_fields: Vec<_> = schema.fields().iter().filter(|f| !f.is_dynamic).collect();
    enc.put_len(user_fields.len());
    for field in user_fields {
        enc.put_str(&field.name);
        enc.put_str(&field.description);
        encode_type(&mut enc, field.data_type);
        enc.put_bool(field.is_primary);
        enc.put_bool(field.auto_id);
        enc.put_bool(field.nullable);
        match &field.default_value {
            None => enc.put_bool(false),
            Some(value) => {
                enc.put_bool(true);
                encode_value(&mut enc, value);
            }
        }
    }
    let mut writer = BlockFileWriter::new(KIND, VERSION);
    writer.add_block(&enc.into_bytes());
    writer.finish()
}

pub(crate) fn decode_schema(path: &str, bytes: Vec<u8>) -> Result<Schema, EngineError> {
    let file = BlockFile::parse(path, bytes, KIND, VERSION)?;
    let block = file.block(0).ok_or_else(|| EngineError::corrupt(path, 0, "no schema block"))?;
    let spec = decode_spec(&mut Decoder::new(block))
        .map_err(|e| EngineError::corrupt(path, e.offset as u64, e.reason))?;
    Schema::new(spec).map_err(|e| EngineError::corrupt(path, 0, format!("stored schema: {e}")))
}

fn decode_spec(dec: &mut Decoder<'_>) -> Result<SchemaSpec, CodecError> {
    let description = dec.get_str(MAX_TEXT)?.to_owned();
    let enable_dynamic_field = dec.get_bool()?;
    let n_fields = dec.get_len(quiver_core::MAX_FIELDS as u64)?;
    let mut fields = Vec::with_capacity(n_fields);
    for _ in 0..n_fields {
        let name = dec.get_str(MAX_TEXT)?.to_owned();
        let description = dec.get_str(MAX_TEXT)?.to_owned();
        let data_type = decode_type(dec)?;
        let is_primary = dec.get_bool()?;
        let auto_id = dec.get_bool()?;
        let nullable = dec.get_bool()?;
        let default_value = if dec.get_bool()? { Some(decode_value(dec)?) } else { None };
        fields.push(FieldSpec {
            name,
            data_type,
            is_primary,
            auto_id,
            nullable,
            default_value,
            description,
        });
    }
    dec.finish()?;
    Ok(SchemaSpec { description, fields, enable_dynamic_field })
}

fn encode_type(enc: &mut Encoder, data_type: DataType) {
    match data_type {
        DataType::Bool => enc.put_u8(1),
        DataType::Int8 => enc.put_u8(2),
        DataType::Int16 => enc.put_u8(3),
        DataType::Int32 => enc.put_u8(4),
        DataType::Int64 => enc.put_u8(5),
        DataType::Float => enc.put_u8(6),
        DataType::Double => enc.put_u8(7),
        DataType::VarChar { max_length } => {
            enc.put_u8(8);
            enc.put_u32(max_length);
        }
        DataType::Json => enc.put_u8(9),
        DataType::Array { element, max_capacity } => {
            enc.put_u8(10);
            encode_element(enc, element);
            enc.put_u32(max_capacity);
        }
        DataType::FloatVector { dim } => {
            enc.put_u8(11);
            enc.put_u32(dim);
        }
    }
}

fn decode_type(dec: &mut Decoder<'_>) -> Result<DataType, CodecError> {
    let at = dec.position();
    Ok(match dec.get_u8()? {
        1 => DataType::Bool,
        2 => DataType::Int8,
        3 => DataType::Int16,
        4 => DataType::Int32,
        5 => DataType::Int64,
        6 => DataType::Float,
        7 => DataType::Double,
        8 => DataType::VarChar { max_length: dec.get_u32()? },
        9 => DataType::Json,
        10 => {
            let element = decode_element(dec)?;
            DataType::Array { element, max_capacity: dec.get_u32()? }
        }
        11 => DataType::FloatVector { dim: dec.get_u32()? },
        _ => return Err(CodecError { offset: at, reason: "unknown field type" }),
    })
}

fn encode_element(enc: &mut Encoder, element: ElementType) {
    match element {
        ElementType::Bool => enc.put_u8(1),
        ElementType::Int8 => enc.put_u8(2),
        ElementType::Int16 => enc.put_u8(3),
        ElementType::Int32 => enc.put_u8(4),
        ElementType::Int64 => enc.put_u8(5),
        ElementType::Float => enc.put_u8(6),
        ElementType::Double => enc.put_u8(7),
        ElementType::VarChar { max_length } => {
            enc.put_u8(8);
            enc.put_u32(max_length);
        }
    }
}

fn decode_element(dec: &mut Decoder<'_>) -> Result<ElementType, CodecError> {
    let at = dec.position();
    Ok(match dec.get_u8()? {
        1 => ElementType::Bool,
        2 => ElementType::Int8,
        3 => ElementType::Int16,
        4 => ElementType::Int32,
        5 => ElementType::Int64,
        6 => ElementType::Float,
        7 => ElementType::Double,
        8 => ElementType::VarChar { max_length: dec.get_u32()? },
        _ => return Err(CodecError { offset: at, reason: "unknown array element type" }),
    })
}
