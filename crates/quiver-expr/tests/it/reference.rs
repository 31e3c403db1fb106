//! The reference interpreter of the differential test: the documented semantics written as
//! plainly as possible, one row at a time, over `quiver_core::Value`s and fully parsed
//! `serde_json::Value`s, sharing no code with the evaluator.

use quiver_core::{ArrayValue, DataType, ElementType, Value};

use crate::differential::{AOp, CKind, GLit, GPred, GStep, GVal, Op, World};

/// A row's value: `Null` stands for null, missing and JSON null alike.
#[derive(Clone, Debug)]
enum R {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<R>),
    Obj,
}

/// An arithmetic fault (division by zero, overflow): evaluation fails.
#[derive(Debug)]
pub(crate) struct Fault;

/// The rows that match, or `Fault` if arithmetic fails on any row.
pub(crate) fn evaluate(world: &World, pred: &GPred) -> Result<Vec<bool>, Fault> {
    let mut out = Vec::with_capacity(world.n);
    for row in 0..world.n {
        out.push(eval_pred(world, pred, row)? == Some(true));
    }
    Ok(out)
}

fn not3(v: Option<bool>) -> Option<bool> {
    v.map(|b| !b)
}

fn eval_pred(w: &World, pred: &GPred, row: usize) -> Result<Option<bool>, Fault> {
    Ok(match pred {
        GPred::Const(v) => Some(*v),
        GPred::And(items) => {
            // Every operand is evaluated, as the evaluator does (errors must not depend on
            // short-circuiting).
            let values =
                items.iter().map(|p| eval_pred(w, p, row)).collect::<Result<Vec<_>, _>>()?;
            if values.contains(&Some(false)) {
                Some(false)
            } else if values.iter().all(|v| *v == Some(true)) {
                Some(true)
            } else {
                None
            }
        }
        GPred::Or(items) => {
            let values =
                items.iter().map(|p| eval_pred(w, p, row)).collect::<Result<Vec<_>, _>>()?;
            if values.contains(&Some(true)) {
                Some(true)
            } else if values.iter().all(|v| *v == Some(false)) {
                Some(false)
            } else {
                None
            }
        }
        GPred::Not(inner) => not3(eval_pred(w, inner, row)?),
        GPred::IsTrue(value) => match eval_val(w, value, row)? {
            R::Bool(b) => Some(b),
            _ => None,
        },
        GPred::Cmp(op, a, b) => {
            let ra = operand_against(w, a, b, row)?;
            let rb = operand_against(w, b, a, row)?;
            compare(&ra, &rb, *op)
        }
        GPred::Range { lo, lo_inclusive, value, hi, hi_inclusive, .. } => {
            let v = eval_val(w, value, row)?;
            let round = is_f32(w, value);
            let lo = lit(lo, round);
            let hi = lit(hi, round);
            if matches!(v, R::Null) {
                return Ok(None);
            }
            let low = compare(&lo, &v, if *lo_inclusive { Op::Le } else { Op::Lt });
            let high = compare(&v, &hi, if *hi_inclusive { Op::Le } else { Op::Lt });
            match (low, high) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            }
        }
        GPred::In { value, list, negated } => {
            let v = eval_val(w, value, row)?;
            let round = is_f32(w, value);
            let result = if matches!(v, R::Null) {
                None
            } else {
                let eqs: Vec<Option<bool>> =
                    list.iter().map(|item| compare(&v, &lit(item, round), Op::Eq)).collect();
                if eqs.contains(&Some(true)) {
                    Some(true)
                } else if eqs.contains(&None) {
                    None
                } else {
                    Some(false)
                }
            };
            if *negated { not3(result) } else { result }
        }
        GPred::Like { value, pattern } => match eval_val(w, value, row)? {
            R::Str(s) => Some(like(pattern, &s)),
            _ => None,
        },
        GPred::IsNull { target, negated } => {
            let is_null = matches!(eval_val(w, target, row)?, R::Null);
            Some(is_null != *negated)
        }
        GPred::Exists(target) => Some(!matches!(eval_val(w, target, row)?, R::Null)),
        GPred::Contains { kind, target, values, .. } => {
            let round = is_f32(w, target);
            match eval_val(w, target, row)? {
                R::List(items) => {
                    let has = |v: &GLit| {
                        let v = lit(v, round);
                        items.iter().any(|item| same(item, &v))
                    };
                    Some(match kind {
                        CKind::One | CKind::Any => values.iter().any(has),
                        CKind::All => values.iter().all(has),
                    })
                }
                _ => None,
            }
        }
    })
}

