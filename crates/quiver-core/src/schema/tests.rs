//! Tests of schema validation.
//!
//! Every rule of [`Schema::new`] has a case that breaks it and, where the rule is a bound, a
//! case that sits exactly on the bound. Each case starts from a minimal valid schema
//! (`id` Int64 primary key, `v` FloatVector of dim 4) and modifies it.

use super::*;
use crate::ArrayValue;

fn base() -> SchemaSpec {
    SchemaSpec {
        description: String::new(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("v", DataType::FloatVector { dim: 4 }),
        ],
        enable_dynamic_field: false,
    }
}

/// Builds the base schema changed by `modify` and compares the outcome with `expect`: `"ok"`
/// or the error's full message.
#[track_caller]
fn check(modify: impl FnOnce(&mut SchemaSpec), expect: &str) {
    let mut spec = base();
    modify(&mut spec);
    let got = match Schema::new(spec) {
        Ok(_) => "ok".to_owned(),
        Err(err) => err.to_string(),
    };
    assert_eq!(got, expect);
}

/// A modifier adding `field` after the base fields.
fn with(field: FieldSpec) -> impl FnOnce(&mut SchemaSpec) {
    move |spec| spec.fields.push(field)
}

fn with_default(name: &str, data_type: DataType, default: Value) -> impl FnOnce(&mut SchemaSpec) {
    with(FieldSpec { default_value: Some(default), ..FieldSpec::new(name, data_type) })
}

fn varchar(max_length: u32) -> DataType {
    DataType::VarChar { max_length }
}

fn array(element: ElementType, max_capacity: u32) -> DataType {
    DataType::Array { element, max_capacity }
}

fn vector(dim: u32) -> DataType {
    DataType::FloatVector { dim }
}

#[test]
fn base_schema_is_valid() {
    check(|_| {}, "ok");
}

#[test]
fn exactly_one_primary_key() {
    check(
        |spec| spec.fields[0].is_primary = false,
        "invalid schema: a schema needs a primary key field",
    );
    check(
        with(FieldSpec::primary("id2", DataType::Int64)),
        r#"invalid schema (field "id2"): a schema has exactly one primary key"#,
    );
}

#[test]
fn primary_key_is_int64_or_varchar() {
    check(|spec| spec.fields[0] = FieldSpec::primary("id", varchar(64)), "ok");
    for data_type in [
        DataType::Bool,
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Float,
        DataType::Double,
        DataType::Json,
        array(ElementType::Int64, 4),
    ] {
        check(
            |spec| spec.fields[0] = FieldSpec::primary("id", data_type),
            r#"invalid schema (field "id"): the primary key must be Int64 or VarChar"#,
        );
    }
}

#[test]
fn primary_key_is_not_nullable_and_has_no_default() {
    check(
        |spec| spec.fields[0].nullable = true,
        r#"invalid schema (field "id"): the primary key cannot be nullable"#,
    );
    check(
        |spec| spec.fields[0].default_value = Some(Value::Int64(1)),
        r#"invalid schema (field "id"): the primary key cannot have a default value"#,
    );
}

#[test]
fn auto_id_only_on_the_primary_key() {
    check(|spec| spec.fields[0].auto_id = true, "ok");
    check(
        |spec| {
            spec.fields[0] = FieldSpec { auto_id: true, ..FieldSpec::primary("id", varchar(64)) }
        },
        "ok",
    );
    check(
        with(FieldSpec { auto_id: true, ..FieldSpec::new("n", DataType::Int64) }),
        r#"invalid schema (field "n"): auto_id is allowed only on the primary key"#,
    );
}

#[test]
fn field_names_are_unique() {
    check(
        with(FieldSpec::new("v", DataType::Bool)),
        r#"invalid schema (field "v"): field names must be unique"#,
    );
}

