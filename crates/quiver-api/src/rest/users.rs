//! `users/*`: list, describe, create, drop, update_password, grant_role, revoke_role, over the
//! handlers of ListCredUsers, SelectUser, CreateCredential, DeleteCredential,
//! UpdateCredential and OperateUserRole (so every rule of `service/access.rs` applies).
//!
//! Milvus's REST API takes passwords in plain text inside the (TLS-protected) JSON, where the
//! gRPC API takes them base64-encoded. A password is held in a [`Secret`] from the moment it
//! is parsed, checked against [`MAX_PASSWORD_LEN`] before anything is allocated for it, and
//! base64-encoded into the gRPC request, whose handler moves it into a `Secret` of its own;
//! `Debug` never shows it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use quiver_security::{MAX_PASSWORD_LEN, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::proto::milvus as pb;
use crate::rest::registry::Routes;
use crate::rest::{Reply, missing, required, route};
use crate::service::{Ctx, MilvusApi, access};
use crate::status::Failure;

pub(super) fn routes(r: &mut Routes) {
    route(r, "users/list", "list_cred_users", "The users' names", list);
    route(r, "users/describe", "select_user", "The roles a user holds", describe);
    route(r, "users/create", "create_credential", "Creates a user with a password", create);
    route(r, "users/drop", "delete_credential", "Deletes a user and their API keys", drop);
    let summary = "Changes a user's password (the old one is needed unless an admin resets \
                   someone else's)";
    route(r, "users/update_password", "update_credential", summary, update_password);
    route(r, "users/grant_role", "operate_user_role", "Gives a user a role", grant_role);
    route(r, "users/revoke_role", "operate_user_role", "Takes a role from a user", revoke_role);
}

bodies!(ListBody, UserBody, PasswordBody, NewPasswordBody, UserRoleBody);

/// A password as the JSON carries it: plain text, wiped when dropped, never shown; empty when
/// the body has none.
pub(crate) struct Password(Secret);

impl Default for Password {
    fn default() -> Password {
        Password(Secret::new(String::new()))
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Password, D::Error> {
        String::deserialize(deserializer).map(|text| Password(Secret::new(text)))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// The password base64-encoded, as a gRPC request carries it; `None` if it is empty.
    fn encoded(&self, field: &str) -> Result<Option<String>, Failure> {
        if self.0.is_empty() {
            return Ok(None);
        }
        if self.0.len() > MAX_PASSWORD_LEN {
            return Err(Failure::invalid(format!(
                "{field} is too long: a password has at most {MAX_PASSWORD_LEN} bytes"
            )));
        }
        Ok(Some(STANDARD.encode(self.0.expose())))
    }

    fn required(&self, field: &str) -> Result<String, Failure> {
        self.encoded(field)?.ok_or_else(|| missing(field))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "UserListBody")]
pub(crate) struct ListBody {
    #[serde(default)]
    db_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct UserBody {
    #[serde(default)]
    db_name: String,
    user_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PasswordBody {
    #[serde(default)]
    db_name: String,
    user_name: String,
    #[schemars(with = "String")]
    password: Password,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NewPasswordBody {
    #[serde(default)]
    db_name: String,
    user_name: String,
    /// The current password; an admin resetting another user's password may leave it out.
    #[serde(default)]
    #[schemars(with = "String")]
    password: Password,
    #[schemars(with = "String")]
    new_password: Password,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct UserRoleBody {
    #[serde(default)]
    db_name: String,
    user_name: String,
    role_name: String,
}

fn list(api: &MilvusApi, ctx: &Ctx, _req: ListBody) -> Result<Reply, Failure> {
    let resp = access::list_cred_users(api, ctx, pb::ListCredUsersRequest::default())?;
    Ok(Reply::data(json!(resp.usernames)))
}

/// The user's roles, as Milvus answers (`[]` for a user that does not exist).
fn describe(api: &MilvusApi, ctx: &Ctx, req: UserBody) -> Result<Reply, Failure> {
    let name = required(&req.user_name, "userName")?.to_owned();
    let resp = access::select_user(
        api,
        ctx,
        pb::SelectUserRequest {
            user: Some(pb::UserEntity { name: name.clone() }),
            include_role_info: true,
            ..Default::default()
        },
    )?;
    let roles: Vec<String> = resp
        .results
        .into_iter()
        .filter(|result| result.user.as_ref().is_some_and(|u| u.name == name))
        .flat_map(|result| result.roles.into_iter().map(|role| role.name))
        .collect();
    Ok(Reply::data(json!(roles)))
}

fn create(api: &MilvusApi, ctx: &Ctx, req: PasswordBody) -> Result<Reply, Failure> {
    let username = required(&req.user_name, "userName")?.to_owned();
    let password = req.password.required("password")?;
    access::create_credential(
        api,
        ctx,
        pb::CreateCredentialRequest { username, password, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn drop(api: &MilvusApi, ctx: &Ctx, req: UserBody) -> Result<Reply, Failure> {
    let username = required(&req.user_name, "userName")?.to_owned();
    access::delete_credential(api, ctx, pb::DeleteCredentialRequest { username, base: None })?;
    Ok(Reply::empty())
}

fn update_password(api: &MilvusApi, ctx: &Ctx, req: NewPasswordBody) -> Result<Reply, Failure> {
    let username = required(&req.user_name, "userName")?.to_owned();
    let new_password = req.new_password.required("newPassword")?;
    // Without the old password the handler decides: an admin may reset another user's.
    let old_password = req.password.encoded("password")?.unwrap_or_default();
    access::update_credential(
        api,
        ctx,
        pb::UpdateCredentialRequest { username, old_password, new_password, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn operate(
    api: &MilvusApi,
    ctx: &Ctx,
    req: UserRoleBody,
    op: pb::OperateUserRoleType,
) -> Result<Reply, Failure> {
    let username = required(&req.user_name, "userName")?.to_owned();
    let role_name = required(&req.role_name, "roleName")?.to_owned();
    access::operate_user_role(
        api,
        ctx,
        pb::OperateUserRoleRequest { username, role_name, r#type: op as i32, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn grant_role(api: &MilvusApi, ctx: &Ctx, req: UserRoleBody) -> Result<Reply, Failure> {
    operate(api, ctx, req, pb::OperateUserRoleType::AddUserToRole)
}

fn revoke_role(api: &MilvusApi, ctx: &Ctx, req: UserRoleBody) -> Result<Reply, Failure> {
    operate(api, ctx, req, pb::OperateUserRoleType::RemoveUserFromRole)
}
