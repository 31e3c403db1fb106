//! Filter expressions through the engine: query, count, search and delete by filter, template
//! values that stay values, dynamic fields, and errors that name the position.

use std::collections::HashMap;

use quiver_core::{DataType, FieldSpec, Metric, PkValue, SchemaSpec, Value, batch_from_json_rows};
use quiver_engine::{
    Collection, Database, EngineError, FilterLimits, Options, QueryRequest, SearchParams,
    SearchRequest, TemplateValue,
};
use serde_json::json;

use crate::support::reopen;

fn options() -> Options {
    Options { maintenance_interval: None, ..Options::default() }
}

/// 100 rows: id 0..100, tag = id % 10, name = "n<id>", color in $meta for even ids.
fn collection(db: &Database) -> std::sync::Arc<Collection> {
    let spec = SchemaSpec {
        description: String::new(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("tag", DataType::Int64),
            FieldSpec::new("name", DataType::VarChar { max_length: 16 }),
            FieldSpec::new("v", DataType::FloatVector { dim: 2 }),
        ],
        enable_dynamic_field: true,
    };
    let c = db.create_collection("default", "c", spec).unwrap();
    let rows: Vec<serde_json::Value> = (0..100)
        .map(|id| {
            let mut row =
                json!({"id": id, "tag": id % 10, "name": format!("n{id}"), "v": [id as f32, 0.0]});
            if id % 2 == 0 {
                row["color"] = json!(if id % 4 == 0 { "red" } else { "blue" });
            }
            row
        })
        .collect();
    // Half sealed, half growing: filters must work on both.
    c.insert(None, batch_from_json_rows(c.schema(), &rows[..50]).unwrap()).unwrap();
    c.flush().unwrap();
    c.insert(None, batch_from_json_rows(c.schema(), &rows[50..]).unwrap()).unwrap();
    c
}

fn ids(c: &Collection, text: &str, params: &HashMap<String, TemplateValue>) -> Vec<i64> {
    let filter = c.compile_filter(text, params, &FilterLimits::default()).unwrap();
    let req = QueryRequest {
        filter: Some(&filter),
        partitions: &[],
        output_fields: &[],
        offset: 0,
        limit: None,
    };
    let mut ids: Vec<i64> =
        c.query(&req).unwrap().into_iter().map(|row| crate::support::int_key(&row.pk)).collect();
    ids.sort_unstable();
    ids
}

#[test]
fn query_and_count_follow_the_filter_on_sealed_and_growing_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = collection(&db);
    let none = HashMap::new();
    assert_eq!(ids(&c, "tag in [1, 2] and id > 70", &none), vec![71, 72, 81, 82, 91, 92]);
    assert_eq!(ids(&c, "40 < id <= 45 or name like \"n9%\"", &none), {
        let mut v: Vec<i64> = (41..=45).chain([9]).chain(90..100).collect();
        v.sort_unstable();
        v
    });
    assert_eq!(ids(&c, "color == \"red\" and id < 20", &none), vec![0, 4, 8, 12, 16]);
    assert_eq!(ids(&c, "$meta[\"color\"] == \"blue\" and id < 12", &none), vec![2, 6, 10]);
    let filter = c.compile_filter("tag == 3", &none, &FilterLimits::default()).unwrap();
    assert_eq!(c.count_matching(&filter, &[]).unwrap(), 10);
}

#[test]
fn template_values_are_values_never_expression_text() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = collection(&db);
    let mut params = HashMap::new();
    params.insert("t".to_owned(), TemplateValue::Int64(7));
    params.insert(
        "names".to_owned(),
        TemplateValue::Array(vec![
            TemplateValue::String("n17".to_owned()),
            TemplateValue::String("n27".to_owned()),
        ]),
    );
    assert_eq!(ids(&c, "tag == {t} and name in {names}", &params), vec![17, 27]);
    // An injection attempt stays one string: it matches no name, and deletes nothing.
    params.insert(
        "name".to_owned(),
        TemplateValue::String("x\" or id >= 0 or name == \"".to_owned()),
    );
    assert!(ids(&c, "name == {name}", &params).is_empty());
    let filter = c.compile_filter("name == {name}", &params, &FilterLimits::default()).unwrap();
    assert_eq!(c.delete_by_filter(&filter).unwrap().count, 0);
    assert_eq!(c.count(), 100);
}

#[test]
fn delete_by_filter_removes_exactly_the_matching_rows_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let none = HashMap::new();
    {
        let db = reopen(dir.path(), options()).unwrap();
        let c = collection(&db);
        let filter = c.compile_filter("tag >= 8", &none, &FilterLimits::default()).unwrap();
        let deleted = c.delete_by_filter(&filter).unwrap();
        assert_eq!(deleted.count, 20);
        assert_eq!(c.count(), 80);
        let by_key = c.compile_filter("id in [1, 2, 9]", &none, &FilterLimits::default()).unwrap();
        assert_eq!(by_key.primary_keys().map(<[PkValue]>::len), Some(3));
        // 9 is already gone: only two rows are deleted.
        assert_eq!(c.delete_by_filter(&by_key).unwrap().count, 2);
    }
    let db = reopen(dir.path(), options()).unwrap();
    let c = db.collection("default", "c").unwrap();
    assert_eq!(c.count(), 78);
    assert!(ids(&c, "tag >= 8 or id in [1, 2]", &none).is_empty());
}

#[test]
fn search_with_a_filter_expression() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = collection(&db);
    let filter = c
        .compile_filter("tag == 5 and color is null", &HashMap::new(), &FilterLimits::default())
        .unwrap();
    let q = vec![vec![0.0, 0.0]];
    let hits = c
        .search(&SearchRequest {
            vector_field: None,
            metric: Metric::L2,
            queries: &q,
            limit: 3,
            offset: 0,
            partitions: &[],
            output_fields: &["name".to_owned()],
            filter: Some(&filter),
            params: SearchParams::default(),
            range: None,
        })
        .unwrap();
    let names: Vec<&Value> = hits[0].iter().map(|h| &h.row.fields[0].1).collect();
    assert_eq!(
        names,
        vec![
            &Value::VarChar("n5".to_owned()),
            &Value::VarChar("n15".to_owned()),
            &Value::VarChar("n25".to_owned())
        ]
    );
}

#[test]
fn bad_filters_are_typed_errors_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let db = reopen(dir.path(), options()).unwrap();
    let c = collection(&db);
    let compile = |text: &str| {
        c.compile_filter(text, &HashMap::new(), &FilterLimits::default()).map(|_| ()).unwrap_err()
    };
    let err = compile("tag == \"seven\"");
    assert!(matches!(err, EngineError::Filter(_)), "{err}");
    assert!(err.to_string().contains("column"), "{err}");
    assert!(compile("tag / 0 > 1").to_string().contains("zero"));
    assert!(compile(&"(".repeat(100_000)).to_string().contains("column"));
    assert!(compile("tag == {missing}").to_string().contains("missing"));
    // Rows with tag 0 divide by zero: the query fails cleanly instead of crashing or
    // silently skipping them (milvus#47285 crashed the server here).
    let filter =
        c.compile_filter("100 / tag > 1", &HashMap::new(), &FilterLimits::default()).unwrap();
    let req = QueryRequest {
        filter: Some(&filter),
        partitions: &[],
        output_fields: &[],
        offset: 0,
        limit: None,
    };
    let err = c.query(&req).unwrap_err();
    assert!(matches!(err, EngineError::FilterEval(_)), "{err}");
    assert!(err.to_string().contains("zero"), "{err}");
}
