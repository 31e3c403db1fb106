//! What the server writes to the tamper-evident audit log (`quiver-audit`), decided in this
//! one place for every RPC and every REST endpoint.
//!
//! Each request type says, through [`Audited`], which class of request it is
//! ([`AuditClass`]: a change, a read, or neither) and which [`Event`] it makes once its
//! handler decided. `MilvusApi::run_handler` (gRPC) and `rest::run` (REST, through
//! [`rest_event`], which reads the same facts from the REST body) call [`AuditTrail`] around
//! the handler, so no handler carries audit code:
//!
//! * before the handler: a change (DDL, DCL, write), or a read when reads are audited, is
//!   refused up front when the log has failed ([`AuditTrail::admit`]), so nothing is changed
//!   that cannot be recorded;
//! * after the handler, before the response is released: the event is appended, durably for
//!   changes ([`quiver_audit::AuditLog::append`]), buffered for reads (the server syncs them
//!   every second). If that fails, the client gets [`AUDIT_UNAVAILABLE`] instead of the
//!   handler's answer (fail closed).
//!
//! Authentication is recorded by the authentication layer (`auth.rs`) through
//! [`AuditTrail::record_auth`] (a verified credential, durably: the request waits for it) and
//! [`AuditTrail::record_auth_refusal`] (buffered: a refusal costs the server no fsync, so
//! unauthenticated probes cannot make it sync at their pace; the server syncs every second).
//! A request refused by the rate limiter before its handler ran
//! is not recorded: recording it would cost the fsync the limiter exists to spare.
//!
//! No event carries a credential: passwords are never read here, API keys appear by id only,
//! and the event types themselves (`quiver_audit::Event`) have no field that could hold one.

use std::net::SocketAddr;
use std::sync::Arc;

use quiver_audit::{
    AdminAction, AuditError, AuditLog, DclAction, DdlAction, Event, FilterText, Outcome,
    ReadAction, Text, UserName, WriteAction,
};
use serde_json::Value as Json;

use crate::proto::admin;
use crate::proto::milvus as pb;
use crate::service::{Ctx, DEFAULT_DB};
use crate::status::{Failure, code};

/// Milvus's code for an unexpected error (`merr` 65535, legacy `UnexpectedError`): what a
/// request gets when its audit record cannot be written.
pub(crate) const AUDIT_UNAVAILABLE_CODE: i32 = 65535;
/// The message of that refusal.
pub(crate) const AUDIT_UNAVAILABLE: &str = "audit log unavailable";

/// Whether searches and queries are audited too (`[audit] reads`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadAuditing {
    /// Only authentication, DDL, DCL and writes are recorded (the default).
    Off,
    /// Searches and queries are recorded too, buffered (see [`AuditTrail::sync`]).
    On,
}

/// The audit log of a server and what it records. Every [`crate::MilvusApi`] has one: the
/// server always audits.
#[derive(Clone)]
pub struct AuditTrail {
    log: Arc<AuditLog>,
    reads: ReadAuditing,
    /// The directory of a log opened for a unit test; removed when the last clone goes.
    #[cfg(test)]
    _dir: Option<Arc<tempfile::TempDir>>,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTrail").field("log", &self.log).field("reads", &self.reads).finish()
    }
}

/// Which requests are audited, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuditClass {
    /// Describe, list, state and session requests: not recorded.
    NotAudited,
    /// Searches and queries: recorded (buffered) when reads are audited.
    Read,
    /// DDL, DCL and writes: always recorded, durably; refused when the log has failed.
    Change,
}

/// A request type's audit record: see the module documentation.
pub(crate) trait Audited {
    /// The class of the request.
    const CLASS: AuditClass;

    /// The event this request makes, as if it succeeded with the rows it carries; `None`
    /// when the request is not audited. Taken before the handler consumes the request (so no
    /// copy of its rows is needed); [`conclude`] then writes how it ended.
    fn audit_event(&self, ctx: &Ctx) -> Option<Event>;
}

