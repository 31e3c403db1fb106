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
//! # API keys
//!
//! A caller that authenticated with an API key is its user restricted to the key's roles: a
//! [`Principal`] with `roles: Some(..)`. Every decision about it
//! ([`SecurityState::check_principal`], [`SecurityState::visible_principal`],
//! [`SecurityState::visible_database_principal`], [`SecurityState::is_admin_principal`])
//! counts only the user's *current* explicit roles that the key also holds, plus `public`: a
//! key never holds more than its user, whatever happened to the user since the key was made. The by-name functions (`check`, `visible`, …) are the
//! same decisions for a caller with all of the user's roles.
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
use crate::store::Principal;

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

/// Whose grants a decision uses: a user and, for a caller that authenticated with an API key,
/// the roles the key is restricted to.
#[derive(Clone, Copy, Debug)]
struct Subject<'a> {
    user: &'a str,
    /// `None`: all the user's roles. `Some`: only these of them (and `public`).
    restriction: Option<&'a [String]>,
}

impl<'a> Subject<'a> {
    fn user(user: &'a str) -> Subject<'a> {
        Subject { user, restriction: None }
    }

    fn of(principal: &'a Principal) -> Subject<'a> {
        Subject { user: &principal.user, restriction: principal.roles.as_deref() }
    }

    /// True if the restriction lets the user's explicit role `role` count.
    fn permits(&self, role: &str) -> bool {
        self.restriction.is_none_or(|roles| roles.iter().any(|r| r == role))
    }
}

impl SecurityState {
    /// True if the user holds `admin`.
    pub fn is_admin(&self, user: &str) -> bool {
        self.subject_is_admin(Subject::user(user))
    }

    /// True if the principal may act as `admin`: its user holds `admin` and, for an API key,
    /// the key holds it too.
    pub fn is_admin_principal(&self, principal: &Principal) -> bool {
        self.subject_is_admin(Subject::of(principal))
    }

    fn subject_is_admin(&self, subject: Subject<'_>) -> bool {
        subject.permits(ADMIN_ROLE)
            && self.users.get(subject.user).is_some_and(|u| u.roles.contains(ADMIN_ROLE))
    }

    /// The explicit roles whose grants apply to the principal, sorted: the user's roles, and
    /// for an API key only those the key also holds (`public` is implicit and not listed).
    /// Empty if the user does not exist.
    pub fn effective_roles(&self, principal: &Principal) -> Vec<String> {
        let subject = Subject::of(principal);
        self.users
            .get(subject.user)
            .into_iter()
            .flat_map(|u| u.roles.iter())
            .filter(|role| subject.permits(role))
            .cloned()
            .collect()
    }

    /// The authorization decision for one request by a user's own credentials (all of the
    /// user's roles); see the module documentation. Errors with
    /// [`SecurityError::PermissionDenied`] in Milvus's wording.
    ///
    /// Requests should be decided with [`SecurityState::check_principal`], which also honours
    /// an API key's restriction; this is that decision for an unrestricted principal.
    pub fn check(
        &self,
        user: &str,
        privilege: Privilege,
        object: &Object<'_>,
        db: &str,
    ) -> Result<(), SecurityError> {
        self.check_subject(Subject::user(user), privilege, object, db)
    }

    /// The authorization decision for one request by `principal`: as
    /// [`SecurityState::check`] for its user, with only the roles its API key holds (if it
    /// authenticated with one) intersected with the roles the user holds now.
    pub fn check_principal(
        &self,
        principal: &Principal,
        privilege: Privilege,
        object: &Object<'_>,
        db: &str,
    ) -> Result<(), SecurityError> {
        self.check_subject(Subject::of(principal), privilege, object, db)
    }

    fn check_subject(
        &self,
        subject: Subject<'_>,
        privilege: Privilege,
        object: &Object<'_>,
        db: &str,
    ) -> Result<(), SecurityError> {
        if self.subject_is_allowed(subject, privilege, object, db) {
            Ok(())
        } else {
            Err(SecurityError::PermissionDenied {
                privilege,
                user: truncated(subject.user),
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
        self.subject_is_allowed(Subject::user(user), privilege, object, db)
    }

    /// [`SecurityState::check_principal`] as a boolean.
    pub fn is_allowed_principal(
        &self,
        principal: &Principal,
        privilege: Privilege,
        object: &Object<'_>,
        db: &str,
    ) -> bool {
        self.subject_is_allowed(Subject::of(principal), privilege, object, db)
    }

    /// The own-user exception holds for API keys too: it is about who the user is, not about
    /// roles, and changing the password through `UpdateUser` still needs the old password.
    fn subject_is_allowed(
        &self,
        subject: Subject<'_>,
        privilege: Privilege,
        object: &Object<'_>,
        db: &str,
    ) -> bool {
        let own_user_object = matches!(object, Object::User(target) if *target == subject.user);
        if own_user_object && matches!(privilege, Privilege::UpdateUser | Privilege::SelectUser) {
            return true;
        }
        if self.subject_is_admin(subject) {
            return true;
        }
        self.roles_of(subject).any(|role| {
            role.grants
                .keys()
                .any(|key| key.matches(object, db) && self.covers(&key.privilege, privilege))
        })
    }

    /// True if the user holds any collection-level privilege on `collection` in `db` (admins
    /// see everything): whether the collection appears in the user's listings.
    pub fn visible(&self, user: &str, db: &str, collection: &str) -> bool {
        self.subject_sees(Subject::user(user), db, collection)
    }

    /// [`SecurityState::visible`] for a principal, honouring an API key's restriction.
    pub fn visible_principal(&self, principal: &Principal, db: &str, collection: &str) -> bool {
        self.subject_sees(Subject::of(principal), db, collection)
    }

    fn subject_sees(&self, subject: Subject<'_>, db: &str, collection: &str) -> bool {
        if self.subject_is_admin(subject) {
            return true;
        }
        let object = Object::Collection(collection);
        self.roles_of(subject).any(|role| {
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
        self.subject_sees_database(Subject::user(user), db)
    }

    /// [`SecurityState::visible_database`] for a principal, honouring an API key's
    /// restriction.
    pub fn visible_database_principal(&self, principal: &Principal, db: &str) -> bool {
        self.subject_sees_database(Subject::of(principal), db)
    }

    fn subject_sees_database(&self, subject: Subject<'_>, db: &str) -> bool {
        if self.subject_is_admin(subject) {
            return true;
        }
        self.roles_of(subject)
            .any(|role| role.grants.keys().any(|key| key.db_name == ANY || key.db_name == db))
    }

    /// The roles whose grants apply to the subject: the user's explicit roles that the
    /// restriction permits, and `public`. Nothing for a user that does not exist.
    fn roles_of<'s>(&'s self, subject: Subject<'s>) -> impl Iterator<Item = &'s RoleRecord> + 's {
        let user = self.users.get(subject.user);
        let explicit = user
            .into_iter()
            .flat_map(|u| u.roles.iter())
            .filter(move |role| subject.permits(role))
            .map(String::as_str);
        let public = user.map(|_| PUBLIC_ROLE);
        explicit.chain(public).filter_map(|name| self.roles.get(name))
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
