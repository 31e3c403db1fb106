//! The security state as one value: users, roles, grants and custom privilege groups.
//!
//! [`SecurityState`] is what `security.qvs` holds and what the store swaps atomically. Its
//! mutations (crate-private) check every rule and bound before changing anything, so a
//! mutation either succeeds entirely or leaves the value as it was; the store applies them to a
//! clone, persists the clone and only then publishes it. Its read methods (public) answer the
//! listing RPCs; the authorization decisions are in `rbac`.
//!
//! Invariants (also checked when the file is decoded): every name follows `names`; `root`
//! exists and holds `admin`; a user's roles are `admin` or existing custom roles (`public` is
//! implicit and never stored); the role table holds `public` and the custom roles, never
//! `admin` (which needs no grants); every grant's privilege resolves, custom groups included;
//! every user's password generation is below `next_generation`; every API key belongs to an
//! existing user, has a name unique among that user's keys, holds only roles its user holds
//! (never `public`), expires (if at all) after its creation, and the per-user and total key
//! counts are within `api_key`'s bounds.

use std::collections::{BTreeMap, BTreeSet};

use crate::SecurityError;
use crate::api_key::{
    ApiKeyInfo, ApiKeyRecord, KeyDigest, MAX_API_KEYS, MAX_API_KEYS_PER_USER, validate_api_key_name,
};
use crate::groups::BuiltinGroup;
use crate::hash::HashedPassword;
use crate::names::{
    ADMIN_ROLE, ANY, PUBLIC_ROLE, ROOT_USER, role_name_rule, truncated, validate_db_name,
    validate_object_name, validate_role_name, validate_user_name,
};
use crate::privilege::{ObjectType, Privilege, PrivilegeLevel};
use crate::rbac::{Grant, GrantFilter, GrantKey, GrantTarget, PrivilegeRef};

/// Most users.
pub const MAX_USERS: usize = 10_000;
/// Most custom roles.
pub const MAX_ROLES: usize = 1_000;
/// Most grants, over all roles.
pub const MAX_GRANTS: usize = 65_536;
/// Most custom privilege groups.
pub const MAX_PRIVILEGE_GROUPS: usize = 1_000;

/// The whole security state; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityState {
    /// The generation the next password change gets. Global rather than per user, so that a
    /// user deleted and created again never reuses a generation a cached credential holds.
    /// Starts at 1: 0 is never a user's generation.
    pub(crate) next_generation: u64,
    pub(crate) users: BTreeMap<String, UserRecord>,
    /// `public` and the custom roles.
    pub(crate) roles: BTreeMap<String, RoleRecord>,
    pub(crate) groups: BTreeMap<String, BTreeSet<Privilege>>,
    /// API keys by id (see `api_key`).
    pub(crate) api_keys: BTreeMap<String, ApiKeyRecord>,
}

/// One user. `Debug` shows the hash redacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserRecord {
    pub(crate) hash: HashedPassword,
    pub(crate) created_unix_secs: u64,
    /// Changes with every password change; the credential cache checks it.
    pub(crate) generation: u64,
    /// `admin` and custom roles.
    pub(crate) roles: BTreeSet<String>,
}

/// One role's grants; the value of a grant is its grantor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RoleRecord {
    pub(crate) grants: BTreeMap<GrantKey, String>,
}

/// A user as listed: no hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub created_unix_secs: u64,
    /// Explicit roles, sorted (`public` is implicit and not listed).
    pub roles: Vec<String>,
}

/// A privilege group as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivilegeGroupInfo {
    pub name: String,
    pub privileges: Vec<Privilege>,
    pub builtin: bool,
}

