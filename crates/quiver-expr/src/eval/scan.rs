//! Fast paths: tight loops over one typed column (or a JSON column) against constants, for
//! the shapes filters mostly take. Each returns `None` when the shape is not its own, and the
//! general path in `eval` runs instead; the differential tests check both against a naive
//! interpreter.

use quiver_core::{Column, ColumnData, DataType};

use super::Ctx;
use super::bitmap::{Bitmap, Tri};
use super::in_list::InList;
use super::json;
use super::like::LikePattern;
use super::value::{self, Val, cmp_int_float, int_arith};
use crate::plan::{ArithOp, CmpOp, Lit, Operand};

/// Applies the column's null mask: null rows are unknown.
fn with_nulls(column: &Column, matches: Bitmap) -> Tri {
    match &column.validity {
        Some(validity) => Tri::from_known(matches, &Bitmap::from_bools(validity)),
        None => Tri::definite(matches),
    }
}

/// `x op c` for every element, with the operator chosen outside the loop.
fn scan_cmp<T: Copy, U: PartialOrd + Copy>(
    data: &[T],
    widen: impl Fn(T) -> U + Copy,
    op: CmpOp,
    c: U,
) -> Bitmap {
    match op {
        CmpOp::Eq => Bitmap::from_slice(data, |x| widen(*x) == c),
        CmpOp::Ne => Bitmap::from_slice(data, |x| widen(*x) != c),
        CmpOp::Lt => Bitmap::from_slice(data, |x| widen(*x) < c),
        CmpOp::Le => Bitmap::from_slice(data, |x| widen(*x) <= c),
        CmpOp::Gt => Bitmap::from_slice(data, |x| widen(*x) > c),
        CmpOp::Ge => Bitmap::from_slice(data, |x| widen(*x) >= c),
    }
}

/// `lo <(=) x <(=) hi` for every element.
fn scan_range<T: Copy, U: PartialOrd + Copy>(
    data: &[T],
    widen: impl Fn(T) -> U + Copy,
    lo: U,
    lo_inclusive: bool,
    hi: U,
    hi_inclusive: bool,
) -> Bitmap {
    match (lo_inclusive, hi_inclusive) {
        (false, false) => Bitmap::from_slice(data, |x| lo < widen(*x) && widen(*x) < hi),
        (true, false) => Bitmap::from_slice(data, |x| lo <= widen(*x) && widen(*x) < hi),
        (false, true) => Bitmap::from_slice(data, |x| lo < widen(*x) && widen(*x) <= hi),
        (true, true) => Bitmap::from_slice(data, |x| lo <= widen(*x) && widen(*x) <= hi),
    }
}

/// A numeric constant as a float, when that is exact.
fn exact_f64(lit: &Lit) -> Option<f64> {
    match lit {
        Lit::Float(v) => Some(*v),
        Lit::Int(v) => {
            let f = *v as f64;
            cmp_int_float(*v, f).is_eq().then_some(f)
        }
        _ => None,
    }
}

pub(super) fn is_true(ctx: &Ctx<'_>, operand: &Operand) -> Option<Tri> {
    let Operand::Field(field) = operand else { return None };
    let column = ctx.column(field.index);
    let ColumnData::Bool(data) = &column.data else { return None };
    Some(with_nulls(column, Bitmap::from_slice(data, |b| *b)))
}

/// One step of integer arithmetic on a field: `value op constant`, or `constant op value`
/// when `constant_first`.
type IntStep = (ArithOp, i64, bool);

/// `operand` as integer arithmetic on one integer field with constants: the field and the
/// steps, innermost first.
fn int_program(operand: &Operand, steps: &mut Vec<IntStep>) -> Option<usize> {
    match operand {
        Operand::Field(field) => match field.data_type {
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                Some(field.index)
            }
            _ => None,
        },
        Operand::Neg { operand, .. } => {
            let index = int_program(operand, steps)?;
            steps.push((ArithOp::Sub, 0, true));
            Some(index)
        }
        Operand::Arith { op, left, right, .. } => match (left.as_ref(), right.as_ref()) {
            (inner, Operand::Lit(Lit::Int(c))) => {
                let index = int_program(inner, steps)?;
                steps.push((*op, *c, false));
                Some(index)
            }
            (Operand::Lit(Lit::Int(c)), inner) => {
                let index = int_program(inner, steps)?;
                steps.push((*op, *c, true));
                Some(index)
            }
            _ => None,
        },
        _ => None,
    }
}

