//! [`Event`]: what a record says happened, as typed data rather than free text.
//!
//! Each variant is one kind of audited operation; each action and outcome is an enum, so the
//! log can be filtered by field and a record can only say what these types allow. Text enters
//! only through [`Text`], [`UserName`] and [`FilterText`], which bound it and strip
//! credentials; no field takes a password, a token or a key, and the test
//! `no_secret_fields` pins the field names of every kind.
//!
//! In JSON an event is an object whose `kind` field names the variant (`"auth"`, `"ddl"`…)
//! and whose other fields are the variant's, all always present (`null` when absent), in
//! snake case. A client address is `"ip:port"`.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::text::{FilterText, Text, UserName};

/// One audited event; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// An authentication attempt, successful or not.
    Auth {
        /// The user name claimed, or the owner of the API key; `None` when unknown (a
        /// malformed token, no credential).
        user: Option<UserName>,
        /// The id of the API key used (not secret), for [`AuthMethod::ApiKey`].
        key_id: Option<Text>,
        peer: Option<SocketAddr>,
        method: AuthMethod,
        outcome: AuthOutcome,
    },
    /// A change to databases, collections, partitions, indexes or aliases, allowed or not.
    Ddl {
        user: UserName,
        peer: Option<SocketAddr>,
        action: DdlAction,
        db: Text,
        collection: Option<Text>,
        /// The partition, index or alias acted on, when the action is about one.
        object: Option<Text>,
        outcome: Outcome,
    },
    /// A change to users, roles, grants, privilege groups or API keys, allowed or not.
    Dcl {
        user: UserName,
        peer: Option<SocketAddr>,
        action: DclAction,
        /// The user, role, privilege group or API key (by name or id) acted on.
        target: Text,
        /// What else identifies the change: the role granted, the privilege and object of a
        /// grant, the privileges added to a group.
        detail: Option<Text>,
        outcome: Outcome,
    },
    /// An insert, upsert or delete, allowed or not.
    Write {
        user: UserName,
        peer: Option<SocketAddr>,
        action: WriteAction,
        db: Text,
        collection: Text,
        partition: Option<Text>,
        /// Rows in the request (for a delete by filter, the rows it deleted when known).
        rows: u64,
        /// The filter of a delete by expression.
        filter: Option<FilterText>,
        outcome: Outcome,
    },
    /// A search or query (audited only when the server is configured to).
    Read {
        user: UserName,
        peer: Option<SocketAddr>,
        action: ReadAction,
        db: Text,
        collection: Text,
        /// Number of query vectors (0 for a query by expression).
        nq: u64,
        /// Top-k or query limit (0 when none).
        limit: u64,
        filter: Option<FilterText>,
        outcome: Outcome,
    },
    /// An operator action on the whole server.
    Admin {
        /// The operator, or the local account running a command.
        user: UserName,
        peer: Option<SocketAddr>,
        action: AdminAction,
        /// What the action was about: a backup location, what was purged, which key.
        detail: Text,
        outcome: Outcome,
    },
    /// A record the log writes about itself: created, opened, rotated, closed.
    Lifecycle { action: LifecycleAction, detail: Text },
}

/// The kinds of [`Event`], for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Auth,
    Ddl,
    Dcl,
    Write,
    Read,
    Admin,
    Lifecycle,
}

/// How a caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    Password,
    ApiKey,
    /// Mutual TLS: the client certificate names the user.
    ClientCertificate,
    /// No credential was presented.
    Missing,
}

/// The result of an authentication attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthOutcome {
    Ok,
    /// Unknown user, wrong password, unknown API key or wrong secret (the server does not
    /// tell these apart).
    BadCredentials,
    /// Refused by the failed-login throttle without checking the credential.
    Throttled,
    /// Refused by the login rate limit.
    RateLimited,
    KeyRevoked,
    KeyExpired,
    /// The credential could not be parsed.
    Malformed,
    /// A credential is required and none was given.
    MissingCredential,
}

