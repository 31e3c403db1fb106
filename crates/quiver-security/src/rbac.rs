//! Authorization: Milvus's role-based model, deny by default, as pure functions of a
//! [`SecurityState`].
//!
//! # Model
//!
//! Users hold roles; roles hold grants `(object type, object name or *, database or *,
//! privilege or privilege group)`. The built-in role `admin` may do everything and holds no
//! grants. The built-in role `public` is held implicitly by every user and, unlike Milvus (which
//! historically let everyone describe collections), holds **no** grants in a new store: a user
//! may do nothing until an administrator grants it. Administrators may grant to `public`.
//!
//! # One decision per request
//!
//! The API layer asks [`SecurityState::check`] with the request's privilege, the [`Object`] it
//! acts on and its database (`dbname`, `default` when empty). By the privilege's level:
//!
//! | privilege level                        | object                         |
//! |----------------------------------------|--------------------------------|
//! | collection (`Search`, `Insert`, …)     | `Object::Collection(name)`     |
//! | database (`ShowCollections`, `CreateCollection`, `DescribeDatabase`, …) | `Object::Database` |
//! | cluster (`CreateDatabase`, `ListDatabases`, …) | `Object::Cluster`      |
//! | `UpdateUser`, `SelectUser` on one user | `Object::User(target)`         |
//!
//! A grant matches a request when its database is `*` or the request's, and its object
//! covers the request's object:
//!
//! * a `Global` grant (object name always `*`) covers every object;
//! * a `Collection` grant on `*` covers `Object::Database` and every `Object::Collection`;
//!   on a name, only that `Object::Collection`;
//! * a `User` grant on `*` covers every `Object::User`; on a name, only that one.
//!
//! and its privilege is the request's, or `All`, or a group (built-in or custom) containing it.
//! The request is allowed iff the user holds `admin`, or a grant of one of their roles (with
//! `public`) matches, or it is `UpdateUser`/`SelectUser` on the user's own `Object::User` (a user
//! may always change their password and read their own roles).
//!
//! Milvus's `OperatePrivilegeV2(role, privilege, db, collection)` is stored as a grant of this
//! same shape (`SecurityState::grant_target_v2`): `*`/`*` is a Global grant; otherwise a
//! Collection grant on `collection` in `db`, so collection `*` in a named database is the
//! database level. Levels do not cascade: a cluster-level group granted globally still holds
//! only cluster privileges.

use crate::SecurityError;
use crate::groups::BuiltinGroup;
use crate::names::{ADMIN_ROLE, ANY, PUBLIC_ROLE, truncated};
use crate::privilege::{ObjectType, Privilege, PrivilegeLevel};
use crate::state::{RoleRecord, SecurityState};

/// What a request acts on; see the module documentation for which to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object<'a> {
    /// The whole server.
    Cluster,
    /// The request's database itself (its collections as a list, its properties).
    Database,
    /// One collection of the request's database.
    Collection(&'a str),
    /// One user.
    User(&'a str),
}

/// What a grant grants: one privilege, a built-in group or a custom group (by name).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrivilegeRef {
    Privilege(Privilege),
    Builtin(BuiltinGroup),
    Custom(String),
}

impl PrivilegeRef {
    /// The API name: `Search`, `CollectionReadOnly`, or the custom group's name.
    pub fn name(&self) -> &str {
        match self {
            PrivilegeRef::Privilege(p) => p.name(),
            PrivilegeRef::Builtin(g) => g.name(),
            PrivilegeRef::Custom(name) => name,
        }
    }
}

/// A grant as stored in a role: everything but the role and the grantor. Its order is the
/// listing order and the file order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct GrantKey {
    pub(crate) object_type: ObjectType,
    pub(crate) object_name: String,
    pub(crate) db_name: String,
    pub(crate) privilege: PrivilegeRef,
}

/// A grant as listed (Milvus's `GrantEntity`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub role: String,
    pub object_type: ObjectType,
    /// A name or `*`.
    pub object_name: String,
    /// A database name or `*`.
    pub db_name: String,
    pub privilege: PrivilegeRef,
    /// The user who granted it.
    pub grantor: String,
}

/// A grant to add or revoke (Milvus's `OperatePrivilege`): names as the client sent them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantTarget<'a> {
    pub role: &'a str,
    pub object_type: ObjectType,
    /// A name or `*`; Global grants take only `*`.
    pub object_name: &'a str,
    /// A database name or `*`.
    pub db_name: &'a str,
    /// A privilege (either spelling, or `*` for `All`), a built-in group or a custom group.
    pub privilege: &'a str,
}

