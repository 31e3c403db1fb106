//! Rows on the wire: Milvus's columnar `FieldData` into the engine's columns (Insert,
//! Upsert) and result rows back into `FieldData` (Query, Search), with the primary keys
//! (`IDs`) and the filter template values that travel beside them.
//!
//! Inbound, every column is checked against the schema and the request's `num_rows` before
//! the engine sees it: field names, wire types, lengths, vector dimensions and integer
//! ranges. Nullable columns arrive either in full (one value per row, placeholders at null
//! rows) or compressed (values of the valid rows only, as pymilvus sends them); both are
//! accepted. The engine then applies the data-model rules (nullability, defaults, limits,
//! finite floats, auto-id).
//!
//! Outbound, columns carry one value per row (placeholders at null rows) and `valid_data` for
//! nullable fields, as pymilvus reads them; the dynamic field travels as the JSON column
//! `$meta` with `is_dynamic`, cut down to the dynamic keys that were asked for by name.

use std::collections::{HashMap, HashSet};

use quiver_core::{
    ArrayValue, Column, ColumnData, DYNAMIC_FIELD_NAME, DataType, ElementType, FieldSchema,
    InsertBatch, MAX_FIELDS, Name, NameKind, PkValue, Schema, Value,
};
use quiver_engine::{MAX_ROWS_PER_WRITE, Row, TemplateValue};

use crate::proto::schema::{
    self as wire, field_data, i_ds, scalar_field, template_array_value, template_value,
    vector_field,
};
use crate::status::Failure;

/// Most names in a request's `output_fields` (a schema has at most 65 fields; the rest are
/// dynamic keys).
pub(crate) const MAX_OUTPUT_FIELDS: usize = 256;

/// The Milvus name of the row-count aggregate that Query accepts as an output field.
pub(crate) const COUNT_STAR: &str = "count(*)";

/// At most this much of a client-supplied name is echoed in a message.
const ECHO: usize = 64;

fn echo(text: &str) -> String {
    text.chars().take(ECHO).collect()
}

// ------------------------------------------------------------------------------------------
// Types
// ------------------------------------------------------------------------------------------

/// The wire type of a field.
pub(crate) fn wire_type(data_type: DataType) -> wire::DataType {
    match data_type {
        DataType::Bool => wire::DataType::Bool,
        DataType::Int8 => wire::DataType::Int8,
        DataType::Int16 => wire::DataType::Int16,
        DataType::Int32 => wire::DataType::Int32,
        DataType::Int64 => wire::DataType::Int64,
        DataType::Float => wire::DataType::Float,
        DataType::Double => wire::DataType::Double,
        DataType::VarChar { .. } => wire::DataType::VarChar,
        DataType::Json => wire::DataType::Json,
        DataType::Array { .. } => wire::DataType::Array,
        DataType::FloatVector { .. } => wire::DataType::FloatVector,
    }
}

pub(crate) fn wire_element(element: ElementType) -> wire::DataType {
    match element {
        ElementType::Bool => wire::DataType::Bool,
        ElementType::Int8 => wire::DataType::Int8,
        ElementType::Int16 => wire::DataType::Int16,
        ElementType::Int32 => wire::DataType::Int32,
        ElementType::Int64 => wire::DataType::Int64,
        ElementType::Float => wire::DataType::Float,
        ElementType::Double => wire::DataType::Double,
        ElementType::VarChar { .. } => wire::DataType::VarChar,
    }
}

/// Milvus's name of a wire type number, for messages.
fn wire_type_name(number: i32) -> String {
    match wire::DataType::try_from(number) {
        Ok(t) => t.as_str_name().to_owned(),
        Err(_) => format!("unknown type {number}"),
    }
}

// ------------------------------------------------------------------------------------------
// Inbound: FieldData -> InsertBatch
// ------------------------------------------------------------------------------------------

/// Turns the columns of an Insert or Upsert request into a batch for the engine.
pub(crate) fn insert_batch(
    schema: &Schema,
    fields_data: Vec<wire::FieldData>,
    num_rows: u32,
) -> Result<InsertBatch, Failure> {
    let num_rows = num_rows as usize;
    if num_rows == 0 {
        return Err(Failure::invalid("num_rows must be greater than 0"));
    }
    if num_rows > MAX_ROWS_PER_WRITE {
        return Err(Failure::invalid(format!(
            "num_rows {num_rows} exceeds the limit of {MAX_ROWS_PER_WRITE} rows per write"
        )));
    }
    if fields_data.is_empty() {
        return Err(Failure::invalid("the request carries no field data"));
    }
    if fields_data.len() > MAX_FIELDS + 1 {
        return Err(Failure::invalid(format!(
            "{} columns given; a collection has at most {} fields",
            fields_data.len(),
            MAX_FIELDS + 1
        )));
    }
    let mut seen = HashSet::new();
    let mut columns = Vec::with_capacity(fields_data.len());
    for data in fields_data {
        let field = column_field(schema, &data)?;
        if !seen.insert(field.name.clone()) {
            return Err(Failure::invalid(format!(
                "field {:?} is given more than once",
                field.name
            )));
        }
        let expected = wire_type(field.data_type);
        if data.r#type != expected as i32 {
            return Err(Failure::invalid(format!(
                "field {:?} is {} but its data is typed {}",
                field.name,
                expected.as_str_name(),
                wire_type_name(data.r#type)
            )));
        }
        let column = decode_column(field, data, num_rows)?;
        columns.push((field.name.clone(), column));
    }
    Ok(InsertBatch { columns })
}

/// The schema field a column is for: by name, or the dynamic field for an unnamed dynamic
/// column, or by id for an unnamed column.
fn column_field<'s>(
    schema: &'s Schema,
    data: &wire::FieldData,
) -> Result<&'s FieldSchema, Failure> {
    let field = if !data.field_name.is_empty() {
        schema.field(&data.field_name)
    } else if data.is_dynamic {
        schema.field(DYNAMIC_FIELD_NAME)
    } else {
        schema.fields().iter().find(|f| data.field_id != 0 && f.id.0 == data.field_id)
    };
    let Some(field) = field else {
        if data.is_dynamic || data.field_name == DYNAMIC_FIELD_NAME {
            return Err(Failure::invalid(
                "the collection has no dynamic field; enable_dynamic_field is false",
            ));
        }
        return Err(Failure::invalid(format!(
            "field {:?} does not exist in the collection",
            echo(&data.field_name)
        )));
    };
    if data.is_dynamic && !field.is_dynamic {
        return Err(Failure::invalid(format!(
            "field {:?} is marked dynamic but is a field of the schema",
            field.name
        )));
    }
    Ok(field)
}

