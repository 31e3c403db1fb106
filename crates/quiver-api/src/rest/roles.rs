//! `roles/*`: list, describe, create, drop, grant_privilege, revoke_privilege,
//! grant_privilege_v2, revoke_privilege_v2, over the handlers of SelectRole, SelectGrant,
//! CreateRole, DropRole, OperatePrivilege and OperatePrivilegeV2.
//!
//! `roles/describe` lists the role's grants in every database unless the body names one
//! (`dbName`); Milvus lists those of the request's database only, which hides grants made in
//! other databases or on `*`.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::proto::milvus as pb;
use crate::rest::registry::Routes;
use crate::rest::{Reply, required, route};
use crate::service::{Ctx, MilvusApi, access};
use crate::status::Failure;

pub(super) fn routes(r: &mut Routes) {
    route(r, "roles/list", "select_role", "The roles' names", list);
    route(r, "roles/describe", "select_grant", "The grants of a role", describe);
    route(r, "roles/create", "create_role", "Creates a role with no grants", create);
    let summary = "Drops a role (forceDrop: even if it still has grants)";
    route(r, "roles/drop", "drop_role", summary, drop);
    let summary = "Grants a privilege on an object (Global, Collection or User) to a role";
    route(r, "roles/grant_privilege", "operate_privilege", summary, grant);
    let summary = "Revokes a privilege on an object from a role";
    route(r, "roles/revoke_privilege", "operate_privilege", summary, revoke);
    let summary = "Grants a privilege or privilege group on a database and collection (`*`: all)";
    route(r, "roles/grant_privilege_v2", "operate_privilege_v2", summary, grant_v2);
    let summary = "Revokes a privilege or privilege group on a database and collection";
    route(r, "roles/revoke_privilege_v2", "operate_privilege_v2", summary, revoke_v2);
}

bodies!(ListBody, RoleBody, DropBody, GrantBody, GrantV2Body);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "RoleListBody")]
pub(crate) struct ListBody {
    #[serde(default)]
    db_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RoleBody {
    #[serde(default)]
    db_name: String,
    role_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "RoleDropBody")]
pub(crate) struct DropBody {
    #[serde(default)]
    db_name: String,
    role_name: String,
    /// Drop the role even if it still has grants (they go with it).
    #[serde(default)]
    force_drop: bool,
}

/// A grant of a privilege on one object (Milvus's v1 grant).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct GrantBody {
    /// The database of the grant (also the request's); empty: the request's (`DB-Name`, else
    /// `default`).
    #[serde(default)]
    db_name: String,
    role_name: String,
    /// `Global`, `Collection` or `User`.
    object_type: String,
    /// The object's name, `*` for all.
    object_name: String,
    privilege: String,
}

/// A grant of a privilege or privilege group on a database and collection (Milvus 2.5+).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct GrantV2Body {
    /// The grant's database, `*` for all; empty: the request's.
    #[serde(default)]
    db_name: String,
    role_name: String,
    /// A privilege or a privilege group (built-in or custom).
    privilege: String,
    /// The grant's collection, `*` for all.
    #[serde(default)]
    collection_name: String,
}

fn role_entity(name: String) -> pb::RoleEntity {
    pb::RoleEntity { name, ..Default::default() }
}

fn list(api: &MilvusApi, ctx: &Ctx, _req: ListBody) -> Result<Reply, Failure> {
    let resp = access::select_role(api, ctx, pb::SelectRoleRequest::default())?;
    let names: Vec<String> =
        resp.results.into_iter().filter_map(|result| result.role.map(|r| r.name)).collect();
    Ok(Reply::data(json!(names)))
}

