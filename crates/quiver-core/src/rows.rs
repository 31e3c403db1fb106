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
    data: ColumnData,
    data_type: DataType,
    /// The field's nullability, needed only to refuse null vectors early (see `push_null`).
    nullable: bool,
    /// One entry per row pushed; `false` marks a null row.
    validity: Vec<bool>,
}

impl Cells {
    fn new(field: &FieldSchema, rows: usize) -> Cells {
        Cells {
            data: ColumnData::placeholders(field.data_type, 0),
            data_type: field.data_type,
            nullable: field.nullable,
            validity: Vec::with_capacity(rows),
        }
    }

    /// Appends a null row: a placeholder value, masked out. Nullability is otherwise left to
    /// validation, except for vectors (see below).
    fn push_null(&mut self) -> Result<(), String> {
        if self.data_type.is_vector() && !self.nullable {
            // The placeholder is `dim` floats, up to 128 KiB for the 3 bytes of a `{},` row:
            // refuse a null vector before a batch of them can exhaust memory. Validation would
            // refuse it later anyway, as vector fields are never nullable.
            return Err("every row needs a vector: vector fields are not nullable".to_owned());
        }
        let placeholder = ColumnData::placeholders(self.data_type, 1);
        self.data.extend_from(&placeholder, 0..1).map_err(|e| e.to_string())?;
        self.validity.push(false);
        Ok(())
    }

    /// Appends a non-null row; the error is the rule the value breaks.
    fn push(&mut self, value: &Json) -> Result<(), String> {
        match (&mut self.data, self.data_type) {
            (ColumnData::Bool(out), _) => out.push(boolean(value)?),
            (ColumnData::Int8(out), _) => out.push(int(value, "Int8", i8::MIN, i8::MAX)?),
            (ColumnData::Int16(out), _) => out.push(int(value, "Int16", i16::MIN, i16::MAX)?),
            (ColumnData::Int32(out), _) => out.push(int(value, "Int32", i32::MIN, i32::MAX)?),
            (ColumnData::Int64(out), _) => out.push(int(value, "Int64", i64::MIN, i64::MAX)?),
            (ColumnData::Float(out), _) => out.push(float(value)?),
            (ColumnData::Double(out), _) => out.push(double(value)?),
            (ColumnData::VarChar(out), _) => out.push(string(value)?),
            (ColumnData::Json(out), _) => out.push(value.to_string()),
            (ColumnData::Array(out), DataType::Array { element, .. }) => {
                out.push(array(element, value)?);
            }
            (ColumnData::FloatVector { dim, data }, _) => {
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
            // `data` was made from `data_type` in `new`, so an Array column has an Array type.
            (ColumnData::Array(_), _) => return Err("array field without element type".to_owned()),
        }
        self.validity.push(true);
        Ok(())
    }

    fn finish(self) -> Column {
        let has_null = self.validity.iter().any(|valid| !valid);
        Column { data: self.data, validity: has_null.then_some(self.validity) }
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
