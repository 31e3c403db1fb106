//! The mass-deletion guard (`crate::deletion_guard`) applied to the requests that remove
//! rows: Delete always, DropCollection and DropPartition only when the recycle bin is off
//! (`[deletion] retention_hours = 0`), since otherwise a drop removes nothing for good.
//!
//! A mass deletion goes ahead only when the request is forced (gRPC metadata
//! `quiver-force-delete: true`, REST `"force": true`) by a user holding `ForceDelete` on the
//! collection; it is then recorded in the audit log as an admin action before it runs.

use quiver_audit::AdminAction;
use quiver_engine::{Collection, EngineError, ExprFilter};
use quiver_security::Privilege;

use crate::deletion_guard::MassDeletion;
use crate::service::audit::{self, AuditClass};
use crate::service::{Ctx, MilvusApi};
use crate::status::{Failure, code};

/// Refuses a delete of `filter`'s rows (in `partitions`, all when empty) that the guard calls
/// a mass deletion, unless forced (see the module documentation). The share is of the whole
/// collection. Rows are counted only when the request could be a mass deletion (a delete by a
/// short key list never is).
pub(crate) fn check_delete(
    api: &MilvusApi,
    ctx: &Ctx,
    collection: &Collection,
    (filter, filter_text): (&ExprFilter, &str),
    partitions: &[String],
) -> Result<(), Failure> {
    let guard = &api.deletion_guard;
    // A short key list is never a mass deletion, whatever the collection holds: no count.
    let keys = filter.primary_keys().map(|pks| pks.len() as u64);
    if keys.is_some_and(|n| guard.is_never_mass(n)) {
        return Ok(());
    }
    let total = collection.count();
    if guard.assess(keys.unwrap_or(total), total).is_none() {
        return Ok(());
    }
    let removing = collection.count_matching(filter, partitions)?;
    let Some(mass) = guard.assess(removing, total) else { return Ok(()) };
    allow_mass_if_forced(api, ctx, collection.name(), &mass, &format!("filter={filter_text:?}"))
}

/// With the recycle bin off, refuses dropping collection `name` when its rows are a mass
/// deletion, unless forced. A collection that does not exist is left to the drop to report;
/// one whose rows cannot be counted (unavailable) needs the force flag too.
pub(crate) fn check_drop_collection(api: &MilvusApi, ctx: &Ctx, name: &str) -> Result<(), Failure> {
    if !api.db.trash_retention().is_zero() {
        return Ok(());
    }
    let what = "drop collection (recycle bin off)";
    match api.db.collection(&ctx.db, name) {
        Ok(collection) => {
            let rows = collection.count();
            match api.deletion_guard.assess(rows, rows) {
                Some(mass) => allow_mass_if_forced(api, ctx, name, &mass, what),
                None => Ok(()),
            }
        }
        Err(EngineError::CollectionNotFound { .. }) => Ok(()),
        Err(err) => {
            let refusal = format!(
                "{err}: its rows cannot be counted, and with the recycle bin off a drop is \
                 final; repeat it with the force flag as a user holding ForceDelete"
            );
            allow_if_forced(api, ctx, name, refusal, &format!("rows unknown {what}"))
        }
    }
}

/// With the recycle bin off, refuses dropping partition `partition` of `collection` when its
/// rows are a mass deletion of the collection, unless forced.
pub(crate) fn check_drop_partition(
    api: &MilvusApi,
    ctx: &Ctx,
    collection: &Collection,
    partition: &str,
) -> Result<(), Failure> {
    if !api.db.trash_retention().is_zero() {
        return Ok(());
    }
    let removing = collection.count_partition(partition)?;
    let Some(mass) = api.deletion_guard.assess(removing, collection.count()) else {
        return Ok(());
    };
    let what = format!("drop partition {partition:?} (recycle bin off)");
    allow_mass_if_forced(api, ctx, collection.name(), &mass, &what)
}

/// [`allow_if_forced`] for a deletion whose rows are known: the guard's refusal, and the rows
/// in the audit record.
fn allow_mass_if_forced(
    api: &MilvusApi,
    ctx: &Ctx,
    collection: &str,
    mass: &MassDeletion,
    what: &str,
) -> Result<(), Failure> {
    let what = format!("rows={} of {} {what}", mass.removing, mass.total);
    allow_if_forced(api, ctx, collection, mass.to_string(), &what)
}

/// Refuses the deletion (with `refusal` as the message) unless the request is forced by a
/// holder of `ForceDelete` on `collection`; records a forced one (`what` it is) before it runs.
fn allow_if_forced(
    api: &MilvusApi,
    ctx: &Ctx,
    collection: &str,
    refusal: String,
    what: &str,
) -> Result<(), Failure> {
    if !ctx.force {
        return Err(Failure::new(code::INVALID_PARAMETER, refusal));
    }
    api.authorize_collection(ctx, Privilege::ForceDelete, collection)?;
    let detail = format!("forced mass deletion: db={:?} collection={collection:?} {what}", ctx.db);
    tracing::warn!(user = %ctx.user, %detail, "mass deletion forced");
    api.audit
        .record(AuditClass::Change, Some(audit::admin(ctx, AdminAction::MassDeletion, &detail)))
}