/// `(arithmetic on an integer field) op constant`, computed per row in 64 bits. `None` also
/// when a row faults: the general path then reports the fault exactly as it always does.
fn int_arith_compare(ctx: &Ctx<'_>, op: CmpOp, left: &Operand, c: i64) -> Option<Tri> {
    let mut steps = Vec::new();
    let index = int_program(left, &mut steps)?;
    let column = ctx.column(index);
    let run = |x: i64| -> Option<bool> {
        let mut v = x;
        for (step_op, k, constant_first) in &steps {
            let result = if *constant_first {
                int_arith(*step_op, *k, v)
            } else {
                int_arith(*step_op, v, *k)
            };
            v = result.ok()?;
        }
        Some(op.holds(v.cmp(&c)))
    };
    let mut matches = Bitmap::zeros(ctx.n);
    let values: Box<dyn Fn(usize) -> i64 + '_> = match &column.data {
        ColumnData::Int8(v) => Box::new(|i| i64::from(v[i])),
        ColumnData::Int16(v) => Box::new(|i| i64::from(v[i])),
        ColumnData::Int32(v) => Box::new(|i| i64::from(v[i])),
        ColumnData::Int64(v) => Box::new(|i| v[i]),
        _ => return None,
    };
    for i in 0..ctx.n {
        if column.is_null(i) {
            continue;
        }
        if run(values(i))? {
            matches.set(i, true);
        }
    }
    Some(with_nulls(column, matches))
}

pub(super) fn compare(ctx: &Ctx<'_>, op: CmpOp, left: &Operand, right: &Operand) -> Option<Tri> {
    let Operand::Lit(lit) = right else { return None };
    if let (Operand::Arith { .. } | Operand::Neg { .. }, Lit::Int(c)) = (left, lit) {
        return int_arith_compare(ctx, op, left, *c);
    }
    match left {
        Operand::Field(field) => {
            let column = ctx.column(field.index);
            let matches = match (&column.data, lit) {
                (ColumnData::Int8(v), Lit::Int(c)) => scan_cmp(v, i64::from, op, *c),
                (ColumnData::Int16(v), Lit::Int(c)) => scan_cmp(v, i64::from, op, *c),
                (ColumnData::Int32(v), Lit::Int(c)) => scan_cmp(v, i64::from, op, *c),
                (ColumnData::Int64(v), Lit::Int(c)) => scan_cmp(v, |x| x, op, *c),
                (ColumnData::Float(v), _) => scan_cmp(v, f64::from, op, exact_f64(lit)?),
                (ColumnData::Double(v), _) => scan_cmp(v, |x| x, op, exact_f64(lit)?),
                (ColumnData::Bool(v), Lit::Bool(c)) if !op.is_ordering() => {
                    scan_cmp(v, |x| x, op, *c)
                }
                (ColumnData::VarChar(v), Lit::Str(c)) => {
                    let c = c.as_str();
                    match op {
                        CmpOp::Eq => Bitmap::from_slice(v, |x| x == c),
                        CmpOp::Ne => Bitmap::from_slice(v, |x| x != c),
                        _ => Bitmap::from_slice(v, |x| op.holds(x.as_str().cmp(c))),
                    }
                }
                _ => return None,
            };
            Some(with_nulls(column, matches))
        }
        Operand::Json { field, path } => {
            let column = ctx.column(field.index);
            let ColumnData::Json(texts) = &column.data else { return None };
            let c = Val::from_lit(lit);
            Some(Tri::from_fn(ctx.n, |i| {
                if column.is_null(i) {
                    return None;
                }
                value::compare(&json::lookup(&texts[i], path)?, &c, op)
            }))
        }
        _ => None,
    }
}

