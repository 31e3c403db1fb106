//! Naming rules of users, roles, privilege groups and grant targets.
//!
//! They follow Milvus so that existing applications keep working: a user name starts with a
//! letter and has at most 32 characters; role and privilege-group names start with a letter or
//! `_` and have at most 255; all consist of ASCII letters, digits and `_`. Database and
//! collection names in grants use `quiver_core`'s rule. `*` (Milvus's "any word") is the
//! wildcard of grants. Because every stored name passes these rules, names are safe in log
//! lines and error messages, and can never contain the NUL byte the credential cache relies on.

use quiver_core::{Name, NameKind};

use crate::SecurityError;
use crate::privilege::ObjectType;

/// Milvus's "any word": in a grant, any object or any database.
pub const ANY: &str = "*";
/// Longest user name (Milvus's `proxy.maxUsernameLength`).
pub const MAX_USER_NAME_LEN: usize = 32;
/// Longest role or privilege group name.
pub const MAX_ROLE_NAME_LEN: usize = 255;
/// The user created by [`crate::SecurityStore::initialize`]; it always holds `admin`.
pub const ROOT_USER: &str = "root";
/// The built-in role that may do everything.
pub const ADMIN_ROLE: &str = "admin";
/// The built-in role every user holds implicitly.
pub const PUBLIC_ROLE: &str = "public";

/// Checks a user name; the error names the rule broken.
pub(crate) fn validate_user_name(name: &str) -> Result<(), SecurityError> {
    match user_name_rule(name) {
        None => Ok(()),
        Some(reason) => {
            Err(SecurityError::InvalidName { kind: "user", name: truncated(name), reason })
        }
    }
}

/// Checks a custom role name (`admin` and `public` pass: the caller decides what they mean).
pub(crate) fn validate_role_name(name: &str) -> Result<(), SecurityError> {
    match role_name_rule(name) {
        None => Ok(()),
        Some(reason) => {
            Err(SecurityError::InvalidName { kind: "role", name: truncated(name), reason })
        }
    }
}

/// The rule a user name breaks, if any.
pub(crate) fn user_name_rule(name: &str) -> Option<&'static str> {
    let Some(first) = name.chars().next() else {
        return Some("must not be empty");
    };
    if name.len() > MAX_USER_NAME_LEN {
        return Some("must be at most 32 characters");
    }
    if !first.is_ascii_alphabetic() {
        return Some("must start with a letter");
    }
    word_rule(name)
}

/// The rule a role or privilege group name breaks, if any.
pub(crate) fn role_name_rule(name: &str) -> Option<&'static str> {
    let first = name.chars().next();
    let Some(first) = first else {
        return Some("must not be empty");
    };
    if name.len() > MAX_ROLE_NAME_LEN {
        return Some("must be at most 255 characters");
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Some("must start with a letter or an underscore");
    }
    word_rule(name)
}

fn word_rule(name: &str) -> Option<&'static str> {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        None
    } else {
        Some("may contain only letters, digits and underscores")
    }
}

/// Checks the object name of a grant: `*` or a name valid for the object type. Global grants
/// must use `*` (Milvus grants Global privileges on `*`; a named Global object would be
/// ambiguous).
pub(crate) fn validate_object_name(
    object_type: ObjectType,
    name: &str,
) -> Result<(), SecurityError> {
    if name == ANY {
        return Ok(());
    }
    match object_type {
        ObjectType::Global => {
            Err(SecurityError::InvalidGrant { reason: "a Global grant must name the object `*`" })
        }
        ObjectType::Collection => Name::new(NameKind::Collection, name).map(drop).map_err(|_| {
            SecurityError::InvalidName {
                kind: "collection",
                name: truncated(name),
                reason: "must be `*` or a valid collection name",
            }
        }),
        ObjectType::User => validate_user_name(name),
    }
}

/// Checks the database name of a grant: `*` or a valid database name.
pub(crate) fn validate_db_name(name: &str) -> Result<(), SecurityError> {
    if name == ANY {
        return Ok(());
    }
    Name::new(NameKind::Database, name).map(drop).map_err(|_| SecurityError::InvalidName {
        kind: "database",
        name: truncated(name),
        reason: "must be `*` or a valid database name",
    })
}

pub(crate) use quiver_core::truncated;

#[cfg(test)]
mod tests;
