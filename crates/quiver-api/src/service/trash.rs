//! The recycle bin over the network: Quiver's `quiver.admin.v1.RecycleBin` gRPC service and,
//! through the same handlers, REST `collections/restore` and `collections/trash/*`.
//!
//! Only an admin lists, restores or purges: a dropped collection may belong to any database,
//! and purging destroys data for good. Every call is audited as an admin action; restore and
//! purge are changes, so they are refused while the audit log has failed.
//!
//! | Request | Engine |
//! |---|---|
//! | ListTrash | `Database::list_trash` (optionally one database's) |
//! | RestoreCollection without a time | `Database::restore_collection` (the latest drop of the name, or `trash_id`) |
//! | RestoreCollection with `point_in_time_ms` | `Database::restore_collection_as_of` (live collection) or `restore_trashed_as_of` (`trash_id`), into `new_collection_name` |
//! | PurgeTrash | `Database::purge_trash` |
//!
//! Dropped partitions are in `partition_trash`, whose handlers this service also serves.

use quiver_audit::{AdminAction, Event};
use quiver_engine::TrashEntry;
use tonic::{Request, Response};

use crate::proto::admin as adm;
use crate::proto::admin::recycle_bin_server::RecycleBin;
use crate::ratelimit::RequestClass;
use crate::service::audit::{self, AuditClass, Audited};
use crate::service::{Ctx, MilvusApi, partition_trash};
use crate::status::{Failure, ok_status};

/// The methods of the `RecycleBin` service (snake case, as in the Milvus service table), for
/// the request metrics.
pub(crate) const RPCS: [&str; 6] = [
    "list_trash",
    "restore_collection",
    "purge_trash",
    "list_trashed_partitions",
    "restore_partition",
    "purge_partition",
];

pub(crate) fn require_admin(api: &MilvusApi, ctx: &Ctx) -> Result<(), Failure> {
    if api.security.snapshot().is_admin_principal(&ctx.principal) {
        Ok(())
    } else {
        Err(Failure::Grpc(tonic::Status::permission_denied(
            "the recycle bin is for admins only (the admin role)",
        )))
    }
}

fn wire_entry(entry: TrashEntry) -> adm::TrashedCollection {
    adm::TrashedCollection {
        trash_id: entry.id,
        db_name: entry.database,
        collection_name: entry.name,
        created_ms: entry.created_ms,
        dropped_ms: entry.dropped_ms,
        expires_ms: entry.expires_ms,
    }
}

pub(crate) fn list_trash(
    api: &MilvusApi,
    ctx: &Ctx,
    req: adm::ListTrashRequest,
) -> Result<adm::ListTrashResponse, Failure> {
    require_admin(api, ctx)?;
    let collections = api
        .db
        .list_trash()
        .into_iter()
        .filter(|entry| req.db_name.is_empty() || entry.database == req.db_name)
        .map(wire_entry)
        .collect();
    Ok(adm::ListTrashResponse { status: Some(ok_status()), collections })
}

/// The bin entry a restore names: `trash_id`, else the latest drop of `collection_name` from
/// the request's database.
fn trashed_entry(
    api: &MilvusApi,
    ctx: &Ctx,
    req: &adm::RestoreCollectionRequest,
) -> Result<TrashEntry, Failure> {
    let bin = api.db.list_trash();
    let found = if req.trash_id != 0 {
        bin.into_iter().find(|entry| entry.id == req.trash_id)
    } else {
        bin.into_iter()
            .filter(|entry| entry.database == ctx.db && entry.name == req.collection_name)
            .max_by_key(|entry| (entry.dropped_ms, entry.id))
    };
    found.ok_or_else(|| match req.trash_id {
        0 => Failure::invalid(format!(
            "no collection {:?} of database {:?} in the recycle bin",
            req.collection_name, ctx.db
        )),
        id => quiver_engine::EngineError::TrashNotFound { id }.into(),
    })
}

