//! The Milvus gRPC service: one synchronous handler per RPC, grouped by topic.
//!
//! Every handler has the shape `fn(&MilvusApi, &Ctx, Request) -> Result<Response, Failure>`
//! and runs on a blocking thread (the engine does file I/O, fsync and CPU-bound search).
//! [`Ctx`] carries the authenticated caller (attached by [`crate::auth`]; a request without
//! one is refused here too, fail closed) and the database the request addresses. Each handler
//! first authorizes with [`MilvusApi::authorize`] (or filters what it lists by visibility),
//! then validates the wire request into domain types, then calls the engine.
//!
//! - `session.rs`: Connect, GetVersion, CheckHealth, AllocTimestamp, GetComponentStates,
//!   GetMetrics.
//! - `collections.rs`: collections, load state, aliases, databases.
//! - `partitions.rs`, `index.rs`: partitions and indexes.
//! - `data.rs`: Insert, Upsert, Delete, Flush, compaction.
//! - `search.rs`: Search, HybridSearch, Query.
//! - `access.rs`: users, roles, grants, privilege groups.
//!
//! Audit: every request type says in `audit.rs` what it records; `MilvusApi::run_handler`
//! refuses a change up front while the audit log has failed, and records the event after the
//! handler decided and before the response is released (fail closed).
//!
//! Rate limits: every RPC of the `service!` table names its [`RequestClass`] (and, for
//! writes, its cost in row units). `MilvusApi::run` charges the caller's user and address
//! buckets before the handler is spawned; a refused request gets Milvus code 8 (retriable,
//! legacy `RateLimit`) in its status, which pymilvus retries with backoff, and costs the
//! server no blocking thread. The table is also the classification that other front ends
//! (REST) reuse through [`rpc_class`].

pub(crate) mod access;
pub(crate) mod audit;
#[cfg(test)]
mod audit_tests;
pub(crate) mod collections;
pub(crate) mod data;
pub(crate) mod index;
#[cfg(test)]
mod limit_tests;
mod mass_deletion;
pub(crate) mod partition_trash;
#[cfg(test)]
mod partition_trash_tests;
pub(crate) mod partitions;
#[cfg(test)]
mod protection_tests;
pub(crate) mod search;
pub(crate) mod session;
pub(crate) mod trash;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use quiver_engine::Database;
use quiver_security::{Object, Principal, Privilege, SecurityStore};
use tonic::{Request, Response};

use crate::deletion_guard::DeletionGuard;
use crate::limits::RequestLimits;
use crate::metrics::{Metrics, Outcome, StatusLabel, spawn_blocking_in_span};
use crate::proto::admin;
use crate::proto::common::{KeyValuePair, Status};
use crate::proto::milvus as pb;
use crate::proto::milvus::milvus_service_server::MilvusService;
use crate::quota::{DataQuota, MemoryQuota};
use crate::ratelimit::{FLUSH_COST, RateLimiter, RateLimits, RequestClass, WRITE_REQUEST_COST};
use crate::service::audit::{AuditTrail, Audited};
use crate::status::Failure;

/// The database a request names when it names none.
pub(crate) const DEFAULT_DB: &str = "default";

/// The service state shared by every request.
#[derive(Clone)]
pub struct MilvusApi {
    pub(crate) db: Arc<Database>,
    pub(crate) security: Arc<SecurityStore>,
    /// Identifier handed out by Connect (Milvus uses it for client bookkeeping only).
    pub(crate) next_identifier: Arc<std::sync::atomic::AtomicI64>,
    /// Rate limits of every request; the authentication layer shares it for the login class.
    pub(crate) limiter: Arc<RateLimiter>,
    /// The disk quota, if configured (none by default).
    pub(crate) quota: Option<Arc<DataQuota>>,
    /// The memory quota, if configured (none by default).
    pub(crate) memory_quota: Option<Arc<MemoryQuota>>,
    /// Request, row and authentication counters (`GET /metrics`) and the request-id source.
    pub(crate) metrics: Arc<Metrics>,
    /// How large a request may be and what it may ask for.
    pub(crate) limits: Arc<RequestLimits>,
    /// The tamper-evident audit log every change (and, when configured, every read) is
    /// recorded in.
    pub(crate) audit: AuditTrail,
    /// When a delete is a mass deletion that needs force and `ForceDelete`.
    pub(crate) deletion_guard: DeletionGuard,
}

impl MilvusApi {
    /// The service over `db` and `security`, recording in `audit`, with the default rate
    /// limits ([`RateLimits::default`]).
    pub fn audited(
        db: Arc<Database>,
        security: Arc<SecurityStore>,
        audit: AuditTrail,
    ) -> MilvusApi {
        MilvusApi {
            audit,
            db,
            security,
            next_identifier: Arc::new(std::sync::atomic::AtomicI64::new(1)),
            limiter: Arc::new(RateLimiter::new(RateLimits::default())),
            quota: None,
            memory_quota: None,
            metrics: Arc::new(Metrics::new(grpc_methods())),
            limits: Arc::new(RequestLimits::default()),
            deletion_guard: DeletionGuard::default(),
        }
    }

    /// For unit tests without a data directory: the service recording in a new audit log
    /// in a temporary directory.
    #[cfg(test)]
    pub(crate) fn new(db: Arc<Database>, security: Arc<SecurityStore>) -> MilvusApi {
        MilvusApi::audited(db, security, AuditTrail::in_tempdir())
    }

    /// This service with `limits` instead of [`RequestLimits::default`] (each value was
    /// range-checked by [`RequestLimits::set`]).
    pub fn with_request_limits(mut self, limits: RequestLimits) -> MilvusApi {
        self.limits = Arc::new(limits);
        self
    }

