//! Reads: get by primary keys, query, count and exact (FLAT) top-k and range search over the
//! sealed and growing segments, honoring deletes and showing only durable writes.
//!
//! Filters plug in through [`RowFilter`], which turns a segment into a row mask; vector
//! indexes will plug in per segment beside the brute-force scan.

use quiver_core::{Column, DYNAMIC_FIELD_NAME, DataType, Metric, PkValue, Schema, Value};
use quiver_expr::ScalarIndex;
use quiver_index::{Neighbor, SearchRange, flat_range_search, flat_search, merge_topk, to_score};

use super::Collection;
use super::state::State;
use crate::EngineError;
use crate::index::SearchParams;
use crate::options::{MAX_QUERY_VECTORS, MAX_TOPK_WINDOW};
use crate::segment::Segment;

/// What a filter sees of a segment.
pub struct SegmentView<'a> {
    pub schema: &'a Schema,
    /// One column per schema field, in schema order.
    pub columns: &'a [Column],
    pub num_rows: usize,
}

/// A row predicate evaluated per segment to a mask (`true`: the row passes).
pub trait RowFilter: Sync {
    fn evaluate(&self, segment: &SegmentView<'_>) -> Result<Vec<bool>, EngineError>;

    /// [`RowFilter::evaluate`] with the segment's scalar indexes by field position (sealed
    /// segments only; a growing segment has none), which a filter may use to skip scans. The
    /// result must be the same as `evaluate`'s.
    fn evaluate_with_indexes<'i>(
        &self,
        segment: &SegmentView<'_>,
        indexes: &dyn Fn(usize) -> Option<&'i ScalarIndex>,
    ) -> Result<Vec<bool>, EngineError> {
        let _ = indexes;
        self.evaluate(segment)
    }
}

/// Below this share of passing rows a segment is scanned rather than searched through its
/// index (Milvus switches at 93% filtered out).
const MIN_PASS_RATIO_FOR_INDEX: f64 = 0.07;

/// How one search treats one segment.
struct SegmentPlan {
    /// The filter's verdict per row, when the request has a filter.
    filter_mask: Option<Vec<bool>>,
    /// Estimated share of rows that are visible and pass the filter.
    pass_ratio: f64,
    /// Every row passes: no per-row check is needed.
    all_pass: bool,
}

/// One result row: its primary key and the requested fields, in the order requested.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub pk: PkValue,
    pub fields: Vec<(String, Value)>,
}

/// One search hit: the row and its score as Milvus reports it (L2: squared distance, smaller
/// is closer; IP and COSINE: similarity, larger is closer).
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub score: f32,
    pub row: Row,
}

#[derive(Clone, Copy)]
pub struct SearchRequest<'a> {
    /// The vector field to search; `None` when the schema has exactly one.
    pub vector_field: Option<&'a str>,
    pub metric: Metric,
    /// One or more query vectors.
    pub queries: &'a [Vec<f32>],
    pub limit: usize,
    pub offset: usize,
    /// Partitions to search; empty searches all.
    pub partitions: &'a [String],
    /// Fields to return besides the primary key; `*` returns all.
    pub output_fields: &'a [String],
    pub filter: Option<&'a dyn RowFilter>,
    /// Index search parameters (`ef`).
    pub params: SearchParams,
    /// Range search (Milvus's `radius` and `range_filter`), bounded by `limit` like Milvus.
    pub range: Option<SearchRange>,
}

#[derive(Clone, Copy)]
pub struct QueryRequest<'a> {
    pub filter: Option<&'a dyn RowFilter>,
    pub partitions: &'a [String],
    pub output_fields: &'a [String],
    pub offset: usize,
    /// `None`: every matching row (bounded by the caller).
    pub limit: Option<usize>,
}

/// Which fields a result carries, resolved once per request.
enum Output {
    Field {
        name: String,
        index: usize,
    },
    /// A key of the dynamic `$meta` object, read as a top-level field.
    Dynamic {
        key: String,
        index: usize,
    },
}

impl Collection {
    /// The live rows with these primary keys, in the order of the keys (missing keys skipped).
    pub fn get(&self, pks: &[PkValue], output_fields: &[String]) -> Result<Vec<Row>, EngineError> {
        let outputs = self.resolve_outputs(output_fields)?;
        let visible = self.wal.durable_lsn();
        let state = self.state.read();
        let rows = pks
            .iter()
            .filter_map(|pk| state.visible_row(pk, visible))
            .map(|(segment, row)| self.materialize(segment, row, &outputs))
            .collect();
        Ok(rows)
    }

