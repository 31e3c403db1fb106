//! `aliases/*`: create, drop, alter, describe, list.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::proto::milvus as pb;
use crate::rest::registry::Routes;
use crate::rest::{Reply, required, route};
use crate::service::{Ctx, MilvusApi, collections};
use crate::status::Failure;

pub(super) fn routes(r: &mut Routes) {
    route(r, "aliases/create", "create_alias", "Gives a collection another name", create);
    route(r, "aliases/drop", "drop_alias", "Drops an alias", drop);
    route(r, "aliases/alter", "alter_alias", "Points an alias at another collection", alter);
    route(r, "aliases/describe", "describe_alias", "The collection an alias names", describe);
    route(r, "aliases/list", "list_aliases", "The aliases (of one collection)", list);
}

bodies!(AliasBody, AliasNameBody, ListBody);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AliasBody {
    #[serde(default)]
    db_name: String,
    alias_name: String,
    collection_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AliasNameBody {
    #[serde(default)]
    db_name: String,
    alias_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "AliasListBody")]
pub(crate) struct ListBody {
    #[serde(default)]
    db_name: String,
    #[serde(default)]
    collection_name: String,
}

fn create(api: &MilvusApi, ctx: &Ctx, req: AliasBody) -> Result<Reply, Failure> {
    let alias = required(&req.alias_name, "aliasName")?.to_owned();
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    collections::create_alias(
        api,
        ctx,
        pb::CreateAliasRequest { alias, collection_name, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn alter(api: &MilvusApi, ctx: &Ctx, req: AliasBody) -> Result<Reply, Failure> {
    let alias = required(&req.alias_name, "aliasName")?.to_owned();
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    collections::alter_alias(
        api,
        ctx,
        pb::AlterAliasRequest { alias, collection_name, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn drop(api: &MilvusApi, ctx: &Ctx, req: AliasNameBody) -> Result<Reply, Failure> {
    let alias = required(&req.alias_name, "aliasName")?.to_owned();
    collections::drop_alias(api, ctx, pb::DropAliasRequest { alias, ..Default::default() })?;
    Ok(Reply::empty())
}

fn describe(api: &MilvusApi, ctx: &Ctx, req: AliasNameBody) -> Result<Reply, Failure> {
    let alias = required(&req.alias_name, "aliasName")?.to_owned();
    let resp = collections::describe_alias(
        api,
        ctx,
        pb::DescribeAliasRequest { alias, ..Default::default() },
    )?;
    Ok(Reply::data(json!({
        "aliasName": resp.alias,
        "collectionName": resp.collection,
        "dbName": resp.db_name,
    })))
}

fn list(api: &MilvusApi, ctx: &Ctx, req: ListBody) -> Result<Reply, Failure> {
    let resp = collections::list_aliases(
        api,
        ctx,
        pb::ListAliasesRequest { collection_name: req.collection_name, ..Default::default() },
    )?;
    Ok(Reply::data(json!(resp.aliases)))
}
