//! Tests of JSON rows turned into columns.
//!
//! The `check` cases convert rows against a schema with a field of every type and compare the
//! columns (or the error message) with the expectation; the property test sends random rows
//! through conversion and validation and compares every cell with the value it came from.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::{FieldSchema, FieldSpec, RowBatch, SchemaSpec, Value, WriteKind};

/// `id` Int64 primary key, `v` FloatVector of dim 2, and a nullable field of every other type.
fn all_types(enable_dynamic_field: bool) -> Schema {
    let nullable =
        |name: &str, data_type| FieldSpec { nullable: true, ..FieldSpec::new(name, data_type) };
    let fields = vec![
        FieldSpec::primary("id", DataType::Int64),
        FieldSpec::new("v", DataType::FloatVector { dim: 2 }),
        nullable("b", DataType::Bool),
        nullable("i8", DataType::Int8),
        nullable("i16", DataType::Int16),
        nullable("i32", DataType::Int32),
        nullable("i64", DataType::Int64),
        nullable("f", DataType::Float),
        nullable("d", DataType::Double),
        nullable("s", DataType::VarChar { max_length: 8 }),
        nullable("j", DataType::Json),
        nullable("a", DataType::Array { element: ElementType::Int8, max_capacity: 4 }),
        nullable(
            "t",
            DataType::Array { element: ElementType::VarChar { max_length: 4 }, max_capacity: 4 },
        ),
        nullable("af", DataType::Array { element: ElementType::Float, max_capacity: 4 }),
        nullable("ab", DataType::Array { element: ElementType::Bool, max_capacity: 4 }),
    ];
    Schema::new(SchemaSpec { description: String::new(), fields, enable_dynamic_field }).unwrap()
}

/// One line per column: its name (with `?` when it has a null mask) and every row's value.
fn render(batch: &InsertBatch) -> String {
    let lines: Vec<String> = batch
        .columns
        .iter()
        .map(|(name, column)| {
            let mask = if column.validity.is_some() { "?" } else { "" };
            let values: Vec<String> = (0..column.len())
                .map(|row| match column.value(row) {
                    Some(value) => format!("{value:?}"),
                    None => "<missing>".to_owned(),
                })
                .collect();
            format!("{name}{mask}: {}", values.join(", "))
        })
        .collect();
    lines.join("\n")
}

/// Converts the JSON array `rows` and compares the rendered columns or the error message with
/// `expect`.
#[track_caller]
fn check(schema: &Schema, rows: &str, expect: &str) {
    let rows: Vec<Json> = serde_json::from_str(rows).unwrap();
    let got = match batch_from_json_rows(schema, &rows) {
        Ok(batch) => render(&batch),
        Err(err) => format!("error: {err}"),
    };
    assert_eq!(got, expect);
}

/// Like [`check`], for rows whose only non-key field is `field`: `values` are its JSON values,
/// one row each, with ids from 1.
#[track_caller]
fn check_field(field: &str, values: &str, expect: &str) {
    let values: Vec<Json> = serde_json::from_str(values).unwrap();
    let rows: Vec<Json> = values
        .into_iter()
        .enumerate()
        .map(|(row, value)| serde_json::json!({ "id": row + 1, field: value }))
        .collect();
    let got = match batch_from_json_rows(&all_types(false), &rows) {
        Ok(batch) => {
            let (name, column) = batch.columns.last().unwrap();
            assert_eq!(name, field);
            render(&InsertBatch { columns: vec![(name.clone(), column.clone())] })
        }
        Err(err) => format!("error: {err}"),
    };
    assert_eq!(got, expect);
}