/// The rows' validity and how many values a compressed column holds.
struct Validity {
    mask: Option<Vec<bool>>,
    valid: usize,
}

fn validity(
    field: &FieldSchema,
    valid_data: Vec<bool>,
    num_rows: usize,
) -> Result<Validity, Failure> {
    if valid_data.is_empty() {
        return Ok(Validity { mask: None, valid: num_rows });
    }
    if valid_data.len() != num_rows {
        return Err(Failure::invalid(format!(
            "field {:?} has {} valid_data entries but num_rows is {num_rows}",
            field.name,
            valid_data.len()
        )));
    }
    let valid = valid_data.iter().filter(|v| **v).count();
    Ok(Validity { mask: Some(valid_data), valid })
}

/// Spreads a column to one value per row: a full column is kept; a compressed one (values
/// of valid rows only) gets `placeholder` at its null rows.
fn spread<T: Clone>(
    field: &FieldSchema,
    values: Vec<T>,
    validity: &Validity,
    num_rows: usize,
    placeholder: T,
) -> Result<Vec<T>, Failure> {
    if values.len() == num_rows {
        return Ok(values);
    }
    match &validity.mask {
        Some(mask) if values.len() == validity.valid => {
            let mut out = Vec::with_capacity(num_rows);
            let mut given = values.into_iter();
            for valid in mask {
                let value = if *valid { given.next() } else { None };
                out.push(value.unwrap_or_else(|| placeholder.clone()));
            }
            Ok(out)
        }
        _ => Err(Failure::invalid(format!(
            "field {:?} has {} values but num_rows is {num_rows}",
            field.name,
            values.len()
        ))),
    }
}

fn narrow<T: TryFrom<i32>>(field: &FieldSchema, values: Vec<i32>) -> Result<Vec<T>, Failure> {
    values
        .into_iter()
        .enumerate()
        .map(|(row, v)| {
            T::try_from(v).map_err(|_| {
                Failure::invalid(format!(
                    "field {:?}, value {row}: {v} is out of range for {}",
                    field.name, field.data_type
                ))
            })
        })
        .collect()
}

fn mismatch(field: &FieldSchema, what: &str) -> Failure {
    Failure::invalid(format!(
        "field {:?} is {} but its data holds {what}",
        field.name, field.data_type
    ))
}

fn scalar_kind(data: &Option<scalar_field::Data>) -> &'static str {
    match data {
        None => "nothing",
        Some(scalar_field::Data::BoolData(_)) => "bool_data",
        Some(scalar_field::Data::IntData(_)) => "int_data",
        Some(scalar_field::Data::LongData(_)) => "long_data",
        Some(scalar_field::Data::FloatData(_)) => "float_data",
        Some(scalar_field::Data::DoubleData(_)) => "double_data",
        Some(scalar_field::Data::StringData(_)) => "string_data",
        Some(scalar_field::Data::BytesData(_)) => "bytes_data",
        Some(scalar_field::Data::ArrayData(_)) => "array_data",
        Some(scalar_field::Data::JsonData(_)) => "json_data",
        Some(_) => "an unsupported kind of data",
    }
}

fn decode_column(
    field: &FieldSchema,
    data: wire::FieldData,
    num_rows: usize,
) -> Result<Column, Failure> {
    let validity = validity(field, data.valid_data, num_rows)?;
    let column = match field.data_type {
        DataType::FloatVector { dim } => {
            decode_vectors(field, data.field, dim as usize, &validity, num_rows)?
        }
        _ => {
            let scalars = match data.field {
                None => None,
                Some(field_data::Field::Scalars(scalars)) => scalars.data,
                Some(_) => return Err(mismatch(field, "vector or struct data")),
            };
            decode_scalars(field, scalars, &validity, num_rows)?
        }
    };
    Ok(Column { data: column, validity: validity.mask })
}

