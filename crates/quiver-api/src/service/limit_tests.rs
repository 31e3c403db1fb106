//! The request limits through the handlers, one test per limit: a request exactly at the
//! configured limit is served, one just past it is refused with the limit's Milvus code
//! (1100 or 1102) and a message naming `limits.<key>`, and nothing of a refused write is
//! applied. (The message and body size at and past the limit are proven through the real
//! binary in `crates/quiver/tests/pymilvus/test_limits.py`, the timeout by `deadline.rs`'s
//! tests, and the defaults and ranges by `limits.rs`'s.)

use prost::Message;
use quiver_core::{DataType, ElementType, FieldSpec, Schema, SchemaSpec};

use crate::convert::schema::schema_to_wire;
use crate::limits::{Limit, RequestLimits};
use crate::proto::common::{PlaceholderGroup, PlaceholderType, PlaceholderValue};
use crate::proto::milvus as pb;
use crate::proto::milvus::search_request::SearchInput;
use crate::proto::schema as wire;
use crate::service::collections::create_collection;
use crate::service::data::testkit::*;
use crate::service::data::{delete, insert, upsert};
use crate::service::search::{query, search};
use crate::status::Failure;

/// A test environment whose only non-default limit is `limit = value`.
fn env_with(limit: Limit, value: u64) -> Env {
    let mut env = env();
    let mut limits = RequestLimits::default();
    limits.set(limit, value).unwrap();
    env.api = env.api.clone().with_request_limits(limits);
    env
}

/// Asserts the refusal of `limit`: its code, and a message that names its config key.
#[track_caller]
fn assert_over<T: std::fmt::Debug>(result: Result<T, Failure>, limit: Limit) {
    let (code, reason) = milvus_failure(result);
    assert_eq!(code, limit.code(), "{reason}");
    assert!(reason.contains(limit.key()), "{reason:?} does not name {}", limit.key());
}

fn rows(n: usize) -> Vec<(i64, Vec<f32>, &'static str)> {
    (0..n).map(|i| (i as i64, vec![i as f32, 1.0], "{}")).collect()
}

fn insert_req(name: &str, rows: &[(i64, Vec<f32>, &str)]) -> pb::InsertRequest {
    let mut meta = json(DYNAMIC, rows.iter().map(|r| r.2).collect());
    meta.is_dynamic = true;
    pb::InsertRequest {
        collection_name: name.into(),
        fields_data: vec![
            longs("id", rows.iter().map(|r| r.0).collect()),
            vectors("vector", 2, rows.iter().flat_map(|r| r.1.clone()).collect()),
            meta,
        ],
        num_rows: rows.len() as u32,
        ..Default::default()
    }
}

fn count(env: &Env, name: &str) -> u64 {
    env.api.db.collection("default", name).unwrap().count()
}

fn search_req(nq: usize, params: &[(&str, &str)]) -> pb::SearchRequest {
    let values = (0..nq).map(|_| [1.0f32, 0.0].iter().flat_map(|x| x.to_le_bytes()).collect());
    let group = PlaceholderGroup {
        placeholders: vec![PlaceholderValue {
            tag: "$0".into(),
            r#type: PlaceholderType::FloatVector as i32,
            values: values.collect(),
            element_level: false,
        }],
    };
    pb::SearchRequest {
        collection_name: "docs".into(),
        search_input: Some(SearchInput::PlaceholderGroup(group.encode_to_vec())),
        nq: nq as i64,
        search_params: kv(params),
        ..Default::default()
    }
}

fn query_req(expr: &str, limit: Option<&str>, offset: Option<&str>) -> pb::QueryRequest {
    let mut params = Vec::new();
    params.extend(limit.map(|l| ("limit", l)));
    params.extend(offset.map(|o| ("offset", o)));
    pb::QueryRequest {
        collection_name: "docs".into(),
        expr: expr.into(),
        query_params: kv(&params),
        ..Default::default()
    }
}

/// `docs`: `id`, `vector` (dim 2), dynamic; loaded, with `n` rows.
fn docs(env: &Env, n: usize) {
    env.simple("docs", 2);
    if n > 0 {
        env.insert_rows("docs", &rows(n));
    }
}

fn create_req(name: &str, fields: Vec<FieldSpec>) -> pb::CreateCollectionRequest {
    let spec = SchemaSpec { description: String::new(), fields, enable_dynamic_field: false };
    let schema = Schema::new(spec).unwrap();
    pb::CreateCollectionRequest {
        collection_name: name.into(),
        schema: schema_to_wire(&schema, name).encode_to_vec(),
        ..Default::default()
    }
}