#[test]
fn bool_from_json_booleans_only() {
    check_field("b", "[true, false]", "b: Bool(true), Bool(false)");
    check_field("b", "[true, 1]", r#"error: field "b", row 1: expected a boolean, got an integer"#);
    check_field("b", r#"["true"]"#, r#"error: field "b", row 0: expected a boolean, got a string"#);
}

#[test]
fn integers_are_range_checked() {
    check_field("i8", "[-128, 127, 0]", "i8: Int8(-128), Int8(127), Int8(0)");
    check_field(
        "i8",
        "[1, 128]",
        r#"error: field "i8", row 1: 128 is out of range for Int8 (-128..=127)"#,
    );
    check_field(
        "i8",
        "[-129]",
        r#"error: field "i8", row 0: -129 is out of range for Int8 (-128..=127)"#,
    );
    check_field("i16", "[-32768, 32767]", "i16: Int16(-32768), Int16(32767)");
    check_field(
        "i16",
        "[32768]",
        r#"error: field "i16", row 0: 32768 is out of range for Int16 (-32768..=32767)"#,
    );
    check_field("i32", "[-2147483648, 2147483647]", "i32: Int32(-2147483648), Int32(2147483647)");
    check_field(
        "i32",
        "[-2147483649]",
        r#"error: field "i32", row 0: -2147483649 is out of range for Int32 (-2147483648..=2147483647)"#,
    );
    check_field(
        "i64",
        "[-9223372036854775808, 9223372036854775807]",
        "i64: Int64(-9223372036854775808), Int64(9223372036854775807)",
    );
    check_field(
        "i64",
        "[9223372036854775808]",
        r#"error: field "i64", row 0: 9223372036854775808 is out of range for Int64 (-9223372036854775808..=9223372036854775807)"#,
    );
}

#[test]
fn integers_reject_floats_and_other_kinds() {
    check_field(
        "i32",
        "[1.5]",
        r#"error: field "i32", row 0: expected an integer for Int32, got a number with a fraction or exponent"#,
    );
    check_field(
        "i8",
        "[1.0]",
        r#"error: field "i8", row 0: expected an integer for Int8, got a number with a fraction or exponent"#,
    );
    check_field(
        "i64",
        r#"["1"]"#,
        r#"error: field "i64", row 0: expected an integer, got a string"#,
    );
    check_field("i16", "[[1]]", r#"error: field "i16", row 0: expected an integer, got an array"#);
}

#[test]
fn floats_accept_integers() {
    check_field("f", "[1, 1.5, -0.25]", "f: Float(1.0), Float(1.5), Float(-0.25)");
    check_field("d", "[1, 1.5, 1e300]", "d: Double(1.0), Double(1.5), Double(1e300)");
    check_field("f", "[1e39]", r#"error: field "f", row 0: number is out of range for Float"#);
    check_field(
        "d",
        r#"[{"x": 1}]"#,
        r#"error: field "d", row 0: expected a number, got an object"#,
    );
    check_field("f", "[true]", r#"error: field "f", row 0: expected a number, got a boolean"#);
}

#[test]
fn varchar_from_strings() {
    check_field("s", r#"["héllo", ""]"#, r#"s: VarChar("héllo"), VarChar("")"#);
    check_field("s", "[5]", r#"error: field "s", row 0: expected a string, got an integer"#);
}

#[test]
fn json_field_stores_compact_text_of_any_value() {
    check_field(
        "j",
        r#"[{"b": [1, 2], "a": {"x": null}}, 5, "str", [true, 1.5]]"#,
        r#"j: Json("{\"a\":{\"x\":null},\"b\":[1,2]}"), Json("5"), Json("\"str\""), Json("[true,1.5]")"#,
    );
    // A top-level null is a null row, not the JSON value null.
    check_field("j", r#"[{}, null]"#, r#"j?: Json("{}"), Null"#);
}

#[test]
fn arrays_convert_every_element() {
    check_field("a", "[[1, -2], []]", "a: Array(Int8([1, -2])), Array(Int8([]))");
    check_field("t", r#"[["ab", "é"]]"#, r#"t: Array(VarChar(["ab", "é"]))"#);
    check_field("af", "[[1, 0.5]]", "af: Array(Float([1.0, 0.5]))");
    check_field("ab", "[[true, false]]", "ab: Array(Bool([true, false]))");
    check_field(
        "a",
        "[[1, 300]]",
        r#"error: field "a", row 0: array element 1: 300 is out of range for Int8 (-128..=127)"#,
    );
    check_field(
        "a",
        "[[1, null]]",
        r#"error: field "a", row 0: array element 1: expected an integer, got null"#,
    );
    check_field(
        "t",
        "[[1]]",
        r#"error: field "t", row 0: array element 0: expected a string, got an integer"#,
    );
    check_field(
        "af",
        "[[1e39]]",
        r#"error: field "af", row 0: array element 0: number is out of range for Float"#,
    );
    check_field("a", "[1]", r#"error: field "a", row 0: expected an array, got an integer"#);
}

#[test]
fn vectors_have_the_field_dimension() {
    check_field("v", "[[1, 2.5], [0, -1]]", "v: FloatVector([1.0, 2.5]), FloatVector([0.0, -1.0])");
    check_field(
        "v",
        "[[1, 2], [1, 2, 3]]",
        r#"error: field "v", row 1: expected a vector of 2 numbers, got 3 numbers"#,
    );
    check_field(
        "v",
        "[[]]",
        r#"error: field "v", row 0: expected a vector of 2 numbers, got 0 numbers"#,
    );
    check_field(
        "v",
        r#"[[1, "2"]]"#,
        r#"error: field "v", row 0: vector element 1: expected a number, got a string"#,
    );
    check_field(
        "v",
        r#"["1, 2"]"#,
        r#"error: field "v", row 0: expected a vector of 2 numbers, got a string"#,
    );
}

#[test]
fn null_or_missing_vectors_are_refused_before_placeholders_are_allocated() {
    // A null vector row would cost `dim` placeholder floats; vector fields are never nullable.
    check(
        &all_types(false),
        r#"[{"id": 1, "v": [1, 2]}, {"id": 2}]"#,
        r#"error: field "v", row 1: every row needs a vector: vector fields are not nullable"#,
    );
    check_field(
        "v",
        "[[1, 2], null]",
        r#"error: field "v", row 1: every row needs a vector: vector fields are not nullable"#,
    );
}

#[test]
fn columns_follow_schema_order_whatever_the_key_order() {
    check(
        &all_types(false),
        r#"[{"b": true, "v": [1, 2], "id": 7}]"#,
        "id: Int64(7)\nv: FloatVector([1.0, 2.0])\nb: Bool(true)",
    );
}

#[test]
fn null_and_missing_keys_are_null_rows() {
    check(
        &all_types(false),
        r#"[{"id": 1, "i8": 5}, {"id": 2, "i8": null}, {"id": 3}]"#,
        "id: Int64(1), Int64(2), Int64(3)\ni8?: Int8(5), Null, Null",
    );
    // A key that only some rows have still gives every row a value.
    check(
        &all_types(false),
        r#"[{"id": 1}, {"id": 2, "s": "x"}]"#,
        r#"id: Int64(1), Int64(2)
s?: Null, VarChar("x")"#,
    );
    // A key that every row gives as null is a column of nulls, not a left-out column.
    check(&all_types(false), r#"[{"id": 1, "s": null}]"#, "id: Int64(1)\ns?: Null");
}

#[test]
fn dynamic_keys_are_gathered_into_meta() {
    check(
        &all_types(true),
        r#"[{"id": 1, "color": "red", "n": {"x": [1]}, "b": true}, {"id": 2}, {"id": 3, "e": null}]"#,
        r#"id: Int64(1), Int64(2), Int64(3)
b?: Bool(true), Null, Null
$meta: Json("{\"color\":\"red\",\"n\":{\"x\":[1]}}"), Json("{}"), Json("{\"e\":null}")"#,
    );
}

#[test]
fn unknown_keys_without_dynamic_field_are_rejected() {
    check(
        &all_types(false),
        r#"[{"id": 1}, {"id": 2, "color": "red"}]"#,
        r#"error: field "color" is not in the collection schema"#,
    );
    let long = "k".repeat(10_000);
    check(
        &all_types(false),
        &format!(r#"[{{"id": 1, "{long}": 1}}]"#),
        &format!(r#"error: field "{}…" is not in the collection schema"#, "k".repeat(64)),
    );
}

#[test]
fn meta_is_not_a_key_of_a_row() {
    for dynamic in [true, false] {
        check(
            &all_types(dynamic),
            r#"[{"id": 1}, {"id": 2, "$meta": {"a": 1}}]"#,
            r#"error: field "$meta", row 1: "$meta" is reserved for the dynamic field and cannot be a key of a row"#,
        );
    }
}

#[test]
fn rows_are_objects() {
    check(
        &all_types(false),
        r#"[{"id": 1}, [1, 2]]"#,
        "error: row 1: expected a JSON object, got an array",
    );
    check(&all_types(true), r#"[null]"#, "error: row 0: expected a JSON object, got null");
}

#[test]
fn no_rows_is_an_empty_batch() {
    check(&all_types(false), "[]", "error: batch has no rows");
}

#[test]
fn messages_never_echo_values() {
    let long = "x".repeat(10_000);
    for field in ["b", "i8", "f", "a", "v"] {
        let rows = [serde_json::json!({ "id": 1, field: long })];
        let err = batch_from_json_rows(&all_types(false), &rows).unwrap_err().to_string();
        assert!(err.len() < 100 && !err.contains("xxx"), "{err}");
    }
}

/// Converts and validates `rows`, then checks that the auto-id rule and the nullability rules
/// of validation see the columns conversion left out or filled with nulls.
#[track_caller]
fn check_validated(schema: &Schema, rows: &str, expect: &str) {
    let rows: Vec<Json> = serde_json::from_str(rows).unwrap();
    let got = batch_from_json_rows(schema, &rows)
        .and_then(|batch| RowBatch::validate(schema, batch, WriteKind::Insert));
    let got = match got {
        Ok(batch) => {
            format!("ok: {} rows, needs auto ids: {}", batch.num_rows(), batch.needs_auto_ids())
        }
        Err(err) => format!("error: {err}"),
    };
    assert_eq!(got, expect);
}

#[test]
fn validation_sees_left_out_and_null_columns() {
    let auto_id = Schema::new(SchemaSpec {
        fields: vec![
            FieldSpec { auto_id: true, ..FieldSpec::primary("id", DataType::Int64) },
            FieldSpec::new("v", DataType::FloatVector { dim: 1 }),
            FieldSpec::new("n", DataType::Int32),
        ],
        ..SchemaSpec::default()
    })
    .unwrap();
    check_validated(
        &auto_id,
        r#"[{"v": [1], "n": 1}, {"v": [2], "n": 2}]"#,
        "ok: 2 rows, needs auto ids: true",
    );
    check_validated(
        &auto_id,
        r#"[{"v": [1], "n": 1}, {"v": [2], "n": null}]"#,
        r#"error: field "n", row 1: null given for a field that is not nullable"#,
    );
    check_validated(
        &auto_id,
        r#"[{"v": [1], "n": 1}, {"v": [2], "n": 2, "id": 5}]"#,
        r#"error: field "id": auto_id is enabled: the primary key must not be given on insert"#,
    );
    check_validated(
        &auto_id,
        r#"[{"v": [1]}]"#,
        r#"error: field "n": is missing and is neither nullable nor has a default value"#,
    );
}

// The round trip: random rows of a schema with every field type, serialized to JSON text,
// parsed, converted and validated, must give back every generated value.

/// The round-trip schema: every field type, nullable fields, a field with a default, and the
/// dynamic field.
fn round_trip_schema() -> Schema {
    let mut fields = vec![FieldSpec::primary("id", DataType::Int64)];
    let types = [
        DataType::FloatVector { dim: 3 },
        DataType::Bool,
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::Float,
        DataType::Double,
        DataType::VarChar { max_length: 16 },
        DataType::Json,
        DataType::Array { element: ElementType::Bool, max_capacity: 3 },
        DataType::Array { element: ElementType::Int8, max_capacity: 3 },
        DataType::Array { element: ElementType::Int16, max_capacity: 3 },
        DataType::Array { element: ElementType::Int32, max_capacity: 3 },
        DataType::Array { element: ElementType::Int64, max_capacity: 3 },
        DataType::Array { element: ElementType::Float, max_capacity: 3 },
        DataType::Array { element: ElementType::Double, max_capacity: 3 },
        DataType::Array { element: ElementType::VarChar { max_length: 8 }, max_capacity: 3 },
    ];
    for (idx, data_type) in types.into_iter().enumerate() {
        fields.push(FieldSpec::new(&format!("f{idx}"), data_type));
        if !data_type.is_vector() {
            fields.push(FieldSpec {
                nullable: true,
                ..FieldSpec::new(&format!("n{idx}"), data_type)
            });
        }
    }
    fields.push(FieldSpec {
        default_value: Some(Value::Int32(7)),
        ..FieldSpec::new("with_default", DataType::Int32)
    });
    fields.push(FieldSpec {
        nullable: true,
        default_value: Some(Value::VarChar("dflt".to_owned())),
        ..FieldSpec::new("nullable_with_default", DataType::VarChar { max_length: 8 })
    });
    Schema::new(SchemaSpec { fields, enable_dynamic_field: true, ..SchemaSpec::default() }).unwrap()
}

/// Finite floats of every magnitude; they survive f32 -> JSON text -> f64 -> f32 exactly.
fn float() -> impl Strategy<Value = f32> + Clone {
    prop::num::f32::NORMAL | prop::num::f32::SUBNORMAL | prop::num::f32::ZERO
}

/// Doubles with at most ten significant decimal digits. serde_json parses those exactly
/// (without its `float_roundtrip` feature, longer ones may come back one ULP off, which would
/// be serde_json's inexactness, not ours).
fn double() -> impl Strategy<Value = f64> + Clone {
    (any::<i32>(), 0..=8i32).prop_map(|(mantissa, exp)| f64::from(mantissa) / 10f64.powi(exp))
}

/// Any string of at most `max_bytes` bytes of UTF-8.
fn string(max_bytes: u32) -> impl Strategy<Value = String> + Clone {
    any::<String>().prop_map(move |s| {
        let mut end = 0;
        for (idx, c) in s.char_indices() {
            if idx + c.len_utf8() > max_bytes as usize {
                break;
            }
            end = idx + c.len_utf8();
        }
        s[..end].to_owned()
    })
}

fn json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        double().prop_map(Json::from),
        string(12).prop_map(Json::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map(string(6), inner, 0..4)
                .prop_map(|map| Json::Object(map.into_iter().collect())),
        ]
    })
    .boxed()
}

fn array(element: ElementType, max_capacity: u32) -> BoxedStrategy<ArrayValue> {
    let n = 0..=max_capacity as usize;
    match element {
        ElementType::Bool => {
            prop::collection::vec(any::<bool>(), n).prop_map(ArrayValue::Bool).boxed()
        }
        ElementType::Int8 => {
            prop::collection::vec(any::<i8>(), n).prop_map(ArrayValue::Int8).boxed()
        }
        ElementType::Int16 => {
            prop::collection::vec(any::<i16>(), n).prop_map(ArrayValue::Int16).boxed()
        }
        ElementType::Int32 => {
            prop::collection::vec(any::<i32>(), n).prop_map(ArrayValue::Int32).boxed()
        }
        ElementType::Int64 => {
            prop::collection::vec(any::<i64>(), n).prop_map(ArrayValue::Int64).boxed()
        }
        ElementType::Float => prop::collection::vec(float(), n).prop_map(ArrayValue::Float).boxed(),
        ElementType::Double => {
            prop::collection::vec(double(), n).prop_map(ArrayValue::Double).boxed()
        }
        ElementType::VarChar { max_length } => {
            prop::collection::vec(string(max_length), n).prop_map(ArrayValue::VarChar).boxed()
        }
    }
}

/// A value of `field` as a row could hold it: `Value::Null` stands for a null or missing key.
fn cell(field: &FieldSchema) -> BoxedStrategy<Value> {
    let value = match field.data_type {
        DataType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        DataType::Int8 => any::<i8>().prop_map(Value::Int8).boxed(),
        DataType::Int16 => any::<i16>().prop_map(Value::Int16).boxed(),
        DataType::Int32 => any::<i32>().prop_map(Value::Int32).boxed(),
        DataType::Int64 => any::<i64>().prop_map(Value::Int64).boxed(),
        DataType::Float => float().prop_map(Value::Float).boxed(),
        DataType::Double => double().prop_map(Value::Double).boxed(),
        DataType::VarChar { max_length } => string(max_length).prop_map(Value::VarChar).boxed(),
        // A top-level JSON null would mean a null row, generated separately below.
        DataType::Json => json()
            .prop_filter("a top-level null is a null row", |json| !json.is_null())
            .prop_map(|json| Value::Json(json.to_string()))
            .boxed(),
        DataType::Array { element, max_capacity } => {
            array(element, max_capacity).prop_map(Value::Array).boxed()
        }
        DataType::FloatVector { dim } => {
            prop::collection::vec(float(), dim as usize).prop_map(Value::FloatVector).boxed()
        }
    };
    if field.nullable || field.default_value.is_some() {
        prop_oneof![1 => Just(Value::Null), 3 => value].boxed()
    } else {
        value
    }
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(v) => Json::from(*v),
        Value::Int8(v) => Json::from(*v),
        Value::Int16(v) => Json::from(*v),
        Value::Int32(v) => Json::from(*v),
        Value::Int64(v) => Json::from(*v),
        Value::Float(v) => Json::from(*v),
        Value::Double(v) => Json::from(*v),
        Value::VarChar(v) => Json::from(v.as_str()),
        Value::Json(text) => serde_json::from_str(text).unwrap(),
        Value::Array(array) => match array {
            ArrayValue::Bool(v) => Json::from(v.clone()),
            ArrayValue::Int8(v) => Json::from(v.clone()),
            ArrayValue::Int16(v) => Json::from(v.clone()),
            ArrayValue::Int32(v) => Json::from(v.clone()),
            ArrayValue::Int64(v) => Json::from(v.clone()),
            ArrayValue::Float(v) => Json::from(v.clone()),
            ArrayValue::Double(v) => Json::from(v.clone()),
            ArrayValue::VarChar(v) => Json::from(v.clone()),
        },
        Value::FloatVector(v) => Json::from(v.clone()),
    }
}

/// One generated row: a value per schema field (the dynamic field excluded), whether each null
/// is sent as a missing key rather than as `null`, and the row's dynamic keys.
type GeneratedRow = (Vec<Value>, Vec<bool>, BTreeMap<String, Json>);

fn rows(schema: &Schema) -> impl Strategy<Value = Vec<GeneratedRow>> {
    let fields: Vec<&FieldSchema> = schema.fields().iter().filter(|f| !f.is_dynamic).collect();
    let cells: Vec<BoxedStrategy<Value>> = fields.iter().map(|f| cell(f)).collect();
    let omit = prop::collection::vec(any::<bool>(), fields.len());
    // The `x_` prefix keeps dynamic keys apart from the schema's field names.
    let extra = prop::collection::btree_map(string(8).prop_map(|k| format!("x_{k}")), json(), 0..3);
    let row = (cells, omit, extra);
    (1..6usize).prop_flat_map(move |n| {
        (prop::collection::btree_set(any::<i64>(), n), prop::collection::vec(row.clone(), n))
            .prop_map(|(ids, mut rows)| {
                for (id, row) in ids.into_iter().zip(&mut rows) {
                    row.0[0] = Value::Int64(id);
                }
                rows
            })
    })
}

/// Serializes `generated` to JSON text, parses it, converts and validates it, and checks every
/// cell against the generated value (or the field's default for a null).
#[track_caller]
fn check_round_trip(schema: &Schema, generated: &[GeneratedRow]) {
    let json_rows: Vec<Json> = generated
        .iter()
        .map(|(values, omit, extra)| {
            let mut object = Map::new();
            for ((field, value), omit) in schema.fields().iter().zip(values).zip(omit) {
                if !(value == &Value::Null && *omit) {
                    object.insert(field.name.clone(), to_json(value));
                }
            }
            object.extend(extra.clone());
            Json::Object(object)
        })
        .collect();
    let text = serde_json::to_string(&json_rows).unwrap();
    let parsed: Vec<Json> = serde_json::from_str(&text).unwrap();
    let batch = batch_from_json_rows(schema, &parsed).unwrap();
    let batch = RowBatch::validate(schema, batch, WriteKind::Insert).unwrap();
    assert_eq!(batch.num_rows(), generated.len());
    for (row, (values, _, extra)) in generated.iter().enumerate() {
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            let expect = if field.is_dynamic {
                Value::Json(Json::Object(extra.clone().into_iter().collect()).to_string())
            } else {
                let idx = schema.field_index(&field.name).unwrap();
                match (&values[idx], &field.default_value) {
                    (Value::Null, Some(default)) => default.clone(),
                    (value, _) => value.clone(),
                }
            };
            assert_eq!(column.value(row), Some(expect), "field {:?}, row {row}", field.name);
        }
    }
}

proptest! {
    #[test]
    fn json_rows_round_trip(generated in rows(&round_trip_schema())) {
        check_round_trip(&round_trip_schema(), &generated);
    }
}
