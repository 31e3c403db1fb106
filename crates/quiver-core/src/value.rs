//! Single values: one cell of a row, and primary keys.

use std::fmt;

use crate::ArrayValue;

/// One cell of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float(f32),
    Double(f64),
    VarChar(String),
    /// Serialized JSON text, always valid and at most [`crate::MAX_JSON_BYTES`] long.
    Json(String),
    Array(ArrayValue),
    FloatVector(Vec<f32>),
}

/// A primary key value. Collections have Int64 or VarChar keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PkValue {
    Int64(i64),
    VarChar(String),
}

impl fmt::Display for PkValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PkValue::Int64(v) => write!(f, "{v}"),
            PkValue::VarChar(v) => write!(f, "{v:?}"),
        }
    }
}

impl From<PkValue> for Value {
    fn from(pk: PkValue) -> Value {
        match pk {
            PkValue::Int64(v) => Value::Int64(v),
            PkValue::VarChar(v) => Value::VarChar(v),
        }
    }
}