    /// This service with `guard` instead of [`DeletionGuard::default`].
    pub fn with_deletion_guard(mut self, guard: DeletionGuard) -> MilvusApi {
        self.deletion_guard = guard;
        self
    }

    /// The request limits in force.
    pub fn request_limits(&self) -> &RequestLimits {
        &self.limits
    }

    /// This service with `limits` instead (and fresh buckets). Check them with
    /// [`RateLimits::validate`] first when they come from configuration.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> MilvusApi {
        self.limiter = Arc::new(RateLimiter::new(limits));
        self
    }

    /// The rate limiter (its refusal counts feed the metrics).
    pub fn rate_limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
    }

    /// This service with a disk quota: inserts and upserts are refused while the data
    /// directory is over it.
    pub fn with_data_quota(mut self, quota: DataQuota) -> MilvusApi {
        self.quota = Some(Arc::new(quota));
        self
    }

    /// Refuses a write that adds data (insert, upsert) while the data directory is over the
    /// disk quota: Milvus code 9. Called by those handlers after their authorization check,
    /// so that a caller without the privilege learns nothing; may walk the data directory
    /// (blocking).
    pub(crate) fn check_data_quota(&self) -> Result<(), Failure> {
        if let Some(quota) = &self.memory_quota {
            quota.check().map_err(Failure::quota_exceeded)?;
        }
        match &self.quota {
            Some(quota) => quota.check(Instant::now()).map_err(Failure::quota_exceeded),
            None => Ok(()),
        }
    }

    /// This service with a memory quota: inserts and upserts are refused while the process's
    /// resident memory is over it.
    pub fn with_memory_quota(mut self, quota: MemoryQuota) -> MilvusApi {
        self.memory_quota = Some(Arc::new(quota));
        self
    }

    /// Allows the request iff the caller holds `privilege` on `object` in the request's
    /// database; otherwise gRPC PERMISSION_DENIED with Milvus's message.
    pub(crate) fn authorize(
        &self,
        ctx: &Ctx,
        privilege: Privilege,
        object: Object<'_>,
    ) -> Result<(), Failure> {
        self.security
            .check_principal(&ctx.principal, privilege, &object, &ctx.db)
            .map_err(Failure::from)
    }
}

/// Who is asking, from where, and in which database.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    /// The user's name (also in `principal`): who is recorded as grantor, who "self" is.
    pub(crate) user: String,
    /// What the caller may do: the user, restricted to an API key's roles when one was used.
    /// Every authorization decision goes through it.
    pub(crate) principal: Principal,
    pub(crate) db: String,
    /// The client's address (throttling keys failed password checks by it).
    pub(crate) peer: IpAddr,
    /// The client's address and port, when the listener gave them (for the audit log).
    pub(crate) peer_addr: Option<SocketAddr>,
    /// The request asked to pass the mass-deletion guard (gRPC metadata
    /// `quiver-force-delete: true`, REST `"force": true`); see `deletion_guard.rs`.
    pub(crate) force: bool,
}

impl Ctx {
    /// The context of a request: its principal and its database (the request's `db_name`
    /// when set, else the `dbname` metadata, else `default`, as Milvus resolves it).
    fn of<T>(request: &Request<T>, db_name: &str) -> Result<Ctx, Failure> {
        let principal = request.extensions().get::<Principal>().ok_or_else(|| {
            Failure::Grpc(tonic::Status::unauthenticated("missing authorization in header"))
        })?;
        let db = if db_name.is_empty() {
            request
                .metadata()
                .get("dbname")
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .unwrap_or(DEFAULT_DB)
        } else {
            db_name
        };
        let peer_addr = request.extensions().get::<crate::PeerInfo>().map(|p| p.addr);
        let peer = peer_addr.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
        // Only the exact word forces; anything else (absent, `1`, `yes`) leaves the guard on.
        let force = request
            .metadata()
            .get(crate::FORCE_DELETE_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(Ctx {
            user: principal.user.clone(),
            principal: principal.clone(),
            db: db.to_owned(),
            peer,
            peer_addr,
            force,
        })
    }

    /// The context of a request that arrived another way than gRPC (REST): the principal the
    /// authentication layer attached, the database the request resolved (its `dbName`, else
    /// its `DB-Name` header, else `default`) and the client's address.
    pub(crate) fn new(principal: Principal, db: String, peer_addr: Option<SocketAddr>) -> Ctx {
        let peer = peer_addr.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
        Ctx { user: principal.user.clone(), principal, db, peer, peer_addr, force: false }
    }

    /// This context with the mass-deletion guard's force flag set as the request asked.
    pub(crate) fn forced(mut self, force: bool) -> Ctx {
        self.force = force;
        self
    }

    /// A context for calling handlers directly in tests.
    #[cfg(test)]
    pub(crate) fn local(user: &str, db: &str) -> Ctx {
        Ctx {
            user: user.to_owned(),
            principal: Principal::unrestricted(user),
            db: db.to_owned(),
            peer: IpAddr::V4(Ipv4Addr::LOCALHOST),
            peer_addr: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000)),
            force: false,
        }
    }
}

/// Requests that name their database in the body (most Milvus requests carry `db_name`).
pub(crate) trait DbName {
    fn db_name(&self) -> &str {
        ""
    }
}

/// Responses that carry a Milvus status.
pub(crate) trait Reply: Default {
    fn set_status(&mut self, status: Status);

    /// The answer of an insert, upsert or delete (its counts go to the audit record).
    fn mutation(&self) -> Option<&pb::MutationResult> {
        None
    }
}

impl Reply for Status {
    fn set_status(&mut self, status: Status) {
        *self = status;
    }
}

impl Reply for pb::MutationResult {
    fn set_status(&mut self, status: Status) {
        self.status = Some(status);
    }

