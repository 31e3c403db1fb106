//! Dropped partitions in the recycle bin, over the network: the `ListTrashedPartitions`,
//! `RestorePartition` and `PurgePartition` methods of `quiver.admin.v1.RecycleBin` and,
//! through the same handlers, REST `partitions/restore` and `partitions/trash/*`.
//!
//! Each collection keeps its own bin of partitions (a partition id is never reused, so it
//! names the entry). As for collections, only an admin lists, restores or purges, and restore
//! and purge are audited admin actions.
//!
//! | Request | Engine |
//! |---|---|
//! | ListTrashedPartitions | `Collection::list_trashed_partitions` |
//! | RestorePartition | `Collection::restore_partition` (by id, or the latest drop of a name) |
//! | PurgePartition | `Collection::purge_partition` |

use quiver_audit::{AdminAction, Event};
use quiver_engine::{EngineError, TrashedPartition};

use crate::proto::admin as adm;
use crate::service::audit::{self, AuditClass, Audited};
use crate::service::trash::require_admin;
use crate::service::{Ctx, MilvusApi};
use crate::status::{Failure, ok_status};

fn wire_entry(entry: TrashedPartition) -> adm::TrashedPartition {
    adm::TrashedPartition {
        partition_id: entry.id,
        partition_name: entry.name,
        dropped_ms: entry.dropped_ms,
        expires_ms: entry.expires_ms,
        rows: entry.rows,
    }
}

fn required_collection(name: &str) -> Result<(), Failure> {
    if name.is_empty() {
        return Err(Failure::invalid("collection_name is required"));
    }
    Ok(())
}

pub(crate) fn list_trashed_partitions(
    api: &MilvusApi,
    ctx: &Ctx,
    req: adm::ListTrashedPartitionsRequest,
) -> Result<adm::ListTrashedPartitionsResponse, Failure> {
    require_admin(api, ctx)?;
    required_collection(&req.collection_name)?;
    let collection = api.db.collection(&ctx.db, &req.collection_name)?;
    let partitions = collection.list_trashed_partitions().into_iter().map(wire_entry).collect();
    Ok(adm::ListTrashedPartitionsResponse { status: Some(ok_status()), partitions })
}

pub(crate) fn restore_partition(
    api: &MilvusApi,
    ctx: &Ctx,
    req: adm::RestorePartitionRequest,
) -> Result<adm::RestorePartitionResponse, Failure> {
    require_admin(api, ctx)?;
    required_collection(&req.collection_name)?;
    let collection = api.db.collection(&ctx.db, &req.collection_name)?;
    let bin = collection.list_trashed_partitions();
    let entry = match (req.partition_id, req.partition_name.as_str()) {
        (0, "") => return Err(Failure::invalid("partition_id or partition_name is required")),
        (0, name) => bin
            .into_iter()
            .filter(|entry| entry.name == name)
            .max_by_key(|entry| (entry.dropped_ms, entry.id))
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "no partition {name:?} of collection {:?} in the recycle bin",
                    req.collection_name
                ))
            })?,
        (id, _) => bin
            .into_iter()
            .find(|entry| entry.id == id)
            .ok_or(EngineError::PartitionTrashNotFound { id })?,
    };
    let name = if req.new_partition_name.is_empty() {
        entry.name.clone()
    } else {
        req.new_partition_name.clone()
    };
    collection.restore_partition(entry.id, Some(&name))?;
    Ok(adm::RestorePartitionResponse {
        status: Some(ok_status()),
        partition_id: entry.id,
        partition_name: name,
    })
}

pub(crate) fn purge_partition(
    api: &MilvusApi,
    ctx: &Ctx,
    req: adm::PurgePartitionRequest,
) -> Result<adm::PurgePartitionResponse, Failure> {
    require_admin(api, ctx)?;
    required_collection(&req.collection_name)?;
    if req.partition_id == 0 {
        return Err(Failure::invalid("partition_id is required"));
    }
    api.db.collection(&ctx.db, &req.collection_name)?.purge_partition(req.partition_id)?;
    Ok(adm::PurgePartitionResponse { status: Some(ok_status()) })
}

impl Audited for adm::RestorePartitionRequest {
    const CLASS: AuditClass = AuditClass::Change;

    fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
        let detail = format!(
            "recycle bin partition restore: db={:?} collection={:?} partition_id={} partition={:?} new_name={:?}",
            ctx.db,
            self.collection_name,
            self.partition_id,
            self.partition_name,
            self.new_partition_name
        );
        Some(audit::admin(ctx, AdminAction::Restore, &detail))
    }
}

impl Audited for adm::PurgePartitionRequest {
    const CLASS: AuditClass = AuditClass::Change;

    fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
        let detail = format!(
            "recycle bin partition purge: db={:?} collection={:?} partition_id={}",
            ctx.db, self.collection_name, self.partition_id
        );
        Some(audit::admin(ctx, AdminAction::Purge, &detail))
    }
}
