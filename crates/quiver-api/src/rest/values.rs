//! JSON to wire values and back: insert rows into columns, result columns into rows, filter
//! parameters into template values, query vectors into a placeholder group.

use std::collections::HashMap;

use prost::Message;
use quiver_core::{ColumnData, DYNAMIC_FIELD_NAME, InsertBatch, Schema};
use serde_json::{Map, Value as Json};

use crate::convert::fields::{array_to_wire, wire_element, wire_type};
use crate::proto::common::{PlaceholderGroup, PlaceholderType, PlaceholderValue};
use crate::proto::schema::{
    self as wire, field_data, i_ds, scalar_field, template_array_value, template_value,
    vector_field,
};
use crate::rest::rest_code;
use crate::status::Failure;

/// A float as JSON in its shortest form (`0.1`, not `0.10000000149011612`), as Milvus's Go
/// server renders its float32 values; `null` for a value JSON cannot carry.
pub(crate) fn float_json(value: f32) -> Json {
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Json::Null, Json::Number)
}

fn double_json(value: f64) -> Json {
    serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number)
}

// ------------------------------------------------------------------------------------------
// Inbound
// ------------------------------------------------------------------------------------------

/// The rows of an insert or upsert as wire columns: converted by the same code as every JSON
/// row (`quiver_core::batch_from_json_rows`), validated later by the handler like gRPC columns.
pub(crate) fn insert_columns(
    schema: &Schema,
    rows: &[Json],
) -> Result<(Vec<wire::FieldData>, u32), Failure> {
    let batch = quiver_core::batch_from_json_rows(schema, rows).map_err(|err| {
        Failure::new(rest_code::BAD_INSERT_DATA, format!("invalid insert data: {err}"))
    })?;
    let num_rows =
        u32::try_from(rows.len()).map_err(|_| Failure::invalid("too many rows in one request"))?;
    Ok((batch_columns(schema, batch), num_rows))
}

fn batch_columns(schema: &Schema, batch: InsertBatch) -> Vec<wire::FieldData> {
    use scalar_field::Data as S;
    let mut out = Vec::with_capacity(batch.columns.len());
    for (name, column) in batch.columns {
        let Some(field) = schema.field(&name) else { continue };
        let scalars = |data: S| field_data::Field::Scalars(wire::ScalarField { data: Some(data) });
        let data = match column.data {
            ColumnData::Bool(v) => scalars(S::BoolData(wire::BoolArray { data: v })),
            ColumnData::Int8(v) => {
                scalars(S::IntData(wire::IntArray { data: v.into_iter().map(i32::from).collect() }))
            }
            ColumnData::Int16(v) => {
                scalars(S::IntData(wire::IntArray { data: v.into_iter().map(i32::from).collect() }))
            }
            ColumnData::Int32(v) => scalars(S::IntData(wire::IntArray { data: v })),
            ColumnData::Int64(v) => scalars(S::LongData(wire::LongArray { data: v })),
            ColumnData::Float(v) => scalars(S::FloatData(wire::FloatArray { data: v })),
            ColumnData::Double(v) => scalars(S::DoubleData(wire::DoubleArray { data: v })),
            ColumnData::VarChar(v) => scalars(S::StringData(wire::StringArray { data: v })),
            ColumnData::Json(v) => scalars(S::JsonData(wire::JsonArray {
                data: v.into_iter().map(String::into_bytes).collect(),
            })),
            ColumnData::Array(v) => {
                let element_type = match field.data_type {
                    quiver_core::DataType::Array { element, .. } => wire_element(element) as i32,
                    _ => 0,
                };
                scalars(S::ArrayData(wire::ArrayArray {
                    data: v.iter().map(array_to_wire).collect(),
                    element_type,
                }))
            }
            ColumnData::FloatVector { dim, data } => {
                field_data::Field::Vectors(wire::VectorField {
                    dim: dim as i64,
                    data: Some(vector_field::Data::FloatVector(wire::FloatArray { data })),
                })
            }
        };
        out.push(wire::FieldData {
            r#type: wire_type(field.data_type) as i32,
            field_name: name,
            field: Some(data),
            field_id: 0,
            is_dynamic: field.is_dynamic,
            valid_data: column.validity.unwrap_or_default(),
        });
    }
    out
}

