//! Reads: Search (top-k and range), HybridSearch (several searches reranked by RRF or
//! weighted scores) and Query (rows by filter, `count(*)`).
//!
//! Scores travel as Milvus reports them and as the engine's [`Hit`] carries them: L2 is the
//! squared distance (smaller is closer), IP and COSINE the similarity (larger is closer).
//!
//! Query answers with a limit in primary-key order, as Milvus does and as pymilvus's
//! `query_iterator` relies on (it pages with `pk > last`): the smallest keys that pass are
//! found in one counting pass over the segments (O(limit) memory), then their rows are read
//! in a second pass. Deleted rows may take places among those keys; a further round then
//! looks past the last key until the page is full or the rows are exhausted.
//!
//! Parameters Quiver does not implement (grouping, ordering, search iterator v2 cursors,
//! `ignore_growing`, function rerankers, namespaces, ...) are refused with code 3000 rather
//! than ignored, so a client never gets silently different results.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use prost::Message;
use quiver_core::{ColumnData, DataType, Metric, PkValue, Schema};
use quiver_engine::{
    Collection, EngineError, ExprFilter, Hit, MAX_PARTITIONS, QueryRequest, Row, RowFilter,
    SearchParams, SearchRange, SearchRequest, SegmentView,
};
use quiver_expr::ScalarIndex;
use quiver_security::Privilege;

use crate::convert::fields::{self, COUNT_STAR, Outputs};
use crate::limits::{Limit, RequestLimits};
use crate::proto::common::{KeyValuePair, PlaceholderGroup, PlaceholderType};
use crate::proto::milvus as pb;
use crate::proto::milvus::search_request::SearchInput;
use crate::proto::schema as wire;
use crate::service::data::{hybrid_timestamp, refuse_namespace};
use crate::service::{Ctx, MilvusApi, param};
use crate::status::{Failure, code, ok_status};

/// Longest `params` JSON text of a search, in bytes.
const MAX_PARAMS_JSON: usize = 64 * 1024;
/// Most hits one request may produce before reranking or paging (queries × (offset +
/// limit), summed over the searches of a hybrid search): bounds the memory of a request.
const MAX_RESULT_HITS: usize = 1 << 21;
/// Most searches in one HybridSearch.
const MAX_SUB_SEARCHES: usize = 64;
/// Most rows a Query without a limit may return; larger results need a limit (and
/// `query_iterator`).
const MAX_UNLIMITED_QUERY_ROWS: u64 = 100_000;
/// Most candidate keys one round of a paged query collects.
const MAX_KEYS_PER_ROUND: usize = 1 << 20;
/// Room left in a response for everything but the rows.
const RESPONSE_SLACK: usize = 64 * 1024;
/// Milvus's default RRF constant.
const DEFAULT_RRF_K: f32 = 60.0;

// ------------------------------------------------------------------------------------------
// Shared steps
// ------------------------------------------------------------------------------------------

/// The collection, which must be loaded for reads (Milvus refuses with code 101).
fn loaded_collection(api: &MilvusApi, ctx: &Ctx, name: &str) -> Result<Arc<Collection>, Failure> {
    let info = api.db.collection_info(&ctx.db, name)?;
    if !info.loaded {
        return Err(Failure::new(
            code::COLLECTION_NOT_LOADED,
            format!("collection not loaded: {name:?}; load it first"),
        ));
    }
    Ok(api.db.collection(&ctx.db, name)?)
}

fn compile(
    limits: &RequestLimits,
    collection: &Collection,
    expr: &str,
    templates: HashMap<String, wire::TemplateValue>,
) -> Result<Option<ExprFilter>, Failure> {
    limits.check_len(Limit::FilterBytes, expr.len())?;
    let templates = fields::template_values(templates)?;
    if expr.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(collection.compile_filter(expr, &templates, &limits.filter())?))
}

fn partitions(names: &[String]) -> Result<Vec<String>, Failure> {
    if names.len() > MAX_PARTITIONS {
        return Err(Failure::invalid(format!("at most {MAX_PARTITIONS} partition names")));
    }
    Ok(names.to_vec())
}

fn as_row_filter(filter: &Option<ExprFilter>) -> Option<&dyn RowFilter> {
    filter.as_ref().map(|f| f as &dyn RowFilter)
}

/// Go's `strconv.ParseBool`, which Milvus uses for its flags.
fn parse_bool(key: &str, text: &str) -> Result<bool, Failure> {
    match text.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(Failure::invalid(format!(
            "{key} must be true or false, got {:?}",
            other.chars().take(32).collect::<String>()
        ))),
    }
}

fn parse_int(key: &str, text: &str) -> Result<i64, Failure> {
    text.trim().parse::<i64>().map_err(|_| {
        Failure::invalid(format!(
            "{key} [{}] is invalid: not an integer",
            text.chars().take(32).collect::<String>()
        ))
    })
}

/// `limit` (at least 1) and `offset` within the top-k window (Milvus's 16384 by default).
fn window(limits: &RequestLimits, limit: i64, offset: i64) -> Result<(usize, usize), Failure> {
    let max = limits.get(Limit::TopkWindow);
    let key = Limit::TopkWindow;
    if limit < 1 || limit as u64 > max {
        return Err(Failure::invalid(format!(
            "limit [{limit}] is invalid, it should be in range [1, {max}] (limits.{key})"
        )));
    }
    if offset < 0 || offset.saturating_add(limit) as u64 > max {
        return Err(Failure::invalid(format!(
            "offset [{offset}] + limit [{limit}] should be in range [1, {max}] (limits.{key})"
        )));
    }
    Ok((limit as usize, offset as usize))
}

fn round_decimal(text: Option<&str>) -> Result<i32, Failure> {
    let Some(text) = text else { return Ok(-1) };
    let value = parse_int("round_decimal", text)?;
    if !(-1..=6).contains(&value) {
        return Err(Failure::invalid(format!(
            "round_decimal {value} is invalid, it should be in range [-1, 6]"
        )));
    }
    Ok(value as i32)
}

/// Milvus's rounding: half away from zero for positive scores, at `decimals` places.
fn round(score: f32, decimals: i32) -> f32 {
    if decimals < 0 {
        return score;
    }
    let multiplier = 10f64.powi(decimals);
    ((f64::from(score) * multiplier + 0.5).floor() / multiplier) as f32
}

/// Refuses a flag that would change results in a way Quiver does not implement.
fn refuse_if_set(params: &[KeyValuePair], key: &str, what: &str) -> Result<(), Failure> {
    match param(params, key) {
        Some(value) if !value.trim().is_empty() => Err(Failure::unsupported(what)),
        _ => Ok(()),
    }
}

fn refuse_ignore_growing(params: &[KeyValuePair]) -> Result<(), Failure> {
    if let Some(text) = param(params, "ignore_growing")
        && parse_bool("ignore_growing", text)?
    {
        return Err(Failure::unsupported(
            "ignore_growing=true (Quiver always reads growing data, which is durable)",
        ));
    }
    Ok(())
}

/// The bytes a response's payload may take: the message limit less room for the envelope
/// (at most an eighth of the limit, so that a small configured limit still leaves most of
/// it for results).
fn response_budget(limits: &RequestLimits) -> usize {
    let max = limits.max_message_bytes();
    max - RESPONSE_SLACK.min(max / 8)
}

