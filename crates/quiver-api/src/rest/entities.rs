//! `entities/*`: insert, upsert, delete, query, get, search, hybrid_search.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use quiver_security::Privilege;

use crate::limits::Limit;
use crate::proto::common::KeyValuePair;
use crate::proto::milvus as pb;
use crate::proto::milvus::search_request::SearchInput;
use crate::ratelimit::WRITE_REQUEST_COST;
use crate::rest::registry::Routes;
use crate::rest::values::{self, float_json, ids_json, placeholder_group, template_values};
use crate::rest::{Body, Reply, missing, required, route};
use crate::service::{Ctx, MilvusApi, data, search};
use crate::status::Failure;

/// Rows a query returns when it names no limit (Milvus's REST default).
const DEFAULT_QUERY_LIMIT: i64 = 100;
/// Hits per query a search returns when it names no limit (Milvus's REST default).
const DEFAULT_SEARCH_LIMIT: i64 = 100;
/// The template name under which `entities/get` passes its keys.
const IDS_TEMPLATE: &str = "ids";

pub(super) fn routes(r: &mut Routes) {
    route(r, "entities/insert", "insert", "Inserts rows", insert);
    route(r, "entities/upsert", "upsert", "Inserts or replaces rows by primary key", upsert);
    route(r, "entities/delete", "delete", "Deletes the rows a filter matches", delete);
    route(r, "entities/query", "query", "The rows a filter matches (or count(*))", query);
    route(r, "entities/get", "query", "Rows by primary key", get);
    route(r, "entities/search", "search", "Nearest neighbours of query vectors", search);
    let summary = "Several searches merged by a reranker";
    route(r, "entities/hybrid_search", "hybrid_search", summary, hybrid_search);
    let summary = "entities/hybrid_search under its older name";
    route(r, "entities/advanced_search", "hybrid_search", summary, hybrid_search);
}

bodies!(DeleteBody, QueryBody, GetBody, SearchBody, HybridBody);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup", "data": [{"id": 1, "vector": [0.3, -0.6, 0.1, -0.2, 0.9], "color": "pink_8682"}]}))]
pub(crate) struct WriteBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[serde(default)]
    partition_name: String,
    /// An array of row objects (or one row object).
    #[schemars(required)]
    data: Option<Json>,
}

impl Body for WriteBody {
    fn db_name(&self) -> &str {
        &self.db_name
    }

    /// A write costs its rows plus the request, as over gRPC.
    fn cost(&self) -> u64 {
        let rows = match &self.data {
            Some(Json::Array(rows)) => rows.len() as u64,
            _ => 1,
        };
        WRITE_REQUEST_COST + rows
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup", "filter": "id in [100, 101]"}))]
pub(crate) struct DeleteBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[serde(default)]
    partition_name: String,
    filter: String,
    #[serde(default)]
    expr_params: Map<String, Json>,
    /// Quiver: pass the mass-deletion guard (the caller also needs the `ForceDelete`
    /// privilege). Without it, a delete of more than the guard allows is refused.
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup", "filter": "color like \"red%\"", "outputFields": ["color"], "limit": 3}))]
pub(crate) struct QueryBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    expr_params: Map<String, Json>,
    output_fields: Option<Vec<String>>,
    #[serde(default)]
    partition_names: Vec<String>,
    limit: Option<i64>,
    offset: Option<i64>,
    /// Accepted and ignored: Quiver is always strongly consistent.
    #[serde(default)]
    #[allow(dead_code)]
    consistency_level: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup", "id": [1, 2], "outputFields": ["color"]}))]
pub(crate) struct GetBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    /// One primary key or an array of them.
    #[schemars(required)]
    id: Option<Json>,
    output_fields: Option<Vec<String>>,
    #[serde(default)]
    partition_names: Vec<String>,
    /// Accepted and ignored: Quiver is always strongly consistent.
    #[serde(default)]
    #[allow(dead_code)]
    consistency_level: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SearchParamsBody {
    #[serde(default)]
    metric_type: String,
    #[serde(default)]
    params: Map<String, Json>,
    /// A search strategy hint (`iterative_filter`), accepted and ignored: Quiver picks its
    /// strategy itself.
    #[serde(default)]
    #[allow(dead_code)]
    hints: String,
    #[serde(default)]
    ignore_growing: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup", "data": [[0.3, -0.6, 0.1, -0.2, 0.9]], "annsField": "vector", "filter": "id >= {min}", "exprParams": {"min": 1}, "limit": 3, "outputFields": ["color"]}))]
pub(crate) struct SearchBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[schemars(required)]
    data: Option<Vec<Vec<f32>>>,
    #[serde(default)]
    anns_field: String,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    expr_params: Map<String, Json>,
    #[serde(default)]
    output_fields: Vec<String>,
    #[serde(default)]
    partition_names: Vec<String>,
    limit: Option<i64>,
    offset: Option<i64>,
    search_params: Option<SearchParamsBody>,
    #[serde(default)]
    grouping_field: String,
    group_size: Option<i64>,
    strict_group_size: Option<bool>,
    /// Accepted and ignored: Quiver is always strongly consistent.
    #[serde(default)]
    #[allow(dead_code)]
    consistency_level: String,
}

