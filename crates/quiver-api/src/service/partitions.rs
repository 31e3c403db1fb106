//! Partitions. Quiver has no partition-level load state: loading or releasing partitions
//! loads or releases nothing beyond checking that they exist (the collection's state governs
//! searches), which is what a client observes from Milvus for a loaded collection.

use quiver_security::Privilege;

use crate::proto::common::{KeyValuePair, Status};
use crate::proto::milvus as pb;
use crate::service::{Ctx, MilvusApi, mass_deletion};
use crate::status::{Failure, code, ok_status};

pub(crate) fn create_partition(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::CreatePartitionRequest,
) -> Result<Status, Failure> {
    let name = api.authorize_collection(ctx, Privilege::CreatePartition, &req.collection_name)?;
    api.db.collection(&ctx.db, &name)?.create_partition(&req.partition_name)?;
    Ok(ok_status())
}

pub(crate) fn drop_partition(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DropPartitionRequest,
) -> Result<Status, Failure> {
    let name = api.authorize_collection(ctx, Privilege::DropPartition, &req.collection_name)?;
    let collection = api.db.collection(&ctx.db, &name)?;
    mass_deletion::check_drop_partition(api, ctx, &collection, &req.partition_name)?;
    collection.drop_partition(&req.partition_name)?;
    Ok(ok_status())
}

pub(crate) fn has_partition(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::HasPartitionRequest,
) -> Result<pb::BoolResponse, Failure> {
    let name = api.authorize_collection(ctx, Privilege::HasPartition, &req.collection_name)?;
    let value = api.db.collection(&ctx.db, &name)?.partitions().contains(&req.partition_name);
    Ok(pb::BoolResponse { status: Some(ok_status()), value })
}

pub(crate) fn show_partitions(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::ShowPartitionsRequest,
) -> Result<pb::ShowPartitionsResponse, Failure> {
    let name = api.authorize_collection(ctx, Privilege::ShowPartitions, &req.collection_name)?;
    let collection = api.db.collection(&ctx.db, &name)?;
    let loaded = api.db.collection_info(&ctx.db, &name)?.loaded;
    let partition_names: Vec<String> = collection
        .partitions()
        .into_iter()
        .filter(|p| req.partition_names.is_empty() || req.partition_names.contains(p))
        .collect();
    let n = partition_names.len();
    Ok(pb::ShowPartitionsResponse {
        status: Some(ok_status()),
        partition_i_ds: (0..n as i64).collect(),
        created_timestamps: vec![0; n],
        created_utc_timestamps: vec![0; n],
        in_memory_percentages: vec![if loaded { 100 } else { 0 }; n],
        partition_names,
    })
}

fn check_partitions(
    api: &MilvusApi,
    ctx: &Ctx,
    collection: &str,
    partitions: &[String],
) -> Result<(), Failure> {
    let existing = api.db.collection(&ctx.db, collection)?.partitions();
    match partitions.iter().find(|p| !existing.contains(p)) {
        Some(missing) => {
            Err(Failure::new(code::PARTITION_NOT_FOUND, format!("partition {missing:?} not found")))
        }
        None => Ok(()),
    }
}

/// Loading partitions loads the collection (its searches then see every partition named in
/// a request, as Milvus does for loaded partitions).
pub(crate) fn load_partitions(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::LoadPartitionsRequest,
) -> Result<Status, Failure> {
    let name = api.authorize_collection(ctx, Privilege::Load, &req.collection_name)?;
    check_partitions(api, ctx, &name, &req.partition_names)?;
    api.db.set_loaded(&ctx.db, &name, true)?;
    Ok(ok_status())
}

/// Releasing some partitions of a loaded collection is refused rather than pretended: Quiver
/// would keep serving them.
pub(crate) fn release_partitions(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::ReleasePartitionsRequest,
) -> Result<Status, Failure> {
    let name = api.authorize_collection(ctx, Privilege::Release, &req.collection_name)?;
    check_partitions(api, ctx, &name, &req.partition_names)?;
    let all = api.db.collection(&ctx.db, &name)?.partitions();
    if req.partition_names.len() < all.len() && api.db.collection_info(&ctx.db, &name)?.loaded {
        return Err(Failure::unsupported(
            "releasing some partitions of a loaded collection; release the collection",
        ));
    }
    api.db.set_loaded(&ctx.db, &name, false)?;
    Ok(ok_status())
}

pub(crate) fn get_partition_statistics(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::GetPartitionStatisticsRequest,
) -> Result<pb::GetPartitionStatisticsResponse, Failure> {
    let name = api.authorize_collection(ctx, Privilege::GetStatistics, &req.collection_name)?;
    let rows = api.db.collection(&ctx.db, &name)?.count_partition(&req.partition_name)?;
    Ok(pb::GetPartitionStatisticsResponse {
        status: Some(ok_status()),
        stats: vec![KeyValuePair { key: "row_count".to_owned(), value: rows.to_string() }],
    })
}
