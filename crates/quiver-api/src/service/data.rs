//! Writes and their housekeeping: Insert, Upsert, Delete, Flush (with GetFlushState) and
//! manual compaction (with GetCompactionState).
//!
//! Quiver's writes are durable when acknowledged and its flush and compaction run to
//! completion inside the request, so the state RPCs that clients poll afterwards answer
//! "done" at once.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use quiver_core::{ColumnData, InsertBatch, Schema};
use quiver_engine::{EngineError, QueryRequest, WriteResult};
use quiver_security::Privilege;

use crate::convert::fields;
use crate::limits::{Limit, RequestLimits};
use crate::proto::common::CompactionState;
use crate::proto::milvus as pb;
use crate::proto::schema as wire;
use crate::service::{Ctx, MilvusApi, mass_deletion};
use crate::status::{Failure, ok_status};

/// Most collections one Flush request may name.
const MAX_FLUSH_COLLECTIONS: usize = 4096;

/// A hybrid timestamp like Milvus's (physical milliseconds over an 18-bit logical part),
/// strictly increasing across calls so that clients tracking their last write see order.
pub(crate) fn hybrid_timestamp() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64);
    let now = ms.unwrap_or(0) << 18;
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last + 1)))
        .unwrap_or(0);
    now.max(previous + 1)
}

/// A `namespace` (a Milvus 2.6 feature) is refused rather than ignored: ignoring it would
/// write to or read from the wrong rows.
pub(crate) fn refuse_namespace(namespace: &Option<String>) -> Result<(), Failure> {
    match namespace.as_deref() {
        None | Some("") => Ok(()),
        Some(_) => Err(Failure::unsupported("namespaces")),
    }
}

/// The columns of an insert or upsert as a batch, within the request limits: the row count
/// is checked before anything is sized by it, each JSON value (JSON fields and the dynamic
/// field) after decoding.
fn write_batch(
    limits: &RequestLimits,
    schema: &Schema,
    fields_data: Vec<wire::FieldData>,
    num_rows: u32,
) -> Result<InsertBatch, Failure> {
    limits.check(Limit::RowsPerWrite, u64::from(num_rows))?;
    let batch = fields::insert_batch(schema, fields_data, num_rows)?;
    for (_, column) in &batch.columns {
        if let ColumnData::Json(values) = &column.data {
            let longest = values.iter().map(String::len).max().unwrap_or(0);
            limits.check_len(Limit::JsonBytes, longest)?;
        }
    }
    Ok(batch)
}

fn partition(name: &str) -> Option<&str> {
    (!name.is_empty()).then_some(name)
}

enum Write {
    Insert,
    Upsert,
}

fn mutation_result(schema: &Schema, written: &WriteResult, kind: Write) -> pb::MutationResult {
    let count = written.count as i64;
    let mut result = pb::MutationResult {
        status: Some(ok_status()),
        i_ds: Some(fields::ids(schema, &written.pks)),
        succ_index: (0..written.pks.len() as u32).collect(),
        timestamp: hybrid_timestamp(),
        ..Default::default()
    };
    match kind {
        Write::Insert => result.insert_cnt = count,
        Write::Upsert => result.upsert_cnt = count,
    }
    result
}

pub(crate) fn insert(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::InsertRequest,
) -> Result<pb::MutationResult, Failure> {
    api.authorize_collection(ctx, Privilege::Insert, &req.collection_name)?;
    api.check_data_quota()?;
    refuse_namespace(&req.namespace)?;
    let collection = api.db.collection(&ctx.db, &req.collection_name)?;
    let batch = write_batch(&api.limits, collection.schema(), req.fields_data, req.num_rows)?;
    let written = collection.insert(partition(&req.partition_name), batch)?;
    api.metrics.rows_inserted(&ctx.db, collection.name(), written.count);
    Ok(mutation_result(collection.schema(), &written, Write::Insert))
}

/// Upsert replaces the live rows with the same primary keys. With auto-id the keys given are
/// kept (the engine's rule); Milvus would assign new ones.
pub(crate) fn upsert(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::UpsertRequest,
) -> Result<pb::MutationResult, Failure> {
    api.authorize_collection(ctx, Privilege::Upsert, &req.collection_name)?;
    api.check_data_quota()?;
    refuse_namespace(&req.namespace)?;
    if req.partial_update || !req.field_ops.is_empty() {
        return Err(Failure::unsupported("partial upsert (partial_update, field_ops)"));
    }
    let collection = api.db.collection(&ctx.db, &req.collection_name)?;
    let batch = write_batch(&api.limits, collection.schema(), req.fields_data, req.num_rows)?;
    let written = collection.upsert(partition(&req.partition_name), batch)?;
    api.metrics.rows_inserted(&ctx.db, collection.name(), written.count);
    Ok(mutation_result(collection.schema(), &written, Write::Upsert))
}

