//! Leaves answered from a scalar index instead of a column scan: a field against constants
//! (comparison, range, `in`, `like` on an INVERTED VarChar index), `is [not] null` and a
//! Bool field as a condition. Each answer has the scan's three-valued meaning (null rows are
//! unknown); `None` sends the leaf to the scan, when the shape or the constant's kind is not
//! one the index answers exactly, or when the scan is cheaper.
//!
//! Cost: keys are sorted, so the matching rows of any of these leaves are one or a few runs
//! of the index found by bisection, and their number is known before any is materialized.
//! Equality, `!=` (the complement of equality), `in`, `like` and Bool conditions on INVERTED
//! always use the index; a range, or anything on STL_SORT, uses it only when at most
//! [`MAX_SHARE_PERCENT`] of the rows match (setting bits at random costs more per row than a
//! sequential scan).

use std::cmp::Ordering;

use super::Ctx;
use super::bitmap::{Bitmap, Tri};
use super::like::LikePattern;
use super::value::cmp_int_float;
use crate::index::{ColType, Keys, ScalarIndex, ScalarIndexKind};
use crate::plan::{CmpOp, Lit, Operand, Pred};

/// Above this share of matching rows (in percent) a range is scanned.
pub(crate) const MAX_SHARE_PERCENT: usize = 30;

fn cheap(count: usize, n: usize) -> bool {
    count.saturating_mul(100) <= n.saturating_mul(MAX_SHARE_PERCENT)
}

