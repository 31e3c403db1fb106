//! `partitions/*`: create, drop, list, has, load, release, get_stats.

use serde::Deserialize;
use serde_json::json;

use crate::proto::milvus as pb;
use crate::rest::collections::row_count;
use crate::rest::{Reply, missing, required, route};
use crate::service::{Ctx, MilvusApi, partitions};
use crate::status::Failure;

pub(super) fn routes(router: axum::Router, api: &MilvusApi) -> axum::Router {
    let router = route(router, api, "partitions/create", "create_partition", create);
    let router = route(router, api, "partitions/drop", "drop_partition", drop);
    let router = route(router, api, "partitions/list", "show_partitions", list);
    let router = route(router, api, "partitions/has", "has_partition", has);
    let router = route(router, api, "partitions/load", "load_partitions", load);
    let router = route(router, api, "partitions/release", "release_partitions", release);
    route(router, api, "partitions/get_stats", "get_partition_statistics", stats)
}

bodies!(PartitionBody, PartitionsBody);

/// The body of the endpoints on one partition (`partitionName` is not needed by `list`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PartitionBody {
    #[serde(default)]
    db_name: String,
    #[serde(default)]
    collection_name: String,
    #[serde(default)]
    partition_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PartitionsBody {
    #[serde(default)]
    db_name: String,
    #[serde(default)]
    collection_name: String,
    partition_names: Option<Vec<String>>,
}

fn names(req: &PartitionBody) -> Result<(String, String), Failure> {
    let collection = required(&req.collection_name, "collectionName")?;
    let partition = required(&req.partition_name, "partitionName")?;
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

fn drop(api: &MilvusApi, ctx: &Ctx, req: PartitionBody) -> Result<Reply, Failure> {
    let (collection_name, partition_name) = names(&req)?;
    partitions::drop_partition(
        api,
        ctx,
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

fn list(api: &MilvusApi, ctx: &Ctx, req: PartitionBody) -> Result<Reply, Failure> {
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    if !req.partition_name.is_empty() {
        return Err(Failure::invalid("partitions/list takes no partitionName"));
    }
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
