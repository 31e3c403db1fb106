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

mod access;
mod collections;
mod data;
mod index;
mod partitions;
mod search;
mod session;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use quiver_engine::Database;
use quiver_security::{Object, Principal, Privilege, SecurityStore};
use tonic::{Request, Response};

use crate::proto::common::{KeyValuePair, Status};
use crate::proto::milvus as pb;
use crate::proto::milvus::milvus_service_server::MilvusService;
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
}

impl MilvusApi {
    pub fn new(db: Arc<Database>, security: Arc<SecurityStore>) -> MilvusApi {
        MilvusApi { db, security, next_identifier: Arc::new(std::sync::atomic::AtomicI64::new(1)) }
    }

    /// Allows the request iff the caller holds `privilege` on `object` in the request's
    /// database; otherwise gRPC PERMISSION_DENIED with Milvus's message.
    pub(crate) fn authorize(
        &self,
        ctx: &Ctx,
        privilege: Privilege,
        object: Object<'_>,
    ) -> Result<(), Failure> {
        self.security.check(&ctx.user, privilege, &object, &ctx.db).map_err(Failure::from)
    }
}

/// Who is asking, from where, and in which database.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub(crate) user: String,
    pub(crate) db: String,
    /// The client's address (throttling keys failed password checks by it).
    pub(crate) peer: IpAddr,
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
        let peer = request
            .extensions()
            .get::<crate::PeerInfo>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.addr.ip());
        Ok(Ctx { user: principal.user.clone(), db: db.to_owned(), peer })
    }

    /// A context for calling handlers directly in tests.
    #[cfg(test)]
    pub(crate) fn local(user: &str, db: &str) -> Ctx {
        Ctx { user: user.to_owned(), db: db.to_owned(), peer: IpAddr::V4(Ipv4Addr::LOCALHOST) }
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
}

impl Reply for Status {
    fn set_status(&mut self, status: Status) {
        *self = status;
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
    pb::MutationResult,
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
);

/// The value of `key` among Milvus's key-value parameters.
pub(crate) fn param<'a>(params: &'a [KeyValuePair], key: &str) -> Option<&'a str> {
    params.iter().rev().find(|kv| kv.key == key).map(|kv| kv.value.as_str())
}