    /// Number of visible rows.
    pub fn count(&self) -> u64 {
        let visible = self.wal.durable_lsn();
        let state = self.state.read();
        state
            .segments
            .values()
            .map(|s| (0..s.num_rows()).filter(|row| s.is_visible(*row, visible)).count() as u64)
            .sum()
    }

    /// Number of visible rows of one partition.
    pub fn count_partition(&self, partition: &str) -> Result<u64, EngineError> {
        self.count_passing(None, &[partition.to_owned()])
    }

    /// Number of visible rows of `partitions` (all when empty) that pass `filter`.
    pub(crate) fn count_passing(
        &self,
        filter: Option<&dyn RowFilter>,
        partitions: &[String],
    ) -> Result<u64, EngineError> {
        let visible = self.wal.durable_lsn();
        let state = self.state.read();
        let partitions = self.partition_ids(&state, partitions)?;
        let mut count = 0;
        for segment in state.segments.values().filter(|s| partitions.contains(&s.partition)) {
            let plan = self.plan(segment, filter)?;
            count += (0..segment.num_rows())
                .filter(|row| {
                    segment.is_visible(*row, visible)
                        && plan.filter_mask.as_ref().is_none_or(|mask| mask[*row])
                })
                .count() as u64;
        }
        Ok(count)
    }

    /// The visible rows that pass the filter, in storage order.
    pub fn query(&self, req: &QueryRequest<'_>) -> Result<Vec<Row>, EngineError> {
        if let Some(limit) = req.limit {
            check_window(req.offset, limit)?;
        }
        let outputs = self.resolve_outputs(req.output_fields)?;
        let visible = self.wal.durable_lsn();
        let state = self.state.read();
        let partitions = self.partition_ids(&state, req.partitions)?;
        let mut skip = req.offset;
        let mut rows = Vec::new();
        for segment in state.segments.values() {
            if !partitions.contains(&segment.partition) {
                continue;
            }
            let plan = self.plan(segment, req.filter)?;
            let passes = |row: &usize| {
                segment.is_visible(*row, visible)
                    && plan.filter_mask.as_ref().is_none_or(|mask| mask[*row])
            };
            for row in (0..segment.num_rows()).filter(passes) {
                if req.limit.is_some_and(|limit| rows.len() >= limit) {
                    return Ok(rows);
                }
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                rows.push(self.materialize(segment, row, &outputs));
            }
        }
        Ok(rows)
    }

    /// Exact search: for each query vector, the `limit` closest visible rows after skipping
    /// `offset`, best first.
    pub fn search(&self, req: &SearchRequest<'_>) -> Result<Vec<Vec<Hit>>, EngineError> {
        check_window(req.offset, req.limit)?;
        if req.limit == 0 {
            return Err(EngineError::invalid("limit", "must be at least 1"));
        }
        if req.queries.is_empty() || req.queries.len() > MAX_QUERY_VECTORS {
            return Err(EngineError::invalid(
                "query vectors",
                format!("need between 1 and {MAX_QUERY_VECTORS}, got {}", req.queries.len()),
            ));
        }
        let (field_index, dim) = self.vector_field(req.vector_field)?;
        for (i, query) in req.queries.iter().enumerate() {
            if query.len() != dim {
                return Err(EngineError::invalid(
                    "query vector",
                    format!(
                        "vector {i} has dimension {} but the field's dim is {dim}",
                        query.len()
                    ),
                ));
            }
            if query.iter().any(|x| !x.is_finite()) {
                return Err(EngineError::invalid(
                    "query vector",
                    format!("vector {i} holds NaN or infinity"),
                ));
            }
        }
        if let Some(range) = req.range {
            check_range(req.metric, range)?;
        }
        let outputs = self.resolve_outputs(req.output_fields)?;
        let visible = self.wal.durable_lsn();
        let state = self.state.read();
        let partitions = self.partition_ids(&state, req.partitions)?;
        // Only a vector index has a metric; a scalar index is never on the searched field.
        if let Some((spec, index_metric)) = state
            .indexes
            .iter()
            .filter(|s| Some(&s.field) == self.field_name(field_index))
            .find_map(|s| s.metric.map(|m| (s, m)))
            && index_metric != req.metric
        {
            return Err(EngineError::MetricMismatch {
                field: spec.field.clone(),
                index: index_metric,
                requested: req.metric,
            });
        }
        let segments: Vec<&Segment> =
            state.segments.values().filter(|s| partitions.contains(&s.partition)).collect();
        let plans =
            segments.iter().map(|s| self.plan(s, req.filter)).collect::<Result<Vec<_>, _>>()?;
        let k = req.offset + req.limit;
        let mut results = Vec::with_capacity(req.queries.len());
        for query in req.queries {
            let mut lists = Vec::with_capacity(segments.len());
            for (seg_idx, (segment, plan)) in segments.iter().zip(&plans).enumerate() {
                let found =
                    self.search_segment(segment, plan, field_index, dim, query, k, req, visible)?;
                let tagged = found
                    .into_iter()
                    .map(|n| Neighbor { id: ((seg_idx as u64) << 32) | n.id, distance: n.distance })
                    .collect();
                lists.push(tagged);
            }
            let merged = merge_topk(lists, k);
            let hits = merged
                .into_iter()
                .skip(req.offset)
                .map(|n| {
                    let segment = segments[(n.id >> 32) as usize];
                    let row = (n.id & 0xffff_ffff) as usize;
                    Hit {
                        score: to_score(req.metric, n.distance),
                        row: self.materialize(segment, row, &outputs),
                    }
                })
                .collect();
            results.push(hits);
        }
        Ok(results)
    }