    fn mutation(&self) -> Option<&pb::MutationResult> {
        Some(self)
    }
}

macro_rules! replies {
    ($($ty:ty),* $(,)?) => {
        $(impl Reply for $ty {
            fn set_status(&mut self, status: Status) {
                self.status = Some(status);
            }
        })*
    };
}

replies!(
    pb::ConnectResponse,
    pb::GetVersionResponse,
    pb::CheckHealthResponse,
    pb::AllocTimestampResponse,
    pb::ComponentStates,
    pb::GetMetricsResponse,
    pb::BoolResponse,
    pb::DescribeCollectionResponse,
    pb::ShowCollectionsResponse,
    pb::GetCollectionStatisticsResponse,
    pb::GetLoadStateResponse,
    pb::GetLoadingProgressResponse,
    pb::ShowPartitionsResponse,
    pb::GetPartitionStatisticsResponse,
    pb::DescribeIndexResponse,
    pb::GetIndexStateResponse,
    pb::GetIndexBuildProgressResponse,
    pb::SearchResults,
    pb::QueryResults,
    pb::FlushResponse,
    pb::GetFlushStateResponse,
    pb::ManualCompactionResponse,
    pb::GetCompactionStateResponse,
    pb::DescribeAliasResponse,
    pb::ListAliasesResponse,
    pb::ListDatabasesResponse,
    pb::DescribeDatabaseResponse,
    pb::ListCredUsersResponse,
    pb::SelectRoleResponse,
    pb::SelectUserResponse,
    pb::SelectGrantResponse,
    pb::ListPrivilegeGroupsResponse,
    admin::ListTrashResponse,
    admin::RestoreCollectionResponse,
    admin::PurgeTrashResponse,
    admin::ListTrashedPartitionsResponse,
    admin::RestorePartitionResponse,
    admin::PurgePartitionResponse,
);

/// The value of `key` among Milvus's key-value parameters.
pub(crate) fn param<'a>(params: &'a [KeyValuePair], key: &str) -> Option<&'a str> {
    params.iter().rev().find(|kv| kv.key == key).map(|kv| kv.value.as_str())
}

impl MilvusApi {
    /// Runs `handler` for an authenticated request on a blocking thread and shapes its
    /// outcome: a Milvus failure becomes the response's status, a gRPC failure the RPC's.
    /// First the request's `cost` is charged to its caller's buckets of `class`; over the
    /// limit, it ends here with Milvus code 8. The outcome's status goes to the request's
    /// metrics and access log.
    async fn run<Req, Resp>(
        &self,
        request: Request<Req>,
        class: RequestClass,
        cost: fn(&Req) -> u64,
        handler: fn(&MilvusApi, &Ctx, Req) -> Result<Resp, Failure>,
    ) -> Result<Response<Resp>, tonic::Status>
    where
        Req: DbName + Audited + Send + 'static,
        Resp: Reply + Send + 'static,
    {
        let outcome = request.extensions().get::<Outcome>().cloned();
        let result = self.run_handler(request, class, cost, handler).await;
        if let Some(outcome) = outcome {
            outcome.set_status(StatusLabel::of(&result));
        }
        reply(result)
    }

    async fn run_handler<Req, Resp>(
        &self,
        request: Request<Req>,
        class: RequestClass,
        cost: fn(&Req) -> u64,
        handler: fn(&MilvusApi, &Ctx, Req) -> Result<Resp, Failure>,
    ) -> Result<Resp, Failure>
    where
        Req: DbName + Audited + Send + 'static,
        Resp: Reply + Send + 'static,
    {
        let ctx = Ctx::of(&request, request.get_ref().db_name())?;
        let cost = cost(request.get_ref());
        if let Err(refusal) =
            self.limiter.check_cost(class, Some(&ctx.user), ctx.peer, cost, Instant::now())
        {
            tracing::debug!(user = %ctx.user, peer = %ctx.peer, %refusal, "request rate-limited");
            return Err(Failure::rate_limited(refusal));
        }
        let api = self.clone();
        let body = request.into_inner();
        let outcome = spawn_blocking_in_span(move || api.audited_call(&ctx, body, handler)).await;
        match outcome {
            Ok(result) => result,
            Err(err) => {
                // A handler panicked: a bug, never an input. The request fails; the server
                // keeps serving.
                tracing::error!(error = %err, "request handler panicked");
                Err(Failure::internal("internal error"))
            }
        }
    }

    /// Runs `handler` between the two audit steps (on the blocking thread): a request the
    /// trail records is refused up front while the log has failed, and its event is recorded
    /// after the handler decided, before the answer is released; a failure to record it is
    /// the answer.
    pub(crate) fn audited_call<Req, Resp>(
        &self,
        ctx: &Ctx,
        request: Req,
        handler: fn(&MilvusApi, &Ctx, Req) -> Result<Resp, Failure>,
    ) -> Result<Resp, Failure>
    where
        Req: Audited,
        Resp: Reply,
    {
        if !self.audit.records(Req::CLASS) {
            return handler(self, ctx, request);
        }
        self.audit.admit(Req::CLASS)?;
        let mut event = request.audit_event(ctx);
        let result = handler(self, ctx, request);
        if let Some(event) = &mut event {
            let mutation = result.as_ref().ok().and_then(Reply::mutation);
            audit::conclude(event, audit::outcome_of(&result), mutation);
        }
        self.audit.record(Req::CLASS, event)?;
        result
    }
}

fn reply<Resp: Reply>(result: Result<Resp, Failure>) -> Result<Response<Resp>, tonic::Status> {
    match result {
        Ok(resp) => Ok(Response::new(resp)),
        Err(failure) => {
            let status = failure.into_status()?;
            let mut resp = Resp::default();
            resp.set_status(status);
            Ok(Response::new(resp))
        }
    }
}

