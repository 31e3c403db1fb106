//! `collections/*`: create (quick setup and custom schema), describe, list, has, drop,
//! rename, load, release, get_load_state, get_stats.

use prost::Message;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use crate::proto::common::{KeyValuePair, LoadState};
use crate::proto::milvus as pb;
use crate::proto::schema::{self as wire, value_field};
use crate::rest::indexes::{IndexParam, create_indexes};
use crate::rest::registry::Routes;
use crate::rest::{Reply, missing, required, rest_code, route};
use crate::service::{Ctx, MilvusApi, collections, index};
use crate::status::Failure;

/// `max_length` of a quick-setup VarChar primary key when `params.max_length` is not given.
const DEFAULT_VARCHAR_ID_LENGTH: u32 = 65_535;

pub(super) fn routes(r: &mut Routes) {
    let summary = "Creates a collection (quick setup, or a schema with indexes)";
    route(r, "collections/create", "create_collection", summary, create);
    let summary = "A collection's schema, indexes, load state and properties";
    route(r, "collections/describe", "describe_collection", summary, describe);
    route(r, "collections/list", "show_collections", "The collections the caller may see", list);
    route(r, "collections/has", "has_collection", "Whether a collection exists", has);
    route(r, "collections/drop", "drop_collection", "Drops a collection", drop);
    let summary = "Renames a collection (or moves it to another database)";
    route(r, "collections/rename", "rename_collection", summary, rename);
    route(r, "collections/load", "load_collection", "Loads a collection for search", load);
    route(r, "collections/release", "release_collection", "Releases a collection", release);
    let summary = "A collection's (or its partitions') load state";
    route(r, "collections/get_load_state", "get_load_state", summary, load_state);
    let summary = "A collection's row count";
    route(r, "collections/get_stats", "get_collection_statistics", summary, stats);
}

bodies!(CreateBody, CollectionBody, DropBody, ListBody, LoadStateBody, RenameBody);

/// The body of most collection endpoints.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup"}))]
pub(crate) struct CollectionBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
}

/// The body of `collections/drop`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "CollectionDropBody", example = json!({"collectionName": "quick_setup"}))]
pub(crate) struct DropBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    /// Quiver: with the recycle bin off (`[deletion] retention_hours = 0`) a drop is final, and
    /// one of more rows than the mass-deletion guard allows needs this flag (and the
    /// `ForceDelete` privilege).
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "CollectionListBody")]
pub(crate) struct ListBody {
    #[serde(default)]
    db_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct LoadStateBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[serde(default)]
    partition_names: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RenameBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    new_collection_name: String,
    #[serde(default)]
    new_db_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "CollectionCreateBody")]