/// Deletes the rows matching `expr` (pymilvus sends a delete by ids as `pk in [...]`); with
/// `partition_name`, only the matching rows of that partition. `delete_cnt` is the number of
/// rows actually deleted (Milvus counts the keys of a delete by ids, found or not).
pub(crate) fn delete(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::DeleteRequest,
) -> Result<pb::MutationResult, Failure> {
    api.authorize_collection(ctx, Privilege::Delete, &req.collection_name)?;
    refuse_namespace(&req.namespace)?;
    let collection = api.db.collection(&ctx.db, &req.collection_name)?;
    if req.expr.trim().is_empty() {
        return Err(Failure::invalid("the delete expression (expr) cannot be empty"));
    }
    api.limits.check_len(Limit::FilterBytes, req.expr.len())?;
    let templates = fields::template_values(req.expr_template_values)?;
    let filter = collection.compile_filter(&req.expr, &templates, &api.limits.filter())?;
    let scope: Vec<String> =
        partition(&req.partition_name).map(str::to_owned).into_iter().collect();
    mass_deletion::check_delete(api, ctx, &collection, (&filter, &req.expr), &scope)?;
    let written = match partition(&req.partition_name) {
        None => collection.delete_by_filter(&filter)?,
        Some(name) => {
            if !collection.partitions().iter().any(|p| p == name) {
                return Err(EngineError::PartitionNotFound { name: name.to_owned() }.into());
            }
            let partitions = [name.to_owned()];
            let matching = collection.count_matching(&filter, &partitions)?;
            api.limits.check(Limit::RowsPerWrite, matching)?;
            let rows = collection.query(&QueryRequest {
                filter: Some(&filter),
                partitions: &partitions,
                output_fields: &[],
                offset: 0,
                limit: None,
            })?;
            let pks: Vec<_> = rows.into_iter().map(|row| row.pk).collect();
            collection.delete(&pks)?
        }
    };
    api.metrics.rows_deleted(&ctx.db, collection.name(), written.count);
    // Like Milvus since 2.3.2, no primary keys: pymilvus then reports `delete_count`.
    Ok(pb::MutationResult {
        status: Some(ok_status()),
        delete_cnt: written.count as i64,
        timestamp: hybrid_timestamp(),
        ..Default::default()
    })
}

/// Seals the growing data of each collection and checkpoints its log. Every collection is
/// authorized and resolved before any is flushed.
pub(crate) fn flush(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::FlushRequest,
) -> Result<pb::FlushResponse, Failure> {
    if req.collection_names.is_empty() {
        return Err(Failure::invalid("collection_names is empty"));
    }
    if req.collection_names.len() > MAX_FLUSH_COLLECTIONS {
        return Err(Failure::invalid(format!(
            "at most {MAX_FLUSH_COLLECTIONS} collections per flush"
        )));
    }
    let mut collections = Vec::with_capacity(req.collection_names.len());
    for name in &req.collection_names {
        api.authorize_collection(ctx, Privilege::Flush, name)?;
        collections.push((name, api.db.collection(&ctx.db, name)?));
    }
    let mut resp = pb::FlushResponse {
        status: Some(ok_status()),
        db_name: ctx.db.clone(),
        ..Default::default()
    };
    let seal_time = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    for (name, collection) in collections {
        collection.flush()?;
        // pymilvus reads the segment ids and the flush timestamp of each collection and
        // passes them to GetFlushState; Quiver's flush is already complete.
        resp.coll_seg_i_ds.insert(name.clone(), wire::LongArray::default());
        resp.flush_coll_seg_i_ds.insert(name.clone(), wire::LongArray::default());
        resp.coll_seal_times.insert(name.clone(), seal_time);
        resp.coll_flush_ts.insert(name.clone(), hybrid_timestamp());
    }
    Ok(resp)
}

/// Always flushed: Flush completes before it answers. A request naming a collection must be
/// allowed GetFlushState on it, and the collection must exist.
pub(crate) fn get_flush_state(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::GetFlushStateRequest,
) -> Result<pb::GetFlushStateResponse, Failure> {
    if !req.collection_name.is_empty() {
        api.authorize_collection(ctx, Privilege::GetFlushState, &req.collection_name)?;
        api.db.collection_info(&ctx.db, &req.collection_name)?;
    }
    Ok(pb::GetFlushStateResponse { status: Some(ok_status()), flushed: true })
}

static NEXT_COMPACTION_ID: AtomicI64 = AtomicI64::new(0);

/// Compacts the collection (purges deleted rows from its segments) before answering, and
/// hands out a compaction id for GetCompactionState. Clustering and L0 compaction requests
/// run the same compaction.
pub(crate) fn manual_compaction(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::ManualCompactionRequest,
) -> Result<pb::ManualCompactionResponse, Failure> {
    if req.collection_name.is_empty() {
        return Err(Failure::invalid("collection_name is required"));
    }
    api.authorize_collection(ctx, Privilege::Compaction, &req.collection_name)?;
    let collection = api.db.collection(&ctx.db, &req.collection_name)?;
    let stats = collection.compact()?;
    // Ids start from the clock so that they do not repeat across restarts.
    let seed = (hybrid_timestamp() >> 18) as i64;
    let id = NEXT_COMPACTION_ID
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(seed.max(last + 1)))
        .map_or(seed, |last| seed.max(last + 1));
    Ok(pb::ManualCompactionResponse {
        status: Some(ok_status()),
        compaction_id: id,
        compaction_plan_count: i32::try_from(stats.segments_rewritten).unwrap_or(i32::MAX),
    })
}

/// Always completed: ManualCompaction completes before it answers. The request names no
/// collection, so only authentication (done before any handler runs) is required.
pub(crate) fn get_compaction_state(
    _api: &MilvusApi,
    _ctx: &Ctx,
    _req: pb::GetCompactionStateRequest,
) -> Result<pb::GetCompactionStateResponse, Failure> {
    Ok(pb::GetCompactionStateResponse {
        status: Some(ok_status()),
        state: CompactionState::Completed as i32,
        ..Default::default()
    })
}

