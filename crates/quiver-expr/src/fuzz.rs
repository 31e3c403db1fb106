//! Fuzzing entry points. The cargo-fuzz targets in `fuzz/` and the bounded fuzz test of the
//! normal test suite call these, so normal builds type-check them.

use std::collections::HashMap;
use std::sync::OnceLock;

use quiver_core::{
    ArrayValue, Column, ColumnData, DataType, ElementType, FieldSpec, Schema, SchemaSpec,
};

use crate::{EvalError, ExprError, Limits, TemplateValue, parse};

/// Parses `data` (as UTF-8, lossily) under the default limits, binds fixed template values,
/// checks it against [`fuzz_schema`] and evaluates it over [`fuzz_columns`], asserting that
/// nothing panics, every error's span lies within the input and evaluation is deterministic.
pub fn check_parse_and_check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_text(&text);
}

/// [`check_parse_and_check`] on text.
pub fn check_text(text: &str) {
    let limits = Limits::default();
    let expr = match parse(text, &limits) {
        Ok(expr) => expr,
        Err(e) => return assert_span(&e, text),
    };
    let _ = expr.to_string();
    let bound = match expr.bind(fuzz_params()) {
        Ok(bound) => bound,
        Err(e) => return assert_span(&e, text),
    };
    let plan = match bound.check(fuzz_schema()) {
        Ok(plan) => plan,
        Err(e) => return assert_span(&e, text),
    };
    let _ = plan.to_string();
    let _ = plan.pk_values();
    let (columns, num_rows) = fuzz_columns();
    let first = plan.evaluate(columns, num_rows);
    match &first {
        Ok(bits) => assert_eq!(bits.len(), num_rows, "one bit per row"),
        Err(
            EvalError::DivisionByZero { span, .. }
            | EvalError::IntegerOverflow { span, .. }
            | EvalError::FloatOverflow { span, .. },
        ) => {
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "span {span:?} outside input"
            );
        }
        Err(other) => panic!("columns matching the schema were refused: {other}"),
    }
    assert_eq!(first, plan.evaluate(columns, num_rows), "evaluation is deterministic");
}

fn assert_span(e: &ExprError, text: &str) {
    let span = e.span;
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "span {span:?} outside the input of {} bytes: {e}",
        text.len()
    );
    let _ = e.to_string();
}

/// Template values the fuzzer's expressions may use: `{i}`, `{f}`, `{s}`, `{b}`, `{l}`, `{j}`.
pub fn fuzz_params() -> &'static HashMap<String, TemplateValue> {
    static PARAMS: OnceLock<HashMap<String, TemplateValue>> = OnceLock::new();
    PARAMS.get_or_init(|| {
        HashMap::from([
            ("i".to_owned(), TemplateValue::Int64(7)),
            ("f".to_owned(), TemplateValue::Float(2.5)),
            ("s".to_owned(), TemplateValue::String("red".to_owned())),
            ("b".to_owned(), TemplateValue::Bool(true)),
            (
                "l".to_owned(),
                TemplateValue::Array(vec![TemplateValue::Int64(1), TemplateValue::Int64(3)]),
            ),
            ("j".to_owned(), TemplateValue::Json(serde_json::json!(["red", 1, [2]]))),
        ])
    })
}

/// A schema with every scalar type (some nullable), JSON, Arrays, a vector and the dynamic
/// field: `id` (Int64 primary key), `b`, `i8`, `i16`, `i32`, `age` (Int64), `f` (Float), `d`
/// (Double), `name` (VarChar), `meta` (JSON), `tags` (Array of VarChar), `nums` (Array of
/// Int64), `fl` (Array of Float), `vec`, `$meta`.
pub fn fuzz_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let nullable =
            |name: &str, data_type| FieldSpec { nullable: true, ..FieldSpec::new(name, data_type) };
        let spec = SchemaSpec {
            description: String::new(),
            fields: vec![
                FieldSpec::primary("id", DataType::Int64),
                nullable("b", DataType::Bool),
                FieldSpec::new("i8", DataType::Int8),
                FieldSpec::new("i16", DataType::Int16),
                nullable("i32", DataType::Int32),
                nullable("age", DataType::Int64),
                FieldSpec::new("f", DataType::Float),
                nullable("d", DataType::Double),
                nullable("name", DataType::VarChar { max_length: 64 }),
                nullable("meta", DataType::Json),
                FieldSpec::new(
                    "tags",
                    DataType::Array {
                        element: ElementType::VarChar { max_length: 16 },
                        max_capacity: 8,
                    },
                ),
                nullable("nums", DataType::Array { element: ElementType::Int64, max_capacity: 8 }),
                FieldSpec::new(
                    "fl",
                    DataType::Array { element: ElementType::Float, max_capacity: 8 },
                ),
                FieldSpec::new("vec", DataType::FloatVector { dim: 2 }),
            ],
            enable_dynamic_field: true,
        };
        match Schema::new(spec) {
            Ok(schema) => schema,
            Err(e) => panic!("the fuzz schema is valid: {e}"),
        }
    })
}