fn decode_scalars(
    field: &FieldSchema,
    data: Option<scalar_field::Data>,
    validity: &Validity,
    num_rows: usize,
) -> Result<ColumnData, Failure> {
    use scalar_field::Data as S;
    // A column of nulls only may carry no data at all (pymilvus leaves the oneof unset).
    let data = match data {
        Some(data) => data,
        None if validity.valid == 0 => {
            return Ok(ColumnData::placeholders(field.data_type, num_rows));
        }
        None => return Err(mismatch(field, "no values")),
    };
    Ok(match (field.data_type, data) {
        (DataType::Bool, S::BoolData(a)) => {
            ColumnData::Bool(spread(field, a.data, validity, num_rows, false)?)
        }
        (DataType::Int8, S::IntData(a)) => {
            ColumnData::Int8(spread(field, narrow(field, a.data)?, validity, num_rows, 0)?)
        }
        (DataType::Int16, S::IntData(a)) => {
            ColumnData::Int16(spread(field, narrow(field, a.data)?, validity, num_rows, 0)?)
        }
        (DataType::Int32, S::IntData(a)) => {
            ColumnData::Int32(spread(field, a.data, validity, num_rows, 0)?)
        }
        (DataType::Int64, S::LongData(a)) => {
            ColumnData::Int64(spread(field, a.data, validity, num_rows, 0)?)
        }
        (DataType::Float, S::FloatData(a)) => {
            ColumnData::Float(spread(field, a.data, validity, num_rows, 0.0)?)
        }
        (DataType::Double, S::DoubleData(a)) => {
            ColumnData::Double(spread(field, a.data, validity, num_rows, 0.0)?)
        }
        (DataType::VarChar { .. }, S::StringData(a)) => {
            ColumnData::VarChar(spread(field, a.data, validity, num_rows, String::new())?)
        }
        (DataType::Json, S::JsonData(a)) => {
            let texts = a
                .data
                .into_iter()
                .enumerate()
                .map(|(row, bytes)| {
                    String::from_utf8(bytes).map_err(|_| {
                        Failure::invalid(format!(
                            "field {:?}, value {row}: JSON is not valid UTF-8",
                            field.name
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let placeholder = if field.is_dynamic { "{}" } else { "null" };
            ColumnData::Json(spread(field, texts, validity, num_rows, placeholder.to_owned())?)
        }
        (DataType::Array { element, .. }, S::ArrayData(a)) => {
            if a.element_type != 0 && a.element_type != wire_element(element) as i32 {
                return Err(Failure::invalid(format!(
                    "field {:?} holds {} elements but its data is typed {}",
                    field.name,
                    element.name(),
                    wire_type_name(a.element_type)
                )));
            }
            let cells = a
                .data
                .into_iter()
                .enumerate()
                .map(|(row, cell)| array_cell(field, element, row, cell.data))
                .collect::<Result<Vec<_>, _>>()?;
            ColumnData::Array(spread(field, cells, validity, num_rows, ArrayValue::empty(element))?)
        }
        (_, other) => return Err(mismatch(field, scalar_kind(&Some(other)))),
    })
}

fn array_cell(
    field: &FieldSchema,
    element: ElementType,
    row: usize,
    data: Option<scalar_field::Data>,
) -> Result<ArrayValue, Failure> {
    use scalar_field::Data as S;
    let Some(data) = data else { return Ok(ArrayValue::empty(element)) };
    Ok(match (element, data) {
        (ElementType::Bool, S::BoolData(a)) => ArrayValue::Bool(a.data),
        (ElementType::Int8, S::IntData(a)) => ArrayValue::Int8(narrow(field, a.data)?),
        (ElementType::Int16, S::IntData(a)) => ArrayValue::Int16(narrow(field, a.data)?),
        (ElementType::Int32, S::IntData(a)) => ArrayValue::Int32(a.data),
        (ElementType::Int64, S::LongData(a)) => ArrayValue::Int64(a.data),
        (ElementType::Float, S::FloatData(a)) => ArrayValue::Float(a.data),
        (ElementType::Double, S::DoubleData(a)) => ArrayValue::Double(a.data),
        (ElementType::VarChar { .. }, S::StringData(a)) => ArrayValue::VarChar(a.data),
        (_, other) => {
            return Err(Failure::invalid(format!(
                "field {:?}, value {row}: the array holds {} but its elements are {}",
                field.name,
                scalar_kind(&Some(other)),
                element.name()
            )));
        }
    })
}

fn decode_vectors(
    field: &FieldSchema,
    data: Option<field_data::Field>,
    dim: usize,
    validity: &Validity,
    num_rows: usize,
) -> Result<ColumnData, Failure> {
    // Vector fields are never nullable; refusing nulls here also keeps a small request from
    // expanding into `num_rows × dim` placeholder floats.
    if validity.valid != num_rows {
        return Err(Failure::invalid(format!(
            "field {:?} is a vector field and cannot hold nulls",
            field.name
        )));
    }
    let vectors = match data {
        Some(field_data::Field::Vectors(v)) => v,
        None => return Err(mismatch(field, "no vectors")),
        Some(_) => return Err(mismatch(field, "scalar or struct data")),
    };
    if vectors.dim != dim as i64 {
        return Err(Failure::invalid(format!(
            "the dim ({}) of field {:?} differs from the schema's dim ({dim})",
            vectors.dim, field.name
        )));
    }
    let floats = match vectors.data {
        Some(vector_field::Data::FloatVector(a)) => a.data,
        None => Vec::new(),
        Some(_) => return Err(mismatch(field, "a vector type other than FloatVector")),
    };
    if floats.len() % dim != 0 {
        return Err(Failure::invalid(format!(
            "field {:?} has {} floats, not a multiple of its dim {dim}",
            field.name,
            floats.len()
        )));
    }
    let rows = floats.len() / dim;
    if rows != num_rows {
        return Err(Failure::invalid(format!(
            "field {:?} has {rows} vectors but num_rows is {num_rows}",
            field.name
        )));
    }
    let data = floats;
    Ok(ColumnData::FloatVector { dim, data })
}

// ------------------------------------------------------------------------------------------
// Outbound: rows -> FieldData
// ------------------------------------------------------------------------------------------

/// The dynamic keys a read returns.
#[derive(Clone, Debug, PartialEq)]
enum DynamicKeys {
    /// The whole `$meta` object (`*` or `$meta` was asked for).
    All,
    /// Only these keys, asked for by name.
    Keys(Vec<String>),
}

/// Which fields a Query or Search returns, resolved once per request as Milvus does
/// (`translateOutputFields`): `*` is every field, the primary key and `$meta` included; a
/// name that is not a field is a key of the dynamic field when the collection has one.
#[derive(Clone, Debug)]
pub(crate) struct Outputs {
    /// Schema positions of the returned fields, in schema order; the dynamic field excluded.
    fields: Vec<usize>,
    dynamic: Option<DynamicKeys>,
    /// What the response lists as its `output_fields`.
    names: Vec<String>,
    /// Field names to ask the engine for (it always returns the primary key beside them).
    engine: Vec<String>,
}

impl Outputs {
    /// Resolves `requested`; `with_pk` adds the primary key (Query always returns it).
    pub(crate) fn resolve(
        schema: &Schema,
        requested: &[String],
        with_pk: bool,
    ) -> Result<Outputs, Failure> {
        if requested.len() > MAX_OUTPUT_FIELDS {
            return Err(Failure::invalid(format!(
                "{} output fields requested; at most {MAX_OUTPUT_FIELDS}",
                requested.len()
            )));
        }
        let mut wanted = vec![false; schema.fields().len()];
        if with_pk {
            wanted[schema.primary_index()] = true;
        }
        let dynamic_index = schema.dynamic_index();
        let mut all_dynamic = false;
        let mut keys: Vec<String> = Vec::new();
        for name in requested {
            let name = name.trim();
            if name == "*" {
                wanted.iter_mut().for_each(|w| *w = true);
                all_dynamic = dynamic_index.is_some();
                continue;
            }
            if let Some(index) = schema.field_index(name) {
                wanted[index] = true;
                if Some(index) == dynamic_index {
                    all_dynamic = true;
                }
                continue;
            }
            if name == COUNT_STAR {
                return Err(Failure::invalid(
                    "count(*) is allowed only as the single output field of a query",
                ));
            }
            if dynamic_index.is_some() && Name::new(NameKind::Field, name).is_ok() {
                if !keys.iter().any(|k| k == name) {
                    keys.push(name.to_owned());
                }
                continue;
            }
            return Err(Failure::invalid(format!(
                "output field {:?} does not exist in the collection",
                echo(name)
            )));
        }
        let mut fields = Vec::new();
        let mut names = Vec::new();
        for (index, field) in schema.fields().iter().enumerate() {
            if !wanted[index] || Some(index) == dynamic_index {
                continue;
            }
            fields.push(index);
            names.push(field.name.clone());
        }
        let dynamic = if all_dynamic {
            names.push(DYNAMIC_FIELD_NAME.to_owned());
            Some(DynamicKeys::All)
        } else if keys.is_empty() {
            None
        } else {
            names.extend(keys.iter().cloned());
            Some(DynamicKeys::Keys(keys))
        };
        let mut engine: Vec<String> = fields
            .iter()
            .filter(|index| **index != schema.primary_index())
            .map(|index| schema.fields()[*index].name.clone())
            .collect();
        if dynamic.is_some() {
            engine.push(DYNAMIC_FIELD_NAME.to_owned());
        }
        Ok(Outputs { fields, dynamic, names, engine })
    }

    /// A lower bound of the bytes one returned row takes (its key, fixed-size values and
    /// vectors), to refuse results that cannot fit a response before building them.
    pub(crate) fn min_row_bytes(&self, schema: &Schema) -> usize {
        let fields: usize = self
            .fields
            .iter()
            .map(|index| match schema.fields()[*index].data_type {
                DataType::FloatVector { dim } => dim as usize * 4,
                DataType::Bool | DataType::Int8 => 1,
                DataType::Int16 | DataType::Int32 | DataType::Float => 4,
                DataType::Int64 | DataType::Double => 8,
                DataType::VarChar { .. } | DataType::Json | DataType::Array { .. } => 2,
            })
            .sum();
        8 + fields + if self.dynamic.is_some() { 2 } else { 0 }
    }

    /// The names the response lists in `output_fields`.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// The fields to ask the engine for.
    pub(crate) fn engine_fields(&self) -> &[String] {
        &self.engine
    }

    /// The columns of `rows` (rows the engine returned for [`Outputs::engine_fields`]).
    pub(crate) fn columns(&self, schema: &Schema, rows: &[&Row]) -> Vec<wire::FieldData> {
        let mut columns = Vec::with_capacity(self.fields.len() + 1);
        for &index in &self.fields {
            let field = &schema.fields()[index];
            let column = if index == schema.primary_index() {
                let values: Vec<Value> =
                    rows.iter().map(|row| Value::from(row.pk.clone())).collect();
                build_column(field, values.iter().map(Some))
            } else {
                let position = self.engine.iter().position(|n| *n == field.name);
                build_column(field, rows.iter().map(|row| field_value(row, &field.name, position)))
            };
            columns.push(column);
        }
        if let (Some(dynamic), Some(index)) = (&self.dynamic, schema.dynamic_index()) {
            let field = &schema.fields()[index];
            let position = self.engine.iter().position(|n| n == DYNAMIC_FIELD_NAME);
            let data = rows
                .iter()
                .map(|row| match field_value(row, DYNAMIC_FIELD_NAME, position) {
                    Some(Value::Json(text)) => dynamic_object(text, dynamic).into_bytes(),
                    _ => b"{}".to_vec(),
                })
                .collect();
            columns.push(wire::FieldData {
                r#type: wire::DataType::Json as i32,
                field_name: DYNAMIC_FIELD_NAME.to_owned(),
                field_id: field.id.0,
                is_dynamic: true,
                valid_data: Vec::new(),
                field: Some(field_data::Field::Scalars(wire::ScalarField {
                    data: Some(scalar_field::Data::JsonData(wire::JsonArray { data })),
                })),
            });
        }
        columns
    }
}

/// The value of `name` in a row, looked up where the engine put it (its position in the
/// requested fields) and by name otherwise.
fn field_value<'r>(row: &'r Row, name: &str, position: Option<usize>) -> Option<&'r Value> {
    position
        .and_then(|p| row.fields.get(p))
        .filter(|(n, _)| n == name)
        .or_else(|| row.fields.iter().find(|(n, _)| n == name))
        .map(|(_, value)| value)
}

/// The dynamic object of a row, cut down to the keys asked for.
fn dynamic_object(text: &str, keys: &DynamicKeys) -> String {
    let DynamicKeys::Keys(keys) = keys else { return text.to_owned() };
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(text) else {
        return "{}".to_owned();
    };
    object.retain(|key, _| keys.iter().any(|k| k == key));
    serde_json::Value::Object(object).to_string()
}

/// One column of the wire: a value per row, placeholders at null rows, and `valid_data` for
/// a nullable field.
fn build_column<'v>(
    field: &FieldSchema,
    values: impl Iterator<Item = Option<&'v Value>>,
) -> wire::FieldData {
    use scalar_field::Data as S;
    let mut valid = Vec::new();
    let dim = match field.data_type {
        DataType::FloatVector { dim } => dim as usize,
        _ => 0,
    };
    let mut vectors: Vec<f32> = Vec::new();
    let mut bools = Vec::new();
    let mut ints = Vec::new();
    let mut longs = Vec::new();
    let mut floats = Vec::new();
    let mut doubles = Vec::new();
    let mut strings = Vec::new();
    let mut jsons = Vec::new();
    let mut arrays = Vec::new();
    for value in values {
        let value = value.unwrap_or(&Value::Null);
        let present = match (field.data_type, value) {
            (DataType::Bool, Value::Bool(v)) => {
                bools.push(*v);
                true
            }
            (DataType::Int8, Value::Int8(v)) => {
                ints.push(i32::from(*v));
                true
            }
            (DataType::Int16, Value::Int16(v)) => {
                ints.push(i32::from(*v));
                true
            }
            (DataType::Int32, Value::Int32(v)) => {
                ints.push(*v);
                true
            }
            (DataType::Int64, Value::Int64(v)) => {
                longs.push(*v);
                true
            }
            (DataType::Float, Value::Float(v)) => {
                floats.push(*v);
                true
            }
            (DataType::Double, Value::Double(v)) => {
                doubles.push(*v);
                true
            }
            (DataType::VarChar { .. }, Value::VarChar(v)) => {
                strings.push(v.clone());
                true
            }
            (DataType::Json, Value::Json(v)) => {
                jsons.push(v.clone().into_bytes());
                true
            }
            (DataType::Array { .. }, Value::Array(v)) => {
                arrays.push(array_to_wire(v));
                true
            }
            (DataType::FloatVector { .. }, Value::FloatVector(v)) if v.len() == dim => {
                vectors.extend_from_slice(v);
                true
            }
            // Null (or, never expected, a value of another type): a placeholder.
            (data_type, _) => {
                match data_type {
                    DataType::Bool => bools.push(false),
                    DataType::Int8 | DataType::Int16 | DataType::Int32 => ints.push(0),
                    DataType::Int64 => longs.push(0),
                    DataType::Float => floats.push(0.0),
                    DataType::Double => doubles.push(0.0),
                    DataType::VarChar { .. } => strings.push(String::new()),
                    DataType::Json => jsons.push(b"null".to_vec()),
                    DataType::Array { element, .. } => {
                        arrays.push(array_to_wire(&ArrayValue::empty(element)))
                    }
                    DataType::FloatVector { .. } => vectors.extend(std::iter::repeat_n(0.0, dim)),
                }
                false
            }
        };
        valid.push(present);
    }
    let scalars = |data: S| field_data::Field::Scalars(wire::ScalarField { data: Some(data) });
    let field_data = match field.data_type {
        DataType::FloatVector { .. } => field_data::Field::Vectors(wire::VectorField {
            dim: dim as i64,
            data: Some(vector_field::Data::FloatVector(wire::FloatArray { data: vectors })),
        }),
        DataType::Bool => scalars(S::BoolData(wire::BoolArray { data: bools })),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => {
            scalars(S::IntData(wire::IntArray { data: ints }))
        }
        DataType::Int64 => scalars(S::LongData(wire::LongArray { data: longs })),
        DataType::Float => scalars(S::FloatData(wire::FloatArray { data: floats })),
        DataType::Double => scalars(S::DoubleData(wire::DoubleArray { data: doubles })),
        DataType::VarChar { .. } => scalars(S::StringData(wire::StringArray { data: strings })),
        DataType::Json => scalars(S::JsonData(wire::JsonArray { data: jsons })),
        DataType::Array { element, .. } => scalars(S::ArrayData(wire::ArrayArray {
            data: arrays,
            element_type: wire_element(element) as i32,
        })),
    };
    wire::FieldData {
        r#type: wire_type(field.data_type) as i32,
        field_name: field.name.clone(),
        field_id: field.id.0,
        is_dynamic: false,
        valid_data: if field.nullable { valid } else { Vec::new() },
        field: Some(field_data),
    }
}

/// One array cell as its wire form (also what REST rows are translated into).
pub(crate) fn array_to_wire(value: &ArrayValue) -> wire::ScalarField {
    use scalar_field::Data as S;
    let data = match value {
        ArrayValue::Bool(v) => S::BoolData(wire::BoolArray { data: v.clone() }),
        ArrayValue::Int8(v) => {
            S::IntData(wire::IntArray { data: v.iter().map(|x| i32::from(*x)).collect() })
        }
        ArrayValue::Int16(v) => {
            S::IntData(wire::IntArray { data: v.iter().map(|x| i32::from(*x)).collect() })
        }
        ArrayValue::Int32(v) => S::IntData(wire::IntArray { data: v.clone() }),
        ArrayValue::Int64(v) => S::LongData(wire::LongArray { data: v.clone() }),
        ArrayValue::Float(v) => S::FloatData(wire::FloatArray { data: v.clone() }),
        ArrayValue::Double(v) => S::DoubleData(wire::DoubleArray { data: v.clone() }),
        ArrayValue::VarChar(v) => S::StringData(wire::StringArray { data: v.clone() }),
    };
    wire::ScalarField { data: Some(data) }
}

/// The single Int64 column Query answers `count(*)` with.
pub(crate) fn count_column(count: u64) -> wire::FieldData {
    wire::FieldData {
        r#type: wire::DataType::Int64 as i32,
        field_name: COUNT_STAR.to_owned(),
        field_id: 0,
        is_dynamic: false,
        valid_data: Vec::new(),
        field: Some(field_data::Field::Scalars(wire::ScalarField {
            data: Some(scalar_field::Data::LongData(wire::LongArray {
                data: vec![i64::try_from(count).unwrap_or(i64::MAX)],
            })),
        })),
    }
}

// ------------------------------------------------------------------------------------------
// Primary keys
// ------------------------------------------------------------------------------------------

/// Primary keys as Milvus's `IDs`, typed by the collection's primary key.
pub(crate) fn ids<'p>(schema: &Schema, pks: impl IntoIterator<Item = &'p PkValue>) -> wire::IDs {
    let id_field = match schema.primary_field().data_type {
        DataType::VarChar { .. } => i_ds::IdField::StrId(wire::StringArray {
            data: pks
                .into_iter()
                .map(|pk| match pk {
                    PkValue::VarChar(v) => v.clone(),
                    PkValue::Int64(v) => v.to_string(),
                })
                .collect(),
        }),
        _ => i_ds::IdField::IntId(wire::LongArray {
            data: pks
                .into_iter()
                .map(|pk| match pk {
                    PkValue::Int64(v) => *v,
                    PkValue::VarChar(_) => 0,
                })
                .collect(),
        }),
    };
    wire::IDs { id_field: Some(id_field) }
}

/// Primary keys sent as `IDs` (search by primary key), checked against the key's type.
pub(crate) fn pks_from_ids(schema: &Schema, ids: wire::IDs) -> Result<Vec<PkValue>, Failure> {
    let pk = schema.primary_field();
    match (pk.data_type, ids.id_field) {
        (DataType::Int64, Some(i_ds::IdField::IntId(a))) => {
            Ok(a.data.into_iter().map(PkValue::Int64).collect())
        }
        (DataType::VarChar { .. }, Some(i_ds::IdField::StrId(a))) => {
            Ok(a.data.into_iter().map(PkValue::VarChar).collect())
        }
        (_, None) => Err(Failure::invalid("ids are empty")),
        (data_type, Some(_)) => Err(Failure::invalid(format!(
            "the primary key {:?} is {data_type}; the ids given are of another type",
            pk.name
        ))),
    }
}

// ------------------------------------------------------------------------------------------
// Template values
// ------------------------------------------------------------------------------------------

/// Milvus's `expr_template_values` as the filter compiler's values. Sizes (count, list
/// lengths, string lengths) are bounded by the compiler's limits when it binds them.
pub(crate) fn template_values(
    values: HashMap<String, wire::TemplateValue>,
) -> Result<HashMap<String, TemplateValue>, Failure> {
    values
        .into_iter()
        .map(|(name, value)| {
            let converted = template_value(&name, value)?;
            Ok((name, converted))
        })
        .collect()
}

fn template_value(name: &str, value: wire::TemplateValue) -> Result<TemplateValue, Failure> {
    use template_value::Val;
    Ok(match value.val {
        Some(Val::BoolVal(v)) => TemplateValue::Bool(v),
        Some(Val::Int64Val(v)) => TemplateValue::Int64(v),
        Some(Val::FloatVal(v)) => TemplateValue::Float(v),
        Some(Val::StringVal(v)) => TemplateValue::String(v),
        Some(Val::ArrayVal(v)) => template_array(name, v)?,
        Some(Val::BytesVal(bytes)) => TemplateValue::Json(json(name, &bytes)?),
        None => {
            return Err(Failure::invalid(format!(
                "template value {:?} carries no value",
                echo(name)
            )));
        }
    })
}

fn template_array(name: &str, value: wire::TemplateArrayValue) -> Result<TemplateValue, Failure> {
    use template_array_value::Data;
    let items = match value.data {
        None => Vec::new(),
        Some(Data::BoolData(a)) => a.data.into_iter().map(TemplateValue::Bool).collect(),
        Some(Data::LongData(a)) => a.data.into_iter().map(TemplateValue::Int64).collect(),
        Some(Data::DoubleData(a)) => a.data.into_iter().map(TemplateValue::Float).collect(),
        Some(Data::StringData(a)) => a.data.into_iter().map(TemplateValue::String).collect(),
        Some(Data::ArrayData(a)) => {
            a.data.into_iter().map(|inner| template_array(name, inner)).collect::<Result<_, _>>()?
        }
        Some(Data::JsonData(a)) => a
            .data
            .iter()
            .map(|bytes| json(name, bytes).map(TemplateValue::Json))
            .collect::<Result<_, _>>()?,
    };
    Ok(TemplateValue::Array(items))
}

fn json(name: &str, bytes: &[u8]) -> Result<serde_json::Value, Failure> {
    serde_json::from_slice(bytes)
        .map_err(|_| Failure::invalid(format!("template value {:?} is not valid JSON", echo(name))))
}

#[cfg(test)]
mod tests {
    use quiver_core::{FieldSpec, SchemaSpec};

    use super::*;

    fn schema() -> Schema {
        let nullable =
            |name: &str, data_type| FieldSpec { nullable: true, ..FieldSpec::new(name, data_type) };
        Schema::new(SchemaSpec {
            description: String::new(),
            fields: vec![
                FieldSpec::primary("id", DataType::Int64),
                FieldSpec::new("small", DataType::Int8),
                nullable("age", DataType::Int32),
                nullable("tags", DataType::Array { element: ElementType::Int16, max_capacity: 4 }),
                FieldSpec::new("doc", DataType::Json),
                FieldSpec::new("vector", DataType::FloatVector { dim: 2 }),
            ],
            enable_dynamic_field: true,
        })
        .unwrap()
    }

    fn scalar(name: &str, data_type: wire::DataType, data: scalar_field::Data) -> wire::FieldData {
        wire::FieldData {
            r#type: data_type as i32,
            field_name: name.to_owned(),
            field: Some(field_data::Field::Scalars(wire::ScalarField { data: Some(data) })),
            ..Default::default()
        }
    }

    fn ints(name: &str, data_type: wire::DataType, data: Vec<i32>) -> wire::FieldData {
        scalar(name, data_type, scalar_field::Data::IntData(wire::IntArray { data }))
    }

    fn vectors(name: &str, dim: i64, data: Vec<f32>) -> wire::FieldData {
        wire::FieldData {
            r#type: wire::DataType::FloatVector as i32,
            field_name: name.to_owned(),
            field: Some(field_data::Field::Vectors(wire::VectorField {
                dim,
                data: Some(vector_field::Data::FloatVector(wire::FloatArray { data })),
            })),
            ..Default::default()
        }
    }

    fn json(name: &str, rows: &[&str]) -> wire::FieldData {
        let data = rows.iter().map(|r| r.as_bytes().to_vec()).collect();
        scalar(name, wire::DataType::Json, scalar_field::Data::JsonData(wire::JsonArray { data }))
    }

    fn column<'b>(batch: &'b InsertBatch, name: &str) -> &'b Column {
        &batch.columns.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn invalid_reason(result: Result<InsertBatch, Failure>) -> String {
        match result {
            Err(Failure::Milvus { code, reason, .. }) => {
                assert_eq!(code, crate::status::code::INVALID_PARAMETER, "{reason}");
                reason
            }
            other => panic!("expected an invalid-parameter failure, got {other:?}"),
        }
    }

    #[test]
    fn compressed_and_full_nullable_columns_spread_to_one_value_per_row() {
        let schema = schema();
        let mut compressed = ints("age", wire::DataType::Int32, vec![30, 50]);
        compressed.valid_data = vec![true, false, true];
        let batch = insert_batch(&schema, vec![compressed], 3).unwrap();
        let age = column(&batch, "age");
        assert_eq!(age.data, ColumnData::Int32(vec![30, 0, 50]));
        assert_eq!(age.validity, Some(vec![true, false, true]));

        let mut full = ints("age", wire::DataType::Int32, vec![30, 0, 50]);
        full.valid_data = vec![true, false, true];
        let batch = insert_batch(&schema, vec![full], 3).unwrap();
        assert_eq!(column(&batch, "age").data, ColumnData::Int32(vec![30, 0, 50]));

        // All null, and no data at all (pymilvus leaves the oneof unset).
        let none = wire::FieldData {
            r#type: wire::DataType::Array as i32,
            field_name: "tags".into(),
            valid_data: vec![false, false],
            ..Default::default()
        };
        let batch = insert_batch(&schema, vec![none], 2).unwrap();
        assert_eq!(column(&batch, "tags").validity, Some(vec![false, false]));
    }

    #[test]
    fn arrays_json_and_vectors_decode() {
        let schema = schema();
        let cell = |v: Vec<i32>| wire::ScalarField {
            data: Some(scalar_field::Data::IntData(wire::IntArray { data: v })),
        };
        let tags = scalar(
            "tags",
            wire::DataType::Array,
            scalar_field::Data::ArrayData(wire::ArrayArray {
                data: vec![cell(vec![1, -2]), wire::ScalarField { data: None }],
                element_type: 0,
            }),
        );
        let batch = insert_batch(
            &schema,
            vec![
                tags,
                json("doc", &["{\"a\":1}", "[1]"]),
                vectors("vector", 2, vec![1.0, 2.0, 3.0, 4.0]),
            ],
            2,
        )
        .unwrap();
        assert_eq!(
            column(&batch, "tags").data,
            ColumnData::Array(vec![ArrayValue::Int16(vec![1, -2]), ArrayValue::Int16(vec![])])
        );
        assert_eq!(
            column(&batch, "doc").data,
            ColumnData::Json(vec!["{\"a\":1}".into(), "[1]".into()])
        );
        assert_eq!(
            column(&batch, "vector").data,
            ColumnData::FloatVector { dim: 2, data: vec![1.0, 2.0, 3.0, 4.0] }
        );
    }

    #[test]
    fn inconsistent_columns_are_refused_with_the_field_named() {
        let schema = schema();
        let reason =
            invalid_reason(insert_batch(&schema, vec![vectors("vector", 3, vec![0.0; 6])], 2));
        assert!(reason.contains("dim (3)") && reason.contains("\"vector\""), "{reason}");
        let reason =
            invalid_reason(insert_batch(&schema, vec![vectors("vector", 2, vec![0.0; 5])], 2));
        assert!(reason.contains("not a multiple"), "{reason}");
        let reason =
            invalid_reason(insert_batch(&schema, vec![vectors("vector", 2, vec![0.0; 6])], 2));
        assert!(reason.contains("3 vectors but num_rows is 2"), "{reason}");
        let mut nulls = vectors("vector", 2, vec![]);
        nulls.valid_data = vec![false; 1 << 20];
        let reason = invalid_reason(insert_batch(&schema, vec![nulls], 1 << 20));
        assert!(reason.contains("cannot hold nulls"), "{reason}");
        let reason = invalid_reason(insert_batch(
            &schema,
            vec![ints("small", wire::DataType::Int64, vec![1])],
            1,
        ));
        assert!(reason.contains("is Int8 but its data is typed Int64"), "{reason}");
        let reason = invalid_reason(insert_batch(
            &schema,
            vec![scalar(
                "small",
                wire::DataType::Int8,
                scalar_field::Data::BoolData(wire::BoolArray { data: vec![true] }),
            )],
            1,
        ));
        assert!(reason.contains("bool_data"), "{reason}");
        let reason = invalid_reason(insert_batch(
            &schema,
            vec![ints("small", wire::DataType::Int8, vec![300])],
            1,
        ));
        assert!(reason.contains("300 is out of range for Int8"), "{reason}");
        let reason = invalid_reason(insert_batch(
            &schema,
            vec![ints("nope", wire::DataType::Int8, vec![1])],
            1,
        ));
        assert!(reason.contains("\"nope\" does not exist"), "{reason}");
        let reason = invalid_reason(insert_batch(
            &schema,
            vec![ints("small", wire::DataType::Int8, vec![1, 2])],
            3,
        ));
        assert!(reason.contains("2 values but num_rows is 3"), "{reason}");
        let mut bad_mask = ints("age", wire::DataType::Int32, vec![1]);
        bad_mask.valid_data = vec![true, false];
        let reason = invalid_reason(insert_batch(&schema, vec![bad_mask], 1));
        assert!(reason.contains("valid_data"), "{reason}");
        let twice = vec![
            ints("small", wire::DataType::Int8, vec![1]),
            ints("small", wire::DataType::Int8, vec![1]),
        ];
        assert!(invalid_reason(insert_batch(&schema, twice, 1)).contains("more than once"));
        let reason = invalid_reason(insert_batch(&schema, vec![json("doc", &[])], 0));
        assert!(reason.contains("num_rows must be greater than 0"), "{reason}");
        let bad_utf8 = scalar(
            "doc",
            wire::DataType::Json,
            scalar_field::Data::JsonData(wire::JsonArray { data: vec![vec![0xff, 0xfe]] }),
        );
        assert!(invalid_reason(insert_batch(&schema, vec![bad_utf8], 1)).contains("UTF-8"));
        let wrong_element = scalar(
            "tags",
            wire::DataType::Array,
            scalar_field::Data::ArrayData(wire::ArrayArray {
                data: vec![wire::ScalarField {
                    data: Some(scalar_field::Data::LongData(wire::LongArray { data: vec![1] })),
                }],
                element_type: 0,
            }),
        );
        assert!(
            invalid_reason(insert_batch(&schema, vec![wrong_element], 1)).contains("long_data")
        );
    }

    #[test]
    fn the_dynamic_column_needs_a_dynamic_collection() {
        let schema = schema();
        let mut meta = json("", &["{\"color\":\"red\"}"]);
        meta.is_dynamic = true;
        let batch = insert_batch(&schema, vec![meta.clone()], 1).unwrap();
        assert_eq!(
            column(&batch, DYNAMIC_FIELD_NAME).data,
            ColumnData::Json(vec!["{\"color\":\"red\"}".into()])
        );

        let fixed = Schema::new(SchemaSpec {
            description: String::new(),
            fields: vec![
                FieldSpec::primary("id", DataType::Int64),
                FieldSpec::new("vector", DataType::FloatVector { dim: 2 }),
            ],
            enable_dynamic_field: false,
        })
        .unwrap();
        meta.field_name = DYNAMIC_FIELD_NAME.into();
        assert!(invalid_reason(insert_batch(&fixed, vec![meta], 1)).contains("no dynamic field"));
    }

    fn row(pk: i64, fields: Vec<(&str, Value)>) -> Row {
        Row {
            pk: PkValue::Int64(pk),
            fields: fields.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        }
    }

    #[test]
    fn outputs_resolve_wildcards_dynamic_keys_and_the_primary_key() {
        let schema = schema();
        let all = Outputs::resolve(&schema, &["*".into()], false).unwrap();
        assert_eq!(all.names(), ["id", "small", "age", "tags", "doc", "vector", "$meta"]);
        assert_eq!(all.engine_fields(), ["small", "age", "tags", "doc", "vector", "$meta"]);

        let some =
            Outputs::resolve(&schema, &["age".into(), "color".into(), "age".into()], true).unwrap();
        assert_eq!(some.names(), ["id", "age", "color"]);
        assert_eq!(some.engine_fields(), ["age", "$meta"]);

        let none = Outputs::resolve(&schema, &[], false).unwrap();
        assert!(none.names().is_empty() && none.engine_fields().is_empty());

        for bad in ["count(*)", "a b", "$x"] {
            assert!(Outputs::resolve(&schema, &[bad.to_owned()], false).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_OUTPUT_FIELDS).map(|i| format!("k{i}")).collect();
        assert!(Outputs::resolve(&schema, &many, false).is_err());
    }

    #[test]
    fn columns_carry_placeholders_validity_and_trimmed_dynamic_objects() {
        let schema = schema();
        let outputs = Outputs::resolve(&schema, &["age".into(), "color".into()], true).unwrap();
        let rows = [
            row(
                7,
                vec![
                    ("age", Value::Int32(40)),
                    ("$meta", Value::Json("{\"color\":\"red\",\"size\":3}".into())),
                ],
            ),
            row(8, vec![("age", Value::Null), ("$meta", Value::Json("{}".into()))]),
        ];
        let refs: Vec<&Row> = rows.iter().collect();
        let columns = outputs.columns(&schema, &refs);
        assert_eq!(columns.len(), 3);
        assert_eq!(columns[0].field_name, "id");
        assert_eq!(
            columns[0].field,
            Some(field_data::Field::Scalars(wire::ScalarField {
                data: Some(scalar_field::Data::LongData(wire::LongArray { data: vec![7, 8] }))
            }))
        );
        assert_eq!(columns[1].field_name, "age");
        assert_eq!(columns[1].field_id, 102);
        assert_eq!(columns[1].valid_data, vec![true, false]);
        assert_eq!(
            columns[1].field,
            Some(field_data::Field::Scalars(wire::ScalarField {
                data: Some(scalar_field::Data::IntData(wire::IntArray { data: vec![40, 0] }))
            }))
        );
        assert!(columns[2].is_dynamic);
        assert_eq!(columns[2].field_name, "$meta");
        assert_eq!(
            columns[2].field,
            Some(field_data::Field::Scalars(wire::ScalarField {
                data: Some(scalar_field::Data::JsonData(wire::JsonArray {
                    data: vec![b"{\"color\":\"red\"}".to_vec(), b"{}".to_vec()]
                }))
            }))
        );

        // No rows: every column is still there, typed, with its dim.
        let all = Outputs::resolve(&schema, &["*".into()], false).unwrap();
        let empty = all.columns(&schema, &[]);
        assert_eq!(empty.len(), 7);
        let vector = empty.iter().find(|c| c.field_name == "vector").unwrap();
        assert!(matches!(&vector.field, Some(field_data::Field::Vectors(v)) if v.dim == 2));
        let tags = empty.iter().find(|c| c.field_name == "tags").unwrap();
        assert!(matches!(
            &tags.field,
            Some(field_data::Field::Scalars(wire::ScalarField { data: Some(scalar_field::Data::ArrayData(a)) }))
                if a.element_type == wire::DataType::Int16 as i32
        ));
    }

    #[test]
    fn ids_follow_the_primary_key_type() {
        let schema = schema();
        let ids = ids(&schema, &[PkValue::Int64(3), PkValue::Int64(1)]);
        assert_eq!(ids.id_field, Some(i_ds::IdField::IntId(wire::LongArray { data: vec![3, 1] })));
        assert_eq!(pks_from_ids(&schema, ids).unwrap(), vec![PkValue::Int64(3), PkValue::Int64(1)]);
        let strs = wire::IDs {
            id_field: Some(i_ds::IdField::StrId(wire::StringArray { data: vec!["a".into()] })),
        };
        assert!(pks_from_ids(&schema, strs).is_err());
    }

    #[test]
    fn template_values_convert_scalars_lists_and_json() {
        use template_array_value::Data as A;
        use template_value::Val;
        let value = |val| wire::TemplateValue { val: Some(val) };
        let nested = wire::TemplateArrayValue {
            data: Some(A::ArrayData(wire::TemplateArrayValueArray {
                data: vec![
                    wire::TemplateArrayValue {
                        data: Some(A::LongData(wire::LongArray { data: vec![1, 2] })),
                    },
                    wire::TemplateArrayValue {
                        data: Some(A::JsonData(wire::JsonArray { data: vec![b"\"x\"".to_vec()] })),
                    },
                ],
            })),
        };
        let converted = template_values(HashMap::from([
            ("b".to_owned(), value(Val::BoolVal(true))),
            ("n".to_owned(), value(Val::Int64Val(-4))),
            ("f".to_owned(), value(Val::FloatVal(0.5))),
            ("s".to_owned(), value(Val::StringVal("red".into()))),
            ("l".to_owned(), value(Val::ArrayVal(nested))),
            ("j".to_owned(), value(Val::BytesVal(b"[1, 2]".to_vec()))),
        ]))
        .unwrap();
        assert_eq!(converted["b"], TemplateValue::Bool(true));
        assert_eq!(converted["n"], TemplateValue::Int64(-4));
        assert_eq!(converted["f"], TemplateValue::Float(0.5));
        assert_eq!(converted["s"], TemplateValue::String("red".into()));
        assert_eq!(
            converted["l"],
            TemplateValue::Array(vec![
                TemplateValue::Array(vec![TemplateValue::Int64(1), TemplateValue::Int64(2)]),
                TemplateValue::Array(vec![TemplateValue::Json(serde_json::json!("x"))]),
            ])
        );
        assert_eq!(converted["j"], TemplateValue::Json(serde_json::json!([1, 2])));

        let empty = HashMap::from([("e".to_owned(), wire::TemplateValue { val: None })]);
        assert!(template_values(empty).is_err());
        let bad = HashMap::from([("j".to_owned(), value(Val::BytesVal(b"{".to_vec())))]);
        assert!(template_values(bad).is_err());
    }
}