#[test]
fn rows_per_write_at_and_past_the_limit() {
    let env = env_with(Limit::RowsPerWrite, 5);
    docs(&env, 0);
    insert(&env.api, &env.root, insert_req("docs", &rows(5))).unwrap();
    assert_eq!(count(&env, "docs"), 5);
    let six: Vec<_> = (10..16).map(|i| (i, vec![0.5, 0.5], "{}")).collect();
    assert_over(insert(&env.api, &env.root, insert_req("docs", &six)), Limit::RowsPerWrite);
    let req = insert_req("docs", &six);
    let upsert_req = pb::UpsertRequest {
        collection_name: req.collection_name,
        fields_data: req.fields_data,
        num_rows: req.num_rows,
        ..Default::default()
    };
    assert_over(upsert(&env.api, &env.root, upsert_req), Limit::RowsPerWrite);
    assert_eq!(count(&env, "docs"), 5, "nothing of a refused write is applied");
}

#[test]
fn query_vectors_at_and_past_the_limit() {
    let env = env_with(Limit::QueryVectors, 3);
    docs(&env, 4);
    let found = search(&env.api, &env.root, search_req(3, &[("topk", "2")])).unwrap();
    assert_eq!(found.results.unwrap().topks, vec![2, 2, 2]);
    assert_over(search(&env.api, &env.root, search_req(4, &[("topk", "2")])), Limit::QueryVectors);
    // Search by primary keys counts its keys as query vectors.
    let by_ids = |ids: Vec<i64>| pb::SearchRequest {
        search_input: Some(SearchInput::Ids(wire::IDs {
            id_field: Some(wire::i_ds::IdField::IntId(wire::LongArray { data: ids })),
        })),
        nq: 0,
        ..search_req(1, &[("topk", "2")])
    };
    assert!(search(&env.api, &env.root, by_ids(vec![0, 1, 2])).is_ok());
    assert_over(search(&env.api, &env.root, by_ids(vec![0, 1, 2, 3])), Limit::QueryVectors);
}

#[test]
fn topk_window_at_and_past_the_limit() {
    let env = env_with(Limit::TopkWindow, 10);
    docs(&env, 12);
    let topks = |params: &[(&str, &str)]| {
        search(&env.api, &env.root, search_req(1, params)).map(|r| r.results.unwrap().topks)
    };
    assert_eq!(topks(&[("topk", "10")]).unwrap(), vec![10]);
    assert_over(topks(&[("topk", "11")]), Limit::TopkWindow);
    assert_eq!(topks(&[("topk", "6"), ("offset", "4")]).unwrap(), vec![6]);
    assert_over(topks(&[("topk", "7"), ("offset", "4")]), Limit::TopkWindow);
    // Query pages within the same window.
    let rows = query(&env.api, &env.root, query_req("id >= 0", Some("7"), Some("3"))).unwrap();
    assert_eq!(long_values(column(&rows.fields_data, "id")), vec![3, 4, 5, 6, 7, 8, 9]);
    assert_over(
        query(&env.api, &env.root, query_req("id >= 0", Some("8"), Some("3"))),
        Limit::TopkWindow,
    );
}

#[test]
fn dim_at_and_past_the_limit() {
    let env = env_with(Limit::Dim, 8);
    let fields = |dim| {
        vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("v", DataType::FloatVector { dim }),
        ]
    };
    create_collection(&env.api, &env.root, create_req("eight", fields(8))).unwrap();
    assert_over(create_collection(&env.api, &env.root, create_req("nine", fields(9))), Limit::Dim);
    assert!(!env.api.db.has_collection("default", "nine").unwrap(), "nothing was created");
}

#[test]
fn varchar_length_at_and_past_the_limit() {
    let env = env_with(Limit::VarcharLength, 100);
    let with = |data_type| {
        vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("v", DataType::FloatVector { dim: 2 }),
            FieldSpec::new("s", data_type),
        ]
    };
    let text = |max_length| DataType::VarChar { max_length };
    let array = |max_length| DataType::Array {
        element: ElementType::VarChar { max_length },
        max_capacity: 4,
    };
    create_collection(&env.api, &env.root, create_req("a", with(text(100)))).unwrap();
    create_collection(&env.api, &env.root, create_req("b", with(array(100)))).unwrap();
    let refused = create_collection(&env.api, &env.root, create_req("c", with(text(101))));
    assert_over(refused, Limit::VarcharLength);
    let refused = create_collection(&env.api, &env.root, create_req("d", with(array(101))));
    assert_over(refused, Limit::VarcharLength);
}

