//! Indexes: CreateIndex, DescribeIndex (which pymilvus polls until `Finished`), DropIndex and
//! the older state and progress RPCs.

use quiver_engine::{IndexInfo, IndexSpec};
use quiver_security::Privilege;

use crate::proto::common::{IndexState, KeyValuePair, Status};
use crate::proto::milvus as pb;
use crate::service::{Ctx, MilvusApi, param};
use crate::status::{Failure, code, ok_status};

/// Longest `params` JSON accepted.
const MAX_PARAMS_JSON: usize = 64 * 1024;

/// The build parameters of a CreateIndex: the `params` JSON object and any flattened keys
/// besides `index_type`, `metric_type` and `params` (older clients send them flat).
fn build_params(extra: &[KeyValuePair]) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    for kv in extra {
        match kv.key.as_str() {
            "index_type" | "metric_type" => {}
            "params" => {
                if kv.value.len() > MAX_PARAMS_JSON {
                    return Err(Failure::invalid("index params longer than 64 KiB"));
                }
                let value: serde_json::Value = serde_json::from_str(&kv.value)
                    .map_err(|e| Failure::invalid(format!("index params are not JSON: {e}")))?;
                let object = value
                    .as_object()
                    .ok_or_else(|| Failure::invalid("index params must be a JSON object"))?;
                for (key, value) in object {
                    let text = match value {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Number(n) => n.to_string(),
                        serde_json::Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(Failure::invalid(format!(
                                "index parameter {key:?} must be a number, string or bool"
                            )));
                        }
                    };
                    out.push((key.clone(), text));
                }
            }
            other => out.push((other.to_owned(), kv.value.clone())),
        }
    }
    Ok(out)
}

pub(crate) fn create_index(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::CreateIndexRequest,
) -> Result<Status, Failure> {
    let name = api.authorize_collection(ctx, Privilege::CreateIndex, &req.collection_name)?;
    let collection = api.db.collection(&ctx.db, &name)?;
    let index_type = param(&req.extra_params, "index_type").unwrap_or("AUTOINDEX");
    let metric = param(&req.extra_params, "metric_type").unwrap_or("");
    let params = build_params(&req.extra_params)?;
    let index_name =
        if req.index_name.is_empty() { req.field_name.clone() } else { req.index_name };
    let spec = IndexSpec::parse(&req.field_name, &index_name, index_type, metric, &params)?;
    // Milvus answers a repeated identical CreateIndex with success.
    let existing = collection.indexes().into_iter().find(|i| i.spec.field == req.field_name);
    if existing.is_some_and(|i| i.spec == spec) {
        return Ok(ok_status());
    }
    collection.create_index(spec)?;
    Ok(ok_status())
}

/// Milvus's AlterIndex changes only a few runtime properties (mmap); none applies to Quiver.
pub(crate) fn alter_index(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::AlterIndexRequest,
) -> Result<Status, Failure> {
    api.authorize_collection(ctx, Privilege::CreateIndex, &req.collection_name)?;
    Err(Failure::unsupported("AlterIndex"))
}

fn describe(info: &IndexInfo) -> pb::IndexDescription {
    let mut params = vec![KeyValuePair {
        key: "index_type".to_owned(),
        value: info.spec.index_type.as_str().to_owned(),
    }];
    if let Some(metric) = info.spec.metric {
        params.push(KeyValuePair { key: "metric_type".to_owned(), value: metric.to_string() });
    }
    let build: serde_json::Map<String, serde_json::Value> =
        info.spec.params().into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
    params.push(KeyValuePair {
        key: "params".to_owned(),
        value: serde_json::Value::Object(build).to_string(),
    });
    let state = if info.pending_rows == 0 { IndexState::Finished } else { IndexState::InProgress };
    pb::IndexDescription {
        index_name: info.spec.index_name.clone(),
        index_id: 0,
        params,
        field_name: info.spec.field.clone(),
        indexed_rows: info.indexed_rows as i64,
        total_rows: info.total_rows as i64,
        state: state as i32,
        index_state_fail_reason: info.last_error.clone().unwrap_or_default(),
        pending_index_rows: info.pending_rows as i64,
        ..Default::default()
    }
}

