//! Columns: the values of one field for many rows, the unit of storage and of transfer.

use crate::{DataType, ElementType, Error, PkValue, Value};

/// The values of one Array cell, typed by the field's element type.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayValue {
    Bool(Vec<bool>),
    Int8(Vec<i8>),
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Float(Vec<f32>),
    Double(Vec<f64>),
    VarChar(Vec<String>),
}

impl ArrayValue {
    /// An array without elements, typed by `element`.
    pub fn empty(element: ElementType) -> ArrayValue {
        match element {
            ElementType::Bool => ArrayValue::Bool(Vec::new()),
            ElementType::Int8 => ArrayValue::Int8(Vec::new()),
            ElementType::Int16 => ArrayValue::Int16(Vec::new()),
            ElementType::Int32 => ArrayValue::Int32(Vec::new()),
            ElementType::Int64 => ArrayValue::Int64(Vec::new()),
            ElementType::Float => ArrayValue::Float(Vec::new()),
            ElementType::Double => ArrayValue::Double(Vec::new()),
            ElementType::VarChar { .. } => ArrayValue::VarChar(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ArrayValue::Bool(v) => v.len(),
            ArrayValue::Int8(v) => v.len(),
            ArrayValue::Int16(v) => v.len(),
            ArrayValue::Int32(v) => v.len(),
            ArrayValue::Int64(v) => v.len(),
            ArrayValue::Float(v) => v.len(),
            ArrayValue::Double(v) => v.len(),
            ArrayValue::VarChar(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The values of one field for `len()` rows. A null row holds a placeholder (zero, empty).
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnData {
    Bool(Vec<bool>),
    Int8(Vec<i8>),
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Float(Vec<f32>),
    Double(Vec<f64>),
    VarChar(Vec<String>),
    /// Serialized JSON text per row.
    Json(Vec<String>),
    Array(Vec<ArrayValue>),
    /// Row-major vectors: row `i` is `data[i * dim..(i + 1) * dim]`.
    FloatVector {
        dim: usize,
        data: Vec<f32>,
    },
}

impl ColumnData {
    /// A column of `num_rows` placeholder values (zero, empty, JSON `null`) for a field of
    /// `data_type`: what null rows hold, and with `num_rows = 0` an empty column.
    pub fn placeholders(data_type: DataType, num_rows: usize) -> ColumnData {
        match data_type {
            DataType::Bool => ColumnData::Bool(vec![false; num_rows]),
            DataType::Int8 => ColumnData::Int8(vec![0; num_rows]),
            DataType::Int16 => ColumnData::Int16(vec![0; num_rows]),
            DataType::Int32 => ColumnData::Int32(vec![0; num_rows]),
            DataType::Int64 => ColumnData::Int64(vec![0; num_rows]),
            DataType::Float => ColumnData::Float(vec![0.0; num_rows]),
            DataType::Double => ColumnData::Double(vec![0.0; num_rows]),
            DataType::VarChar { .. } => ColumnData::VarChar(vec![String::new(); num_rows]),
            DataType::Json => ColumnData::Json(vec!["null".to_owned(); num_rows]),
            DataType::Array { element, .. } => {
                ColumnData::Array(vec![ArrayValue::empty(element); num_rows])
            }
            DataType::FloatVector { dim } => ColumnData::FloatVector {
                dim: dim as usize,
                data: vec![0.0; num_rows * dim as usize],
            },
        }
    }

    /// Number of rows. A vector column with `dim == 0` has no rows.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Bool(v) => v.len(),
            ColumnData::Int8(v) => v.len(),
            ColumnData::Int16(v) => v.len(),
            ColumnData::Int32(v) => v.len(),
            ColumnData::Int64(v) => v.len(),
            ColumnData::Float(v) => v.len(),
            ColumnData::Double(v) => v.len(),
            ColumnData::VarChar(v) => v.len(),
            ColumnData::Json(v) => v.len(),
            ColumnData::Array(v) => v.len(),
            ColumnData::FloatVector { dim, data } => data.len().checked_div(*dim).unwrap_or(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Milvus's name of the column's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ColumnData::Bool(_) => "Bool",
            ColumnData::Int8(_) => "Int8",
            ColumnData::Int16(_) => "Int16",
            ColumnData::Int32(_) => "Int32",
            ColumnData::Int64(_) => "Int64",
            ColumnData::Float(_) => "Float",
            ColumnData::Double(_) => "Double",
            ColumnData::VarChar(_) => "VarChar",
            ColumnData::Json(_) => "JSON",
            ColumnData::Array(_) => "Array",
            ColumnData::FloatVector { .. } => "FloatVector",
        }
    }

    /// An empty column of the same type (and dimension).
    pub fn empty_like(&self) -> ColumnData {
        match self {
            ColumnData::Bool(_) => ColumnData::Bool(Vec::new()),
            ColumnData::Int8(_) => ColumnData::Int8(Vec::new()),
            ColumnData::Int16(_) => ColumnData::Int16(Vec::new()),
            ColumnData::Int32(_) => ColumnData::Int32(Vec::new()),
            ColumnData::Int64(_) => ColumnData::Int64(Vec::new()),
            ColumnData::Float(_) => ColumnData::Float(Vec::new()),
            ColumnData::Double(_) => ColumnData::Double(Vec::new()),
            ColumnData::VarChar(_) => ColumnData::VarChar(Vec::new()),
            ColumnData::Json(_) => ColumnData::Json(Vec::new()),
            ColumnData::Array(_) => ColumnData::Array(Vec::new()),
            ColumnData::FloatVector { dim, .. } => {
                ColumnData::FloatVector { dim: *dim, data: Vec::new() }
            }
        }
    }

    /// The value of row `row`, or `None` past the end.
    pub fn value(&self, row: usize) -> Option<Value> {
        Some(match self {
            ColumnData::Bool(v) => Value::Bool(*v.get(row)?),
            ColumnData::Int8(v) => Value::Int8(*v.get(row)?),
            ColumnData::Int16(v) => Value::Int16(*v.get(row)?),
            ColumnData::Int32(v) => Value::Int32(*v.get(row)?),
            ColumnData::Int64(v) => Value::Int64(*v.get(row)?),
            ColumnData::Float(v) => Value::Float(*v.get(row)?),
            ColumnData::Double(v) => Value::Double(*v.get(row)?),
            ColumnData::VarChar(v) => Value::VarChar(v.get(row)?.clone()),
            ColumnData::Json(v) => Value::Json(v.get(row)?.clone()),
            ColumnData::Array(v) => Value::Array(v.get(row)?.clone()),
            ColumnData::FloatVector { dim, data } => {
                // A zero-dimensional column has no rows (see `len`), not endless empty ones.
                if *dim == 0 {
                    return None;
                }
                let start = row.checked_mul(*dim)?;
                Value::FloatVector(data.get(start..start.checked_add(*dim)?)?.to_vec())
            }
        })
    }

    /// The primary key of row `row`, when this is an Int64 or VarChar column.
    pub fn pk(&self, row: usize) -> Option<PkValue> {
        match self {
            ColumnData::Int64(v) => v.get(row).map(|v| PkValue::Int64(*v)),
            ColumnData::VarChar(v) => v.get(row).map(|v| PkValue::VarChar(v.clone())),
            ColumnData::Bool(_)
            | ColumnData::Int8(_)
            | ColumnData::Int16(_)
            | ColumnData::Int32(_)
            | ColumnData::Float(_)
            | ColumnData::Double(_)
            | ColumnData::Json(_)
            | ColumnData::Array(_)
            | ColumnData::FloatVector { .. } => None,
        }
    }

    /// Appends rows `rows` of `other`, which must have the same type (and dimension).
    pub fn extend_from(
        &mut self,
        other: &ColumnData,
        rows: std::ops::Range<usize>,
    ) -> Result<(), Error> {
        fn ext<T: Clone>(dst: &mut Vec<T>, src: &[T], rows: std::ops::Range<usize>) -> Option<()> {
            dst.extend_from_slice(src.get(rows)?);
            Some(())
        }
        let done = match (self, other) {
            (ColumnData::Bool(d), ColumnData::Bool(s)) => ext(d, s, rows),
            (ColumnData::Int8(d), ColumnData::Int8(s)) => ext(d, s, rows),
            (ColumnData::Int16(d), ColumnData::Int16(s)) => ext(d, s, rows),
            (ColumnData::Int32(d), ColumnData::Int32(s)) => ext(d, s, rows),
            (ColumnData::Int64(d), ColumnData::Int64(s)) => ext(d, s, rows),
            (ColumnData::Float(d), ColumnData::Float(s)) => ext(d, s, rows),
            (ColumnData::Double(d), ColumnData::Double(s)) => ext(d, s, rows),
            (ColumnData::VarChar(d), ColumnData::VarChar(s)) => ext(d, s, rows),
            (ColumnData::Json(d), ColumnData::Json(s)) => ext(d, s, rows),
            (ColumnData::Array(d), ColumnData::Array(s)) => ext(d, s, rows),
            (
                ColumnData::FloatVector { dim: dd, data: d },
                ColumnData::FloatVector { dim: sd, data: s },
            ) if dd == sd => {
                let dim = *dd;
                ext(d, s, rows.start * dim..rows.end * dim)
            }
            (dst, src) => {
                return Err(Error::ColumnMismatch {
                    expected: dst.type_name(),
                    got: src.type_name(),
                });
            }
        };
        done.ok_or(Error::RowOutOfRange)
    }
}

/// A column with its null mask.
///
/// **Invariant** (kept by the code that builds columns): when present, `validity` has one
/// entry per row and `false` marks a null row.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub data: ColumnData,
    pub validity: Option<Vec<bool>>,
}

impl Column {
    pub fn new(data: ColumnData) -> Column {
        Column { data, validity: None }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn is_null(&self, row: usize) -> bool {
        self.validity.as_ref().is_some_and(|v| !v.get(row).copied().unwrap_or(true))
    }

    /// The value of row `row` ([`Value::Null`] for a null row), or `None` past the end.
    pub fn value(&self, row: usize) -> Option<Value> {
        if self.is_null(row) {
            return (row < self.len()).then_some(Value::Null);
        }
        self.data.value(row)
    }

    /// Appends rows `rows` of `other`, null mask included.
    pub fn extend_from(
        &mut self,
        other: &Column,
        rows: std::ops::Range<usize>,
    ) -> Result<(), Error> {
        let before = self.len();
        self.data.extend_from(&other.data, rows.clone())?;
        match (&mut self.validity, &other.validity) {
            (None, None) => {}
            (Some(mine), None) => mine.extend(std::iter::repeat_n(true, rows.len())),
            (mine, Some(theirs)) => {
                let mine = mine.get_or_insert_with(|| vec![true; before]);
                mine.extend_from_slice(theirs.get(rows).ok_or(Error::RowOutOfRange)?);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
