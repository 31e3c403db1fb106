//! The vocabulary every Quiver layer shares: validated names, collection schemas, values,
//! columns of rows and the errors raised when user-supplied definitions or rows break a rule.
//!
//! Nothing here does I/O. Every constructor that takes user input validates it and returns a
//! typed [`Error`] naming the offending field and the rule, so the layers above can rely on
//! the invariants without re-checking them.

mod batch;
mod column;
mod error;
mod metric;
mod name;
mod rows;
mod schema;
mod value;

pub use batch::{InsertBatch, RowBatch, WriteKind};
pub use column::{ArrayValue, Column, ColumnData};
pub use error::Error;
pub use metric::Metric;
pub use name::{MAX_NAME_LEN, Name, NameKind, truncated};
pub use rows::batch_from_json_rows;
pub use schema::{
    DYNAMIC_FIELD_NAME, DataType, ElementType, FIRST_FIELD_ID, FieldId, FieldSchema, FieldSpec,
    MAX_ARRAY_CAPACITY, MAX_DIM, MAX_FIELDS, MAX_JSON_BYTES, MAX_VARCHAR_LENGTH, MAX_VECTOR_FIELDS,
    Schema, SchemaSpec,
};
pub use value::{PkValue, Value};