macro_rules! db_name_field {
    ($($ty:ty),* $(,)?) => {
        $(impl DbName for $ty {
            fn db_name(&self) -> &str {
                &self.db_name
            }
        })*
    };
}

macro_rules! no_db_name {
    ($($ty:ty),* $(,)?) => {
        $(impl DbName for $ty {})*
    };
}

/// The service: each entry is `method(Request) -> Response = handler, Class` or, for a cost
/// other than 1, `= handler, Class(cost function)`. It implements [`MilvusService`] (so the
/// compiler sees that every RPC has an entry, hence a class) and [`RPC_CLASSES`].
macro_rules! service {
    (@cost) => {
        |_| 1
    };
    (@cost $cost:expr) => {
        $cost
    };
    ($($method:ident($req:ty) -> $resp:ty = $handler:path, $class:ident $(($cost:expr))?;)*) => {
        #[tonic::async_trait]
        impl MilvusService for MilvusApi {
            $(async fn $method(
                &self,
                request: Request<$req>,
            ) -> Result<Response<$resp>, tonic::Status> {
                let cost: fn(&$req) -> u64 = service!(@cost $($cost)?);
                self.run(request, RequestClass::$class, cost, $handler).await
            })*
        }

        /// Every RPC of the service, by its method name in snake case, with its rate-limit
        /// class.
        pub(crate) const RPC_CLASSES: &[(&str, RequestClass)] =
            &[$((stringify!($method), RequestClass::$class)),*];
    };
}

/// Every gRPC method served (snake case): Milvus's service table, then the recycle bin's.
pub(crate) fn grpc_methods() -> impl Iterator<Item = &'static str> {
    RPC_CLASSES.iter().map(|&(name, _)| name).chain(trash::RPCS)
}

/// The rate-limit class of an RPC, by its gRPC method name (`HybridSearch`, as in the
/// request path) or its snake-case name (`hybrid_search`); `None` for a method Quiver does
/// not serve.
pub fn rpc_class(method: &str) -> Option<RequestClass> {
    RPC_CLASSES.iter().find(|(name, _)| same_rpc_name(name, method)).map(|&(_, class)| class)
}