/// What the handler tests of `data.rs` and `search.rs` share: a real database and security
/// store in a temporary directory, and builders of wire columns.
#[cfg(test)]
pub(crate) mod testkit {
    use std::sync::Arc;

    use quiver_core::{DataType, ElementType, FieldSpec, SchemaSpec};
    use quiver_engine::{Database, Options};
    use quiver_security::{Secret, SecurityStore};
    use quiver_storage::LocalBackend;

    use crate::proto::common::KeyValuePair;
    use crate::proto::milvus as pb;
    use crate::proto::schema::{self as wire, field_data, scalar_field, vector_field};
    use crate::service::{Ctx, MilvusApi};
    use crate::status::Failure;

    pub(crate) struct Env {
        pub(crate) api: MilvusApi,
        pub(crate) root: Ctx,
        _dir: tempfile::TempDir,
    }

    pub(crate) fn env() -> Env {
        let dir = tempfile::tempdir().unwrap();
        // No recycle bin or retention window: drops and compactions act at once.
        let options = Options {
            maintenance_interval: None,
            trash_retention: std::time::Duration::ZERO,
            ..Options::default()
        };
        let db = Database::open(&dir.path().join("data"), options).unwrap();
        let backend = Arc::new(LocalBackend::new(dir.path().join("security")).unwrap());
        let security =
            SecurityStore::initialize(backend, &Secret::new("a-Strong-admin-passw0rd".into()))
                .unwrap();
        let api = MilvusApi::new(Arc::new(db), Arc::new(security));
        Env { api, root: Ctx::local("root", "default"), _dir: dir }
    }

    impl Env {
        /// A user without any grant.
        pub(crate) fn stranger(&self) -> Ctx {
            self.api
                .security
                .create_user("alice", &Secret::new("Another-str0ng-pass".into()))
                .unwrap();
            Ctx::local("alice", "default")
        }

        pub(crate) fn create(&self, name: &str, fields: Vec<FieldSpec>, dynamic: bool, load: bool) {
            let spec =
                SchemaSpec { description: String::new(), fields, enable_dynamic_field: dynamic };
            self.api.db.create_collection("default", name, spec).unwrap();
            self.api.db.set_loaded("default", name, load).unwrap();
        }

        /// `id` Int64, `vector` FloatVector(dim), dynamic, loaded.
        pub(crate) fn simple(&self, name: &str, dim: u32) {
            self.create(
                name,
                vec![
                    FieldSpec::primary("id", DataType::Int64),
                    FieldSpec::new("vector", DataType::FloatVector { dim }),
                ],
                true,
                true,
            );
        }

        /// Inserts `(id, vector, dynamic JSON)` rows into a collection made by `simple`.
        pub(crate) fn insert_rows(&self, name: &str, rows: &[(i64, Vec<f32>, &str)]) {
            let dim = rows[0].1.len() as i64;
            let mut meta = json(DYNAMIC, rows.iter().map(|r| r.2).collect());
            meta.is_dynamic = true;
            let req = pb::InsertRequest {
                collection_name: name.into(),
                fields_data: vec![
                    longs("id", rows.iter().map(|r| r.0).collect()),
                    vectors("vector", dim, rows.iter().flat_map(|r| r.1.clone()).collect()),
                    meta,
                ],
                num_rows: rows.len() as u32,
                ..Default::default()
            };
            super::insert(&self.api, &self.root, req).unwrap();
        }
    }

    pub(crate) const DYNAMIC: &str = "$meta";

    pub(crate) fn kv(pairs: &[(&str, &str)]) -> Vec<KeyValuePair> {
        pairs.iter().map(|(k, v)| KeyValuePair { key: (*k).into(), value: (*v).into() }).collect()
    }

    pub(crate) fn scalar(
        name: &str,
        data_type: wire::DataType,
        data: scalar_field::Data,
    ) -> wire::FieldData {
        wire::FieldData {
            r#type: data_type as i32,
            field_name: name.into(),
            field: Some(field_data::Field::Scalars(wire::ScalarField { data: Some(data) })),
            ..Default::default()
        }
    }

    pub(crate) fn longs(name: &str, data: Vec<i64>) -> wire::FieldData {
        scalar(name, wire::DataType::Int64, scalar_field::Data::LongData(wire::LongArray { data }))
    }

    pub(crate) fn strings(name: &str, data: Vec<&str>) -> wire::FieldData {
        let data = data.into_iter().map(String::from).collect();
        scalar(
            name,
            wire::DataType::VarChar,
            scalar_field::Data::StringData(wire::StringArray { data }),
        )
    }

    pub(crate) fn json(name: &str, rows: Vec<&str>) -> wire::FieldData {
        let data = rows.into_iter().map(|r| r.as_bytes().to_vec()).collect();
        scalar(name, wire::DataType::Json, scalar_field::Data::JsonData(wire::JsonArray { data }))
    }

    pub(crate) fn vectors(name: &str, dim: i64, data: Vec<f32>) -> wire::FieldData {
        wire::FieldData {
            r#type: wire::DataType::FloatVector as i32,
            field_name: name.into(),
            field: Some(field_data::Field::Vectors(wire::VectorField {
                dim,
                data: Some(vector_field::Data::FloatVector(wire::FloatArray { data })),
            })),
            ..Default::default()
        }
    }

