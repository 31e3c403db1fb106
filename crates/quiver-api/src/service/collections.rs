//! Collections, their load state and properties, aliases and databases.

use quiver_core::{DataType, ElementType, SchemaSpec};
use quiver_security::{Object, Privilege};

use crate::convert::schema::{decode, schema_to_wire, spec_from_wire};
use crate::limits::{Limit, RequestLimits};
use crate::proto::common::{KeyValuePair, LoadState, Status};
use crate::proto::milvus as pb;
use crate::service::{Ctx, MilvusApi, mass_deletion, object_for};
use crate::status::{Failure, code, ok_status};

/// Properties Milvus gives a meaning that Quiver does not implement: storing them would
/// promise behaviour (expiry, isolation, encryption) that never happens.
const REFUSED_PROPERTIES: &[&str] =
    &["collection.ttl.seconds", "partitionkey.isolation", "cipher.enabled", "cipher.key"];

fn properties(kvs: &[KeyValuePair]) -> Result<Vec<(String, String)>, Failure> {
    kvs.iter()
        .map(|kv| {
            if REFUSED_PROPERTIES.contains(&kv.key.as_str()) {
                Err(Failure::unsupported(format!("collection property {}", kv.key)))
            } else {
                Ok((kv.key.clone(), kv.value.clone()))
            }
        })
        .collect()
}

fn to_kvs(pairs: &[(String, String)]) -> Vec<KeyValuePair> {
    pairs.iter().map(|(k, v)| KeyValuePair { key: k.clone(), value: v.clone() }).collect()
}

