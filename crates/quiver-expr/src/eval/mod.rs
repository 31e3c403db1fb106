//! Evaluation of a [`Plan`] over a segment's columns, column at a time.
//!
//! Every condition yields a three-valued [`Tri`] (true, false, unknown per row) and the filter
//! keeps the rows that are true. A null field makes every comparison on it unknown, `not`
//! keeps unknown unknown, `and`/`or` follow Kleene (false and unknown is false, true or
//! unknown is true); `is null`, `is not null` and `exists` are never unknown. So a null row
//! matches neither `x > 1` nor `not (x > 1)`, and matches `x is null`. (Milvus approximates
//! this with a validity bitmap that `and`/`or` merge with `or`, so its `not (x > 1 and y > 1)`
//! with `x` true and `y` null matches; here it is unknown and does not.)
//!
//! The common shapes run as tight loops over the column (a field against a constant, a range,
//! `in`, `like`, a JSON path against a constant); everything else materializes each operand
//! as one value per row and combines them. Every arithmetic operand is computed for every row
//! whatever surrounds it, so whether division by zero or overflow is reported does not depend
//! on evaluation order.

pub(crate) mod bitmap;
pub(crate) mod in_list;
pub(crate) mod json;
pub(crate) mod like;
pub(crate) mod value;

mod indexed;
mod scan;

use std::borrow::Cow;
use std::collections::HashSet;

use quiver_core::{ArrayValue, Column, ColumnData};

use self::bitmap::{Bitmap, Tri};
use self::value::{ArithFault, Val};
use crate::error::{EvalError, Span};
use crate::index::ScalarIndex;
use crate::plan::{ContainsKind, Lit, Operand, Plan, Pred};

pub(crate) fn evaluate(
    plan: &Plan,
    columns: &[Column],
    num_rows: usize,
) -> Result<Bitmap, EvalError> {
    evaluate_with(plan, columns, num_rows, &[])
}

/// [`evaluate`], answering the leaves it can from the fields' scalar indexes.
pub(crate) fn evaluate_indexed<'i>(
    plan: &Plan,
    columns: &[Column],
    num_rows: usize,
    indexes: &dyn Fn(usize) -> Option<&'i ScalarIndex>,
) -> Result<Bitmap, EvalError> {
    let mut by_field: Vec<Option<&ScalarIndex>> = vec![None; plan.num_fields];
    for field in &plan.fields {
        if let Some(slot) = by_field.get_mut(field.index) {
            *slot = indexes(field.index);
        }
    }
    evaluate_with(plan, columns, num_rows, &by_field)
}

fn evaluate_with(
    plan: &Plan,
    columns: &[Column],
    num_rows: usize,
    indexes: &[Option<&ScalarIndex>],
) -> Result<Bitmap, EvalError> {
    if columns.len() != plan.num_fields {
        return Err(EvalError::ColumnCount { expected: plan.num_fields, got: columns.len() });
    }
    for field in &plan.fields {
        let column = &columns[field.index];
        let expected = field.data_type.name();
        let got = column.data.type_name();
        if expected != got {
            return Err(EvalError::ColumnType { field: field.name.clone(), expected, got });
        }
        let validity_len = column.validity.as_ref().map_or(num_rows, Vec::len);
        if column.len() != num_rows || validity_len != num_rows {
            let got = if column.len() != num_rows { column.len() } else { validity_len };
            return Err(EvalError::ColumnLength {
                field: field.name.clone(),
                expected: num_rows,
                got,
            });
        }
    }
    let ctx = Ctx { columns, n: num_rows, indexes };
    Ok(ctx.pred(&plan.root)?.t)
}

/// The rows of one value per row; `None` is null or unknown.
type Rows<'a> = Vec<Option<Val<'a>>>;

struct Ctx<'a> {
    columns: &'a [Column],
    n: usize,
    /// The scalar index of each field position, if any (empty: evaluate by scan only).
    indexes: &'a [Option<&'a ScalarIndex>],
}

fn fault(fault: ArithFault, op: &'static str, span: Span) -> EvalError {
    match fault {
        ArithFault::DivisionByZero => EvalError::DivisionByZero { op, span },
        ArithFault::IntegerOverflow => EvalError::IntegerOverflow { op, span },
        ArithFault::FloatOverflow => EvalError::FloatOverflow { op, span },
    }
}

/// Kleene's `and` of two row results.
fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