    pub(crate) fn array_of_varchar() -> DataType {
        DataType::Array { element: ElementType::VarChar { max_length: 16 }, max_capacity: 4 }
    }

    /// The Milvus code and reason of a failure.
    pub(crate) fn milvus_failure<T: std::fmt::Debug>(result: Result<T, Failure>) -> (i32, String) {
        match result {
            Err(Failure::Milvus { code, reason, .. }) => (code, reason),
            other => panic!("expected a Milvus failure, got {other:?}"),
        }
    }

    /// Asserts a Milvus failure with `code` whose reason contains `text`.
    #[track_caller]
    pub(crate) fn assert_fails<T: std::fmt::Debug>(
        result: Result<T, Failure>,
        code: i32,
        text: &str,
    ) {
        let (got, reason) = milvus_failure(result);
        assert_eq!(got, code, "{reason}");
        assert!(reason.contains(text), "{reason:?} does not mention {text:?}");
    }

    /// Asserts a gRPC PERMISSION_DENIED.
    #[track_caller]
    pub(crate) fn assert_denied<T: std::fmt::Debug>(result: Result<T, Failure>) {
        match result {
            Err(Failure::Grpc(status)) => {
                assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}")
            }
            other => panic!("expected PERMISSION_DENIED, got {other:?}"),
        }
    }

    /// The int64 values of a scalar column.
    pub(crate) fn long_values(column: &wire::FieldData) -> Vec<i64> {
        match &column.field {
            Some(field_data::Field::Scalars(wire::ScalarField {
                data: Some(scalar_field::Data::LongData(a)),
            })) => a.data.clone(),
            other => panic!("not a long column: {other:?}"),
        }
    }

    /// The dynamic objects of a `$meta` column.
    pub(crate) fn json_values(column: &wire::FieldData) -> Vec<serde_json::Value> {
        match &column.field {
            Some(field_data::Field::Scalars(wire::ScalarField {
                data: Some(scalar_field::Data::JsonData(a)),
            })) => a.data.iter().map(|b| serde_json::from_slice(b).unwrap()).collect(),
            other => panic!("not a JSON column: {other:?}"),
        }
    }

    pub(crate) fn column<'r>(columns: &'r [wire::FieldData], name: &str) -> &'r wire::FieldData {
        columns.iter().find(|c| c.field_name == name).unwrap_or_else(|| panic!("no column {name}"))
    }
}

#[cfg(test)]
mod tests {
    use quiver_core::{DataType, ElementType, FieldSpec};
    use quiver_engine::IndexSpec;

    use super::testkit::*;
    use super::*;
    use crate::proto::schema::{field_data, i_ds, scalar_field};
    use crate::service::search::query;
    use crate::status::code;

    fn scalars(column: &wire::FieldData) -> &scalar_field::Data {
        match &column.field {
            Some(field_data::Field::Scalars(wire::ScalarField { data: Some(data) })) => data,
            other => panic!("not a scalar column: {other:?}"),
        }
    }