/// Query vectors as the placeholder group of a search. Their number and lengths are checked
/// by the handler against the field.
pub(crate) fn placeholder_group(vectors: &[Vec<f32>]) -> Vec<u8> {
    let values = vectors.iter().map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect()).collect();
    PlaceholderGroup {
        placeholders: vec![PlaceholderValue {
            tag: "$0".to_owned(),
            r#type: PlaceholderType::FloatVector as i32,
            values,
            element_level: false,
        }],
    }
    .encode_to_vec()
}

/// `exprParams` as template values: booleans, integers, floats, strings, arrays of them
/// (arrays of one kind travel typed, others as JSON) and objects (as JSON).
pub(crate) fn template_values(
    params: Map<String, Json>,
) -> Result<HashMap<String, wire::TemplateValue>, Failure> {
    params
        .into_iter()
        .map(|(name, value)| {
            let converted = template_value(&name, value)?;
            Ok((name, converted))
        })
        .collect()
}

fn template_value(name: &str, value: Json) -> Result<wire::TemplateValue, Failure> {
    use template_value::Val;
    let val = match value {
        Json::Bool(b) => Val::BoolVal(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Val::Int64Val(i),
            None => Val::FloatVal(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Val::StringVal(s),
        Json::Array(items) => Val::ArrayVal(template_array(items)),
        Json::Object(_) => Val::BytesVal(value.to_string().into_bytes()),
        Json::Null => {
            return Err(Failure::new(
                rest_code::BAD_REQUEST,
                format!("exprParams.{}: null is not a value", super::shorten(name)),
            ));
        }
    };
    Ok(wire::TemplateValue { val: Some(val) })
}

fn template_array(items: Vec<Json>) -> wire::TemplateArrayValue {
    use template_array_value::Data;
    let data = if items.iter().all(Json::is_boolean) {
        Data::BoolData(wire::BoolArray { data: items.iter().filter_map(Json::as_bool).collect() })
    } else if items.iter().all(|v| v.as_i64().is_some()) {
        Data::LongData(wire::LongArray { data: items.iter().filter_map(Json::as_i64).collect() })
    } else if items.iter().all(Json::is_number) {
        Data::DoubleData(wire::DoubleArray {
            data: items.iter().filter_map(Json::as_f64).collect(),
        })
    } else if items.iter().all(Json::is_string) {
        Data::StringData(wire::StringArray {
            data: items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        })
    } else if items.iter().all(Json::is_array) {
        Data::ArrayData(wire::TemplateArrayValueArray {
            data: items
                .into_iter()
                .map(|v| match v {
                    Json::Array(inner) => template_array(inner),
                    _ => wire::TemplateArrayValue::default(),
                })
                .collect(),
        })
    } else {
        Data::JsonData(wire::JsonArray {
            data: items.iter().map(|v| v.to_string().into_bytes()).collect(),
        })
    };
    wire::TemplateArrayValue { data: Some(data) }
}

// ------------------------------------------------------------------------------------------
// Outbound
// ------------------------------------------------------------------------------------------

/// Primary keys as JSON values.
pub(crate) fn ids_json(ids: Option<&wire::IDs>) -> Vec<Json> {
    match ids.and_then(|ids| ids.id_field.as_ref()) {
        Some(i_ds::IdField::IntId(a)) => a.data.iter().map(|v| Json::from(*v)).collect(),
        Some(i_ds::IdField::StrId(a)) => a.data.iter().map(|v| Json::from(v.as_str())).collect(),
        None => Vec::new(),
    }
}

/// How many rows a column holds.
fn column_len(column: &wire::FieldData) -> usize {
    use scalar_field::Data as S;
    match &column.field {
        Some(field_data::Field::Scalars(s)) => match &s.data {
            Some(S::BoolData(a)) => a.data.len(),
            Some(S::IntData(a)) => a.data.len(),
            Some(S::LongData(a)) => a.data.len(),
            Some(S::FloatData(a)) => a.data.len(),
            Some(S::DoubleData(a)) => a.data.len(),
            Some(S::StringData(a)) => a.data.len(),
            Some(S::JsonData(a)) => a.data.len(),
            Some(S::ArrayData(a)) => a.data.len(),
            _ => 0,
        },
        Some(field_data::Field::Vectors(v)) => match &v.data {
            Some(vector_field::Data::FloatVector(a)) if v.dim > 0 => a.data.len() / v.dim as usize,
            _ => 0,
        },
        _ => 0,
    }
}

/// The rows of a query result: as many as its columns hold.
pub(crate) fn query_rows(columns: &[wire::FieldData]) -> Vec<Map<String, Json>> {
    let rows = columns.iter().map(column_len).max().unwrap_or(0);
    rows_from_columns(columns, rows)
}

/// `rows` row objects from result columns: each field by name, the dynamic field's keys
/// spread into the row as Milvus's REST API does, `null` for a null value.
pub(crate) fn rows_from_columns(
    columns: &[wire::FieldData],
    rows: usize,
) -> Vec<Map<String, Json>> {
    let mut out: Vec<Map<String, Json>> = (0..rows).map(|_| Map::new()).collect();
    for column in columns {
        let dynamic = column.is_dynamic || column.field_name == DYNAMIC_FIELD_NAME;
        for (row, object) in out.iter_mut().enumerate() {
            let valid = column.valid_data.get(row).copied().unwrap_or(true);
            let value = if valid { cell(column, row) } else { Json::Null };
            if dynamic {
                if let Json::Object(extra) = value {
                    for (key, value) in extra {
                        object.entry(key).or_insert(value);
                    }
                }
            } else {
                object.insert(column.field_name.clone(), value);
            }
        }
    }
    out
}

fn cell(column: &wire::FieldData, row: usize) -> Json {
    match &column.field {
        Some(field_data::Field::Scalars(s)) => match &s.data {
            Some(data) => scalar_cell(data, row),
            None => Json::Null,
        },
        Some(field_data::Field::Vectors(v)) => match &v.data {
            Some(vector_field::Data::FloatVector(a)) if v.dim > 0 => {
                let dim = v.dim as usize;
                a.data
                    .get(row * dim..(row + 1) * dim)
                    .map_or(Json::Null, |s| Json::Array(s.iter().map(|x| float_json(*x)).collect()))
            }
            _ => Json::Null,
        },
        _ => Json::Null,
    }
}

fn scalar_cell(data: &scalar_field::Data, row: usize) -> Json {
    use scalar_field::Data as S;
    let got = match data {
        S::BoolData(a) => a.data.get(row).map(|v| Json::from(*v)),
        S::IntData(a) => a.data.get(row).map(|v| Json::from(*v)),
        S::LongData(a) => a.data.get(row).map(|v| Json::from(*v)),
        S::FloatData(a) => a.data.get(row).map(|v| float_json(*v)),
        S::DoubleData(a) => a.data.get(row).map(|v| double_json(*v)),
        S::StringData(a) => a.data.get(row).map(|v| Json::from(v.as_str())),
        S::JsonData(a) => a.data.get(row).map(|bytes| {
            serde_json::from_slice(bytes)
                .unwrap_or_else(|_| Json::from(String::from_utf8_lossy(bytes).into_owned()))
        }),
        S::ArrayData(a) => a.data.get(row).map(|inner| match &inner.data {
            Some(inner) => {
                Json::Array((0..scalar_len(inner)).map(|i| scalar_cell(inner, i)).collect())
            }
            None => Json::Array(Vec::new()),
        }),
        _ => None,
    };
    got.unwrap_or(Json::Null)
}

fn scalar_len(data: &scalar_field::Data) -> usize {
    use scalar_field::Data as S;
    match data {
        S::BoolData(a) => a.data.len(),
        S::IntData(a) => a.data.len(),
        S::LongData(a) => a.data.len(),
        S::FloatData(a) => a.data.len(),
        S::DoubleData(a) => a.data.len(),
        S::StringData(a) => a.data.len(),
        _ => 0,
    }
}
