//! JSON rows (as MilvusClient and REST send them) turned into an [`InsertBatch`].
//!
//! pymilvus `MilvusClient.insert` and the REST API send one JSON object per row:
//! `[{"id": 1, "vector": [0.1, 0.2], "color": "red"}, ...]`. This module only converts
//! representations (JSON numbers into `Int8`, arrays into vectors, ...) and checks what a
//! conversion needs (integer ranges, vector length); the data-model rules that also apply to
//! columns sent over gRPC (lengths, capacities, nullability, defaults, auto-id) stay in
//! [`crate::RowBatch::validate`].

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::name::truncated;
use crate::{
    ArrayValue, Column, ColumnData, DYNAMIC_FIELD_NAME, DataType, ElementType, Error, FieldSchema,
    InsertBatch, Schema,
};

/// Turns JSON objects, one per row, into columns of the schema's types.
///
/// A schema field that no row mentions is left out, so that validation applies its default,
/// nulls or the auto-id rule. A field that some rows mention gets a column for every row, a
/// missing key or JSON `null` making that row null. Keys that are not schema fields go into
/// the dynamic `$meta` column (one JSON object per row) when the schema has one, and are an
/// error otherwise.
pub fn batch_from_json_rows(schema: &Schema, rows: &[Json]) -> Result<InsertBatch, Error> {
    if rows.is_empty() {
        return Err(Error::EmptyBatch);
    }
    let objects = rows
        .iter()
        .enumerate()
        .map(|(row, value)| value.as_object().ok_or(Error::RowNotObject { row, got: kind(value) }))
        .collect::<Result<Vec<_>, Error>>()?;

    let fields: HashMap<&str, usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| !field.is_dynamic)
        .map(|(idx, field)| (field.name.as_str(), idx))
        .collect();
    let mut present = vec![false; schema.fields().len()];
    for (row, object) in objects.iter().enumerate() {
        for key in object.keys() {
            match fields.get(key.as_str()) {
                Some(&idx) => present[idx] = true,
                None => check_extra_key(schema, row, key)?,
            }
        }
    }

    let mut builders: Vec<(&str, Cells)> = schema
        .fields()
        .iter()
        .zip(&present)
        .filter(|(_, present)| **present)
        .map(|(field, _)| (field.name.as_str(), Cells::new(field, rows.len())))
        .collect();
    for (row, object) in objects.iter().enumerate() {
        for (name, cells) in &mut builders {
            let pushed = match object.get(*name) {
                None | Some(Json::Null) => cells.push_null(),
                Some(value) => cells.push(value),
            };
            pushed.map_err(|rule| Error::Row { field: (*name).to_owned(), row, rule })?;
        }
    }
    let mut columns: Vec<(String, Column)> =
        builders.into_iter().map(|(name, cells)| (name.to_owned(), cells.finish())).collect();

    if schema.enable_dynamic_field() {
        let dynamic = objects
            .iter()
            .map(|object| {
                let extra: Map<String, Json> = object
                    .iter()
                    .filter(|(key, _)| !fields.contains_key(key.as_str()))
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect();
                Json::Object(extra).to_string()
            })
            .collect();
        columns.push((DYNAMIC_FIELD_NAME.to_owned(), Column::new(ColumnData::Json(dynamic))));
    }
    Ok(InsertBatch { columns })
}

/// A key of a row that is not a (non-dynamic) schema field.
fn check_extra_key(schema: &Schema, row: usize, key: &str) -> Result<(), Error> {
    if key == DYNAMIC_FIELD_NAME {
        return Err(Error::Row {
            field: DYNAMIC_FIELD_NAME.to_owned(),
            row,
            rule: "\"$meta\" is reserved for the dynamic field and cannot be a key of a row"
                .to_owned(),
        });
    }
    if !schema.enable_dynamic_field() {
        return Err(Error::UnknownField { field: truncated(key) });
    }
    Ok(())
}

/// The values of one field, built row by row, and which rows were null or missing.
struct Cells {
    values: Values,
    /// The field's nullability, needed only to refuse null vectors early (see `push_null`).
    nullable: bool,
    /// One entry per row pushed; `false` marks a null row.
    validity: Vec<bool>,
}