/// Writes into `event` how its request ended: the outcome and, for a write that succeeded,
/// the rows the handler reports (inserted, upserted, deleted).
pub(crate) fn conclude(event: &mut Event, ended: Outcome, mutation: Option<&pb::MutationResult>) {
    match event {
        Event::Write { action, rows, outcome, .. } => {
            *outcome = ended;
            if let Some(result) = mutation {
                let done = match action {
                    WriteAction::Insert => result.insert_cnt,
                    WriteAction::Upsert => result.upsert_cnt,
                    WriteAction::Delete => result.delete_cnt,
                };
                *rows = u64::try_from(done).unwrap_or(*rows);
            }
        }
        Event::Ddl { outcome, .. }
        | Event::Dcl { outcome, .. }
        | Event::Read { outcome, .. }
        | Event::Admin { outcome, .. } => *outcome = ended,
        Event::Auth { .. } | Event::Lifecycle { .. } => {}
    }
}

impl AuditTrail {
    /// The trail writing to `log`.
    pub fn new(log: Arc<AuditLog>, reads: ReadAuditing) -> AuditTrail {
        AuditTrail {
            log,
            reads,
            #[cfg(test)]
            _dir: None,
        }
    }

    /// A trail over a new log in a temporary directory, for unit tests that build a service
    /// without a data directory (the records are real, nobody reads them).
    #[cfg(test)]
    pub(crate) fn in_tempdir() -> AuditTrail {
        let dir = tempfile::tempdir().unwrap();
        let key = quiver_audit::AuditKey::generate().unwrap();
        let log = AuditLog::open(dir.path(), key, quiver_audit::AuditOptions::default()).unwrap();
        AuditTrail { log: Arc::new(log), reads: ReadAuditing::Off, _dir: Some(Arc::new(dir)) }
    }

    /// The log.
    pub fn log(&self) -> &Arc<AuditLog> {
        &self.log
    }

    /// The log, for closing it once the server stopped (when this is its last handle).
    pub fn into_log(self) -> Arc<AuditLog> {
        self.log
    }

    /// Whether requests of `class` are recorded.
    pub(crate) fn records(&self, class: AuditClass) -> bool {
        match class {
            AuditClass::NotAudited => false,
            AuditClass::Read => self.reads == ReadAuditing::On,
            AuditClass::Change => true,
        }
    }

    /// Before the handler: refuses a request this trail must record while the log has failed
    /// (fail closed), so that nothing happens that cannot be recorded.
    pub(crate) fn admit(&self, class: AuditClass) -> Result<(), Failure> {
        if self.records(class) && self.log.is_failed() {
            return Err(unavailable());
        }
        Ok(())
    }

    /// After the handler, before the response: appends `event` (durably for a change,
    /// buffered for a read). A failure to record is the request's answer.
    pub(crate) fn record(&self, class: AuditClass, event: Option<Event>) -> Result<(), Failure> {
        let Some(event) = event.filter(|_| self.records(class)) else {
            return Ok(());
        };
        let appended = match class {
            AuditClass::Read => self.log.append_buffered(&event),
            AuditClass::Change | AuditClass::NotAudited => self.log.append(&event),
        };
        appended.map(drop).map_err(|err| {
            tracing::error!(error = %err, "cannot write the audit log; refusing audited requests");
            unavailable()
        })
    }

    /// Records an accepted authentication, durably.
    pub(crate) fn record_auth(&self, event: &Event) -> Result<(), AuditError> {
        self.log.append(event).map(drop).inspect_err(|err| {
            tracing::error!(error = %err, "cannot write an authentication audit record");
        })
    }

    /// Records a refused authentication, buffered (durable with the next append or sync).
    pub(crate) fn record_auth_refusal(&self, event: &Event) {
        if let Err(err) = self.log.append_buffered(event) {
            tracing::error!(error = %err, "cannot write an authentication audit record");
        }
    }

    /// Makes buffered records (reads, refused authentications) durable; the server calls
    /// this every second.
    pub fn sync(&self) -> Result<(), AuditError> {
        self.log.sync().map(drop)
    }
}

/// The refusal of a request whose record cannot be written.
pub(crate) fn unavailable() -> Failure {
    Failure::new(AUDIT_UNAVAILABLE_CODE, AUDIT_UNAVAILABLE)
}