/// Eight rows of [`fuzz_schema`], with nulls, extreme integers and assorted JSON.
pub fn fuzz_columns() -> (&'static [Column], usize) {
    static COLUMNS: OnceLock<Vec<Column>> = OnceLock::new();
    let columns = COLUMNS.get_or_init(|| {
        let valid = |mask: [bool; 8]| Some(mask.to_vec());
        let strings = |v: [&str; 8]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        vec![
            Column::new(ColumnData::Int64(vec![1, 2, 3, 4, 5, 6, 7, 8])),
            Column {
                data: ColumnData::Bool(vec![true, false, true, false, true, false, true, false]),
                validity: valid([true, true, false, true, true, true, true, true]),
            },
            Column::new(ColumnData::Int8(vec![i8::MIN, -1, 0, 1, 2, 3, 100, i8::MAX])),
            Column::new(ColumnData::Int16(vec![0, 1, 2, 3, -4, 5, 6, 7])),
            Column {
                data: ColumnData::Int32(vec![0, i32::MAX, 2, i32::MIN, 4, 5, 6, 7]),
                validity: valid([true, true, true, true, false, true, true, true]),
            },
            Column {
                data: ColumnData::Int64(vec![10, 20, 0, 40, i64::MAX, i64::MIN, 70, -5]),
                validity: valid([true, true, false, true, true, true, true, true]),
            },
            Column::new(ColumnData::Float(vec![0.5, -1.5, 0.1, 3.0, 1e30, 0.0, -0.0, 7.25])),
            Column {
                data: ColumnData::Double(vec![0.5, 1e300, -2.0, 3.5, 0.0, 5.0, 6.0, 7.0]),
                validity: valid([true, true, true, false, true, true, true, true]),
            },
            Column {
                data: ColumnData::VarChar(strings([
                    "red", "", "abc", "Abc", "héllo", "a%b", "a_b", "abcabc",
                ])),
                validity: valid([true, true, true, true, true, false, true, true]),
            },
            Column {
                data: ColumnData::Json(strings([
                    r#"{"a": 1, "b": {"c": "x"}, "arr": [1, 2, 3]}"#,
                    r#"{"a": 2.5, "b": {"c": 7}, "arr": ["red", 1]}"#,
                    r#"{"a": "1", "arr": []}"#,
                    r#"null"#,
                    r#"[1, {"a": 2}, "x"]"#,
                    r#"{"a": null, "b": true}"#,
                    r#"{"a": 9223372036854775807, "a": -1}"#,
                    r#""plain""#,
                ])),
                validity: valid([true, true, true, false, true, true, true, true]),
            },
            Column::new(ColumnData::Array(vec![
                ArrayValue::VarChar(vec!["red".to_owned(), "blue".to_owned()]),
                ArrayValue::VarChar(Vec::new()),
                ArrayValue::VarChar(vec!["green".to_owned()]),
                ArrayValue::VarChar(vec!["red".to_owned(), "red".to_owned()]),
                ArrayValue::VarChar(vec!["a%b".to_owned()]),
                ArrayValue::VarChar(vec!["x".to_owned(); 8]),
                ArrayValue::VarChar(vec!["blue".to_owned()]),
                ArrayValue::VarChar(vec![String::new()]),
            ])),
            Column {
                data: ColumnData::Array(vec![
                    ArrayValue::Int64(vec![1, 2, 3]),
                    ArrayValue::Int64(vec![]),
                    ArrayValue::Int64(vec![i64::MAX]),
                    ArrayValue::Int64(vec![3, 1]),
                    ArrayValue::Int64(vec![0]),
                    ArrayValue::Int64(vec![-1, -2]),
                    ArrayValue::Int64(vec![7]),
                    ArrayValue::Int64(vec![1]),
                ]),
                validity: valid([true, true, true, true, false, true, true, true]),
            },
            Column::new(ColumnData::Array(vec![
                ArrayValue::Float(vec![0.1, 2.0]),
                ArrayValue::Float(vec![]),
                ArrayValue::Float(vec![1.5]),
                ArrayValue::Float(vec![3.0, 0.1]),
                ArrayValue::Float(vec![0.0]),
                ArrayValue::Float(vec![-0.0]),
                ArrayValue::Float(vec![7.0]),
                ArrayValue::Float(vec![1e30]),
            ])),
            Column::new(ColumnData::FloatVector { dim: 2, data: vec![0.0; 16] }),
            Column::new(ColumnData::Json(strings([
                r#"{"color": "red", "n": 1}"#,
                r#"{"color": "blue", "n": 2.5, "tags": ["a", "b"]}"#,
                r#"{}"#,
                r#"{"color": null}"#,
                r#"{"n": -3, "nested": {"k": [1, 2]}}"#,
                r#"{"color": "red", "n": 9223372036854775807}"#,
                r#"{"color": 5}"#,
                r#"{"flag": true}"#,
            ]))),
        ]
    });
    (columns, 8)
}
