//! Collection schemas: the user's [`SchemaSpec`] and the validated [`Schema`] built from it.

use std::collections::HashSet;
use std::fmt;

use crate::{Error, Name, NameKind, Value};

/// Longest VarChar Milvus accepts, in bytes.
pub const MAX_VARCHAR_LENGTH: u32 = 65_535;
/// Largest float-vector dimension Milvus accepts.
pub const MAX_DIM: u32 = 32_768;
/// Largest `max_capacity` of an Array field (Milvus's limit).
pub const MAX_ARRAY_CAPACITY: u32 = 4_096;
/// Most fields per collection, the hidden dynamic field excluded (Milvus `proxy.maxFieldNum`).
pub const MAX_FIELDS: usize = 64;
/// Most vector fields per collection (Milvus `proxy.maxVectorFieldNum` default).
pub const MAX_VECTOR_FIELDS: usize = 4;
/// Largest serialized JSON value accepted per row and field, in bytes.
pub const MAX_JSON_BYTES: usize = 65_536;
/// The hidden JSON field holding the keys of a row that the schema does not declare.
pub const DYNAMIC_FIELD_NAME: &str = "$meta";
/// Milvus numbers user fields from 100; ids below are reserved for system fields.
pub const FIRST_FIELD_ID: FieldId = FieldId(100);

/// Stable identifier of a field inside its collection; on-disk data refers to fields by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldId(pub i64);

/// Types an Array field may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Float,
    Double,
    VarChar { max_length: u32 },
}

/// The type of a field, with its type parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Float,
    Double,
    VarChar { max_length: u32 },
    Json,
    Array { element: ElementType, max_capacity: u32 },
    FloatVector { dim: u32 },
}

impl DataType {
    pub fn is_vector(self) -> bool {
        matches!(self, DataType::FloatVector { .. })
    }

    /// Milvus's name of the type, as used in messages.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Bool => "Bool",
            DataType::Int8 => "Int8",
            DataType::Int16 => "Int16",
            DataType::Int32 => "Int32",
            DataType::Int64 => "Int64",
            DataType::Float => "Float",
            DataType::Double => "Double",
            DataType::VarChar { .. } => "VarChar",
            DataType::Json => "JSON",
            DataType::Array { .. } => "Array",
            DataType::FloatVector { .. } => "FloatVector",
        }
    }
}

impl ElementType {
    pub fn name(self) -> &'static str {
        match self {
            ElementType::Bool => "Bool",
            ElementType::Int8 => "Int8",
            ElementType::Int16 => "Int16",
            ElementType::Int32 => "Int32",
            ElementType::Int64 => "Int64",
            ElementType::Float => "Float",
            ElementType::Double => "Double",
            ElementType::VarChar { .. } => "VarChar",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A field as the user declares it, before validation.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldSpec {
    pub name: String,
    pub data_type: DataType,
    pub is_primary: bool,
    pub auto_id: bool,
    pub nullable: bool,
    pub default_value: Option<Value>,
    pub description: String,
}

impl FieldSpec {
    /// A plain, non-nullable field without default.
    pub fn new(name: &str, data_type: DataType) -> FieldSpec {
        FieldSpec {
            name: name.to_owned(),
            data_type,
            is_primary: false,
            auto_id: false,
            nullable: false,
            default_value: None,
            description: String::new(),
        }
    }

    pub fn primary(name: &str, data_type: DataType) -> FieldSpec {
        FieldSpec { is_primary: true, ..FieldSpec::new(name, data_type) }
    }
}

/// A collection schema as the user declares it, before validation.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SchemaSpec {
    pub description: String,
    pub fields: Vec<FieldSpec>,
    pub enable_dynamic_field: bool,
}

/// A validated field.
///
/// **Invariant:** `name` is a valid [`Name`] (or `$meta` for the dynamic field), the type
/// parameters are in range, and `default_value` (if any) has the field's type and fits it.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldSchema {
    pub id: FieldId,
    pub name: String,
    pub data_type: DataType,
    pub is_primary: bool,
    pub auto_id: bool,
    pub nullable: bool,
    pub default_value: Option<Value>,
    pub description: String,
    /// True only for the hidden `$meta` field of a collection with a dynamic field.
    pub is_dynamic: bool,
}