impl<'a> Ctx<'a> {
    fn column(&self, index: usize) -> &'a Column {
        &self.columns[index]
    }

    fn pred(&self, pred: &'a Pred) -> Result<Tri, EvalError> {
        if !self.indexes.is_empty()
            && let Some(tri) = indexed::leaf(self, pred)
        {
            return Ok(tri);
        }
        match pred {
            Pred::Const(value) => Ok(Tri::constant(self.n, *value)),
            Pred::And(items) | Pred::Or(items) => {
                let is_and = matches!(pred, Pred::And(_));
                let mut acc: Option<Tri> = None;
                // Every operand is evaluated: errors must not depend on the others' values.
                for item in items {
                    let tri = self.pred(item)?;
                    match &mut acc {
                        None => acc = Some(tri),
                        Some(acc) if is_and => acc.and_assign(&tri),
                        Some(acc) => acc.or_assign(&tri),
                    }
                }
                Ok(acc.unwrap_or_else(|| Tri::constant(self.n, is_and)))
            }
            Pred::Not(inner) => Ok(self.pred(inner)?.not()),
            Pred::IsTrue(operand) => {
                if let Some(tri) = scan::is_true(self, operand) {
                    return Ok(tri);
                }
                let rows = self.rows(operand)?;
                Ok(Tri::from_fn(self.n, |i| match &rows[i] {
                    Some(Val::Bool(b)) => Some(*b),
                    _ => None,
                }))
            }
            Pred::Compare { op, left, right } => {
                if let Some(tri) = scan::compare(self, *op, left, right) {
                    return Ok(tri);
                }
                let lhs = self.rows(left)?;
                if let Operand::Lit(lit) = right {
                    let rhs = Val::from_lit(lit);
                    return Ok(Tri::from_fn(self.n, |i| {
                        lhs[i].as_ref().and_then(|a| value::compare(a, &rhs, *op))
                    }));
                }
                let rhs = self.rows(right)?;
                Ok(Tri::from_fn(self.n, |i| match (&lhs[i], &rhs[i]) {
                    (Some(a), Some(b)) => value::compare(a, b, *op),
                    _ => None,
                }))
            }
            Pred::Range { value, lower, lower_inclusive, upper, upper_inclusive } => {
                if let Some(tri) =
                    scan::range(self, value, lower, *lower_inclusive, upper, *upper_inclusive)
                {
                    return Ok(tri);
                }
                let lower_op =
                    if *lower_inclusive { crate::plan::CmpOp::Le } else { crate::plan::CmpOp::Lt };
                let upper_op =
                    if *upper_inclusive { crate::plan::CmpOp::Le } else { crate::plan::CmpOp::Lt };
                let values = self.rows(value)?;
                let lows = self.rows(lower)?;
                let highs = self.rows(upper)?;
                Ok(Tri::from_fn(self.n, |i| {
                    let v = values[i].as_ref()?;
                    let low = lows[i].as_ref().and_then(|l| value::compare(l, v, lower_op));
                    let high = highs[i].as_ref().and_then(|h| value::compare(v, h, upper_op));
                    and3(low, high)
                }))
            }
            Pred::In { value, list } => {
                if let Some(tri) = scan::in_list(self, value, list) {
                    return Ok(tri);
                }
                let values = self.rows(value)?;
                Ok(Tri::from_fn(self.n, |i| values[i].as_ref().and_then(|v| list.contains(v))))
            }
            Pred::Like { value, pattern } => {
                if let Some(tri) = scan::like(self, value, pattern) {
                    return Ok(tri);
                }
                let values = self.rows(value)?;
                Ok(Tri::from_fn(self.n, |i| match &values[i] {
                    Some(Val::Str(s)) => Some(pattern.matches(s)),
                    _ => None,
                }))
            }
            Pred::IsNull { target, negated } => {
                let is_null = self.is_null(target)?;
                Ok(if *negated { Tri::definite(is_null).not() } else { Tri::definite(is_null) })
            }
            Pred::Exists { target } => {
                let Operand::Json { field, path } = target else {
                    return Ok(Tri::constant(self.n, false));
                };
                let column = self.column(field.index);
                let ColumnData::Json(texts) = &column.data else {
                    return Ok(Tri::constant(self.n, false));
                };
                Ok(Tri::definite(Bitmap::from_fn(self.n, |i| {
                    !column.is_null(i) && json::lookup(&texts[i], path).is_some()
                })))
            }
            Pred::Contains { kind, target, values, .. } => self.contains(*kind, target, values),
        }
    }

    fn is_null(&self, target: &'a Operand) -> Result<Bitmap, EvalError> {
        match target {
            Operand::Json { field, path } if !path.is_empty() => {
                let column = self.column(field.index);
                let ColumnData::Json(texts) = &column.data else {
                    return Ok(Bitmap::ones(self.n));
                };
                Ok(Bitmap::from_fn(self.n, |i| {
                    column.is_null(i) || json::lookup(&texts[i], path).is_none()
                }))
            }
            Operand::Json { field, .. } => {
                let column = self.column(field.index);
                let ColumnData::Json(texts) = &column.data else {
                    return Ok(Bitmap::ones(self.n));
                };
                Ok(Bitmap::from_fn(self.n, |i| column.is_null(i) || texts[i].trim() == "null"))
            }
            Operand::Field(field) | Operand::Array(field) => {
                let column = self.column(field.index);
                Ok(match &column.validity {
                    Some(validity) => Bitmap::from_bools(validity).not(),
                    None => Bitmap::zeros(self.n),
                })
            }
            other => {
                let rows = self.rows(other)?;
                Ok(Bitmap::from_fn(self.n, |i| rows[i].is_none()))
            }
        }
    }

    fn contains(
        &self,
        kind: ContainsKind,
        target: &'a Operand,
        values: &'a [Lit],
    ) -> Result<Tri, EvalError> {
        let sought: Vec<Val<'a>> = values.iter().map(Val::from_lit).collect();
        let sought_keys: HashSet<String> = sought.iter().filter_map(value::canonical_key).collect();
        let decide = |elements: &[Val<'_>]| -> bool {
            if elements.len().saturating_mul(sought.len()) <= 256 {
                let has = |v: &Val<'a>| elements.iter().any(|e| value::same_value(e, v));
                return match kind {
                    ContainsKind::One | ContainsKind::Any => sought.iter().any(has),
                    ContainsKind::All => sought.iter().all(has),
                };
            }
            // Large on both sides: hash instead of comparing every pair.
            let mut keys = elements.iter().filter_map(value::canonical_key);
            match kind {
                ContainsKind::One | ContainsKind::Any => keys.any(|k| sought_keys.contains(&k)),
                ContainsKind::All => {
                    let present: HashSet<String> =
                        keys.filter(|k| sought_keys.contains(k)).collect();
                    present.len() == sought_keys.len()
                }
            }
        };
        if let Operand::Array(field) = target {
            let column = self.column(field.index);
            let ColumnData::Array(arrays) = &column.data else {
                return Ok(Tri::constant(self.n, false));
            };
            return Ok(Tri::from_fn(self.n, |i| {
                if column.is_null(i) {
                    return None;
                }
                Some(decide(&array_elements(&arrays[i])))
            }));
        }
        let rows = self.rows(target)?;
        Ok(Tri::from_fn(self.n, |i| match &rows[i] {
            Some(Val::List(elements)) => Some(decide(elements)),
            _ => None,
        }))
    }

    /// One value per row of `operand`.
    fn rows(&self, operand: &'a Operand) -> Result<Rows<'a>, EvalError> {
        let n = self.n;
        Ok(match operand {
            Operand::Lit(lit) => vec![Some(Val::from_lit(lit)); n],
            Operand::Field(field) => {
                let column = self.column(field.index);
                (0..n)
                    .map(|i| (!column.is_null(i)).then(|| scalar(&column.data, i)).flatten())
                    .collect()
            }
            Operand::Array(field) => {
                let column = self.column(field.index);
                let ColumnData::Array(arrays) = &column.data else { return Ok(vec![None; n]) };
                (0..n)
                    .map(|i| (!column.is_null(i)).then(|| Val::List(array_elements(&arrays[i]))))
                    .collect()
            }
            Operand::Json { field, path } => {
                let column = self.column(field.index);
                let ColumnData::Json(texts) = &column.data else { return Ok(vec![None; n]) };
                (0..n)
                    .map(|i| if column.is_null(i) { None } else { json::lookup(&texts[i], path) })
                    .collect()
            }
            Operand::Elem { field, index } => {
                let column = self.column(field.index);
                let ColumnData::Array(arrays) = &column.data else { return Ok(vec![None; n]) };
                (0..n)
                    .map(|i| {
                        if column.is_null(i) {
                            return None;
                        }
                        array_element(&arrays[i], *index)
                    })
                    .collect()
            }
            Operand::Length(target) => {
                if let Operand::Array(field) = target.as_ref() {
                    let column = self.column(field.index);
                    let ColumnData::Array(arrays) = &column.data else {
                        return Ok(vec![None; n]);
                    };
                    return Ok((0..n)
                        .map(|i| (!column.is_null(i)).then(|| Val::Int(len_i64(arrays[i].len()))))
                        .collect());
                }
                self.rows(target)?
                    .into_iter()
                    .map(|v| match v {
                        Some(Val::List(items)) => Some(Val::Int(len_i64(items.len()))),
                        _ => None,
                    })
                    .collect()
            }
            Operand::Neg { operand, span } => {
                let values = self.rows(operand)?;
                let mut out = Vec::with_capacity(n);
                for v in values {
                    out.push(match v {
                        Some(v) => value::negate(&v).map_err(|e| fault(e, "-", *span))?,
                        None => None,
                    });
                }
                out
            }
            Operand::Arith { op, left, right, span } => {
                let lhs = self.rows(left)?;
                let rhs: Rows<'a> = match right.as_ref() {
                    Operand::Lit(lit) => {
                        let value = Val::from_lit(lit);
                        let mut out = Vec::with_capacity(n);
                        for a in &lhs {
                            out.push(match a {
                                Some(a) => value::arith(*op, a, &value)
                                    .map_err(|e| fault(e, op.symbol(), *span))?,
                                None => None,
                            });
                        }
                        return Ok(out);
                    }
                    _ => self.rows(right)?,
                };
                let mut out = Vec::with_capacity(n);
                for (a, b) in lhs.iter().zip(&rhs) {
                    out.push(match (a, b) {
                        (Some(a), Some(b)) => {
                            value::arith(*op, a, b).map_err(|e| fault(e, op.symbol(), *span))?
                        }
                        _ => None,
                    });
                }
                out
            }
        })
    }
}