pub(crate) fn restore_collection(
    api: &MilvusApi,
    ctx: &Ctx,
    req: adm::RestoreCollectionRequest,
) -> Result<adm::RestoreCollectionResponse, Failure> {
    require_admin(api, ctx)?;
    if req.trash_id == 0 && req.collection_name.is_empty() {
        return Err(Failure::invalid("collection_name or trash_id is required"));
    }
    let new_name =
        (!req.new_collection_name.is_empty()).then_some(req.new_collection_name.as_str());
    let (db_name, collection, trash_id) = if req.point_in_time_ms == 0 {
        let entry = trashed_entry(api, ctx, &req)?;
        let restored = api.db.restore_collection(entry.id, new_name)?;
        (entry.database, restored.name().to_owned(), entry.id)
    } else {
        let Some(target) = new_name else {
            return Err(Failure::invalid(
                "a point-in-time restore creates a new collection: new_collection_name is required",
            ));
        };
        let at = req.point_in_time_ms;
        let restored = if req.trash_id != 0 {
            api.db.restore_trashed_as_of(req.trash_id, at, &ctx.db, target)?
        } else {
            api.db.restore_collection_as_of(&ctx.db, &req.collection_name, at, target)?
        };
        (ctx.db.clone(), restored.name().to_owned(), req.trash_id)
    };
    Ok(adm::RestoreCollectionResponse {
        status: Some(ok_status()),
        db_name,
        collection_name: collection,
        trash_id,
    })
}

pub(crate) fn purge_trash(
    api: &MilvusApi,
    ctx: &Ctx,
    req: adm::PurgeTrashRequest,
) -> Result<adm::PurgeTrashResponse, Failure> {
    require_admin(api, ctx)?;
    api.db.purge_trash(req.trash_id)?;
    Ok(adm::PurgeTrashResponse { status: Some(ok_status()) })
}

impl Audited for adm::RestoreCollectionRequest {
    const CLASS: AuditClass = AuditClass::Change;

    fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
        let detail = format!(
            "recycle bin restore: db={:?} collection={:?} trash_id={} new_name={:?} point_in_time_ms={}",
            ctx.db,
            self.collection_name,
            self.trash_id,
            self.new_collection_name,
            self.point_in_time_ms
        );
        Some(audit::admin(ctx, AdminAction::Restore, &detail))
    }
}

impl Audited for adm::PurgeTrashRequest {
    const CLASS: AuditClass = AuditClass::Change;

    fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
        let detail = format!("recycle bin purge: trash_id={}", self.trash_id);
        Some(audit::admin(ctx, AdminAction::Purge, &detail))
    }
}

fn no_cost<Req>(_: &Req) -> u64 {
    1
}

#[tonic::async_trait]
impl RecycleBin for MilvusApi {
    async fn list_trash(
        &self,
        request: Request<adm::ListTrashRequest>,
    ) -> Result<Response<adm::ListTrashResponse>, tonic::Status> {
        self.run(request, RequestClass::Read, no_cost, list_trash).await
    }

    async fn restore_collection(
        &self,
        request: Request<adm::RestoreCollectionRequest>,
    ) -> Result<Response<adm::RestoreCollectionResponse>, tonic::Status> {
        self.run(request, RequestClass::Ddl, no_cost, restore_collection).await
    }

    async fn purge_trash(
        &self,
        request: Request<adm::PurgeTrashRequest>,
    ) -> Result<Response<adm::PurgeTrashResponse>, tonic::Status> {
        self.run(request, RequestClass::Ddl, no_cost, purge_trash).await
    }

    async fn list_trashed_partitions(
        &self,
        request: Request<adm::ListTrashedPartitionsRequest>,
    ) -> Result<Response<adm::ListTrashedPartitionsResponse>, tonic::Status> {
        self.run(request, RequestClass::Read, no_cost, partition_trash::list_trashed_partitions)
            .await
    }

    async fn restore_partition(
        &self,
        request: Request<adm::RestorePartitionRequest>,
    ) -> Result<Response<adm::RestorePartitionResponse>, tonic::Status> {
        self.run(request, RequestClass::Ddl, no_cost, partition_trash::restore_partition).await
    }

    async fn purge_partition(
        &self,
        request: Request<adm::PurgePartitionRequest>,
    ) -> Result<Response<adm::PurgePartitionResponse>, tonic::Status> {
        self.run(request, RequestClass::Ddl, no_cost, partition_trash::purge_partition).await
    }
}
