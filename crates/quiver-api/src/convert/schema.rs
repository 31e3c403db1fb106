//! Collection schemas: Milvus's wire `CollectionSchema` into Quiver's `SchemaSpec` (refusing
//! what Quiver does not store, by name), and a stored `Schema` back onto the wire.

use quiver_core::{DataType, ElementType, FieldSchema, FieldSpec, Schema, SchemaSpec, Value};

use crate::convert::fields::{wire_element, wire_type};
use crate::proto::common::KeyValuePair;
use crate::proto::schema::{self as wire, value_field};
use crate::service::param;
use crate::status::Failure;

/// Largest serialized schema accepted (64 fields with their parameters fit in far less).
pub(crate) const MAX_SCHEMA_BYTES: usize = 1 << 20;

/// Decodes the `schema` bytes of a `CreateCollectionRequest`.
pub(crate) fn decode(bytes: &[u8]) -> Result<wire::CollectionSchema, Failure> {
    if bytes.len() > MAX_SCHEMA_BYTES {
        return Err(Failure::invalid(format!("schema larger than {MAX_SCHEMA_BYTES} bytes")));
    }
    prost::Message::decode(bytes).map_err(|e| Failure::invalid(format!("malformed schema: {e}")))
}

/// Validates a wire schema into a spec. Everything Quiver cannot honour is refused by name:
/// a schema silently stripped of a function or a partition key would give wrong answers.
pub(crate) fn spec_from_wire(schema: &wire::CollectionSchema) -> Result<SchemaSpec, Failure> {
    if !schema.functions.is_empty() {
        return Err(Failure::unsupported("schema functions (BM25, text embedding)"));
    }
    if !schema.struct_array_fields.is_empty() {
        return Err(Failure::unsupported("struct array fields"));
    }
    if !schema.external_source.is_empty() || !schema.external_spec.is_empty() {
        return Err(Failure::unsupported("external collections"));
    }
    if schema.enable_namespace {
        return Err(Failure::unsupported("namespaces"));
    }
    let mut fields = Vec::with_capacity(schema.fields.len());
    for field in &schema.fields {
        fields.push(field_from_wire(field, schema.auto_id)?);
    }
    Ok(SchemaSpec {
        description: schema.description.clone(),
        fields,
        enable_dynamic_field: schema.enable_dynamic_field,
    })
}

fn field_from_wire(
    field: &wire::FieldSchema,
    collection_auto_id: bool,
) -> Result<FieldSpec, Failure> {
    let name = &field.name;
    if field.is_dynamic {
        return Err(Failure::invalid(format!(
            "field {name:?}: the dynamic field is created by enable_dynamic_field, not declared"
        )));
    }
    if field.is_partition_key {
        return Err(Failure::unsupported(format!("partition key (field {name:?})")));
    }
    if field.is_clustering_key {
        return Err(Failure::unsupported(format!("clustering key (field {name:?})")));
    }
    if field.is_function_output {
        return Err(Failure::unsupported(format!("function output field {name:?}")));
    }
    let data_type = data_type_from_wire(field)?;
    let default_value = match &field.default_value {
        Some(value) => Some(default_from_wire(name, value)?),
        None => None,
    };
    Ok(FieldSpec {
        name: name.clone(),
        data_type,
        is_primary: field.is_primary_key,
        auto_id: field.is_primary_key && (field.auto_id || collection_auto_id),
        nullable: field.nullable,
        default_value,
        description: field.description.clone(),
    })
}

fn data_type_from_wire(field: &wire::FieldSchema) -> Result<DataType, Failure> {
    let name = &field.name;
    let code = field.data_type;
    let kind = wire::DataType::try_from(code)
        .map_err(|_| Failure::invalid(format!("field {name:?}: unknown data type {code}")))?;
    let uint = |key: &str| -> Result<u32, Failure> {
        let text = param(&field.type_params, key).ok_or_else(|| {
            Failure::invalid(format!("field {name:?}: type parameter {key} is required"))
        })?;
        text.trim().parse::<u32>().map_err(|_| {
            Failure::invalid(format!(
                "field {name:?}: type parameter {key} must be a positive integer"
            ))
        })
    };
    Ok(match kind {
        wire::DataType::Bool => DataType::Bool,
        wire::DataType::Int8 => DataType::Int8,
        wire::DataType::Int16 => DataType::Int16,
        wire::DataType::Int32 => DataType::Int32,
        wire::DataType::Int64 => DataType::Int64,
        wire::DataType::Float => DataType::Float,
        wire::DataType::Double => DataType::Double,
        wire::DataType::VarChar | wire::DataType::String => {
            if param(&field.type_params, "enable_analyzer").is_some_and(is_true)
                || param(&field.type_params, "enable_match").is_some_and(is_true)
            {
                return Err(Failure::unsupported(format!("text analysis (field {name:?})")));
            }
            DataType::VarChar { max_length: uint("max_length")? }
        }
        wire::DataType::Json => DataType::Json,
        wire::DataType::Array => {
            let element = element_from_wire(field)?;
            DataType::Array { element, max_capacity: uint("max_capacity")? }
        }
        wire::DataType::FloatVector => DataType::FloatVector { dim: uint("dim")? },
        other => {
            return Err(Failure::unsupported(format!(
                "data type {} (field {name:?})",
                other.as_str_name()
            )));
        }
    })
}