/// The value of `a` where it is compared with `b`: a constant compared with a Float field is
/// rounded to 32 bits first.
fn operand_against(w: &World, a: &GVal, b: &GVal, row: usize) -> Result<R, Fault> {
    match a {
        GVal::Lit(l) => Ok(lit(l, is_f32(w, b))),
        _ => eval_val(w, a, row),
    }
}

/// Whether `value` holds 32-bit floats.
fn is_f32(w: &World, value: &GVal) -> bool {
    match value {
        GVal::Field(i) => w.schema.fields()[*i].data_type == DataType::Float,
        GVal::Elem { field, .. } | GVal::ArrayField(field) => matches!(
            w.schema.fields()[*field].data_type,
            DataType::Array { element: ElementType::Float, .. }
        ),
        _ => false,
    }
}

fn lit(l: &GLit, round_f32: bool) -> R {
    match l {
        GLit::Bool(v) => R::Bool(*v),
        GLit::Int(v) if round_f32 => R::Float(f64::from(*v as f32)),
        GLit::Int(v) => R::Int(*v),
        GLit::Float(v) if round_f32 => R::Float(f64::from(*v as f32)),
        GLit::Float(v) => R::Float(*v),
        GLit::Str(s) => R::Str(s.clone()),
        GLit::List(items) => R::List(items.iter().map(|i| lit(i, round_f32)).collect()),
    }
}

fn from_value(value: Value) -> R {
    match value {
        Value::Null => R::Null,
        Value::Bool(v) => R::Bool(v),
        Value::Int8(v) => R::Int(v.into()),
        Value::Int16(v) => R::Int(v.into()),
        Value::Int32(v) => R::Int(v.into()),
        Value::Int64(v) => R::Int(v),
        Value::Float(v) => R::Float(v.into()),
        Value::Double(v) => R::Float(v),
        Value::VarChar(s) => R::Str(s),
        Value::Json(text) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(json) => from_json(&json),
            Err(_) => R::Null,
        },
        Value::Array(array) => R::List(match array {
            ArrayValue::Bool(v) => v.into_iter().map(R::Bool).collect(),
            ArrayValue::Int8(v) => v.into_iter().map(|x| R::Int(x.into())).collect(),
            ArrayValue::Int16(v) => v.into_iter().map(|x| R::Int(x.into())).collect(),
            ArrayValue::Int32(v) => v.into_iter().map(|x| R::Int(x.into())).collect(),
            ArrayValue::Int64(v) => v.into_iter().map(R::Int).collect(),
            ArrayValue::Float(v) => v.into_iter().map(|x| R::Float(x.into())).collect(),
            ArrayValue::Double(v) => v.into_iter().map(R::Float).collect(),
            ArrayValue::VarChar(v) => v.into_iter().map(R::Str).collect(),
        }),
        Value::FloatVector(_) => R::Obj,
    }
}