/// Which grants of a role to list (Milvus's `SelectGrant`); `None` accepts anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantFilter<'a> {
    pub object_type: Option<ObjectType>,
    pub object_name: Option<&'a str>,
    pub db_name: Option<&'a str>,
}

impl GrantFilter<'_> {
    pub(crate) fn accepts(&self, key: &GrantKey) -> bool {
        self.object_type.is_none_or(|t| t == key.object_type)
            && self.object_name.is_none_or(|n| n == key.object_name)
            && self.db_name.is_none_or(|d| d == key.db_name)
    }
}

impl GrantKey {
    /// True if this grant's database and object cover the request's.
    fn matches(&self, object: &Object<'_>, db: &str) -> bool {
        if self.db_name != ANY && self.db_name != db {
            return false;
        }
        let any = self.object_name == ANY;
        match (self.object_type, object) {
            (ObjectType::Global, _) => true,
            (ObjectType::Collection, Object::Database) => any,
            (ObjectType::Collection, Object::Collection(name)) => any || self.object_name == *name,
            (ObjectType::Collection, Object::Cluster | Object::User(_)) => false,
            (ObjectType::User, Object::User(name)) => any || self.object_name == *name,
            (ObjectType::User, Object::Cluster | Object::Database | Object::Collection(_)) => false,
        }
    }
}

impl SecurityState {
    /// True if the user holds `admin`.
    pub fn is_admin(&self, user: &str) -> bool {
        self.users.get(user).is_some_and(|u| u.roles.contains(ADMIN_ROLE))
    }

    /// The authorization decision for one request; see the module documentation.
    /// Errors with [`SecurityError::PermissionDenied`] in Milvus's wording.
    pub fn check(
        &self,
        user: &str,
        privilege: Privilege,
        object: &Object<'_>,
        db: &str,
    ) -> Result<(), SecurityError> {
        if self.is_allowed(user, privilege, object, db) {
            Ok(())
        } else {
            Err(SecurityError::PermissionDenied {
                privilege,
                user: truncated(user),
                database: truncated(db),
            })
        }
    }

    /// [`SecurityState::check`] as a boolean.
    pub fn is_allowed(
        &self,
        user: &str,
        privilege: Privilege,
        object: &Object<'_>,
        db: &str,
    ) -> bool {
        let own_user_object = matches!(object, Object::User(target) if *target == user);
        if own_user_object && matches!(privilege, Privilege::UpdateUser | Privilege::SelectUser) {
            return true;
        }
        if self.is_admin(user) {
            return true;
        }
        self.roles_of(user).any(|role| {
            role.grants
                .keys()
                .any(|key| key.matches(object, db) && self.covers(&key.privilege, privilege))
        })
    }

    /// True if the user holds any collection-level privilege on `collection` in `db` (admins
    /// see everything): whether the collection appears in the user's listings.
    pub fn visible(&self, user: &str, db: &str, collection: &str) -> bool {
        if self.is_admin(user) {
            return true;
        }
        let object = Object::Collection(collection);
        self.roles_of(user).any(|role| {
            role.grants.keys().any(|key| {
                key.matches(&object, db)
                    && Privilege::VARIANTS.iter().any(|&p| {
                        p.level() == Some(PrivilegeLevel::Collection)
                            && self.covers(&key.privilege, p)
                    })
            })
        })
    }

    /// True if the user holds any grant in `db` (or in every database): whether the database
    /// appears in the user's listings. Admins see every database.
    pub fn visible_database(&self, user: &str, db: &str) -> bool {
        if self.is_admin(user) {
            return true;
        }
        self.roles_of(user)
            .any(|role| role.grants.keys().any(|key| key.db_name == ANY || key.db_name == db))
    }

    /// The roles whose grants apply to the user: their explicit roles and `public`. Nothing
    /// for a user that does not exist.
    fn roles_of<'s>(&'s self, user: &str) -> impl Iterator<Item = &'s RoleRecord> + 's {
        let explicit = self.users.get(user).into_iter().flat_map(|u| u.roles.iter());
        let public = self.users.get(user).map(|_| PUBLIC_ROLE);
        explicit.map(String::as_str).chain(public).filter_map(|name| self.roles.get(name))
    }

    /// True if granting `granted` grants `privilege`.
    fn covers(&self, granted: &PrivilegeRef, privilege: Privilege) -> bool {
        match granted {
            PrivilegeRef::Privilege(p) => *p == privilege || *p == Privilege::All,
            PrivilegeRef::Builtin(group) => group.contains(privilege),
            PrivilegeRef::Custom(name) => {
                self.groups.get(name).is_some_and(|group| group.contains(&privilege))
            }
        }
    }
}

#[cfg(test)]
mod tests;