fn check_response_size(limits: &RequestLimits, len: usize) -> Result<(), Failure> {
    let max = response_budget(limits);
    if len > max {
        return Err(Failure::new(
            code::TOO_LARGE,
            format!(
                "the result is {len} bytes, more than the {max} bytes a response may carry; \
                 ask for fewer rows or output fields"
            ),
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Search parameters
// ------------------------------------------------------------------------------------------

/// The parameters of one vector search, from `search_params`.
#[derive(Clone, Debug)]
struct AnnParams {
    field: Option<String>,
    limit: usize,
    offset: usize,
    metric: Option<Metric>,
    round_decimal: i32,
    params: SearchParams,
    range: Option<SearchRange>,
}

impl AnnParams {
    /// `in_hybrid`: a search of a HybridSearch, whose `offset` Milvus ignores (paging
    /// happens after the rerank).
    fn parse(
        limits: &RequestLimits,
        kv: &[KeyValuePair],
        in_hybrid: bool,
    ) -> Result<AnnParams, Failure> {
        refuse_if_set(kv, "group_by_field", "grouping search (group_by_field)")?;
        refuse_if_set(kv, "group_by_fields", "grouping search (group_by_fields)")?;
        refuse_if_set(kv, "order_by_fields", "ordered search (order_by_fields)")?;
        refuse_if_set(kv, "json_path", "grouping by JSON path (json_path)")?;
        refuse_if_set(kv, "search_iter_last_bound", "search iterator v2 cursors")?;
        refuse_if_set(kv, "search_iter_id", "search iterator v2 cursors")?;
        refuse_ignore_growing(kv)?;
        let limit = param(kv, "topk").or_else(|| param(kv, "limit")).ok_or_else(|| {
            Failure::new(code::MISSING_PARAMETER, "topk not found in search_params")
        })?;
        let limit = parse_int("topk", limit)?;
        let offset = match param(kv, "offset") {
            Some(text) if !in_hybrid => parse_int("offset", text)?,
            _ => 0,
        };
        let (limit, offset) = window(limits, limit, offset)?;
        let mut metric = match param(kv, "metric_type").map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<Metric>()?),
        };
        let mut params = SearchParams::default();
        let mut range = None;
        if let Some(text) = param(kv, "params").filter(|t| !t.trim().is_empty()) {
            let json = parse_params_json(text)?;
            if let Some(value) = json.get("metric_type").and_then(|v| v.as_str()) {
                let inner = value.parse::<Metric>()?;
                if metric.is_some_and(|m| m != inner) {
                    return Err(Failure::invalid(format!(
                        "metric_type is given twice and differs: {} and {inner}",
                        metric.map_or("", Metric::as_str)
                    )));
                }
                metric = Some(inner);
            }
            params.ef = json_count(&json, "ef")?;
            params.nprobe = json_count(&json, "nprobe")?;
            let radius = json_float(&json, "radius")?;
            let range_filter = json_float(&json, "range_filter")?;
            range = match (radius, range_filter) {
                (Some(radius), range_filter) => Some(SearchRange { radius, range_filter }),
                (None, Some(_)) => {
                    return Err(Failure::invalid("range_filter is given without radius"));
                }
                (None, None) => None,
            };
        }
        Ok(AnnParams {
            field: param(kv, "anns_field")
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(String::from),
            limit,
            offset,
            metric,
            round_decimal: round_decimal(param(kv, "round_decimal"))?,
            params,
            range,
        })
    }
}

fn parse_params_json(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    if text.len() > MAX_PARAMS_JSON {
        return Err(Failure::invalid(format!(
            "params is {} bytes; at most {MAX_PARAMS_JSON}",
            text.len()
        )));
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(serde_json::Value::Null) => Ok(serde_json::Map::new()),
        Ok(_) => Err(Failure::invalid("params must be a JSON object")),
        Err(err) => Err(Failure::invalid(format!("params is not valid JSON: {err}"))),
    }
}

/// A positive integer parameter (`ef`, `nprobe`, `k`), as a JSON number or numeric text.
fn json_count(
    json: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Option<usize>, Failure> {
    let Some(value) = json.get(key) else { return Ok(None) };
    let number = match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match number {
        Some(n) if n >= 1 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        _ => Err(Failure::invalid(format!("{key} must be a positive integer"))),
    }
}

/// A finite number parameter (`radius`, `range_filter`).
fn json_float(
    json: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Option<f32>, Failure> {
    let Some(value) = json.get(key) else { return Ok(None) };
    let number = match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number.map(|n| n as f32) {
        Some(n) if n.is_finite() => Ok(Some(n)),
        _ => Err(Failure::invalid(format!("{key} must be a finite number"))),
    }
}

/// The searched field and the metric the search uses.
struct Target {
    field: String,
    dim: usize,
    metric: Metric,
}

impl Target {
    /// The named vector field, or the only one. The metric is the one asked for, else the
    /// field's index's, else COSINE (Milvus's default for float vectors); a metric that
    /// differs from the index's is refused by the engine (code 1100).
    fn resolve(collection: &Collection, ann: &AnnParams) -> Result<Target, Failure> {
        let schema = collection.schema();
        let field = match &ann.field {
            Some(name) => schema.field(name).ok_or_else(|| {
                Failure::invalid(format!(
                    "anns_field {:?} does not exist in the collection",
                    name.chars().take(64).collect::<String>()
                ))
            })?,
            None => {
                let vectors: Vec<usize> = schema.vector_indexes().collect();
                match vectors.as_slice() {
                    [only] => &schema.fields()[*only],
                    _ => {
                        return Err(Failure::invalid(
                            "the collection has several vector fields; name one with anns_field",
                        ));
                    }
                }
            }
        };
        let DataType::FloatVector { dim } = field.data_type else {
            return Err(Failure::invalid(format!(
                "anns_field {:?} is {}, not a vector field",
                field.name, field.data_type
            )));
        };
        let index_metric = collection
            .indexes()
            .into_iter()
            .find(|info| info.spec.field == field.name)
            .and_then(|info| info.spec.metric);
        Ok(Target {
            field: field.name.clone(),
            dim: dim as usize,
            metric: ann.metric.or(index_metric).unwrap_or(Metric::Cosine),
        })
    }
}

/// The query vectors: the placeholder group's float vectors, or the stored vectors of the
/// rows named by `ids` (search by primary key).
fn query_vectors(
    limits: &RequestLimits,
    collection: &Collection,
    target: &Target,
    input: Option<SearchInput>,
    nq: i64,
) -> Result<Vec<Vec<f32>>, Failure> {
    let queries = match input {
        Some(SearchInput::PlaceholderGroup(bytes)) => {
            placeholder_vectors(limits, &bytes, target.dim)?
        }
        Some(SearchInput::Ids(ids)) => stored_vectors(limits, collection, target, ids)?,
        None => return Err(Failure::invalid("the request has no query vectors")),
    };
    if nq != 0 && nq != queries.len() as i64 {
        return Err(Failure::invalid(format!(
            "nq is {nq} but the request carries {} query vectors",
            queries.len()
        )));
    }
    Ok(queries)
}

fn placeholder_vectors(
    limits: &RequestLimits,
    bytes: &[u8],
    dim: usize,
) -> Result<Vec<Vec<f32>>, Failure> {
    if bytes.is_empty() {
        return Err(Failure::invalid("placeholder_group is empty"));
    }
    // Each value costs its bytes plus a few bytes of framing; more than that is not a
    // placeholder group for this field.
    let max_nq = limits.size(Limit::QueryVectors);
    let max = max_nq.saturating_mul(dim * 4 + 16).saturating_add(1024);
    if bytes.len() > max {
        return Err(Failure::invalid(format!(
            "placeholder_group is {} bytes, more than {max_nq} vectors of dim {dim} need \
             (limits.{})",
            bytes.len(),
            Limit::QueryVectors
        )));
    }
    let group = PlaceholderGroup::decode(bytes)
        .map_err(|err| Failure::invalid(format!("placeholder_group is malformed: {err}")))?;
    let [placeholder] = group.placeholders.as_slice() else {
        return Err(Failure::invalid(format!(
            "placeholder_group must hold exactly one placeholder, not {}",
            group.placeholders.len()
        )));
    };
    match PlaceholderType::try_from(placeholder.r#type) {
        Ok(PlaceholderType::FloatVector) => {}
        Ok(PlaceholderType::None) | Err(_) => {
            return Err(Failure::invalid(format!(
                "placeholder type {} is not a query type",
                placeholder.r#type
            )));
        }
        Ok(other) => {
            return Err(Failure::unsupported(format!(
                "{} query vectors (only FloatVector)",
                other.as_str_name()
            )));
        }
    }
    check_nq(limits, placeholder.values.len())?;
    placeholder
        .values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            if value.len() != dim * 4 {
                return Err(Failure::invalid(format!(
                    "query vector {i} has {} bytes, but the field's dim {dim} needs {}",
                    value.len(),
                    dim * 4
                )));
            }
            Ok(value
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        })
        .collect()
}

/// `nq` at least 1 and within `limits.max_query_vectors` (Milvus's 16384 by default).
fn check_nq(limits: &RequestLimits, nq: usize) -> Result<(), Failure> {
    if nq == 0 {
        return Err(Failure::invalid("nq must be at least 1, got 0"));
    }
    limits.check_len(Limit::QueryVectors, nq)
}

fn stored_vectors(
    limits: &RequestLimits,
    collection: &Collection,
    target: &Target,
    ids: wire::IDs,
) -> Result<Vec<Vec<f32>>, Failure> {
    let pks = fields::pks_from_ids(collection.schema(), ids)?;
    check_nq(limits, pks.len())?;
    let rows = collection.get(&pks, std::slice::from_ref(&target.field))?;
    let found: HashMap<&PkValue, &Vec<f32>> = rows
        .iter()
        .filter_map(|row| match row.fields.first() {
            Some((_, quiver_core::Value::FloatVector(v))) => Some((&row.pk, v)),
            _ => None,
        })
        .collect();
    pks.iter()
        .map(|pk| {
            found.get(pk).map(|v| (*v).clone()).ok_or_else(|| {
                Failure::invalid(format!("primary key {pk} to search with does not exist"))
            })
        })
        .collect()
}

/// Refuses a result of `rows` rows of at least `row_bytes` bytes each that could not fit a
/// response, before it is built.
fn check_result_bytes(
    limits: &RequestLimits,
    rows: usize,
    row_bytes: usize,
) -> Result<(), Failure> {
    let bytes = rows.saturating_mul(row_bytes);
    let max = response_budget(limits);
    if bytes > max {
        return Err(Failure::new(
            code::TOO_LARGE,
            format!(
                "the result would take at least {bytes} bytes ({rows} rows), more than the \
                 {max} bytes a response may carry; ask for fewer rows or output fields"
            ),
        ));
    }
    Ok(())
}

fn check_hits(nq: usize, per_query: usize, total: &mut usize) -> Result<(), Failure> {
    *total = total.saturating_add(nq.saturating_mul(per_query));
    if *total > MAX_RESULT_HITS {
        return Err(Failure::new(
            code::TOO_LARGE,
            format!(
                "nq × (offset + limit) is {total}, more than the {MAX_RESULT_HITS} hits a \
                 request may produce"
            ),
        ));
    }
    Ok(())
}

/// Refuses the parts of a SearchRequest Quiver does not implement.
fn refuse_search_extras(req: &pb::SearchRequest) -> Result<(), Failure> {
    refuse_namespace(&req.namespace)?;
    if req.function_score.is_some() {
        return Err(Failure::unsupported("function_score rerankers"));
    }
    if !req.function_chains.is_empty() {
        return Err(Failure::unsupported("function_chains"));
    }
    if !req.sub_reqs.is_empty() {
        return Err(Failure::unsupported("sub_reqs in Search; use HybridSearch"));
    }
    if req.highlighter.is_some() {
        return Err(Failure::unsupported("highlighter"));
    }
    if req.search_aggregation.is_some() {
        return Err(Failure::unsupported("search_aggregation"));
    }
    Ok(())
}

/// One search, validated and ready to run.
struct Prepared {
    ann: AnnParams,
    target: Target,
    queries: Vec<Vec<f32>>,
    filter: Option<ExprFilter>,
    partitions: Vec<String>,
}

fn prepare(
    limits: &RequestLimits,
    collection: &Collection,
    req: pb::SearchRequest,
    in_hybrid: bool,
    fallback_partitions: &[String],
) -> Result<Prepared, Failure> {
    refuse_search_extras(&req)?;
    let ann = AnnParams::parse(limits, &req.search_params, in_hybrid)?;
    let target = Target::resolve(collection, &ann)?;
    let filter = compile(limits, collection, &req.dsl, req.expr_template_values)?;
    let partitions = if req.partition_names.is_empty() {
        partitions(fallback_partitions)?
    } else {
        partitions(&req.partition_names)?
    };
    let queries = query_vectors(limits, collection, &target, req.search_input, req.nq)?;
    Ok(Prepared { ann, target, queries, filter, partitions })
}

fn run(
    collection: &Collection,
    prepared: &Prepared,
    offset: usize,
    output_fields: &[String],
) -> Result<Vec<Vec<Hit>>, Failure> {
    let request = SearchRequest {
        vector_field: Some(&prepared.target.field),
        metric: prepared.target.metric,
        queries: &prepared.queries,
        limit: prepared.ann.limit,
        offset,
        partitions: &prepared.partitions,
        output_fields,
        filter: as_row_filter(&prepared.filter),
        params: prepared.ann.params,
        range: prepared.ann.range,
    };
    Ok(collection.search(&request)?)
}

fn result_data(
    schema: &Schema,
    outputs: &Outputs,
    hits: &[Vec<Hit>],
    top_k: usize,
    decimals: i32,
) -> wire::SearchResultData {
    let all = || hits.iter().flatten();
    let rows: Vec<&Row> = all().map(|hit| &hit.row).collect();
    wire::SearchResultData {
        num_queries: hits.len() as i64,
        top_k: top_k as i64,
        fields_data: outputs.columns(schema, &rows),
        scores: all().map(|hit| round(hit.score, decimals)).collect(),
        ids: Some(fields::ids(schema, all().map(|hit| &hit.row.pk))),
        topks: hits.iter().map(|q| q.len() as i64).collect(),
        output_fields: outputs.names().to_vec(),
        primary_field_name: schema.primary_field().name.clone(),
        ..Default::default()
    }
}

fn search_results(
    limits: &RequestLimits,
    collection: &Collection,
    results: wire::SearchResultData,
) -> Result<pb::SearchResults, Failure> {
    let resp = pb::SearchResults {
        status: Some(ok_status()),
        results: Some(results),
        collection_name: collection.name().to_owned(),
        session_ts: hybrid_timestamp(),
    };
    check_response_size(limits, resp.encoded_len())?;
    Ok(resp)
}

// ------------------------------------------------------------------------------------------
// Search
// ------------------------------------------------------------------------------------------

pub(crate) fn search(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::SearchRequest,
) -> Result<pb::SearchResults, Failure> {
    api.authorize_collection(ctx, Privilege::Search, &req.collection_name)?;
    let collection = loaded_collection(api, ctx, &req.collection_name)?;
    let schema = collection.schema();
    let limits = &api.limits;
    limits.check_len(Limit::OutputFields, req.output_fields.len())?;
    let outputs = Outputs::resolve(schema, &req.output_fields, false)?;
    let prepared = prepare(limits, &collection, req, false, &[])?;
    let mut total = 0;
    check_hits(prepared.queries.len(), prepared.ann.offset + prepared.ann.limit, &mut total)?;
    let rows = prepared.queries.len() * prepared.ann.limit;
    check_result_bytes(limits, rows, outputs.min_row_bytes(schema))?;
    let hits = run(&collection, &prepared, prepared.ann.offset, outputs.engine_fields())?;
    let data = result_data(schema, &outputs, &hits, prepared.ann.limit, prepared.ann.round_decimal);
    search_results(limits, &collection, data)
}

// ------------------------------------------------------------------------------------------
// HybridSearch
// ------------------------------------------------------------------------------------------

/// How the searches' results are merged.
#[derive(Clone, Debug, PartialEq)]
enum Strategy {
    /// Reciprocal rank fusion: Σ 1 / (k + rank), rank from 1.
    Rrf { k: f32 },
    /// Σ weight × score, scores first normalized to [0, 1] when `norm_score` is set.
    Weighted { weights: Vec<f32>, norm_score: bool },
}

#[derive(Clone, Debug)]
struct RankParams {
    strategy: Strategy,
    limit: usize,
    offset: usize,
    round_decimal: i32,
}

impl RankParams {
    fn parse(
        limits: &RequestLimits,
        kv: &[KeyValuePair],
        searches: usize,
    ) -> Result<RankParams, Failure> {
        refuse_if_set(kv, "group_by_field", "grouping search (group_by_field)")?;
        refuse_if_set(kv, "rank_group_scorer", "grouping search (rank_group_scorer)")?;
        let limit = param(kv, "limit").ok_or_else(|| {
            Failure::new(code::MISSING_PARAMETER, "limit not found in rank_params")
        })?;
        let limit = parse_int("limit", limit)?;
        let offset = param(kv, "offset").map(|t| parse_int("offset", t)).transpose()?.unwrap_or(0);
        let (limit, offset) = window(limits, limit, offset)?;
        let params = match param(kv, "params").filter(|t| !t.trim().is_empty()) {
            Some(text) => parse_params_json(text)?,
            None => serde_json::Map::new(),
        };
        let strategy = match param(kv, "strategy").map(|s| s.trim().to_ascii_lowercase()) {
            // Milvus ranks by RRF when no strategy is given.
            None => Strategy::Rrf { k: DEFAULT_RRF_K },
            Some(s) if s == "rrf" => {
                let k = match params.get("k") {
                    None => DEFAULT_RRF_K,
                    Some(value) => value
                        .as_f64()
                        .map(|k| k as f32)
                        .ok_or_else(|| Failure::invalid("the RRF parameter k must be a number"))?,
                };
                if !(k > 0.0 && k < 16384.0) {
                    return Err(Failure::invalid(format!(
                        "the RRF parameter k is {k}; it should be in range (0, 16384)"
                    )));
                }
                Strategy::Rrf { k }
            }
            Some(s) if s == "weighted" => {
                let weights = params
                    .get("weights")
                    .and_then(|w| w.as_array())
                    .ok_or_else(|| Failure::invalid("weights not found in rank_params params"))?
                    .iter()
                    .map(|w| match w.as_f64() {
                        Some(w) if (0.0..=1.0).contains(&w) => Ok(w as f32),
                        _ => Err(Failure::invalid("rank param weight should be in range [0, 1]")),
                    })
                    .collect::<Result<Vec<f32>, Failure>>()?;
                if weights.len() != searches {
                    return Err(Failure::invalid(format!(
                        "{} weights given for {searches} searches; give one weight per search",
                        weights.len()
                    )));
                }
                let norm_score = match params.get("norm_score") {
                    None => false,
                    Some(serde_json::Value::Bool(b)) => *b,
                    Some(serde_json::Value::String(s)) => parse_bool("norm_score", s)?,
                    Some(_) => return Err(Failure::invalid("norm_score must be true or false")),
                };
                Strategy::Weighted { weights, norm_score }
            }
            Some(other) => {
                return Err(Failure::invalid(format!(
                    "unknown rank strategy {:?}; use rrf or weighted",
                    other.chars().take(32).collect::<String>()
                )));
            }
        };
        Ok(RankParams {
            strategy,
            limit,
            offset,
            round_decimal: round_decimal(param(kv, "round_decimal"))?,
        })
    }
}

pub(crate) fn hybrid_search(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::HybridSearchRequest,
) -> Result<pb::SearchResults, Failure> {
    api.authorize_collection(ctx, Privilege::Search, &req.collection_name)?;
    let collection = loaded_collection(api, ctx, &req.collection_name)?;
    refuse_namespace(&req.namespace)?;
    if req.function_score.is_some() {
        return Err(Failure::unsupported("function_score rerankers"));
    }
    if !req.function_chains.is_empty() {
        return Err(Failure::unsupported("function_chains"));
    }
    if req.requests.is_empty() || req.requests.len() > MAX_SUB_SEARCHES {
        return Err(Failure::invalid(format!(
            "a hybrid search needs between 1 and {MAX_SUB_SEARCHES} searches, got {}",
            req.requests.len()
        )));
    }
    let limits = &api.limits;
    let rank = RankParams::parse(limits, &req.rank_params, req.requests.len())?;
    let schema = collection.schema();
    limits.check_len(Limit::OutputFields, req.output_fields.len())?;
    let outputs = Outputs::resolve(schema, &req.output_fields, false)?;
    let top_partitions = partitions(&req.partition_names)?;
    let mut prepared = Vec::with_capacity(req.requests.len());
    let mut total = 0;
    for sub in req.requests {
        let sub = prepare(limits, &collection, sub, true, &top_partitions)?;
        check_hits(sub.queries.len(), sub.ann.limit, &mut total)?;
        prepared.push(sub);
    }
    // Every search materializes its hits' output fields before the rerank.
    check_result_bytes(limits, total, outputs.min_row_bytes(schema))?;
    let nq = prepared.first().map_or(0, |p| p.queries.len());
    if prepared.iter().any(|p| p.queries.len() != nq) {
        return Err(Failure::invalid(
            "every search of a hybrid search must have the same number of query vectors",
        ));
    }
    let mut lists = Vec::with_capacity(prepared.len());
    for sub in &prepared {
        lists.push((sub.target.metric, run(&collection, sub, 0, outputs.engine_fields())?));
    }
    let hits: Vec<Vec<Hit>> = (0..nq).map(|q| rerank(&rank, &lists, q)).collect();
    let data = result_data(schema, &outputs, &hits, rank.limit, rank.round_decimal);
    search_results(limits, &collection, data)
}

/// Milvus's normalization of a score to [0, 1] (larger is closer): COSINE `(1 + s) / 2`,
/// IP `1/2 + atan(s) / π`, L2 `1 − 2·atan(d) / π`.
fn normalize(metric: Metric, score: f32) -> f32 {
    match metric {
        Metric::Cosine => (1.0 + score) * 0.5,
        Metric::Ip => 0.5 + score.atan() / std::f32::consts::PI,
        Metric::L2 => 1.0 - 2.0 * score.atan() / std::f32::consts::PI,
    }
}

/// Merges the searches' hits for query `q` and pages the merged list.
fn rerank(rank: &RankParams, lists: &[(Metric, Vec<Vec<Hit>>)], q: usize) -> Vec<Hit> {
    let mut merged: HashMap<&PkValue, (f32, &Row)> = HashMap::new();
    let descending = match &rank.strategy {
        Strategy::Rrf { k } => {
            for (_, hits) in lists {
                for (rank, hit) in hits.get(q).into_iter().flatten().enumerate() {
                    let score = 1.0 / (k + (rank + 1) as f32);
                    merged.entry(&hit.row.pk).or_insert((0.0, &hit.row)).0 += score;
                }
            }
            true
        }
        Strategy::Weighted { weights, norm_score } => {
            let larger = lists.iter().filter(|(m, _)| m.larger_is_closer()).count();
            let mixed = larger > 0 && larger < lists.len();
            for ((metric, hits), weight) in lists.iter().zip(weights) {
                for hit in hits.get(q).into_iter().flatten() {
                    let score = if *norm_score || (mixed && !metric.larger_is_closer()) {
                        normalize(*metric, hit.score)
                    } else {
                        hit.score
                    };
                    merged.entry(&hit.row.pk).or_insert((0.0, &hit.row)).0 += weight * score;
                }
            }
            // Only raw L2 distances (no normalization, no IP or COSINE) rank ascending.
            *norm_score || larger > 0
        }
    };
    let mut ranked: Vec<(&PkValue, (f32, &Row))> = merged.into_iter().collect();
    ranked.sort_by(|(pk_a, (a, _)), (pk_b, (b, _))| {
        let by_score = if descending { b.total_cmp(a) } else { a.total_cmp(b) };
        by_score.then_with(|| pk_a.cmp(pk_b))
    });
    ranked
        .into_iter()
        .skip(rank.offset)
        .take(rank.limit)
        .map(|(_, (score, row))| Hit { score, row: row.clone() })
        .collect()
}

// ------------------------------------------------------------------------------------------
// Query
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct QueryParams {
    limit: Option<usize>,
    offset: usize,
}

impl QueryParams {
    fn parse(limits: &RequestLimits, kv: &[KeyValuePair]) -> Result<QueryParams, Failure> {
        refuse_if_set(kv, "order_by_fields", "ordered query (order_by_fields)")?;
        refuse_if_set(kv, "group_by_fields", "grouping query (group_by_fields)")?;
        refuse_if_set(kv, "query_iter_last_element_offset", "element-level query iterators")?;
        refuse_ignore_growing(kv)?;
        // `iterator` and `reduce_stop_for_best` only concern paging, which a limit query
        // already does in primary-key order.
        for flag in ["iterator", "reduce_stop_for_best"] {
            if let Some(text) = param(kv, flag) {
                parse_bool(flag, text)?;
            }
        }
        let offset = param(kv, "offset").map(|t| parse_int("offset", t)).transpose()?;
        match param(kv, "limit") {
            None => Ok(QueryParams { limit: None, offset: 0 }),
            Some(text) => {
                let (limit, offset) =
                    window(limits, parse_int("limit", text)?, offset.unwrap_or(0))?;
                Ok(QueryParams { limit: Some(limit), offset })
            }
        }
    }
}

pub(crate) fn query(
    api: &MilvusApi,
    ctx: &Ctx,
    req: pb::QueryRequest,
) -> Result<pb::QueryResults, Failure> {
    api.authorize_collection(ctx, Privilege::Query, &req.collection_name)?;
    let collection = loaded_collection(api, ctx, &req.collection_name)?;
    refuse_namespace(&req.namespace)?;
    let schema = collection.schema();
    let limits = &api.limits;
    let params = QueryParams::parse(limits, &req.query_params)?;
    let filter = compile(limits, &collection, &req.expr, req.expr_template_values)?;
    limits.check_len(Limit::OutputFields, req.output_fields.len())?;
    let partitions = partitions(&req.partition_names)?;
    let mut resp = pb::QueryResults {
        status: Some(ok_status()),
        collection_name: collection.name().to_owned(),
        session_ts: hybrid_timestamp(),
        primary_field_name: schema.primary_field().name.clone(),
        ..Default::default()
    };
    if req.output_fields.iter().any(|f| f.trim().eq_ignore_ascii_case(COUNT_STAR)) {
        if req.output_fields.len() != 1 {
            return Err(Failure::invalid("count(*) must be the only output field"));
        }
        if params.limit.is_some() {
            return Err(Failure::invalid("count entities with pagination is not allowed"));
        }
        let count = match (&filter, partitions.is_empty()) {
            (None, true) => collection.count(),
            (None, false) => collection.count_matching(&EveryRow, &partitions)?,
            (Some(filter), _) => collection.count_matching(filter, &partitions)?,
        };
        resp.fields_data = vec![fields::count_column(count)];
        resp.output_fields = vec![COUNT_STAR.to_owned()];
        return Ok(resp);
    }
    if filter.is_none() && params.limit.is_none() {
        return Err(Failure::invalid("empty expression should be used with limit"));
    }
    let outputs = Outputs::resolve(schema, &req.output_fields, true)?;
    let rows = fetch(limits, &collection, filter.as_ref(), &partitions, &outputs, params)?;
    let rows: Vec<&Row> = rows.iter().collect();
    resp.fields_data = outputs.columns(schema, &rows);
    resp.output_fields = outputs.names().to_vec();
    check_response_size(limits, resp.encoded_len())?;
    Ok(resp)
}

/// The rows of a query, in primary-key order.
fn fetch(
    limits: &RequestLimits,
    collection: &Collection,
    filter: Option<&ExprFilter>,
    partitions: &[String],
    outputs: &Outputs,
    params: QueryParams,
) -> Result<Vec<Row>, Failure> {
    let fields = outputs.engine_fields();
    let row_bytes = outputs.min_row_bytes(collection.schema());
    // A key lookup (`pk in [...]`, what `get` sends) is served by key.
    if partitions.is_empty()
        && let Some(pks) = filter.and_then(ExprFilter::primary_keys)
    {
        check_result_bytes(limits, pks.len(), row_bytes)?;
        let mut rows = collection.get(pks, fields)?;
        rows.sort_by(|a, b| a.pk.cmp(&b.pk));
        return Ok(page(rows, params));
    }
    let inner = filter.map(|f| f as &dyn RowFilter);
    match params.limit {
        Some(limit) => {
            check_result_bytes(limits, params.offset + limit, row_bytes)?;
            smallest_keys(collection, inner, partitions, fields, params.offset, limit)
        }
        None => {
            // Without a limit the filter is set (checked by the caller); count before
            // materializing anything.
            let count = match inner {
                Some(filter) => collection.count_matching(filter, partitions)?,
                None => collection.count_matching(&EveryRow, partitions)?,
            };
            if count > MAX_UNLIMITED_QUERY_ROWS {
                return Err(Failure::new(
                    code::TOO_LARGE,
                    format!(
                        "the query matches {count} rows, more than the \
                         {MAX_UNLIMITED_QUERY_ROWS} returned without a limit; page with \
                         limit and offset or use query_iterator"
                    ),
                ));
            }
            let rows = usize::try_from(count).unwrap_or(usize::MAX);
            check_result_bytes(limits, rows, row_bytes)?;
            let mut rows = collection.query(&QueryRequest {
                filter: inner,
                partitions,
                output_fields: fields,
                offset: 0,
                limit: None,
            })?;
            rows.sort_by(|a, b| a.pk.cmp(&b.pk));
            Ok(rows)
        }
    }
}

fn page(rows: Vec<Row>, params: QueryParams) -> Vec<Row> {
    match params.limit {
        Some(limit) => rows.into_iter().skip(params.offset).take(limit).collect(),
        None => rows,
    }
}

/// The rows `offset..offset + limit` in primary-key order of those that pass `filter`.
fn smallest_keys(
    collection: &Collection,
    filter: Option<&dyn RowFilter>,
    partitions: &[String],
    fields: &[String],
    offset: usize,
    limit: usize,
) -> Result<Vec<Row>, Failure> {
    let want = offset + limit;
    let pk_index = collection.schema().primary_index();
    let mut rows: Vec<Row> = Vec::new();
    let mut after: Option<PkValue> = None;
    let mut keep = want;
    loop {
        let collector = SmallestKeys {
            inner: filter,
            pk_index,
            after: after.clone(),
            keep,
            found: Mutex::new(BTreeSet::new()),
        };
        collection.count_matching(&collector, partitions)?;
        let keys = collector.found.into_inner();
        let exhausted = keys.len() < keep;
        let Some(last) = keys.last().cloned() else { break };
        let picker = KeySet::new(filter, pk_index, keys);
        rows.extend(collection.query(&QueryRequest {
            filter: Some(&picker),
            partitions,
            output_fields: fields,
            offset: 0,
            limit: None,
        })?);
        if exhausted || rows.len() >= want {
            break;
        }
        // Some keys were deleted rows: look past the last one for the rest.
        after = Some(last);
        keep = keep.saturating_mul(2).min(MAX_KEYS_PER_ROUND);
    }
    rows.sort_by(|a, b| a.pk.cmp(&b.pk));
    Ok(rows.into_iter().skip(offset).take(limit).collect())
}

/// Passes every row (a count over some partitions without a filter).
struct EveryRow;

impl RowFilter for EveryRow {
    fn evaluate(&self, segment: &SegmentView<'_>) -> Result<Vec<bool>, EngineError> {
        Ok(vec![true; segment.num_rows])
    }
}

/// Passes what `inner` passes, and on the way collects the `keep` smallest primary keys
/// above `after` among them.
struct SmallestKeys<'a> {
    inner: Option<&'a dyn RowFilter>,
    pk_index: usize,
    after: Option<PkValue>,
    keep: usize,
    found: Mutex<BTreeSet<PkValue>>,
}

impl SmallestKeys<'_> {
    fn collect(&self, segment: &SegmentView<'_>, mask: &[bool]) {
        let Some(column) = segment.columns.get(self.pk_index) else { return };
        let mut found = self.found.lock();
        let passing = mask.iter().enumerate().filter(|(_, pass)| **pass).map(|(row, _)| row);
        match &column.data {
            ColumnData::Int64(keys) => {
                let after = match &self.after {
                    Some(PkValue::Int64(a)) => Some(*a),
                    _ => None,
                };
                for row in passing {
                    let Some(&key) = keys.get(row) else { continue };
                    if after.is_some_and(|a| key <= a) {
                        continue;
                    }
                    if found.len() >= self.keep
                        && matches!(found.last(), Some(PkValue::Int64(last)) if key >= *last)
                    {
                        continue;
                    }
                    found.insert(PkValue::Int64(key));
                    if found.len() > self.keep {
                        found.pop_last();
                    }
                }
            }
            ColumnData::VarChar(keys) => {
                let after = match &self.after {
                    Some(PkValue::VarChar(a)) => Some(a.as_str()),
                    _ => None,
                };
                for row in passing {
                    let Some(key) = keys.get(row) else { continue };
                    if after.is_some_and(|a| key.as_str() <= a) {
                        continue;
                    }
                    if found.len() >= self.keep
                        && matches!(found.last(), Some(PkValue::VarChar(last)) if key >= last)
                    {
                        continue;
                    }
                    found.insert(PkValue::VarChar(key.clone()));
                    if found.len() > self.keep {
                        found.pop_last();
                    }
                }
            }
            _ => {}
        }
    }
}

impl RowFilter for SmallestKeys<'_> {
    fn evaluate(&self, segment: &SegmentView<'_>) -> Result<Vec<bool>, EngineError> {
        let mask = match self.inner {
            Some(inner) => inner.evaluate(segment)?,
            None => vec![true; segment.num_rows],
        };
        self.collect(segment, &mask);
        Ok(mask)
    }

    fn evaluate_with_indexes<'i>(
        &self,
        segment: &SegmentView<'_>,
        indexes: &dyn Fn(usize) -> Option<&'i ScalarIndex>,
    ) -> Result<Vec<bool>, EngineError> {
        let mask = match self.inner {
            Some(inner) => inner.evaluate_with_indexes(segment, indexes)?,
            None => vec![true; segment.num_rows],
        };
        self.collect(segment, &mask);
        Ok(mask)
    }
}