    /// Evaluates the filter on a segment and estimates the share of its rows that pass.
    fn plan(
        &self,
        segment: &Segment,
        filter: Option<&dyn RowFilter>,
    ) -> Result<SegmentPlan, EngineError> {
        let n = segment.num_rows();
        let filter_mask = match filter {
            None => None,
            Some(filter) => {
                let view =
                    SegmentView { schema: &self.schema, columns: &segment.columns, num_rows: n };
                let mask = filter.evaluate_with_indexes(&view, &|i| segment.scalar_index(i))?;
                if mask.len() != n {
                    return Err(EngineError::invalid(
                        "filter",
                        "mask length differs from the segment",
                    ));
                }
                Some(mask)
            }
        };
        let passing = filter_mask.as_ref().map_or(n, |m| m.iter().filter(|p| **p).count());
        let live_share = if n == 0 { 0.0 } else { 1.0 - segment.deleted as f64 / n as f64 };
        let pass_ratio = if n == 0 { 0.0 } else { passing as f64 / n as f64 * live_share };
        // Sealed rows are all durable, so with no deletion and no filter every row passes.
        let all_pass = segment.sealed && segment.deleted == 0 && filter_mask.is_none();
        Ok(SegmentPlan { filter_mask, pass_ratio, all_pass })
    }

    /// One segment's nearest rows: through its index when it has one and enough rows pass,
    /// else by scanning the rows that pass (Milvus likewise scans when 93% or more of the
    /// rows are filtered out, where a graph walk would visit mostly rejected rows).
    #[allow(clippy::too_many_arguments)]
    fn search_segment(
        &self,
        segment: &Segment,
        plan: &SegmentPlan,
        field_index: usize,
        dim: usize,
        query: &[f32],
        k: usize,
        req: &SearchRequest<'_>,
        visible: u64,
    ) -> Result<Vec<Neighbor>, EngineError> {
        let vectors = match &segment.columns[field_index].data {
            quiver_core::ColumnData::FloatVector { data, .. } => data.as_slice(),
            _ => &[],
        };
        let accept = |row: usize| {
            segment.is_visible(row, visible)
                && plan.filter_mask.as_ref().is_none_or(|mask| mask[row])
        };
        if let Some(range) = req.range {
            return Ok(flat_range_search(vectors, dim, query, req.metric, k, range, &accept));
        }
        let index = segment.indexes.get(&field_index);
        match index {
            Some(index) if plan.pass_ratio >= MIN_PASS_RATIO_FOR_INDEX => {
                let accept_id = |row: u32| accept(row as usize);
                let filter: Option<&dyn Fn(u32) -> bool> =
                    if plan.all_pass { None } else { Some(&accept_id) };
                index.search(vectors, query, k, req.params, filter)
            }
            Some(_) | None => Ok(flat_search(vectors, dim, query, req.metric, k, &accept)),
        }
    }

    fn field_name(&self, index: usize) -> Option<&String> {
        self.schema.fields().get(index).map(|f| &f.name)
    }

