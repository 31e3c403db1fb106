//! The recycle bin over REST: `collections/restore` (the endpoint the issue names, Milvus has
//! none) and Quiver's `collections/trash/list` and `collections/trash/purge`, and for dropped
//! partitions `partitions/restore`, `partitions/trash/list` and `partitions/trash/purge`. Each
//! builds the request of the `quiver.admin.v1.RecycleBin` gRPC service and runs the same
//! handler through the same audit step, so both protocols decide and record alike.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::proto::admin as adm;
use crate::ratelimit::RequestClass;
use crate::rest::registry::Routes;
use crate::rest::{Reply, route};
use crate::service::{Ctx, MilvusApi, partition_trash, trash};
use crate::status::Failure;

/// The endpoints here that change something: each records its own audit event through
/// `MilvusApi::audited_call`, the step every gRPC request goes through (checked by the REST
/// audit-coverage test).
#[cfg(test)]
pub(super) const SELF_AUDITED: &[&str] = &[
    "collections/restore",
    "collections/trash/purge",
    "partitions/restore",
    "partitions/trash/purge",
];

pub(super) fn routes(r: &mut Routes) {
    let ddl = RequestClass::Ddl;
    let summary = "Restores a dropped collection from the recycle bin, or a collection as it was at a past time into a new one (admin)";
    route(r, "collections/restore", ddl, summary, restore);
    let summary = "The dropped collections in the recycle bin (admin)";
    route(r, "collections/trash/list", RequestClass::Read, summary, list);
    let summary = "Deletes a dropped collection from the recycle bin for good (admin)";
    route(r, "collections/trash/purge", ddl, summary, purge);
    let summary =
        "Restores a dropped partition, with its rows, from its collection's recycle bin (admin)";
    route(r, "partitions/restore", ddl, summary, restore_partition);
    let summary = "The dropped partitions of a collection in the recycle bin (admin)";
    route(r, "partitions/trash/list", RequestClass::Read, summary, list_partitions);
    let summary = "Deletes a dropped partition from the recycle bin for good (admin)";
    route(r, "partitions/trash/purge", ddl, summary, purge_partition);
}

bodies!(
    RestoreBody,
    TrashListBody,
    PurgeBody,
    PartitionRestoreBody,
    PartitionTrashListBody,
    PartitionPurgeBody,
);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup"}))]
pub(crate) struct RestoreBody {
    #[serde(default)]
    db_name: String,
    /// The name the collection was dropped under (the latest drop of it unless `trashId` is
    /// given), or for a point-in-time restore the live collection.
    #[serde(default)]
    collection_name: String,
    /// The recycle-bin id (`collections/trash/list`), instead of the name.
    #[serde(default)]
    trash_id: u64,
    /// The name to restore under (default: the old name); required with `pointInTimeMs`.
    #[serde(default)]
    new_collection_name: String,
    /// Restore what the collection showed at this time (milliseconds since the Unix epoch,
    /// inside the retention window) into a new collection.
    #[serde(default)]
    point_in_time_ms: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TrashListBody {
    /// Only collections dropped from this database (default: every database).
    #[serde(default)]
    db_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"trashId": 7}))]
pub(crate) struct PurgeBody {
    #[serde(default)]
    db_name: String,
    trash_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup", "partitionName": "2026_q3"}))]
pub(crate) struct PartitionRestoreBody {
    #[serde(default)]
    db_name: String,
    /// The live collection (or alias) the partition was dropped from.
    collection_name: String,
    /// The partition's name when dropped (the latest drop of it unless `partitionId` is given).
    #[serde(default)]
    partition_name: String,
    /// The id `partitions/trash/list` shows, instead of the name.
    #[serde(default)]
    partition_id: i64,
    /// The name to restore under (default: the old name).
    #[serde(default)]
    new_partition_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup"}))]
pub(crate) struct PartitionTrashListBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(example = json!({"collectionName": "quick_setup", "partitionId": 3}))]
pub(crate) struct PartitionPurgeBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    partition_id: i64,
}

fn restore(api: &MilvusApi, ctx: &Ctx, req: RestoreBody) -> Result<Reply, Failure> {
    let request = adm::RestoreCollectionRequest {
        db_name: String::new(),
        collection_name: req.collection_name,
        trash_id: req.trash_id,
        new_collection_name: req.new_collection_name,
        point_in_time_ms: req.point_in_time_ms,
    };
    let resp = api.audited_call(ctx, request, trash::restore_collection)?;
    Ok(Reply::data(json!({
        "dbName": resp.db_name,
        "collectionName": resp.collection_name,
        "trashId": resp.trash_id,
    })))
}

fn list(api: &MilvusApi, ctx: &Ctx, req: TrashListBody) -> Result<Reply, Failure> {
    let request = adm::ListTrashRequest { db_name: req.db_name };
    let resp = api.audited_call(ctx, request, trash::list_trash)?;
    let entries: Vec<_> = resp
        .collections
        .into_iter()
        .map(|c| {
            json!({
                "trashId": c.trash_id,
                "dbName": c.db_name,
                "collectionName": c.collection_name,
                "createdMs": c.created_ms,
                "droppedMs": c.dropped_ms,
                "expiresMs": c.expires_ms,
            })
        })
        .collect();
    Ok(Reply::data(json!(entries)))
}

fn purge(api: &MilvusApi, ctx: &Ctx, req: PurgeBody) -> Result<Reply, Failure> {
    if req.trash_id == 0 {
        return Err(Failure::invalid("trashId is required"));
    }
    api.audited_call(ctx, adm::PurgeTrashRequest { trash_id: req.trash_id }, trash::purge_trash)?;
    Ok(Reply::empty())
}

fn restore_partition(
    api: &MilvusApi,
    ctx: &Ctx,
    req: PartitionRestoreBody,
) -> Result<Reply, Failure> {
    let request = adm::RestorePartitionRequest {
        db_name: String::new(),
        collection_name: req.collection_name,
        partition_id: req.partition_id,
        partition_name: req.partition_name,
        new_partition_name: req.new_partition_name,
    };
    let resp = api.audited_call(ctx, request, partition_trash::restore_partition)?;
    Ok(Reply::data(json!({
        "partitionId": resp.partition_id,
        "partitionName": resp.partition_name,
    })))
}

fn list_partitions(
    api: &MilvusApi,
    ctx: &Ctx,
    req: PartitionTrashListBody,
) -> Result<Reply, Failure> {
    let request = adm::ListTrashedPartitionsRequest {
        db_name: String::new(),
        collection_name: req.collection_name,
    };
    let resp = api.audited_call(ctx, request, partition_trash::list_trashed_partitions)?;
    let entries: Vec<_> = resp
        .partitions
        .into_iter()
        .map(|p| {
            json!({
                "partitionId": p.partition_id,
                "partitionName": p.partition_name,
                "droppedMs": p.dropped_ms,
                "expiresMs": p.expires_ms,
                "rows": p.rows,
            })
        })
        .collect();
    Ok(Reply::data(json!(entries)))
}

fn purge_partition(api: &MilvusApi, ctx: &Ctx, req: PartitionPurgeBody) -> Result<Reply, Failure> {
    let request = adm::PurgePartitionRequest {
        db_name: String::new(),
        collection_name: req.collection_name,
        partition_id: req.partition_id,
    };
    api.audited_call(ctx, request, partition_trash::purge_partition)?;
    Ok(Reply::empty())
}