/// A validated collection schema.
///
/// **Invariant:** exactly one primary field (Int64, or VarChar with `max_length`), unique field
/// names, between one and [`MAX_VECTOR_FIELDS`] vector fields, at most [`MAX_FIELDS`] fields,
/// and the `$meta` field present (and last) exactly when the dynamic field is enabled.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    description: String,
    fields: Vec<FieldSchema>,
    primary: usize,
    enable_dynamic_field: bool,
}

impl Schema {
    /// Validates a user's schema; field ids are assigned in declaration order from 100.
    pub fn new(spec: SchemaSpec) -> Result<Schema, Error> {
        if spec.fields.is_empty() {
            return Err(Error::Schema { field: None, rule: "a schema needs at least one field" });
        }
        if spec.fields.len() > MAX_FIELDS {
            return Err(Error::Schema { field: None, rule: "a schema has at most 64 fields" });
        }
        let mut seen = HashSet::new();
        let mut fields = Vec::with_capacity(spec.fields.len() + 1);
        let mut primary = None;
        let mut n_vectors = 0usize;
        for (idx, field) in spec.fields.into_iter().enumerate() {
            Name::new(NameKind::Field, &field.name)?;
            if !seen.insert(field.name.clone()) {
                return Err(schema_err(&field.name, "field names must be unique"));
            }
            check_type(&field.name, field.data_type)?;
            if field.is_primary {
                if primary.is_some() {
                    return Err(schema_err(&field.name, "a schema has exactly one primary key"));
                }
                check_primary(&field)?;
                primary = Some(idx);
            } else if field.auto_id {
                return Err(schema_err(&field.name, "auto_id is allowed only on the primary key"));
            }
            if field.data_type.is_vector() {
                n_vectors += 1;
                if field.nullable {
                    return Err(schema_err(&field.name, "vector fields cannot be nullable"));
                }
            }
            if let Some(default) = &field.default_value {
                check_default(&field.name, field.data_type, default)?;
            }
            let id = FieldId(FIRST_FIELD_ID.0 + idx as i64);
            fields.push(FieldSchema {
                id,
                name: field.name,
                data_type: field.data_type,
                is_primary: field.is_primary,
                auto_id: field.auto_id,
                nullable: field.nullable,
                default_value: field.default_value,
                description: field.description,
                is_dynamic: false,
            });
        }
        let Some(primary) = primary else {
            return Err(Error::Schema { field: None, rule: "a schema needs a primary key field" });
        };
        if n_vectors == 0 {
            return Err(Error::Schema { field: None, rule: "a schema needs a FloatVector field" });
        }
        if n_vectors > MAX_VECTOR_FIELDS {
            return Err(Error::Schema {
                field: None,
                rule: "a schema has at most 4 vector fields",
            });
        }
        if spec.enable_dynamic_field {
            let id = FieldId(FIRST_FIELD_ID.0 + fields.len() as i64);
            fields.push(FieldSchema {
                id,
                name: DYNAMIC_FIELD_NAME.to_owned(),
                data_type: DataType::Json,
                is_primary: false,
                auto_id: false,
                nullable: false,
                default_value: None,
                description: "dynamic field".to_owned(),
                is_dynamic: true,
            });
        }
        Ok(Schema {
            description: spec.description,
            fields,
            primary,
            enable_dynamic_field: spec.enable_dynamic_field,
        })
    }