/// The indexes a request names (by index name or field name; all when both are empty).
fn matching(
    api: &MilvusApi,
    ctx: &Ctx,
    collection: &str,
    field: &str,
    index_name: &str,
) -> Result<Vec<IndexInfo>, Failure> {
    let found: Vec<IndexInfo> = api
        .db
        .collection(&ctx.db, collection)?
        .indexes()
        .into_iter()
        .filter(|i| index_name.is_empty() || i.spec.index_name == index_name)
        .filter(|i| field.is_empty() || i.spec.field == field)
        .collect();
    if found.is_empty() {
        return Err(Failure::new(code::INDEX_NOT_FOUND, "index not found"));
    }
    Ok(found)
}

pub(crate) fn describe_index(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DescribeIndexRequest,
) -> Result<pb::DescribeIndexResponse, Failure> {
    let name = api.authorize_collection(ctx, Privilege::IndexDetail, &req.collection_name)?;
    let found = matching(api, ctx, &name, &req.field_name, &req.index_name)?;
    Ok(pb::DescribeIndexResponse {
        status: Some(ok_status()),
        index_descriptions: found.iter().map(describe).collect(),
    })
}

pub(crate) fn get_index_state(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::GetIndexStateRequest,
) -> Result<pb::GetIndexStateResponse, Failure> {
    let name = api.authorize_collection(ctx, Privilege::IndexDetail, &req.collection_name)?;
    let found = matching(api, ctx, &name, &req.field_name, &req.index_name)?;
    let pending = found.iter().any(|i| i.pending_rows > 0);
    let state = if pending { IndexState::InProgress } else { IndexState::Finished };
    let fail_reason = found.iter().find_map(|i| i.last_error.clone()).unwrap_or_default();
    Ok(pb::GetIndexStateResponse { status: Some(ok_status()), state: state as i32, fail_reason })
}

pub(crate) fn get_index_build_progress(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::GetIndexBuildProgressRequest,
) -> Result<pb::GetIndexBuildProgressResponse, Failure> {
    let name = api.authorize_collection(ctx, Privilege::IndexDetail, &req.collection_name)?;
    let found = matching(api, ctx, &name, &req.field_name, &req.index_name)?;
    Ok(pb::GetIndexBuildProgressResponse {
        status: Some(ok_status()),
        indexed_rows: found.iter().map(|i| i.indexed_rows as i64).sum(),
        total_rows: found.iter().map(|i| i.total_rows as i64).sum(),
    })
}

pub(crate) fn drop_index(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DropIndexRequest,
) -> Result<Status, Failure> {
    let name = api.authorize_collection(ctx, Privilege::DropIndex, &req.collection_name)?;
    for info in matching(api, ctx, &name, &req.field_name, &req.index_name)? {
        api.db.collection(&ctx.db, &name)?.drop_index(&info.spec.field)?;
    }
    Ok(ok_status())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &str) -> KeyValuePair {
        KeyValuePair { key: key.to_owned(), value: value.to_owned() }
    }

    #[test]
    fn params_come_from_json_and_flattened_keys() {
        let params = build_params(&[
            kv("index_type", "HNSW"),
            kv("metric_type", "L2"),
            kv("params", r#"{"M": 16, "efConstruction": "200"}"#),
            kv("nlist", "8"),
        ])
        .unwrap();
        assert!(params.contains(&("M".to_owned(), "16".to_owned())));
        assert!(params.contains(&("efConstruction".to_owned(), "200".to_owned())));
        assert!(params.contains(&("nlist".to_owned(), "8".to_owned())));
        assert_eq!(params.len(), 3);
    }

    #[test]
    fn malformed_params_are_invalid_parameters() {
        for bad in ["not json", "[1,2]", r#"{"M": [1]}"#] {
            let Err(Failure::Milvus { code, .. }) = build_params(&[kv("params", bad)]) else {
                panic!("{bad} accepted");
            };
            assert_eq!(code, crate::status::code::INVALID_PARAMETER);
        }
        let huge = format!("{{\"M\": \"{}\"}}", "1".repeat(MAX_PARAMS_JSON));
        assert!(build_params(&[kv("params", &huge)]).is_err());
    }
}
