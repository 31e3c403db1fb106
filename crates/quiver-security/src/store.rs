//! [`SecurityStore`]: the persistent users, roles, grants, privilege groups and API keys, with
//! authentication (throttled, cached for passwords) and authorization over them.
//!
//! Everything lives in one small file, `security.qvs` at the root of the backend (format in
//! `store_codec`). It is replaced atomically on every change. A missing file means the store
//! was never initialized ([`SecurityStore::open`] returns `None`, and the server asks for a root
//! password or generates one); a damaged file is an error naming it, never a reason to start
//! afresh, which would reset `root`'s password to whoever starts the server next.
//!
//! Concurrency: readers take an `Arc` snapshot of the [`SecurityState`] and never wait for a
//! writer's fsync. Writers are serialized; each clones the state, changes the clone, writes
//! it, and only then publishes it, so a failed write leaves memory equal to disk (after a
//! failed fsync, by re-reading the file, which may hold either version).
//!
//! API keys (`api_key`) are checked against the current snapshot on every request, with no
//! cache: a revocation, a deleted user or a role taken away applies to the very next request.
//!
//! The throttle and the credential cache live in memory only: a restart forgets lockouts
//! (the backoff restarts at its first step) and cached credentials (the next request of each
//! client pays one Argon2 verification).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use quiver_storage::Backend;

use crate::SecurityError;
use crate::api_key::{self, ApiKeyInfo};
use crate::cache::{
    CREDENTIAL_CACHE_CAPACITY, CREDENTIAL_CACHE_TTL, CredentialCache, CredentialCacheStats,
};
use crate::hash::{HashedPassword, dummy_verify, hash_password, verify_password};
use crate::limiter::{Limiter, MAX_CONCURRENT_ARGON2};
use crate::names::{MAX_USER_NAME_LEN, ROOT_USER, truncated, validate_user_name};
use crate::password::{MAX_PASSWORD_LEN, Secret, check_password_policy};
use crate::privilege::Privilege;
use crate::rbac::{Grant, GrantFilter, GrantTarget, Object};
use crate::state::{PrivilegeGroupInfo, SecurityState, UserInfo};
use crate::store_codec::{self, SECURITY_FILE};
use crate::throttle::{Throttle, ThrottleConfig};

/// An authenticated caller: a user, and what it may use of the user's roles.
///
/// Authorize its requests with [`SecurityStore::check_principal`] (and filter listings with
/// [`SecurityStore::visible_principal`], [`SecurityStore::visible_database_principal`]): the
/// by-name functions ignore `roles` and would give an API key all of its user's roles.
/// `Debug` shows no secret (a principal holds none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    /// `None`: authenticated with the user's password, all of the user's roles count. `Some`:
    /// authenticated with an API key, only these of the user's explicit roles count (and
    /// `public`), intersected again with the user's current roles at every decision.
    pub roles: Option<Vec<String>>,
    /// The API key used, if any (for logs and audit).
    pub api_key: Option<ApiKeyRef>,
}

/// How [`SecurityStore::authenticate_verified`] accepted a password: by a real Argon2
/// verification, or by a hit in the verified-credential cache. The audit log records the
/// first and not the second (a cache hit repeats a verification already recorded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Argon2 verified the password against the stored hash.
    Verified,
    /// The credential cache held this password as verified.
    Cached,
}

/// Which API key a principal authenticated with. Names nothing secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRef {
    /// The key's id (the public part of its token).
    pub id: String,
    /// The key's name among its user's keys.
    pub name: String,
}

impl Principal {
    /// A caller authenticated with the user's own credentials: all of the user's roles count.
    pub fn unrestricted(user: &str) -> Principal {
        Principal { user: user.to_owned(), roles: None, api_key: None }
    }

    /// True if the caller authenticated with an API key.
    pub fn is_api_key(&self) -> bool {
        self.api_key.is_some()
    }
}

/// The security store; see the module documentation.
pub struct SecurityStore {
    backend: Arc<dyn Backend>,
    state: RwLock<Arc<SecurityState>>,
    /// Serializes mutations, so that each one starts from the state the previous one wrote.
    writer: Mutex<()>,
    throttle: Throttle,
    cache: CredentialCache,
    argon2: Limiter,
}

