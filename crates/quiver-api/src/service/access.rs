//! Users, roles, grants and privilege groups: Milvus's RBAC RPCs over the [`SecurityStore`].
//!
//! Every handler authorizes first, with the privilege Milvus's proto annotates the RPC with,
//! before it looks at anything else in the request, so an unprivileged caller learns nothing
//! (not even whether its input was well formed). Cluster-level privileges are checked on
//! [`Object::Cluster`] in the request's database (see `quiver_security::rbac`).
//!
//! | RPC                                          | privilege                                 |
//! |----------------------------------------------|-------------------------------------------|
//! | CreateCredential, CreateRole                 | `CreateOwnership`                         |
//! | DeleteCredential, DropRole                   | `DropOwnership`                           |
//! | UpdateCredential                             | `UpdateUser` on the user (own: always)    |
//! | ListCredUsers, SelectRole                    | `SelectOwnership`                         |
//! | SelectUser                                   | `SelectUser` on the user (own: always); `SelectOwnership` to list all |
//! | SelectGrant                                  | `SelectOwnership`, or holding the role    |
//! | OperateUserRole, OperatePrivilege(V2)        | `ManageOwnership`                         |
//! | Create/Drop/List/OperatePrivilegeGroup       | the privilege of the same name            |
//!
//! Decisions beyond Milvus's:
//!
//! * Passwords travel base64-encoded (as pymilvus sends them) and are decoded straight into a
//!   [`Secret`]; the encoded copy is wiped too. No message ever contains a password.
//! * UpdateCredential needs the right old password unless an `admin` changes someone else's
//!   (Milvus's superusers). The old password is checked with [`SecurityStore::authenticate`],
//!   so wrong guesses are throttled like failed logins.
//! * DeleteCredential refuses `root` (the store's rule) and the caller's own user: an
//!   administrator deleting themself by mistake could leave nobody able to administer.
//! * The grantor of a grant is always the caller, whatever the request says.
//! * Grant and revoke are idempotent, as in Milvus: granting twice or revoking what is not
//!   granted succeeds.
//! * Listing privileges, grants and groups uses the API spelling (`Search`, not
//!   `PrivilegeSearch`), as Milvus 2.4+ returns them; ListPrivilegeGroups includes the nine
//!   built-in groups first.

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use quiver_security::{
    Grant, GrantFilter, GrantTarget, MAX_PASSWORD_LEN, Object, ObjectType, PUBLIC_ROLE, Privilege,
    PrivilegeGroupInfo, Secret, SecurityError,
};

use super::{Ctx, MilvusApi};
use crate::proto::common;
use crate::proto::milvus as pb;
use crate::status::{Failure, code, ok_status};

/// Longest base64 password field decoded: enough for [`MAX_PASSWORD_LEN`] bytes; anything
/// longer is refused without decoding it.
const MAX_ENCODED_PASSWORD_LEN: usize = MAX_PASSWORD_LEN.div_ceil(3) * 4;

/// Most privileges one OperatePrivilegeGroup may name (Milvus has fewer than 64 privileges).
const MAX_GROUP_OPERATION_PRIVILEGES: usize = 256;

/// How much of a client-supplied string an error message shows.
const SHOWN_CHARS: usize = 64;

// Users.

pub(crate) fn create_credential(
    api: &MilvusApi,
    ctx: &Ctx,
    mut req: pb::CreateCredentialRequest,
) -> Result<common::Status, Failure> {
    // Moved into a `Secret` first so that it is wiped however the request ends; nothing is
    // checked before the authorization.
    let password = Secret::new(std::mem::take(&mut req.password));
    api.authorize(ctx, Privilege::CreateOwnership, Object::Cluster)?;
    let username = required(&req.username, "username")?;
    let password = decode_password("password", &password)?;
    api.security.create_user(username, &password)?;
    Ok(ok_status())
}

pub(crate) fn update_credential(
    api: &MilvusApi,
    ctx: &Ctx,
    mut req: pb::UpdateCredentialRequest,
) -> Result<common::Status, Failure> {
    // Moved into `Secret`s first so that both are wiped however the request ends.
    let old_password = Secret::new(std::mem::take(&mut req.old_password));
    let new_password = Secret::new(std::mem::take(&mut req.new_password));
    api.authorize(ctx, Privilege::UpdateUser, Object::User(&req.username))?;
    let username = required(&req.username, "username")?;
    let new_password = decode_password("newPassword", &new_password)?;
    let own = username == ctx.user;
    let admin_resets_other = !own && api.security.snapshot().is_admin_principal(&ctx.principal);
    if !admin_resets_other {
        if old_password.is_empty() {
            return Err(Failure::new(
                code::MISSING_PARAMETER,
                "the old password is required to change this user's password",
            ));
        }
        let old_password = decode_password("oldPassword", &old_password)?;
        match api.security.authenticate(username, &old_password, ctx.peer, Instant::now()) {
            Ok(_) => {}
            Err(SecurityError::Unauthenticated) => {
                return Err(Failure::invalid("the old password is not correct"));
            }
            Err(err) => return Err(err.into()),
        }
    }
    // Replacing the hash bumps the user's generation: cached credentials die with it.
    api.security.set_password(username, &new_password)?;
    Ok(ok_status())
}

pub(crate) fn delete_credential(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DeleteCredentialRequest,
) -> Result<common::Status, Failure> {
    api.authorize(ctx, Privilege::DropOwnership, Object::Cluster)?;
    let username = required(&req.username, "username")?;
    if username == ctx.user {
        return Err(Failure::invalid("a user cannot delete itself; ask another administrator"));
    }
    api.security.delete_user(username)?;
    Ok(ok_status())
}

