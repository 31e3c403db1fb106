//! The one error type of the data-model layer.

use thiserror::Error;

use crate::NameKind;

/// A definition or a row that breaks a rule of the data model.
///
/// Every variant names what was wrong (the field, the row) and the rule, in words a user of a
/// Milvus client can act on.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidName { kind: NameKind, name: String, reason: &'static str },

    #[error("invalid schema{}: {rule}", field_suffix(.field))]
    Schema { field: Option<String>, rule: &'static str },

    #[error("unknown metric type {given:?}: expected L2, IP or COSINE")]
    UnknownMetric { given: String },

    #[error("field {field:?}: {rule}")]
    Field { field: String, rule: String },

    #[error("field {field:?}, row {row}: {rule}")]
    Row { field: String, row: usize, rule: String },

    #[error("row {row}: expected a JSON object, got {got}")]
    RowNotObject { row: usize, got: &'static str },

    #[error("field {field:?} is not in the collection schema")]
    UnknownField { field: String },

    #[error("batch has no rows")]
    EmptyBatch,

    #[error("column type mismatch: expected {expected}, got {got}")]
    ColumnMismatch { expected: &'static str, got: &'static str },

    #[error("row index out of range")]
    RowOutOfRange,
}

fn field_suffix(field: &Option<String>) -> String {
    match field {
        Some(field) => format!(" (field {field:?})"),
        None => String::new(),
    }
}
