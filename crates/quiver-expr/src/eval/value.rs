//! Values as the evaluator sees them one row at a time, and the rules that compare and
//! combine them. The checker folds constants with the same functions, so a constant and a
//! column holding the same value behave alike.
//!
//! * Numbers compare by value, exactly, across Int64 and Double (`1 == 1.0`; `2^53 + 1`
//!   differs from `2^53` even against a float).
//! * Strings compare by bytes (UTF-8 order); booleans only with `==` and `!=`.
//! * Any other pair (a number and a string, an ordering on lists, a JSON object) is unknown:
//!   only JSON values can meet such a pair at run time, and for them it means "no match".

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::plan::{ArithOp, CmpOp, Lit};

/// One row's value of an operand. JSON `null` and missing values are `None` where a
/// `Val` is expected.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    List(Vec<Val<'a>>),
    /// A JSON object, or a JSON `null` inside a list: equal to nothing, ordered with nothing.
    Opaque,
}

impl Val<'_> {
    pub(crate) fn from_lit(lit: &Lit) -> Val<'_> {
        match lit {
            Lit::Bool(v) => Val::Bool(*v),
            Lit::Int(v) => Val::Int(*v),
            Lit::Float(v) => Val::Float(*v),
            Lit::Str(s) => Val::Str(Cow::Borrowed(s)),
            Lit::List(items) => Val::List(items.iter().map(Val::from_lit).collect()),
        }
    }
}

/// Orders an integer against a finite float exactly.
pub(crate) fn cmp_int_float(i: i64, f: f64) -> Ordering {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    // `whole` is integral and within i64, so the cast is exact.
    let whole_int = whole as i64;
    match i.cmp(&whole_int) {
        Ordering::Equal => {
            let frac = f - whole;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        other => other,
    }
}

/// Orders two numbers, `None` if either is not a number.
pub(crate) fn cmp_numbers(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Int(x), Val::Float(y)) => Some(cmp_int_float(*x, *y)),
        (Val::Float(x), Val::Int(y)) => Some(cmp_int_float(*y, *x).reverse()),
        (Val::Float(x), Val::Float(y)) => x.partial_cmp(y),
        _ => None,
    }
}

/// `a op b`, or `None` (unknown) when the two cannot be compared with `op`.
pub(crate) fn compare(a: &Val<'_>, b: &Val<'_>, op: CmpOp) -> Option<bool> {
    if let Some(ordering) = cmp_numbers(a, b) {
        return Some(op.holds(ordering));
    }
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Some(op.holds(x.as_bytes().cmp(y.as_bytes()))),
        (Val::Bool(x), Val::Bool(y)) if !op.is_ordering() => Some(op.holds(x.cmp(y))),
        (Val::List(_), Val::List(_)) if !op.is_ordering() => {
            let equal = same_value(a, b);
            Some(if op == CmpOp::Eq { equal } else { !equal })
        }
        _ => None,
    }
}

/// Equality inside lists (`[1, "a"] == [1.0, "a"]`, `json_contains`): numbers by value,
/// lists element by element; values of different kinds and objects are never equal.
pub(crate) fn same_value(a: &Val<'_>, b: &Val<'_>) -> bool {
    if let Some(ordering) = cmp_numbers(a, b) {
        return ordering == Ordering::Equal;
    }
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::List(x), Val::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        _ => false,
    }
}

/// A string equal for two values exactly when [`same_value`] holds, so large lists can be
/// hashed; `None` for a value equal to nothing (one holding an object or a null).
pub(crate) fn canonical_key(v: &Val<'_>) -> Option<String> {
    let mut key = String::new();
    write_key(v, &mut key)?;
    Some(key)
}

fn write_key(v: &Val<'_>, out: &mut String) -> Option<()> {
    use std::fmt::Write as _;
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let _ = match v {
        Val::Int(i) => write!(out, "i{i};"),
        // An integral float equals the integer of the same value.
        Val::Float(f) if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(f) => {
            write!(out, "i{};", *f as i64)
        }
        Val::Float(f) => write!(out, "f{};", (*f + 0.0).to_bits()),
        Val::Bool(b) => write!(out, "b{};", u8::from(*b)),
        Val::Str(s) => write!(out, "s{}:{s}", s.len()),
        Val::List(items) => {
            let _ = write!(out, "[{};", items.len());
            for item in items {
                write_key(item, out)?;
            }
            Ok(())
        }
        Val::Opaque => return None,
    };
    Some(())
}

/// Why an arithmetic operation has no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithFault {
    DivisionByZero,
    IntegerOverflow,
    FloatOverflow,
}

/// `a op b` for numbers: Int64 arithmetic is checked, a Double operand makes it Double
/// arithmetic whose result must be finite. `Ok(None)` when an operand is not a number.
pub(crate) fn arith(
    op: ArithOp,
    a: &Val<'_>,
    b: &Val<'_>,
) -> Result<Option<Val<'static>>, ArithFault> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => int_arith(op, *x, *y).map(|v| Some(Val::Int(v))),
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
            float_arith(op, as_f64(a), as_f64(b)).map(|v| Some(Val::Float(v)))
        }
        _ => Ok(None),
    }
}

fn as_f64(v: &Val<'_>) -> f64 {
    match v {
        Val::Int(i) => *i as f64,
        Val::Float(f) => *f,
        _ => 0.0,
    }
}

pub(crate) fn int_arith(op: ArithOp, x: i64, y: i64) -> Result<i64, ArithFault> {
    let result = match op {
        ArithOp::Add => x.checked_add(y),
        ArithOp::Sub => x.checked_sub(y),
        ArithOp::Mul => x.checked_mul(y),
        ArithOp::Div => {
            if y == 0 {
                return Err(ArithFault::DivisionByZero);
            }
            x.checked_div(y)
        }
        ArithOp::Mod => {
            if y == 0 {
                return Err(ArithFault::DivisionByZero);
            }
            // `i64::MIN % -1` is 0; only the hardware instruction overflows.
            Some(x.wrapping_rem(y))
        }
    };
    result.ok_or(ArithFault::IntegerOverflow)
}

pub(crate) fn float_arith(op: ArithOp, x: f64, y: f64) -> Result<f64, ArithFault> {
    let result = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div | ArithOp::Mod if y == 0.0 => return Err(ArithFault::DivisionByZero),
        ArithOp::Div => x / y,
        ArithOp::Mod => x % y,
    };
    if result.is_finite() { Ok(result) } else { Err(ArithFault::FloatOverflow) }
}

/// `-a` for numbers; `Ok(None)` when `a` is not a number.
pub(crate) fn negate(a: &Val<'_>) -> Result<Option<Val<'static>>, ArithFault> {
    match a {
        Val::Int(x) => {
            x.checked_neg().map(|v| Some(Val::Int(v))).ok_or(ArithFault::IntegerOverflow)
        }
        Val::Float(x) => Ok(Some(Val::Float(-x))),
        _ => Ok(None),
    }
}