impl MilvusApi {
    /// Runs `handler` for an authenticated request on a blocking thread and shapes its
    /// outcome: a Milvus failure becomes the response's status, a gRPC failure the RPC's.
    async fn run<Req, Resp>(
        &self,
        request: Request<Req>,
        handler: fn(&MilvusApi, &Ctx, Req) -> Result<Resp, Failure>,
    ) -> Result<Response<Resp>, tonic::Status>
    where
        Req: DbName + Send + 'static,
        Resp: Reply + Send + 'static,
    {
        let ctx = match Ctx::of(&request, request.get_ref().db_name()) {
            Ok(ctx) => ctx,
            Err(failure) => return reply(Err(failure)),
        };
        let api = self.clone();
        let body = request.into_inner();
        let outcome = tokio::task::spawn_blocking(move || handler(&api, &ctx, body)).await;
        match outcome {
            Ok(result) => reply(result),
            Err(err) => {
                // A handler panicked: a bug, never an input. The request fails; the server
                // keeps serving.
                tracing::error!(error = %err, "request handler panicked");
                reply(Err(Failure::internal("internal error")))
            }
        }
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

macro_rules! service {
    ($($method:ident($req:ty) -> $resp:ty = $handler:path;)*) => {
        #[tonic::async_trait]
        impl MilvusService for MilvusApi {
            $(async fn $method(
                &self,
                request: Request<$req>,
            ) -> Result<Response<$resp>, tonic::Status> {
                self.run(request, $handler).await
            })*
        }
    };
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
);

no_db_name!(
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
    connect(pb::ConnectRequest) -> pb::ConnectResponse = session::connect;
    get_version(pb::GetVersionRequest) -> pb::GetVersionResponse = session::get_version;
    check_health(pb::CheckHealthRequest) -> pb::CheckHealthResponse = session::check_health;
    alloc_timestamp(pb::AllocTimestampRequest) -> pb::AllocTimestampResponse = session::alloc_timestamp;
    get_component_states(pb::GetComponentStatesRequest) -> pb::ComponentStates = session::get_component_states;
    get_metrics(pb::GetMetricsRequest) -> pb::GetMetricsResponse = session::get_metrics;

    create_collection(pb::CreateCollectionRequest) -> Status = collections::create_collection;
    drop_collection(pb::DropCollectionRequest) -> Status = collections::drop_collection;
    has_collection(pb::HasCollectionRequest) -> pb::BoolResponse = collections::has_collection;
    describe_collection(pb::DescribeCollectionRequest) -> pb::DescribeCollectionResponse = collections::describe_collection;
    show_collections(pb::ShowCollectionsRequest) -> pb::ShowCollectionsResponse = collections::show_collections;
    rename_collection(pb::RenameCollectionRequest) -> Status = collections::rename_collection;
    alter_collection(pb::AlterCollectionRequest) -> Status = collections::alter_collection;
    alter_collection_field(pb::AlterCollectionFieldRequest) -> Status = collections::alter_collection_field;
    get_collection_statistics(pb::GetCollectionStatisticsRequest) -> pb::GetCollectionStatisticsResponse = collections::get_collection_statistics;
    load_collection(pb::LoadCollectionRequest) -> Status = collections::load_collection;
    release_collection(pb::ReleaseCollectionRequest) -> Status = collections::release_collection;
    get_load_state(pb::GetLoadStateRequest) -> pb::GetLoadStateResponse = collections::get_load_state;
    get_loading_progress(pb::GetLoadingProgressRequest) -> pb::GetLoadingProgressResponse = collections::get_loading_progress;
    create_alias(pb::CreateAliasRequest) -> Status = collections::create_alias;
    drop_alias(pb::DropAliasRequest) -> Status = collections::drop_alias;
    alter_alias(pb::AlterAliasRequest) -> Status = collections::alter_alias;
    describe_alias(pb::DescribeAliasRequest) -> pb::DescribeAliasResponse = collections::describe_alias;
    list_aliases(pb::ListAliasesRequest) -> pb::ListAliasesResponse = collections::list_aliases;
    create_database(pb::CreateDatabaseRequest) -> Status = collections::create_database;
    drop_database(pb::DropDatabaseRequest) -> Status = collections::drop_database;
    list_databases(pb::ListDatabasesRequest) -> pb::ListDatabasesResponse = collections::list_databases;
    alter_database(pb::AlterDatabaseRequest) -> Status = collections::alter_database;
    describe_database(pb::DescribeDatabaseRequest) -> pb::DescribeDatabaseResponse = collections::describe_database;

    create_partition(pb::CreatePartitionRequest) -> Status = partitions::create_partition;
    drop_partition(pb::DropPartitionRequest) -> Status = partitions::drop_partition;
    has_partition(pb::HasPartitionRequest) -> pb::BoolResponse = partitions::has_partition;
    show_partitions(pb::ShowPartitionsRequest) -> pb::ShowPartitionsResponse = partitions::show_partitions;
    load_partitions(pb::LoadPartitionsRequest) -> Status = partitions::load_partitions;
    release_partitions(pb::ReleasePartitionsRequest) -> Status = partitions::release_partitions;
    get_partition_statistics(pb::GetPartitionStatisticsRequest) -> pb::GetPartitionStatisticsResponse = partitions::get_partition_statistics;

    create_index(pb::CreateIndexRequest) -> Status = index::create_index;
    alter_index(pb::AlterIndexRequest) -> Status = index::alter_index;
    describe_index(pb::DescribeIndexRequest) -> pb::DescribeIndexResponse = index::describe_index;
    get_index_state(pb::GetIndexStateRequest) -> pb::GetIndexStateResponse = index::get_index_state;
    get_index_build_progress(pb::GetIndexBuildProgressRequest) -> pb::GetIndexBuildProgressResponse = index::get_index_build_progress;
    drop_index(pb::DropIndexRequest) -> Status = index::drop_index;

    insert(pb::InsertRequest) -> pb::MutationResult = data::insert;
    upsert(pb::UpsertRequest) -> pb::MutationResult = data::upsert;
    delete(pb::DeleteRequest) -> pb::MutationResult = data::delete;
    flush(pb::FlushRequest) -> pb::FlushResponse = data::flush;
    get_flush_state(pb::GetFlushStateRequest) -> pb::GetFlushStateResponse = data::get_flush_state;
    manual_compaction(pb::ManualCompactionRequest) -> pb::ManualCompactionResponse = data::manual_compaction;
    get_compaction_state(pb::GetCompactionStateRequest) -> pb::GetCompactionStateResponse = data::get_compaction_state;

    search(pb::SearchRequest) -> pb::SearchResults = search::search;
    hybrid_search(pb::HybridSearchRequest) -> pb::SearchResults = search::hybrid_search;
    query(pb::QueryRequest) -> pb::QueryResults = search::query;

    create_credential(pb::CreateCredentialRequest) -> Status = access::create_credential;
    update_credential(pb::UpdateCredentialRequest) -> Status = access::update_credential;
    delete_credential(pb::DeleteCredentialRequest) -> Status = access::delete_credential;
    list_cred_users(pb::ListCredUsersRequest) -> pb::ListCredUsersResponse = access::list_cred_users;
    create_role(pb::CreateRoleRequest) -> Status = access::create_role;
    drop_role(pb::DropRoleRequest) -> Status = access::drop_role;
    operate_user_role(pb::OperateUserRoleRequest) -> Status = access::operate_user_role;
    select_role(pb::SelectRoleRequest) -> pb::SelectRoleResponse = access::select_role;
    select_user(pb::SelectUserRequest) -> pb::SelectUserResponse = access::select_user;
    operate_privilege(pb::OperatePrivilegeRequest) -> Status = access::operate_privilege;
    operate_privilege_v2(pb::OperatePrivilegeV2Request) -> Status = access::operate_privilege_v2;
    select_grant(pb::SelectGrantRequest) -> pb::SelectGrantResponse = access::select_grant;
    create_privilege_group(pb::CreatePrivilegeGroupRequest) -> Status = access::create_privilege_group;
    drop_privilege_group(pb::DropPrivilegeGroupRequest) -> Status = access::drop_privilege_group;
    list_privilege_groups(pb::ListPrivilegeGroupsRequest) -> pb::ListPrivilegeGroupsResponse = access::list_privilege_groups;
    operate_privilege_group(pb::OperatePrivilegeGroupRequest) -> Status = access::operate_privilege_group;
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
        let real = match self.db.collection_info(&ctx.db, name) {
            Ok(info) => info.name,
            Err(_) => name.to_owned(),
        };
        self.authorize(ctx, privilege, object_for(privilege, &real))?;
        Ok(real)
    }
}
