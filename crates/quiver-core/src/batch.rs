//! Rows on their way in: an [`InsertBatch`] as a client sends it, and the [`RowBatch`] that
//! validation makes of it.

use std::collections::HashSet;

use crate::name::truncated;
use crate::{
    ArrayValue, Column, ColumnData, DataType, ElementType, Error, FieldSchema, MAX_JSON_BYTES,
    PkValue, Schema, Value,
};

/// Whether rows are inserted (a primary key must be new) or upserted (replace by primary key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    Insert,
    Upsert,
}

/// Columns keyed by field name, as a client sends them: gRPC `FieldData`, or JSON rows turned
/// into columns by [`crate::batch_from_json_rows`]. The dynamic field, when used, is a JSON
/// column named `$meta` holding one object per row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InsertBatch {
    pub columns: Vec<(String, Column)>,
}

/// A validated batch: one column per schema field, in schema order, every column `num_rows`
/// long, every value within its field's limits, defaults applied, no null where the schema
/// forbids it, and primary keys unique within the batch.
///
/// **Invariant:** after [`RowBatch::validate`] and, for auto-id inserts,
/// [`RowBatch::assign_auto_ids`], the batch can be stored without further checks.
#[derive(Clone, Debug, PartialEq)]
pub struct RowBatch {
    num_rows: usize,
    columns: Vec<Column>,
    needs_auto_ids: bool,
}

impl RowBatch {
    pub fn validate(
        schema: &Schema,
        batch: InsertBatch,
        kind: WriteKind,
    ) -> Result<RowBatch, Error> {
        let num_rows = batch.columns.first().map(|(_, c)| c.len()).unwrap_or(0);
        if num_rows == 0 {
            return Err(Error::EmptyBatch);
        }
        let mut given: Vec<Option<Column>> = vec![None; schema.fields().len()];
        for (name, column) in batch.columns {
            let Some(idx) = schema.field_index(&name) else {
                return Err(Error::UnknownField { field: truncated(&name) });
            };
            if given[idx].is_some() {
                return Err(field_err(&name, "given more than once"));
            }
            if column.len() != num_rows {
                return Err(field_err(
                    &name,
                    &format!("has {} rows but the batch has {num_rows}", column.len()),
                ));
            }
            if column.validity.as_ref().is_some_and(|v| v.len() != num_rows) {
                return Err(field_err(&name, "null mask length differs from the row count"));
            }
            given[idx] = Some(column);
        }
        let auto_id_insert = schema.auto_id() && kind == WriteKind::Insert;
        let mut columns = Vec::with_capacity(given.len());
        for (field, column) in schema.fields().iter().zip(given) {
            let column = match column {
                Some(_) if field.is_primary && auto_id_insert => {
                    return Err(field_err(
                        &field.name,
                        "auto_id is enabled: the primary key must not be given on insert",
                    ));
                }
                Some(column) => check_column(field, column, schema)?,
                None if field.is_primary && auto_id_insert => {
                    Column::new(ColumnData::placeholders(field.data_type, num_rows))
                }
                None => missing_column(field, num_rows)?,
            };
            columns.push(column);
        }
        let batch = RowBatch { num_rows, columns, needs_auto_ids: auto_id_insert };
        if !auto_id_insert {
            batch.check_unique_pks(schema)?;
        }
        Ok(batch)
    }

    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// Columns in schema order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn into_columns(self) -> Vec<Column> {
        self.columns
    }

    /// Rebuilds a batch from stored columns (the write-ahead log); the caller vouches that they
    /// were validated before they were stored.
    pub fn from_stored_columns(columns: Vec<Column>) -> Result<RowBatch, Error> {
        let num_rows = columns.first().map(Column::len).unwrap_or(0);
        if columns.iter().any(|c| c.len() != num_rows) {
            return Err(Error::RowOutOfRange);
        }
        Ok(RowBatch { num_rows, columns, needs_auto_ids: false })
    }

    /// True for an auto-id insert whose keys are not assigned yet.
    pub fn needs_auto_ids(&self) -> bool {
        self.needs_auto_ids
    }

    /// Gives the rows of an auto-id insert the keys `first..first + num_rows`; a VarChar
    /// primary key gets them in decimal, as Milvus does.
    pub fn assign_auto_ids(&mut self, schema: &Schema, first: i64) {
        let keys = &mut self.columns[schema.primary_index()].data;
        if let ColumnData::Int64(keys) = keys {
            for (offset, key) in keys.iter_mut().enumerate() {
                *key = first.saturating_add(offset as i64);
            }
        } else if let ColumnData::VarChar(keys) = keys {
            for (offset, key) in keys.iter_mut().enumerate() {
                *key = first.saturating_add(offset as i64).to_string();
            }
        }
        self.needs_auto_ids = false;
    }

    /// The primary key of every row, in row order.
    pub fn primary_keys(&self, schema: &Schema) -> Vec<PkValue> {
        let column = &self.columns[schema.primary_index()].data;
        (0..self.num_rows).filter_map(|row| column.pk(row)).collect()
    }

    fn check_unique_pks(&self, schema: &Schema) -> Result<(), Error> {
        let mut seen = HashSet::with_capacity(self.num_rows);
        for (row, pk) in self.primary_keys(schema).into_iter().enumerate() {
            if !seen.insert(pk) {
                return Err(Error::Row {
                    field: schema.primary_field().name.clone(),
                    row,
                    rule: "duplicate primary key in the batch".to_owned(),
                });
            }
        }
        Ok(())
    }
}