    fn query_all(env: &Env, name: &str, expr: &str, output: &[&str]) -> pb::QueryResults {
        let req = pb::QueryRequest {
            collection_name: name.into(),
            expr: expr.into(),
            output_fields: output.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        query(&env.api, &env.root, req).unwrap()
    }

    fn ids_of(result: &pb::MutationResult) -> Vec<i64> {
        match result.i_ds.as_ref().and_then(|ids| ids.id_field.clone()) {
            Some(i_ds::IdField::IntId(a)) => a.data,
            other => panic!("no int ids: {other:?}"),
        }
    }

    fn every_type_collection(env: &Env) {
        let nullable =
            |name: &str, data_type| FieldSpec { nullable: true, ..FieldSpec::new(name, data_type) };
        env.create(
            "every",
            vec![
                FieldSpec::primary("id", DataType::Int64),
                FieldSpec::new("flag", DataType::Bool),
                FieldSpec::new("tiny", DataType::Int8),
                FieldSpec::new("small", DataType::Int16),
                FieldSpec::new("mid", DataType::Int32),
                FieldSpec::new("big", DataType::Int64),
                FieldSpec::new("ratio", DataType::Float),
                FieldSpec::new("precise", DataType::Double),
                FieldSpec::new("name", DataType::VarChar { max_length: 32 }),
                FieldSpec::new("doc", DataType::Json),
                FieldSpec::new("tags", array_of_varchar()),
                FieldSpec::new(
                    "nums",
                    DataType::Array { element: ElementType::Int32, max_capacity: 4 },
                ),
                nullable("maybe", DataType::Int32),
                nullable("label", DataType::VarChar { max_length: 16 }),
                FieldSpec::new("vector", DataType::FloatVector { dim: 2 }),
            ],
            true,
            true,
        );
    }

    fn every_type_rows() -> Vec<wire::FieldData> {
        use scalar_field::Data as S;
        let ints = |name: &str, t: wire::DataType, data: Vec<i32>| {
            scalar(name, t, S::IntData(wire::IntArray { data }))
        };
        let cell = |data: S| wire::ScalarField { data: Some(data) };
        let strs = |v: &[&str]| {
            S::StringData(wire::StringArray { data: v.iter().map(|s| s.to_string()).collect() })
        };
        let mut maybe = ints("maybe", wire::DataType::Int32, vec![10, 30]);
        maybe.valid_data = vec![true, false, true];
        let mut label = strings("label", vec!["", "hi", ""]);
        label.valid_data = vec![false, true, false];
        let mut meta =
            json(DYNAMIC, vec!["{\"color\":\"red\"}", "{}", "{\"color\":\"blue\",\"n\":2}"]);
        meta.is_dynamic = true;
        vec![
            longs("id", vec![1, 2, 3]),
            scalar(
                "flag",
                wire::DataType::Bool,
                S::BoolData(wire::BoolArray { data: vec![true, false, true] }),
            ),
            ints("tiny", wire::DataType::Int8, vec![-5, 0, 127]),
            ints("small", wire::DataType::Int16, vec![-300, 0, 300]),
            ints("mid", wire::DataType::Int32, vec![-70000, 0, 70000]),
            longs("big", vec![i64::MAX, -1, 0]),
            scalar(
                "ratio",
                wire::DataType::Float,
                S::FloatData(wire::FloatArray { data: vec![0.5, -1.25, 3.0] }),
            ),
            scalar(
                "precise",
                wire::DataType::Double,
                S::DoubleData(wire::DoubleArray { data: vec![1e100, -2.5, 0.0] }),
            ),
            strings("name", vec!["a", "b", "c"]),
            json("doc", vec!["{\"k\":1}", "[1,2]", "\"s\""]),
            scalar(
                "tags",
                wire::DataType::Array,
                S::ArrayData(wire::ArrayArray {
                    data: vec![
                        cell(strs(&["x", "y"])),
                        wire::ScalarField { data: None },
                        cell(strs(&["z"])),
                    ],
                    element_type: wire::DataType::VarChar as i32,
                }),
            ),
            scalar(
                "nums",
                wire::DataType::Array,
                S::ArrayData(wire::ArrayArray {
                    data: vec![
                        cell(S::IntData(wire::IntArray { data: vec![1, 2] })),
                        cell(S::IntData(wire::IntArray { data: vec![3] })),
                        wire::ScalarField { data: None },
                    ],
                    element_type: 0,
                }),
            ),
            maybe,
            label,
            vectors("vector", 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            meta,
        ]
    }

    #[test]
    fn insert_then_query_round_trips_every_type_nulls_and_dynamic_keys() {
        use scalar_field::Data as S;
        let env = env();
        every_type_collection(&env);
        let req = pb::InsertRequest {
            collection_name: "every".into(),
            fields_data: every_type_rows(),
            num_rows: 3,
            ..Default::default()
        };
        let result = insert(&env.api, &env.root, req).unwrap();
        assert_eq!(ids_of(&result), vec![1, 2, 3]);
        assert_eq!((result.insert_cnt, result.succ_index.clone()), (3, vec![0, 1, 2]));

        let res = query_all(&env, "every", "id >= 1", &["*"]);
        assert_eq!(res.status.as_ref().map(|s| s.code), Some(0));
        assert_eq!(res.primary_field_name, "id");
        let cols = &res.fields_data;
        assert_eq!(
            res.output_fields,
            [
                "id", "flag", "tiny", "small", "mid", "big", "ratio", "precise", "name", "doc",
                "tags", "nums", "maybe", "label", "vector", "$meta"
            ]
        );
        assert_eq!(long_values(column(cols, "id")), vec![1, 2, 3]);
        assert_eq!(
            scalars(column(cols, "flag")),
            &S::BoolData(wire::BoolArray { data: vec![true, false, true] })
        );
        assert_eq!(
            scalars(column(cols, "tiny")),
            &S::IntData(wire::IntArray { data: vec![-5, 0, 127] })
        );
        assert_eq!(column(cols, "tiny").r#type, wire::DataType::Int8 as i32);
        assert_eq!(
            scalars(column(cols, "small")),
            &S::IntData(wire::IntArray { data: vec![-300, 0, 300] })
        );
        assert_eq!(
            scalars(column(cols, "mid")),
            &S::IntData(wire::IntArray { data: vec![-70000, 0, 70000] })
        );
        assert_eq!(long_values(column(cols, "big")), vec![i64::MAX, -1, 0]);
        assert_eq!(
            scalars(column(cols, "ratio")),
            &S::FloatData(wire::FloatArray { data: vec![0.5, -1.25, 3.0] })
        );
        assert_eq!(
            scalars(column(cols, "precise")),
            &S::DoubleData(wire::DoubleArray { data: vec![1e100, -2.5, 0.0] })
        );
        assert_eq!(
            scalars(column(cols, "name")),
            &S::StringData(wire::StringArray { data: vec!["a".into(), "b".into(), "c".into()] })
        );
        let docs: Vec<serde_json::Value> = json_values(column(cols, "doc"));
        assert_eq!(
            docs,
            vec![serde_json::json!({"k": 1}), serde_json::json!([1, 2]), serde_json::json!("s")]
        );
        let S::ArrayData(tags) = scalars(column(cols, "tags")) else { panic!() };
        assert_eq!(tags.element_type, wire::DataType::VarChar as i32);
        let tag_cells: Vec<Option<S>> = tags.data.iter().map(|c| c.data.clone()).collect();
        assert_eq!(
            tag_cells,
            vec![
                Some(S::StringData(wire::StringArray { data: vec!["x".into(), "y".into()] })),
                Some(S::StringData(wire::StringArray { data: vec![] })),
                Some(S::StringData(wire::StringArray { data: vec!["z".into()] })),
            ]
        );
        let S::ArrayData(nums) = scalars(column(cols, "nums")) else { panic!() };
        assert_eq!(nums.element_type, wire::DataType::Int32 as i32);
        assert_eq!(nums.data[0].data, Some(S::IntData(wire::IntArray { data: vec![1, 2] })));
        let maybe = column(cols, "maybe");
        assert_eq!(maybe.valid_data, vec![true, false, true]);
        assert_eq!(scalars(maybe), &S::IntData(wire::IntArray { data: vec![10, 0, 30] }));
        let label = column(cols, "label");
        assert_eq!(label.valid_data, vec![false, true, false]);
        assert_eq!(
            scalars(label),
            &S::StringData(wire::StringArray { data: vec!["".into(), "hi".into(), "".into()] })
        );
        assert!(column(cols, "flag").valid_data.is_empty());
        let Some(field_data::Field::Vectors(vector)) = &column(cols, "vector").field else {
            panic!()
        };
        assert_eq!(vector.dim, 2);
        assert_eq!(
            vector.data,
            Some(crate::proto::schema::vector_field::Data::FloatVector(wire::FloatArray {
                data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
            }))
        );
        let meta = column(cols, "$meta");
        assert!(meta.is_dynamic);
        assert_eq!(
            json_values(meta),
            vec![
                serde_json::json!({"color": "red"}),
                serde_json::json!({}),
                serde_json::json!({"color": "blue", "n": 2})
            ]
        );

        // A dynamic key by name: the $meta column holds only that key; filters see dynamic
        // keys and nulls.
        let res = query_all(&env, "every", "color == \"blue\" or maybe is null", &["color"]);
        assert_eq!(res.output_fields, ["id", "color"]);
        assert_eq!(long_values(column(&res.fields_data, "id")), vec![2, 3]);
        assert_eq!(
            json_values(column(&res.fields_data, "$meta")),
            vec![serde_json::json!({}), serde_json::json!({"color": "blue"})]
        );
    }

    #[test]
    fn varchar_keys_travel_as_str_ids() {
        let env = env();
        env.create(
            "named",
            vec![
                FieldSpec::primary("key", DataType::VarChar { max_length: 8 }),
                FieldSpec::new("vector", DataType::FloatVector { dim: 2 }),
            ],
            false,
            true,
        );
        let req = pb::InsertRequest {
            collection_name: "named".into(),
            fields_data: vec![
                strings("key", vec!["b", "a"]),
                vectors("vector", 2, vec![0.0, 1.0, 1.0, 0.0]),
            ],
            num_rows: 2,
            ..Default::default()
        };
        let result = insert(&env.api, &env.root, req).unwrap();
        assert_eq!(
            result.i_ds.unwrap().id_field,
            Some(i_ds::IdField::StrId(wire::StringArray { data: vec!["b".into(), "a".into()] }))
        );
        let req = pb::DeleteRequest {
            collection_name: "named".into(),
            expr: "key in [\"a\", \"zz\"]".into(),
            ..Default::default()
        };
        let deleted = delete(&env.api, &env.root, req).unwrap();
        assert_eq!(deleted.delete_cnt, 1);
        let res = query_all(&env, "named", "key != \"\"", &[]);
        assert_eq!(res.output_fields, ["key"]);
        assert_eq!(
            scalars(&res.fields_data[0]),
            &scalar_field::Data::StringData(wire::StringArray { data: vec!["b".into()] })
        );
    }

    #[test]
    fn auto_id_assigns_keys_and_refuses_given_ones() {
        let env = env();
        env.create(
            "auto",
            vec![
                FieldSpec { auto_id: true, ..FieldSpec::primary("id", DataType::Int64) },
                FieldSpec::new("vector", DataType::FloatVector { dim: 2 }),
            ],
            false,
            true,
        );
        let rows = |with_pk: bool| {
            let mut fields = vec![vectors("vector", 2, vec![0.0, 1.0, 1.0, 0.0])];
            if with_pk {
                fields.push(longs("id", vec![1, 2]));
            }
            pb::InsertRequest {
                collection_name: "auto".into(),
                fields_data: fields,
                num_rows: 2,
                ..Default::default()
            }
        };
        let result = insert(&env.api, &env.root, rows(false)).unwrap();
        let ids = ids_of(&result);
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1], ids[0] + 1);
        assert_fails(insert(&env.api, &env.root, rows(true)), code::INVALID_PARAMETER, "auto_id");
    }

    #[test]
    fn bad_inserts_fail_with_milvus_codes_and_name_the_problem() {
        let env = env();
        env.simple("docs", 2);
        let request = |fields: Vec<wire::FieldData>, num_rows: u32| pb::InsertRequest {
            collection_name: "docs".into(),
            fields_data: fields,
            num_rows,
            ..Default::default()
        };
        let api = &env.api;
        let ctx = &env.root;
        let good = || vec![longs("id", vec![1]), vectors("vector", 2, vec![0.5, 0.5])];
        assert_fails(
            insert(
                api,
                ctx,
                request(vec![longs("id", vec![1]), vectors("vector", 3, vec![0.0; 3])], 1),
            ),
            code::INVALID_PARAMETER,
            "dim",
        );
        assert_fails(
            insert(
                api,
                ctx,
                request(vec![longs("id", vec![1]), vectors("vector", 2, vec![f32::NAN, 0.0])], 1),
            ),
            code::INVALID_PARAMETER,
            "NaN",
        );
        assert_fails(
            insert(
                api,
                ctx,
                request(vec![longs("id", vec![1, 2]), vectors("vector", 2, vec![0.0; 2])], 2),
            ),
            code::INVALID_PARAMETER,
            "1 vectors but num_rows is 2",
        );
        assert_fails(
            insert(
                api,
                ctx,
                request(vec![strings("id", vec!["x"]), vectors("vector", 2, vec![0.0; 2])], 1),
            ),
            code::INVALID_PARAMETER,
            "is Int64 but its data is typed VarChar",
        );
        let mut with_unknown = good();
        with_unknown.push(longs("color", vec![1]));
        assert_fails(
            insert(api, ctx, request(with_unknown, 1)),
            code::INVALID_PARAMETER,
            "\"color\" does not exist",
        );
        assert_fails(
            insert(api, ctx, request(vec![longs("id", vec![1])], 1)),
            code::INVALID_PARAMETER,
            "vector",
        );
        assert_fails(insert(api, ctx, request(good(), 0)), code::INVALID_PARAMETER, "num_rows");
        insert(api, ctx, request(good(), 1)).unwrap();
        assert_fails(
            insert(api, ctx, request(good(), 1)),
            code::INVALID_PARAMETER,
            "already exists",
        );
        let mut elsewhere = request(good(), 1);
        elsewhere.partition_name = "nowhere".into();
        assert_fails(insert(api, ctx, elsewhere), code::PARTITION_NOT_FOUND, "nowhere");
        let mut missing = request(good(), 1);
        missing.collection_name = "missing".into();
        assert_fails(insert(api, ctx, missing), code::COLLECTION_NOT_FOUND, "missing");
        let mut namespaced = request(good(), 1);
        namespaced.namespace = Some("tenant".into());
        assert_fails(insert(api, ctx, namespaced), code::UNSUPPORTED, "namespaces");
    }

    #[test]
    fn upsert_replaces_rows_by_primary_key() {
        let env = env();
        env.simple("docs", 2);
        env.insert_rows(
            "docs",
            &[(1, vec![1.0, 0.0], "{\"v\":1}"), (2, vec![0.0, 1.0], "{\"v\":2}")],
        );
        let req = pb::UpsertRequest {
            collection_name: "docs".into(),
            fields_data: vec![
                longs("id", vec![2, 3]),
                vectors("vector", 2, vec![1.0, 1.0, 2.0, 2.0]),
            ],
            num_rows: 2,
            ..Default::default()
        };
        let result = upsert(&env.api, &env.root, req.clone()).unwrap();
        assert_eq!((result.upsert_cnt, ids_of(&result)), (2, vec![2, 3]));
        let res = query_all(&env, "docs", "id > 0", &["v"]);
        assert_eq!(long_values(column(&res.fields_data, "id")), vec![1, 2, 3]);
        assert_eq!(
            json_values(column(&res.fields_data, "$meta")),
            vec![serde_json::json!({"v": 1}), serde_json::json!({}), serde_json::json!({})]
        );
        let partial = pb::UpsertRequest { partial_update: true, ..req };
        assert_fails(upsert(&env.api, &env.root, partial), code::UNSUPPORTED, "partial");
    }

    #[test]
    fn delete_by_expression_reports_the_rows_deleted() {
        let env = env();
        env.simple("docs", 2);
        let rows: Vec<(i64, Vec<f32>, &str)> =
            (1..=6).map(|i| (i, vec![i as f32, 0.0], "{\"color\":\"red\"}")).collect();
        env.insert_rows("docs", &rows);
        let api = &env.api;
        let ctx = &env.root;
        let by_ids = pb::DeleteRequest {
            collection_name: "docs".into(),
            expr: "id in [1, 2, 99]".into(),
            ..Default::default()
        };
        let result = delete(api, ctx, by_ids).unwrap();
        assert_eq!((result.delete_cnt, result.i_ds), (2, None));

        use crate::proto::schema::template_value::Val;
        let templated = pb::DeleteRequest {
            collection_name: "docs".into(),
            expr: "id >= {low} and color == {c}".into(),
            expr_template_values: [
                ("low".to_owned(), wire::TemplateValue { val: Some(Val::Int64Val(5)) }),
                ("c".to_owned(), wire::TemplateValue { val: Some(Val::StringVal("red".into())) }),
            ]
            .into(),
            ..Default::default()
        };
        assert_eq!(delete(api, ctx, templated).unwrap().delete_cnt, 2);
        assert_eq!(long_values(&query_all(&env, "docs", "id > 0", &[]).fields_data[0]), vec![3, 4]);

        // Restricted to a partition: rows elsewhere stay.
        api.db.collection("default", "docs").unwrap().create_partition("p1").unwrap();
        let in_p1 = pb::InsertRequest {
            collection_name: "docs".into(),
            partition_name: "p1".into(),
            fields_data: vec![longs("id", vec![10]), vectors("vector", 2, vec![1.0, 1.0])],
            num_rows: 1,
            ..Default::default()
        };
        insert(api, ctx, in_p1).unwrap();
        let only_p1 = pb::DeleteRequest {
            collection_name: "docs".into(),
            partition_name: "p1".into(),
            expr: "id > 0".into(),
            ..Default::default()
        };
        assert_eq!(delete(api, ctx, only_p1).unwrap().delete_cnt, 1);
        assert_eq!(long_values(&query_all(&env, "docs", "id > 0", &[]).fields_data[0]), vec![3, 4]);

        let empty = pb::DeleteRequest {
            collection_name: "docs".into(),
            expr: " ".into(),
            ..Default::default()
        };
        assert_fails(delete(api, ctx, empty), code::INVALID_PARAMETER, "cannot be empty");
        let broken = pb::DeleteRequest {
            collection_name: "docs".into(),
            expr: "id >".into(),
            ..Default::default()
        };
        assert_fails(delete(api, ctx, broken), code::INVALID_PARAMETER, "filter");
        let unknown = pb::DeleteRequest {
            collection_name: "docs".into(),
            partition_name: "zz".into(),
            expr: "id > 0".into(),
            ..Default::default()
        };
        assert_fails(delete(api, ctx, unknown), code::PARTITION_NOT_FOUND, "zz");
    }

    #[test]
    fn flush_and_compaction_complete_before_they_answer() {
        let env = env();
        env.simple("docs", 2);
        env.insert_rows("docs", &[(1, vec![1.0, 0.0], "{}"), (2, vec![0.0, 1.0], "{}")]);
        let api = &env.api;
        let ctx = &env.root;
        let flushed = flush(
            api,
            ctx,
            pb::FlushRequest { collection_names: vec!["docs".into()], ..Default::default() },
        )
        .unwrap();
        assert_eq!(flushed.db_name, "default");
        assert!(flushed.coll_seg_i_ds.contains_key("docs"));
        assert!(flushed.coll_flush_ts["docs"] > 0);
        let state = pb::GetFlushStateRequest {
            collection_name: "docs".into(),
            flush_ts: flushed.coll_flush_ts["docs"],
            ..Default::default()
        };
        assert!(get_flush_state(api, ctx, state).unwrap().flushed);
        let missing = pb::FlushRequest {
            collection_names: vec!["docs".into(), "missing".into()],
            ..Default::default()
        };
        assert_fails(flush(api, ctx, missing), code::COLLECTION_NOT_FOUND, "missing");
        assert_fails(
            flush(api, ctx, pb::FlushRequest::default()),
            code::INVALID_PARAMETER,
            "collection_names",
        );

        let del = pb::DeleteRequest {
            collection_name: "docs".into(),
            expr: "id == 1".into(),
            ..Default::default()
        };
        delete(api, ctx, del).unwrap();
        api.db.collection("default", "docs").unwrap().flush().unwrap();
        let compaction = manual_compaction(
            api,
            ctx,
            pb::ManualCompactionRequest { collection_name: "docs".into(), ..Default::default() },
        )
        .unwrap();
        assert!(compaction.compaction_id > 0);
        assert_eq!(compaction.compaction_plan_count, 1);
        let again = manual_compaction(
            api,
            ctx,
            pb::ManualCompactionRequest { collection_name: "docs".into(), ..Default::default() },
        )
        .unwrap();
        assert!(again.compaction_id > compaction.compaction_id);
        let state = get_compaction_state(
            api,
            ctx,
            pb::GetCompactionStateRequest { compaction_id: compaction.compaction_id },
        )
        .unwrap();
        assert_eq!(state.state, CompactionState::Completed as i32);
        assert_eq!(long_values(&query_all(&env, "docs", "id > 0", &[]).fields_data[0]), vec![2]);
        assert_fails(
            manual_compaction(api, ctx, pb::ManualCompactionRequest::default()),
            code::INVALID_PARAMETER,
            "collection_name",
        );
    }

    #[test]
    fn writes_without_grants_are_denied() {
        let env = env();
        env.simple("docs", 2);
        let alice = env.stranger();
        let api = &env.api;
        let insert_req = pb::InsertRequest {
            collection_name: "docs".into(),
            fields_data: vec![longs("id", vec![1]), vectors("vector", 2, vec![0.0, 1.0])],
            num_rows: 1,
            ..Default::default()
        };
        assert_denied(insert(api, &alice, insert_req.clone()));
        let upsert_req = pb::UpsertRequest {
            collection_name: "docs".into(),
            fields_data: insert_req.fields_data.clone(),
            num_rows: 1,
            ..Default::default()
        };
        assert_denied(upsert(api, &alice, upsert_req));
        assert_denied(delete(
            api,
            &alice,
            pb::DeleteRequest {
                collection_name: "docs".into(),
                expr: "id > 0".into(),
                ..Default::default()
            },
        ));
        assert_denied(flush(
            api,
            &alice,
            pb::FlushRequest { collection_names: vec!["docs".into()], ..Default::default() },
        ));
        assert_denied(get_flush_state(
            api,
            &alice,
            pb::GetFlushStateRequest { collection_name: "docs".into(), ..Default::default() },
        ));
        assert_denied(manual_compaction(
            api,
            &alice,
            pb::ManualCompactionRequest { collection_name: "docs".into(), ..Default::default() },
        ));
        // Nothing was written.
        assert_eq!(api.db.collection("default", "docs").unwrap().count(), 0);
        // Index definitions do not matter to writes.
        let _ = IndexSpec::parse("vector", "v", "FLAT", "L2", &[]).unwrap();
    }
}