fn len_i64(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// The value of row `i` of a scalar column.
fn scalar(data: &ColumnData, i: usize) -> Option<Val<'_>> {
    Some(match data {
        ColumnData::Bool(v) => Val::Bool(*v.get(i)?),
        ColumnData::Int8(v) => Val::Int(i64::from(*v.get(i)?)),
        ColumnData::Int16(v) => Val::Int(i64::from(*v.get(i)?)),
        ColumnData::Int32(v) => Val::Int(i64::from(*v.get(i)?)),
        ColumnData::Int64(v) => Val::Int(*v.get(i)?),
        ColumnData::Float(v) => Val::Float(f64::from(*v.get(i)?)),
        ColumnData::Double(v) => Val::Float(*v.get(i)?),
        ColumnData::VarChar(v) => Val::Str(Cow::Borrowed(v.get(i)?.as_str())),
        ColumnData::Json(_) | ColumnData::Array(_) | ColumnData::FloatVector { .. } => {
            return None;
        }
    })
}

fn array_elements(array: &ArrayValue) -> Vec<Val<'_>> {
    match array {
        ArrayValue::Bool(v) => v.iter().map(|x| Val::Bool(*x)).collect(),
        ArrayValue::Int8(v) => v.iter().map(|x| Val::Int(i64::from(*x))).collect(),
        ArrayValue::Int16(v) => v.iter().map(|x| Val::Int(i64::from(*x))).collect(),
        ArrayValue::Int32(v) => v.iter().map(|x| Val::Int(i64::from(*x))).collect(),
        ArrayValue::Int64(v) => v.iter().map(|x| Val::Int(*x)).collect(),
        ArrayValue::Float(v) => v.iter().map(|x| Val::Float(f64::from(*x))).collect(),
        ArrayValue::Double(v) => v.iter().map(|x| Val::Float(*x)).collect(),
        ArrayValue::VarChar(v) => v.iter().map(|x| Val::Str(Cow::Borrowed(x.as_str()))).collect(),
    }
}

fn array_element(array: &ArrayValue, i: usize) -> Option<Val<'_>> {
    Some(match array {
        ArrayValue::Bool(v) => Val::Bool(*v.get(i)?),
        ArrayValue::Int8(v) => Val::Int(i64::from(*v.get(i)?)),
        ArrayValue::Int16(v) => Val::Int(i64::from(*v.get(i)?)),
        ArrayValue::Int32(v) => Val::Int(i64::from(*v.get(i)?)),
        ArrayValue::Int64(v) => Val::Int(*v.get(i)?),
        ArrayValue::Float(v) => Val::Float(f64::from(*v.get(i)?)),
        ArrayValue::Double(v) => Val::Float(*v.get(i)?),
        ArrayValue::VarChar(v) => Val::Str(Cow::Borrowed(v.get(i)?.as_str())),
    })
}