/// The result of an audited operation other than authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// The caller lacks the privilege.
    Denied,
    /// The request was invalid (bad name, schema, value).
    Invalid,
    /// What it names does not exist.
    NotFound,
    /// Refused by a rate limit or quota.
    RateLimited,
    /// It failed inside the server (storage error and the like).
    Failed,
}

/// Data-definition operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DdlAction {
    CreateDatabase,
    DropDatabase,
    AlterDatabase,
    CreateCollection,
    DropCollection,
    AlterCollection,
    AlterCollectionField,
    RenameCollection,
    /// Restoring a dropped collection from the recycle bin.
    RestoreCollection,
    LoadCollection,
    ReleaseCollection,
    CreatePartition,
    DropPartition,
    LoadPartitions,
    ReleasePartitions,
    CreateIndex,
    DropIndex,
    AlterIndex,
    CreateAlias,
    DropAlias,
    AlterAlias,
    Flush,
    Compact,
}

/// Data-control operations (access control).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DclAction {
    CreateUser,
    DropUser,
    /// A password change; the record never holds the password.
    UpdatePassword,
    CreateRole,
    DropRole,
    /// Adding a user to a role.
    GrantRole,
    /// Removing a user from a role.
    RevokeRole,
    GrantPrivilege,
    RevokePrivilege,
    CreatePrivilegeGroup,
    DropPrivilegeGroup,
    AddPrivilegesToGroup,
    RemovePrivilegesFromGroup,
    CreateApiKey,
    RevokeApiKey,
}

/// Write operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteAction {
    Insert,
    Upsert,
    Delete,
}

/// Read operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadAction {
    Search,
    HybridSearch,
    Query,
}

/// Operator actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminAction {
    Backup,
    Restore,
    /// Purging the recycle bin.
    Purge,
    /// Rotating the encryption keys.
    KeyRotation,
    /// A delete past the mass-deletion guard, forced by a user holding `ForceDelete`; the
    /// detail gives the collection and the rows it removes of how many.
    MassDeletion,
}

/// What a [`Event::Lifecycle`] record marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleAction {
    /// The first record of a new log.
    Created,
    /// The log was opened again (after a clean close or a crash).
    Opened,
    /// At open, a torn last line (a crash artefact after the last durable record) was cut off;
    /// the detail gives its file, offset and length.
    TornTailDiscarded,
    /// The first record of a file after rotation; the detail names the previous file.
    Rotated,
    /// The log was closed cleanly.
    Closed,
}

impl Event {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Auth { .. } => EventKind::Auth,
            Event::Ddl { .. } => EventKind::Ddl,
            Event::Dcl { .. } => EventKind::Dcl,
            Event::Write { .. } => EventKind::Write,
            Event::Read { .. } => EventKind::Read,
            Event::Admin { .. } => EventKind::Admin,
            Event::Lifecycle { .. } => EventKind::Lifecycle,
        }
    }

    /// The user who acted, when the event has one.
    pub fn user(&self) -> Option<&str> {
        match self {
            Event::Auth { user, .. } => user.as_ref().map(UserName::as_str),
            Event::Ddl { user, .. }
            | Event::Dcl { user, .. }
            | Event::Write { user, .. }
            | Event::Read { user, .. }
            | Event::Admin { user, .. } => Some(user.as_str()),
            Event::Lifecycle { .. } => None,
        }
    }

    /// The database the event is about, when it has one.
    pub fn db(&self) -> Option<&str> {
        match self {
            Event::Ddl { db, .. } | Event::Write { db, .. } | Event::Read { db, .. } => {
                Some(db.as_str())
            }
            Event::Auth { .. } | Event::Dcl { .. } | Event::Admin { .. } => None,
            Event::Lifecycle { .. } => None,
        }
    }

    /// The collection the event is about, when it has one.
    pub fn collection(&self) -> Option<&str> {
        match self {
            Event::Ddl { collection, .. } => collection.as_ref().map(Text::as_str),
            Event::Write { collection, .. } | Event::Read { collection, .. } => {
                Some(collection.as_str())
            }
            Event::Auth { .. } | Event::Dcl { .. } | Event::Admin { .. } => None,
            Event::Lifecycle { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests;