#[test]
fn field_names_follow_the_milvus_rule() {
    check(with(FieldSpec::new("_ok_1", DataType::Bool)), "ok");
    check(with(FieldSpec::new(&"a".repeat(255), DataType::Bool)), "ok");
    check(
        with(FieldSpec::new("1abc", DataType::Bool)),
        r#"invalid field name "1abc": must start with a letter or an underscore"#,
    );
    check(
        with(FieldSpec::new("a-b", DataType::Bool)),
        r#"invalid field name "a-b": may contain only letters, digits and underscores"#,
    );
    check(with(FieldSpec::new("", DataType::Bool)), r#"invalid field name "": must not be empty"#);
    check(
        with(FieldSpec::new("$meta", DataType::Json)),
        r#"invalid field name "$meta": must start with a letter or an underscore"#,
    );
    // The echo of a long name is cut to 64 characters.
    let shown = format!("{}…", "a".repeat(64));
    check(
        with(FieldSpec::new(&"a".repeat(256), DataType::Bool)),
        &format!(r#"invalid field name "{shown}": must be at most 255 characters"#),
    );
}

#[test]
fn varchar_max_length_bounds() {
    const RULE: &str = "varchar max_length must be in 1..=65535";
    check(with(FieldSpec::new("s", varchar(1))), "ok");
    check(with(FieldSpec::new("s", varchar(65_535))), "ok");
    check(with(FieldSpec::new("s", varchar(0))), &format!(r#"invalid schema (field "s"): {RULE}"#));
    check(
        with(FieldSpec::new("s", varchar(65_536))),
        &format!(r#"invalid schema (field "s"): {RULE}"#),
    );
    check(
        |spec| spec.fields[0] = FieldSpec::primary("id", varchar(0)),
        &format!(r#"invalid schema (field "id"): {RULE}"#),
    );
}

#[test]
fn vector_dim_bounds() {
    const RULE: &str = "vector dim must be in 1..=32768";
    check(|spec| spec.fields[1].data_type = vector(1), "ok");
    check(|spec| spec.fields[1].data_type = vector(32_768), "ok");
    check(
        |spec| spec.fields[1].data_type = vector(0),
        &format!(r#"invalid schema (field "v"): {RULE}"#),
    );
    check(
        |spec| spec.fields[1].data_type = vector(32_769),
        &format!(r#"invalid schema (field "v"): {RULE}"#),
    );
}

#[test]
fn array_capacity_and_element_bounds() {
    const CAPACITY: &str = "array max_capacity must be in 1..=4096";
    const LENGTH: &str = "varchar max_length must be in 1..=65535";
    check(with(FieldSpec::new("a", array(ElementType::Int64, 1))), "ok");
    check(with(FieldSpec::new("a", array(ElementType::Int64, 4096))), "ok");
    check(
        with(FieldSpec::new("a", array(ElementType::Int64, 0))),
        &format!(r#"invalid schema (field "a"): {CAPACITY}"#),
    );
    check(
        with(FieldSpec::new("a", array(ElementType::Int64, 4097))),
        &format!(r#"invalid schema (field "a"): {CAPACITY}"#),
    );
    check(with(FieldSpec::new("a", array(ElementType::VarChar { max_length: 65_535 }, 4))), "ok");
    check(
        with(FieldSpec::new("a", array(ElementType::VarChar { max_length: 0 }, 4))),
        &format!(r#"invalid schema (field "a"): {LENGTH}"#),
    );
    check(
        with(FieldSpec::new("a", array(ElementType::VarChar { max_length: 65_536 }, 4))),
        &format!(r#"invalid schema (field "a"): {LENGTH}"#),
    );
}

#[test]
fn between_one_and_four_vector_fields() {
    check(
        |spec| spec.fields[1].data_type = DataType::Bool,
        "invalid schema: a schema needs a FloatVector field",
    );
    check(
        |spec| {
            for name in ["v2", "v3", "v4"] {
                spec.fields.push(FieldSpec::new(name, vector(4)));
            }
        },
        "ok",
    );
    check(
        |spec| {
            for name in ["v2", "v3", "v4", "v5"] {
                spec.fields.push(FieldSpec::new(name, vector(4)));
            }
        },
        "invalid schema: a schema has at most 4 vector fields",
    );
    check(
        |spec| spec.fields[1].nullable = true,
        r#"invalid schema (field "v"): vector fields cannot be nullable"#,
    );
}

#[test]
fn between_one_and_sixty_four_fields() {
    check(|spec| spec.fields.clear(), "invalid schema: a schema needs at least one field");
    let fill_to = |total: usize| {
        move |spec: &mut SchemaSpec| {
            let extra = total - spec.fields.len();
            spec.fields
                .extend((0..extra).map(|i| FieldSpec::new(&format!("f{i}"), DataType::Bool)));
        }
    };
    check(fill_to(MAX_FIELDS), "ok");
    check(fill_to(MAX_FIELDS + 1), "invalid schema: a schema has at most 64 fields");
    // The hidden dynamic field does not count against the limit.
    check(
        |spec| {
            fill_to(MAX_FIELDS)(spec);
            spec.enable_dynamic_field = true;
        },
        "ok",
    );
}

#[test]
fn default_values_have_the_field_type() {
    const RULE: &str = "default value must have the field's type";
    check(with_default("n", DataType::Int32, Value::Int32(7)), "ok");
    check(with_default("b", DataType::Bool, Value::Bool(true)), "ok");
    check(with_default("d", DataType::Double, Value::Double(0.5)), "ok");
    check(
        with_default("n", DataType::Int32, Value::Int64(7)),
        &format!(r#"invalid schema (field "n"): {RULE}"#),
    );
    check(
        with_default("n", DataType::Int8, Value::VarChar("7".to_owned())),
        &format!(r#"invalid schema (field "n"): {RULE}"#),
    );
    check(
        with_default("n", DataType::Int32, Value::Null),
        &format!(r#"invalid schema (field "n"): {RULE}"#),
    );
    // Nullable with a default is allowed: null rows then take the default.
    check(
        with(FieldSpec {
            nullable: true,
            default_value: Some(Value::Int32(7)),
            ..FieldSpec::new("n", DataType::Int32)
        }),
        "ok",
    );
}

#[test]
fn float_defaults_are_finite() {
    const RULE: &str = "default value must be a finite number";
    check(
        with_default("f", DataType::Float, Value::Float(f32::NAN)),
        &format!(r#"invalid schema (field "f"): {RULE}"#),
    );
    check(
        with_default("d", DataType::Double, Value::Double(f64::INFINITY)),
        &format!(r#"invalid schema (field "d"): {RULE}"#),
    );
}

#[test]
fn varchar_default_fits_max_length_in_bytes() {
    const RULE: &str = "default value is longer than max_length";
    check(with_default("s", varchar(3), Value::VarChar("abc".to_owned())), "ok");
    check(
        with_default("s", varchar(3), Value::VarChar("abcd".to_owned())),
        &format!(r#"invalid schema (field "s"): {RULE}"#),
    );
    // "é" is two bytes: one fits in three bytes, two do not.
    check(with_default("s", varchar(3), Value::VarChar("é".to_owned())), "ok");
    check(
        with_default("s", varchar(3), Value::VarChar("éé".to_owned())),
        &format!(r#"invalid schema (field "s"): {RULE}"#),
    );
}

#[test]
fn json_array_and_vector_fields_have_no_default() {
    const RULE: &str = "JSON, Array and vector fields cannot have defaults";
    check(
        with_default("j", DataType::Json, Value::Json("{}".to_owned())),
        &format!(r#"invalid schema (field "j"): {RULE}"#),
    );
    check(
        with_default("a", array(ElementType::Int64, 4), Value::Array(ArrayValue::Int64(vec![1]))),
        &format!(r#"invalid schema (field "a"): {RULE}"#),
    );
    check(
        |spec| spec.fields[1].default_value = Some(Value::FloatVector(vec![0.0; 4])),
        &format!(r#"invalid schema (field "v"): {RULE}"#),
    );
}

#[test]
fn field_ids_start_at_100_in_declaration_order() {
    let mut spec = base();
    spec.fields.insert(1, FieldSpec::new("color", varchar(8)));
    let schema = Schema::new(spec).unwrap();
    let ids: Vec<(&str, i64)> = schema.fields().iter().map(|f| (f.name.as_str(), f.id.0)).collect();
    assert_eq!(ids, [("id", 100), ("color", 101), ("v", 102)]);
    assert_eq!(schema.primary_index(), 0);
    assert_eq!(schema.vector_indexes().collect::<Vec<_>>(), [2]);
    assert_eq!(schema.dynamic_index(), None);
    assert!(schema.fields().iter().all(|f| !f.is_dynamic));
}

#[test]
fn dynamic_field_is_appended_last() {
    let mut spec = base();
    spec.enable_dynamic_field = true;
    let schema = Schema::new(spec).unwrap();
    let last = schema.fields().last().unwrap();
    assert_eq!(last.name, DYNAMIC_FIELD_NAME);
    assert_eq!(last.id, FieldId(102));
    assert_eq!(last.data_type, DataType::Json);
    assert!(last.is_dynamic && !last.nullable && !last.is_primary);
    assert_eq!(schema.dynamic_index(), Some(2));
    assert_eq!(schema.field_index("$meta"), Some(2));
    assert!(schema.fields()[..2].iter().all(|f| !f.is_dynamic));
}