fn element_from_wire(field: &wire::FieldSchema) -> Result<ElementType, Failure> {
    let name = &field.name;
    let kind = wire::DataType::try_from(field.element_type).map_err(|_| {
        Failure::invalid(format!("field {name:?}: unknown element type {}", field.element_type))
    })?;
    Ok(match kind {
        wire::DataType::Bool => ElementType::Bool,
        wire::DataType::Int8 => ElementType::Int8,
        wire::DataType::Int16 => ElementType::Int16,
        wire::DataType::Int32 => ElementType::Int32,
        wire::DataType::Int64 => ElementType::Int64,
        wire::DataType::Float => ElementType::Float,
        wire::DataType::Double => ElementType::Double,
        wire::DataType::VarChar | wire::DataType::String => {
            let text = param(&field.type_params, "max_length").ok_or_else(|| {
                Failure::invalid(format!("field {name:?}: VarChar elements need max_length"))
            })?;
            let max_length = text.trim().parse().map_err(|_| {
                Failure::invalid(format!("field {name:?}: max_length must be a positive integer"))
            })?;
            ElementType::VarChar { max_length }
        }
        wire::DataType::None => {
            return Err(Failure::invalid(format!("field {name:?}: Array needs element_type")));
        }
        other => {
            return Err(Failure::unsupported(format!(
                "array element type {} (field {name:?})",
                other.as_str_name()
            )));
        }
    })
}

fn default_from_wire(name: &str, value: &wire::ValueField) -> Result<Value, Failure> {
    Ok(match &value.data {
        Some(value_field::Data::BoolData(v)) => Value::Bool(*v),
        Some(value_field::Data::IntData(v)) => Value::Int32(*v),
        Some(value_field::Data::LongData(v)) => Value::Int64(*v),
        Some(value_field::Data::FloatData(v)) => Value::Float(*v),
        Some(value_field::Data::DoubleData(v)) => Value::Double(*v),
        Some(value_field::Data::StringData(v)) => Value::VarChar(v.clone()),
        Some(value_field::Data::BytesData(v)) => {
            let text = String::from_utf8(v.clone())
                .map_err(|_| Failure::invalid(format!("field {name:?}: default is not UTF-8")))?;
            Value::Json(text)
        }
        None => return Err(Failure::invalid(format!("field {name:?}: empty default value"))),
        Some(_) => {
            return Err(Failure::unsupported(format!("default value type of field {name:?}")));
        }
    })
}

fn is_true(text: &str) -> bool {
    text.eq_ignore_ascii_case("true")
}

/// The wire schema of a stored collection, as DescribeCollection returns it. The hidden `$meta`
/// field is not listed (milvus-lite does not list it either); `enable_dynamic_field` says it
/// exists.
pub(crate) fn schema_to_wire(schema: &Schema, name: &str) -> wire::CollectionSchema {
    let fields = schema.fields().iter().filter(|f| !f.is_dynamic).map(field_to_wire).collect();
    wire::CollectionSchema {
        name: name.to_owned(),
        description: schema.description().to_owned(),
        auto_id: schema.primary_field().auto_id,
        fields,
        enable_dynamic_field: schema.enable_dynamic_field(),
        ..Default::default()
    }
}

fn field_to_wire(field: &FieldSchema) -> wire::FieldSchema {
    let kv = |key: &str, value: String| KeyValuePair { key: key.to_owned(), value };
    let (element_type, type_params) = match field.data_type {
        DataType::VarChar { max_length } => {
            (wire::DataType::None, vec![kv("max_length", max_length.to_string())])
        }
        DataType::Array { element, max_capacity } => {
            let mut params = vec![kv("max_capacity", max_capacity.to_string())];
            if let ElementType::VarChar { max_length } = element {
                params.push(kv("max_length", max_length.to_string()));
            }
            (wire_element(element), params)
        }
        DataType::FloatVector { dim } => (wire::DataType::None, vec![kv("dim", dim.to_string())]),
        DataType::Bool
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float
        | DataType::Double
        | DataType::Json => (wire::DataType::None, vec![]),
    };
    let data_type = wire_type(field.data_type);
    wire::FieldSchema {
        field_id: field.id.0,
        name: field.name.clone(),
        is_primary_key: field.is_primary,
        description: field.description.clone(),
        data_type: data_type as i32,
        type_params,
        auto_id: field.auto_id,
        element_type: element_type as i32,
        default_value: field.default_value.as_ref().and_then(default_to_wire),
        nullable: field.nullable,
        ..Default::default()
    }
}

