//! Tests of batch validation.
//!
//! Every case validates columns against a schema made of `id` (Int64 primary key), `v`
//! (FloatVector of dim 1) and the fields the case adds, and compares the validated rows (or the
//! error message) with the expectation.

use super::*;
use crate::{FieldSpec, SchemaSpec};

fn schema_with(extra: Vec<FieldSpec>, enable_dynamic_field: bool) -> Schema {
    let mut fields = vec![
        FieldSpec::primary("id", DataType::Int64),
        FieldSpec::new("v", DataType::FloatVector { dim: 1 }),
    ];
    fields.extend(extra);
    Schema::new(SchemaSpec { description: String::new(), fields, enable_dynamic_field }).unwrap()
}

fn schema(extra: Vec<FieldSpec>) -> Schema {
    schema_with(extra, false)
}

fn nullable(name: &str, data_type: DataType) -> FieldSpec {
    FieldSpec { nullable: true, ..FieldSpec::new(name, data_type) }
}

fn with_default(name: &str, data_type: DataType, default: Value) -> FieldSpec {
    FieldSpec { default_value: Some(default), ..FieldSpec::new(name, data_type) }
}

fn col(name: &str, data: ColumnData) -> (String, Column) {
    (name.to_owned(), Column::new(data))
}

fn masked(name: &str, data: ColumnData, validity: &[bool]) -> (String, Column) {
    (name.to_owned(), Column { data, validity: Some(validity.to_vec()) })
}

fn ids(ids: &[i64]) -> (String, Column) {
    col("id", ColumnData::Int64(ids.to_vec()))
}

/// A vector column of dim 1 with the given values.
fn vecs(values: &[f32]) -> (String, Column) {
    col("v", ColumnData::FloatVector { dim: 1, data: values.to_vec() })
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| (*s).to_owned()).collect()
}

/// One line per schema field: its name and the value of every row.
fn render(schema: &Schema, batch: &RowBatch) -> String {
    let lines: Vec<String> = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            let values: Vec<String> = (0..batch.num_rows())
                .map(|row| match column.value(row) {
                    Some(value) => format!("{value:?}"),
                    None => "<missing>".to_owned(),
                })
                .collect();
            format!("{}: {}", field.name, values.join(", "))
        })
        .collect();
    lines.join("\n")
}

/// Validates `columns` as a write of `kind` and compares the rendered rows or the error
/// message with `expect`.
#[track_caller]
fn check(schema: &Schema, kind: WriteKind, columns: Vec<(String, Column)>, expect: &str) {
    let got = match RowBatch::validate(schema, InsertBatch { columns }, kind) {
        Ok(batch) => render(schema, &batch),
        Err(err) => format!("error: {err}"),
    };
    assert_eq!(got, expect);
}

#[track_caller]
fn check_insert(schema: &Schema, columns: Vec<(String, Column)>, expect: &str) {
    check(schema, WriteKind::Insert, columns, expect);
}

#[test]
fn complete_batch_is_accepted_in_schema_order() {
    let schema = schema(vec![FieldSpec::new("n", DataType::Int32)]);
    check_insert(
        &schema,
        vec![col("n", ColumnData::Int32(vec![5, 6])), vecs(&[0.5, 1.5]), ids(&[1, 2])],
        "id: Int64(1), Int64(2)\nv: FloatVector([0.5]), FloatVector([1.5])\nn: Int32(5), Int32(6)",
    );
}

#[test]
fn missing_non_nullable_field_is_named() {
    let schema = schema(vec![FieldSpec::new("n", DataType::Int32)]);
    check_insert(
        &schema,
        vec![ids(&[1]), vecs(&[0.5])],
        r#"error: field "n": is missing and is neither nullable nor has a default value"#,
    );
    check_insert(
        &schema,
        vec![ids(&[1]), col("n", ColumnData::Int32(vec![5]))],
        r#"error: field "v": is missing and is neither nullable nor has a default value"#,
    );
    // Without auto_id the primary key is required.
    check_insert(
        &schema,
        vec![vecs(&[0.5]), col("n", ColumnData::Int32(vec![5]))],
        r#"error: field "id": is missing and is neither nullable nor has a default value"#,
    );
}