pub(crate) fn list_cred_users(
    api: &MilvusApi,
    ctx: &Ctx,
    _req: pb::ListCredUsersRequest,
) -> Result<pb::ListCredUsersResponse, Failure> {
    api.authorize(ctx, Privilege::SelectOwnership, Object::Cluster)?;
    let usernames = api.security.list_users().into_iter().map(|u| u.name).collect();
    Ok(pb::ListCredUsersResponse { status: Some(ok_status()), usernames })
}

// Roles.

pub(crate) fn create_role(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::CreateRoleRequest,
) -> Result<common::Status, Failure> {
    api.authorize(ctx, Privilege::CreateOwnership, Object::Cluster)?;
    let name = req.entity.as_ref().map_or("", |e| e.name.as_str());
    api.security.create_role(required(name, "role name")?)?;
    Ok(ok_status())
}

pub(crate) fn drop_role(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DropRoleRequest,
) -> Result<common::Status, Failure> {
    api.authorize(ctx, Privilege::DropOwnership, Object::Cluster)?;
    api.security.drop_role(required(&req.role_name, "role name")?, req.force_drop)?;
    Ok(ok_status())
}

pub(crate) fn operate_user_role(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::OperateUserRoleRequest,
) -> Result<common::Status, Failure> {
    api.authorize(ctx, Privilege::ManageOwnership, Object::Cluster)?;
    let user = required(&req.username, "username")?;
    let role = required(&req.role_name, "role name")?;
    match pb::OperateUserRoleType::try_from(req.r#type) {
        Ok(pb::OperateUserRoleType::AddUserToRole) => api.security.add_user_to_role(user, role)?,
        Ok(pb::OperateUserRoleType::RemoveUserFromRole) => {
            api.security.remove_user_from_role(user, role)?;
        }
        Err(_) => return Err(unknown_type("user-role operation", req.r#type)),
    }
    Ok(ok_status())
}

pub(crate) fn select_role(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::SelectRoleRequest,
) -> Result<pb::SelectRoleResponse, Failure> {
    api.authorize(ctx, Privilege::SelectOwnership, Object::Cluster)?;
    let state = api.security.snapshot();
    let wanted = req.role.as_ref().map_or("", |r| r.name.as_str());
    let roles = if wanted.is_empty() {
        state.list_roles()
    } else if state.role_exists(wanted) {
        vec![wanted.to_owned()]
    } else {
        // Milvus answers an unknown role with an empty success.
        Vec::new()
    };
    let mut results = Vec::with_capacity(roles.len());
    for role in roles {
        let users = if req.include_user_info {
            state.users_of_role(&role)?.into_iter().map(|name| pb::UserEntity { name }).collect()
        } else {
            Vec::new()
        };
        results.push(pb::RoleResult { role: Some(role_entity(role)), users });
    }
    Ok(pb::SelectRoleResponse { status: Some(ok_status()), results })
}

pub(crate) fn select_user(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::SelectUserRequest,
) -> Result<pb::SelectUserResponse, Failure> {
    let wanted = req.user.as_ref().map_or("", |u| u.name.as_str());
    if wanted.is_empty() {
        api.authorize(ctx, Privilege::SelectOwnership, Object::Cluster)?;
    } else {
        api.authorize(ctx, Privilege::SelectUser, Object::User(wanted))?;
    }
    let state = api.security.snapshot();
    let users: Vec<String> = if wanted.is_empty() {
        state.list_users().into_iter().map(|u| u.name).collect()
    } else if state.user_exists(wanted) {
        vec![wanted.to_owned()]
    } else {
        // Milvus answers an unknown user with an empty success.
        Vec::new()
    };
    let mut results = Vec::with_capacity(users.len());
    for name in users {
        let roles = if req.include_role_info {
            state.user_roles(&name)?.into_iter().map(role_entity).collect()
        } else {
            Vec::new()
        };
        results.push(pb::UserResult {
            user: Some(pb::UserEntity { name }),
            roles,
            ..Default::default()
        });
    }
    Ok(pb::SelectUserResponse { status: Some(ok_status()), results })
}

// Grants.

pub(crate) fn operate_privilege(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::OperatePrivilegeRequest,
) -> Result<common::Status, Failure> {
    api.authorize(ctx, Privilege::ManageOwnership, Object::Cluster)?;
    let entity = req.entity.as_ref().ok_or_else(|| missing("entity"))?;
    let role = required(entity.role.as_ref().map_or("", |r| r.name.as_str()), "role name")?;
    let object_type = parse_object_type(entity.object.as_ref().map_or("", |o| o.name.as_str()))?;
    let object_name = required(&entity.object_name, "object name")?;
    // Milvus: an empty database is the request's current one.
    let db_name: &str = if entity.db_name.is_empty() { ctx.db.as_str() } else { &entity.db_name };
    let privilege = required(grantor_privilege(entity.grantor.as_ref()), "privilege name")?;
    let target = GrantTarget { role, object_type, object_name, db_name, privilege };
    match pb::OperatePrivilegeType::try_from(req.r#type) {
        Ok(pb::OperatePrivilegeType::Grant) => {
            api.security.grant(&target, &ctx.user)?;
        }
        Ok(pb::OperatePrivilegeType::Revoke) => {
            api.security.revoke(&target)?;
        }
        Err(_) => return Err(unknown_type("privilege operation", req.r#type)),
    }
    Ok(ok_status())
}

pub(crate) fn operate_privilege_v2(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::OperatePrivilegeV2Request,
) -> Result<common::Status, Failure> {
    api.authorize(ctx, Privilege::ManageOwnership, Object::Cluster)?;
    let role = required(req.role.as_ref().map_or("", |r| r.name.as_str()), "role name")?;
    let privilege = required(grantor_privilege(req.grantor.as_ref()), "privilege name")?;
    let db_name: &str = if req.db_name.is_empty() { ctx.db.as_str() } else { &req.db_name };
    let collection = required(&req.collection_name, "collection name")?;
    match pb::OperatePrivilegeType::try_from(req.r#type) {
        Ok(pb::OperatePrivilegeType::Grant) => {
            api.security.grant_v2(role, privilege, db_name, collection, &ctx.user)?;
        }
        Ok(pb::OperatePrivilegeType::Revoke) => {
            api.security.revoke_v2(role, privilege, db_name, collection)?;
        }
        Err(_) => return Err(unknown_type("privilege operation", req.r#type)),
    }
    Ok(ok_status())
}

pub(crate) fn select_grant(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::SelectGrantRequest,
) -> Result<pb::SelectGrantResponse, Failure> {
    let entity = req.entity.unwrap_or_default();
    let role = entity.role.as_ref().map_or("", |r| r.name.as_str());
    authorize_select_grant(api, ctx, role)?;
    let role = required(role, "role name")?;
    let object_type = match entity.object.as_ref().map_or("", |o| o.name.as_str()) {
        "" => None,
        name => Some(parse_object_type(name)?),
    };
    let filter = GrantFilter {
        object_type,
        object_name: non_empty(&entity.object_name),
        // An empty database lists the role's grants in every database.
        db_name: non_empty(&entity.db_name),
    };
    let entities = api.security.grants_of_role(role, &filter)?.into_iter().map(grant_entity);
    Ok(pb::SelectGrantResponse { status: Some(ok_status()), entities: entities.collect() })
}

/// SelectGrant needs `SelectOwnership`, except that a user may list the grants of a role they
/// hold (`public` included), as Milvus allows.
fn authorize_select_grant(api: &MilvusApi, ctx: &Ctx, role: &str) -> Result<(), Failure> {
    let denied = match api.authorize(ctx, Privilege::SelectOwnership, Object::Cluster) {
        Ok(()) => return Ok(()),
        Err(denied) => denied,
    };
    let state = api.security.snapshot();
    let holds = !role.is_empty()
        && state.user_exists(&ctx.user)
        && (role == PUBLIC_ROLE || state.effective_roles(&ctx.principal).iter().any(|r| r == role));
    if holds { Ok(()) } else { Err(denied) }
}

// Privilege groups.

pub(crate) fn create_privilege_group(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::CreatePrivilegeGroupRequest,
) -> Result<common::Status, Failure> {
    api.authorize(ctx, Privilege::CreatePrivilegeGroup, Object::Cluster)?;
    // The store's naming rule refuses an empty name with code 1402, as Milvus does.
    api.security.create_privilege_group(&req.group_name)?;
    Ok(ok_status())
}

pub(crate) fn drop_privilege_group(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DropPrivilegeGroupRequest,
) -> Result<common::Status, Failure> {
    api.authorize(ctx, Privilege::DropPrivilegeGroup, Object::Cluster)?;
    api.security.drop_privilege_group(required(&req.group_name, "privilege group name")?)?;
    Ok(ok_status())
}

pub(crate) fn list_privilege_groups(
    api: &MilvusApi,
    ctx: &Ctx,
    _req: pb::ListPrivilegeGroupsRequest,
) -> Result<pb::ListPrivilegeGroupsResponse, Failure> {
    api.authorize(ctx, Privilege::ListPrivilegeGroups, Object::Cluster)?;
    let groups = api.security.list_privilege_groups().into_iter().map(group_info).collect();
    Ok(pb::ListPrivilegeGroupsResponse { status: Some(ok_status()), privilege_groups: groups })
}

pub(crate) fn operate_privilege_group(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::OperatePrivilegeGroupRequest,
) -> Result<common::Status, Failure> {
    api.authorize(ctx, Privilege::OperatePrivilegeGroup, Object::Cluster)?;
    let group = required(&req.group_name, "privilege group name")?;
    if req.privileges.is_empty() {
        return Err(missing("privileges"));
    }
    if req.privileges.len() > MAX_GROUP_OPERATION_PRIVILEGES {
        return Err(Failure::new(
            code::TOO_LARGE,
            format!("too many privileges: at most {MAX_GROUP_OPERATION_PRIVILEGES} per request"),
        ));
    }
    let privileges: Vec<&str> = req.privileges.iter().map(|p| p.name.as_str()).collect();
    match pb::OperatePrivilegeGroupType::try_from(req.r#type) {
        Ok(pb::OperatePrivilegeGroupType::AddPrivilegesToGroup) => {
            api.security.add_privileges_to_group(group, &privileges)?;
        }
        Ok(pb::OperatePrivilegeGroupType::RemovePrivilegesFromGroup) => {
            api.security.remove_privileges_from_group(group, &privileges)?;
        }
        Err(_) => return Err(unknown_type("privilege group operation", req.r#type)),
    }
    Ok(ok_status())
}

// Helpers.

/// Decodes a base64 password field (held in a [`Secret`] so that the encoded form is wiped
/// too) into a [`Secret`]. The error never shows the value.
fn decode_password(field: &str, encoded: &Secret) -> Result<Secret, Failure> {
    if encoded.len() > MAX_ENCODED_PASSWORD_LEN {
        return Err(Failure::invalid(format!(
            "{field} is too long: a password has at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    let bytes = STANDARD
        .decode(encoded.expose())
        .map_err(|_| Failure::invalid(format!("{field} is not valid base64")))?;
    Secret::from_utf8(bytes)
        .ok_or_else(|| Failure::invalid(format!("{field} is not valid UTF-8 once decoded")))
}

fn required<'a>(value: &'a str, what: &str) -> Result<&'a str, Failure> {
    if value.is_empty() { Err(missing(what)) } else { Ok(value) }
}

fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

fn missing(what: &str) -> Failure {
    Failure::new(code::MISSING_PARAMETER, format!("{what} is required"))
}

fn unknown_type(what: &str, value: i32) -> Failure {
    Failure::invalid(format!("unknown {what} type {value}"))
}

fn parse_object_type(name: &str) -> Result<ObjectType, Failure> {
    let name = required(name, "object type")?;
    ObjectType::parse(name).ok_or_else(|| {
        Failure::invalid(format!(
            "unknown object type {:?}: expected Global, Collection or User",
            shown(name)
        ))
    })
}

/// At most [`SHOWN_CHARS`] characters of a client-supplied string, for messages.
fn shown(value: &str) -> String {
    let mut out: String = value.chars().take(SHOWN_CHARS).collect();
    if out.len() < value.len() {
        out.push('…');
    }
    out
}

fn grantor_privilege(grantor: Option<&pb::GrantorEntity>) -> &str {
    grantor.and_then(|g| g.privilege.as_ref()).map_or("", |p| p.name.as_str())
}

fn role_entity(name: String) -> pb::RoleEntity {
    pb::RoleEntity { name, ..Default::default() }
}

fn grant_entity(grant: Grant) -> pb::GrantEntity {
    pb::GrantEntity {
        role: Some(role_entity(grant.role)),
        object: Some(pb::ObjectEntity { name: grant.object_type.name().to_owned() }),
        object_name: grant.object_name,
        db_name: grant.db_name,
        grantor: Some(pb::GrantorEntity {
            user: Some(pb::UserEntity { name: grant.grantor }),
            privilege: Some(pb::PrivilegeEntity { name: grant.privilege.name().to_owned() }),
        }),
    }
}

fn group_info(group: PrivilegeGroupInfo) -> pb::PrivilegeGroupInfo {
    pb::PrivilegeGroupInfo {
        group_name: group.name,
        privileges: group
            .privileges
            .iter()
            .map(|p| pb::PrivilegeEntity { name: p.name().to_owned() })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use quiver_engine::{Database, Options};
    use quiver_security::SecurityStore;
    use tempfile::TempDir;

    use super::*;
    use crate::service::DEFAULT_DB;

    // Not "Root-Password-1234": the policy refuses passwords containing the user name.
    const ROOT_PW: &str = "Quiver-Admin-Secret-99";
    const ALICE_PW: &str = "Wonderland-rabbit-hole-7";

    struct Fixture {
        api: MilvusApi,
        _db_dir: TempDir,
        _security_dir: TempDir,
    }

    fn fixture() -> Fixture {
        let db_dir = tempfile::tempdir().unwrap();
        let security_dir = tempfile::tempdir().unwrap();
        let options = Options { maintenance_interval: None, ..Default::default() };
        let db = Database::open(db_dir.path(), options).unwrap();
        let backend =
            Arc::new(quiver_storage::LocalBackend::new(security_dir.path().to_path_buf()).unwrap());
        let store = SecurityStore::initialize(backend, &Secret::new(ROOT_PW.into())).unwrap();
        let api = MilvusApi::new(Arc::new(db), Arc::new(store));
        Fixture { api, _db_dir: db_dir, _security_dir: security_dir }
    }

    fn ctx(user: &str) -> Ctx {
        Ctx::local(user, DEFAULT_DB)
    }

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    /// A fixture with the user `alice` (no roles, no grants).
    fn with_alice() -> Fixture {
        let f = fixture();
        create_user(&f.api, "alice", ALICE_PW);
        f
    }

    fn create_user(api: &MilvusApi, name: &str, password: &str) {
        let req = pb::CreateCredentialRequest {
            username: name.into(),
            password: b64(password),
            ..Default::default()
        };
        create_credential(api, &ctx("root"), req).unwrap();
    }

    fn new_role(api: &MilvusApi, name: &str) {
        let req = pb::CreateRoleRequest { entity: Some(role_entity(name.into())), base: None };
        create_role(api, &ctx("root"), req).unwrap();
    }

    fn user_role(
        user: &str,
        role: &str,
        op: pb::OperateUserRoleType,
    ) -> pb::OperateUserRoleRequest {
        pb::OperateUserRoleRequest {
            username: user.into(),
            role_name: role.into(),
            r#type: op as i32,
            ..Default::default()
        }
    }

    fn grant_v1(
        role: &str,
        object: &str,
        object_name: &str,
        db: &str,
        privilege: &str,
        op: pb::OperatePrivilegeType,
    ) -> pb::OperatePrivilegeRequest {
        pb::OperatePrivilegeRequest {
            entity: Some(pb::GrantEntity {
                role: Some(role_entity(role.into())),
                object: Some(pb::ObjectEntity { name: object.into() }),
                object_name: object_name.into(),
                db_name: db.into(),
                grantor: Some(pb::GrantorEntity {
                    // Whatever the client claims, the grantor recorded is the caller.
                    user: Some(pb::UserEntity { name: "mallory".into() }),
                    privilege: Some(pb::PrivilegeEntity { name: privilege.into() }),
                }),
            }),
            r#type: op as i32,
            ..Default::default()
        }
    }

    fn grant_v2(
        role: &str,
        privilege: &str,
        db: &str,
        collection: &str,
        op: pb::OperatePrivilegeType,
    ) -> pb::OperatePrivilegeV2Request {
        pb::OperatePrivilegeV2Request {
            role: Some(role_entity(role.into())),
            grantor: Some(pb::GrantorEntity {
                user: None,
                privilege: Some(pb::PrivilegeEntity { name: privilege.into() }),
            }),
            r#type: op as i32,
            db_name: db.into(),
            collection_name: collection.into(),
            ..Default::default()
        }
    }

    fn grants_of(api: &MilvusApi, role: &str) -> Vec<pb::GrantEntity> {
        let req = pb::SelectGrantRequest {
            entity: Some(pb::GrantEntity {
                role: Some(role_entity(role.into())),
                ..Default::default()
            }),
            base: None,
        };
        select_grant(api, &ctx("root"), req).unwrap().entities
    }

    #[track_caller]
    fn assert_denied<T: std::fmt::Debug>(result: Result<T, Failure>) {
        match result {
            Err(Failure::Grpc(status)) => {
                assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
            }
            other => panic!("expected PERMISSION_DENIED, got {other:?}"),
        }
    }

    /// The Milvus code and reason of a failure carried in the response status.
    #[track_caller]
    fn milvus_failure<T: std::fmt::Debug>(result: Result<T, Failure>) -> (i32, String) {
        match result {
            Err(Failure::Milvus { code, reason, .. }) => (code, reason),
            other => panic!("expected a Milvus failure, got {other:?}"),
        }
    }

    #[test]
    fn root_creates_users_and_weak_or_malformed_passwords_are_refused() {
        let f = fixture();
        create_user(&f.api, "alice", ALICE_PW);
        let users = list_cred_users(&f.api, &ctx("root"), Default::default()).unwrap();
        assert_eq!(users.usernames, ["alice", "root"]);
        f.api
            .security
            .authenticate(
                "alice",
                &Secret::new(ALICE_PW.into()),
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                Instant::now(),
            )
            .unwrap();

        let weak = |password: String| pb::CreateCredentialRequest {
            username: "bob".into(),
            password,
            ..Default::default()
        };
        let (code, reason) =
            milvus_failure(create_credential(&f.api, &ctx("root"), weak(b64("short1"))));
        assert_eq!(code, code::INVALID_PARAMETER);
        assert!(reason.contains("weak password") && reason.contains("12"), "{reason}");
        assert!(!reason.contains("short1"), "{reason}");
        let (code, reason) =
            milvus_failure(create_credential(&f.api, &ctx("root"), weak(b64("password1234"))));
        assert_eq!(code, code::INVALID_PARAMETER);
        assert!(reason.contains("weak password"), "{reason}");
        assert!(!reason.contains("password1234"), "{reason}");

        let (code, reason) =
            milvus_failure(create_credential(&f.api, &ctx("root"), weak("%%not-b64%%".into())));
        assert_eq!(code, code::INVALID_PARAMETER);
        assert!(reason.contains("base64") && !reason.contains("not-b64"), "{reason}");
        let not_utf8 = STANDARD.encode([0xff_u8, 0xfe, 0xfd]);
        let (_, reason) = milvus_failure(create_credential(&f.api, &ctx("root"), weak(not_utf8)));
        assert!(reason.contains("UTF-8"), "{reason}");
        let huge = b64(&"x".repeat(10_000));
        let (_, reason) = milvus_failure(create_credential(&f.api, &ctx("root"), weak(huge)));
        assert!(reason.contains("too long") && !reason.contains("xxxx"), "{reason}");

        let (code, _) = milvus_failure(create_credential(
            &f.api,
            &ctx("root"),
            pb::CreateCredentialRequest { password: b64(ALICE_PW), ..Default::default() },
        ));
        assert_eq!(code, code::MISSING_PARAMETER);
        let users = list_cred_users(&f.api, &ctx("root"), Default::default()).unwrap();
        assert_eq!(users.usernames, ["alice", "root"]);
    }

    #[test]
    fn user_without_grants_is_denied_every_rpc_before_validation() {
        let f = with_alice();
        let (api, alice) = (&f.api, &ctx("alice"));
        // Malformed inputs too: the denial comes first and reveals nothing about them.
        assert_denied(create_credential(
            api,
            alice,
            pb::CreateCredentialRequest {
                username: "bob".into(),
                password: "%%".into(),
                ..Default::default()
            },
        ));
        assert_denied(update_credential(
            api,
            alice,
            pb::UpdateCredentialRequest { username: "root".into(), ..Default::default() },
        ));
        assert_denied(delete_credential(
            api,
            alice,
            pb::DeleteCredentialRequest { username: "root".into(), base: None },
        ));
        assert_denied(list_cred_users(api, alice, Default::default()));
        assert_denied(create_role(api, alice, Default::default()));
        assert_denied(drop_role(api, alice, Default::default()));
        assert_denied(operate_user_role(
            api,
            alice,
            user_role("alice", "admin", pb::OperateUserRoleType::AddUserToRole),
        ));
        assert_denied(select_role(api, alice, Default::default()));
        assert_denied(select_user(api, alice, Default::default()));
        assert_denied(select_user(
            api,
            alice,
            pb::SelectUserRequest {
                user: Some(pb::UserEntity { name: "root".into() }),
                ..Default::default()
            },
        ));
        assert_denied(operate_privilege(api, alice, Default::default()));
        assert_denied(operate_privilege_v2(api, alice, Default::default()));
        assert_denied(select_grant(api, alice, Default::default()));
        let admin_grants = pb::SelectGrantRequest {
            entity: Some(pb::GrantEntity {
                role: Some(role_entity("admin".into())),
                ..Default::default()
            }),
            base: None,
        };
        assert_denied(select_grant(api, alice, admin_grants));
        assert_denied(create_privilege_group(
            api,
            alice,
            pb::CreatePrivilegeGroupRequest { group_name: "bad-name".into(), base: None },
        ));
        assert_denied(drop_privilege_group(api, alice, Default::default()));
        assert_denied(list_privilege_groups(api, alice, Default::default()));
        assert_denied(operate_privilege_group(api, alice, Default::default()));

        // What every user may do: read themself and the grants of `public`.
        let me = pb::SelectUserRequest {
            user: Some(pb::UserEntity { name: "alice".into() }),
            include_role_info: true,
            base: None,
        };
        let me = select_user(api, alice, me).unwrap();
        assert_eq!(me.results.len(), 1);
        let public = pb::SelectGrantRequest {
            entity: Some(pb::GrantEntity {
                role: Some(role_entity("public".into())),
                ..Default::default()
            }),
            base: None,
        };
        assert!(select_grant(api, alice, public).unwrap().entities.is_empty());
    }

    #[test]
    fn operate_privilege_grants_lists_and_revokes() {
        use pb::OperatePrivilegeType::{Grant, Revoke};
        let f = with_alice();
        let (api, root) = (&f.api, &ctx("root"));
        new_role(api, "auditors");
        operate_user_role(
            api,
            root,
            user_role("alice", "auditors", pb::OperateUserRoleType::AddUserToRole),
        )
        .unwrap();

        // Both spellings; granting twice is fine; an empty database is the request's.
        let select = grant_v1("auditors", "Global", "*", "", "SelectOwnership", Grant);
        operate_privilege(api, root, select.clone()).unwrap();
        operate_privilege(
            api,
            root,
            grant_v1("auditors", "Global", "*", "", "PrivilegeSelectOwnership", Grant),
        )
        .unwrap();
        operate_privilege(
            api,
            root,
            grant_v1("auditors", "Collection", "books", "*", "Search", Grant),
        )
        .unwrap();

        let users = list_cred_users(api, &ctx("alice"), Default::default()).unwrap();
        assert_eq!(users.usernames, ["alice", "root"]);
        api.security
            .check("alice", Privilege::Search, &Object::Collection("books"), "other")
            .unwrap();
        assert!(
            api.security
                .check("alice", Privilege::Search, &Object::Collection("films"), "default")
                .is_err()
        );

        let grants = grants_of(api, "auditors");
        let summary: Vec<_> = grants
            .iter()
            .map(|g| {
                let grantor = g.grantor.as_ref().unwrap();
                (
                    g.object.as_ref().unwrap().name.as_str(),
                    g.object_name.as_str(),
                    g.db_name.as_str(),
                    grantor.privilege.as_ref().unwrap().name.as_str(),
                    grantor.user.as_ref().unwrap().name.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("Global", "*", "default", "SelectOwnership", "root"),
                ("Collection", "books", "*", "Search", "root"),
            ]
        );
        assert!(grants.iter().all(|g| g.role.as_ref().unwrap().name == "auditors"));
        // Filters narrow; the grantee may read the grants of its own role.
        let filtered = pb::SelectGrantRequest {
            entity: Some(pb::GrantEntity {
                role: Some(role_entity("auditors".into())),
                object: Some(pb::ObjectEntity { name: "Collection".into() }),
                ..Default::default()
            }),
            base: None,
        };
        assert_eq!(select_grant(api, &ctx("alice"), filtered).unwrap().entities.len(), 1);

        operate_privilege(
            api,
            root,
            grant_v1("auditors", "Global", "*", "", "SelectOwnership", Revoke),
        )
        .unwrap();
        operate_privilege(
            api,
            root,
            grant_v1("auditors", "Global", "*", "", "SelectOwnership", Revoke),
        )
        .unwrap();
        assert_denied(list_cred_users(api, &ctx("alice"), Default::default()));
        assert_eq!(grants_of(api, "auditors").len(), 1);

        // Bad input: unknown object type, unknown privilege, admin refused, bad type.
        let (code, reason) = milvus_failure(operate_privilege(
            api,
            root,
            grant_v1("auditors", &"Thing".repeat(100), "*", "", "Search", Grant),
        ));
        assert_eq!(code, code::INVALID_PARAMETER);
        assert!(reason.contains("unknown object type") && reason.len() < 200, "{reason}");
        let (code, _) = milvus_failure(operate_privilege(
            api,
            root,
            grant_v1("auditors", "Global", "*", "", "Fly", Grant),
        ));
        assert_eq!(code, code::INVALID_PARAMETER);
        let (code, _) = milvus_failure(operate_privilege(
            api,
            root,
            grant_v1("admin", "Global", "*", "", "Search", Grant),
        ));
        assert_eq!(code, code::INVALID_PARAMETER);
        let mut bad_type = select;
        bad_type.r#type = 7;
        let (_, reason) = milvus_failure(operate_privilege(api, root, bad_type));
        assert!(reason.contains("unknown privilege operation type 7"), "{reason}");
    }

    #[test]
    fn operate_privilege_v2_grants_and_revokes() {
        use pb::OperatePrivilegeType::{Grant, Revoke};
        let f = with_alice();
        let (api, root) = (&f.api, &ctx("root"));
        new_role(api, "readers");
        operate_user_role(
            api,
            root,
            user_role("alice", "readers", pb::OperateUserRoleType::AddUserToRole),
        )
        .unwrap();

        operate_privilege_v2(
            api,
            root,
            grant_v2("readers", "CollectionReadOnly", "", "books", Grant),
        )
        .unwrap();
        operate_privilege_v2(
            api,
            root,
            grant_v2("readers", "CollectionReadOnly", "", "books", Grant),
        )
        .unwrap();
        api.security
            .check("alice", Privilege::Search, &Object::Collection("books"), "default")
            .unwrap();
        assert!(
            api.security
                .check("alice", Privilege::Insert, &Object::Collection("books"), "default")
                .is_err()
        );

        operate_privilege_v2(api, root, grant_v2("readers", "ClusterReadOnly", "*", "*", Grant))
            .unwrap();
        list_cred_users(api, &ctx("alice"), Default::default()).unwrap();
        let grants = grants_of(api, "readers");
        assert_eq!(grants.len(), 2);

        // A cluster-level privilege on one collection is not representable.
        let (code, _) = milvus_failure(operate_privilege_v2(
            api,
            root,
            grant_v2("readers", "ClusterReadOnly", "default", "books", Grant),
        ));
        assert_eq!(code, code::INVALID_PARAMETER);
        let (code, _) = milvus_failure(operate_privilege_v2(
            api,
            root,
            grant_v2("readers", "Search", "", "", Grant),
        ));
        assert_eq!(code, code::MISSING_PARAMETER);

        operate_privilege_v2(api, root, grant_v2("readers", "ClusterReadOnly", "*", "*", Revoke))
            .unwrap();
        operate_privilege_v2(
            api,
            root,
            grant_v2("readers", "CollectionReadOnly", "default", "books", Revoke),
        )
        .unwrap();
        assert_denied(list_cred_users(api, &ctx("alice"), Default::default()));
        assert!(
            api.security
                .check("alice", Privilege::Search, &Object::Collection("books"), "default")
                .is_err()
        );
        assert!(grants_of(api, "readers").is_empty());
    }

    #[test]
    fn own_password_change_needs_the_right_old_password() {
        let f = with_alice();
        let api = &f.api;
        let update = |user: &str, old: &str, new: &str| pb::UpdateCredentialRequest {
            username: user.into(),
            old_password: b64(old),
            new_password: b64(new),
            ..Default::default()
        };
        let auth = |user: &str, pw: &str| {
            api.security.authenticate(
                user,
                &Secret::new(pw.into()),
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                Instant::now(),
            )
        };
        const NEW_PW: &str = "a brand new passphrase";

        let (code, reason) = milvus_failure(update_credential(
            api,
            &ctx("alice"),
            update("alice", "wrong password!", NEW_PW),
        ));
        assert_eq!(code, code::INVALID_PARAMETER);
        assert!(reason.contains("old password is not correct"), "{reason}");
        assert!(!reason.contains("wrong password!") && !reason.contains(NEW_PW), "{reason}");
        let (code, _) = milvus_failure(update_credential(
            api,
            &ctx("alice"),
            pb::UpdateCredentialRequest {
                username: "alice".into(),
                new_password: b64(NEW_PW),
                ..Default::default()
            },
        ));
        assert_eq!(code, code::MISSING_PARAMETER);
        let (_, reason) = milvus_failure(update_credential(
            api,
            &ctx("alice"),
            update("alice", ALICE_PW, "tiny"),
        ));
        assert!(reason.contains("weak password"), "{reason}");

        update_credential(api, &ctx("alice"), update("alice", ALICE_PW, NEW_PW)).unwrap();
        auth("alice", NEW_PW).unwrap();
        assert!(auth("alice", ALICE_PW).is_err());

        // Someone else's password: denied without UpdateUser; an admin needs no old password.
        assert_denied(update_credential(api, &ctx("alice"), update("root", ROOT_PW, NEW_PW)));
        update_credential(api, &ctx("root"), update("alice", "", ALICE_PW)).unwrap();
        auth("alice", ALICE_PW).unwrap();
        // An admin changing their own password proves the old one like everyone.
        let (_, reason) = milvus_failure(update_credential(
            api,
            &ctx("root"),
            update("root", "not the root pw", NEW_PW),
        ));
        assert!(reason.contains("old password is not correct"), "{reason}");
    }

    #[test]
    fn root_and_self_cannot_be_deleted() {
        let f = with_alice();
        let (api, root) = (&f.api, &ctx("root"));
        operate_user_role(
            api,
            root,
            user_role("alice", "admin", pb::OperateUserRoleType::AddUserToRole),
        )
        .unwrap();
        let delete = |name: &str| pb::DeleteCredentialRequest { username: name.into(), base: None };

        let (_, reason) = milvus_failure(delete_credential(api, root, delete("root")));
        assert!(reason.contains("cannot delete itself"), "{reason}");
        let (_, reason) = milvus_failure(delete_credential(api, &ctx("alice"), delete("root")));
        assert!(reason.contains("root"), "{reason}");
        let (_, reason) = milvus_failure(delete_credential(api, &ctx("alice"), delete("alice")));
        assert!(reason.contains("cannot delete itself"), "{reason}");
        // root cannot lose admin either.
        assert!(
            operate_user_role(
                api,
                &ctx("alice"),
                user_role("root", "admin", pb::OperateUserRoleType::RemoveUserFromRole)
            )
            .is_err()
        );

        delete_credential(api, root, delete("alice")).unwrap();
        let users = list_cred_users(api, root, Default::default()).unwrap();
        assert_eq!(users.usernames, ["root"]);
        assert_denied(list_cred_users(api, &ctx("alice"), Default::default()));
        let (_, reason) = milvus_failure(delete_credential(api, root, delete("alice")));
        assert!(reason.contains("not found"), "{reason}");
    }

    #[test]
    fn roles_and_users_are_selected_with_their_members() {
        let f = with_alice();
        let (api, root) = (&f.api, &ctx("root"));
        new_role(api, "readers");
        operate_user_role(
            api,
            root,
            user_role("alice", "readers", pb::OperateUserRoleType::AddUserToRole),
        )
        .unwrap();

        let all = select_role(
            api,
            root,
            pb::SelectRoleRequest { include_user_info: true, ..Default::default() },
        )
        .unwrap();
        let roles: Vec<(&str, Vec<&str>)> = all
            .results
            .iter()
            .map(|r| {
                (
                    r.role.as_ref().unwrap().name.as_str(),
                    r.users.iter().map(|u| u.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            roles,
            [
                ("admin", vec!["root"]),
                ("public", vec!["alice", "root"]),
                ("readers", vec!["alice"]),
            ]
        );
        let one = |name: &str| pb::SelectRoleRequest {
            role: Some(role_entity(name.into())),
            include_user_info: false,
            base: None,
        };
        let readers = select_role(api, root, one("readers")).unwrap();
        assert_eq!(readers.results.len(), 1);
        assert!(readers.results[0].users.is_empty());
        assert!(select_role(api, root, one("nobody")).unwrap().results.is_empty());

        let users = select_user(
            api,
            root,
            pb::SelectUserRequest { include_role_info: true, ..Default::default() },
        )
        .unwrap();
        let users: Vec<(&str, Vec<&str>)> = users
            .results
            .iter()
            .map(|u| {
                (
                    u.user.as_ref().unwrap().name.as_str(),
                    u.roles.iter().map(|r| r.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(users, [("alice", vec!["readers"]), ("root", vec!["admin"])]);

        operate_user_role(
            api,
            root,
            user_role("alice", "readers", pb::OperateUserRoleType::RemoveUserFromRole),
        )
        .unwrap();
        assert!(api.security.user_roles("alice").unwrap().is_empty());
        let (code, _) = milvus_failure(operate_user_role(
            api,
            root,
            user_role("alice", "nobody", pb::OperateUserRoleType::AddUserToRole),
        ));
        assert_eq!(code, code::INVALID_PARAMETER);
        let mut bad = user_role("alice", "readers", pb::OperateUserRoleType::AddUserToRole);
        bad.r#type = 9;
        assert!(milvus_failure(operate_user_role(api, root, bad)).1.contains("type 9"));

        drop_role(
            api,
            root,
            pb::DropRoleRequest { role_name: "readers".into(), ..Default::default() },
        )
        .unwrap();
        assert!(select_role(api, root, one("readers")).unwrap().results.is_empty());
    }

    #[test]
    fn privilege_group_lifecycle() {
        use pb::OperatePrivilegeGroupType::{AddPrivilegesToGroup, RemovePrivilegesFromGroup};
        let f = fixture();
        let (api, root) = (&f.api, &ctx("root"));
        let create =
            |name: &str| pb::CreatePrivilegeGroupRequest { group_name: name.into(), base: None };
        let operate = |name: &str, privileges: &[&str], op: pb::OperatePrivilegeGroupType| {
            pb::OperatePrivilegeGroupRequest {
                group_name: name.into(),
                privileges: privileges
                    .iter()
                    .map(|p| pb::PrivilegeEntity { name: (*p).into() })
                    .collect(),
                r#type: op as i32,
                base: None,
            }
        };

        create_privilege_group(api, root, create("searchers")).unwrap();
        for bad in ["bad-name", "", "Search", "CollectionReadOnly", "9lives"] {
            let (code, _) = milvus_failure(create_privilege_group(api, root, create(bad)));
            assert_eq!(code, code::PRIVILEGE_GROUP_NAME, "{bad:?}");
        }
        operate_privilege_group(
            api,
            root,
            operate("searchers", &["Search", "PrivilegeQuery"], AddPrivilegesToGroup),
        )
        .unwrap();
        let (code, _) = milvus_failure(operate_privilege_group(
            api,
            root,
            operate("searchers", &[], AddPrivilegesToGroup),
        ));
        assert_eq!(code, code::MISSING_PARAMETER);
        let (code, _) = milvus_failure(operate_privilege_group(
            api,
            root,
            operate("searchers", &["Fly"], AddPrivilegesToGroup),
        ));
        assert_eq!(code, code::INVALID_PARAMETER);
        let (code, _) = milvus_failure(operate_privilege_group(
            api,
            root,
            operate("CollectionReadOnly", &["Insert"], AddPrivilegesToGroup),
        ));
        assert_eq!(code, code::INVALID_PARAMETER);

        let groups = list_privilege_groups(api, root, Default::default()).unwrap().privilege_groups;
        let names: Vec<&str> = groups.iter().map(|g| g.group_name.as_str()).collect();
        for builtin in quiver_security::BuiltinGroup::VARIANTS {
            assert!(names.contains(&builtin.name()), "{names:?}");
        }
        let coll_ro = groups.iter().find(|g| g.group_name == "CollectionReadOnly").unwrap();
        assert!(coll_ro.privileges.iter().any(|p| p.name == "Search"));
        let searchers = groups.iter().find(|g| g.group_name == "searchers").unwrap();
        let mut members: Vec<&str> = searchers.privileges.iter().map(|p| p.name.as_str()).collect();
        members.sort_unstable();
        assert_eq!(members, ["Query", "Search"]);

        operate_privilege_group(
            api,
            root,
            operate("searchers", &["Query"], RemovePrivilegesFromGroup),
        )
        .unwrap();
        // A group in use cannot be dropped until its grant is revoked.
        new_role(api, "readers");
        operate_privilege_v2(
            api,
            root,
            grant_v2("readers", "searchers", "default", "books", pb::OperatePrivilegeType::Grant),
        )
        .unwrap();
        let drop_req =
            || pb::DropPrivilegeGroupRequest { group_name: "searchers".into(), base: None };
        let (_, reason) = milvus_failure(drop_privilege_group(api, root, drop_req()));
        assert!(reason.contains("used by a grant"), "{reason}");
        operate_privilege_v2(
            api,
            root,
            grant_v2("readers", "searchers", "default", "books", pb::OperatePrivilegeType::Revoke),
        )
        .unwrap();
        drop_privilege_group(api, root, drop_req()).unwrap();
        let groups = list_privilege_groups(api, root, Default::default()).unwrap().privilege_groups;
        assert_eq!(groups.len(), quiver_security::BuiltinGroup::VARIANTS.len());
        let (_, reason) = milvus_failure(drop_privilege_group(api, root, drop_req()));
        assert!(reason.contains("not found"), "{reason}");
    }
}