#[test]
fn json_bytes_at_and_past_the_limit() {
    let env = env_with(Limit::JsonBytes, 16);
    env.create(
        "docs",
        vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("v", DataType::FloatVector { dim: 2 }),
            FieldSpec::new("doc", DataType::Json),
        ],
        true,
        true,
    );
    let write = |id: i64, doc: &str, meta: &str| {
        let mut dynamic = json(DYNAMIC, vec![meta]);
        dynamic.is_dynamic = true;
        let req = pb::InsertRequest {
            collection_name: "docs".into(),
            fields_data: vec![
                longs("id", vec![id]),
                vectors("v", 2, vec![1.0, 0.0]),
                json("doc", vec![doc]),
                dynamic,
            ],
            num_rows: 1,
            ..Default::default()
        };
        insert(&env.api, &env.root, req)
    };
    let sixteen = r#"{"k":"12345678"}"#;
    assert_eq!(sixteen.len(), 16);
    let seventeen = r#"{"k":"123456789"}"#;
    write(1, sixteen, "{}").unwrap();
    assert_over(write(2, seventeen, "{}"), Limit::JsonBytes);
    // The dynamic field is one JSON value per row too.
    write(3, "{}", r#"{"x":"12345678"}"#).unwrap();
    assert_over(write(4, "{}", r#"{"x":"123456789"}"#), Limit::JsonBytes);
    assert_eq!(count(&env, "docs"), 2);
}

#[test]
fn filter_bytes_at_and_past_the_limit() {
    let env = env_with(Limit::FilterBytes, 20);
    docs(&env, 5);
    let twenty = "id >= 2 and id <= 30";
    assert_eq!(twenty.len(), 20);
    let twenty_one = "id >= 2 and id <= 300";
    let rows = query(&env.api, &env.root, query_req(twenty, None, None)).unwrap();
    assert_eq!(long_values(column(&rows.fields_data, "id")), vec![2, 3, 4]);
    assert_over(query(&env.api, &env.root, query_req(twenty_one, None, None)), Limit::FilterBytes);
    let mut req = search_req(1, &[("topk", "5")]);
    req.dsl = twenty_one.into();
    assert_over(search(&env.api, &env.root, req), Limit::FilterBytes);
    let delete_req = |expr: &str| pb::DeleteRequest {
        collection_name: "docs".into(),
        expr: expr.into(),
        ..Default::default()
    };
    assert_over(delete(&env.api, &env.root, delete_req(twenty_one)), Limit::FilterBytes);
    assert_eq!(count(&env, "docs"), 5, "a refused delete removes nothing");
    delete(&env.api, &env.root, delete_req(twenty)).unwrap();
    assert_eq!(count(&env, "docs"), 2);
}

#[test]
fn filter_depth_at_and_past_the_limit() {
    let env = env_with(Limit::FilterDepth, 5);
    docs(&env, 3);
    // `id > 0` takes two levels and each pair of parentheses one more.
    let nested = |n: usize| format!("{}id > 0{}", "(".repeat(n), ")".repeat(n));
    let rows = query(&env.api, &env.root, query_req(&nested(3), None, None)).unwrap();
    assert_eq!(long_values(column(&rows.fields_data, "id")), vec![1, 2]);
    let (code, reason) =
        milvus_failure(query(&env.api, &env.root, query_req(&nested(4), None, None)));
    assert_eq!(code, Limit::FilterDepth.code(), "{reason}");
    assert!(reason.contains("deeper than the limit of 5"), "{reason}");
}

#[test]
fn output_fields_at_and_past_the_limit() {
    let env = env_with(Limit::OutputFields, 2);
    docs(&env, 3);
    let with_outputs = |outputs: &[&str]| pb::QueryRequest {
        output_fields: outputs.iter().map(|s| s.to_string()).collect(),
        ..query_req("id >= 0", None, None)
    };
    let rows = query(&env.api, &env.root, with_outputs(&["id", "vector"])).unwrap();
    assert_eq!(rows.fields_data.len(), 2);
    assert_over(
        query(&env.api, &env.root, with_outputs(&["id", "vector", "x"])),
        Limit::OutputFields,
    );
    let mut req = search_req(1, &[("topk", "1")]);
    req.output_fields = vec!["id".into(), "vector".into(), "x".into()];
    assert_over(search(&env.api, &env.root, req), Limit::OutputFields);
}

#[test]
fn message_bytes_bound_responses_and_leave_room_for_results_at_the_floor() {
    let env = env_with(Limit::MessageBytes, 64 << 10);
    docs(&env, 12);
    // A small result fits under the smallest message limit.
    let found = search(&env.api, &env.root, search_req(2, &[("topk", "10")])).unwrap();
    assert_eq!(found.results.unwrap().topks, vec![10, 10]);
    // A result that cannot fit is refused before it is built.
    env.simple("wide", 4096);
    let mut rows = pb::QueryRequest {
        collection_name: "wide".into(),
        output_fields: vec!["vector".into()],
        ..query_req("id >= 0", Some("8"), None)
    };
    let dim = 4096;
    let req = pb::InsertRequest {
        collection_name: "wide".into(),
        fields_data: vec![
            longs("id", (0..8).collect()),
            vectors("vector", dim, vec![0.5; 8 * 4096]),
        ],
        num_rows: 8,
        ..Default::default()
    };
    insert(&env.api, &env.root, req).unwrap();
    let (code, reason) = milvus_failure(query(&env.api, &env.root, rows.clone()));
    assert_eq!(code, Limit::MessageBytes.code(), "{reason}");
    assert!(reason.contains("bytes"), "{reason}");
    rows.query_params = kv(&[("limit", "3")]);
    let three = query(&env.api, &env.root, rows).unwrap();
    assert_eq!(long_values(column(&three.fields_data, "id")), vec![0, 1, 2]);
}
