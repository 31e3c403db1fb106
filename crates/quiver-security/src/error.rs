//! The one error type of the security layer.
//!
//! Every variant is something the API layer maps to one Milvus status (code and gRPC status);
//! the mapping lives there. Messages never contain a password, a hash, a token (API keys
//! included) or a MAC, and echo at most a short prefix of a name that came from outside.
//! [`SecurityError::Unauthenticated`] is deliberately the same whether the user does not exist
//! or the password is wrong, and for every way an API key can fail.

use std::time::Duration;

use quiver_storage::StorageError;
use thiserror::Error;

use crate::privilege::Privilege;

/// Everything the security layer can refuse or fail with.
#[derive(Debug, Error)]
pub enum SecurityError {
    /// The credentials are not valid. Says nothing about whether the user exists, nor, for an
    /// API key, whether the key exists, was revoked, has expired or the token is malformed
    /// (Milvus code 1400 / gRPC UNAUTHENTICATED).
    #[error("authentication failed: wrong user name, password or API key")]
    Unauthenticated,

    /// Too many failed logins for this user name or client address; every attempt, even one
    /// with the right password, is refused until `retry_after` has passed.
    #[error("too many failed logins; retry in {} s", retry_after.as_secs().max(1))]
    Throttled { retry_after: Duration },

    /// The caller lacks the privilege (Milvus code 1401 / gRPC PERMISSION_DENIED). The message
    /// follows Milvus's wording, which clients and operators grep for.
    #[error("{}: permission deny to {user} in the `{database}` database", privilege.proto_name())]
    PermissionDenied { privilege: Privilege, user: String, database: String },

    #[error("user {name:?} not found")]
    UserNotFound { name: String },

    #[error("user {name:?} already exists")]
    UserExists { name: String },

    #[error("role {name:?} not found")]
    RoleNotFound { name: String },

    #[error("role {name:?} already exists")]
    RoleExists { name: String },

    /// `admin` and `public` are built in: they cannot be created or dropped, `admin` cannot be
    /// granted privileges (it has them all) and `public` membership cannot be revoked.
    #[error("role {name:?} is built in and cannot be changed this way")]
    BuiltinRole { name: String },

    /// Dropping a role that users still hold or that still has grants needs `force`.
    #[error("role {name:?} is still granted to users or holds privileges; drop it with force")]
    RoleInUse { name: String },

    /// `root` cannot be deleted or removed from `admin`: it is the way back in.
    #[error("the root user cannot be deleted or removed from the admin role")]
    RootProtected,

    /// The password fails the policy; `reason` says which rule (never the password).
    #[error("weak password: {reason}")]
    WeakPassword { reason: &'static str },

    /// A user, role, database, collection or object name breaks the naming rule.
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidName { kind: &'static str, name: String, reason: &'static str },

    /// Not the name of a privilege, a built-in privilege group or an existing custom group.
    #[error("invalid privilege {name:?}")]
    InvalidPrivilege { name: String },

    /// The grant is not representable: a Global grant on a named object, or a privilege whose
    /// level does not fit the database and collection it is granted on.
    #[error("invalid grant: {reason}")]
    InvalidGrant { reason: &'static str },

    /// Milvus code 1402: the privilege group name breaks the naming rule or collides with a
    /// built-in privilege or group.
    #[error("invalid privilege group name {name:?}: {reason}")]
    InvalidPrivilegeGroupName { name: String, reason: &'static str },

    #[error("privilege group {name:?} already exists")]
    PrivilegeGroupExists { name: String },

    #[error("privilege group {name:?} not found")]
    PrivilegeGroupNotFound { name: String },

    /// A custom group still referenced by a grant cannot be dropped.
    #[error("privilege group {name:?} is used by a grant; revoke it first")]
    PrivilegeGroupInUse { name: String },

    /// Built-in privilege groups are fixed.
    #[error("privilege group {name:?} is built in and cannot be changed")]
    BuiltinPrivilegeGroup { name: String },

    /// The user already has an API key with this name.
    #[error("user {user:?} already has an API key named {name:?}")]
    ApiKeyExists { user: String, name: String },

    /// The user has no API key with this name (revoked already, or never created).
    #[error("user {user:?} has no API key named {name:?}")]
    ApiKeyNotFound { user: String, name: String },

    /// An API key can only be given roles its user holds.
    #[error("user {user:?} does not hold role {role:?}, so an API key of theirs cannot")]
    ApiKeyRoleNotHeld { user: String, role: String },

    /// The API key's settings break a rule (the reason says which).
    #[error("invalid API key: {reason}")]
    InvalidApiKey { reason: &'static str },

    /// A count the store bounds (users, roles, grants, groups, API keys) would be exceeded.
    #[error("too many {what}: at most {max}")]
    LimitExceeded { what: &'static str, max: usize },

    /// [`crate::SecurityStore::initialize`] found an existing security file.
    #[error("the security store is already initialized")]
    AlreadyInitialized,

    /// The security file fails a check; it is never silently reinitialized.
    #[error("corrupt {path} at offset {offset}: {reason}")]
    Corrupt { path: String, offset: u64, reason: String },

    /// Reading or writing the security file failed.
    #[error(transparent)]
    Storage(StorageError),

    /// Something that should not fail did (the system random number generator, Argon2 with
    /// valid parameters).
    #[error("internal error: {reason}")]
    Internal { reason: &'static str },
}

impl From<StorageError> for SecurityError {
    /// Damage is [`SecurityError::Corrupt`] so that every corruption, whichever check found it,
    /// reaches the operator in one shape; everything else stays a storage error.
    fn from(err: StorageError) -> SecurityError {
        match err {
            StorageError::Corrupt { path, offset, reason } => {
                SecurityError::Corrupt { path, offset, reason }
            }
            other => SecurityError::Storage(other),
        }
    }
}