impl SecurityState {
    /// The state of a new store: `root` (holding `admin`) and the empty `public` role.
    pub(crate) fn initial(root_hash: HashedPassword, now_unix: u64) -> SecurityState {
        let root = UserRecord {
            hash: root_hash,
            created_unix_secs: now_unix,
            generation: 1,
            roles: BTreeSet::from([ADMIN_ROLE.to_owned()]),
        };
        SecurityState {
            next_generation: 2,
            users: BTreeMap::from([(ROOT_USER.to_owned(), root)]),
            roles: BTreeMap::from([(PUBLIC_ROLE.to_owned(), RoleRecord::default())]),
            groups: BTreeMap::new(),
            api_keys: BTreeMap::new(),
        }
    }

    // Users.

    /// True if the user exists.
    pub fn user_exists(&self, name: &str) -> bool {
        self.users.contains_key(name)
    }

    /// Every user, sorted by name.
    pub fn list_users(&self) -> Vec<UserInfo> {
        self.users
            .iter()
            .map(|(name, u)| UserInfo {
                name: name.clone(),
                created_unix_secs: u.created_unix_secs,
                roles: u.roles.iter().cloned().collect(),
            })
            .collect()
    }

    /// The explicit roles of a user, sorted.
    pub fn user_roles(&self, name: &str) -> Result<Vec<String>, SecurityError> {
        Ok(self.user(name)?.roles.iter().cloned().collect())
    }

    pub(crate) fn user(&self, name: &str) -> Result<&UserRecord, SecurityError> {
        self.users.get(name).ok_or_else(|| SecurityError::UserNotFound { name: truncated(name) })
    }

    fn user_mut(&mut self, name: &str) -> Result<&mut UserRecord, SecurityError> {
        self.users
            .get_mut(name)
            .ok_or_else(|| SecurityError::UserNotFound { name: truncated(name) })
    }

    fn take_generation(&mut self) -> u64 {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.saturating_add(1);
        generation
    }

    pub(crate) fn create_user(
        &mut self,
        name: &str,
        hash: HashedPassword,
        now_unix: u64,
    ) -> Result<(), SecurityError> {
        validate_user_name(name)?;
        if self.users.contains_key(name) {
            return Err(SecurityError::UserExists { name: name.to_owned() });
        }
        if self.users.len() >= MAX_USERS {
            return Err(SecurityError::LimitExceeded { what: "users", max: MAX_USERS });
        }
        let generation = self.take_generation();
        let record =
            UserRecord { hash, created_unix_secs: now_unix, generation, roles: BTreeSet::new() };
        self.users.insert(name.to_owned(), record);
        Ok(())
    }

    pub(crate) fn set_password(
        &mut self,
        name: &str,
        hash: HashedPassword,
    ) -> Result<(), SecurityError> {
        self.user(name)?;
        let generation = self.take_generation();
        let user = self.user_mut(name)?;
        user.hash = hash;
        user.generation = generation;
        Ok(())
    }

    pub(crate) fn delete_user(&mut self, name: &str) -> Result<(), SecurityError> {
        if name == ROOT_USER {
            return Err(SecurityError::RootProtected);
        }
        self.user(name)?;
        self.users.remove(name);
        self.api_keys.retain(|_, key| key.user != name);
        Ok(())
    }

    // Roles.