fn field_err(field: &str, rule: &str) -> Error {
    Error::Field { field: field.to_owned(), rule: rule.to_owned() }
}

fn row_err(field: &FieldSchema, row: usize, rule: impl Into<String>) -> Error {
    Error::Row { field: field.name.clone(), row, rule: rule.into() }
}

/// A field the client left out: nulls, the default, or an empty dynamic object.
fn missing_column(field: &FieldSchema, num_rows: usize) -> Result<Column, Error> {
    if field.is_dynamic {
        return Ok(Column::new(ColumnData::Json(vec!["{}".to_owned(); num_rows])));
    }
    if let Some(default) = &field.default_value {
        return Ok(Column::new(filled(field.data_type, default, num_rows)));
    }
    if field.nullable {
        return Ok(Column {
            data: filled(field.data_type, &Value::Null, num_rows),
            validity: Some(vec![false; num_rows]),
        });
    }
    Err(field_err(&field.name, "is missing and is neither nullable nor has a default value"))
}

/// A column of `num_rows` copies of `value`, or of the type's placeholder for `Value::Null`.
fn filled(data_type: DataType, value: &Value, num_rows: usize) -> ColumnData {
    match (data_type, value) {
        (DataType::Bool, Value::Bool(v)) => ColumnData::Bool(vec![*v; num_rows]),
        (DataType::Int8, Value::Int8(v)) => ColumnData::Int8(vec![*v; num_rows]),
        (DataType::Int16, Value::Int16(v)) => ColumnData::Int16(vec![*v; num_rows]),
        (DataType::Int32, Value::Int32(v)) => ColumnData::Int32(vec![*v; num_rows]),
        (DataType::Int64, Value::Int64(v)) => ColumnData::Int64(vec![*v; num_rows]),
        (DataType::Float, Value::Float(v)) => ColumnData::Float(vec![*v; num_rows]),
        (DataType::Double, Value::Double(v)) => ColumnData::Double(vec![*v; num_rows]),
        (DataType::VarChar { .. }, Value::VarChar(v)) => {
            ColumnData::VarChar(vec![v.clone(); num_rows])
        }
        (data_type, _) => ColumnData::placeholders(data_type, num_rows),
    }
}

/// Checks a given column against its field and applies defaults to its null rows.
fn check_column(field: &FieldSchema, mut column: Column, schema: &Schema) -> Result<Column, Error> {
    check_type_matches(field, &column.data)?;
    if let Some(validity) = column.validity.take() {
        if validity.iter().all(|valid| *valid) {
            // An all-valid mask carries no information.
        } else if let Some(default) = &field.default_value {
            apply_default(&mut column.data, &validity, default);
        } else if field.nullable {
            column.validity = Some(validity);
        } else {
            let row = validity.iter().position(|valid| !valid).unwrap_or(0);
            return Err(row_err(field, row, "null given for a field that is not nullable"));
        }
    }
    check_values(field, &column, schema)?;
    Ok(column)
}

fn check_type_matches(field: &FieldSchema, data: &ColumnData) -> Result<(), Error> {
    let matches = match (field.data_type, data) {
        (DataType::Bool, ColumnData::Bool(_))
        | (DataType::Int8, ColumnData::Int8(_))
        | (DataType::Int16, ColumnData::Int16(_))
        | (DataType::Int32, ColumnData::Int32(_))
        | (DataType::Int64, ColumnData::Int64(_))
        | (DataType::Float, ColumnData::Float(_))
        | (DataType::Double, ColumnData::Double(_))
        | (DataType::VarChar { .. }, ColumnData::VarChar(_))
        | (DataType::Json, ColumnData::Json(_))
        | (DataType::Array { .. }, ColumnData::Array(_)) => true,
        (DataType::FloatVector { dim }, ColumnData::FloatVector { dim: given, .. }) => {
            if *given != dim as usize {
                return Err(field_err(
                    &field.name,
                    &format!("vector dimension is {given} but the field's dim is {dim}"),
                ));
            }
            true
        }
        _ => false,
    };
    if !matches {
        return Err(field_err(
            &field.name,
            &format!("is {} but the data given is {}", field.data_type, data.type_name()),
        ));
    }
    Ok(())
}