    /// All fields in declaration order, the dynamic field (if any) last.
    pub fn fields(&self) -> &[FieldSchema] {
        &self.fields
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn primary_field(&self) -> &FieldSchema {
        &self.fields[self.primary]
    }

    pub fn primary_index(&self) -> usize {
        self.primary
    }

    pub fn enable_dynamic_field(&self) -> bool {
        self.enable_dynamic_field
    }

    pub fn auto_id(&self) -> bool {
        self.primary_field().auto_id
    }

    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Index of the dynamic `$meta` field, when enabled.
    pub fn dynamic_index(&self) -> Option<usize> {
        self.enable_dynamic_field.then(|| self.fields.len() - 1)
    }

    /// Indexes of the vector fields.
    pub fn vector_indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.fields.iter().enumerate().filter(|(_, f)| f.data_type.is_vector()).map(|(i, _)| i)
    }
}

fn schema_err(field: &str, rule: &'static str) -> Error {
    Error::Schema { field: Some(field.to_owned()), rule }
}

fn check_type(field: &str, data_type: DataType) -> Result<(), Error> {
    match data_type {
        DataType::VarChar { max_length } => check_max_length(field, max_length),
        DataType::Array { element, max_capacity } => {
            if max_capacity == 0 || max_capacity > MAX_ARRAY_CAPACITY {
                return Err(schema_err(field, "array max_capacity must be in 1..=4096"));
            }
            match element {
                ElementType::VarChar { max_length } => check_max_length(field, max_length),
                ElementType::Bool
                | ElementType::Int8
                | ElementType::Int16
                | ElementType::Int32
                | ElementType::Int64
                | ElementType::Float
                | ElementType::Double => Ok(()),
            }
        }
        DataType::FloatVector { dim } => {
            if dim == 0 || dim > MAX_DIM {
                return Err(schema_err(field, "vector dim must be in 1..=32768"));
            }
            Ok(())
        }
        DataType::Bool
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float
        | DataType::Double
        | DataType::Json => Ok(()),
    }
}

fn check_max_length(field: &str, max_length: u32) -> Result<(), Error> {
    if max_length == 0 || max_length > MAX_VARCHAR_LENGTH {
        return Err(schema_err(field, "varchar max_length must be in 1..=65535"));
    }
    Ok(())
}

fn check_primary(field: &FieldSpec) -> Result<(), Error> {
    if !matches!(field.data_type, DataType::Int64 | DataType::VarChar { .. }) {
        return Err(schema_err(&field.name, "the primary key must be Int64 or VarChar"));
    }
    if field.nullable {
        return Err(schema_err(&field.name, "the primary key cannot be nullable"));
    }
    if field.default_value.is_some() {
        return Err(schema_err(&field.name, "the primary key cannot have a default value"));
    }
    Ok(())
}

fn check_default(field: &str, data_type: DataType, default: &Value) -> Result<(), Error> {
    let fits = match (data_type, default) {
        (_, Value::Null) => false,
        (DataType::Bool, Value::Bool(_))
        | (DataType::Int8, Value::Int8(_))
        | (DataType::Int16, Value::Int16(_))
        | (DataType::Int32, Value::Int32(_))
        | (DataType::Int64, Value::Int64(_)) => true,
        (DataType::Float, Value::Float(v)) => {
            if !v.is_finite() {
                return Err(schema_err(field, "default value must be a finite number"));
            }
            true
        }
        (DataType::Double, Value::Double(v)) => {
            if !v.is_finite() {
                return Err(schema_err(field, "default value must be a finite number"));
            }
            true
        }
        (DataType::VarChar { max_length }, Value::VarChar(s)) => {
            if s.len() > max_length as usize {
                return Err(schema_err(field, "default value is longer than max_length"));
            }
            true
        }
        (DataType::Json | DataType::Array { .. } | DataType::FloatVector { .. }, _) => {
            return Err(schema_err(field, "JSON, Array and vector fields cannot have defaults"));
        }
        _ => false,
    };
    if !fits {
        return Err(schema_err(field, "default value must have the field's type"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