/// Whether two spellings name the same RPC: equal letters and digits, ignoring case and
/// underscores (`operate_privilege_v2` and `OperatePrivilegeV2`).
fn same_rpc_name(a: &str, b: &str) -> bool {
    let mut a = a.bytes().filter(|&c| c != b'_').map(|c| c.to_ascii_lowercase());
    let mut b = b.bytes().filter(|&c| c != b'_').map(|c| c.to_ascii_lowercase());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// An insert or upsert costs its rows plus the request (the handler checks `num_rows`
/// against the columns, so a client that understates it is refused after paying).
fn insert_cost(req: &pb::InsertRequest) -> u64 {
    WRITE_REQUEST_COST + u64::from(req.num_rows)
}

fn upsert_cost(req: &pb::UpsertRequest) -> u64 {
    WRITE_REQUEST_COST + u64::from(req.num_rows)
}

/// A delete costs the request (the rows it matches are not known before it runs).
fn delete_cost(_: &pb::DeleteRequest) -> u64 {
    WRITE_REQUEST_COST
}

/// A flush or a compaction seals segments and writes files.
fn flush_cost<T>(_: &T) -> u64 {
    FLUSH_COST
}

db_name_field!(
    pb::CreateCollectionRequest,
    pb::DropCollectionRequest,
    pb::HasCollectionRequest,
    pb::DescribeCollectionRequest,
    pb::ShowCollectionsRequest,
    pb::AlterCollectionRequest,
    pb::AlterCollectionFieldRequest,
    pb::GetCollectionStatisticsRequest,
    pb::LoadCollectionRequest,
    pb::ReleaseCollectionRequest,
    pb::GetLoadStateRequest,
    pb::GetLoadingProgressRequest,
    pb::CreatePartitionRequest,
    pb::DropPartitionRequest,
    pb::HasPartitionRequest,
    pb::ShowPartitionsRequest,
    pb::LoadPartitionsRequest,
    pb::ReleasePartitionsRequest,
    pb::GetPartitionStatisticsRequest,
    pb::CreateIndexRequest,
    pb::AlterIndexRequest,
    pb::DescribeIndexRequest,
    pb::GetIndexStateRequest,
    pb::GetIndexBuildProgressRequest,
    pb::DropIndexRequest,
    pb::InsertRequest,
    pb::UpsertRequest,
    pb::DeleteRequest,
    pb::SearchRequest,
    pb::HybridSearchRequest,
    pb::QueryRequest,
    pb::FlushRequest,
    pb::GetFlushStateRequest,
    pb::ManualCompactionRequest,
    pb::CreateAliasRequest,
    pb::DropAliasRequest,
    pb::AlterAliasRequest,
    pb::DescribeAliasRequest,
    pb::ListAliasesRequest,
    pb::CreateDatabaseRequest,
    pb::DropDatabaseRequest,
    pb::AlterDatabaseRequest,
    pb::DescribeDatabaseRequest,
    pb::OperatePrivilegeV2Request,
    // Quiver's `RecycleBin` service.
    admin::ListTrashRequest,
    admin::RestoreCollectionRequest,
    admin::ListTrashedPartitionsRequest,
    admin::RestorePartitionRequest,
    admin::PurgePartitionRequest,
);

no_db_name!(
    admin::PurgeTrashRequest,
    pb::ConnectRequest,
    pb::GetVersionRequest,
    pb::CheckHealthRequest,
    pb::AllocTimestampRequest,
    pb::GetComponentStatesRequest,
    pb::GetMetricsRequest,
    pb::RenameCollectionRequest,
    pb::GetCompactionStateRequest,
    pb::ListDatabasesRequest,
    pb::CreateCredentialRequest,
    pb::UpdateCredentialRequest,
    pb::DeleteCredentialRequest,
    pb::ListCredUsersRequest,
    pb::CreateRoleRequest,
    pb::DropRoleRequest,
    pb::OperateUserRoleRequest,
    pb::SelectRoleRequest,
    pb::SelectUserRequest,
    pb::OperatePrivilegeRequest,
    pb::SelectGrantRequest,
    pb::CreatePrivilegeGroupRequest,
    pb::DropPrivilegeGroupRequest,
    pb::ListPrivilegeGroupsRequest,
    pb::OperatePrivilegeGroupRequest,
);

service! {
    connect(pb::ConnectRequest) -> pb::ConnectResponse = session::connect, Read;
    get_version(pb::GetVersionRequest) -> pb::GetVersionResponse = session::get_version, Read;
    check_health(pb::CheckHealthRequest) -> pb::CheckHealthResponse = session::check_health, Read;
    alloc_timestamp(pb::AllocTimestampRequest) -> pb::AllocTimestampResponse = session::alloc_timestamp, Read;
    get_component_states(pb::GetComponentStatesRequest) -> pb::ComponentStates = session::get_component_states, Read;
    get_metrics(pb::GetMetricsRequest) -> pb::GetMetricsResponse = session::get_metrics, Read;

    create_collection(pb::CreateCollectionRequest) -> Status = collections::create_collection, Ddl;
    drop_collection(pb::DropCollectionRequest) -> Status = collections::drop_collection, Ddl;
    has_collection(pb::HasCollectionRequest) -> pb::BoolResponse = collections::has_collection, Read;
    describe_collection(pb::DescribeCollectionRequest) -> pb::DescribeCollectionResponse = collections::describe_collection, Read;
    show_collections(pb::ShowCollectionsRequest) -> pb::ShowCollectionsResponse = collections::show_collections, Read;
    rename_collection(pb::RenameCollectionRequest) -> Status = collections::rename_collection, Ddl;
    alter_collection(pb::AlterCollectionRequest) -> Status = collections::alter_collection, Ddl;
    alter_collection_field(pb::AlterCollectionFieldRequest) -> Status = collections::alter_collection_field, Ddl;
    get_collection_statistics(pb::GetCollectionStatisticsRequest) -> pb::GetCollectionStatisticsResponse = collections::get_collection_statistics, Read;
    load_collection(pb::LoadCollectionRequest) -> Status = collections::load_collection, Ddl;
    release_collection(pb::ReleaseCollectionRequest) -> Status = collections::release_collection, Ddl;
    get_load_state(pb::GetLoadStateRequest) -> pb::GetLoadStateResponse = collections::get_load_state, Read;
    get_loading_progress(pb::GetLoadingProgressRequest) -> pb::GetLoadingProgressResponse = collections::get_loading_progress, Read;
    create_alias(pb::CreateAliasRequest) -> Status = collections::create_alias, Ddl;
    drop_alias(pb::DropAliasRequest) -> Status = collections::drop_alias, Ddl;
    alter_alias(pb::AlterAliasRequest) -> Status = collections::alter_alias, Ddl;
    describe_alias(pb::DescribeAliasRequest) -> pb::DescribeAliasResponse = collections::describe_alias, Read;
    list_aliases(pb::ListAliasesRequest) -> pb::ListAliasesResponse = collections::list_aliases, Read;
    create_database(pb::CreateDatabaseRequest) -> Status = collections::create_database, Ddl;
    drop_database(pb::DropDatabaseRequest) -> Status = collections::drop_database, Ddl;
    list_databases(pb::ListDatabasesRequest) -> pb::ListDatabasesResponse = collections::list_databases, Read;
    alter_database(pb::AlterDatabaseRequest) -> Status = collections::alter_database, Ddl;
    describe_database(pb::DescribeDatabaseRequest) -> pb::DescribeDatabaseResponse = collections::describe_database, Read;

    create_partition(pb::CreatePartitionRequest) -> Status = partitions::create_partition, Ddl;
    drop_partition(pb::DropPartitionRequest) -> Status = partitions::drop_partition, Ddl;
    has_partition(pb::HasPartitionRequest) -> pb::BoolResponse = partitions::has_partition, Read;
    show_partitions(pb::ShowPartitionsRequest) -> pb::ShowPartitionsResponse = partitions::show_partitions, Read;
    load_partitions(pb::LoadPartitionsRequest) -> Status = partitions::load_partitions, Ddl;
    release_partitions(pb::ReleasePartitionsRequest) -> Status = partitions::release_partitions, Ddl;
    get_partition_statistics(pb::GetPartitionStatisticsRequest) -> pb::GetPartitionStatisticsResponse = partitions::get_partition_statistics, Read;

    create_index(pb::CreateIndexRequest) -> Status = index::create_index, Ddl;
    alter_index(pb::AlterIndexRequest) -> Status = index::alter_index, Ddl;
    describe_index(pb::DescribeIndexRequest) -> pb::DescribeIndexResponse = index::describe_index, Read;
    get_index_state(pb::GetIndexStateRequest) -> pb::GetIndexStateResponse = index::get_index_state, Read;
    get_index_build_progress(pb::GetIndexBuildProgressRequest) -> pb::GetIndexBuildProgressResponse = index::get_index_build_progress, Read;
    drop_index(pb::DropIndexRequest) -> Status = index::drop_index, Ddl;

    insert(pb::InsertRequest) -> pb::MutationResult = data::insert, Write(insert_cost);
    upsert(pb::UpsertRequest) -> pb::MutationResult = data::upsert, Write(upsert_cost);
    delete(pb::DeleteRequest) -> pb::MutationResult = data::delete, Write(delete_cost);
    flush(pb::FlushRequest) -> pb::FlushResponse = data::flush, Write(flush_cost);
    get_flush_state(pb::GetFlushStateRequest) -> pb::GetFlushStateResponse = data::get_flush_state, Read;
    manual_compaction(pb::ManualCompactionRequest) -> pb::ManualCompactionResponse = data::manual_compaction, Write(flush_cost);
    get_compaction_state(pb::GetCompactionStateRequest) -> pb::GetCompactionStateResponse = data::get_compaction_state, Read;

    search(pb::SearchRequest) -> pb::SearchResults = search::search, Read;
    hybrid_search(pb::HybridSearchRequest) -> pb::SearchResults = search::hybrid_search, Read;
    query(pb::QueryRequest) -> pb::QueryResults = search::query, Read;

    create_credential(pb::CreateCredentialRequest) -> Status = access::create_credential, Ddl;
    update_credential(pb::UpdateCredentialRequest) -> Status = access::update_credential, Ddl;
    delete_credential(pb::DeleteCredentialRequest) -> Status = access::delete_credential, Ddl;
    list_cred_users(pb::ListCredUsersRequest) -> pb::ListCredUsersResponse = access::list_cred_users, Read;
    create_role(pb::CreateRoleRequest) -> Status = access::create_role, Ddl;
    drop_role(pb::DropRoleRequest) -> Status = access::drop_role, Ddl;
    operate_user_role(pb::OperateUserRoleRequest) -> Status = access::operate_user_role, Ddl;
    select_role(pb::SelectRoleRequest) -> pb::SelectRoleResponse = access::select_role, Read;
    select_user(pb::SelectUserRequest) -> pb::SelectUserResponse = access::select_user, Read;
    operate_privilege(pb::OperatePrivilegeRequest) -> Status = access::operate_privilege, Ddl;
    operate_privilege_v2(pb::OperatePrivilegeV2Request) -> Status = access::operate_privilege_v2, Ddl;
    select_grant(pb::SelectGrantRequest) -> pb::SelectGrantResponse = access::select_grant, Read;
    create_privilege_group(pb::CreatePrivilegeGroupRequest) -> Status = access::create_privilege_group, Ddl;
    drop_privilege_group(pb::DropPrivilegeGroupRequest) -> Status = access::drop_privilege_group, Ddl;
    list_privilege_groups(pb::ListPrivilegeGroupsRequest) -> pb::ListPrivilegeGroupsResponse = access::list_privilege_groups, Read;
    operate_privilege_group(pb::OperatePrivilegeGroupRequest) -> Status = access::operate_privilege_group, Ddl;
}

/// The object a privilege is checked on, by the privilege's level: a collection-level
/// privilege on the collection, a database-level one on the request's database, a cluster-level
/// one on the cluster.
pub(crate) fn object_for(privilege: Privilege, collection: &str) -> Object<'_> {
    match privilege.level() {
        Some(quiver_security::PrivilegeLevel::Collection) => Object::Collection(collection),
        Some(quiver_security::PrivilegeLevel::Database) => Object::Database,
        Some(quiver_security::PrivilegeLevel::Cluster) | None => Object::Cluster,
    }
}

