//! `partitions/*`: create, drop, list, has, load, release, get_stats.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::proto::milvus as pb;
use crate::rest::collections::row_count;
use crate::rest::registry::Routes;
use crate::rest::{Reply, missing, required, route};
use crate::service::{Ctx, MilvusApi, partitions};
use crate::status::Failure;

pub(super) fn routes(r: &mut Routes) {
    route(r, "partitions/create", "create_partition", "Creates a partition", create);
    route(r, "partitions/drop", "drop_partition", "Drops a partition", drop);
    route(r, "partitions/list", "show_partitions", "A collection's partitions", list);
    route(r, "partitions/has", "has_partition", "Whether a partition exists", has);
    route(r, "partitions/load", "load_partitions", "Loads partitions", load);
    route(r, "partitions/release", "release_partitions", "Releases partitions", release);
    let summary = "A partition's row count";
    route(r, "partitions/get_stats", "get_partition_statistics", summary, stats);
}

bodies!(PartitionBody, DropBody, PartitionsBody, ListBody);

/// The body of the endpoints on one partition.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PartitionBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    partition_name: String,
}

/// The body of `partitions/drop`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "PartitionDropBody")]
pub(crate) struct DropBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    partition_name: String,
    /// Quiver: with the recycle bin off (`[deletion] retention_hours = 0`) a drop is final, and
    /// one of more rows than the mass-deletion guard allows needs this flag (and the
    /// `ForceDelete` privilege).
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "PartitionListBody")]
pub(crate) struct ListBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PartitionsBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[schemars(required)]
    partition_names: Option<Vec<String>>,
}

fn names(req: &PartitionBody) -> Result<(String, String), Failure> {
    both_names(&req.collection_name, &req.partition_name)
}

fn both_names(collection: &str, partition: &str) -> Result<(String, String), Failure> {
    let collection = required(collection, "collectionName")?;
    let partition = required(partition, "partitionName")?;
    Ok((collection.to_owned(), partition.to_owned()))
}

fn create(api: &MilvusApi, ctx: &Ctx, req: PartitionBody) -> Result<Reply, Failure> {
    let (collection_name, partition_name) = names(&req)?;
    partitions::create_partition(
        api,
        ctx,
        pb::CreatePartitionRequest { collection_name, partition_name, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn drop(api: &MilvusApi, ctx: &Ctx, req: DropBody) -> Result<Reply, Failure> {
    let (collection_name, partition_name) = both_names(&req.collection_name, &req.partition_name)?;
    partitions::drop_partition(
        api,
        &ctx.clone().forced(req.force),
        pb::DropPartitionRequest { collection_name, partition_name, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn has(api: &MilvusApi, ctx: &Ctx, req: PartitionBody) -> Result<Reply, Failure> {
    let (collection_name, partition_name) = names(&req)?;
    let resp = partitions::has_partition(
        api,
        ctx,
        pb::HasPartitionRequest { collection_name, partition_name, ..Default::default() },
    )?;
    Ok(Reply::data(json!({ "has": resp.value })))
}

fn list(api: &MilvusApi, ctx: &Ctx, req: ListBody) -> Result<Reply, Failure> {
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    let resp = partitions::show_partitions(
        api,
        ctx,
        pb::ShowPartitionsRequest { collection_name, ..Default::default() },
    )?;
    Ok(Reply::data(json!(resp.partition_names)))
}

fn partition_names(req: PartitionsBody) -> Result<(String, Vec<String>), Failure> {
    let collection = required(&req.collection_name, "collectionName")?.to_owned();
    let names =
        req.partition_names.filter(|n| !n.is_empty()).ok_or_else(|| missing("partitionNames"))?;
    Ok((collection, names))
}

fn load(api: &MilvusApi, ctx: &Ctx, req: PartitionsBody) -> Result<Reply, Failure> {
    let (collection_name, partition_names) = partition_names(req)?;
    partitions::load_partitions(
        api,
        ctx,
        pb::LoadPartitionsRequest { collection_name, partition_names, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn release(api: &MilvusApi, ctx: &Ctx, req: PartitionsBody) -> Result<Reply, Failure> {
    let (collection_name, partition_names) = partition_names(req)?;
    partitions::release_partitions(
        api,
        ctx,
        pb::ReleasePartitionsRequest { collection_name, partition_names, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn stats(api: &MilvusApi, ctx: &Ctx, req: PartitionBody) -> Result<Reply, Failure> {
    let (collection_name, partition_name) = names(&req)?;
    let resp = partitions::get_partition_statistics(
        api,
        ctx,
        pb::GetPartitionStatisticsRequest { collection_name, partition_name, ..Default::default() },
    )?;
    Ok(Reply::data(json!({ "rowCount": row_count(&resp.stats) })))
}