fn default_to_wire(value: &Value) -> Option<wire::ValueField> {
    let data = match value {
        Value::Bool(v) => value_field::Data::BoolData(*v),
        Value::Int8(v) => value_field::Data::IntData(i32::from(*v)),
        Value::Int16(v) => value_field::Data::IntData(i32::from(*v)),
        Value::Int32(v) => value_field::Data::IntData(*v),
        Value::Int64(v) => value_field::Data::LongData(*v),
        Value::Float(v) => value_field::Data::FloatData(*v),
        Value::Double(v) => value_field::Data::DoubleData(*v),
        Value::VarChar(v) => value_field::Data::StringData(v.clone()),
        Value::Json(v) => value_field::Data::BytesData(v.clone().into_bytes()),
        Value::Null | Value::Array(_) | Value::FloatVector(_) => return None,
    };
    Some(wire::ValueField { data: Some(data) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, data_type: wire::DataType, params: &[(&str, &str)]) -> wire::FieldSchema {
        wire::FieldSchema {
            name: name.to_owned(),
            data_type: data_type as i32,
            type_params: params
                .iter()
                .map(|(k, v)| KeyValuePair { key: (*k).to_owned(), value: (*v).to_owned() })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn every_supported_type_round_trips_through_the_stored_schema() {
        let mut pk = field("id", wire::DataType::Int64, &[]);
        pk.is_primary_key = true;
        pk.auto_id = true;
        let mut tags =
            field("tags", wire::DataType::Array, &[("max_capacity", "8"), ("max_length", "16")]);
        tags.element_type = wire::DataType::VarChar as i32;
        let mut score = field("score", wire::DataType::Double, &[]);
        score.nullable = true;
        let mut level = field("level", wire::DataType::Int32, &[]);
        level.default_value = Some(wire::ValueField { data: Some(value_field::Data::IntData(3)) });
        let input = wire::CollectionSchema {
            name: "c".into(),
            description: "all types".into(),
            fields: vec![
                pk,
                field("b", wire::DataType::Bool, &[]),
                field("i8", wire::DataType::Int8, &[]),
                field("i16", wire::DataType::Int16, &[]),
                level,
                field("f", wire::DataType::Float, &[]),
                score,
                field("name", wire::DataType::VarChar, &[("max_length", "64")]),
                field("meta", wire::DataType::Json, &[]),
                tags,
                field("v", wire::DataType::FloatVector, &[("dim", "8")]),
            ],
            enable_dynamic_field: true,
            ..Default::default()
        };
        let schema = Schema::new(spec_from_wire(&input).unwrap()).unwrap();
        let output = schema_to_wire(&schema, "c");
        assert_eq!(output.fields.len(), input.fields.len(), "$meta is not listed");
        for (sent, got) in input.fields.iter().zip(&output.fields) {
            assert_eq!(sent.name, got.name);
            assert_eq!(sent.data_type, got.data_type, "{}", sent.name);
            assert_eq!(sent.element_type, got.element_type, "{}", sent.name);
            assert_eq!(sent.nullable, got.nullable, "{}", sent.name);
            assert_eq!(sent.default_value, got.default_value, "{}", sent.name);
            let mut a = sent.type_params.clone();
            let mut b = got.type_params.clone();
            a.sort_by(|x, y| x.key.cmp(&y.key));
            b.sort_by(|x, y| x.key.cmp(&y.key));
            assert_eq!(a, b, "{}", sent.name);
            assert!(got.field_id >= 100);
        }
        assert!(output.fields[0].auto_id && output.auto_id);
        assert!(output.enable_dynamic_field);
    }

    #[test]
    fn unsupported_features_are_refused_by_name() {
        let pk = || {
            let mut pk = field("id", wire::DataType::Int64, &[]);
            pk.is_primary_key = true;
            pk
        };
        let cases: Vec<(wire::FieldSchema, &str)> = vec![
            (field("bv", wire::DataType::BinaryVector, &[("dim", "8")]), "BinaryVector"),
            (field("sv", wire::DataType::SparseFloatVector, &[]), "SparseFloatVector"),
            (field("hv", wire::DataType::Float16Vector, &[("dim", "8")]), "Float16Vector"),
            (
                field(
                    "t",
                    wire::DataType::VarChar,
                    &[("max_length", "8"), ("enable_analyzer", "true")],
                ),
                "text analysis",
            ),
            (
                {
                    let mut f = field("p", wire::DataType::Int64, &[]);
                    f.is_partition_key = true;
                    f
                },
                "partition key",
            ),
        ];
        for (bad, needle) in cases {
            let schema = wire::CollectionSchema { fields: vec![pk(), bad], ..Default::default() };
            let Err(Failure::Milvus { code, reason, .. }) = spec_from_wire(&schema) else {
                panic!("{needle} accepted");
            };
            assert_eq!(code, crate::status::code::UNSUPPORTED);
            assert!(reason.contains(needle), "{reason}");
        }
        let missing_dim = wire::CollectionSchema {
            fields: vec![pk(), field("v", wire::DataType::FloatVector, &[])],
            ..Default::default()
        };
        let Err(Failure::Milvus { reason, .. }) = spec_from_wire(&missing_dim) else { panic!() };
        assert!(reason.contains("dim"), "{reason}");
        assert!(decode(&[0xff, 0xff, 0xff]).is_err());
        assert!(decode(&vec![0u8; MAX_SCHEMA_BYTES + 1]).is_err());
    }
}
