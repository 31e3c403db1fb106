//! `collections/*` beyond the basics: alter_properties, drop_properties (AlterCollection),
//! flush (Flush), compact (ManualCompaction) and get_compaction_state (GetCompactionState).
//!
//! The handlers decide what is supported: a property Quiver refuses (TTL, partition-key
//! isolation, encryption) is refused here too, with the same code 3000. Flush and compaction
//! complete before the handler answers, so `get_compaction_state` always reports `Completed`.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use crate::proto::common::{CompactionState, KeyValuePair};
use crate::proto::milvus as pb;
use crate::ratelimit::FLUSH_COST;
use crate::rest::registry::Routes;
use crate::rest::{Body, Reply, required, rest_code, route};
use crate::service::{Ctx, MilvusApi, collections, data};
use crate::status::Failure;

pub(super) fn routes(r: &mut Routes) {
    let summary = "Sets collection properties (values given as strings, numbers or booleans)";
    route(r, "collections/alter_properties", "alter_collection", summary, alter_properties);
    let summary = "Removes collection properties by key";
    route(r, "collections/drop_properties", "alter_collection", summary, drop_properties);
    let summary = "Seals a collection's data into segment files; answers once done";
    route(r, "collections/flush", "flush", summary, flush);
    let summary = "Rewrites a collection's segments without deleted rows; answers once done";
    route(r, "collections/compact", "manual_compaction", summary, compact);
    let summary = "The state of a compaction (always Completed: compact waits for it)";
    route(r, "collections/get_compaction_state", "get_compaction_state", summary, state);
}

bodies!(PropertiesBody, PropertyKeysBody, CompactionStateBody);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PropertiesBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[serde(default)]
    properties: Map<String, Json>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PropertyKeysBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    #[serde(default)]
    property_keys: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct FlushBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
}

/// A flush seals segments and writes files: charged as over gRPC.
impl Body for FlushBody {
    fn db_name(&self) -> &str {
        &self.db_name
    }

    fn cost(&self) -> u64 {
        FLUSH_COST
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CompactBody {
    #[serde(default)]
    db_name: String,
    collection_name: String,
    /// Milvus's clustering compaction; Quiver runs the same compaction either way.
    #[serde(default)]
    is_clustering: bool,
}

/// A compaction rewrites segments: charged as over gRPC.
impl Body for CompactBody {
    fn db_name(&self) -> &str {
        &self.db_name
    }

    fn cost(&self) -> u64 {
        FLUSH_COST
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CompactionStateBody {
    #[serde(default)]
    db_name: String,
    /// The `compactionID` that `collections/compact` returned (Milvus spells it `jobID`).
    #[serde(default, rename = "jobID", alias = "jobId")]
    job_id: i64,
}

/// A property value as the text Milvus stores: strings as they are, numbers and booleans
/// written out; anything else is refused naming the key.
fn property(key: &str, value: &Json) -> Result<KeyValuePair, Failure> {
    let value = match value {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        _ => {
            return Err(Failure::new(
                rest_code::BAD_REQUEST,
                format!(
                    "properties.{}: a property value is a string, a number or a boolean",
                    super::shorten(key)
                ),
            ));
        }
    };
    Ok(KeyValuePair { key: key.to_owned(), value })
}

fn alter_properties(api: &MilvusApi, ctx: &Ctx, req: PropertiesBody) -> Result<Reply, Failure> {
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    let properties = req
        .properties
        .iter()
        .map(|(key, value)| property(key, value))
        .collect::<Result<Vec<_>, _>>()?;
    collections::alter_collection(
        api,
        ctx,
        pb::AlterCollectionRequest { collection_name, properties, ..Default::default() },
    )?;
    Ok(Reply::empty())
}

fn drop_properties(api: &MilvusApi, ctx: &Ctx, req: PropertyKeysBody) -> Result<Reply, Failure> {
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    collections::alter_collection(
        api,
        ctx,
        pb::AlterCollectionRequest {
            collection_name,
            delete_keys: req.property_keys,
            ..Default::default()
        },
    )?;
    Ok(Reply::empty())
}

fn flush(api: &MilvusApi, ctx: &Ctx, req: FlushBody) -> Result<Reply, Failure> {
    let name = required(&req.collection_name, "collectionName")?.to_owned();
    data::flush(api, ctx, pb::FlushRequest { collection_names: vec![name], ..Default::default() })?;
    Ok(Reply::empty())
}

fn compact(api: &MilvusApi, ctx: &Ctx, req: CompactBody) -> Result<Reply, Failure> {
    let collection_name = required(&req.collection_name, "collectionName")?.to_owned();
    let resp = data::manual_compaction(
        api,
        ctx,
        pb::ManualCompactionRequest {
            collection_name,
            major_compaction: req.is_clustering,
            ..Default::default()
        },
    )?;
    Ok(Reply::data(json!({ "compactionID": resp.compaction_id })))
}

fn state(api: &MilvusApi, ctx: &Ctx, req: CompactionStateBody) -> Result<Reply, Failure> {
    let resp = data::get_compaction_state(
        api,
        ctx,
        pb::GetCompactionStateRequest { compaction_id: req.job_id },
    )?;
    let state = CompactionState::try_from(resp.state).unwrap_or(CompactionState::UndefiedState);
    Ok(Reply::data(json!({
        "compactionID": req.job_id,
        "state": state.as_str_name(),
        "executingPlanNumber": resp.executing_plan_no,
        "timeoutPlanNumber": resp.timeout_plan_no,
        "completedPlanNumber": resp.completed_plan_no,
    })))
}
