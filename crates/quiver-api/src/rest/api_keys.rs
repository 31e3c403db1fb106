//! `api_keys/*`: create, list, revoke. A Quiver extension (Milvus's open-source server has no
//! API keys), over [`quiver_security::SecurityStore`]'s keys; the rules of a key (its roles, a
//! digest-only store, expiry, revocation on the next request) are in `quiver_security::api_key`.
//!
//! Who may manage which keys, decided here before anything else is looked at:
//!
//! * Only a caller who signed in with a password. A request authenticated with an API key may
//!   not create, list or revoke keys (HTTP 403, code 1401): a leaked key must not be able to
//!   mint longer-lived keys, or find and revoke its owner's other keys.
//! * A user manages their own keys; another user's need the `admin` role.
//!
//! `create` takes `keyName`, `roles` (required; `[]` gives a key holding only `public`), an
//! optional `userName` (default: the caller) and an optional `ttlSeconds` (the key expires
//! that many seconds after its creation, at most [`MAX_TTL_SECONDS`]; without it, never). The
//! roles must be a subset of the user's current roles (code 1100 otherwise). The answer holds
//! the token, once: it is stored nowhere, only its digest is. `list` and `revoke` take an
//! optional `userName` (default: the caller); `revoke` also `keyName`, and the key is refused
//! from the next request on, over REST and gRPC alike. Listings never show a secret or a
//! digest: each key's id (the token's public part), name, user, roles, `createdAt` and
//! `expireAt` (unix seconds, `null` for never). The store keeps no last-used time.

use std::time::{SystemTime, UNIX_EPOCH};

use quiver_security::{ApiKeyInfo, SecurityError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::ratelimit::RequestClass;
use crate::rest::registry::Routes;
use crate::rest::{Reply, missing, required, route};
use crate::service::{Ctx, MilvusApi};
use crate::status::Failure;

/// Longest lifetime a key may be given: ten years.
pub(crate) const MAX_TTL_SECONDS: u64 = 10 * 366 * 24 * 60 * 60;
/// Most roles one request may name (before the store looks at any of them).
const MAX_KEY_ROLES: usize = 256;

pub(super) fn routes(r: &mut Routes) {
    let summary = "Creates an API key for a user with a subset of their roles; the answer shows \
                   the token once (Quiver extension)";
    route(r, "api_keys/create", RequestClass::Ddl, summary, create);
    let summary = "A user's API keys, without their secrets (Quiver extension)";
    route(r, "api_keys/list", RequestClass::Read, summary, list);
    let summary = "Revokes an API key at once (Quiver extension)";
    route(r, "api_keys/revoke", RequestClass::Ddl, summary, revoke);
}

bodies!(CreateKeyBody, ListKeysBody, RevokeKeyBody);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CreateKeyBody {
    #[serde(default)]
    db_name: String,
    /// The key's name, unique among the user's keys.
    key_name: String,
    /// The key's owner; default: the caller.
    #[serde(default)]
    user_name: String,
    /// Roles the key holds: a subset of the user's roles (`public` is implicit).
    #[schemars(required)]
    roles: Option<Vec<String>>,
    /// The key expires this many seconds after its creation; without it, never.
    ttl_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ListKeysBody {
    #[serde(default)]
    db_name: String,
    /// Whose keys; default: the caller's.
    #[serde(default)]
    user_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RevokeKeyBody {
    #[serde(default)]
    db_name: String,
    /// Whose key; default: the caller's.
    #[serde(default)]
    user_name: String,
    key_name: String,
}

/// HTTP 403 with code 1401.
fn denied(reason: &str) -> Failure {
    Failure::Grpc(tonic::Status::permission_denied(reason))
}

/// The user whose keys the request is about (`user_name`, else the caller), once the caller is
/// allowed to manage them: signed in with a password, and that user or an admin.
fn owner<'a>(api: &MilvusApi, ctx: &'a Ctx, user_name: &'a str) -> Result<&'a str, Failure> {
    if ctx.principal.is_api_key() {
        return Err(denied(
            "API keys cannot be managed by a request authenticated with an API key; \
             sign in with the user's password",
        ));
    }
    let user = if user_name.is_empty() { ctx.user.as_str() } else { user_name };
    if user != ctx.user && !api.security.snapshot().is_admin_principal(&ctx.principal) {
        return Err(denied("managing another user's API keys needs the admin role"));
    }
    Ok(user)
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A key as listed: never its secret or digest.
fn key_json(key: &ApiKeyInfo) -> Json {
    json!({
        "keyId": key.id,
        "keyName": key.name,
        "userName": key.user,
        "roles": key.roles,
        "createdAt": key.created_unix_secs,
        "expireAt": key.expires_unix_secs,
    })
}

fn create(api: &MilvusApi, ctx: &Ctx, req: CreateKeyBody) -> Result<Reply, Failure> {
    let user = owner(api, ctx, &req.user_name)?;
    let name = required(&req.key_name, "keyName")?;
    let roles = req.roles.as_deref().ok_or_else(|| missing("roles"))?;
    if roles.len() > MAX_KEY_ROLES {
        return Err(Failure::invalid(format!("roles: at most {MAX_KEY_ROLES} per key")));
    }
    let now = now_unix();
    let expires = match req.ttl_seconds {
        None => None,
        Some(ttl) if (1..=MAX_TTL_SECONDS).contains(&ttl) => Some(now.saturating_add(ttl)),
        Some(_) => {
            return Err(Failure::invalid(format!(
                "ttlSeconds must be between 1 and {MAX_TTL_SECONDS} (ten years)"
            )));
        }
    };
    let (info, token) =
        api.security.create_api_key(user, name, roles, expires, now).map_err(|err| match err {
            SecurityError::ApiKeyRoleNotHeld { .. } => Failure::invalid(format!(
                "roles must be a subset of the user's current roles: {err}"
            )),
            other => Failure::from(other),
        })?;
    let mut data = key_json(&info);
    data["token"] = Json::String(token.expose().to_owned());
    Ok(Reply::data(data))
}

fn list(api: &MilvusApi, ctx: &Ctx, req: ListKeysBody) -> Result<Reply, Failure> {
    let user = owner(api, ctx, &req.user_name)?;
    let keys: Vec<Json> = api.security.list_api_keys(Some(user)).iter().map(key_json).collect();
    Ok(Reply::data(Json::Array(keys)))
}

fn revoke(api: &MilvusApi, ctx: &Ctx, req: RevokeKeyBody) -> Result<Reply, Failure> {
    let user = owner(api, ctx, &req.user_name)?;
    let name = required(&req.key_name, "keyName")?;
    api.security.revoke_api_key(user, name)?;
    Ok(Reply::empty())
}
