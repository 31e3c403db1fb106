//! Filter expressions on a collection: compiling Milvus filter text (with template values)
//! against the collection's schema, evaluating it per segment, and the writes and reads that
//! take a filter (delete by filter, count). On sealed segments the filter uses the fields'
//! scalar indexes (INVERTED, STL_SORT) where they answer a leaf more cheaply than a scan.

use std::collections::HashMap;

use quiver_core::PkValue;
use quiver_expr::{Limits, Plan, ScalarIndex, TemplateValue};

use super::read::{RowFilter, SegmentView};
use super::{Collection, WriteResult};
use crate::EngineError;

/// A compiled filter expression, ready to evaluate on any segment of its collection.
#[derive(Clone, Debug)]
pub struct ExprFilter {
    plan: Plan,
}

impl ExprFilter {
    /// The primary keys when the filter is exactly `pk == v` or `pk in [...]`, which reads
    /// and deletes serve by key instead of by scan.
    pub fn primary_keys(&self) -> Option<&[PkValue]> {
        self.plan.pk_values()
    }
}

impl RowFilter for ExprFilter {
    fn evaluate(&self, segment: &SegmentView<'_>) -> Result<Vec<bool>, EngineError> {
        Ok(self.plan.evaluate(segment.columns, segment.num_rows)?.to_bools())
    }

    /// Leaves a scalar index answers exactly come from the index when that is cheaper than a
    /// scan (`Plan::evaluate_indexed`); the result equals `evaluate`'s.
    fn evaluate_with_indexes<'i>(
        &self,
        segment: &SegmentView<'_>,
        indexes: &dyn Fn(usize) -> Option<&'i ScalarIndex>,
    ) -> Result<Vec<bool>, EngineError> {
        Ok(self.plan.evaluate_indexed(segment.columns, segment.num_rows, indexes)?.to_bools())
    }
}

impl Collection {
    /// Compiles a filter expression for this collection. Values of `{name}` placeholders come
    /// from `params` and are never parsed as expression text.
    pub fn compile_filter(
        &self,
        text: &str,
        params: &HashMap<String, TemplateValue>,
        limits: &Limits,
    ) -> Result<ExprFilter, EngineError> {
        let plan = quiver_expr::compile(text, params, &self.schema, limits)?;
        Ok(ExprFilter { plan })
    }

    /// Deletes the live rows that pass the filter, atomically with respect to other writes:
    /// the rows are found and their deletion logged under the write lock.
    pub fn delete_by_filter(&self, filter: &ExprFilter) -> Result<WriteResult, EngineError> {
        if let Some(pks) = filter.primary_keys() {
            return self.delete(pks);
        }
        self.delete_matching(filter)
    }

    /// Number of visible rows that pass the filter (Milvus's `count(*)`).
    pub fn count_matching(
        &self,
        filter: &dyn RowFilter,
        partitions: &[String],
    ) -> Result<u64, EngineError> {
        self.count_passing(Some(filter), partitions)
    }
}

impl From<quiver_expr::ExprError> for EngineError {
    fn from(err: quiver_expr::ExprError) -> EngineError {
        EngineError::Filter(Box::new(err))
    }
}

impl From<quiver_expr::EvalError> for EngineError {
    fn from(err: quiver_expr::EvalError) -> EngineError {
        EngineError::FilterEval(err)
    }
}