fn describe(api: &MilvusApi, ctx: &Ctx, req: RoleBody) -> Result<Reply, Failure> {
    let role = required(&req.role_name, "roleName")?.to_owned();
    let resp = access::select_grant(
        api,
        ctx,
        pb::SelectGrantRequest {
            entity: Some(pb::GrantEntity {
                role: Some(role_entity(role)),
                db_name: req.db_name,
                ..Default::default()
            }),
            base: None,
        },
    )?;
    let grants: Vec<Json> = resp
        .entities
        .into_iter()
        .map(|grant| {
            let grantor = grant.grantor.unwrap_or_default();
            json!({
                "objectType": grant.object.map(|o| o.name).unwrap_or_default(),
                "objectName": grant.object_name,
                "privilege": grantor.privilege.map(|p| p.name).unwrap_or_default(),
                "dbName": grant.db_name,
                "grantor": grantor.user.map(|u| u.name).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Reply::data(Json::Array(grants)))
}

fn create(api: &MilvusApi, ctx: &Ctx, req: RoleBody) -> Result<Reply, Failure> {
    let role = required(&req.role_name, "roleName")?.to_owned();
    access::create_role(
        api,
        ctx,
        pb::CreateRoleRequest { entity: Some(role_entity(role)), base: None },
    )?;
    Ok(Reply::empty())
}

fn drop(api: &MilvusApi, ctx: &Ctx, req: DropBody) -> Result<Reply, Failure> {
    let role_name = required(&req.role_name, "roleName")?.to_owned();
    access::drop_role(
        api,
        ctx,
        pb::DropRoleRequest { role_name, force_drop: req.force_drop, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn operate(
    api: &MilvusApi,
    ctx: &Ctx,
    req: GrantBody,
    op: pb::OperatePrivilegeType,
) -> Result<Reply, Failure> {
    let role = required(&req.role_name, "roleName")?.to_owned();
    let object_type = required(&req.object_type, "objectType")?.to_owned();
    let object_name = required(&req.object_name, "objectName")?.to_owned();
    let privilege = required(&req.privilege, "privilege")?.to_owned();
    access::operate_privilege(
        api,
        ctx,
        pb::OperatePrivilegeRequest {
            entity: Some(pb::GrantEntity {
                role: Some(role_entity(role)),
                object: Some(pb::ObjectEntity { name: object_type }),
                object_name,
                db_name: req.db_name,
                grantor: Some(pb::GrantorEntity {
                    // The handler records the caller as the grantor whatever this says.
                    user: None,
                    privilege: Some(pb::PrivilegeEntity { name: privilege }),
                }),
            }),
            r#type: op as i32,
            ..Default::default()
        },
    )?;
    Ok(Reply::empty())
}

fn grant(api: &MilvusApi, ctx: &Ctx, req: GrantBody) -> Result<Reply, Failure> {
    operate(api, ctx, req, pb::OperatePrivilegeType::Grant)
}

fn revoke(api: &MilvusApi, ctx: &Ctx, req: GrantBody) -> Result<Reply, Failure> {
    operate(api, ctx, req, pb::OperatePrivilegeType::Revoke)
}

fn operate_v2(
    api: &MilvusApi,
    ctx: &Ctx,
    req: GrantV2Body,
    op: pb::OperatePrivilegeType,
) -> Result<Reply, Failure> {
    let role = required(&req.role_name, "roleName")?.to_owned();
    let privilege = required(&req.privilege, "privilege")?.to_owned();
    access::operate_privilege_v2(
        api,
        ctx,
        pb::OperatePrivilegeV2Request {
            role: Some(role_entity(role)),
            grantor: Some(pb::GrantorEntity {
                user: None,
                privilege: Some(pb::PrivilegeEntity { name: privilege }),
            }),
            r#type: op as i32,
            db_name: req.db_name,
            collection_name: req.collection_name,
            ..Default::default()
        },
    )?;
    Ok(Reply::empty())
}

fn grant_v2(api: &MilvusApi, ctx: &Ctx, req: GrantV2Body) -> Result<Reply, Failure> {
    operate_v2(api, ctx, req, pb::OperatePrivilegeType::Grant)
}

fn revoke_v2(api: &MilvusApi, ctx: &Ctx, req: GrantV2Body) -> Result<Reply, Failure> {
    operate_v2(api, ctx, req, pb::OperatePrivilegeType::Revoke)
}
