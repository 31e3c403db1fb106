//! `indexes/*`: create, describe, list, drop.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use crate::proto::common::{IndexState, KeyValuePair};
use crate::proto::milvus as pb;
use crate::rest::registry::Routes;
use crate::rest::{Reply, missing, required, route};
use crate::service::{Ctx, MilvusApi, index, param};
use crate::status::{Failure, code};

/// Most indexes one request may create.
const MAX_INDEX_PARAMS: usize = 64;

pub(super) fn routes(r: &mut Routes) {
    route(r, "indexes/create", "create_index", "Builds indexes on a collection", create);
    route(r, "indexes/describe", "describe_index", "An index's type, metric and state", describe);
    route(r, "indexes/list", "describe_index", "The names of a collection's indexes", list);
    route(r, "indexes/drop", "drop_index", "Drops an index", drop);
}

bodies!(CreateBody, IndexBody, ListBody);

/// One index to build: `params` holds `index_type` and the build parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct IndexParam {
    field_name: String,
    #[serde(default)]
    index_name: String,
    #[serde(default)]
    metric_type: String,
    #[serde(default)]
    index_type: String,
    #[serde(default)]
    params: Map<String, Json>,
}

impl IndexParam {
    /// The AUTOINDEX of a quick-setup collection's vector field.
    pub(crate) fn auto(field: &str, metric: &str) -> IndexParam {
        IndexParam {
            field_name: field.to_owned(),
            index_name: field.to_owned(),
            metric_type: metric.to_owned(),
            index_type: "AUTOINDEX".to_owned(),
            params: Map::new(),
        }
    }

    fn to_request(&self, collection: &str) -> Result<pb::CreateIndexRequest, Failure> {
        let field = required(&self.field_name, "indexParams[].fieldName")?;
        let mut build = self.params.clone();
        let from_params = match build.remove("index_type") {
            None => None,
            Some(Json::String(s)) => Some(s),
            Some(_) => {
                return Err(Failure::invalid("indexParams[].params.index_type must be a string"));
            }
        };
        let index_type = match (self.index_type.trim(), from_params) {
            ("", None) => "AUTOINDEX".to_owned(),
            ("", Some(t)) => t,
            (t, None) => t.to_owned(),
            (t, Some(p)) if t.eq_ignore_ascii_case(&p) => p,
            (_, Some(_)) => {
                return Err(Failure::invalid(
                    "indexParams[]: indexType and params.index_type differ",
                ));
            }
        };
        let mut metric = self.metric_type.trim().to_owned();
        if let Some(inner) = build.remove("metric_type") {
            let Json::String(inner) = inner else {
                return Err(Failure::invalid("indexParams[].params.metric_type must be a string"));
            };
            if !metric.is_empty() && !metric.eq_ignore_ascii_case(&inner) {
                return Err(Failure::invalid(
                    "indexParams[]: metricType and params.metric_type differ",
                ));
            }
            metric = inner;
        }
        let mut extra = vec![KeyValuePair { key: "index_type".to_owned(), value: index_type }];
        if !metric.is_empty() {
            extra.push(KeyValuePair { key: "metric_type".to_owned(), value: metric });
        }
        if !build.is_empty() {
            extra.push(KeyValuePair {
                key: "params".to_owned(),
                value: Json::Object(build).to_string(),
            });
        }
        Ok(pb::CreateIndexRequest {
            collection_name: collection.to_owned(),
            field_name: field.to_owned(),
            index_name: self.index_name.clone(),
            extra_params: extra,
            ..Default::default()
        })
    }
}

/// Builds `indexes` on `collection` through CreateIndex, one after the other.
pub(crate) fn create_indexes(
    api: &MilvusApi,
    ctx: &Ctx,
    collection: &str,
    indexes: &[IndexParam],
) -> Result<(), Failure> {
    if indexes.len() > MAX_INDEX_PARAMS {
        return Err(Failure::invalid(format!(
            "{} indexParams given; at most {MAX_INDEX_PARAMS}",
            indexes.len()
        )));
    }
    let requests =
        indexes.iter().map(|i| i.to_request(collection)).collect::<Result<Vec<_>, _>>()?;
    for request in requests {
        index::create_index(api, ctx, request)?;
    }
    Ok(())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "IndexCreateBody")]
pub(crate) struct CreateBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[schemars(required)]
    index_params: Option<Vec<IndexParam>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct IndexBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    index_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "IndexListBody")]
pub(crate) struct ListBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
}

fn create(api: &MilvusApi, ctx: &Ctx, req: CreateBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    let indexes = req.index_params.ok_or_else(|| missing("indexParams"))?;
    if indexes.is_empty() {
        return Err(missing("indexParams"));
    }
    create_indexes(api, ctx, name, &indexes)?;
    Ok(Reply::empty())
}

fn describe(api: &MilvusApi, ctx: &Ctx, req: IndexBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    let index_name = required(&req.index_name, "indexName")?;
    let resp = index::describe_index(
        api,
        ctx,
        pb::DescribeIndexRequest {
            collection_name: name.to_owned(),
            index_name: index_name.to_owned(),
            ..Default::default()
        },
    )?;
    let described: Vec<Json> = resp
        .index_descriptions
        .iter()
        .map(|i| {
            let state = IndexState::try_from(i.state).unwrap_or(IndexState::None);
            json!({
                "fieldName": i.field_name,
                "indexName": i.index_name,
                "indexType": param(&i.params, "index_type").unwrap_or(""),
                "metricType": param(&i.params, "metric_type").unwrap_or(""),
                "indexState": state.as_str_name(),
                "indexedRows": i.indexed_rows,
                "pendingRows": i.pending_index_rows,
                "totalRows": i.total_rows,
                "failReason": i.index_state_fail_reason,
                "params": param(&i.params, "params")
                    .and_then(|p| serde_json::from_str::<Json>(p).ok())
                    .unwrap_or_else(|| json!({})),
            })
        })
        .collect();
    Ok(Reply::data(Json::Array(described)))
}

fn list(api: &MilvusApi, ctx: &Ctx, req: ListBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    let resp = index::describe_index(
        api,
        ctx,
        pb::DescribeIndexRequest { collection_name: name.to_owned(), ..Default::default() },
    );
    let names: Vec<String> = match resp {
        Ok(resp) => resp.index_descriptions.into_iter().map(|i| i.index_name).collect(),
        // A collection without indexes lists none.
        Err(Failure::Milvus { code: code::INDEX_NOT_FOUND, .. }) => Vec::new(),
        Err(other) => return Err(other),
    };
    Ok(Reply::data(json!(names)))
}

fn drop(api: &MilvusApi, ctx: &Ctx, req: IndexBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    let index_name = required(&req.index_name, "indexName")?;
    index::drop_index(
        api,
        ctx,
        pb::DropIndexRequest {
            collection_name: name.to_owned(),
            index_name: index_name.to_owned(),
            ..Default::default()
        },
    )?;
    Ok(Reply::empty())
}