/// The audit outcome of a handler's result.
pub(crate) fn outcome_of<T>(result: &Result<T, Failure>) -> Outcome {
    match result {
        Ok(_) => Outcome::Ok,
        Err(Failure::Grpc(status)) => match status.code() {
            tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => Outcome::Denied,
            tonic::Code::InvalidArgument
            | tonic::Code::OutOfRange
            | tonic::Code::FailedPrecondition
            | tonic::Code::AlreadyExists => Outcome::Invalid,
            tonic::Code::NotFound => Outcome::NotFound,
            tonic::Code::ResourceExhausted => Outcome::RateLimited,
            _ => Outcome::Failed,
        },
        Err(Failure::Milvus { code, .. }) => match *code {
            code::COLLECTION_NOT_FOUND
            | code::PARTITION_NOT_FOUND
            | code::INDEX_NOT_FOUND
            | code::DATABASE_NOT_FOUND
            | code::ALIAS_NOT_FOUND => Outcome::NotFound,
            code::RATE_LIMITED | code::QUOTA_EXCEEDED => Outcome::RateLimited,
            code::INTERNAL | AUDIT_UNAVAILABLE_CODE => Outcome::Failed,
            // REST's 1401, and Milvus's privilege errors carried as a status.
            1401 | 1402 => Outcome::Denied,
            _ => Outcome::Invalid,
        },
    }
}

// ------------------------------------------------------------------------------------------
// The events, built the same way from gRPC requests and REST bodies.
// ------------------------------------------------------------------------------------------

fn peer(ctx: &Ctx) -> Option<SocketAddr> {
    ctx.peer_addr
}

fn some_text(value: &str) -> Option<Text> {
    (!value.is_empty()).then(|| Text::new(value))
}

/// The database a request acts in: `db_name` when the request names one, else the context's.
fn db_text(ctx: &Ctx, db_name: &str) -> Text {
    Text::new(if db_name.is_empty() { &ctx.db } else { db_name })
}

/// An operator action (recycle bin, forced mass deletion) by the request's user; `detail` is
/// bounded by [`Text`].
pub(crate) fn admin(ctx: &Ctx, action: AdminAction, detail: &str) -> Event {
    Event::Admin {
        user: UserName::new(&ctx.user),
        peer: peer(ctx),
        action,
        detail: Text::new(detail),
        outcome: Outcome::Ok,
    }
}

fn ddl(
    ctx: &Ctx,
    action: DdlAction,
    collection: &str,
    object: &str,
    outcome: Outcome,
) -> Option<Event> {
    Some(Event::Ddl {
        user: UserName::new(&ctx.user),
        peer: peer(ctx),
        action,
        db: db_text(ctx, ""),
        collection: some_text(collection),
        object: some_text(object),
        outcome,
    })
}

fn dcl(
    ctx: &Ctx,
    action: DclAction,
    target: &str,
    detail: &str,
    outcome: Outcome,
) -> Option<Event> {
    Some(Event::Dcl {
        user: UserName::new(&ctx.user),
        peer: peer(ctx),
        action,
        target: Text::new(target),
        detail: some_text(detail),
        outcome,
    })
}

struct WriteFacts<'a> {
    action: WriteAction,
    collection: &'a str,
    partition: &'a str,
    rows: u64,
    filter: &'a str,
}

fn write(ctx: &Ctx, facts: &WriteFacts<'_>, outcome: Outcome) -> Option<Event> {
    Some(Event::Write {
        user: UserName::new(&ctx.user),
        peer: peer(ctx),
        action: facts.action,
        db: db_text(ctx, ""),
        collection: Text::new(facts.collection),
        partition: some_text(facts.partition),
        rows: facts.rows,
        filter: (!facts.filter.is_empty()).then(|| FilterText::new(facts.filter)),
        outcome,
    })
}

