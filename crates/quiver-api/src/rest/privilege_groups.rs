//! `privilege_groups/*`: list, create, drop, add_privileges_to_group,
//! remove_privileges_from_group, over the handlers of the privilege group RPCs.
//!
//! `list` answers as Milvus does: `{"privilegeGroups": [{"privilegeGroupName": …,
//! "privileges": "Query,Search"}]}`, the privileges joined by commas in one string.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::proto::milvus as pb;
use crate::rest::registry::Routes;
use crate::rest::{Reply, required, route};
use crate::service::{Ctx, MilvusApi, access};
use crate::status::Failure;

pub(super) fn routes(r: &mut Routes) {
    let summary = "The privilege groups, built-in ones first, with their privileges";
    route(r, "privilege_groups/list", "list_privilege_groups", summary, list);
    let summary = "Creates an empty custom privilege group";
    route(r, "privilege_groups/create", "create_privilege_group", summary, create);
    let summary = "Drops a custom privilege group no grant uses";
    route(r, "privilege_groups/drop", "drop_privilege_group", summary, drop);
    let summary = "Adds privileges to a custom group";
    route(r, "privilege_groups/add_privileges_to_group", "operate_privilege_group", summary, add);
    let summary = "Removes privileges from a custom group";
    let path = "privilege_groups/remove_privileges_from_group";
    route(r, path, "operate_privilege_group", summary, remove);
}

bodies!(ListBody, GroupBody, GroupPrivilegesBody);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "PrivilegeGroupListBody")]
pub(crate) struct ListBody {
    #[serde(default)]
    db_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct GroupBody {
    #[serde(default)]
    db_name: String,
    privilege_group_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct GroupPrivilegesBody {
    #[serde(default)]
    db_name: String,
    privilege_group_name: String,
    /// Privilege names (`Search`, `Query`, ...).
    privileges: Vec<String>,
}

fn list(api: &MilvusApi, ctx: &Ctx, _req: ListBody) -> Result<Reply, Failure> {
    let resp = access::list_privilege_groups(api, ctx, pb::ListPrivilegeGroupsRequest::default())?;
    let groups: Vec<Json> = resp
        .privilege_groups
        .into_iter()
        .map(|group| {
            let privileges: Vec<String> = group.privileges.into_iter().map(|p| p.name).collect();
            json!({
                "privilegeGroupName": group.group_name,
                "privileges": privileges.join(","),
            })
        })
        .collect();
    Ok(Reply::data(json!({ "privilegeGroups": groups })))
}

fn create(api: &MilvusApi, ctx: &Ctx, req: GroupBody) -> Result<Reply, Failure> {
    let group_name = required(&req.privilege_group_name, "privilegeGroupName")?.to_owned();
    access::create_privilege_group(
        api,
        ctx,
        pb::CreatePrivilegeGroupRequest { group_name, base: None },
    )?;
    Ok(Reply::empty())
}

fn drop(api: &MilvusApi, ctx: &Ctx, req: GroupBody) -> Result<Reply, Failure> {
    let group_name = required(&req.privilege_group_name, "privilegeGroupName")?.to_owned();
    access::drop_privilege_group(
        api,
        ctx,
        pb::DropPrivilegeGroupRequest { group_name, base: None },
    )?;
    Ok(Reply::empty())
}

fn operate(
    api: &MilvusApi,
    ctx: &Ctx,
    req: GroupPrivilegesBody,
    op: pb::OperatePrivilegeGroupType,
) -> Result<Reply, Failure> {
    let group_name = required(&req.privilege_group_name, "privilegeGroupName")?.to_owned();
    // The handler refuses an empty list (1101) and one over its bound, after authorizing.
    let privileges = req.privileges.into_iter().map(|name| pb::PrivilegeEntity { name }).collect();
    access::operate_privilege_group(
        api,
        ctx,
        pb::OperatePrivilegeGroupRequest { group_name, privileges, r#type: op as i32, base: None },
    )?;
    Ok(Reply::empty())
}

fn add(api: &MilvusApi, ctx: &Ctx, req: GroupPrivilegesBody) -> Result<Reply, Failure> {
    operate(api, ctx, req, pb::OperatePrivilegeGroupType::AddPrivilegesToGroup)
}

fn remove(api: &MilvusApi, ctx: &Ctx, req: GroupPrivilegesBody) -> Result<Reply, Failure> {
    operate(api, ctx, req, pb::OperatePrivilegeGroupType::RemovePrivilegesFromGroup)
}