fn apply_default(data: &mut ColumnData, validity: &[bool], default: &Value) {
    let nulls = validity.iter().enumerate().filter(|(_, valid)| !**valid).map(|(row, _)| row);
    for row in nulls {
        match (&mut *data, default) {
            (ColumnData::Bool(v), Value::Bool(d)) => v[row] = *d,
            (ColumnData::Int8(v), Value::Int8(d)) => v[row] = *d,
            (ColumnData::Int16(v), Value::Int16(d)) => v[row] = *d,
            (ColumnData::Int32(v), Value::Int32(d)) => v[row] = *d,
            (ColumnData::Int64(v), Value::Int64(d)) => v[row] = *d,
            (ColumnData::Float(v), Value::Float(d)) => v[row] = *d,
            (ColumnData::Double(v), Value::Double(d)) => v[row] = *d,
            (ColumnData::VarChar(v), Value::VarChar(d)) => v[row] = d.clone(),
            // Schema validation allows defaults only on the scalar types above.
            _ => {}
        }
    }
}

fn check_values(field: &FieldSchema, column: &Column, schema: &Schema) -> Result<(), Error> {
    let valid = |row: usize| !column.is_null(row);
    match (&column.data, field.data_type) {
        (ColumnData::VarChar(values), DataType::VarChar { max_length }) => {
            for (row, value) in values.iter().enumerate().filter(|(row, _)| valid(*row)) {
                if value.len() > max_length as usize {
                    return Err(row_err(
                        field,
                        row,
                        format!("string of {} bytes exceeds max_length {max_length}", value.len()),
                    ));
                }
            }
        }
        (ColumnData::Json(values), DataType::Json) => {
            for (row, value) in values.iter().enumerate().filter(|(row, _)| valid(*row)) {
                check_json(field, row, value, schema)?;
            }
        }
        (ColumnData::Array(values), DataType::Array { element, max_capacity }) => {
            for (row, value) in values.iter().enumerate().filter(|(row, _)| valid(*row)) {
                check_array(field, row, value, element, max_capacity)?;
            }
        }
        (ColumnData::FloatVector { data, dim }, DataType::FloatVector { .. }) => {
            if data.len() % dim != 0 {
                return Err(field_err(
                    &field.name,
                    &format!("vector data of {} floats is not a multiple of dim {dim}", data.len()),
                ));
            }
            if let Some(pos) = data.iter().position(|x| !x.is_finite()) {
                return Err(row_err(field, pos / dim, "vector holds NaN or infinity"));
            }
        }
        (ColumnData::Float(values), DataType::Float) => {
            if let Some(row) = values.iter().position(|x| !x.is_finite()) {
                return Err(row_err(field, row, "NaN or infinity is not a valid Float"));
            }
        }
        (ColumnData::Double(values), DataType::Double) => {
            if let Some(row) = values.iter().position(|x| !x.is_finite()) {
                return Err(row_err(field, row, "NaN or infinity is not a valid Double"));
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_json(field: &FieldSchema, row: usize, text: &str, schema: &Schema) -> Result<(), Error> {
    if text.len() > MAX_JSON_BYTES {
        return Err(row_err(
            field,
            row,
            format!("JSON of {} bytes exceeds the limit of {MAX_JSON_BYTES} bytes", text.len()),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| row_err(field, row, format!("invalid JSON: {e}")))?;
    if field.is_dynamic {
        let Some(object) = value.as_object() else {
            return Err(row_err(field, row, "the dynamic field must hold a JSON object"));
        };
        if let Some(key) = object.keys().find(|key| schema.field_index(key).is_some()) {
            return Err(row_err(
                field,
                row,
                format!("dynamic key {:?} shadows a field of the schema", truncated(key)),
            ));
        }
    }
    Ok(())
}

fn check_array(
    field: &FieldSchema,
    row: usize,
    value: &ArrayValue,
    element: ElementType,
    max_capacity: u32,
) -> Result<(), Error> {
    if value.len() > max_capacity as usize {
        return Err(row_err(
            field,
            row,
            format!("array of {} elements exceeds max_capacity {max_capacity}", value.len()),
        ));
    }
    let matches = match (element, value) {
        (ElementType::Bool, ArrayValue::Bool(_))
        | (ElementType::Int8, ArrayValue::Int8(_))
        | (ElementType::Int16, ArrayValue::Int16(_))
        | (ElementType::Int32, ArrayValue::Int32(_))
        | (ElementType::Int64, ArrayValue::Int64(_)) => true,
        (ElementType::Float, ArrayValue::Float(v)) => v.iter().all(|x| x.is_finite()),
        (ElementType::Double, ArrayValue::Double(v)) => v.iter().all(|x| x.is_finite()),
        (ElementType::VarChar { max_length }, ArrayValue::VarChar(v)) => {
            if v.iter().any(|s| s.len() > max_length as usize) {
                return Err(row_err(
                    field,
                    row,
                    format!("array element exceeds max_length {max_length}"),
                ));
            }
            true
        }
        _ => false,
    };
    if !matches {
        return Err(row_err(
            field,
            row,
            format!("array elements must be finite values of type {}", element.name()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