/// One search of a hybrid search.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SubSearchBody {
    #[schemars(required)]
    data: Option<Vec<Vec<f32>>>,
    #[serde(default)]
    anns_field: String,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    expr_params: Map<String, Json>,
    limit: Option<i64>,
    offset: Option<i64>,
    #[serde(default)]
    metric_type: String,
    #[serde(default)]
    params: Map<String, Json>,
    #[serde(default)]
    ignore_growing: bool,
    #[serde(default)]
    grouping_field: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RerankBody {
    #[serde(default)]
    strategy: String,
    #[serde(default)]
    params: Map<String, Json>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup", "search": [{"data": [[0.3, -0.6, 0.1, -0.2, 0.9]], "annsField": "vector", "limit": 5}, {"data": [[0.1, 0.2, 0.3, 0.4, 0.5]], "annsField": "vector", "filter": "id > 1", "limit": 5}], "rerank": {"strategy": "rrf", "params": {"k": 60}}, "limit": 3, "outputFields": ["color"]}))]
pub(crate) struct HybridBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[schemars(required)]
    search: Option<Vec<SubSearchBody>>,
    rerank: Option<RerankBody>,
    limit: Option<i64>,
    offset: Option<i64>,
    #[serde(default)]
    output_fields: Vec<String>,
    #[serde(default)]
    partition_names: Vec<String>,
    #[serde(default)]
    grouping_field: String,
    group_size: Option<i64>,
    strict_group_size: Option<bool>,
    /// Accepted and ignored: Quiver is always strongly consistent.
    #[serde(default)]
    #[allow(dead_code)]
    consistency_level: String,
}

fn kv(key: &str, value: impl Into<String>) -> KeyValuePair {
    KeyValuePair { key: key.to_owned(), value: value.into() }
}

// ------------------------------------------------------------------------------------------
// Writes
// ------------------------------------------------------------------------------------------

/// The rows of a write, as wire columns for the collection's schema. The caller's privilege
/// is checked first, so that nothing about the collection is disclosed to others.
fn write_columns(
    api: &MilvusApi,
    ctx: &Ctx,
    req: WriteBody,
    privilege: Privilege,
) -> Result<(String, String, Vec<crate::proto::schema::FieldData>, u32), Failure> {
    let name = required(&req.collection_name, "collectionName")?.to_owned();
    let rows = match req.data {
        None => return Err(missing("data")),
        Some(Json::Array(rows)) => rows,
        Some(row @ Json::Object(_)) => vec![row],
        Some(_) => {
            return Err(Failure::new(
                super::rest_code::BAD_REQUEST,
                "data must be an array of row objects",
            ));
        }
    };
    if rows.is_empty() {
        return Err(missing("data"));
    }
    api.limits.check_len(Limit::RowsPerWrite, rows.len())?;
    api.authorize_collection(ctx, privilege, &name)?;
    let collection = api.db.collection(&ctx.db, &name)?;
    let (columns, num_rows) = values::insert_columns(collection.schema(), &rows)?;
    Ok((name, req.partition_name, columns, num_rows))
}

fn insert(api: &MilvusApi, ctx: &Ctx, req: WriteBody) -> Result<Reply, Failure> {
    let (collection_name, partition_name, fields_data, num_rows) =
        write_columns(api, ctx, req, Privilege::Insert)?;
    let resp = data::insert(
        api,
        ctx,
        pb::InsertRequest {
            collection_name,
            partition_name,
            fields_data,
            num_rows,
            ..Default::default()
        },
    )?;
    Ok(Reply::data(json!({
        "insertCount": resp.insert_cnt,
        "insertIds": ids_json(resp.i_ds.as_ref()),
    })))
}

fn upsert(api: &MilvusApi, ctx: &Ctx, req: WriteBody) -> Result<Reply, Failure> {
    let (collection_name, partition_name, fields_data, num_rows) =
        write_columns(api, ctx, req, Privilege::Upsert)?;
    let resp = data::upsert(
        api,
        ctx,
        pb::UpsertRequest {
            collection_name,
            partition_name,
            fields_data,
            num_rows,
            ..Default::default()
        },
    )?;
    Ok(Reply::data(json!({
        "upsertCount": resp.upsert_cnt,
        "upsertIds": ids_json(resp.i_ds.as_ref()),
    })))
}