pub(super) fn range(
    ctx: &Ctx<'_>,
    value: &Operand,
    lower: &Operand,
    lower_inclusive: bool,
    upper: &Operand,
    upper_inclusive: bool,
) -> Option<Tri> {
    let (Operand::Lit(lo), Operand::Lit(hi)) = (lower, upper) else { return None };
    let Operand::Field(field) = value else { return None };
    let column = ctx.column(field.index);
    let (li, ui) = (lower_inclusive, upper_inclusive);
    let matches = match (&column.data, lo, hi) {
        (ColumnData::Int8(v), Lit::Int(lo), Lit::Int(hi)) => {
            scan_range(v, i64::from, *lo, li, *hi, ui)
        }
        (ColumnData::Int16(v), Lit::Int(lo), Lit::Int(hi)) => {
            scan_range(v, i64::from, *lo, li, *hi, ui)
        }
        (ColumnData::Int32(v), Lit::Int(lo), Lit::Int(hi)) => {
            scan_range(v, i64::from, *lo, li, *hi, ui)
        }
        (ColumnData::Int64(v), Lit::Int(lo), Lit::Int(hi)) => {
            scan_range(v, |x| x, *lo, li, *hi, ui)
        }
        (ColumnData::Float(v), _, _) => {
            scan_range(v, f64::from, exact_f64(lo)?, li, exact_f64(hi)?, ui)
        }
        (ColumnData::Double(v), _, _) => {
            scan_range(v, |x| x, exact_f64(lo)?, li, exact_f64(hi)?, ui)
        }
        (ColumnData::VarChar(v), Lit::Str(lo), Lit::Str(hi)) => {
            let (lo, hi) = (lo.as_str(), hi.as_str());
            Bitmap::from_slice(v, |x| {
                let x = x.as_str();
                (if li { lo <= x } else { lo < x }) && (if ui { x <= hi } else { x < hi })
            })
        }
        _ => return None,
    };
    Some(with_nulls(column, matches))
}

pub(super) fn in_list(ctx: &Ctx<'_>, value: &Operand, list: &InList) -> Option<Tri> {
    let Operand::Field(field) = value else { return None };
    let column = ctx.column(field.index);
    let matches = match &column.data {
        ColumnData::Int8(v) => Bitmap::from_slice(v, |x| list.contains_int(i64::from(*x))),
        ColumnData::Int16(v) => Bitmap::from_slice(v, |x| list.contains_int(i64::from(*x))),
        ColumnData::Int32(v) => Bitmap::from_slice(v, |x| list.contains_int(i64::from(*x))),
        ColumnData::Int64(v) => Bitmap::from_slice(v, |x| list.contains_int(*x)),
        ColumnData::Float(v) => Bitmap::from_slice(v, |x| list.contains_float(f64::from(*x))),
        ColumnData::Double(v) => Bitmap::from_slice(v, |x| list.contains_float(*x)),
        ColumnData::VarChar(v) => Bitmap::from_slice(v, |x| list.contains_str(x)),
        ColumnData::Bool(v) => Bitmap::from_slice(v, |x| list.contains_bool(*x)),
        ColumnData::Json(_) | ColumnData::Array(_) | ColumnData::FloatVector { .. } => {
            return None;
        }
    };
    Some(with_nulls(column, matches))
}

pub(super) fn like(ctx: &Ctx<'_>, value: &Operand, pattern: &LikePattern) -> Option<Tri> {
    match value {
        Operand::Field(field) => {
            let column = ctx.column(field.index);
            let ColumnData::VarChar(v) = &column.data else { return None };
            Some(with_nulls(column, Bitmap::from_slice(v, |x| pattern.matches(x))))
        }
        Operand::Json { field, path } => {
            let column = ctx.column(field.index);
            let ColumnData::Json(texts) = &column.data else { return None };
            Some(Tri::from_fn(ctx.n, |i| {
                if column.is_null(i) {
                    return None;
                }
                match json::lookup(&texts[i], path)? {
                    Val::Str(s) => Some(pattern.matches(&s)),
                    _ => None,
                }
            }))
        }
        _ => None,
    }
}