#[test]
fn missing_nullable_field_is_all_null() {
    let schema = schema(vec![nullable("n", DataType::Int32), nullable("s", varchar(4))]);
    check_insert(
        &schema,
        vec![ids(&[1, 2]), vecs(&[0.5, 1.5])],
        "id: Int64(1), Int64(2)\nv: FloatVector([0.5]), FloatVector([1.5])\nn: Null, Null\n\
         s: Null, Null",
    );
}

#[test]
fn default_fills_a_missing_column_and_null_rows() {
    let schema = schema(vec![
        with_default("n", DataType::Int32, Value::Int32(7)),
        FieldSpec {
            nullable: true,
            default_value: Some(Value::VarChar("x".to_owned())),
            ..FieldSpec::new("s", varchar(4))
        },
    ]);
    check_insert(
        &schema,
        vec![ids(&[1, 2]), vecs(&[0.5, 1.5])],
        "id: Int64(1), Int64(2)\nv: FloatVector([0.5]), FloatVector([1.5])\nn: Int32(7), Int32(7)\n\
         s: VarChar(\"x\"), VarChar(\"x\")",
    );
    check_insert(
        &schema,
        vec![
            ids(&[1, 2, 3]),
            vecs(&[0.5, 1.5, 2.5]),
            masked("n", ColumnData::Int32(vec![0, 5, 0]), &[false, true, false]),
            masked("s", ColumnData::VarChar(strings(&["a", "", "c"])), &[true, false, true]),
        ],
        "id: Int64(1), Int64(2), Int64(3)\nv: FloatVector([0.5]), FloatVector([1.5]), \
         FloatVector([2.5])\nn: Int32(7), Int32(5), Int32(7)\n\
         s: VarChar(\"a\"), VarChar(\"x\"), VarChar(\"c\")",
    );
}

#[test]
fn null_rows_of_a_nullable_field_stay_null() {
    let schema = schema(vec![nullable("n", DataType::Int32)]);
    check_insert(
        &schema,
        vec![
            ids(&[1, 2]),
            vecs(&[0.5, 1.5]),
            masked("n", ColumnData::Int32(vec![4, 0]), &[true, false]),
        ],
        "id: Int64(1), Int64(2)\nv: FloatVector([0.5]), FloatVector([1.5])\nn: Int32(4), Null",
    );
}

#[test]
fn null_in_a_non_nullable_field_names_the_row() {
    let schema = schema(vec![FieldSpec::new("n", DataType::Int32)]);
    check_insert(
        &schema,
        vec![
            ids(&[1, 2, 3]),
            vecs(&[0.5, 1.5, 2.5]),
            masked("n", ColumnData::Int32(vec![1, 0, 3]), &[true, false, true]),
        ],
        r#"error: field "n", row 1: null given for a field that is not nullable"#,
    );
    check_insert(
        &schema,
        vec![
            masked("id", ColumnData::Int64(vec![1, 2]), &[true, false]),
            vecs(&[0.5, 1.5]),
            col("n", ColumnData::Int32(vec![1, 2])),
        ],
        r#"error: field "id", row 1: null given for a field that is not nullable"#,
    );
    // An all-valid mask is fine even on a non-nullable field.
    check_insert(
        &schema,
        vec![ids(&[1]), vecs(&[0.5]), masked("n", ColumnData::Int32(vec![9]), &[true])],
        "id: Int64(1)\nv: FloatVector([0.5])\nn: Int32(9)",
    );
}