fn read(
    ctx: &Ctx,
    action: ReadAction,
    collection: &str,
    (nq, limit): (u64, u64),
    filter: &str,
    outcome: Outcome,
) -> Option<Event> {
    Some(Event::Read {
        user: UserName::new(&ctx.user),
        peer: peer(ctx),
        action,
        db: db_text(ctx, ""),
        collection: Text::new(collection),
        nq,
        limit,
        filter: (!filter.is_empty()).then(|| FilterText::new(filter)),
        outcome,
    })
}

// ------------------------------------------------------------------------------------------
// gRPC requests.
// ------------------------------------------------------------------------------------------

/// Request types that are never recorded.
macro_rules! not_audited {
    ($($ty:ty),* $(,)?) => {
        $(impl Audited for $ty {
            const CLASS: AuditClass = AuditClass::NotAudited;
            fn audit_event(&self, _: &Ctx) -> Option<Event> {
                None
            }
        })*
    };
}

not_audited!(
    pb::ConnectRequest,
    pb::GetVersionRequest,
    pb::CheckHealthRequest,
    pb::AllocTimestampRequest,
    pb::GetComponentStatesRequest,
    pb::GetMetricsRequest,
    pb::HasCollectionRequest,
    pb::DescribeCollectionRequest,
    pb::ShowCollectionsRequest,
    pb::GetCollectionStatisticsRequest,
    pb::GetLoadStateRequest,
    pb::GetLoadingProgressRequest,
    pb::DescribeAliasRequest,
    pb::ListAliasesRequest,
    pb::ListDatabasesRequest,
    pb::DescribeDatabaseRequest,
    pb::HasPartitionRequest,
    pb::ShowPartitionsRequest,
    pb::GetPartitionStatisticsRequest,
    pb::DescribeIndexRequest,
    pb::GetIndexStateRequest,
    pb::GetIndexBuildProgressRequest,
    pb::GetFlushStateRequest,
    pb::GetCompactionStateRequest,
    pb::ListCredUsersRequest,
    pb::SelectRoleRequest,
    pb::SelectUserRequest,
    pb::SelectGrantRequest,
    pb::ListPrivilegeGroupsRequest,
    admin::ListTrashRequest,
    admin::ListTrashedPartitionsRequest,
);

/// DDL requests: `type => action, |request| (collection, object)`.
macro_rules! ddl_requests {
    ($($ty:ty => $action:ident, |$r:ident| $facts:expr;)*) => {
        $(impl Audited for $ty {
            const CLASS: AuditClass = AuditClass::Change;
            fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
                let $r = self;
                let (collection, object): (&str, String) = $facts;
                ddl(ctx, DdlAction::$action, collection, &object, Outcome::Ok)
            }
        })*
    };
}

ddl_requests! {
    pb::CreateCollectionRequest => CreateCollection, |r| (&r.collection_name, String::new());
    pb::DropCollectionRequest => DropCollection, |r| (&r.collection_name, String::new());
    pb::RenameCollectionRequest => RenameCollection, |r| (&r.old_name, renamed(&r.new_db_name, &r.new_name));
    pb::AlterCollectionRequest => AlterCollection, |r| (&r.collection_name, String::new());
    pb::AlterCollectionFieldRequest => AlterCollectionField, |r| (&r.collection_name, r.field_name.clone());
    pb::LoadCollectionRequest => LoadCollection, |r| (&r.collection_name, String::new());
    pb::ReleaseCollectionRequest => ReleaseCollection, |r| (&r.collection_name, String::new());
    pb::CreateAliasRequest => CreateAlias, |r| (&r.collection_name, r.alias.clone());
    pb::DropAliasRequest => DropAlias, |r| ("", r.alias.clone());
    pb::AlterAliasRequest => AlterAlias, |r| (&r.collection_name, r.alias.clone());
    pb::CreateDatabaseRequest => CreateDatabase, |r| ("", r.db_name.clone());
    pb::DropDatabaseRequest => DropDatabase, |r| ("", r.db_name.clone());
    pb::AlterDatabaseRequest => AlterDatabase, |r| ("", r.db_name.clone());
    pb::CreatePartitionRequest => CreatePartition, |r| (&r.collection_name, r.partition_name.clone());
    pb::DropPartitionRequest => DropPartition, |r| (&r.collection_name, r.partition_name.clone());
    pb::LoadPartitionsRequest => LoadPartitions, |r| (&r.collection_name, r.partition_names.join(","));
    pb::ReleasePartitionsRequest => ReleasePartitions, |r| (&r.collection_name, r.partition_names.join(","));
    pb::CreateIndexRequest => CreateIndex, |r| (&r.collection_name, index_object(&r.index_name, &r.field_name));
    pb::AlterIndexRequest => AlterIndex, |r| (&r.collection_name, r.index_name.clone());
    pb::DropIndexRequest => DropIndex, |r| (&r.collection_name, index_object(&r.index_name, &r.field_name));
    pb::FlushRequest => Flush, |r| ("", r.collection_names.join(","));
    pb::ManualCompactionRequest => Compact, |r| (&r.collection_name, String::new());
}