impl SecurityStore {
    /// Opens the store in `backend`; `None` if it was never initialized.
    pub fn open(backend: Arc<dyn Backend>) -> Result<Option<SecurityStore>, SecurityError> {
        let bytes = match backend.read(SECURITY_FILE) {
            Ok(bytes) => bytes,
            Err(err) if err.is_not_found() => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let state = store_codec::decode(bytes)?;
        SecurityStore::with_state(backend, state).map(Some)
    }

    /// Creates the store with the user `root`, holding `admin`, whose password is
    /// `root_password` (checked against the policy). Fails if the store already exists.
    pub fn initialize(
        backend: Arc<dyn Backend>,
        root_password: &Secret,
    ) -> Result<SecurityStore, SecurityError> {
        if backend.exists(SECURITY_FILE)? {
            return Err(SecurityError::AlreadyInitialized);
        }
        check_password_policy(ROOT_USER, root_password)?;
        let state = SecurityState::initial(hash_password(root_password)?, now_unix());
        backend.write_atomic(SECURITY_FILE, &store_codec::encode(&state))?;
        SecurityStore::with_state(backend, state)
    }

    fn with_state(
        backend: Arc<dyn Backend>,
        state: SecurityState,
    ) -> Result<SecurityStore, SecurityError> {
        Ok(SecurityStore {
            backend,
            state: RwLock::new(Arc::new(state)),
            writer: Mutex::new(()),
            throttle: Throttle::new(ThrottleConfig::default()),
            cache: CredentialCache::new(CREDENTIAL_CACHE_CAPACITY, CREDENTIAL_CACHE_TTL)?,
            argon2: Limiter::new(MAX_CONCURRENT_ARGON2),
        })
    }

    fn hash(&self, password: &Secret) -> Result<HashedPassword, SecurityError> {
        let _permit = self.argon2.acquire();
        hash_password(password)
    }

    /// The current state, for several decisions or listings against one consistent view.
    pub fn snapshot(&self) -> Arc<SecurityState> {
        Arc::clone(&self.state.read())
    }

    /// Applies `change` to a copy of the state, persists the copy and publishes it. A refused
    /// change alters nothing. A failed write may or may not have replaced the file (a failed
    /// fsync comes after the rename), so the store then re-reads the file and publishes what
    /// it holds, old or new: memory keeps matching disk. If even that read fails, memory keeps
    /// the old state, which is what the file held unless the failed write replaced it.
    fn mutate<T>(
        &self,
        change: impl FnOnce(&mut SecurityState) -> Result<T, SecurityError>,
    ) -> Result<T, SecurityError> {
        let _writer = self.writer.lock();
        let current = self.snapshot();
        let mut next = SecurityState::clone(&current);
        let out = change(&mut next)?;
        if next == *current {
            return Ok(out);
        }
        if let Err(err) = self.backend.write_atomic(SECURITY_FILE, &store_codec::encode(&next)) {
            let on_disk = self.backend.read(SECURITY_FILE).ok().map(store_codec::decode);
            if let Some(Ok(on_disk)) = on_disk {
                *self.state.write() = Arc::new(on_disk);
            }
            return Err(err.into());
        }
        *self.state.write() = Arc::new(next);
        Ok(out)
    }

    // Authentication.

    /// Checks a user's credentials, in this order: the throttle (user name and address: a
    /// locked key refuses even the right password), the credential cache, then Argon2 against
    /// the stored hash, or [`dummy_verify`] if the user does not exist so that the time taken
    /// does not tell. A failure is recorded against both keys and is
    /// [`SecurityError::Unauthenticated`] whatever the cause.
    ///
    /// Blocks for one Argon2 verification on a cache miss: call it from a blocking thread.
    pub fn authenticate(
        &self,
        user: &str,
        password: &Secret,
        peer: IpAddr,
        now: Instant,
    ) -> Result<Principal, SecurityError> {
        self.authenticate_verified(user, password, peer, now).map(|(principal, _)| principal)
    }

    /// [`SecurityStore::authenticate`], also saying whether the password was verified by
    /// Argon2 or found in the credential cache.
    pub fn authenticate_verified(
        &self,
        user: &str,
        password: &Secret,
        peer: IpAddr,
        now: Instant,
    ) -> Result<(Principal, Verification), SecurityError> {
        self.throttle.check(user, peer, now)?;
        if user.len() > MAX_USER_NAME_LEN || password.len() > MAX_PASSWORD_LEN {
            // No such credential can exist, for any user: refuse without spending Argon2 on
            // oversized input (this reveals nothing about which users exist).
            self.throttle.record_failure(user, peer, now);
            return Err(SecurityError::Unauthenticated);
        }
        let state = self.snapshot();
        let record = state.users.get(user);
        // Generation 0 is never assigned, so an unknown user misses after the same work.
        let generation = record.map_or(0, |r| r.generation);
        if self.cache.lookup(user, password, generation, now) && record.is_some() {
            self.throttle.record_success(user);
            return Ok((Principal::unrestricted(user), Verification::Cached));
        }
        let verified = {
            let _permit = self.argon2.acquire();
            match record {
                Some(record) => verify_password(password, &record.hash),
                None => {
                    dummy_verify(password);
                    false
                }
            }
        };
        match record {
            Some(record) if verified => {
                self.cache.insert(user, password, record.generation, now);
                self.throttle.record_success(user);
                Ok((Principal::unrestricted(user), Verification::Verified))
            }
            Some(_) | None => {
                self.throttle.record_failure(user, peer, now);
                Err(SecurityError::Unauthenticated)
            }
        }
    }

    /// Checks an API key token (see `api_key` for its form), in this order: the throttle of the
    /// client address (key guesses share the address's budget with password guesses; there is
    /// no per-key lockout), the key by its id, the digest of the secret (one HMAC, constant-time
    /// comparison; a dummy one when the id is unknown or the token malformed), then that the key
    /// has not expired at `now_unix` and its user exists. Every failure, whatever the cause, is
    /// [`SecurityError::Unauthenticated`] and is counted against the address.
    ///
    /// The principal's roles are the key's roles that the user still holds. Cheap (one HMAC, no
    /// Argon2); the API layer may still call it from the same blocking path as
    /// [`SecurityStore::authenticate`].
    pub fn authenticate_key(
        &self,
        token: &Secret,
        peer: IpAddr,
        now: Instant,
        now_unix: u64,
    ) -> Result<Principal, SecurityError> {
        self.throttle.check_address(peer, now)?;
        let state = self.snapshot();
        let principal = match api_key::parse_token(token.expose()) {
            None => {
                api_key::dummy_verify(&[0; 32]);
                None
            }
            Some(parsed) => match state.api_keys.get_key_value(parsed.id) {
                None => {
                    api_key::dummy_verify(parsed.secret.as_bytes());
                    None
                }
                Some((id, key)) => {
                    let verified = api_key::verify(id, parsed.secret.as_bytes(), &key.digest);
                    let user = state.users.get(&key.user);
                    match user {
                        Some(user) if verified && key.alive(now_unix) => Some(Principal {
                            user: key.user.clone(),
                            roles: Some(key.roles.intersection(&user.roles).cloned().collect()),
                            api_key: Some(ApiKeyRef { id: id.clone(), name: key.name.clone() }),
                        }),
                        Some(_) | None => None,
                    }
                }
            },
        };
        match principal {
            Some(principal) => Ok(principal),
            None => {
                self.throttle.record_address_failure(peer, now);
                Err(SecurityError::Unauthenticated)
            }
        }
    }

    /// Hits, misses and size of the credential cache.
    pub fn credential_cache_stats(&self) -> CredentialCacheStats {
        self.cache.stats()
    }

    // Authorization, on the current state.

    /// See [`SecurityState::check`].
    pub fn check(
        &self,
        user: &str,
        privilege: Privilege,
        object: &Object<'_>,
        db: &str,
    ) -> Result<(), SecurityError> {
        self.snapshot().check(user, privilege, object, db)
    }

    /// See [`SecurityState::visible`].
    pub fn visible(&self, user: &str, db: &str, collection: &str) -> bool {
        self.snapshot().visible(user, db, collection)
    }

    /// See [`SecurityState::visible_database`].
    pub fn visible_database(&self, user: &str, db: &str) -> bool {
        self.snapshot().visible_database(user, db)
    }

    /// See [`SecurityState::check_principal`]: the decision for a request, honouring an API
    /// key's restriction.
    pub fn check_principal(
        &self,
        principal: &Principal,
        privilege: Privilege,
        object: &Object<'_>,
        db: &str,
    ) -> Result<(), SecurityError> {
        self.snapshot().check_principal(principal, privilege, object, db)
    }

    /// See [`SecurityState::visible_principal`].
    pub fn visible_principal(&self, principal: &Principal, db: &str, collection: &str) -> bool {
        self.snapshot().visible_principal(principal, db, collection)
    }

    /// See [`SecurityState::visible_database_principal`].
    pub fn visible_database_principal(&self, principal: &Principal, db: &str) -> bool {
        self.snapshot().visible_database_principal(principal, db)
    }

    // Users.

    /// Creates a user with no explicit roles. The password must pass the policy.
    pub fn create_user(&self, name: &str, password: &Secret) -> Result<(), SecurityError> {
        validate_user_name(name)?;
        check_password_policy(name, password)?;
        if self.snapshot().user_exists(name) {
            return Err(SecurityError::UserExists { name: name.to_owned() });
        }
        let hash = self.hash(password)?;
        self.mutate(|state| state.create_user(name, hash, now_unix()))
    }

    /// Replaces a user's password (the policy applies) and invalidates their cached
    /// credentials. Whether the caller must prove the old password is the API layer's
    /// decision: it can use [`SecurityStore::authenticate`] for that, which is throttled.
    pub fn set_password(&self, name: &str, password: &Secret) -> Result<(), SecurityError> {
        if !self.snapshot().user_exists(name) {
            return Err(SecurityError::UserNotFound { name: truncated(name) });
        }
        check_password_policy(name, password)?;
        let hash = self.hash(password)?;
        self.mutate(|state| state.set_password(name, hash))
    }

    /// Deletes a user (never `root`); their cached credentials and their API keys die with them.
    pub fn delete_user(&self, name: &str) -> Result<(), SecurityError> {
        self.mutate(|state| state.delete_user(name))
    }

    /// Every user, without hashes.
    pub fn list_users(&self) -> Vec<UserInfo> {
        self.snapshot().list_users()
    }

    /// A user's explicit roles.
    pub fn user_roles(&self, name: &str) -> Result<Vec<String>, SecurityError> {
        self.snapshot().user_roles(name)
    }

    // API keys.

    /// Creates an API key for `user` called `name` (unique among the user's keys), holding
    /// `roles` (each `public`, which every key has anyway, or a role the user holds now),
    /// expiring at `expires_unix_secs` (after `now_unix`) or never. Returns the key's listing
    /// and its token, which exists nowhere else: show it to the client once and drop it.
    ///
    /// Whether the caller may create a key for `user` with these roles is the API layer's
    /// decision; a caller that itself authenticated with a restricted key must not be able to
    /// mint a key with roles its own key lacks (see [`SecurityState::effective_roles`]).
    pub fn create_api_key(
        &self,
        user: &str,
        name: &str,
        roles: &[String],
        expires_unix_secs: Option<u64>,
        now_unix: u64,
    ) -> Result<(ApiKeyInfo, Secret), SecurityError> {
        self.mutate(|state| {
            // 2^64 ids for at most 100 000 keys: a collision is a curiosity, but never reuse.
            let key = loop {
                let key = api_key::generate()?;
                if !state.api_keys.contains_key(&key.id) {
                    break key;
                }
            };
            let info = state.create_api_key(
                user,
                name,
                roles,
                expires_unix_secs,
                now_unix,
                key.id,
                key.digest,
            )?;
            Ok((info, key.token))
        })
    }

    /// The API keys of `user`, or of everyone with `None`, sorted by user and name; never a
    /// secret or digest.
    pub fn list_api_keys(&self, user: Option<&str>) -> Vec<ApiKeyInfo> {
        self.snapshot().list_api_keys(user)
    }

    /// Revokes `user`'s key called `name`. Takes effect for the next request that presents it
    /// (there is no cache of verified keys).
    pub fn revoke_api_key(&self, user: &str, name: &str) -> Result<(), SecurityError> {
        self.mutate(|state| state.revoke_api_key(user, name))
    }

    // Roles.

    /// Creates a custom role with no grants (`admin` and `public` exist already).
    pub fn create_role(&self, name: &str) -> Result<(), SecurityError> {
        self.mutate(|state| state.create_role(name))
    }

    /// Drops a custom role; with `force`, even if users hold it or it has grants (it is then
    /// taken from its users and their API keys).
    pub fn drop_role(&self, name: &str, force: bool) -> Result<(), SecurityError> {
        self.mutate(|state| state.drop_role(name, force))
    }

    /// Every role, built-in ones included.
    pub fn list_roles(&self) -> Vec<String> {
        self.snapshot().list_roles()
    }

    /// The users holding a role.
    pub fn users_of_role(&self, role: &str) -> Result<Vec<String>, SecurityError> {
        self.snapshot().users_of_role(role)
    }

    /// Gives a user a role (Milvus's `OperateUserRole` add); `public` is a no-op.
    pub fn add_user_to_role(&self, user: &str, role: &str) -> Result<(), SecurityError> {
        self.mutate(|state| state.add_user_to_role(user, role))
    }

    /// Takes a role from a user and from all of the user's API keys (for good: giving the role
    /// back to the user does not give it back to the keys); never `public`, nor `admin` from
    /// `root`.
    pub fn remove_user_from_role(&self, user: &str, role: &str) -> Result<(), SecurityError> {
        self.mutate(|state| state.remove_user_from_role(user, role))
    }

    // Grants.

    /// Adds a grant (Milvus's `OperatePrivilege` grant); false if the role already had it.
    pub fn grant(&self, target: &GrantTarget<'_>, grantor: &str) -> Result<bool, SecurityError> {
        self.mutate(|state| state.grant(target, grantor))
    }

    /// Removes a grant; false if the role did not have it.
    pub fn revoke(&self, target: &GrantTarget<'_>) -> Result<bool, SecurityError> {
        self.mutate(|state| state.revoke(target))
    }

    /// Milvus's `OperatePrivilegeV2` grant: `privilege` (or group) on `collection` (or `*`) in
    /// `db` (or `*`); see `rbac` for how it is stored.
    pub fn grant_v2(
        &self,
        role: &str,
        privilege: &str,
        db: &str,
        collection: &str,
        grantor: &str,
    ) -> Result<bool, SecurityError> {
        self.mutate(|state| {
            let target = state.grant_target_v2(role, privilege, db, collection)?;
            state.grant(&target, grantor)
        })
    }

    /// Milvus's `OperatePrivilegeV2` revoke.
    pub fn revoke_v2(
        &self,
        role: &str,
        privilege: &str,
        db: &str,
        collection: &str,
    ) -> Result<bool, SecurityError> {
        self.mutate(|state| {
            let target = state.grant_target_v2(role, privilege, db, collection)?;
            state.revoke(&target)
        })
    }

    /// The grants of a role that pass `filter`.
    pub fn grants_of_role(
        &self,
        role: &str,
        filter: &GrantFilter<'_>,
    ) -> Result<Vec<Grant>, SecurityError> {
        self.snapshot().grants_of_role(role, filter)
    }

    // Privilege groups.

    /// Creates an empty custom privilege group; the name may not be a built-in one (1402).
    pub fn create_privilege_group(&self, name: &str) -> Result<(), SecurityError> {
        self.mutate(|state| state.create_privilege_group(name))
    }

    /// Drops a custom group; refused while a grant uses it.
    pub fn drop_privilege_group(&self, name: &str) -> Result<(), SecurityError> {
        self.mutate(|state| state.drop_privilege_group(name))
    }

    /// The built-in groups with their privileges, then the custom ones.
    pub fn list_privilege_groups(&self) -> Vec<PrivilegeGroupInfo> {
        self.snapshot().list_privilege_groups()
    }

    /// Adds privileges (by name, either spelling; not `All`, not groups) to a custom group.
    pub fn add_privileges_to_group(
        &self,
        name: &str,
        privileges: &[&str],
    ) -> Result<(), SecurityError> {
        self.mutate(|state| state.add_privileges_to_group(name, privileges))
    }

    /// Removes privileges from a custom group; absent ones are ignored.
    pub fn remove_privileges_from_group(
        &self,
        name: &str,
        privileges: &[&str],
    ) -> Result<(), SecurityError> {
        self.mutate(|state| state.remove_privileges_from_group(name, privileges))
    }
}

impl fmt::Debug for SecurityStore {
    /// Counts only: no names, hashes or cache contents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.snapshot();
        f.debug_struct("SecurityStore")
            .field("users", &state.users.len())
            .field("roles", &state.roles.len())
            .field("privilege_groups", &state.groups.len())
            .field("api_keys", &state.api_keys.len())
            .field("throttled_keys", &self.throttle.tracked_keys())
            .field("credential_cache", &self.cache)
            .finish_non_exhaustive()
    }
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod api_key_tests;
#[cfg(test)]
mod tests;