fn delete(api: &MilvusApi, ctx: &Ctx, req: DeleteBody) -> Result<Reply, Failure> {
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    let expr = required(&req.filter, "filter")?.to_owned();
    let result = data::delete(
        api,
        &ctx.clone().forced(req.force),
        pb::DeleteRequest {
            collection_name,
            partition_name: req.partition_name,
            expr,
            expr_template_values: template_values(req.expr_params)?,
            ..Default::default()
        },
    )?;
    // Milvus answers `{}`; the count (as pymilvus's `delete_count`) is Quiver's addition, and
    // what the audit record of the request says.
    Ok(Reply::data(json!({ "deleteCount": result.delete_cnt })))
}

// ------------------------------------------------------------------------------------------
// Reads
// ------------------------------------------------------------------------------------------

fn is_count(fields: &[String]) -> bool {
    fields.iter().any(|f| f.trim().eq_ignore_ascii_case("count(*)"))
}

fn query(api: &MilvusApi, ctx: &Ctx, req: QueryBody) -> Result<Reply, Failure> {
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    let output_fields = req.output_fields.unwrap_or_else(|| vec!["*".to_owned()]);
    let mut query_params = Vec::new();
    if !is_count(&output_fields) {
        query_params.push(kv("limit", req.limit.unwrap_or(DEFAULT_QUERY_LIMIT).to_string()));
        if let Some(offset) = req.offset {
            query_params.push(kv("offset", offset.to_string()));
        }
    } else if req.limit.is_some() || req.offset.is_some() {
        return Err(Failure::invalid("count(*) takes no limit or offset"));
    }
    let resp = search::query(
        api,
        ctx,
        pb::QueryRequest {
            collection_name,
            expr: req.filter,
            output_fields,
            partition_names: req.partition_names,
            query_params,
            expr_template_values: template_values(req.expr_params)?,
            ..Default::default()
        },
    )?;
    Ok(Reply::data(rows_json(values::query_rows(&resp.fields_data))))
}

fn rows_json(rows: Vec<Map<String, Json>>) -> Json {
    Json::Array(rows.into_iter().map(Json::Object).collect())
}

fn get(api: &MilvusApi, ctx: &Ctx, req: GetBody) -> Result<Reply, Failure> {
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    let ids = match req.id {
        None | Some(Json::Null) => return Err(missing("id")),
        Some(Json::Array(ids)) => ids,
        Some(id) => vec![id],
    };
    if ids.is_empty() {
        return Err(missing("id"));
    }
    if let Some(bad) = ids.iter().find(|id| !(id.is_i64() || id.is_string())) {
        return Err(Failure::new(
            super::rest_code::BAD_REQUEST,
            format!(
                "id: {} is not a primary key (an integer or a string)",
                super::shorten(&bad.to_string())
            ),
        ));
    }
    // The key's name is needed for the filter: authorize before looking at the schema.
    api.authorize_collection(ctx, Privilege::Query, &collection_name)?;
    let collection = api.db.collection(&ctx.db, &collection_name)?;
    let pk = collection.schema().primary_field().name.clone();
    let mut params = Map::new();
    params.insert(IDS_TEMPLATE.to_owned(), Json::Array(ids));
    let resp = search::query(
        api,
        ctx,
        pb::QueryRequest {
            collection_name,
            // A validated field name, and the keys as a template value: nothing from the
            // request is parsed as expression text.
            expr: format!("{pk} in {{{IDS_TEMPLATE}}}"),
            output_fields: req.output_fields.unwrap_or_else(|| vec!["*".to_owned()]),
            partition_names: req.partition_names,
            expr_template_values: template_values(params)?,
            ..Default::default()
        },
    )?;
    Ok(Reply::data(rows_json(values::query_rows(&resp.fields_data))))
}

/// Refuses grouping, which Quiver does not implement (as over gRPC, rather than ignoring it).
fn refuse_grouping(field: &str, size: Option<i64>, strict: Option<bool>) -> Result<(), Failure> {
    if !field.trim().is_empty() || size.is_some() || strict.is_some() {
        return Err(Failure::unsupported("grouping search (groupingField)"));
    }
    Ok(())
}

struct Ann<'a> {
    field: &'a str,
    limit: i64,
    offset: Option<i64>,
    metric: &'a str,
    params: &'a Map<String, Json>,
    ignore_growing: bool,
}