/// Typed storage, carrying the type parameters the conversions need.
enum Values {
    Bool(Vec<bool>),
    Int8(Vec<i8>),
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Float(Vec<f32>),
    Double(Vec<f64>),
    VarChar(Vec<String>),
    Json(Vec<String>),
    Array { element: ElementType, values: Vec<ArrayValue> },
    FloatVector { dim: usize, data: Vec<f32> },
}

impl Cells {
    fn new(field: &FieldSchema, rows: usize) -> Cells {
        let values = match field.data_type {
            DataType::Bool => Values::Bool(Vec::with_capacity(rows)),
            DataType::Int8 => Values::Int8(Vec::with_capacity(rows)),
            DataType::Int16 => Values::Int16(Vec::with_capacity(rows)),
            DataType::Int32 => Values::Int32(Vec::with_capacity(rows)),
            DataType::Int64 => Values::Int64(Vec::with_capacity(rows)),
            DataType::Float => Values::Float(Vec::with_capacity(rows)),
            DataType::Double => Values::Double(Vec::with_capacity(rows)),
            DataType::VarChar { .. } => Values::VarChar(Vec::with_capacity(rows)),
            DataType::Json => Values::Json(Vec::with_capacity(rows)),
            DataType::Array { element, .. } => {
                Values::Array { element, values: Vec::with_capacity(rows) }
            }
            DataType::FloatVector { dim } => {
                let dim = dim as usize;
                Values::FloatVector { dim, data: Vec::with_capacity(rows.saturating_mul(dim)) }
            }
        };
        Cells { values, nullable: field.nullable, validity: Vec::with_capacity(rows) }
    }

    /// Appends a null row: a placeholder value, masked out. Nullability is otherwise left to
    /// validation, except for vectors (see below).
    fn push_null(&mut self) -> Result<(), String> {
        match &mut self.values {
            Values::Bool(out) => out.push(false),
            Values::Int8(out) => out.push(0),
            Values::Int16(out) => out.push(0),
            Values::Int32(out) => out.push(0),
            Values::Int64(out) => out.push(0),
            Values::Float(out) => out.push(0.0),
            Values::Double(out) => out.push(0.0),
            Values::VarChar(out) => out.push(String::new()),
            Values::Json(out) => out.push("null".to_owned()),
            Values::Array { element, values } => values.push(ArrayValue::empty(*element)),
            Values::FloatVector { dim, data } => {
                // The placeholder is `dim` floats, up to 128 KiB for the 3 bytes of a `{},` row:
                // refuse a null vector before a batch of them can exhaust memory. Validation
                // would refuse it later anyway, as vector fields are never nullable.
                if !self.nullable {
                    return Err(
                        "every row needs a vector: vector fields are not nullable".to_owned()
                    );
                }
                data.extend(std::iter::repeat_n(0.0, *dim));
            }
        }
        self.validity.push(false);
        Ok(())
    }

    /// Appends a non-null row; the error is the rule the value breaks.
    fn push(&mut self, value: &Json) -> Result<(), String> {
        match &mut self.values {
            Values::Bool(out) => out.push(boolean(value)?),
            Values::Int8(out) => out.push(int(value, "Int8", i8::MIN, i8::MAX)?),
            Values::Int16(out) => out.push(int(value, "Int16", i16::MIN, i16::MAX)?),
            Values::Int32(out) => out.push(int(value, "Int32", i32::MIN, i32::MAX)?),
            Values::Int64(out) => out.push(int(value, "Int64", i64::MIN, i64::MAX)?),
            Values::Float(out) => out.push(float(value)?),
            Values::Double(out) => out.push(double(value)?),
            Values::VarChar(out) => out.push(string(value)?),
            Values::Json(out) => out.push(value.to_string()),
            Values::Array { element, values } => values.push(array(*element, value)?),
            Values::FloatVector { dim, data } => {
                let items = value
                    .as_array()
                    .ok_or_else(|| expected(&format!("a vector of {dim} numbers"), value))?;
                if items.len() != *dim {
                    return Err(format!(
                        "expected a vector of {dim} numbers, got {} numbers",
                        items.len()
                    ));
                }
                for (idx, item) in items.iter().enumerate() {
                    data.push(float(item).map_err(|rule| format!("vector element {idx}: {rule}"))?);
                }
            }
        }
        self.validity.push(true);
        Ok(())
    }