#[test]
fn column_type_must_match_the_field() {
    let schema = schema(vec![FieldSpec::new("n", DataType::Int32)]);
    check_insert(
        &schema,
        vec![ids(&[1]), vecs(&[0.5]), col("n", ColumnData::Int64(vec![1]))],
        r#"error: field "n": is Int32 but the data given is Int64"#,
    );
    check_insert(
        &schema,
        vec![col("id", ColumnData::VarChar(strings(&["a"]))), vecs(&[0.5])],
        r#"error: field "id": is Int64 but the data given is VarChar"#,
    );
}

#[test]
fn vector_dimension_must_match() {
    let schema = schema(vec![]);
    check_insert(
        &schema,
        vec![ids(&[1]), col("v", ColumnData::FloatVector { dim: 2, data: vec![0.5, 0.5] })],
        r#"error: field "v": vector dimension is 2 but the field's dim is 1"#,
    );
}

#[test]
fn vector_data_must_be_whole_rows() {
    // Three floats at dim 2 are one row and a half; the half used to be accepted silently.
    let schema = schema_with(vec![FieldSpec::new("w", DataType::FloatVector { dim: 2 })], false);
    check_insert(
        &schema,
        vec![
            ids(&[1]),
            vecs(&[0.5]),
            col("w", ColumnData::FloatVector { dim: 2, data: vec![1.0; 3] }),
        ],
        r#"error: field "w": vector data of 3 floats is not a multiple of dim 2"#,
    );
}