    /// Every role, sorted: the built-in `admin` and `public` and the custom roles.
    pub fn list_roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = self.roles.keys().cloned().collect();
        roles.push(ADMIN_ROLE.to_owned());
        roles.sort();
        roles
    }

    /// True if the role exists (built-in or custom).
    pub fn role_exists(&self, name: &str) -> bool {
        name == ADMIN_ROLE || self.roles.contains_key(name)
    }

    /// The users explicitly holding `role`, sorted; every user for `public`.
    pub fn users_of_role(&self, role: &str) -> Result<Vec<String>, SecurityError> {
        if !self.role_exists(role) {
            return Err(SecurityError::RoleNotFound { name: truncated(role) });
        }
        Ok(self
            .users
            .iter()
            .filter(|(_, u)| role == PUBLIC_ROLE || u.roles.contains(role))
            .map(|(name, _)| name.clone())
            .collect())
    }

    pub(crate) fn create_role(&mut self, name: &str) -> Result<(), SecurityError> {
        validate_role_name(name)?;
        if name == ADMIN_ROLE || name == PUBLIC_ROLE {
            return Err(SecurityError::BuiltinRole { name: name.to_owned() });
        }
        if self.roles.contains_key(name) {
            return Err(SecurityError::RoleExists { name: name.to_owned() });
        }
        if self.roles.len() > MAX_ROLES {
            return Err(SecurityError::LimitExceeded { what: "roles", max: MAX_ROLES });
        }
        self.roles.insert(name.to_owned(), RoleRecord::default());
        Ok(())
    }

    /// Drops a custom role. Refused while users hold it or it has grants, unless `force`, which
    /// revokes both.
    pub(crate) fn drop_role(&mut self, name: &str, force: bool) -> Result<(), SecurityError> {
        if name == ADMIN_ROLE || name == PUBLIC_ROLE {
            return Err(SecurityError::BuiltinRole { name: name.to_owned() });
        }
        let role = self
            .roles
            .get(name)
            .ok_or_else(|| SecurityError::RoleNotFound { name: truncated(name) })?;
        let held = self.users.values().any(|u| u.roles.contains(name));
        if (held || !role.grants.is_empty()) && !force {
            return Err(SecurityError::RoleInUse { name: name.to_owned() });
        }
        self.roles.remove(name);
        for user in self.users.values_mut() {
            user.roles.remove(name);
        }
        for key in self.api_keys.values_mut() {
            key.roles.remove(name);
        }
        Ok(())
    }

    /// Gives `user` the role; `public` is already held by everyone, so that is a no-op.
    pub(crate) fn add_user_to_role(&mut self, user: &str, role: &str) -> Result<(), SecurityError> {
        self.user(user)?;
        if role == PUBLIC_ROLE {
            return Ok(());
        }
        if !self.role_exists(role) {
            return Err(SecurityError::RoleNotFound { name: truncated(role) });
        }
        self.user_mut(user)?.roles.insert(role.to_owned());
        Ok(())
    }

    /// Takes the role from `user` (a no-op if they do not hold it) and from all of the user's
    /// API keys, for good. `public` cannot be taken, nor `admin` from `root`.
    pub(crate) fn remove_user_from_role(
        &mut self,
        user: &str,
        role: &str,
    ) -> Result<(), SecurityError> {
        self.user(user)?;
        if role == PUBLIC_ROLE {
            return Err(SecurityError::BuiltinRole { name: role.to_owned() });
        }
        if !self.role_exists(role) {
            return Err(SecurityError::RoleNotFound { name: truncated(role) });
        }
        if user == ROOT_USER && role == ADMIN_ROLE {
            return Err(SecurityError::RootProtected);
        }
        self.user_mut(user)?.roles.remove(role);
        for key in self.api_keys.values_mut().filter(|key| key.user == user) {
            key.roles.remove(role);
        }
        Ok(())
    }

    // API keys.

    /// The API keys of `user` (every key if `None`; none for an unknown user), sorted by user
    /// and name. Never a secret or digest.
    pub fn list_api_keys(&self, user: Option<&str>) -> Vec<ApiKeyInfo> {
        let mut keys: Vec<ApiKeyInfo> = self
            .api_keys
            .iter()
            .filter(|(_, key)| user.is_none_or(|user| key.user == user))
            .map(|(id, key)| key.info(id))
            .collect();
        keys.sort_by(|a, b| (&a.user, &a.name).cmp(&(&b.user, &b.name)));
        keys
    }

    /// The id of `user`'s key called `name`.
    pub(crate) fn api_key_id(&self, user: &str, name: &str) -> Option<&str> {
        self.api_keys
            .iter()
            .find(|(_, key)| key.user == user && key.name == name)
            .map(|(id, _)| id.as_str())
    }

    /// Adds a key under `id` (fresh, drawn by the caller) with the given digest, after every
    /// rule of `api_key`: the user exists, the name is valid and new for the user, each role is
    /// `public` (implicit, not stored) or one the user holds, the expiry is after `now_unix`,
    /// and the counts stay within their bounds.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_api_key(
        &mut self,
        user: &str,
        name: &str,
        roles: &[String],
        expires_unix_secs: Option<u64>,
        now_unix: u64,
        id: String,
        digest: KeyDigest,
    ) -> Result<ApiKeyInfo, SecurityError> {
        let record = self.user(user)?;
        validate_api_key_name(name)?;
        let mut key_roles = BTreeSet::new();
        for role in roles {
            if role == PUBLIC_ROLE {
                continue;
            }
            if !record.roles.contains(role) {
                if !self.role_exists(role) {
                    return Err(SecurityError::RoleNotFound { name: truncated(role) });
                }
                return Err(SecurityError::ApiKeyRoleNotHeld {
                    user: user.to_owned(),
                    role: truncated(role),
                });
            }
            key_roles.insert(role.clone());
        }
        if expires_unix_secs.is_some_and(|expires| expires <= now_unix) {
            return Err(SecurityError::InvalidApiKey {
                reason: "the expiry must be in the future",
            });
        }
        if self.api_key_id(user, name).is_some() {
            return Err(SecurityError::ApiKeyExists {
                user: user.to_owned(),
                name: name.to_owned(),
            });
        }
        if self.api_keys.values().filter(|key| key.user == user).count() >= MAX_API_KEYS_PER_USER {
            return Err(SecurityError::LimitExceeded {
                what: "API keys of one user",
                max: MAX_API_KEYS_PER_USER,
            });
        }
        if self.api_keys.len() >= MAX_API_KEYS {
            return Err(SecurityError::LimitExceeded { what: "API keys", max: MAX_API_KEYS });
        }
        if self.api_keys.contains_key(&id) {
            return Err(SecurityError::Internal { reason: "API key id collision" });
        }
        let record = ApiKeyRecord {
            user: user.to_owned(),
            name: name.to_owned(),
            digest,
            created_unix_secs: now_unix,
            expires_unix_secs,
            roles: key_roles,
        };
        let info = record.info(&id);
        self.api_keys.insert(id, record);
        Ok(info)
    }

    /// Removes `user`'s key called `name`.
    pub(crate) fn revoke_api_key(&mut self, user: &str, name: &str) -> Result<(), SecurityError> {
        self.user(user)?;
        let Some(id) = self.api_key_id(user, name).map(str::to_owned) else {
            return Err(SecurityError::ApiKeyNotFound {
                user: user.to_owned(),
                name: truncated(name),
            });
        };
        self.api_keys.remove(&id);
        Ok(())
    }

    // Grants.

    /// What a privilege name means here: a privilege, a built-in group or an existing custom
    /// group (names cannot collide: custom group names may not be built-in names).
    pub(crate) fn resolve_privilege(&self, name: &str) -> Result<PrivilegeRef, SecurityError> {
        if let Some(p) = Privilege::parse(name) {
            return Ok(PrivilegeRef::Privilege(p));
        }
        if let Some(g) = BuiltinGroup::parse(name) {
            return Ok(PrivilegeRef::Builtin(g));
        }
        if self.groups.contains_key(name) {
            return Ok(PrivilegeRef::Custom(name.to_owned()));
        }
        Err(SecurityError::InvalidPrivilege { name: truncated(name) })
    }

    fn grant_key(&self, target: &GrantTarget<'_>) -> Result<GrantKey, SecurityError> {
        if target.role == ADMIN_ROLE {
            return Err(SecurityError::BuiltinRole { name: ADMIN_ROLE.to_owned() });
        }
        if !self.roles.contains_key(target.role) {
            return Err(SecurityError::RoleNotFound { name: truncated(target.role) });
        }
        validate_object_name(target.object_type, target.object_name)?;
        validate_db_name(target.db_name)?;
        Ok(GrantKey {
            object_type: target.object_type,
            object_name: target.object_name.to_owned(),
            db_name: target.db_name.to_owned(),
            privilege: self.resolve_privilege(target.privilege)?,
        })
    }

    /// Adds a grant; false if the role already had it (the grantor is not changed).
    pub(crate) fn grant(
        &mut self,
        target: &GrantTarget<'_>,
        grantor: &str,
    ) -> Result<bool, SecurityError> {
        validate_user_name(grantor)?;
        let key = self.grant_key(target)?;
        let n_grants: usize = self.roles.values().map(|r| r.grants.len()).sum();
        let Some(role) = self.roles.get_mut(target.role) else {
            return Err(SecurityError::RoleNotFound { name: truncated(target.role) });
        };
        if role.grants.contains_key(&key) {
            return Ok(false);
        }
        if n_grants >= MAX_GRANTS {
            return Err(SecurityError::LimitExceeded { what: "grants", max: MAX_GRANTS });
        }
        role.grants.insert(key, grantor.to_owned());
        Ok(true)
    }

    /// Removes a grant; false if the role did not have it.
    pub(crate) fn revoke(&mut self, target: &GrantTarget<'_>) -> Result<bool, SecurityError> {
        let key = self.grant_key(target)?;
        let removed = self.roles.get_mut(target.role).and_then(|role| role.grants.remove(&key));
        Ok(removed.is_some())
    }

    /// The grant that Milvus's `OperatePrivilegeV2` means: the level of the privilege must fit
    /// (cluster-level on `*`/`*`, database-level on collection `*`); `*`/`*` becomes a Global
    /// grant, anything else a Collection grant on `collection` in `db` (collection `*` with a
    /// named database being the database level).
    pub(crate) fn grant_target_v2<'a>(
        &self,
        role: &'a str,
        privilege: &'a str,
        db: &'a str,
        collection: &'a str,
    ) -> Result<GrantTarget<'a>, SecurityError> {
        let level = match self.resolve_privilege(privilege)? {
            PrivilegeRef::Privilege(p) => p.level(),
            PrivilegeRef::Builtin(g) => Some(g.level()),
            PrivilegeRef::Custom(_) => None,
        };
        match level {
            Some(PrivilegeLevel::Cluster) if db != ANY || collection != ANY => {
                return Err(SecurityError::InvalidGrant {
                    reason: "a cluster-level privilege is granted on database `*` and collection `*`",
                });
            }
            Some(PrivilegeLevel::Database) if collection != ANY => {
                return Err(SecurityError::InvalidGrant {
                    reason: "a database-level privilege is granted on collection `*`",
                });
            }
            Some(_) | None => {}
        }
        let object_type = if db == ANY && collection == ANY {
            ObjectType::Global
        } else {
            ObjectType::Collection
        };
        Ok(GrantTarget { role, object_type, object_name: collection, db_name: db, privilege })
    }

    /// The grants of a role that pass `filter`, in a stable order.
    pub fn grants_of_role(
        &self,
        role: &str,
        filter: &GrantFilter<'_>,
    ) -> Result<Vec<Grant>, SecurityError> {
        if role == ADMIN_ROLE {
            return Ok(Vec::new());
        }
        let record = self
            .roles
            .get(role)
            .ok_or_else(|| SecurityError::RoleNotFound { name: truncated(role) })?;
        Ok(record
            .grants
            .iter()
            .filter(|(key, _)| filter.accepts(key))
            .map(|(key, grantor)| Grant {
                role: role.to_owned(),
                object_type: key.object_type,
                object_name: key.object_name.clone(),
                db_name: key.db_name.clone(),
                privilege: key.privilege.clone(),
                grantor: grantor.clone(),
            })
            .collect())
    }

    // Privilege groups.

    /// The built-in groups, then the custom ones sorted by name.
    pub fn list_privilege_groups(&self) -> Vec<PrivilegeGroupInfo> {
        let builtin = BuiltinGroup::VARIANTS.iter().map(|g| PrivilegeGroupInfo {
            name: g.name().to_owned(),
            privileges: g.privileges().to_vec(),
            builtin: true,
        });
        let custom = self.groups.iter().map(|(name, privileges)| PrivilegeGroupInfo {
            name: name.clone(),
            privileges: privileges.iter().copied().collect(),
            builtin: false,
        });
        builtin.chain(custom).collect()
    }

    pub(crate) fn create_privilege_group(&mut self, name: &str) -> Result<(), SecurityError> {
        check_group_name(name)?;
        if self.groups.contains_key(name) {
            return Err(SecurityError::PrivilegeGroupExists { name: name.to_owned() });
        }
        if self.groups.len() >= MAX_PRIVILEGE_GROUPS {
            return Err(SecurityError::LimitExceeded {
                what: "privilege groups",
                max: MAX_PRIVILEGE_GROUPS,
            });
        }
        self.groups.insert(name.to_owned(), BTreeSet::new());
        Ok(())
    }

    pub(crate) fn drop_privilege_group(&mut self, name: &str) -> Result<(), SecurityError> {
        self.custom_group(name)?;
        let used = self
            .roles
            .values()
            .flat_map(|r| r.grants.keys())
            .any(|key| matches!(&key.privilege, PrivilegeRef::Custom(group) if group == name));
        if used {
            return Err(SecurityError::PrivilegeGroupInUse { name: name.to_owned() });
        }
        self.groups.remove(name);
        Ok(())
    }

    /// Adds privileges (by name) to a custom group. Members are single privileges other than
    /// `All`: no groups in groups, so a group's meaning is visible in one listing.
    pub(crate) fn add_privileges_to_group(
        &mut self,
        name: &str,
        privileges: &[&str],
    ) -> Result<(), SecurityError> {
        self.custom_group(name)?;
        let parsed = parse_members(privileges)?;
        if let Some(group) = self.groups.get_mut(name) {
            group.extend(parsed);
        }
        Ok(())
    }

    /// Removes privileges (by name) from a custom group; absent ones are ignored.
    pub(crate) fn remove_privileges_from_group(
        &mut self,
        name: &str,
        privileges: &[&str],
    ) -> Result<(), SecurityError> {
        self.custom_group(name)?;
        let parsed = parse_members(privileges)?;
        if let Some(group) = self.groups.get_mut(name) {
            for p in parsed {
                group.remove(&p);
            }
        }
        Ok(())
    }

    fn custom_group(&self, name: &str) -> Result<(), SecurityError> {
        if BuiltinGroup::parse(name).is_some() {
            return Err(SecurityError::BuiltinPrivilegeGroup { name: name.to_owned() });
        }
        if !self.groups.contains_key(name) {
            return Err(SecurityError::PrivilegeGroupNotFound { name: truncated(name) });
        }
        Ok(())
    }
}

fn parse_members(privileges: &[&str]) -> Result<Vec<Privilege>, SecurityError> {
    privileges
        .iter()
        .map(|name| match Privilege::parse(name) {
            Some(p) if p != Privilege::All => Ok(p),
            Some(_) | None => Err(SecurityError::InvalidPrivilege { name: truncated(name) }),
        })
        .collect()
}

/// Milvus's rule for custom privilege group names (code 1402 when broken): the role-name rule,
/// and no collision with a built-in privilege or group name in either spelling.
pub(crate) fn check_group_name(name: &str) -> Result<(), SecurityError> {
    let reason = match role_name_rule(name) {
        Some(reason) => Some(reason),
        None if Privilege::parse(name).is_some() => Some("is the name of a built-in privilege"),
        None if BuiltinGroup::parse(name).is_some() => {
            Some("is the name of a built-in privilege group")
        }
        None => None,
    };
    match reason {
        None => Ok(()),
        Some(reason) => {
            Err(SecurityError::InvalidPrivilegeGroupName { name: truncated(name), reason })
        }
    }
}