/// Passes the rows that `inner` passes and whose primary key is one of `keys`.
struct KeySet<'a> {
    inner: Option<&'a dyn RowFilter>,
    pk_index: usize,
    ints: HashSet<i64>,
    strings: HashSet<String>,
}

impl<'a> KeySet<'a> {
    fn new(inner: Option<&'a dyn RowFilter>, pk_index: usize, keys: BTreeSet<PkValue>) -> Self {
        let mut ints = HashSet::new();
        let mut strings = HashSet::new();
        for key in keys {
            match key {
                PkValue::Int64(v) => {
                    ints.insert(v);
                }
                PkValue::VarChar(v) => {
                    strings.insert(v);
                }
            }
        }
        KeySet { inner, pk_index, ints, strings }
    }

    /// The rows whose key is in the set; `None` when none is (the filter need not run).
    fn members(&self, segment: &SegmentView<'_>) -> Option<Vec<bool>> {
        let column = segment.columns.get(self.pk_index)?;
        let members: Vec<bool> = match &column.data {
            ColumnData::Int64(keys) => keys.iter().map(|k| self.ints.contains(k)).collect(),
            ColumnData::VarChar(keys) => {
                keys.iter().map(|k| self.strings.contains(k.as_str())).collect()
            }
            _ => return None,
        };
        members.iter().any(|m| *m).then_some(members)
    }