#[schemars(example = json!({"collectionName": "quick_setup", "dimension": 5, "metricType": "COSINE"}))]
pub(crate) struct CreateBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[serde(default)]
    description: String,
    // Quick setup.
    dimension: Option<u32>,
    metric_type: Option<String>,
    id_type: Option<String>,
    #[serde(alias = "autoID")]
    auto_id: Option<bool>,
    primary_field_name: Option<String>,
    vector_field_name: Option<String>,
    // Custom setup.
    schema: Option<SchemaBody>,
    index_params: Option<Vec<IndexParam>>,
    params: Option<Map<String, Json>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SchemaBody {
    #[serde(default, alias = "autoID")]
    auto_id: bool,
    // Milvus's documentation spells it `enabledDynamicField` in one example.
    #[serde(alias = "enabledDynamicField")]
    enable_dynamic_field: Option<bool>,
    #[serde(default)]
    fields: Vec<FieldBody>,
    #[serde(default)]
    functions: Vec<Json>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct FieldBody {
    field_name: String,
    data_type: String,
    #[serde(default)]
    element_data_type: String,
    #[serde(default)]
    is_primary: bool,
    #[serde(default)]
    is_partition_key: bool,
    #[serde(default)]
    is_clustering_key: bool,
    #[serde(default)]
    nullable: bool,
    default_value: Option<Json>,
    #[serde(default)]
    element_type_params: Map<String, Json>,
    #[serde(default)]
    description: String,
}

/// Milvus's data type names, matched without regard to case.
fn data_type(name: &str, what: &str) -> Result<wire::DataType, Failure> {
    const TYPES: &[wire::DataType] = &[
        wire::DataType::Bool,
        wire::DataType::Int8,
        wire::DataType::Int16,
        wire::DataType::Int32,
        wire::DataType::Int64,
        wire::DataType::Float,
        wire::DataType::Double,
        wire::DataType::String,
        wire::DataType::VarChar,
        wire::DataType::Array,
        wire::DataType::Json,
        wire::DataType::BinaryVector,
        wire::DataType::FloatVector,
        wire::DataType::Float16Vector,
        wire::DataType::BFloat16Vector,
        wire::DataType::SparseFloatVector,
        wire::DataType::Int8Vector,
    ];
    TYPES.iter().copied().find(|t| t.as_str_name().eq_ignore_ascii_case(name.trim())).ok_or_else(
        || {
            Failure::invalid(format!(
                "{what}: unknown data type {:?}",
                name.chars().take(32).collect::<String>()
            ))
        },
    )
}

/// A type parameter as the text Milvus keeps (`"dim": 5` and `"dim": "5"` alike).
fn param_text(field: &str, key: &str, value: &Json) -> Result<String, Failure> {
    match value {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(b.to_string()),
        _ => Err(Failure::new(
            rest_code::BAD_REQUEST,
            format!("field {field:?}: elementTypeParams.{key} must be a number, string or bool"),
        )),
    }
}

fn kv(key: &str, value: impl Into<String>) -> KeyValuePair {
    KeyValuePair { key: key.to_owned(), value: value.into() }
}

fn default_value(
    field: &FieldBody,
    kind: wire::DataType,
    value: &Json,
) -> Result<wire::ValueField, Failure> {
    use value_field::Data as D;
    let bad = || {
        Failure::invalid(format!(
            "field {:?}: defaultValue does not fit its type {}",
            field.field_name,
            kind.as_str_name()
        ))
    };
    let data = match kind {
        wire::DataType::Bool => D::BoolData(value.as_bool().ok_or_else(bad)?),
        wire::DataType::Int8 | wire::DataType::Int16 | wire::DataType::Int32 => {
            D::IntData(value.as_i64().and_then(|v| i32::try_from(v).ok()).ok_or_else(bad)?)
        }
        wire::DataType::Int64 => D::LongData(value.as_i64().ok_or_else(bad)?),
        wire::DataType::Float => D::FloatData(value.as_f64().ok_or_else(bad)? as f32),
        wire::DataType::Double => D::DoubleData(value.as_f64().ok_or_else(bad)?),
        wire::DataType::VarChar | wire::DataType::String => {
            D::StringData(value.as_str().ok_or_else(bad)?.to_owned())
        }
        wire::DataType::Json => D::BytesData(value.to_string().into_bytes()),
        _ => return Err(bad()),
    };
    Ok(wire::ValueField { data: Some(data) })
}

fn field_to_wire(field: &FieldBody) -> Result<wire::FieldSchema, Failure> {
    let name = required(&field.field_name, "schema.fields[].fieldName")?;
    let kind = data_type(required(&field.data_type, "schema.fields[].dataType")?, name)?;
    let mut type_params = Vec::with_capacity(field.element_type_params.len());
    for (key, value) in &field.element_type_params {
        type_params.push(kv(key, param_text(name, key, value)?));
    }
    let element_type = match field.element_data_type.trim() {
        "" => 0,
        element => data_type(element, name)? as i32,
    };
    let default_value = match &field.default_value {
        None | Some(Json::Null) => None,
        Some(value) => Some(default_value(field, kind, value)?),
    };
    Ok(wire::FieldSchema {
        name: name.to_owned(),
        is_primary_key: field.is_primary,
        description: field.description.clone(),
        data_type: kind as i32,
        type_params,
        element_type,
        default_value,
        is_partition_key: field.is_partition_key,
        is_clustering_key: field.is_clustering_key,
        nullable: field.nullable,
        ..Default::default()
    })
}

/// The collection `params` Quiver reads; others are refused by name. Returns the dynamic
/// field setting and the VarChar primary key length they give.
struct CollectionParams {
    enable_dynamic_field: Option<bool>,
    max_length: Option<u32>,
}

fn collection_params(params: Option<&Map<String, Json>>) -> Result<CollectionParams, Failure> {
    let mut out = CollectionParams { enable_dynamic_field: None, max_length: None };
    for (key, value) in params.into_iter().flatten() {
        match key.as_str() {
            "enableDynamicField" => {
                out.enable_dynamic_field = Some(match value {
                    Json::Bool(b) => *b,
                    Json::String(s) if s.eq_ignore_ascii_case("true") => true,
                    Json::String(s) if s.eq_ignore_ascii_case("false") => false,
                    _ => {
                        return Err(Failure::new(
                            rest_code::BAD_REQUEST,
                            "params.enableDynamicField must be true or false",
                        ));
                    }
                });
            }
            "max_length" | "maxLength" => {
                let text = param_text("params", key, value)?;
                out.max_length = Some(text.trim().parse().map_err(|_| {
                    Failure::invalid("params.max_length must be a positive integer")
                })?);
            }
            // Quiver is always strongly consistent and has one shard: neither changes results.
            "consistencyLevel" | "shardsNum" => {}
            "ttlSeconds" => return Err(Failure::unsupported("collection TTL (ttlSeconds)")),
            "partitionsNum" | "partitionKeyIsolation" => {
                return Err(Failure::unsupported(format!("partition keys (params.{key})")));
            }
            other => {
                return Err(Failure::new(
                    rest_code::BAD_REQUEST,
                    format!("unknown collection parameter params.{}", super::shorten(other)),
                ));
            }
        }
    }
    Ok(out)
}

fn create(api: &MilvusApi, ctx: &Ctx, req: CreateBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?.to_owned();
    let params = collection_params(req.params.as_ref())?;
    let quick = req.dimension.is_some()
        || req.metric_type.is_some()
        || req.id_type.is_some()
        || req.auto_id.is_some()
        || req.primary_field_name.is_some()
        || req.vector_field_name.is_some();
    let (schema, indexes) = match (&req.schema, quick) {
        (Some(_), true) => {
            return Err(Failure::invalid(
                "give either the quick setup (dimension, metricType, idType, ...) or a schema, \
                 not both",
            ));
        }
        (Some(schema), false) => {
            if !schema.functions.is_empty() {
                return Err(Failure::unsupported("schema functions (BM25, text embedding)"));
            }
            let fields = schema.fields.iter().map(field_to_wire).collect::<Result<Vec<_>, _>>()?;
            let schema = wire::CollectionSchema {
                name: name.clone(),
                description: req.description.clone(),
                auto_id: schema.auto_id,
                fields,
                enable_dynamic_field: schema
                    .enable_dynamic_field
                    .or(params.enable_dynamic_field)
                    .unwrap_or(false),
                ..Default::default()
            };
            (schema, req.index_params.unwrap_or_default())
        }
        (None, _) => {
            if req.index_params.is_some() {
                return Err(Failure::invalid("indexParams need a schema"));
            }
            let dimension = req.dimension.ok_or_else(|| missing("dimension"))?;
            let pk_name = req.primary_field_name.unwrap_or_else(|| "id".to_owned());
            let vector_name = req.vector_field_name.unwrap_or_else(|| "vector".to_owned());
            let id_type = data_type(req.id_type.as_deref().unwrap_or("Int64"), "idType")?;
            let mut pk_params = Vec::new();
            if matches!(id_type, wire::DataType::VarChar | wire::DataType::String) {
                let length = params.max_length.unwrap_or(DEFAULT_VARCHAR_ID_LENGTH);
                pk_params.push(kv("max_length", length.to_string()));
            }
            let auto_id = req.auto_id.unwrap_or(false);
            let fields = vec![
                wire::FieldSchema {
                    name: pk_name,
                    is_primary_key: true,
                    data_type: id_type as i32,
                    type_params: pk_params,
                    auto_id,
                    ..Default::default()
                },
                wire::FieldSchema {
                    name: vector_name.clone(),
                    data_type: wire::DataType::FloatVector as i32,
                    type_params: vec![kv("dim", dimension.to_string())],
                    ..Default::default()
                },
            ];
            let schema = wire::CollectionSchema {
                name: name.clone(),
                description: req.description.clone(),
                auto_id,
                fields,
                enable_dynamic_field: params.enable_dynamic_field.unwrap_or(true),
                ..Default::default()
            };
            // Milvus indexes the vector with AUTOINDEX and loads a quick-setup collection.
            let index =
                IndexParam::auto(&vector_name, req.metric_type.as_deref().unwrap_or("COSINE"));
            (schema, vec![index])
        }
    };
    collections::create_collection(
        api,
        ctx,
        pb::CreateCollectionRequest {
            db_name: ctx.db.clone(),
            collection_name: name.clone(),
            schema: schema.encode_to_vec(),
            shards_num: 1,
            ..Default::default()
        },
    )?;
    if !indexes.is_empty() {
        create_indexes(api, ctx, &name, &indexes)?;
        collections::load_collection(
            api,
            ctx,
            pb::LoadCollectionRequest {
                db_name: ctx.db.clone(),
                collection_name: name,
                ..Default::default()
            },
        )?;
    }
    Ok(Reply::empty())
}

fn drop(api: &MilvusApi, ctx: &Ctx, req: DropBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    collections::drop_collection(
        api,
        &ctx.clone().forced(req.force),
        pb::DropCollectionRequest { collection_name: name.to_owned(), ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn has(api: &MilvusApi, ctx: &Ctx, req: CollectionBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    let resp = collections::has_collection(
        api,
        ctx,
        pb::HasCollectionRequest { collection_name: name.to_owned(), ..Default::default() },
    )?;
    Ok(Reply::data(json!({ "has": resp.value })))
}

fn list(api: &MilvusApi, ctx: &Ctx, _req: ListBody) -> Result<Reply, Failure> {
    let resp = collections::show_collections(api, ctx, pb::ShowCollectionsRequest::default())?;
    Ok(Reply::data(json!(resp.collection_names)))
}

fn rename(api: &MilvusApi, ctx: &Ctx, req: RenameBody) -> Result<Reply, Failure> {
    let old = required(&req.collection_name, "collectionName")?;
    let new = required(&req.new_collection_name, "newCollectionName")?;
    collections::rename_collection(
        api,
        ctx,
        pb::RenameCollectionRequest {
            db_name: ctx.db.clone(),
            old_name: old.to_owned(),
            new_name: new.to_owned(),
            new_db_name: req.new_db_name,
            ..Default::default()
        },
    )?;
    Ok(Reply::empty())
}

fn load(api: &MilvusApi, ctx: &Ctx, req: CollectionBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    collections::load_collection(
        api,
        ctx,
        pb::LoadCollectionRequest { collection_name: name.to_owned(), ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn release(api: &MilvusApi, ctx: &Ctx, req: CollectionBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    collections::release_collection(
        api,
        ctx,
        pb::ReleaseCollectionRequest { collection_name: name.to_owned(), ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn load_state(api: &MilvusApi, ctx: &Ctx, req: LoadStateBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    let resp = collections::get_load_state(
        api,
        ctx,
        pb::GetLoadStateRequest {
            collection_name: name.to_owned(),
            partition_names: req.partition_names,
            ..Default::default()
        },
    )?;
    let state = LoadState::try_from(resp.state).unwrap_or(LoadState::NotExist);
    Ok(Reply::data(match state {
        LoadState::Loaded => json!({ "loadState": state.as_str_name(), "loadProgress": 100 }),
        _ => json!({ "loadState": state.as_str_name() }),
    }))
}

fn stats(api: &MilvusApi, ctx: &Ctx, req: CollectionBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    let resp = collections::get_collection_statistics(
        api,
        ctx,
        pb::GetCollectionStatisticsRequest {
            collection_name: name.to_owned(),
            ..Default::default()
        },
    )?;
    Ok(Reply::data(json!({ "rowCount": row_count(&resp.stats) })))
}

/// The `row_count` statistic as a number.
pub(super) fn row_count(stats: &[KeyValuePair]) -> u64 {
    crate::service::param(stats, "row_count").and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn describe(api: &MilvusApi, ctx: &Ctx, req: CollectionBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?;
    let resp = collections::describe_collection(
        api,
        ctx,
        pb::DescribeCollectionRequest { collection_name: name.to_owned(), ..Default::default() },
    )?;
    let schema = resp.schema.unwrap_or_default();
    let state = collections::get_load_state(
        api,
        ctx,
        pb::GetLoadStateRequest { collection_name: name.to_owned(), ..Default::default() },
    )
    .ok()
    .and_then(|s| LoadState::try_from(s.state).ok())
    .unwrap_or(LoadState::NotExist);
    // Index details need IndexDetail; without it (or without indexes) the list is empty.
    let indexes = index::describe_index(
        api,
        ctx,
        pb::DescribeIndexRequest { collection_name: name.to_owned(), ..Default::default() },
    )
    .map(|r| r.index_descriptions)
    .unwrap_or_default();
    let fields: Vec<Json> = schema.fields.iter().map(field_json).collect();
    let indexes: Vec<Json> = indexes
        .iter()
        .map(|i| {
            json!({
                "fieldName": i.field_name,
                "indexName": i.index_name,
                "metricType": crate::service::param(&i.params, "metric_type").unwrap_or(""),
            })
        })
        .collect();
    Ok(Reply::data(json!({
        "collectionName": resp.collection_name,
        "collectionID": resp.collection_id,
        "dbName": resp.db_name,
        "description": schema.description,
        "autoId": schema.auto_id,
        "enableDynamicField": schema.enable_dynamic_field,
        "fields": fields,
        "functions": [],
        "indexes": indexes,
        "load": state.as_str_name(),
        "shardsNum": resp.shards_num,
        "partitionsNum": resp.num_partitions,
        "consistencyLevel": "Strong",
        "aliases": resp.aliases,
        "properties": kvs_json(&resp.properties),
    })))
}

fn kvs_json(kvs: &[KeyValuePair]) -> Vec<Json> {
    kvs.iter().map(|kv| json!({ "key": kv.key, "value": kv.value })).collect()
}

fn field_json(field: &wire::FieldSchema) -> Json {
    let type_name = |code: i32| wire::DataType::try_from(code).map_or("", |t| t.as_str_name());
    let mut out = json!({
        "name": field.name,
        "id": field.field_id,
        "type": type_name(field.data_type),
        "description": field.description,
        "primaryKey": field.is_primary_key,
        "autoId": field.auto_id,
        "partitionKey": field.is_partition_key,
        "clusteringKey": field.is_clustering_key,
        "nullable": field.nullable,
        "params": kvs_json(&field.type_params),
    });
    if field.element_type != 0
        && let Json::Object(map) = &mut out
    {
        map.insert("elementType".to_owned(), json!(type_name(field.element_type)));
    }
    out
}