impl MilvusApi {
    /// Authorizes a collection-level privilege on the collection `name` names: an alias is
    /// resolved first, so a grant on a collection cannot be sidestepped (or widened) through
    /// an alias. Returns the collection's own name.
    pub(crate) fn authorize_collection(
        &self,
        ctx: &Ctx,
        privilege: Privilege,
        name: &str,
    ) -> Result<String, Failure> {
        let real = self.db.resolve_name(&ctx.db, name).unwrap_or_else(|_| name.to_owned());
        self.authorize(ctx, privilege, object_for(privilege, &real))?;
        Ok(real)
    }
}

#[cfg(test)]
mod tests {
    use quiver_security::Principal;

    use super::*;
    use crate::proto::common::ErrorCode;
    use crate::ratelimit::{ClassLimits, Rate};
    use crate::status::code;

    /// The RPCs `proto/milvus.proto` declares, by their gRPC names.
    fn proto_rpcs() -> Vec<&'static str> {
        include_str!("../../proto/milvus.proto")
            .lines()
            .filter_map(|line| line.trim().strip_prefix("rpc "))
            .map(|rest| rest.split('(').next().unwrap().trim())
            .collect()
    }

    #[test]
    fn every_rpc_of_the_proto_has_exactly_one_class() {
        let proto = proto_rpcs();
        assert!(proto.len() >= 60, "{proto:?}");
        assert_eq!(proto.len(), RPC_CLASSES.len());
        for rpc in &proto {
            let entries = RPC_CLASSES.iter().filter(|(name, _)| same_rpc_name(name, rpc)).count();
            assert_eq!(entries, 1, "{rpc}");
            assert!(rpc_class(rpc).is_some(), "{rpc}");
        }
        for (name, _) in RPC_CLASSES {
            assert!(proto.iter().any(|rpc| same_rpc_name(name, rpc)), "{name}");
        }
    }

    #[test]
    fn rpcs_are_classified_by_what_they_do() {
        // The policy stated independently of the table: data mutations are writes, metadata
        // mutations DDL, everything else (searches, queries, describe, list, state) reads.
        const DDL_PREFIXES: [&str; 7] =
            ["create_", "drop_", "alter_", "rename_", "load_", "release_", "operate_"];
        for &(name, class) in RPC_CLASSES {
            let expected = match name {
                "insert" | "upsert" | "delete" | "flush" | "manual_compaction" => {
                    RequestClass::Write
                }
                "update_credential" | "delete_credential" => RequestClass::Ddl,
                _ if DDL_PREFIXES.iter().any(|p| name.starts_with(p)) => RequestClass::Ddl,
                _ => RequestClass::Read,
            };
            assert_eq!(class, expected, "{name}");
        }
        // Logins are checked by the authentication layer, never by a handler.
        assert!(RPC_CLASSES.iter().all(|&(_, class)| class != RequestClass::Login));

        let cases = [
            ("Search", Some(RequestClass::Read)),
            ("HybridSearch", Some(RequestClass::Read)),
            ("Query", Some(RequestClass::Read)),
            ("hybrid_search", Some(RequestClass::Read)),
            ("Connect", Some(RequestClass::Read)),
            ("DescribeCollection", Some(RequestClass::Read)),
            ("GetFlushState", Some(RequestClass::Read)),
            ("SelectGrant", Some(RequestClass::Read)),
            ("Insert", Some(RequestClass::Write)),
            ("Delete", Some(RequestClass::Write)),
            ("ManualCompaction", Some(RequestClass::Write)),
            ("CreateCollection", Some(RequestClass::Ddl)),
            ("LoadCollection", Some(RequestClass::Ddl)),
            ("CreateCredential", Some(RequestClass::Ddl)),
            ("OperatePrivilegeV2", Some(RequestClass::Ddl)),
            ("OperatePrivilegeV", None),
            ("Searc", None),
            ("SearchX", None),
            ("ListImportJobs", None),
            ("", None),
        ];
        for (method, class) in cases {
            assert_eq!(rpc_class(method), class, "{method}");
        }
    }

    #[test]
    fn writes_cost_their_rows_plus_the_request() {
        let insert = pb::InsertRequest { num_rows: 5_000, ..Default::default() };
        assert_eq!(insert_cost(&insert), 5_100);
        let upsert = pb::UpsertRequest { num_rows: u32::MAX, ..Default::default() };
        assert_eq!(upsert_cost(&upsert), u64::from(u32::MAX) + WRITE_REQUEST_COST);
        assert_eq!(delete_cost(&pb::DeleteRequest::default()), WRITE_REQUEST_COST);
        assert_eq!(flush_cost(&pb::FlushRequest::default()), FLUSH_COST);
    }

    fn request<T>(body: T, user: &str) -> Request<T> {
        let mut request = Request::new(body);
        request.extensions_mut().insert(Principal::unrestricted(user));
        request
    }

    fn search_missing() -> pb::SearchRequest {
        pb::SearchRequest { collection_name: "missing".into(), ..Default::default() }
    }

    #[tokio::test]
    async fn a_search_over_the_read_limit_gets_retriable_code_8() {
        let env = data::testkit::env();
        let one_read = ClassLimits { per_user: Some(Rate::new(1, 1)), per_address: None };
        let api = env
            .api
            .clone()
            .with_rate_limits(RateLimits { read: one_read, ..RateLimits::unlimited() });

        // Without a principal the request is refused before it is counted.
        let anonymous = MilvusService::search(&api, Request::new(search_missing())).await;
        assert_eq!(anonymous.unwrap_err().code(), tonic::Code::Unauthenticated);
        assert_eq!(api.rate_limiter().tracked(RequestClass::Read), (0, 0));

        let first = MilvusService::search(&api, request(search_missing(), "root")).await;
        let first = first.unwrap().into_inner().status.unwrap();
        assert_eq!(first.code, code::COLLECTION_NOT_FOUND, "{first:?}");

        let second = MilvusService::search(&api, request(search_missing(), "root")).await;
        let second = second.unwrap().into_inner().status.unwrap();
        assert_eq!(second.code, code::RATE_LIMITED);
        assert_eq!(second.error_code, ErrorCode::RateLimit as i32);
        assert_eq!(second.error_code, 49);
        assert!(second.retriable);
        assert!(
            second.reason.starts_with("rate limit exceeded: too many read requests"),
            "{second:?}"
        );
        assert_eq!(api.rate_limiter().rejected(RequestClass::Read), 1);

        // Other users, and other classes of the same user, have buckets of their own.
        let other = MilvusService::search(&api, request(search_missing(), "alice")).await;
        // alice holds no grant: refused by authorization, not by the limiter.
        assert_eq!(other.unwrap_err().code(), tonic::Code::PermissionDenied);
        let ddl =
            pb::DropCollectionRequest { collection_name: "missing".into(), ..Default::default() };
        let ddl = MilvusService::drop_collection(&api, request(ddl, "root")).await;
        assert_ne!(ddl.unwrap().into_inner().code, code::RATE_LIMITED);
    }

    #[tokio::test]
    async fn writes_are_charged_by_rows() {
        let env = data::testkit::env();
        let writes = ClassLimits { per_user: Some(Rate::new(1, 1_000)), per_address: None };
        let api = env
            .api
            .clone()
            .with_rate_limits(RateLimits { write: writes, ..RateLimits::unlimited() });
        let insert = |num_rows| pb::InsertRequest {
            collection_name: "missing".into(),
            num_rows,
            ..Default::default()
        };
        // 800 rows + 100 for the request: 100 tokens remain, enough for one delete.
        let first = MilvusService::insert(&api, request(insert(800), "root")).await;
        assert_ne!(first.unwrap().into_inner().status.unwrap().code, code::RATE_LIMITED);
        let delete = pb::DeleteRequest { collection_name: "missing".into(), ..Default::default() };
        let deleted = MilvusService::delete(&api, request(delete.clone(), "root")).await;
        assert_ne!(deleted.unwrap().into_inner().status.unwrap().code, code::RATE_LIMITED);
        let refused = MilvusService::insert(&api, request(insert(1), "root")).await;
        assert_eq!(refused.unwrap().into_inner().status.unwrap().code, code::RATE_LIMITED);
        let refused = MilvusService::delete(&api, request(delete, "root")).await;
        assert_eq!(refused.unwrap().into_inner().status.unwrap().code, code::RATE_LIMITED);
    }

    #[test]
    fn over_the_disk_quota_writes_get_code_9() {
        let env = data::testkit::env();
        env.api.check_data_quota().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("segment"), [0u8; 100]).unwrap();
        let api = env.api.clone().with_data_quota(DataQuota::new(dir.path(), 99));
        let status = api.check_data_quota().unwrap_err().into_status().unwrap();
        assert_eq!(status.code, code::QUOTA_EXCEEDED);
        assert_eq!(status.error_code, ErrorCode::DiskQuotaExhausted as i32);
        assert_eq!(status.error_code, 54);
        assert!(!status.retriable);
        let api = env.api.clone().with_data_quota(DataQuota::new(dir.path(), 100));
        api.check_data_quota().unwrap();
    }

    /// Over the memory quota, inserts and upserts are refused with code 9 (legacy 53) while
    /// deletes and reads go on.
    #[cfg(target_os = "linux")]
    #[test]
    fn over_the_memory_quota_inserts_are_refused_and_deletes_and_reads_go_on() {
        use crate::quota::MemoryQuota;
        let env = data::testkit::env();
        env.simple("docs", 2);
        env.insert_rows("docs", &[(1, vec![1.0, 0.0], "{}"), (2, vec![0.0, 1.0], "{}")]);
        let roomy = env.api.clone().with_memory_quota(MemoryQuota::new(u64::MAX).unwrap());
        roomy.check_data_quota().unwrap();
        // Any process uses more than one byte.
        let api = env.api.clone().with_memory_quota(MemoryQuota::new(1).unwrap());
        let one = |id: i64| pb::InsertRequest {
            collection_name: "docs".into(),
            fields_data: vec![
                data::testkit::longs("id", vec![id]),
                data::testkit::vectors("vector", 2, vec![0.5, 0.5]),
            ],
            num_rows: 1,
            ..Default::default()
        };
        let Err(refused) = data::insert(&api, &env.root, one(3)) else {
            panic!("an insert over the memory quota must be refused");
        };
        let status = refused.into_status().unwrap();
        assert_eq!(status.code, code::QUOTA_EXCEEDED);
        assert_eq!(status.error_code, ErrorCode::MemoryQuotaExhausted as i32);
        assert!(status.reason.contains("limits.max_memory_bytes"), "{}", status.reason);
        let delete = pb::DeleteRequest {
            collection_name: "docs".into(),
            expr: "id in [1]".into(),
            ..Default::default()
        };
        assert_eq!(data::delete(&api, &env.root, delete).unwrap().delete_cnt, 1);
        let query = pb::QueryRequest {
            collection_name: "docs".into(),
            expr: "id >= 0".into(),
            ..Default::default()
        };
        let rows = search::query(&api, &env.root, query).unwrap();
        assert_eq!(data::testkit::long_values(&rows.fields_data[0]), vec![2]);
        data::insert(&roomy, &env.root, one(3)).unwrap();
    }

    /// A user holding Search through one role and Insert through another, with an API key
    /// restricted to the first role: through the key, the second role's privilege is gone.
    #[test]
    fn an_api_key_acts_with_its_roles_only_on_every_rpc() {
        let env = data::testkit::env();
        env.simple("docs", 2);
        let security = &env.api.security;
        security
            .create_user("bob", &quiver_security::Secret::new("Str0ng-key-holder-pw".into()))
            .unwrap();
        for (role, privilege) in [("searcher", "Search"), ("writer", "Insert")] {
            security.create_role(role).unwrap();
            security.add_user_to_role("bob", role).unwrap();
            security.grant_v2(role, privilege, "default", "docs", "root").unwrap();
        }
        let (_, token) = security
            .create_api_key("bob", "ci", &["searcher".to_owned()], None, 1_700_000_000)
            .unwrap();
        let principal = security
            .authenticate_key(
                &token,
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                Instant::now(),
                1_700_000_001,
            )
            .unwrap();
        let mut by_key = Ctx::local("bob", "default");
        by_key.principal = principal;
        let by_password = Ctx::local("bob", "default");
        let insert = || pb::InsertRequest { collection_name: "docs".into(), ..Default::default() };
        let denied = data::insert(&env.api, &by_key, insert()).unwrap_err();
        assert!(
            matches!(&denied, Failure::Grpc(s) if s.code() == tonic::Code::PermissionDenied),
            "{denied:?}"
        );
        // The user's own login still inserts (the empty request then fails validation, not
        // authorization).
        let allowed = data::insert(&env.api, &by_password, insert()).unwrap_err();
        assert!(matches!(allowed, Failure::Milvus { .. }), "{allowed:?}");
        env.api.authorize_collection(&by_key, Privilege::Search, "docs").unwrap();
    }

    /// Grants name collections; an alias resolves to its collection before the check, so a
    /// grant on a collection works through its aliases and a grant on an alias's name gives
    /// nothing.
    #[test]
    fn aliases_neither_bypass_nor_widen_grants() {
        let env = data::testkit::env();
        env.simple("real", 2);
        env.api.db.create_alias("default", "nick", "real").unwrap();
        let security = &env.api.security;
        let stranger = env.stranger();
        security.create_role("r").unwrap();
        security.add_user_to_role("alice", "r").unwrap();
        security.grant_v2("r", "Insert", "default", "nick", "root").unwrap();
        let err = env.api.authorize_collection(&stranger, Privilege::Insert, "nick").unwrap_err();
        assert!(matches!(err, Failure::Grpc(_)), "{err:?}");
        security.grant_v2("r", "Search", "default", "real", "root").unwrap();
        env.api.authorize_collection(&stranger, Privilege::Search, "nick").unwrap();
    }
}