/// The object of a rename: the new name, with its database when it moves.
fn renamed(new_db: &str, new_name: &str) -> String {
    if new_db.is_empty() { new_name.to_owned() } else { format!("{new_db}.{new_name}") }
}

/// An index by its name, else by its field.
fn index_object(index_name: &str, field_name: &str) -> String {
    if index_name.is_empty() { field_name.to_owned() } else { index_name.to_owned() }
}

impl Audited for pb::InsertRequest {
    const CLASS: AuditClass = AuditClass::Change;
    fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
        let rows = u64::from(self.num_rows);
        let facts = WriteFacts {
            action: WriteAction::Insert,
            collection: &self.collection_name,
            partition: &self.partition_name,
            rows,
            filter: "",
        };
        write(ctx, &facts, Outcome::Ok)
    }
}

impl Audited for pb::UpsertRequest {
    const CLASS: AuditClass = AuditClass::Change;
    fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
        let rows = u64::from(self.num_rows);
        let facts = WriteFacts {
            action: WriteAction::Upsert,
            collection: &self.collection_name,
            partition: &self.partition_name,
            rows,
            filter: "",
        };
        write(ctx, &facts, Outcome::Ok)
    }
}

impl Audited for pb::DeleteRequest {
    const CLASS: AuditClass = AuditClass::Change;
    fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
        let rows = 0;
        let facts = WriteFacts {
            action: WriteAction::Delete,
            collection: &self.collection_name,
            partition: &self.partition_name,
            rows,
            filter: &self.expr,
        };
        write(ctx, &facts, Outcome::Ok)
    }
}

impl Audited for pb::SearchRequest {
    const CLASS: AuditClass = AuditClass::Read;
    fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
        let nq = u64::try_from(self.nq).unwrap_or(0);
        let limit = param_u64(&self.search_params, "topk")
            .or_else(|| param_u64(&self.search_params, "limit"));
        let shape = (nq, limit.unwrap_or(0));
        read(ctx, ReadAction::Search, &self.collection_name, shape, &self.dsl, Outcome::Ok)
    }
}

impl Audited for pb::HybridSearchRequest {
    const CLASS: AuditClass = AuditClass::Read;
    fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
        let nq = self.requests.iter().map(|r| u64::try_from(r.nq).unwrap_or(0)).max().unwrap_or(0);
        let limit = param_u64(&self.rank_params, "limit").unwrap_or(0);
        read(ctx, ReadAction::HybridSearch, &self.collection_name, (nq, limit), "", Outcome::Ok)
    }
}

impl Audited for pb::QueryRequest {
    const CLASS: AuditClass = AuditClass::Read;
    fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
        let limit = param_u64(&self.query_params, "limit").unwrap_or(0);
        read(ctx, ReadAction::Query, &self.collection_name, (0, limit), &self.expr, Outcome::Ok)
    }
}

fn param_u64(params: &[crate::proto::common::KeyValuePair], key: &str) -> Option<u64> {
    crate::service::param(params, key).and_then(|v| v.trim().parse().ok())
}