    fn combine(
        &self,
        segment: &SegmentView<'_>,
        evaluate: impl FnOnce(&dyn RowFilter) -> Result<Vec<bool>, EngineError>,
    ) -> Result<Vec<bool>, EngineError> {
        let Some(mut members) = self.members(segment) else {
            return Ok(vec![false; segment.num_rows]);
        };
        if let Some(inner) = self.inner {
            let mask = evaluate(inner)?;
            for (member, pass) in members.iter_mut().zip(mask) {
                *member &= pass;
            }
        }
        members.resize(segment.num_rows, false);
        Ok(members)
    }
}

impl RowFilter for KeySet<'_> {
    fn evaluate(&self, segment: &SegmentView<'_>) -> Result<Vec<bool>, EngineError> {
        self.combine(segment, |inner| inner.evaluate(segment))
    }

    fn evaluate_with_indexes<'i>(
        &self,
        segment: &SegmentView<'_>,
        indexes: &dyn Fn(usize) -> Option<&'i ScalarIndex>,
    ) -> Result<Vec<bool>, EngineError> {
        self.combine(segment, |inner| inner.evaluate_with_indexes(segment, indexes))
    }
}

#[cfg(test)]
mod tests {
    use quiver_core::{DataType, FieldSpec};
    use quiver_engine::IndexSpec;