    fn vector_field(&self, name: Option<&str>) -> Result<(usize, usize), EngineError> {
        let index = match name {
            Some(name) => self.schema.field_index(name).ok_or_else(|| {
                EngineError::invalid("vector field", format!("no field {name:?}"))
            })?,
            None => {
                let vectors: Vec<usize> = self.schema.vector_indexes().collect();
                match vectors.as_slice() {
                    [only] => *only,
                    _ => {
                        return Err(EngineError::invalid(
                            "vector field",
                            "the collection has several vector fields; name one",
                        ));
                    }
                }
            }
        };
        match self.schema.fields()[index].data_type {
            DataType::FloatVector { dim } => Ok((index, dim as usize)),
            other => Err(EngineError::invalid(
                "vector field",
                format!("field {:?} is {other}, not a vector", self.schema.fields()[index].name),
            )),
        }
    }

    fn partition_ids(&self, state: &State, names: &[String]) -> Result<Vec<i64>, EngineError> {
        if names.is_empty() {
            return Ok(state.partitions.iter().map(|p| p.id).collect());
        }
        names.iter().map(|name| state.partition_id(name)).collect()
    }

    fn resolve_outputs(&self, names: &[String]) -> Result<Vec<Output>, EngineError> {
        let mut outputs = Vec::new();
        let dynamic = self.schema.dynamic_index();
        for name in names {
            if name == "*" {
                for (index, field) in self.schema.fields().iter().enumerate() {
                    if !field.is_primary && !field.is_dynamic {
                        outputs.push(Output::Field { name: field.name.clone(), index });
                    }
                }
                if let Some(index) = dynamic {
                    outputs.push(Output::Field { name: DYNAMIC_FIELD_NAME.to_owned(), index });
                }
                continue;
            }
            match (self.schema.field_index(name), dynamic) {
                (Some(index), _) if self.schema.fields()[index].is_primary => {}
                (Some(index), _) => outputs.push(Output::Field { name: name.clone(), index }),
                (None, Some(index))
                    if quiver_core::Name::new(quiver_core::NameKind::Field, name).is_ok() =>
                {
                    outputs.push(Output::Dynamic { key: name.clone(), index });
                }
                (None, _) => {
                    return Err(EngineError::invalid(
                        "output field",
                        format!(
                            "{:?} is not a field of the collection",
                            name.chars().take(64).collect::<String>()
                        ),
                    ));
                }
            }
        }
        Ok(outputs)
    }

    fn materialize(&self, segment: &Segment, row: usize, outputs: &[Output]) -> Row {
        let pk_column = &segment.columns[self.schema.primary_index()].data;
        let pk = pk_column.pk(row).unwrap_or(PkValue::Int64(0));
        let fields = outputs
            .iter()
            .filter_map(|output| match output {
                Output::Field { name, index } => {
                    Some((name.clone(), segment.columns[*index].value(row).unwrap_or(Value::Null)))
                }
                Output::Dynamic { key, index } => {
                    let Some(Value::Json(text)) = segment.columns[*index].value(row) else {
                        return None;
                    };
                    let object: serde_json::Value = serde_json::from_str(&text).ok()?;
                    let value = object.get(key)?;
                    Some((key.clone(), Value::Json(value.to_string())))
                }
            })
            .collect();
        Row { pk, fields }
    }
}

fn check_window(offset: usize, limit: usize) -> Result<(), EngineError> {
    if offset.saturating_add(limit) > MAX_TOPK_WINDOW {
        return Err(EngineError::invalid(
            "offset + limit",
            format!("{offset} + {limit} exceeds {MAX_TOPK_WINDOW}"),
        ));
    }
    Ok(())
}

/// Milvus's rule: for L2 `range_filter < radius`, for IP and COSINE `radius < range_filter`.
fn check_range(metric: Metric, range: SearchRange) -> Result<(), EngineError> {
    if !range.radius.is_finite() || range.range_filter.is_some_and(|f| !f.is_finite()) {
        return Err(EngineError::invalid("range search", "radius and range_filter must be finite"));
    }
    let Some(range_filter) = range.range_filter else { return Ok(()) };
    let ordered = if metric.larger_is_closer() {
        range.radius < range_filter
    } else {
        range_filter < range.radius
    };
    if !ordered {
        return Err(EngineError::invalid(
            "range search",
            format!(
                "for {metric}, range_filter must be {} radius",
                if metric.larger_is_closer() { "greater than" } else { "less than" }
            ),
        ));
    }
    Ok(())
}