/// A schema within the request limits: each vector field's dimension and each VarChar's
/// `max_length` (of a field or of an array's elements).
fn check_schema_limits(limits: &RequestLimits, spec: &SchemaSpec) -> Result<(), Failure> {
    for field in &spec.fields {
        let subject = Some(format!("field {:?}", field.name));
        match field.data_type {
            DataType::FloatVector { dim } => {
                limits.check_for(Limit::Dim, u64::from(dim), subject.as_deref())?;
            }
            DataType::VarChar { max_length }
            | DataType::Array { element: ElementType::VarChar { max_length }, .. } => {
                limits.check_for(
                    Limit::VarcharLength,
                    u64::from(max_length),
                    subject.as_deref(),
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn create_collection(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::CreateCollectionRequest,
) -> Result<Status, Failure> {
    api.authorize(ctx, Privilege::CreateCollection, Object::Database)?;
    let wire = decode(&req.schema)?;
    if !wire.name.is_empty() && wire.name != req.collection_name {
        return Err(Failure::invalid(format!(
            "collection name {:?} does not match the schema name {:?}",
            req.collection_name, wire.name
        )));
    }
    let spec = spec_from_wire(&wire)?;
    check_schema_limits(&api.limits, &spec)?;
    let props = properties(&req.properties)?;
    api.db.create_collection(&ctx.db, &req.collection_name, spec)?;
    if !props.is_empty() {
        api.db.alter_properties(&ctx.db, &req.collection_name, &props, &[])?;
    }
    Ok(ok_status())
}

pub(crate) fn drop_collection(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DropCollectionRequest,
) -> Result<Status, Failure> {
    api.authorize(ctx, Privilege::DropCollection, Object::Database)?;
    mass_deletion::check_drop_collection(api, ctx, &req.collection_name)?;
    api.db.drop_collection(&ctx.db, &req.collection_name)?;
    Ok(ok_status())
}

/// True only for collections the caller may see: existence is not disclosed to others.
pub(crate) fn has_collection(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::HasCollectionRequest,
) -> Result<pb::BoolResponse, Failure> {
    let value = match api.db.collection_info(&ctx.db, &req.collection_name) {
        Ok(info) => api.security.visible_principal(&ctx.principal, &ctx.db, &info.name),
        Err(_) => false,
    };
    Ok(pb::BoolResponse { status: Some(ok_status()), value })
}

pub(crate) fn describe_collection(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DescribeCollectionRequest,
) -> Result<pb::DescribeCollectionResponse, Failure> {
    if req.collection_name.is_empty() {
        return Err(Failure::new(code::MISSING_PARAMETER, "collection_name is required"));
    }
    let name =
        api.authorize_collection(ctx, Privilege::DescribeCollection, &req.collection_name)?;
    let info = api.db.collection_info(&ctx.db, &name)?;
    let collection = api.db.collection(&ctx.db, &name)?;
    Ok(pb::DescribeCollectionResponse {
        status: Some(ok_status()),
        schema: Some(schema_to_wire(collection.schema(), &info.name)),
        collection_id: info.id as i64,
        created_timestamp: info.created_ms << 18,
        created_utc_timestamp: info.created_ms,
        shards_num: 1,
        aliases: info.aliases,
        consistency_level: crate::proto::common::ConsistencyLevel::Strong as i32,
        collection_name: info.name,
        properties: to_kvs(&info.properties),
        db_name: ctx.db.clone(),
        num_partitions: collection.partitions().len() as i64,
        db_id: info.database_id as i64,
        ..Default::default()
    })
}

/// Lists only the collections the caller holds some privilege on.
pub(crate) fn show_collections(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::ShowCollectionsRequest,
) -> Result<pb::ShowCollectionsResponse, Failure> {
    let mut resp = pb::ShowCollectionsResponse { status: Some(ok_status()), ..Default::default() };
    for name in api.db.list_collections(&ctx.db)? {
        if !req.collection_names.is_empty() && !req.collection_names.contains(&name) {
            continue;
        }
        if !api.security.visible_principal(&ctx.principal, &ctx.db, &name) {
            continue;
        }
        let Ok(info) = api.db.collection_info(&ctx.db, &name) else { continue };
        resp.collection_ids.push(info.id as i64);
        resp.created_timestamps.push(info.created_ms << 18);
        resp.created_utc_timestamps.push(info.created_ms);
        resp.in_memory_percentages.push(if info.loaded { 100 } else { 0 });
        resp.query_service_available.push(info.loaded);
        resp.shards_num.push(1);
        resp.collection_names.push(name);
    }
    Ok(resp)
}

pub(crate) fn rename_collection(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::RenameCollectionRequest,
) -> Result<Status, Failure> {
    api.authorize(ctx, Privilege::RenameCollection, Object::Cluster)?;
    let new_db = if req.new_db_name.is_empty() { ctx.db.as_str() } else { &req.new_db_name };
    api.db.rename_collection(&ctx.db, &req.old_name, new_db, &req.new_name)?;
    Ok(ok_status())
}

/// Milvus checks AlterCollection as CreateCollection (a database-level privilege).
pub(crate) fn alter_collection(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::AlterCollectionRequest,
) -> Result<Status, Failure> {
    api.authorize(ctx, Privilege::CreateCollection, Object::Database)?;
    let set = properties(&req.properties)?;
    api.db.alter_properties(&ctx.db, &req.collection_name, &set, &req.delete_keys)?;
    Ok(ok_status())
}

pub(crate) fn alter_collection_field(
    api: &MilvusApi,
    ctx: &Ctx,
    _req: pb::AlterCollectionFieldRequest,
) -> Result<Status, Failure> {
    api.authorize(ctx, Privilege::CreateCollection, Object::Database)?;
    Err(Failure::unsupported("altering a field (AlterCollectionField)"))
}

pub(crate) fn get_collection_statistics(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::GetCollectionStatisticsRequest,
) -> Result<pb::GetCollectionStatisticsResponse, Failure> {
    let name = api.authorize_collection(ctx, Privilege::GetStatistics, &req.collection_name)?;
    let rows = api.db.collection(&ctx.db, &name)?.count();
    Ok(pb::GetCollectionStatisticsResponse {
        status: Some(ok_status()),
        stats: vec![KeyValuePair { key: "row_count".to_owned(), value: rows.to_string() }],
    })
}

/// Quiver serves every collection from its files at all times; the load state is recorded
/// (and survives restarts) so that searches of a released collection are refused as in Milvus.
pub(crate) fn load_collection(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::LoadCollectionRequest,
) -> Result<Status, Failure> {
    let name = api.authorize_collection(ctx, Privilege::Load, &req.collection_name)?;
    api.db.set_loaded(&ctx.db, &name, true)?;
    Ok(ok_status())
}

pub(crate) fn release_collection(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::ReleaseCollectionRequest,
) -> Result<Status, Failure> {
    let name = api.authorize_collection(ctx, Privilege::Release, &req.collection_name)?;
    api.db.set_loaded(&ctx.db, &name, false)?;
    Ok(ok_status())
}

pub(crate) fn get_load_state(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::GetLoadStateRequest,
) -> Result<pb::GetLoadStateResponse, Failure> {
    let name = api.authorize_collection(ctx, Privilege::GetLoadState, &req.collection_name)?;
    let info = api.db.collection_info(&ctx.db, &name)?;
    let collection = api.db.collection(&ctx.db, &name)?;
    let partitions = collection.partitions();
    if let Some(missing) = req.partition_names.iter().find(|p| !partitions.contains(p)) {
        return Err(Failure::new(
            code::PARTITION_NOT_FOUND,
            format!("partition {missing:?} not found"),
        ));
    }
    let state = if info.loaded { LoadState::Loaded } else { LoadState::NotLoad };
    Ok(pb::GetLoadStateResponse { status: Some(ok_status()), state: state as i32 })
}

pub(crate) fn get_loading_progress(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::GetLoadingProgressRequest,
) -> Result<pb::GetLoadingProgressResponse, Failure> {
    // Milvus's annotation of this RPC asks for GetLoadState (pymilvus's load polls it).
    let name = api.authorize_collection(ctx, Privilege::GetLoadState, &req.collection_name)?;
    let info = api.db.collection_info(&ctx.db, &name)?;
    if !info.loaded {
        return Err(Failure::new(
            code::COLLECTION_NOT_LOADED,
            format!("collection {name:?} is not loaded"),
        ));
    }
    Ok(pb::GetLoadingProgressResponse {
        status: Some(ok_status()),
        progress: 100,
        refresh_progress: 100,
    })
}

pub(crate) fn create_alias(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::CreateAliasRequest,
) -> Result<Status, Failure> {
    api.authorize(
        ctx,
        Privilege::CreateAlias,
        object_for(Privilege::CreateAlias, &req.collection_name),
    )?;
    api.db.create_alias(&ctx.db, &req.alias, &req.collection_name)?;
    Ok(ok_status())
}

/// Re-pointing an alias needs CreateAlias on the new target and DropAlias on the old one.
pub(crate) fn alter_alias(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::AlterAliasRequest,
) -> Result<Status, Failure> {
    api.authorize(
        ctx,
        Privilege::CreateAlias,
        object_for(Privilege::CreateAlias, &req.collection_name),
    )?;
    let old = api.db.describe_alias(&ctx.db, &req.alias).unwrap_or_default();
    api.authorize(ctx, Privilege::DropAlias, object_for(Privilege::DropAlias, &old))?;
    api.db.alter_alias(&ctx.db, &req.alias, &req.collection_name)?;
    Ok(ok_status())
}

pub(crate) fn drop_alias(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DropAliasRequest,
) -> Result<Status, Failure> {
    let target = api.db.describe_alias(&ctx.db, &req.alias).unwrap_or_default();
    api.authorize(ctx, Privilege::DropAlias, object_for(Privilege::DropAlias, &target))?;
    api.db.drop_alias(&ctx.db, &req.alias)?;
    Ok(ok_status())
}

pub(crate) fn describe_alias(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DescribeAliasRequest,
) -> Result<pb::DescribeAliasResponse, Failure> {
    let target = api.db.describe_alias(&ctx.db, &req.alias).unwrap_or_default();
    api.authorize(ctx, Privilege::DescribeAlias, object_for(Privilege::DescribeAlias, &target))?;
    let collection = api.db.describe_alias(&ctx.db, &req.alias)?;
    Ok(pb::DescribeAliasResponse {
        status: Some(ok_status()),
        db_name: ctx.db.clone(),
        alias: req.alias,
        collection,
    })
}

/// Aliases of one collection (ListAliases on it), or of every collection the caller may list
/// aliases of.
pub(crate) fn list_aliases(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::ListAliasesRequest,
) -> Result<pb::ListAliasesResponse, Failure> {
    let aliases = if req.collection_name.is_empty() {
        let mut out = Vec::new();
        for name in api.db.list_collections(&ctx.db)? {
            let allowed = api
                .security
                .check_principal(
                    &ctx.principal,
                    Privilege::ListAliases,
                    &Object::Collection(&name),
                    &ctx.db,
                )
                .is_ok();
            if allowed {
                out.extend(api.db.list_aliases(&ctx.db, Some(&name))?);
            }
        }
        out.sort();
        out
    } else {
        let name = api.authorize_collection(ctx, Privilege::ListAliases, &req.collection_name)?;
        api.db.list_aliases(&ctx.db, Some(&name))?
    };
    Ok(pb::ListAliasesResponse {
        status: Some(ok_status()),
        db_name: ctx.db.clone(),
        collection_name: req.collection_name,
        aliases,
    })
}

pub(crate) fn create_database(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::CreateDatabaseRequest,
) -> Result<Status, Failure> {
    api.authorize(ctx, Privilege::CreateDatabase, Object::Cluster)?;
    if !req.properties.is_empty() {
        return Err(Failure::unsupported("database properties"));
    }
    api.db.create_database(&req.db_name)?;
    Ok(ok_status())
}

pub(crate) fn drop_database(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DropDatabaseRequest,
) -> Result<Status, Failure> {
    api.authorize(ctx, Privilege::DropDatabase, Object::Cluster)?;
    api.db.drop_database(&req.db_name)?;
    Ok(ok_status())
}

/// Lists the databases the caller holds some privilege in (all of them for ListDatabases
/// holders and administrators).
pub(crate) fn list_databases(
    api: &MilvusApi,
    ctx: &Ctx,
    _req: pb::ListDatabasesRequest,
) -> Result<pb::ListDatabasesResponse, Failure> {
    let all = api
        .security
        .check_principal(&ctx.principal, Privilege::ListDatabases, &Object::Cluster, &ctx.db)
        .is_ok();
    let db_names: Vec<String> = api
        .db
        .list_databases()
        .into_iter()
        .filter(|db| all || api.security.visible_database_principal(&ctx.principal, db))
        .collect();
    Ok(pb::ListDatabasesResponse {
        status: Some(ok_status()),
        created_timestamp: vec![0; db_names.len()],
        db_ids: Vec::new(),
        db_names,
    })
}

pub(crate) fn alter_database(
    api: &MilvusApi,
    ctx: &Ctx,
    _req: pb::AlterDatabaseRequest,
) -> Result<Status, Failure> {
    api.authorize(ctx, Privilege::AlterDatabase, Object::Database)?;
    Err(Failure::unsupported("database properties"))
}

pub(crate) fn describe_database(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DescribeDatabaseRequest,
) -> Result<pb::DescribeDatabaseResponse, Failure> {
    api.authorize(ctx, Privilege::DescribeDatabase, Object::Database)?;
    if !api.db.list_databases().contains(&ctx.db) {
        return Err(Failure::new(
            code::DATABASE_NOT_FOUND,
            format!("database {:?} not found", ctx.db),
        ));
    }
    Ok(pb::DescribeDatabaseResponse {
        status: Some(ok_status()),
        db_name: if req.db_name.is_empty() { ctx.db.clone() } else { req.db_name },
        ..Default::default()
    })
}