fn search_params(ann: &Ann<'_>) -> Vec<KeyValuePair> {
    let mut kvs = vec![kv("topk", ann.limit.to_string())];
    if !ann.field.trim().is_empty() {
        kvs.push(kv("anns_field", ann.field));
    }
    if let Some(offset) = ann.offset {
        kvs.push(kv("offset", offset.to_string()));
    }
    if !ann.metric.trim().is_empty() {
        kvs.push(kv("metric_type", ann.metric));
    }
    if !ann.params.is_empty() {
        kvs.push(kv("params", Json::Object(ann.params.clone()).to_string()));
    }
    if ann.ignore_growing {
        kvs.push(kv("ignore_growing", "true"));
    }
    kvs
}

/// The rows of a search result: each hit's primary key, `distance` and output fields, the
/// queries' hits one after the other; and the hits per query.
fn hits(resp: pb::SearchResults) -> Reply {
    let results = resp.results.unwrap_or_default();
    let ids = ids_json(results.ids.as_ref());
    let mut rows = values::rows_from_columns(&results.fields_data, ids.len());
    let pk = if results.primary_field_name.is_empty() {
        "id".to_owned()
    } else {
        results.primary_field_name.clone()
    };
    for ((row, id), score) in rows.iter_mut().zip(ids).zip(&results.scores) {
        row.insert(pk.clone(), id);
        row.insert("distance".to_owned(), float_json(*score));
    }
    Reply { data: rows_json(rows), topks: Some(results.topks) }
}

fn search(api: &MilvusApi, ctx: &Ctx, req: SearchBody) -> Result<Reply, Failure> {
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    let vectors = req.data.filter(|d| !d.is_empty()).ok_or_else(|| missing("data"))?;
    refuse_grouping(&req.grouping_field, req.group_size, req.strict_group_size)?;
    let params = req.search_params.unwrap_or(SearchParamsBody {
        metric_type: String::new(),
        params: Map::new(),
        hints: String::new(),
        ignore_growing: false,
    });
    let ann = Ann {
        field: &req.anns_field,
        limit: req.limit.unwrap_or(DEFAULT_SEARCH_LIMIT),
        offset: req.offset,
        metric: &params.metric_type,
        params: &params.params,
        ignore_growing: params.ignore_growing,
    };
    let resp = search::search(
        api,
        ctx,
        pb::SearchRequest {
            collection_name,
            partition_names: req.partition_names,
            dsl: req.filter,
            search_input: Some(SearchInput::PlaceholderGroup(placeholder_group(&vectors))),
            output_fields: req.output_fields,
            search_params: search_params(&ann),
            nq: vectors.len() as i64,
            expr_template_values: template_values(req.expr_params)?,
            ..Default::default()
        },
    )?;
    Ok(hits(resp))
}

fn hybrid_search(api: &MilvusApi, ctx: &Ctx, req: HybridBody) -> Result<Reply, Failure> {
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    let searches = req.search.filter(|s| !s.is_empty()).ok_or_else(|| missing("search"))?;
    refuse_grouping(&req.grouping_field, req.group_size, req.strict_group_size)?;
    let mut requests = Vec::with_capacity(searches.len());
    for sub in searches {
        refuse_grouping(&sub.grouping_field, None, None)?;
        let vectors = sub.data.filter(|d| !d.is_empty()).ok_or_else(|| missing("search[].data"))?;
        let ann = Ann {
            field: &sub.anns_field,
            limit: sub.limit.unwrap_or(DEFAULT_SEARCH_LIMIT),
            offset: sub.offset,
            metric: &sub.metric_type,
            params: &sub.params,
            ignore_growing: sub.ignore_growing,
        };
        requests.push(pb::SearchRequest {
            collection_name: collection_name.clone(),
            dsl: sub.filter,
            search_input: Some(SearchInput::PlaceholderGroup(placeholder_group(&vectors))),
            search_params: search_params(&ann),
            nq: vectors.len() as i64,
            expr_template_values: template_values(sub.expr_params)?,
            ..Default::default()
        });
    }
    let mut rank_params = vec![kv("limit", req.limit.unwrap_or(DEFAULT_SEARCH_LIMIT).to_string())];
    if let Some(offset) = req.offset {
        rank_params.push(kv("offset", offset.to_string()));
    }
    if let Some(rerank) = req.rerank {
        if !rerank.strategy.trim().is_empty() {
            rank_params.push(kv("strategy", rerank.strategy));
        }
        if !rerank.params.is_empty() {
            rank_params.push(kv("params", Json::Object(rerank.params).to_string()));
        }
    }
    let resp = search::hybrid_search(
        api,
        ctx,
        pb::HybridSearchRequest {
            collection_name,
            partition_names: req.partition_names,
            requests,
            rank_params,
            output_fields: req.output_fields,
            ..Default::default()
        },
    )?;
    Ok(hits(resp))
}
