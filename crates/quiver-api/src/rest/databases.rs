//! `databases/*`: create, drop, list, describe. The database these name is the one the
//! request addresses (`dbName`).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use crate::proto::milvus as pb;
use crate::rest::registry::Routes;
use crate::rest::{Reply, required, route};
use crate::service::{Ctx, MilvusApi, collections};
use crate::status::Failure;

pub(super) fn routes(r: &mut Routes) {
    route(r, "databases/create", "create_database", "Creates a database", create);
    route(r, "databases/drop", "drop_database", "Drops an empty database", drop);
    route(r, "databases/list", "list_databases", "The databases the caller may see", list);
    route(r, "databases/describe", "describe_database", "A database's id and properties", describe);
}

bodies!(DatabaseBody, CreateBody, ListBody);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "DatabaseListBody")]
pub(crate) struct ListBody {
    #[serde(default)]
    db_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct DatabaseBody {
    db_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "DatabaseCreateBody")]
pub(crate) struct CreateBody {
    db_name: String,
    #[serde(default)]
    properties: Map<String, Json>,
}

fn create(api: &MilvusApi, ctx: &Ctx, req: CreateBody) -> Result<Reply, Failure> {
    let db_name = required(&req.db_name, "dbName")?.to_owned();
    if !req.properties.is_empty() {
        return Err(Failure::unsupported("database properties"));
    }
    collections::create_database(
        api,
        ctx,
        pb::CreateDatabaseRequest { db_name, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn drop(api: &MilvusApi, ctx: &Ctx, req: DatabaseBody) -> Result<Reply, Failure> {
    let db_name = required(&req.db_name, "dbName")?.to_owned();
    collections::drop_database(
        api,
        ctx,
        pb::DropDatabaseRequest { db_name, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn list(api: &MilvusApi, ctx: &Ctx, _req: ListBody) -> Result<Reply, Failure> {
    let resp = collections::list_databases(api, ctx, pb::ListDatabasesRequest::default())?;
    Ok(Reply::data(json!(resp.db_names)))
}

fn describe(api: &MilvusApi, ctx: &Ctx, req: DatabaseBody) -> Result<Reply, Failure> {
    let db_name = required(&req.db_name, "dbName")?.to_owned();
    let resp = collections::describe_database(
        api,
        ctx,
        pb::DescribeDatabaseRequest { db_name, ..Default::default() },
    )?;
    Ok(Reply::data(json!({
        "dbName": resp.db_name,
        "dbID": resp.db_id,
        "properties": resp
            .properties
            .iter()
            .map(|kv| json!({ "key": kv.key, "value": kv.value }))
            .collect::<Vec<_>>(),
    })))
}