fn from_json(json: &serde_json::Value) -> R {
    match json {
        serde_json::Value::Null => R::Null,
        serde_json::Value::Bool(v) => R::Bool(*v),
        serde_json::Value::Number(n) => {
            if let Some(v) = n.as_i64() {
                R::Int(v)
            } else {
                R::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => R::Str(s.clone()),
        serde_json::Value::Array(items) => R::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(_) => R::Obj,
    }
}

/// Walks `path` with JSON Pointer's rules.
fn navigate<'a>(mut json: &'a serde_json::Value, path: &[GStep]) -> Option<&'a serde_json::Value> {
    for step in path {
        let key = match step {
            GStep::Key(k) => k.clone(),
            GStep::Index(i) => i.to_string(),
        };
        json = match json {
            serde_json::Value::Object(map) => map.get(&key)?,
            serde_json::Value::Array(items) => {
                let canonical = key == "0"
                    || (!key.starts_with('0') && key.bytes().all(|b| b.is_ascii_digit()));
                if !canonical || key.is_empty() {
                    return None;
                }
                items.get(key.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(json)
}

fn eval_val(w: &World, value: &GVal, row: usize) -> Result<R, Fault> {
    let cell = |i: usize| w.columns[i].value(row).expect("row in range");
    Ok(match value {
        GVal::Lit(l) => lit(l, false),
        GVal::Field(i) | GVal::ArrayField(i) => from_value(cell(*i)),
        GVal::Json { field, path, .. } => match cell(*field) {
            Value::Json(text) => {
                let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
                navigate(&json, path).map_or(R::Null, from_json)
            }
            _ => R::Null,
        },
        GVal::Elem { field, index } => match from_value(cell(*field)) {
            R::List(items) => items.into_iter().nth(*index).unwrap_or(R::Null),
            _ => R::Null,
        },
        GVal::Len(inner) => match eval_val(w, inner, row)? {
            R::List(items) => R::Int(items.len() as i64),
            _ => R::Null,
        },
        GVal::Neg(inner) => match eval_val(w, inner, row)? {
            R::Int(v) => R::Int(v.checked_neg().ok_or(Fault)?),
            R::Float(v) => R::Float(-v),
            _ => R::Null,
        },
        GVal::Arith(op, a, b) => {
            let a = eval_val(w, a, row)?;
            let b = eval_val(w, b, row)?;
            arith(*op, &a, &b)?
        }
    })
}

fn arith(op: AOp, a: &R, b: &R) -> Result<R, Fault> {
    match (a, b) {
        (R::Int(x), R::Int(y)) => {
            let (x, y) = (i128::from(*x), i128::from(*y));
            let exact = match op {
                AOp::Add => x + y,
                AOp::Sub => x - y,
                AOp::Mul => x * y,
                AOp::Div if y == 0 => return Err(Fault),
                AOp::Div => x / y,
                AOp::Mod if y == 0 => return Err(Fault),
                AOp::Mod => x % y,
            };
            Ok(R::Int(i64::try_from(exact).map_err(|_| Fault)?))
        }
        (R::Int(_) | R::Float(_), R::Int(_) | R::Float(_)) => {
            let f = |r: &R| match r {
                R::Int(v) => *v as f64,
                R::Float(v) => *v,
                _ => unreachable!(),
            };
            let (x, y) = (f(a), f(b));
            if matches!(op, AOp::Div | AOp::Mod) && y == 0.0 {
                return Err(Fault);
            }
            let result = match op {
                AOp::Add => x + y,
                AOp::Sub => x - y,
                AOp::Mul => x * y,
                AOp::Div => x / y,
                AOp::Mod => x % y,
            };
            if result.is_finite() { Ok(R::Float(result)) } else { Err(Fault) }
        }
        _ => Ok(R::Null),
    }
}

/// Orders an integer and a float exactly, by way of the float's floor.
fn cmp_int_float(i: i64, f: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::{Equal, Greater, Less};
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    if f >= TWO_64 {
        return Less;
    }
    if f <= -TWO_64 {
        return Greater;
    }
    let floor = f.floor() as i128;
    let i = i128::from(i);
    if i < floor {
        Less
    } else if i > floor {
        Greater
    } else if f == f.floor() {
        Equal
    } else {
        Less
    }
}

fn order(a: &R, b: &R) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (R::Int(x), R::Int(y)) => Some(x.cmp(y)),
        (R::Int(x), R::Float(y)) => Some(cmp_int_float(*x, *y)),
        (R::Float(x), R::Int(y)) => Some(cmp_int_float(*y, *x).reverse()),
        (R::Float(x), R::Float(y)) => x.partial_cmp(y),
        (R::Str(x), R::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

fn compare(a: &R, b: &R, op: Op) -> Option<bool> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    if let Some(ordering) = order(a, b) {
        return Some(match op {
            Op::Eq => ordering == Equal,
            Op::Ne => ordering != Equal,
            Op::Lt => ordering == Less,
            Op::Le => ordering != Greater,
            Op::Gt => ordering == Greater,
            Op::Ge => ordering != Less,
        });
    }
    let equal = match (a, b) {
        (R::Bool(x), R::Bool(y)) => x == y,
        (R::List(_), R::List(_)) => same(a, b),
        _ => return None,
    };
    match op {
        Op::Eq => Some(equal),
        Op::Ne => Some(!equal),
        _ => None,
    }
}

fn same(a: &R, b: &R) -> bool {
    match (a, b) {
        (R::List(x), R::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (R::Bool(x), R::Bool(y)) => x == y,
        _ => order(a, b) == Some(std::cmp::Ordering::Equal),
    }
}

/// `like` by dynamic programming over characters.
fn like(pattern: &str, text: &str) -> bool {
    enum P {
        Char(char),
        One,
        Any,
    }
    let mut items = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        items.push(match c {
            '\\' => P::Char(chars.next().expect("well-formed pattern")),
            '%' => P::Any,
            '_' => P::One,
            c => P::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    let mut reach = vec![false; text.len() + 1];
    reach[0] = true;
    for item in &items {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = match item {
                P::Any => reach[j] || (j > 0 && next[j - 1]),
                P::One => j > 0 && reach[j - 1],
                P::Char(c) => j > 0 && reach[j - 1] && text[j - 1] == *c,
            };
        }
        reach = next;
    }
    reach[text.len()]
}