    use super::*;
    use crate::proto::common::PlaceholderValue;
    use crate::proto::schema::{field_data, i_ds, template_array_value, template_value};
    use crate::service::data::testkit::*;
    use crate::service::data::{delete, insert};

    fn placeholder_of(kind: PlaceholderType, values: Vec<Vec<u8>>) -> Vec<u8> {
        PlaceholderGroup {
            placeholders: vec![PlaceholderValue {
                tag: "$0".into(),
                r#type: kind as i32,
                values,
                element_level: false,
            }],
        }
        .encode_to_vec()
    }

    fn placeholder(vectors: &[Vec<f32>]) -> Vec<u8> {
        let values =
            vectors.iter().map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect()).collect();
        placeholder_of(PlaceholderType::FloatVector, values)
    }

    fn search_req(name: &str, vectors: &[Vec<f32>], params: &[(&str, &str)]) -> pb::SearchRequest {
        pb::SearchRequest {
            collection_name: name.into(),
            search_input: Some(SearchInput::PlaceholderGroup(placeholder(vectors))),
            nq: vectors.len() as i64,
            search_params: kv(params),
            ..Default::default()
        }
    }

    /// Ids, scores and hits per query.
    fn hits(res: &pb::SearchResults) -> (Vec<i64>, Vec<f32>, Vec<i64>) {
        let data = res.results.as_ref().unwrap();
        let ids = match data.ids.as_ref().and_then(|ids| ids.id_field.clone()) {
            Some(i_ds::IdField::IntId(a)) => a.data,
            other => panic!("no int ids: {other:?}"),
        };
        (ids, data.scores.clone(), data.topks.clone())
    }

    #[track_caller]
    fn assert_scores(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
    }

    /// Four rows of dim 4 whose distances to `[2, 1, 0, 0]` differ for every metric.
    fn four_rows(env: &Env) {
        env.simple("docs", 4);
        env.insert_rows(
            "docs",
            &[
                (1, vec![1.0, 0.0, 0.0, 0.0], "{\"color\":\"red\",\"size\":1}"),
                (2, vec![0.0, 1.0, 0.0, 0.0], "{\"color\":\"blue\"}"),
                (3, vec![1.0, 1.0, 0.0, 0.0], "{\"color\":\"red\"}"),
                (4, vec![0.0, 0.0, 2.0, 0.0], "{}"),
            ],
        );
    }

    const Q: [f32; 4] = [2.0, 1.0, 0.0, 0.0];

    #[test]
    fn search_returns_exact_ids_and_scores_for_each_metric() {
        let env = env();
        four_rows(&env);
        let run = |params: &[(&str, &str)]| {
            hits(&search(&env.api, &env.root, search_req("docs", &[Q.to_vec()], params)).unwrap())
        };
        let (ids, scores, topks) = run(&[("topk", "4"), ("metric_type", "L2")]);
        assert_eq!((ids, topks), (vec![3, 1, 2, 4], vec![4]));
        assert_scores(&scores, &[1.0, 2.0, 4.0, 9.0]);
        let (ids, scores, _) = run(&[("topk", "4"), ("params", "{\"metric_type\":\"IP\"}")]);
        assert_eq!(ids, vec![3, 1, 2, 4]);
        assert_scores(&scores, &[3.0, 2.0, 1.0, 0.0]);
        let cosine = [3.0 / 10f32.sqrt(), 2.0 / 5f32.sqrt(), 1.0 / 5f32.sqrt(), 0.0];
        let (ids, scores, _) = run(&[("topk", "4"), ("metric_type", "COSINE")]);
        assert_eq!(ids, vec![3, 1, 2, 4]);
        assert_scores(&scores, &cosine);
        // No metric and no index: COSINE, Milvus's default.
        let (_, scores, _) = run(&[("topk", "4")]);
        assert_scores(&scores, &cosine);
        let (_, scores, _) = run(&[("topk", "2"), ("round_decimal", "2")]);
        assert_scores(&scores, &[0.95, 0.89]);

        let res = search(&env.api, &env.root, search_req("docs", &[Q.to_vec()], &[("topk", "3")]))
            .unwrap();
        let data = res.results.unwrap();
        assert_eq!((data.num_queries, data.top_k), (1, 3));
        assert_eq!(data.primary_field_name, "id");
        assert!(data.fields_data.is_empty() && data.output_fields.is_empty());
        assert_eq!(res.collection_name, "docs");
        assert!(res.session_ts > 0);
    }

    #[test]
    fn search_uses_the_index_metric_and_refuses_another() {
        let env = env();
        four_rows(&env);
        let collection = env.api.db.collection("default", "docs").unwrap();
        collection
            .create_index(IndexSpec::parse("vector", "idx", "FLAT", "L2", &[]).unwrap())
            .unwrap();
        let res = search(&env.api, &env.root, search_req("docs", &[Q.to_vec()], &[("topk", "2")]))
            .unwrap();
        let (ids, scores, _) = hits(&res);
        assert_eq!(ids, vec![3, 1]);
        assert_scores(&scores, &[1.0, 2.0]);
        let mismatch = search_req("docs", &[Q.to_vec()], &[("topk", "2"), ("metric_type", "IP")]);
        assert_fails(
            search(&env.api, &env.root, mismatch),
            code::INVALID_PARAMETER,
            "metric type mismatch",
        );
    }

    #[test]
    fn search_filters_pages_and_answers_several_queries() {
        use template_value::Val;
        let env = env();
        four_rows(&env);
        let api = &env.api;
        let ctx = &env.root;
        let l2 = [("topk", "4"), ("metric_type", "L2")];

        let mut req = search_req("docs", &[Q.to_vec()], &l2);
        req.dsl = "id in {ids} and color != {c}".into();
        let ids = wire::TemplateArrayValue {
            data: Some(template_array_value::Data::LongData(wire::LongArray {
                data: vec![1, 2, 3, 4],
            })),
        };
        req.expr_template_values = [
            ("ids".to_owned(), wire::TemplateValue { val: Some(Val::ArrayVal(ids)) }),
            ("c".to_owned(), wire::TemplateValue { val: Some(Val::StringVal("blue".into())) }),
        ]
        .into();
        // Row 4 has no color: unknown, never matches.
        assert_eq!(hits(&search(api, ctx, req).unwrap()).0, vec![3, 1]);

        let paged = search_req(
            "docs",
            &[Q.to_vec()],
            &[("topk", "2"), ("offset", "1"), ("metric_type", "L2")],
        );
        let (ids, scores, _) = hits(&search(api, ctx, paged).unwrap());
        assert_eq!(ids, vec![1, 2]);
        assert_scores(&scores, &[2.0, 4.0]);

        let two = search_req(
            "docs",
            &[Q.to_vec(), vec![0.0, 0.2, 1.5, 0.0]],
            &[("topk", "2"), ("metric_type", "L2")],
        );
        let (ids, scores, topks) = hits(&search(api, ctx, two).unwrap());
        assert_eq!((ids, topks), (vec![3, 1, 4, 2], vec![2, 2]));
        assert_scores(&scores, &[1.0, 2.0, 0.29, 2.89]);

        // A dynamic key by name, then everything.
        let mut req = search_req("docs", &[Q.to_vec()], &[("topk", "2"), ("metric_type", "L2")]);
        req.output_fields = vec!["color".into()];
        let data = search(api, ctx, req.clone()).unwrap().results.unwrap();
        assert_eq!(data.output_fields, ["color"]);
        assert_eq!(data.fields_data.len(), 1);
        assert_eq!(
            json_values(column(&data.fields_data, "$meta")),
            vec![serde_json::json!({"color": "red"}), serde_json::json!({"color": "red"})]
        );
        req.output_fields = vec!["*".into()];
        let data = search(api, ctx, req).unwrap().results.unwrap();
        assert_eq!(data.output_fields, ["id", "vector", "$meta"]);
        assert_eq!(long_values(column(&data.fields_data, "id")), vec![3, 1]);
        assert_eq!(
            json_values(column(&data.fields_data, "$meta"))[1],
            serde_json::json!({"color": "red", "size": 1})
        );
        let Some(field_data::Field::Vectors(v)) = &column(&data.fields_data, "vector").field else {
            panic!()
        };
        assert_eq!(v.dim, 4);

        // Search with the stored vector of row 4.
        let by_ids = pb::SearchRequest {
            collection_name: "docs".into(),
            search_input: Some(SearchInput::Ids(wire::IDs {
                id_field: Some(i_ds::IdField::IntId(wire::LongArray { data: vec![4] })),
            })),
            search_params: kv(&[("topk", "1"), ("metric_type", "L2")]),
            ..Default::default()
        };
        let (ids, scores, _) = hits(&search(api, ctx, by_ids.clone()).unwrap());
        assert_eq!(ids, vec![4]);
        assert_scores(&scores, &[0.0]);
        let mut missing = by_ids;
        missing.search_input = Some(SearchInput::Ids(wire::IDs {
            id_field: Some(i_ds::IdField::IntId(wire::LongArray { data: vec![99] })),
        }));
        assert_fails(search(api, ctx, missing), code::INVALID_PARAMETER, "99");
    }

    #[test]
    fn range_search_keeps_hits_between_radius_and_range_filter() {
        let env = env();
        four_rows(&env);
        let run = |params: &str| {
            let req = search_req("docs", &[Q.to_vec()], &[("topk", "4"), ("params", params)]);
            hits(&search(&env.api, &env.root, req).unwrap())
        };
        let (ids, scores, _) = run("{\"metric_type\":\"L2\",\"radius\":4.5,\"range_filter\":1.5}");
        assert_eq!(ids, vec![1, 2]);
        assert_scores(&scores, &[2.0, 4.0]);
        let (ids, _, _) = run("{\"metric_type\":\"IP\",\"radius\":0.5,\"range_filter\":2.5}");
        assert_eq!(ids, vec![1, 2]);
        let (ids, _, _) = run("{\"metric_type\":\"L2\",\"radius\":3}");
        assert_eq!(ids, vec![3, 1]);
        let inverted = search_req(
            "docs",
            &[Q.to_vec()],
            &[
                ("topk", "4"),
                ("params", "{\"metric_type\":\"L2\",\"radius\":1,\"range_filter\":2}"),
            ],
        );
        assert_fails(
            search(&env.api, &env.root, inverted),
            code::INVALID_PARAMETER,
            "range_filter",
        );
    }

    #[test]
    fn bad_searches_fail_with_milvus_codes() {
        let env = env();
        four_rows(&env);
        env.simple("cold", 4);
        env.api.db.set_loaded("default", "cold", false).unwrap();
        let api = &env.api;
        let ctx = &env.root;
        let q = [Q.to_vec()];
        let fails = |req: pb::SearchRequest, code: i32, text: &str| {
            assert_fails(search(api, ctx, req), code, text)
        };

        fails(search_req("cold", &q, &[("topk", "1")]), code::COLLECTION_NOT_LOADED, "not loaded");
        fails(search_req("nope", &q, &[("topk", "1")]), code::COLLECTION_NOT_FOUND, "nope");
        fails(
            search_req("docs", &[vec![1.0, 2.0]], &[("topk", "1")]),
            code::INVALID_PARAMETER,
            "dim 4 needs 16",
        );
        let mut malformed = search_req("docs", &q, &[("topk", "1")]);
        malformed.search_input = Some(SearchInput::PlaceholderGroup(vec![0x0a, 0xff, 0xff, 0xff]));
        fails(malformed, code::INVALID_PARAMETER, "placeholder_group is malformed");
        let mut binary = search_req("docs", &q, &[("topk", "1")]);
        binary.search_input = Some(SearchInput::PlaceholderGroup(placeholder_of(
            PlaceholderType::BinaryVector,
            vec![vec![1]],
        )));
        fails(binary, code::UNSUPPORTED, "BinaryVector");
        let mut empty = search_req("docs", &q, &[("topk", "1")]);
        empty.search_input = None;
        fails(empty, code::INVALID_PARAMETER, "no query vectors");
        fails(search_req("docs", &q, &[("topk", "16385")]), code::INVALID_PARAMETER, "16384");
        fails(
            search_req("docs", &q, &[("topk", "16000"), ("offset", "1000")]),
            code::INVALID_PARAMETER,
            "16384",
        );
        fails(search_req("docs", &q, &[("topk", "0")]), code::INVALID_PARAMETER, "limit");
        fails(search_req("docs", &q, &[("topk", "x")]), code::INVALID_PARAMETER, "topk");
        fails(search_req("docs", &q, &[]), code::MISSING_PARAMETER, "topk");
        fails(
            search_req("docs", &q, &[("topk", "1"), ("group_by_field", "color")]),
            code::UNSUPPORTED,
            "group",
        );
        fails(
            search_req("docs", &q, &[("topk", "1"), ("ignore_growing", "True")]),
            code::UNSUPPORTED,
            "ignore_growing",
        );
        fails(
            search_req("docs", &q, &[("topk", "1"), ("search_iter_id", "abc")]),
            code::UNSUPPORTED,
            "iterator",
        );
        fails(
            search_req("docs", &q, &[("topk", "1"), ("anns_field", "nope")]),
            code::INVALID_PARAMETER,
            "nope",
        );
        fails(
            search_req("docs", &q, &[("topk", "1"), ("metric_type", "HAMMING")]),
            code::INVALID_PARAMETER,
            "HAMMING",
        );
        fails(
            search_req("docs", &q, &[("topk", "1"), ("params", "{\"ef\":")]),
            code::INVALID_PARAMETER,
            "JSON",
        );
        fails(
            search_req("docs", &q, &[("topk", "1"), ("params", "{\"ef\":-3}")]),
            code::INVALID_PARAMETER,
            "ef",
        );
        fails(
            search_req("docs", &q, &[("topk", "1"), ("round_decimal", "9")]),
            code::INVALID_PARAMETER,
            "round_decimal",
        );
        let long_params = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_PARAMS_JSON));
        fails(
            search_req("docs", &q, &[("topk", "1"), ("params", &long_params)]),
            code::INVALID_PARAMETER,
            "bytes",
        );
        let mut nq = search_req("docs", &q, &[("topk", "1")]);
        nq.nq = 3;
        fails(nq, code::INVALID_PARAMETER, "nq is 3");
        let mut bad_filter = search_req("docs", &q, &[("topk", "1")]);
        bad_filter.dsl = "id >".into();
        fails(bad_filter, code::INVALID_PARAMETER, "filter");
        let mut scored = search_req("docs", &q, &[("topk", "1")]);
        scored.function_score = Some(wire::FunctionScore::default());
        fails(scored, code::UNSUPPORTED, "function_score");
        let mut partition = search_req("docs", &q, &[("topk", "1")]);
        partition.partition_names = vec!["nowhere".into()];
        fails(partition, code::PARTITION_NOT_FOUND, "nowhere");
        let mut output = search_req("docs", &q, &[("topk", "1")]);
        output.output_fields = vec!["count(*)".into()];
        fails(output, code::INVALID_PARAMETER, "count(*)");
        let too_many =
            (0..=quiver_engine::MAX_QUERY_VECTORS).map(|_| vec![0.0; 4]).collect::<Vec<_>>();
        fails(
            search_req("docs", &too_many, &[("topk", "1")]),
            code::INVALID_PARAMETER,
            "limits.max_query_vectors",
        );
        let huge = (0..1000).map(|_| Q.to_vec()).collect::<Vec<_>>();
        fails(search_req("docs", &huge, &[("topk", "16384")]), code::TOO_LARGE, "hits");
        env.simple("wide", 32768);
        let mut wide = search_req("wide", &[vec![0.0; 32768]], &[("topk", "1000")]);
        wide.output_fields = vec!["vector".into()];
        fails(wide, code::TOO_LARGE, "bytes");
        // Iterator flags that only concern paging are accepted.
        search(
            api,
            ctx,
            search_req(
                "docs",
                &q,
                &[("topk", "1"), ("iterator", "True"), ("search_iter_v2", "True")],
            ),
        )
        .unwrap();
    }

    /// Two vector fields; rows whose ranks differ per field.
    fn two_fields(env: &Env) {
        env.create(
            "multi",
            vec![
                FieldSpec::primary("id", DataType::Int64),
                FieldSpec::new("a", DataType::FloatVector { dim: 2 }),
                FieldSpec::new("b", DataType::FloatVector { dim: 2 }),
            ],
            true,
            true,
        );
        let mut meta = json(DYNAMIC, vec!["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"]);
        meta.is_dynamic = true;
        let req = pb::InsertRequest {
            collection_name: "multi".into(),
            fields_data: vec![
                longs("id", vec![1, 2, 3]),
                vectors("a", 2, vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
                vectors("b", 2, vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0]),
                meta,
            ],
            num_rows: 3,
            ..Default::default()
        };
        insert(&env.api, &env.root, req).unwrap();
    }

    fn sub(field: &str, metric: &str, query: Vec<f32>) -> pb::SearchRequest {
        search_req(
            "multi",
            &[query],
            &[("anns_field", field), ("topk", "3"), ("metric_type", metric)],
        )
    }

    fn hybrid(subs: Vec<pb::SearchRequest>, rank: &[(&str, &str)]) -> pb::HybridSearchRequest {
        pb::HybridSearchRequest {
            collection_name: "multi".into(),
            requests: subs,
            rank_params: kv(rank),
            ..Default::default()
        }
    }

    #[test]
    fn hybrid_search_reranks_with_rrf_and_weighted_scores() {
        let env = env();
        two_fields(&env);
        let api = &env.api;
        let ctx = &env.root;
        // IP on a with [1, 0.5]: 3 (1.5), 1 (1), 2 (0.5); on b with [1, 0.2]: 3 (1.2), 2 (1), 1 (0.2).
        let ip = || vec![sub("a", "IP", vec![1.0, 0.5]), sub("b", "IP", vec![1.0, 0.2])];
        let run = |subs, rank: &[(&str, &str)]| {
            hits(&hybrid_search(api, ctx, hybrid(subs, rank)).unwrap())
        };

        let (ids, scores, topks) =
            run(ip(), &[("strategy", "rrf"), ("params", "{\"k\":60}"), ("limit", "3")]);
        assert_eq!((ids, topks), (vec![3, 1, 2], vec![3]));
        let tie = 1.0 / 62.0 + 1.0 / 63.0;
        assert_scores(&scores, &[2.0 / 61.0, tie, tie]);
        // No strategy: RRF with k = 60; paging after the rerank.
        let (ids, _, _) = run(ip(), &[("limit", "1"), ("offset", "1")]);
        assert_eq!(ids, vec![1]);

        let norm = |s: f32| 0.5 + s.atan() / std::f32::consts::PI;
        let weighted = [
            ("strategy", "weighted"),
            ("params", "{\"weights\":[0.7,0.3],\"norm_score\":true}"),
            ("limit", "3"),
        ];
        let (ids, scores, _) = run(ip(), &weighted);
        let expect = |a: f32, b: f32| 0.7 * norm(a) + 0.3 * norm(b);
        assert_eq!(ids, vec![3, 1, 2]);
        assert_scores(&scores, &[expect(1.5, 1.2), expect(1.0, 0.2), expect(0.5, 1.0)]);

        // IP and L2 mixed without normalization: L2 distances become 1 − 2·atan(d)/π.
        // L2 on b with [1, 0.2]: 1 → 1.64, 2 → 0.04, 3 → 0.64.
        let mixed = vec![sub("a", "IP", vec![1.0, 0.5]), sub("b", "L2", vec![1.0, 0.2])];
        let l2 = |d: f32| 1.0 - 2.0 * d.atan() / std::f32::consts::PI;
        let (ids, scores, _) = run(
            mixed,
            &[("strategy", "weighted"), ("params", "{\"weights\":[0.5,0.5]}"), ("limit", "3")],
        );
        let mut want = [
            (3, 0.5 * 1.5 + 0.5 * l2(0.64)),
            (1, 0.5 + 0.5 * l2(1.64)),
            (2, 0.25 + 0.5 * l2(0.04)),
        ];
        want.sort_by(|x, y| y.1.total_cmp(&x.1));
        assert_eq!(ids, want.iter().map(|w| w.0).collect::<Vec<_>>());
        assert_scores(&scores, &want.iter().map(|w| w.1).collect::<Vec<_>>());

        // Only raw L2 distances: the smallest weighted sum ranks first.
        let all_l2 = vec![sub("a", "L2", vec![1.0, 0.5]), sub("b", "L2", vec![1.0, 0.2])];
        let (ids, scores, _) = run(
            all_l2,
            &[
                ("strategy", "weighted"),
                ("params", "{\"weights\":[1,1]}"),
                ("limit", "2"),
                ("round_decimal", "2"),
            ],
        );
        // a with [1, 0.5]: 1 → 0.25, 2 → 1.25, 3 → 0.25; sums: 1 → 1.89, 2 → 1.29, 3 → 0.89.
        assert_eq!(ids, vec![3, 2]);
        assert_scores(&scores, &[0.89, 1.29]);

        // Output fields come with the reranked hits.
        let mut req = hybrid(ip(), &[("limit", "2")]);
        req.output_fields = vec!["n".into(), "a".into()];
        let data = hybrid_search(api, ctx, req).unwrap().results.unwrap();
        assert_eq!(data.output_fields, ["a", "n"]);
        assert_eq!(
            json_values(column(&data.fields_data, "$meta")),
            vec![serde_json::json!({"n": 3}), serde_json::json!({"n": 1})]
        );
    }

    #[test]
    fn bad_hybrid_searches_fail_with_milvus_codes() {
        let env = env();
        two_fields(&env);
        let api = &env.api;
        let ctx = &env.root;
        let ip = || vec![sub("a", "IP", vec![1.0, 0.5]), sub("b", "IP", vec![1.0, 0.2])];
        let fails = |req, code, text: &str| assert_fails(hybrid_search(api, ctx, req), code, text);
        fails(
            hybrid(ip(), &[("strategy", "max"), ("limit", "3")]),
            code::INVALID_PARAMETER,
            "unknown rank strategy",
        );
        fails(
            hybrid(
                ip(),
                &[("strategy", "weighted"), ("params", "{\"weights\":[1]}"), ("limit", "3")],
            ),
            code::INVALID_PARAMETER,
            "1 weights given for 2 searches",
        );
        fails(
            hybrid(
                ip(),
                &[("strategy", "weighted"), ("params", "{\"weights\":[2,1]}"), ("limit", "3")],
            ),
            code::INVALID_PARAMETER,
            "[0, 1]",
        );
        fails(
            hybrid(ip(), &[("strategy", "rrf"), ("params", "{\"k\":0}"), ("limit", "3")]),
            code::INVALID_PARAMETER,
            "(0, 16384)",
        );
        fails(hybrid(ip(), &[("strategy", "rrf")]), code::MISSING_PARAMETER, "limit");
        fails(hybrid(vec![], &[("limit", "3")]), code::INVALID_PARAMETER, "between 1 and");
        let mut scored = hybrid(ip(), &[("limit", "3")]);
        scored.function_score = Some(wire::FunctionScore::default());
        fails(scored, code::UNSUPPORTED, "function_score");
        let uneven = vec![
            sub("a", "IP", vec![1.0, 0.5]),
            search_req(
                "multi",
                &[vec![1.0, 0.0], vec![0.0, 1.0]],
                &[("anns_field", "b"), ("topk", "3")],
            ),
        ];
        fails(
            hybrid(uneven, &[("limit", "3")]),
            code::INVALID_PARAMETER,
            "same number of query vectors",
        );
        let no_field = vec![search_req("multi", &[vec![1.0, 0.0]], &[("topk", "3")])];
        fails(hybrid(no_field, &[("limit", "3")]), code::INVALID_PARAMETER, "anns_field");
        env.api.db.set_loaded("default", "multi", false).unwrap();
        fails(hybrid(ip(), &[("limit", "3")]), code::COLLECTION_NOT_LOADED, "not loaded");
    }

    fn query_req(expr: &str, output: &[&str], params: &[(&str, &str)]) -> pb::QueryRequest {
        pb::QueryRequest {
            collection_name: "docs".into(),
            expr: expr.into(),
            output_fields: output.iter().map(|s| s.to_string()).collect(),
            query_params: kv(params),
            ..Default::default()
        }
    }

    fn ids_of(res: &pb::QueryResults) -> Vec<i64> {
        long_values(column(&res.fields_data, "id"))
    }

    /// Ids 1..=20 over a sealed and a growing segment, inserted out of order.
    fn twenty_rows(env: &Env) {
        env.simple("docs", 2);
        let row =
            |i: i64| (i, vec![i as f32, 1.0], if i % 2 == 0 { "{\"even\":true}" } else { "{}" });
        env.insert_rows("docs", &[17, 3, 9, 1, 12, 20, 5, 14, 7, 11].map(row));
        env.api.db.collection("default", "docs").unwrap().flush().unwrap();
        env.insert_rows("docs", &[2, 19, 8, 4, 16, 10, 6, 18, 15, 13].map(row));
    }

    #[test]
    fn query_counts_rows() {
        let env = env();
        twenty_rows(&env);
        let api = &env.api;
        let ctx = &env.root;
        let count = |expr: &str| {
            let res = query(api, ctx, query_req(expr, &["count(*)"], &[])).unwrap();
            assert_eq!(res.output_fields, ["count(*)"]);
            assert_eq!(res.fields_data[0].field_name, "count(*)");
            assert_eq!(res.fields_data[0].r#type, wire::DataType::Int64 as i32);
            long_values(&res.fields_data[0])[0]
        };
        assert_eq!(count(""), 20);
        assert_eq!(count("id > 15"), 5);
        assert_eq!(count("even == true"), 10);
        let mut in_default = query_req("", &["count(*)"], &[]);
        in_default.partition_names = vec!["_default".into()];
        assert_eq!(long_values(&query(api, ctx, in_default).unwrap().fields_data[0]), vec![20]);
        assert_fails(
            query(api, ctx, query_req("", &["count(*)"], &[("limit", "3")])),
            code::INVALID_PARAMETER,
            "pagination",
        );
        assert_fails(
            query(api, ctx, query_req("", &["count(*)", "id"], &[])),
            code::INVALID_PARAMETER,
            "only output field",
        );
    }

    #[test]
    fn query_pages_in_primary_key_order_across_segments_and_deletions() {
        let env = env();
        twenty_rows(&env);
        let api = &env.api;
        let ctx = &env.root;
        let page = |expr: &str, params: &[(&str, &str)]| {
            ids_of(&query(api, ctx, query_req(expr, &[], params)).unwrap())
        };
        assert_eq!(page("", &[("limit", "3")]), vec![1, 2, 3]);
        assert_eq!(page("", &[("limit", "3"), ("offset", "4")]), vec![5, 6, 7]);
        assert_eq!(page("even == true", &[("limit", "4"), ("offset", "1")]), vec![4, 6, 8, 10]);
        assert_eq!(page("id in [7, 3, 42]", &[]), vec![3, 7]);
        assert_eq!(page("id > 100", &[("limit", "5")]), Vec::<i64>::new());

        // The twelve smallest keys are deleted rows that still sit in their segments.
        let del = pb::DeleteRequest {
            collection_name: "docs".into(),
            expr: "id <= 12".into(),
            ..Default::default()
        };
        assert_eq!(delete(api, ctx, del).unwrap().delete_cnt, 12);
        assert_eq!(page("", &[("limit", "3")]), vec![13, 14, 15]);
        assert_eq!(page("id > 0", &[]), (13..=20).collect::<Vec<_>>());

        // What pymilvus's query_iterator does: pages of `pk > last`.
        let mut seen = Vec::new();
        let mut last: Option<i64> = None;
        loop {
            let expr = last.map_or(String::new(), |l| format!("id > {l}"));
            let batch = page(
                &expr,
                &[("limit", "3"), ("iterator", "True"), ("reduce_stop_for_best", "True")],
            );
            let Some(&tail) = batch.last() else { break };
            seen.extend(batch);
            last = Some(tail);
        }
        assert_eq!(seen, (13..=20).collect::<Vec<_>>());
    }

    #[test]
    fn query_returns_fields_and_refuses_what_milvus_refuses() {
        let env = env();
        twenty_rows(&env);
        env.simple("cold", 2);
        env.api.db.set_loaded("default", "cold", false).unwrap();
        let api = &env.api;
        let ctx = &env.root;
        let res = query(api, ctx, query_req("id in [2, 3]", &["*"], &[])).unwrap();
        assert_eq!(res.output_fields, ["id", "vector", "$meta"]);
        assert_eq!(res.primary_field_name, "id");
        assert_eq!(
            json_values(column(&res.fields_data, "$meta")),
            vec![serde_json::json!({"even": true}), serde_json::json!({})]
        );
        let res = query(api, ctx, query_req("id > 100", &["vector", "even"], &[])).unwrap();
        assert_eq!(res.output_fields, ["id", "vector", "even"]);
        assert_eq!(res.fields_data.len(), 3);
        let Some(field_data::Field::Vectors(v)) = &column(&res.fields_data, "vector").field else {
            panic!()
        };
        assert_eq!(v.dim, 2);

        use template_value::Val;
        let mut templated = query_req("id < {n}", &[], &[]);
        templated.expr_template_values =
            [("n".to_owned(), wire::TemplateValue { val: Some(Val::Int64Val(3)) })].into();
        assert_eq!(ids_of(&query(api, ctx, templated).unwrap()), vec![1, 2]);

        let fails = |req, code, text: &str| assert_fails(query(api, ctx, req), code, text);
        fails(
            query_req("", &[], &[]),
            code::INVALID_PARAMETER,
            "empty expression should be used with limit",
        );
        fails(query_req("", &[], &[("limit", "0")]), code::INVALID_PARAMETER, "limit");
        fails(
            query_req("", &[], &[("limit", "10"), ("offset", "16380")]),
            code::INVALID_PARAMETER,
            "16384",
        );
        fails(query_req("id >", &[], &[]), code::INVALID_PARAMETER, "filter");
        fails(query_req("id > 0", &["nope nope"], &[]), code::INVALID_PARAMETER, "does not exist");
        fails(
            query_req("id > 0", &[], &[("order_by_fields", "id:desc")]),
            code::UNSUPPORTED,
            "order_by_fields",
        );
        fails(
            query_req("id > 0", &[], &[("ignore_growing", "true")]),
            code::UNSUPPORTED,
            "ignore_growing",
        );
        fails(
            query_req("id > 0", &[], &[("iterator", "maybe")]),
            code::INVALID_PARAMETER,
            "iterator",
        );
        let mut cold = query_req("id > 0", &[], &[]);
        cold.collection_name = "cold".into();
        fails(cold, code::COLLECTION_NOT_LOADED, "not loaded");
        let mut namespaced = query_req("id > 0", &[], &[]);
        namespaced.namespace = Some("t".into());
        fails(namespaced, code::UNSUPPORTED, "namespaces");
    }

    #[test]
    fn reads_without_grants_are_denied() {
        let env = env();
        four_rows(&env);
        let alice = env.stranger();
        let api = &env.api;
        assert_denied(search(api, &alice, search_req("docs", &[Q.to_vec()], &[("topk", "1")])));
        let req = pb::HybridSearchRequest {
            collection_name: "docs".into(),
            requests: vec![search_req("docs", &[Q.to_vec()], &[("topk", "1")])],
            rank_params: kv(&[("limit", "1")]),
            ..Default::default()
        };
        assert_denied(hybrid_search(api, &alice, req));
        assert_denied(query(api, &alice, query_req("id > 0", &[], &[])));
    }
}