/// First `i` in `0..len` where `pred(i)` is false (`pred` holds on a prefix).
fn partition(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

type KeyCmp<'k> = Box<dyn Fn(usize) -> Ordering + 'k>;

/// Key `i` compared with `lit`, with `value::compare`'s meaning, or `None` when the two kinds
/// do not compare (the scan then decides).
fn comparator<'k>(keys: Keys<'k>, lit: &'k Lit) -> Option<KeyCmp<'k>> {
    Some(match (keys, lit) {
        (Keys::Int(k), Lit::Int(c)) => Box::new(move |i| k[i].cmp(c)),
        (Keys::Int(k), Lit::Float(f)) if f.is_finite() => {
            Box::new(move |i| cmp_int_float(k[i], *f))
        }
        (Keys::Float(k), Lit::Int(c)) => Box::new(move |i| cmp_int_float(*c, k[i]).reverse()),
        (Keys::Float(k), Lit::Float(f)) if f.is_finite() => {
            Box::new(move |i| k[i].partial_cmp(f).unwrap_or(Ordering::Equal))
        }
        (Keys::Str(k), Lit::Str(s)) => Box::new(move |i| k[i].as_bytes().cmp(s.as_bytes())),
        (Keys::Bool(k), Lit::Bool(b)) => Box::new(move |i| k[i].cmp(b)),
        _ => return None,
    })
}

/// The keys equal to `lit`: `lo..hi`.
fn equal_run(keys: Keys<'_>, lit: &Lit) -> Option<(usize, usize)> {
    let cmp = comparator(keys, lit)?;
    let lo = partition(keys.len(), |i| cmp(i) == Ordering::Less);
    let hi = partition(keys.len(), |i| cmp(i) != Ordering::Greater);
    Some((lo, hi))
}

/// The rows of the runs, as a bitmap of `n` rows.
fn materialize(index: &ScalarIndex, n: usize, runs: &[(usize, usize)]) -> Bitmap {
    let mut bits = Bitmap::zeros(n);
    for &(lo, hi) in runs {
        for &row in index.span(lo, hi) {
            bits.set(row as usize, true);
        }
    }
    bits
}

fn count(index: &ScalarIndex, runs: &[(usize, usize)]) -> usize {
    runs.iter().map(|&(lo, hi)| index.span(lo, hi).len()).sum()
}

pub(super) fn leaf(ctx: &Ctx<'_>, pred: &Pred) -> Option<Tri> {
    let field = match pred {
        Pred::Compare { left: Operand::Field(f), right: Operand::Lit(_), .. }
        | Pred::Range {
            value: Operand::Field(f),
            lower: Operand::Lit(_),
            upper: Operand::Lit(_),
            ..
        }
        | Pred::In { value: Operand::Field(f), .. }
        | Pred::Like { value: Operand::Field(f), .. }
        | Pred::IsNull { target: Operand::Field(f), .. }
        | Pred::IsTrue(Operand::Field(f)) => f,
        _ => return None,
    };
    let index = ctx.indexes.get(field.index).copied().flatten()?;
    let column = ctx.column(field.index);
    if index.num_rows() != ctx.n || ColType::of(&column.data) != Some(index.col_type) {
        return None;
    }
    let n = ctx.n;
    let keys = index.keys();
    let len = keys.len();
    let inverted = index.kind() == ScalarIndexKind::Inverted;
    // The matching runs of keys, and whether the answer is their complement (`!=`).
    let (runs, complement, always): (Vec<(usize, usize)>, bool, bool) = match pred {
        Pred::IsNull { negated, .. } => {
            let known = index.known();
            return Some(if *negated { Tri::definite(known) } else { Tri::definite(known.not()) });
        }
        Pred::IsTrue(_) => {
            let Keys::Bool(_) = keys else { return None };
            (vec![equal_run(keys, &Lit::Bool(true))?], false, true)
        }
        Pred::Compare { op, right: Operand::Lit(lit), .. } => {
            if op.is_ordering() && matches!(keys, Keys::Bool(_)) {
                return None;
            }
            let (lo, hi) = equal_run(keys, lit)?;
            let (run, complement) = match op {
                CmpOp::Eq => ((lo, hi), false),
                CmpOp::Ne => ((lo, hi), true),
                CmpOp::Lt => ((0, lo), false),
                CmpOp::Le => ((0, hi), false),
                CmpOp::Gt => ((hi, len), false),
                CmpOp::Ge => ((lo, len), false),
            };
            (vec![run], complement, inverted && !op.is_ordering())
        }
        Pred::Range {
            lower: Operand::Lit(lower),
            lower_inclusive,
            upper: Operand::Lit(upper),
            upper_inclusive,
            ..
        } => {
            if matches!(keys, Keys::Bool(_)) {
                return None;
            }
            let below = comparator(keys, lower)?;
            let above = comparator(keys, upper)?;
            let lo = if *lower_inclusive {
                partition(len, |i| below(i) == Ordering::Less)
            } else {
                partition(len, |i| below(i) != Ordering::Greater)
            };
            let hi = if *upper_inclusive {
                partition(len, |i| above(i) != Ordering::Greater)
            } else {
                partition(len, |i| above(i) == Ordering::Less)
            };
            (vec![(lo, hi.max(lo))], false, false)
        }
        Pred::In { list, .. } => {
            let runs = list
                .items()
                .iter()
                .map(|item| equal_run(keys, item))
                .collect::<Option<Vec<_>>>()?;
            (runs, false, inverted)
        }
        Pred::Like { pattern, .. } => {
            let Keys::Str(strs) = keys else { return None };
            match pattern {
                LikePattern::Exact(s) => {
                    (vec![equal_run(keys, &Lit::Str(s.clone()))?], false, true)
                }
                LikePattern::Prefix(p) => {
                    let lo = partition(len, |i| strs[i].as_bytes() < p.as_bytes());
                    let hi = lo + partition(len - lo, |i| strs[lo + i].starts_with(p.as_str()));
                    (vec![(lo, hi)], false, true)
                }
                // Any other pattern: test each distinct value once, when there are few.
                _ if len.saturating_mul(2) <= n => {
                    let runs = (0..len).filter(|i| pattern.matches(&strs[*i])).map(|i| (i, i + 1));
                    (runs.collect(), false, true)
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    if !always && !cheap(count(index, &runs), n) {
        return None;
    }
    let known = index.known();
    let matches = materialize(index, n, &runs);
    let matches = if complement { known.and_not(&matches) } else { matches };
    Some(Tri::from_known(matches, &known))
}