/// DCL requests: `type => |request| (action, target, detail)`.
macro_rules! dcl_requests {
    ($($ty:ty => |$r:ident| $facts:expr;)*) => {
        $(impl Audited for $ty {
            const CLASS: AuditClass = AuditClass::Change;
            fn audit_event(&self, ctx: &Ctx) -> Option<Event> {
                let $r = self;
                let (action, target, detail): (DclAction, &str, String) = $facts;
                dcl(ctx, action, target, &detail, Outcome::Ok)
            }
        })*
    };
}

dcl_requests! {
    // The password fields of these requests are never read here.
    pb::CreateCredentialRequest => |r| (DclAction::CreateUser, &r.username, String::new());
    pb::UpdateCredentialRequest => |r| (DclAction::UpdatePassword, &r.username, String::new());
    pb::DeleteCredentialRequest => |r| (DclAction::DropUser, &r.username, String::new());
    pb::CreateRoleRequest => |r| (DclAction::CreateRole, r.entity.as_ref().map_or("", |e| &e.name), String::new());
    pb::DropRoleRequest => |r| (DclAction::DropRole, &r.role_name, String::new());
    pb::OperateUserRoleRequest => |r| (user_role_action(r.r#type), &r.username, format!("role {}", r.role_name));
    pb::OperatePrivilegeRequest => |r| (privilege_action(r.r#type), grant_role(r), grant_detail(r));
    pb::OperatePrivilegeV2Request => |r| (privilege_action(r.r#type), r.role.as_ref().map_or("", |e| &e.name), grant_v2_detail(r));
    pb::CreatePrivilegeGroupRequest => |r| (DclAction::CreatePrivilegeGroup, &r.group_name, String::new());
    pb::DropPrivilegeGroupRequest => |r| (DclAction::DropPrivilegeGroup, &r.group_name, String::new());
    pb::OperatePrivilegeGroupRequest => |r| (group_action(r.r#type), &r.group_name, r.privileges.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(","));
}

fn user_role_action(kind: i32) -> DclAction {
    if kind == pb::OperateUserRoleType::RemoveUserFromRole as i32 {
        DclAction::RevokeRole
    } else {
        DclAction::GrantRole
    }
}

fn privilege_action(kind: i32) -> DclAction {
    if kind == pb::OperatePrivilegeType::Revoke as i32 {
        DclAction::RevokePrivilege
    } else {
        DclAction::GrantPrivilege
    }
}

fn group_action(kind: i32) -> DclAction {
    if kind == pb::OperatePrivilegeGroupType::RemovePrivilegesFromGroup as i32 {
        DclAction::RemovePrivilegesFromGroup
    } else {
        DclAction::AddPrivilegesToGroup
    }
}

fn grant_role(r: &pb::OperatePrivilegeRequest) -> &str {
    r.entity.as_ref().and_then(|e| e.role.as_ref()).map_or("", |role| &role.name)
}

/// `privilege P on OBJECT NAME in DB`.
fn grant_detail(r: &pb::OperatePrivilegeRequest) -> String {
    let Some(entity) = &r.entity else { return String::new() };
    let privilege =
        entity.grantor.as_ref().and_then(|g| g.privilege.as_ref()).map_or("", |p| p.name.as_str());
    let object = entity.object.as_ref().map_or("", |o| o.name.as_str());
    let db = if entity.db_name.is_empty() { DEFAULT_DB } else { &entity.db_name };
    format!("privilege {privilege} on {object} {} in {db}", entity.object_name)
}

fn grant_v2_detail(r: &pb::OperatePrivilegeV2Request) -> String {
    let privilege =
        r.grantor.as_ref().and_then(|g| g.privilege.as_ref()).map_or("", |p| p.name.as_str());
    format!("privilege {privilege} on {}.{}", r.db_name, r.collection_name)
}

// ------------------------------------------------------------------------------------------
// REST endpoints.
// ------------------------------------------------------------------------------------------

/// The audit class of a REST endpoint, by the gRPC method it translates into (`rpc`) or, for
/// an endpoint of its own, its path (`api_keys/...`).
pub(crate) fn rest_class(rpc: Option<&str>, path: &str) -> AuditClass {
    match (rpc, path) {
        (_, "api_keys/create" | "api_keys/revoke") => AuditClass::Change,
        (Some("search" | "hybrid_search" | "query"), _) => AuditClass::Read,
        (Some(rpc), _) if rest_is_change(rpc) => AuditClass::Change,
        _ => AuditClass::NotAudited,
    }
}

fn rest_is_change(rpc: &str) -> bool {
    crate::service::rpc_class(rpc).is_some_and(|class| {
        matches!(class, crate::ratelimit::RequestClass::Ddl | crate::ratelimit::RequestClass::Write)
    })
}

/// The event a REST request makes: the same as its gRPC counterpart's, read from its JSON
/// body (`body`; field names as Milvus's REST API spells them) and, for counts and key ids,
/// from its answer's `data` (`reply`). Never reads a password or a token.
pub(crate) fn rest_event(
    rpc: Option<&str>,
    path: &str,
    body: &Json,
    ctx: &Ctx,
    outcome: Outcome,
    reply: Option<&Json>,
) -> Option<Event> {
    let s = |key: &str| body.get(key).and_then(Json::as_str).unwrap_or("");
    let list = |key: &str| {
        body.get(key)
            .and_then(Json::as_array)
            .map(|items| items.iter().filter_map(Json::as_str).collect::<Vec<_>>().join(","))
            .unwrap_or_default()
    };
    let count = |key: &str| reply.and_then(|r| r.get(key)).and_then(Json::as_u64);
    let collection = s("collectionName");
    match path {
        "api_keys/create" | "api_keys/revoke" => {
            let action = if path == "api_keys/create" {
                DclAction::CreateApiKey
            } else {
                DclAction::RevokeApiKey
            };
            let owner = if s("userName").is_empty() { ctx.user.as_str() } else { s("userName") };
            let key_id = reply.and_then(|r| r.get("keyId")).and_then(Json::as_str);
            let detail = match key_id {
                Some(id) => format!("key {} (id {id})", s("keyName")),
                None => format!("key {}", s("keyName")),
            };
            return dcl(ctx, action, owner, &detail, outcome);
        }
        "collections/drop_properties" => {
            return ddl(ctx, DdlAction::AlterCollection, collection, "", outcome);
        }
        _ => {}
    }
    let rpc = rpc?;
    let privilege = s("privilege");
    match rpc {
        "create_collection" => ddl(ctx, DdlAction::CreateCollection, collection, "", outcome),
        "drop_collection" => ddl(ctx, DdlAction::DropCollection, collection, "", outcome),
        "rename_collection" => {
            let object = renamed(s("newDbName"), s("newCollectionName"));
            ddl(ctx, DdlAction::RenameCollection, collection, &object, outcome)
        }
        "alter_collection" => ddl(ctx, DdlAction::AlterCollection, collection, "", outcome),
        "load_collection" => ddl(ctx, DdlAction::LoadCollection, collection, "", outcome),
        "release_collection" => ddl(ctx, DdlAction::ReleaseCollection, collection, "", outcome),
        "flush" => ddl(ctx, DdlAction::Flush, "", collection, outcome),
        "manual_compaction" => ddl(ctx, DdlAction::Compact, collection, "", outcome),
        "create_alias" => ddl(ctx, DdlAction::CreateAlias, collection, s("aliasName"), outcome),
        "drop_alias" => ddl(ctx, DdlAction::DropAlias, "", s("aliasName"), outcome),
        "alter_alias" => ddl(ctx, DdlAction::AlterAlias, collection, s("aliasName"), outcome),
        "create_database" => ddl(ctx, DdlAction::CreateDatabase, "", s("dbName"), outcome),
        "drop_database" => ddl(ctx, DdlAction::DropDatabase, "", s("dbName"), outcome),
        "alter_database" => ddl(ctx, DdlAction::AlterDatabase, "", s("dbName"), outcome),
        "create_partition" => {
            ddl(ctx, DdlAction::CreatePartition, collection, s("partitionName"), outcome)
        }
        "drop_partition" => {
            ddl(ctx, DdlAction::DropPartition, collection, s("partitionName"), outcome)
        }
        "load_partitions" => {
            ddl(ctx, DdlAction::LoadPartitions, collection, &list("partitionNames"), outcome)
        }
        "release_partitions" => {
            ddl(ctx, DdlAction::ReleasePartitions, collection, &list("partitionNames"), outcome)
        }
        "create_index" => {
            let names = body
                .get("indexParams")
                .and_then(Json::as_array)
                .map(|params| {
                    params
                        .iter()
                        .map(|p| {
                            let get = |k: &str| p.get(k).and_then(Json::as_str).unwrap_or("");
                            index_object(get("indexName"), get("fieldName"))
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            ddl(ctx, DdlAction::CreateIndex, collection, &names, outcome)
        }
        "drop_index" => ddl(ctx, DdlAction::DropIndex, collection, s("indexName"), outcome),
        "insert" | "upsert" => {
            let action = if rpc == "insert" { WriteAction::Insert } else { WriteAction::Upsert };
            let sent =
                body.get("data").and_then(Json::as_array).map_or(0, |rows| rows.len() as u64);
            let done = count(if rpc == "insert" { "insertCount" } else { "upsertCount" });
            let facts = WriteFacts {
                action,
                collection,
                partition: s("partitionName"),
                rows: done.unwrap_or(sent),
                filter: "",
            };
            write(ctx, &facts, outcome)
        }
        "delete" => {
            let facts = WriteFacts {
                action: WriteAction::Delete,
                collection,
                partition: s("partitionName"),
                rows: count("deleteCount").unwrap_or(0),
                filter: s("filter"),
            };
            write(ctx, &facts, outcome)
        }
        "search" | "hybrid_search" | "query" => {
            let action = match rpc {
                "search" => ReadAction::Search,
                "hybrid_search" => ReadAction::HybridSearch,
                _ => ReadAction::Query,
            };
            let nq = body.get("data").and_then(Json::as_array).map_or(0, |v| v.len() as u64);
            let limit = body.get("limit").and_then(Json::as_u64).unwrap_or(0);
            read(ctx, action, collection, (nq, limit), s("filter"), outcome)
        }
        "create_credential" => dcl(ctx, DclAction::CreateUser, s("userName"), "", outcome),
        "delete_credential" => dcl(ctx, DclAction::DropUser, s("userName"), "", outcome),
        "update_credential" => dcl(ctx, DclAction::UpdatePassword, s("userName"), "", outcome),
        "operate_user_role" => {
            let action =
                if path.contains("revoke") { DclAction::RevokeRole } else { DclAction::GrantRole };
            dcl(ctx, action, s("userName"), &format!("role {}", s("roleName")), outcome)
        }
        "create_role" => dcl(ctx, DclAction::CreateRole, s("roleName"), "", outcome),
        "drop_role" => dcl(ctx, DclAction::DropRole, s("roleName"), "", outcome),
        "operate_privilege" => {
            let action = rest_grant_action(path);
            let detail =
                format!("privilege {privilege} on {} {}", s("objectType"), s("objectName"));
            dcl(ctx, action, s("roleName"), &detail, outcome)
        }
        "operate_privilege_v2" => {
            let action = rest_grant_action(path);
            let detail = format!("privilege {privilege} on {}.{}", s("dbName"), collection);
            dcl(ctx, action, s("roleName"), &detail, outcome)
        }
        "create_privilege_group" => {
            dcl(ctx, DclAction::CreatePrivilegeGroup, s("privilegeGroupName"), "", outcome)
        }
        "drop_privilege_group" => {
            dcl(ctx, DclAction::DropPrivilegeGroup, s("privilegeGroupName"), "", outcome)
        }
        "operate_privilege_group" => {
            let action = if path.contains("remove") {
                DclAction::RemovePrivilegesFromGroup
            } else {
                DclAction::AddPrivilegesToGroup
            };
            dcl(ctx, action, s("privilegeGroupName"), &list("privileges"), outcome)
        }
        _ => None,
    }
}

fn rest_grant_action(path: &str) -> DclAction {
    if path.contains("revoke") { DclAction::RevokePrivilege } else { DclAction::GrantPrivilege }
}