    fn finish(self) -> Column {
        let data = match self.values {
            Values::Bool(v) => ColumnData::Bool(v),
            Values::Int8(v) => ColumnData::Int8(v),
            Values::Int16(v) => ColumnData::Int16(v),
            Values::Int32(v) => ColumnData::Int32(v),
            Values::Int64(v) => ColumnData::Int64(v),
            Values::Float(v) => ColumnData::Float(v),
            Values::Double(v) => ColumnData::Double(v),
            Values::VarChar(v) => ColumnData::VarChar(v),
            Values::Json(v) => ColumnData::Json(v),
            Values::Array { values, .. } => ColumnData::Array(values),
            Values::FloatVector { dim, data } => ColumnData::FloatVector { dim, data },
        };
        let has_null = self.validity.iter().any(|valid| !valid);
        Column { data, validity: has_null.then_some(self.validity) }
    }
}

fn array(element: ElementType, value: &Json) -> Result<ArrayValue, String> {
    fn each<T>(
        items: &[Json],
        convert: impl Fn(&Json) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        items
            .iter()
            .enumerate()
            .map(|(idx, item)| convert(item).map_err(|rule| format!("array element {idx}: {rule}")))
            .collect()
    }
    let items = value.as_array().ok_or_else(|| expected("an array", value))?;
    Ok(match element {
        ElementType::Bool => ArrayValue::Bool(each(items, boolean)?),
        ElementType::Int8 => ArrayValue::Int8(each(items, |x| int(x, "Int8", i8::MIN, i8::MAX))?),
        ElementType::Int16 => {
            ArrayValue::Int16(each(items, |x| int(x, "Int16", i16::MIN, i16::MAX))?)
        }
        ElementType::Int32 => {
            ArrayValue::Int32(each(items, |x| int(x, "Int32", i32::MIN, i32::MAX))?)
        }
        ElementType::Int64 => {
            ArrayValue::Int64(each(items, |x| int(x, "Int64", i64::MIN, i64::MAX))?)
        }
        ElementType::Float => ArrayValue::Float(each(items, float)?),
        ElementType::Double => ArrayValue::Double(each(items, double)?),
        ElementType::VarChar { .. } => ArrayValue::VarChar(each(items, string)?),
    })
}

fn boolean(value: &Json) -> Result<bool, String> {
    value.as_bool().ok_or_else(|| expected("a boolean", value))
}

/// A JSON integer that fits `T`, whose range is `min..=max`. Floats, even integral ones such
/// as `1.0`, are rejected: Milvus does not truncate them either.
fn int<T: TryFrom<i64> + Into<i64>>(
    value: &Json,
    type_name: &str,
    min: T,
    max: T,
) -> Result<T, String> {
    let out_of_range = |shown: &dyn std::fmt::Display| {
        format!(
            "{shown} is out of range for {type_name} ({}..={})",
            Into::<i64>::into(min),
            Into::<i64>::into(max)
        )
    };
    let Some(number) = value.as_number() else {
        return Err(expected("an integer", value));
    };
    if let Some(int) = number.as_i64() {
        // The numbers shown are at most 20 digits, so the message stays bounded.
        return T::try_from(int).map_err(|_| out_of_range(&int));
    }
    if let Some(big) = number.as_u64() {
        return Err(out_of_range(&big));
    }
    Err(format!("expected an integer for {type_name}, got a number with a fraction or exponent"))
}

/// A JSON number as an `f32`; integers are accepted, magnitudes beyond `f32::MAX` are not.
fn float(value: &Json) -> Result<f32, String> {
    let wide = double(value)?;
    let narrow = wide as f32;
    if !narrow.is_finite() {
        return Err("number is out of range for Float".to_owned());
    }
    Ok(narrow)
}

fn double(value: &Json) -> Result<f64, String> {
    value.as_f64().ok_or_else(|| expected("a number", value))
}

fn string(value: &Json) -> Result<String, String> {
    value.as_str().map(str::to_owned).ok_or_else(|| expected("a string", value))
}

/// Says what kind of JSON value was given instead, never echoing the value itself.
fn expected(what: &str, value: &Json) -> String {
    format!("expected {what}, got {}", kind(value))
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_f64() => "a float",
        Json::Number(_) => "an integer",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