#[test]
fn nan_and_infinity_are_rejected() {
    let schema =
        schema(vec![FieldSpec::new("f", DataType::Float), FieldSpec::new("d", DataType::Double)]);
    let floats = |f: &[f32], d: &[f64]| {
        vec![
            ids(&[1, 2]),
            col("f", ColumnData::Float(f.to_vec())),
            col("d", ColumnData::Double(d.to_vec())),
        ]
    };
    let mut columns = floats(&[1.0, 2.0], &[1.0, 2.0]);
    columns.push(vecs(&[0.5, f32::NAN]));
    check_insert(&schema, columns, r#"error: field "v", row 1: vector holds NaN or infinity"#);
    let mut columns = floats(&[1.0, f32::NAN], &[1.0, 2.0]);
    columns.push(vecs(&[0.5, 1.5]));
    check_insert(
        &schema,
        columns,
        r#"error: field "f", row 1: NaN or infinity is not a valid Float"#,
    );
    let mut columns = floats(&[1.0, 2.0], &[f64::NEG_INFINITY, 2.0]);
    columns.push(vecs(&[0.5, 1.5]));
    check_insert(
        &schema,
        columns,
        r#"error: field "d", row 0: NaN or infinity is not a valid Double"#,
    );
}

fn varchar(max_length: u32) -> DataType {
    DataType::VarChar { max_length }
}

#[test]
fn varchar_max_length_counts_bytes() {
    let schema = schema(vec![FieldSpec::new("s", varchar(4))]);
    let with_strings = |values: &[&str]| {
        let n = values.len();
        let keys: Vec<i64> = (0..n as i64).collect();
        vec![ids(&keys), vecs(&vec![0.5; n]), col("s", ColumnData::VarChar(strings(values)))]
    };
    // "éé" is four bytes (two characters), "€" three bytes.
    check_insert(
        &schema,
        with_strings(&["abcd", "éé", "€a", ""]),
        "id: Int64(0), Int64(1), Int64(2), Int64(3)\nv: FloatVector([0.5]), FloatVector([0.5]), \
         FloatVector([0.5]), FloatVector([0.5])\ns: VarChar(\"abcd\"), VarChar(\"éé\"), \
         VarChar(\"€a\"), VarChar(\"\")",
    );
    check_insert(
        &schema,
        with_strings(&["abcd", "ééa"]),
        r#"error: field "s", row 1: string of 5 bytes exceeds max_length 4"#,
    );
    check_insert(
        &schema,
        with_strings(&["€€"]),
        r#"error: field "s", row 0: string of 6 bytes exceeds max_length 4"#,
    );
    // A null row's placeholder is not checked.
    let schema = schema_with(vec![nullable("s", varchar(1))], false);
    check_insert(
        &schema,
        vec![
            ids(&[1]),
            vecs(&[0.5]),
            masked("s", ColumnData::VarChar(strings(&["too long"])), &[false]),
        ],
        "id: Int64(1)\nv: FloatVector([0.5])\ns: Null",
    );
}

#[test]
fn array_capacity_element_type_and_length() {
    let schema = schema(vec![
        FieldSpec::new("a", DataType::Array { element: ElementType::Int32, max_capacity: 2 }),
        FieldSpec::new(
            "t",
            DataType::Array { element: ElementType::VarChar { max_length: 2 }, max_capacity: 2 },
        ),
        FieldSpec::new("f", DataType::Array { element: ElementType::Float, max_capacity: 2 }),
    ]);
    let with_arrays = |a: ArrayValue, t: ArrayValue, f: ArrayValue| {
        vec![
            ids(&[1]),
            vecs(&[0.5]),
            col("a", ColumnData::Array(vec![a])),
            col("t", ColumnData::Array(vec![t])),
            col("f", ColumnData::Array(vec![f])),
        ]
    };
    check_insert(
        &schema,
        with_arrays(
            ArrayValue::Int32(vec![1, 2]),
            ArrayValue::VarChar(strings(&["ab", "é"])),
            ArrayValue::Float(vec![]),
        ),
        "id: Int64(1)\nv: FloatVector([0.5])\na: Array(Int32([1, 2]))\n\
         t: Array(VarChar([\"ab\", \"é\"]))\nf: Array(Float([]))",
    );
    check_insert(
        &schema,
        with_arrays(
            ArrayValue::Int32(vec![1, 2, 3]),
            ArrayValue::VarChar(vec![]),
            ArrayValue::Float(vec![]),
        ),
        r#"error: field "a", row 0: array of 3 elements exceeds max_capacity 2"#,
    );
    check_insert(
        &schema,
        with_arrays(
            ArrayValue::Int64(vec![1]),
            ArrayValue::VarChar(vec![]),
            ArrayValue::Float(vec![]),
        ),
        r#"error: field "a", row 0: array elements must be finite values of type Int32"#,
    );
    check_insert(
        &schema,
        with_arrays(
            ArrayValue::Int32(vec![]),
            ArrayValue::VarChar(strings(&["ok", "abc"])),
            ArrayValue::Float(vec![]),
        ),
        r#"error: field "t", row 0: array element exceeds max_length 2"#,
    );
    check_insert(
        &schema,
        with_arrays(
            ArrayValue::Int32(vec![]),
            ArrayValue::VarChar(vec![]),
            ArrayValue::Float(vec![1.0, f32::NAN]),
        ),
        r#"error: field "f", row 0: array elements must be finite values of type Float"#,
    );
}

fn json_schema() -> Schema {
    schema(vec![FieldSpec::new("j", DataType::Json)])
}

fn with_json(text: String) -> Vec<(String, Column)> {
    vec![ids(&[1]), vecs(&[0.5]), col("j", ColumnData::Json(vec![text]))]
}

#[test]
fn json_must_parse() {
    check_insert(
        &json_schema(),
        with_json(r#"{"a": [1, 2]}"#.to_owned()),
        "id: Int64(1)\nv: FloatVector([0.5])\nj: Json(\"{\\\"a\\\": [1, 2]}\")",
    );
    check_insert(
        &json_schema(),
        with_json("{".to_owned()),
        r#"error: field "j", row 0: invalid JSON: EOF while parsing an object at line 1 column 1"#,
    );
}

#[test]
fn json_is_at_most_65536_bytes() {
    // A JSON string literal: two quotes around the letters.
    let text = |bytes: usize| format!("\"{}\"", "a".repeat(bytes - 2));
    let got = RowBatch::validate(
        &json_schema(),
        InsertBatch { columns: with_json(text(MAX_JSON_BYTES)) },
        WriteKind::Insert,
    );
    assert!(got.is_ok(), "{got:?}");
    check_insert(
        &json_schema(),
        with_json(text(MAX_JSON_BYTES + 1)),
        r#"error: field "j", row 0: JSON of 65537 bytes exceeds the limit of 65536 bytes"#,
    );
}

#[test]
fn dynamic_field_holds_objects_that_do_not_shadow_fields() {
    let long = "l".repeat(255);
    let schema = schema_with(vec![nullable(&long, DataType::Bool)], true);
    let with_meta = |text: &str| {
        vec![ids(&[1]), vecs(&[0.5]), col("$meta", ColumnData::Json(vec![text.to_owned()]))]
    };
    check_insert(
        &schema,
        with_meta(r#"{"color":"red"}"#),
        &format!(
            "id: Int64(1)\nv: FloatVector([0.5])\n{long}: Null\n$meta: Json(\"{{\\\"color\\\":\\\"red\\\"}}\")"
        ),
    );
    check_insert(
        &schema,
        with_meta("[1]"),
        r#"error: field "$meta", row 0: the dynamic field must hold a JSON object"#,
    );
    check_insert(
        &schema,
        with_meta(r#"{"id": 5}"#),
        r#"error: field "$meta", row 0: dynamic key "id" shadows a field of the schema"#,
    );
    check_insert(
        &schema,
        with_meta(r#"{"$meta": {}}"#),
        r#"error: field "$meta", row 0: dynamic key "$meta" shadows a field of the schema"#,
    );
    // The echo of a shadowing key is bounded.
    check_insert(
        &schema,
        with_meta(&format!(r#"{{"{long}": true}}"#)),
        &format!(
            r#"error: field "$meta", row 0: dynamic key "{}…" shadows a field of the schema"#,
            "l".repeat(64)
        ),
    );
}

#[test]
fn missing_dynamic_field_is_an_empty_object_per_row() {
    let schema = schema_with(vec![], true);
    check_insert(
        &schema,
        vec![ids(&[1, 2]), vecs(&[0.5, 1.5])],
        "id: Int64(1), Int64(2)\nv: FloatVector([0.5]), FloatVector([1.5])\n\
         $meta: Json(\"{}\"), Json(\"{}\")",
    );
}

fn auto_id_schema(pk: DataType) -> Schema {
    let fields = vec![
        FieldSpec { auto_id: true, ..FieldSpec::primary("id", pk) },
        FieldSpec::new("v", DataType::FloatVector { dim: 1 }),
    ];
    Schema::new(SchemaSpec { fields, ..SchemaSpec::default() }).unwrap()
}

#[test]
fn auto_id_insert_rejects_a_given_primary_key() {
    check_insert(
        &auto_id_schema(DataType::Int64),
        vec![ids(&[1]), vecs(&[0.5])],
        r#"error: field "id": auto_id is enabled: the primary key must not be given on insert"#,
    );
}

/// Validates an auto-id insert of `rows` vectors, checks it waits for keys, assigns keys from
/// `first` and compares the rendered rows with `expect`.
#[track_caller]
fn check_auto_ids(schema: &Schema, rows: &[f32], first: i64, expect: &str) {
    let mut batch =
        RowBatch::validate(schema, InsertBatch { columns: vec![vecs(rows)] }, WriteKind::Insert)
            .unwrap();
    assert!(batch.needs_auto_ids());
    batch.assign_auto_ids(schema, first);
    assert!(!batch.needs_auto_ids());
    assert_eq!(render(schema, &batch), expect);
}

#[test]
fn auto_id_insert_gets_consecutive_keys() {
    check_auto_ids(
        &auto_id_schema(DataType::Int64),
        &[0.5, 1.5, 2.5],
        41,
        "id: Int64(41), Int64(42), Int64(43)\nv: FloatVector([0.5]), FloatVector([1.5]), \
         FloatVector([2.5])",
    );
}

#[test]
fn auto_id_varchar_keys_are_decimal_strings() {
    // The placeholder key column used to be Int64 whatever the primary key's type.
    check_auto_ids(
        &auto_id_schema(varchar(32)),
        &[0.5, 1.5],
        9,
        "id: VarChar(\"9\"), VarChar(\"10\")\nv: FloatVector([0.5]), FloatVector([1.5])",
    );
}

#[test]
fn upsert_on_auto_id_collection_takes_the_primary_key() {
    let schema = auto_id_schema(DataType::Int64);
    let batch = RowBatch::validate(
        &schema,
        InsertBatch { columns: vec![ids(&[7, 3]), vecs(&[0.5, 1.5])] },
        WriteKind::Upsert,
    )
    .unwrap();
    assert!(!batch.needs_auto_ids());
    assert_eq!(batch.primary_keys(&schema), [PkValue::Int64(7), PkValue::Int64(3)]);
}

#[test]
fn duplicate_primary_keys_name_the_row() {
    let schema = schema(vec![]);
    check_insert(
        &schema,
        vec![ids(&[1, 2, 1]), vecs(&[0.5, 1.5, 2.5])],
        r#"error: field "id", row 2: duplicate primary key in the batch"#,
    );
    check(
        &schema,
        WriteKind::Upsert,
        vec![ids(&[4, 4]), vecs(&[0.5, 1.5])],
        r#"error: field "id", row 1: duplicate primary key in the batch"#,
    );
    let varchar_pk = Schema::new(SchemaSpec {
        fields: vec![
            FieldSpec::primary("id", varchar(8)),
            FieldSpec::new("v", DataType::FloatVector { dim: 1 }),
        ],
        ..SchemaSpec::default()
    })
    .unwrap();
    check_insert(
        &varchar_pk,
        vec![col("id", ColumnData::VarChar(strings(&["a", "b", "b"]))), vecs(&[0.5, 1.5, 2.5])],
        r#"error: field "id", row 2: duplicate primary key in the batch"#,
    );
}

#[test]
fn unknown_columns_are_rejected_with_a_bounded_echo() {
    let schema = schema(vec![]);
    check_insert(
        &schema,
        vec![ids(&[1]), vecs(&[0.5]), col("nope", ColumnData::Bool(vec![true]))],
        r#"error: field "nope" is not in the collection schema"#,
    );
    check_insert(
        &schema,
        vec![ids(&[1]), vecs(&[0.5]), col("$meta", ColumnData::Json(vec!["{}".to_owned()]))],
        r#"error: field "$meta" is not in the collection schema"#,
    );
    check_insert(
        &schema,
        vec![ids(&[1]), vecs(&[0.5]), col(&"x".repeat(10_000), ColumnData::Bool(vec![true]))],
        &format!(r#"error: field "{}…" is not in the collection schema"#, "x".repeat(64)),
    );
}

#[test]
fn empty_batches_are_rejected() {
    let schema = schema(vec![]);
    check_insert(&schema, vec![], "error: batch has no rows");
    check_insert(&schema, vec![ids(&[]), vecs(&[])], "error: batch has no rows");
}

#[test]
fn columns_must_have_the_same_length() {
    let schema = schema(vec![]);
    check_insert(
        &schema,
        vec![ids(&[1, 2]), vecs(&[0.5])],
        r#"error: field "v": has 1 rows but the batch has 2"#,
    );
    check_insert(
        &schema,
        vec![
            ids(&[1, 2]),
            (
                "v".to_owned(),
                Column {
                    data: ColumnData::FloatVector { dim: 1, data: vec![0.5, 1.5] },
                    validity: Some(vec![true]),
                },
            ),
        ],
        r#"error: field "v": null mask length differs from the row count"#,
    );
}

#[test]
fn a_column_is_given_once() {
    let schema = schema(vec![]);
    check_insert(
        &schema,
        vec![ids(&[1]), vecs(&[0.5]), vecs(&[1.5])],
        r#"error: field "v": given more than once"#,
    );
}
