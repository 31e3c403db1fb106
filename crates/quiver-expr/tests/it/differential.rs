//! Differential test: random schemas (every scalar type, nullable or not, JSON, Arrays, the
//! dynamic field or not), random rows and random well-typed expressions built from the
//! schema. Each expression is rendered as text (with random surface syntax: keyword case,
//! `&&`/`and`, hex literals...), compiled and evaluated by the real evaluator, and
//! interpreted row by row by the naive interpreter in `reference.rs`; the two must agree on
//! every row, three-valued semantics included, and on whether evaluation fails.
//!
//! The same expressions are also evaluated with scalar indexes on every field that takes one
//! (`evaluate_indexed`), once preferring INVERTED and once STL_SORT where both apply; the
//! result must equal the unindexed `evaluate` bit for bit, errors included.

use std::collections::HashMap;
use std::fmt::Write as _;

use proptest::prelude::*;
use quiver_core::{
    ArrayValue, Column, ColumnData, DataType, ElementType, FieldSpec, Schema, SchemaSpec,
};
use quiver_expr::{Limits, ScalarIndex, ScalarIndexKind, compile};

use crate::reference;
use crate::support::Rng;

/// A generated data set.
pub(crate) struct World {
    pub(crate) schema: Schema,
    pub(crate) columns: Vec<Column>,
    pub(crate) n: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum GLit {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<GLit>),
}

#[derive(Clone, Debug)]
pub(crate) enum GStep {
    Key(String),
    Index(usize),
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum AOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum CKind {
    One,
    All,
    Any,
}

/// A value expression, with fields by schema index.
#[derive(Clone, Debug)]
pub(crate) enum GVal {
    Lit(GLit),
    Field(usize),
    ArrayField(usize),
    /// A path into a JSON field or `$meta`; `bare` renders the first key as a dynamic name.
    Json {
        field: usize,
        path: Vec<GStep>,
        bare: bool,
    },
    Elem {
        field: usize,
        index: usize,
    },
    Len(Box<GVal>),
    Arith(AOp, Box<GVal>, Box<GVal>),
    Neg(Box<GVal>),
}

#[derive(Clone, Debug)]
pub(crate) enum GPred {
    Const(bool),
    And(Vec<GPred>),
    Or(Vec<GPred>),
    Not(Box<GPred>),
    IsTrue(GVal),
    Cmp(Op, GVal, GVal),
    Range {
        lo: GLit,
        lo_inclusive: bool,
        value: GVal,
        hi: GLit,
        hi_inclusive: bool,
        descending: bool,
    },
    In {
        value: GVal,
        list: Vec<GLit>,
        negated: bool,
    },
    Like {
        value: GVal,
        pattern: String,
    },
    IsNull {
        target: GVal,
        negated: bool,
    },
    Exists(GVal),
    Contains {
        kind: CKind,
        array_alias: bool,
        target: GVal,
        values: Vec<GLit>,
    },
}

/// Static types the generator tracks.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    Bool,
    Int,
    Float,
    Str,
    Json,
}

const INTS: &[i64] = &[-3, -2, -1, 0, 1, 2, 3, 7, 10, 100];
const FLOATS: &[f64] = &[0.0, -0.0, 0.5, -1.25, 0.1, 2.0, 3.0, 1e30, -7.5, 0.001];
const STRS: &[&str] = &["", "a", "ab", "abc", "b", "ba", "a%c", "a_c", "héllo", "Abc", "a\\c"];
const KEYS: &[&str] = &["a", "b", "c", "0", "1"];
const DYN_KEYS: &[&str] = &["color", "n", "tags", "a"];

// Schema layout: the indexes of the fields below.
const ID: usize = 0;
const FB: usize = 1;
const FI8: usize = 2;
const FI16: usize = 3;
const FI32: usize = 4;
const FI64: usize = 5;
const FF: usize = 6;
const FD: usize = 7;
const FS: usize = 8;
const FJ: usize = 9;
const AI: usize = 10;
const AF: usize = 11;
const AS: usize = 12;
const AB: usize = 13;
const META: usize = 15;

fn gen_world(rng: &mut Rng) -> World {
    let pk_is_str = rng.chance(30);
    let dynamic = rng.chance(50);
    let nullable = |spec: FieldSpec, rng: &mut Rng| FieldSpec { nullable: rng.chance(50), ..spec };
    let int_elements =
        [ElementType::Int8, ElementType::Int16, ElementType::Int32, ElementType::Int64];
    let float_elements = [ElementType::Float, ElementType::Double];
    let array = |element| DataType::Array { element, max_capacity: 8 };
    let fields = vec![
        if pk_is_str {
            FieldSpec::primary("id", DataType::VarChar { max_length: 16 })
        } else {
            FieldSpec::primary("id", DataType::Int64)
        },
        nullable(FieldSpec::new("fb", DataType::Bool), rng),
        nullable(FieldSpec::new("fi8", DataType::Int8), rng),
        nullable(FieldSpec::new("fi16", DataType::Int16), rng),
        nullable(FieldSpec::new("fi32", DataType::Int32), rng),
        nullable(FieldSpec::new("fi64", DataType::Int64), rng),
        nullable(FieldSpec::new("ff", DataType::Float), rng),
        nullable(FieldSpec::new("fd", DataType::Double), rng),
        nullable(FieldSpec::new("fs", DataType::VarChar { max_length: 64 }), rng),
        nullable(FieldSpec::new("fj", DataType::Json), rng),
        nullable(FieldSpec::new("ai", array(*rng.pick(&int_elements))), rng),
        nullable(FieldSpec::new("af", array(*rng.pick(&float_elements))), rng),
        nullable(FieldSpec::new("as_", array(ElementType::VarChar { max_length: 16 })), rng),
        nullable(FieldSpec::new("ab", array(ElementType::Bool)), rng),
        FieldSpec::new("vec", DataType::FloatVector { dim: 2 }),
    ];
    let schema = Schema::new(SchemaSpec {
        description: String::new(),
        fields,
        enable_dynamic_field: dynamic,
    })
    .expect("valid schema");
    let n = *rng.pick(&[0, 1, 2, 5, 17, 40, 63, 64, 65, 130]);
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(index, field)| gen_column(rng, index, field.data_type, field.nullable, n))
        .collect();
    World { schema, columns, n }
}

fn gen_int(rng: &mut Rng) -> i64 {
    if rng.chance(3) { *rng.pick(&[i64::MAX, i64::MIN, i64::MAX - 1]) } else { *rng.pick(INTS) }
}

fn gen_json(rng: &mut Rng, depth: usize) -> serde_json::Value {
    let choice = rng.below(if depth == 0 { 6 } else { 8 });
    match choice {
        0 => serde_json::json!(gen_int(rng)),
        1 => serde_json::json!(*rng.pick(FLOATS)),
        2 => serde_json::json!(*rng.pick(STRS)),
        3 => serde_json::json!(rng.chance(50)),
        4 => serde_json::Value::Null,
        5 => serde_json::json!(*rng.pick(INTS)),
        6 => {
            serde_json::Value::Array((0..rng.below(4)).map(|_| gen_json(rng, depth - 1)).collect())
        }
        _ => serde_json::Value::Object(
            (0..rng.below(4))
                .map(|_| ((*rng.pick(KEYS)).to_owned(), gen_json(rng, depth - 1)))
                .collect(),
        ),
    }
}

fn gen_column(
    rng: &mut Rng,
    index: usize,
    data_type: DataType,
    nullable: bool,
    n: usize,
) -> Column {
    let strings = |rng: &mut Rng| (0..n).map(|_| (*rng.pick(STRS)).to_owned()).collect::<Vec<_>>();
    let data = match data_type {
        DataType::Bool => ColumnData::Bool((0..n).map(|_| rng.chance(50)).collect()),
        DataType::Int8 => ColumnData::Int8((0..n).map(|_| gen_int(rng) as i8).collect()),
        DataType::Int16 => ColumnData::Int16((0..n).map(|_| gen_int(rng) as i16).collect()),
        DataType::Int32 => ColumnData::Int32((0..n).map(|_| gen_int(rng) as i32).collect()),
        DataType::Int64 if index == ID => ColumnData::Int64((0..n as i64).collect()),
        DataType::Int64 => ColumnData::Int64((0..n).map(|_| gen_int(rng)).collect()),
        DataType::Float => ColumnData::Float((0..n).map(|_| *rng.pick(FLOATS) as f32).collect()),
        DataType::Double => ColumnData::Double((0..n).map(|_| *rng.pick(FLOATS)).collect()),
        DataType::VarChar { .. } if index == ID => {
            ColumnData::VarChar((0..n).map(|i| format!("k{i}")).collect())
        }
        DataType::VarChar { .. } => ColumnData::VarChar(strings(rng)),
        DataType::Json if index == META => ColumnData::Json(
            (0..n)
                .map(|_| {
                    let object: serde_json::Map<String, serde_json::Value> = (0..rng.below(4))
                        .map(|_| ((*rng.pick(DYN_KEYS)).to_owned(), gen_json(rng, 2)))
                        .collect();
                    serde_json::Value::Object(object).to_string()
                })
                .collect(),
        ),
        DataType::Json => ColumnData::Json((0..n).map(|_| gen_json(rng, 3).to_string()).collect()),
        DataType::Array { element, .. } => ColumnData::Array(
            (0..n)
                .map(|_| {
                    let len = rng.below(4);
                    match element {
                        ElementType::Bool => {
                            ArrayValue::Bool((0..len).map(|_| rng.chance(50)).collect())
                        }
                        ElementType::Int8 => {
                            ArrayValue::Int8((0..len).map(|_| gen_int(rng) as i8).collect())
                        }
                        ElementType::Int16 => {
                            ArrayValue::Int16((0..len).map(|_| gen_int(rng) as i16).collect())
                        }
                        ElementType::Int32 => {
                            ArrayValue::Int32((0..len).map(|_| gen_int(rng) as i32).collect())
                        }
                        ElementType::Int64 => {
                            ArrayValue::Int64((0..len).map(|_| gen_int(rng)).collect())
                        }
                        ElementType::Float => {
                            ArrayValue::Float((0..len).map(|_| *rng.pick(FLOATS) as f32).collect())
                        }
                        ElementType::Double => {
                            ArrayValue::Double((0..len).map(|_| *rng.pick(FLOATS)).collect())
                        }
                        ElementType::VarChar { .. } => ArrayValue::VarChar(
                            (0..len).map(|_| (*rng.pick(STRS)).to_owned()).collect(),
                        ),
                    }
                })
                .collect(),
        ),
        DataType::FloatVector { dim } => {
            ColumnData::FloatVector { dim: dim as usize, data: vec![0.0; n * dim as usize] }
        }
    };
    let validity = nullable.then(|| (0..n).map(|_| !rng.chance(25)).collect());
    Column { data, validity }
}

struct Gen<'a> {
    world: &'a World,
    rng: &'a mut Rng,
}

impl Gen<'_> {
    fn dynamic(&self) -> bool {
        self.world.schema.enable_dynamic_field()
    }

    fn element(&self, field: usize) -> ElementType {
        match self.world.schema.fields()[field].data_type {
            DataType::Array { element, .. } => element,
            _ => unreachable!("an array field"),
        }
    }

    fn lit(&mut self, ty: Ty) -> GLit {
        match ty {
            Ty::Bool => GLit::Bool(self.rng.chance(50)),
            Ty::Int => GLit::Int(gen_int(self.rng)),
            Ty::Float => {
                if self.rng.chance(30) {
                    GLit::Int(*self.rng.pick(INTS))
                } else {
                    GLit::Float(*self.rng.pick(FLOATS))
                }
            }
            Ty::Str => GLit::Str((*self.rng.pick(STRS)).to_owned()),
            Ty::Json => {
                let ty = *self.rng.pick(&[Ty::Bool, Ty::Int, Ty::Float, Ty::Str]);
                self.lit(ty)
            }
        }
    }

    fn json_path(&mut self) -> GVal {
        let use_meta = self.dynamic() && self.rng.chance(50);
        let mut path = Vec::new();
        if use_meta {
            path.push(GStep::Key((*self.rng.pick(DYN_KEYS)).to_owned()));
        }
        for _ in 0..self.rng.below(3) {
            if self.rng.chance(30) {
                path.push(GStep::Index(self.rng.below(3)));
            } else {
                path.push(GStep::Key((*self.rng.pick(KEYS)).to_owned()));
            }
        }
        if use_meta {
            GVal::Json { field: META, path, bare: self.rng.chance(50) }
        } else {
            GVal::Json { field: FJ, path, bare: false }
        }
    }

    /// A non-constant operand of type `ty`.
    fn operand(&mut self, ty: Ty, depth: usize) -> GVal {
        let pk_is_str =
            matches!(self.world.schema.fields()[ID].data_type, DataType::VarChar { .. });
        match ty {
            Ty::Bool => {
                if self.rng.chance(70) {
                    GVal::Field(FB)
                } else {
                    GVal::Elem { field: AB, index: self.rng.below(3) }
                }
            }
            Ty::Str => match self.rng.below(4) {
                0 if pk_is_str => GVal::Field(ID),
                1 => GVal::Elem { field: AS, index: self.rng.below(3) },
                _ => GVal::Field(FS),
            },
            Ty::Json if depth > 0 && self.rng.chance(20) => {
                let inner = self.json_path();
                self.arith(inner, Ty::Float)
            }
            Ty::Json => self.json_path(),
            Ty::Int | Ty::Float => {
                let choice = self.rng.below(if depth > 0 { 8 } else { 6 });
                match (ty, choice) {
                    (Ty::Int, 0) if !pk_is_str => GVal::Field(ID),
                    (Ty::Int, 0..=2) => GVal::Field(*self.rng.pick(&[FI8, FI16, FI32, FI64])),
                    (Ty::Int, 3) => GVal::Elem { field: AI, index: self.rng.below(3) },
                    (Ty::Int, 4) => GVal::Len(Box::new(if self.rng.chance(50) {
                        GVal::ArrayField(*self.rng.pick(&[AI, AF, AS, AB]))
                    } else {
                        self.json_path()
                    })),
                    (Ty::Float, 0..=2) => GVal::Field(*self.rng.pick(&[FF, FD])),
                    (Ty::Float, 3 | 4) => GVal::Elem { field: AF, index: self.rng.below(3) },
                    (_, 5) => GVal::Neg(Box::new(self.operand(ty, depth.saturating_sub(1)))),
                    _ => {
                        let inner = self.operand(ty, depth - 1);
                        self.arith(inner, ty)
                    }
                }
            }
        }
    }

    /// `inner op constant` (or `constant op inner`).
    fn arith(&mut self, inner: GVal, ty: Ty) -> GVal {
        let op = *self.rng.pick(&[AOp::Add, AOp::Sub, AOp::Mul, AOp::Div, AOp::Mod]);
        let mut constant =
            if ty == Ty::Int { GLit::Int(*self.rng.pick(INTS)) } else { self.lit(Ty::Float) };
        let constant_first = self.rng.chance(25);
        if !constant_first && matches!(op, AOp::Div | AOp::Mod) {
            // A zero constant divisor is refused at check time.
            if constant == GLit::Int(0) || matches!(constant, GLit::Float(f) if f == 0.0) {
                constant = GLit::Int(3);
            }
        }
        let constant = GVal::Lit(constant);
        if constant_first {
            GVal::Arith(op, Box::new(constant), Box::new(inner))
        } else {
            GVal::Arith(op, Box::new(inner), Box::new(constant))
        }
    }

    fn cmp_op(&mut self, ordered: bool) -> Op {
        if ordered {
            *self.rng.pick(&[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge])
        } else {
            *self.rng.pick(&[Op::Eq, Op::Ne])
        }
    }

    fn pred(&mut self, depth: usize) -> GPred {
        let choice = self.rng.below(if depth > 0 { 16 } else { 12 });
        match choice {
            0..=2 => {
                let ty = *self.rng.pick(&[Ty::Bool, Ty::Int, Ty::Float, Ty::Str, Ty::Json]);
                let value = self.operand(ty, 2);
                let mut lit = self.lit(ty);
                if ty == Ty::Json && self.rng.chance(10) {
                    lit = GLit::List(vec![self.lit(Ty::Int), self.lit(Ty::Str)]);
                }
                let ordered = !matches!(lit, GLit::Bool(_) | GLit::List(_)) && ty != Ty::Bool;
                let op = self.cmp_op(ordered);
                if self.rng.chance(25) {
                    GPred::Cmp(op, GVal::Lit(lit), value)
                } else {
                    GPred::Cmp(op, value, GVal::Lit(lit))
                }
            }
            3 => {
                let (a, b, ordered) = match self.rng.below(5) {
                    0 => (self.operand(Ty::Int, 0), self.operand(Ty::Int, 0), true),
                    1 => (self.operand(Ty::Int, 0), self.operand(Ty::Float, 0), true),
                    2 => (self.operand(Ty::Str, 0), self.operand(Ty::Str, 0), true),
                    3 => (self.operand(Ty::Bool, 0), self.operand(Ty::Bool, 0), false),
                    _ => (self.json_path(), self.operand(Ty::Int, 0), true),
                };
                let op = self.cmp_op(ordered);
                GPred::Cmp(op, a, b)
            }
            4 => {
                let ty = *self.rng.pick(&[Ty::Int, Ty::Float, Ty::Str, Ty::Json]);
                let value = match ty {
                    Ty::Json => self.json_path(),
                    Ty::Int => GVal::Field(*self.rng.pick(&[FI8, FI16, FI32, FI64])),
                    Ty::Float => GVal::Field(*self.rng.pick(&[FF, FD])),
                    _ => GVal::Field(FS),
                };
                let bound_ty = if ty == Ty::Json {
                    *self.rng.pick(&[Ty::Int, Ty::Float, Ty::Str])
                } else {
                    ty
                };
                GPred::Range {
                    lo: self.lit(bound_ty),
                    lo_inclusive: self.rng.chance(50),
                    value,
                    hi: self.lit(bound_ty),
                    hi_inclusive: self.rng.chance(50),
                    descending: self.rng.chance(50),
                }
            }
            5 => {
                let ty = *self.rng.pick(&[Ty::Bool, Ty::Int, Ty::Float, Ty::Str, Ty::Json]);
                let value = self.operand(ty, 1);
                let len = self.rng.below(6);
                let mut list: Vec<GLit> = (0..len).map(|_| self.lit(ty)).collect();
                if ty == Ty::Json && self.rng.chance(20) {
                    list.push(GLit::List(vec![self.lit(Ty::Int)]));
                }
                GPred::In { value, list, negated: self.rng.chance(40) }
            }
            6 => {
                let value = match self.rng.below(3) {
                    0 => GVal::Field(FS),
                    1 => GVal::Elem { field: AS, index: self.rng.below(3) },
                    _ => self.json_path(),
                };
                let symbols = ["a", "b", "c", "%", "%", "_", "\\%", "\\_", "é"];
                let pattern: String =
                    (0..self.rng.below(5)).map(|_| *self.rng.pick(&symbols)).collect();
                GPred::Like { value, pattern }
            }
            7 => {
                let target = match self.rng.below(4) {
                    0 => GVal::Field(*self.rng.pick(&[FB, FI8, FI32, FI64, FF, FD, FS])),
                    1 => GVal::ArrayField(*self.rng.pick(&[AI, AF, AS, AB])),
                    2 => GVal::Json { field: FJ, path: Vec::new(), bare: false },
                    _ => self.json_path(),
                };
                GPred::IsNull { target, negated: self.rng.chance(50) }
            }
            8 => GPred::Exists(self.json_path()),
            9 => {
                let kind = *self.rng.pick(&[CKind::One, CKind::All, CKind::Any]);
                let (target, ty) = if self.rng.chance(50) {
                    let field = *self.rng.pick(&[AI, AF, AS, AB]);
                    let ty = match self.element(field) {
                        ElementType::Bool => Ty::Bool,
                        ElementType::Float | ElementType::Double => Ty::Float,
                        ElementType::VarChar { .. } => Ty::Str,
                        _ => Ty::Int,
                    };
                    (GVal::ArrayField(field), ty)
                } else {
                    (self.json_path(), Ty::Json)
                };
                let count = if matches!(kind, CKind::One) { 1 } else { self.rng.below(4) };
                let values = (0..count).map(|_| self.lit(ty)).collect();
                GPred::Contains { kind, array_alias: self.rng.chance(50), target, values }
            }
            10 => {
                let field = *self.rng.pick(&[AI, AF, AS, AB]);
                let ty = match self.element(field) {
                    ElementType::Bool => Ty::Bool,
                    ElementType::Float | ElementType::Double => Ty::Float,
                    ElementType::VarChar { .. } => Ty::Str,
                    _ => Ty::Int,
                };
                let list = GLit::List((0..self.rng.below(3)).map(|_| self.lit(ty)).collect());
                GPred::Cmp(self.cmp_op(false), GVal::ArrayField(field), GVal::Lit(list))
            }
            11 => match self.rng.below(4) {
                0 => GPred::Const(self.rng.chance(50)),
                1 => GPred::IsTrue(self.json_path()),
                _ => GPred::IsTrue(self.operand(Ty::Bool, 0)),
            },
            12 | 13 => {
                let items = (0..2 + self.rng.below(2)).map(|_| self.pred(depth - 1)).collect();
                if choice == 12 { GPred::And(items) } else { GPred::Or(items) }
            }
            _ => GPred::Not(Box::new(self.pred(depth - 1))),
        }
    }
}

// Rendering as text, with random surface syntax.

fn word(rng: &mut Rng, words: &[&'static str]) -> &'static str {
    words[rng.below(words.len())]
}

fn render_lit(lit: &GLit, rng: &mut Rng, out: &mut String) {
    match lit {
        GLit::Bool(v) => {
            let text = if *v {
                word(rng, &["true", "True", "TRUE"])
            } else {
                word(rng, &["false", "False", "FALSE"])
            };
            out.push_str(text);
        }
        GLit::Int(v) => {
            let _ = match (rng.below(6), *v > 0) {
                (0, true) => write!(out, "0x{v:x}"),
                (1, true) => write!(out, "0{v:o}"),
                (2, true) => write!(out, "0b{v:b}"),
                _ => write!(out, "{v}"),
            };
        }
        GLit::Float(v) => {
            let _ = write!(out, "{v:?}");
        }
        GLit::Str(s) => {
            let quote = if rng.chance(50) { '"' } else { '\'' };
            out.push(quote);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    'é' if rng.chance(50) => out.push_str("\\u00e9"),
                    c => out.push(c),
                }
            }
            out.push(quote);
        }
        GLit::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_lit(item, rng, out);
            }
            if !items.is_empty() && rng.chance(20) {
                out.push(',');
            }
            out.push(']');
        }
    }
}

fn field_name(world: &World, index: usize) -> &str {
    &world.schema.fields()[index].name
}

fn render_val(world: &World, val: &GVal, rng: &mut Rng, out: &mut String) {
    match val {
        GVal::Lit(lit) => render_lit(lit, rng, out),
        GVal::Field(i) | GVal::ArrayField(i) => out.push_str(field_name(world, *i)),
        GVal::Json { field, path, bare } => {
            let mut steps = path.as_slice();
            if *bare {
                let Some((GStep::Key(name), rest)) = path.split_first() else { unreachable!() };
                out.push_str(name);
                steps = rest;
            } else {
                out.push_str(field_name(world, *field));
            }
            for step in steps {
                match step {
                    GStep::Key(key) => {
                        let _ = write!(out, "[\"{key}\"]");
                    }
                    GStep::Index(i) => {
                        let _ = write!(out, "[{i}]");
                    }
                }
            }
        }
        GVal::Elem { field, index } => {
            let _ = write!(out, "{}[{index}]", field_name(world, *field));
        }
        GVal::Len(inner) => {
            out.push_str(word(rng, &["array_length(", "ARRAY_LENGTH("]));
            render_val(world, inner, rng, out);
            out.push(')');
        }
        GVal::Arith(op, a, b) => {
            out.push('(');
            render_val(world, a, rng, out);
            out.push_str(match op {
                AOp::Add => " + ",
                AOp::Sub => " - ",
                AOp::Mul => " * ",
                AOp::Div => " / ",
                AOp::Mod => " % ",
            });
            render_val(world, b, rng, out);
            out.push(')');
        }
        GVal::Neg(inner) => {
            out.push_str("-(");
            render_val(world, inner, rng, out);
            out.push(')');
        }
    }
}

fn render_pred(world: &World, pred: &GPred, rng: &mut Rng, out: &mut String) {
    match pred {
        GPred::Const(v) => render_lit(&GLit::Bool(*v), rng, out),
        GPred::And(items) | GPred::Or(items) => {
            let words: &[&str] = if matches!(pred, GPred::And(_)) {
                &[" and ", " AND ", " && ", "&&"]
            } else {
                &[" or ", " OR ", " || ", "||"]
            };
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(word(rng, words));
                }
                out.push('(');
                render_pred(world, item, rng, out);
                out.push(')');
            }
        }
        GPred::Not(inner) => {
            out.push_str(word(rng, &["not (", "NOT (", "!("]));
            render_pred(world, inner, rng, out);
            out.push(')');
        }
        GPred::IsTrue(val) => render_val(world, val, rng, out),
        GPred::Cmp(op, a, b) => {
            render_val(world, a, rng, out);
            out.push_str(match op {
                Op::Eq => " == ",
                Op::Ne => " != ",
                Op::Lt => " < ",
                Op::Le => " <= ",
                Op::Gt => " > ",
                Op::Ge => " >= ",
            });
            render_val(world, b, rng, out);
        }
        GPred::Range { lo, lo_inclusive, value, hi, hi_inclusive, descending } => {
            let (lo_op, hi_op) = if *descending {
                (
                    if *lo_inclusive { " >= " } else { " > " },
                    if *hi_inclusive { " >= " } else { " > " },
                )
            } else {
                (
                    if *lo_inclusive { " <= " } else { " < " },
                    if *hi_inclusive { " <= " } else { " < " },
                )
            };
            if *descending {
                render_lit(hi, rng, out);
                out.push_str(hi_op);
                render_val(world, value, rng, out);
                out.push_str(lo_op);
                render_lit(lo, rng, out);
            } else {
                render_lit(lo, rng, out);
                out.push_str(lo_op);
                render_val(world, value, rng, out);
                out.push_str(hi_op);
                render_lit(hi, rng, out);
            }
        }
        GPred::In { value, list, negated } => {
            render_val(world, value, rng, out);
            out.push_str(if *negated {
                word(rng, &[" not in ", " NOT IN "])
            } else {
                word(rng, &[" in ", " IN "])
            });
            render_lit(&GLit::List(list.clone()), rng, out);
        }
        GPred::Like { value, pattern } => {
            render_val(world, value, rng, out);
            out.push_str(word(rng, &[" like ", " LIKE "]));
            render_lit(&GLit::Str(pattern.clone()), rng, out);
        }
        GPred::IsNull { target, negated } => {
            render_val(world, target, rng, out);
            out.push_str(if *negated {
                word(rng, &[" is not null", " IS NOT NULL"])
            } else {
                word(rng, &[" is null", " IS NULL"])
            });
        }
        GPred::Exists(target) => {
            out.push_str(word(rng, &["exists ", "EXISTS "]));
            render_val(world, target, rng, out);
        }
        GPred::Contains { kind, array_alias, target, values } => {
            let base = if *array_alias { "array_contains" } else { "json_contains" };
            let suffix = match kind {
                CKind::One => "",
                CKind::All => "_all",
                CKind::Any => "_any",
            };
            let name = format!("{base}{suffix}");
            out.push_str(&if rng.chance(30) { name.to_uppercase() } else { name });
            out.push('(');
            render_val(world, target, rng, out);
            out.push_str(", ");
            match kind {
                CKind::One => render_lit(&values[0], rng, out),
                _ => render_lit(&GLit::List(values.clone()), rng, out),
            }
            out.push(')');
        }
    }
}

/// Runs `count` random expressions over one random world; panics with a report on the first
/// disagreement.
fn run_world(seed: u64, count: usize) {
    let mut rng = Rng::new(seed);
    let world = gen_world(&mut rng);
    let params = HashMap::new();
    let index_sets = [
        index_every_field(&world, ScalarIndexKind::Inverted),
        index_every_field(&world, ScalarIndexKind::StlSort),
    ];
    for _ in 0..count {
        let pred = Gen { world: &world, rng: &mut rng }.pred(3);
        let mut text = String::new();
        render_pred(&world, &pred, &mut rng, &mut text);
        let plan = match compile(&text, &params, &world.schema, &Limits::default()) {
            Ok(plan) => plan,
            Err(e) => panic!("seed {seed}: generated expression refused: {e}\n{text}\n{pred:?}"),
        };
        let unindexed = plan.evaluate(&world.columns, world.n);
        for set in &index_sets {
            let indexed = plan.evaluate_indexed(&world.columns, world.n, &|i| set[i].as_ref());
            assert_eq!(
                indexed, unindexed,
                "seed {seed}: indexed and unindexed evaluation differ\nexpression: {text}\nplan: {plan}"
            );
        }
        let actual = unindexed.map(|bits| bits.to_bools());
        let expected = reference::evaluate(&world, &pred);
        match (&actual, &expected) {
            (Ok(a), Ok(e)) if a == e => {}
            (Err(_), Err(_)) => {}
            _ => {
                let mut report = format!(
                    "seed {seed}: evaluator and reference disagree\nexpression: {text}\nplan: {plan}\nrows: {}\n",
                    world.n
                );
                match (&actual, &expected) {
                    (Ok(a), Ok(e)) => {
                        for row in (0..world.n).filter(|r| a[*r] != e[*r]) {
                            let values: Vec<String> = world
                                .columns
                                .iter()
                                .map(|c| format!("{:?}", c.value(row)))
                                .collect();
                            let _ = writeln!(
                                report,
                                "row {row}: evaluator {} reference {}: {}",
                                a[row],
                                e[row],
                                values.join(", ")
                            );
                        }
                    }
                    _ => {
                        let _ = writeln!(report, "evaluator: {actual:?}\nreference: {expected:?}");
                    }
                }
                panic!("{report}");
            }
        }
    }
}

/// A scalar index on every field that takes one: of kind `preferred` where it applies, of the
/// other kind otherwise.
fn index_every_field(world: &World, preferred: ScalarIndexKind) -> Vec<Option<ScalarIndex>> {
    let other = match preferred {
        ScalarIndexKind::Inverted => ScalarIndexKind::StlSort,
        ScalarIndexKind::StlSort => ScalarIndexKind::Inverted,
    };
    world
        .columns
        .iter()
        .map(|column| {
            ScalarIndex::build(column, preferred)
                .or_else(|_| ScalarIndex::build(column, other))
                .ok()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn evaluator_matches_the_reference_interpreter(seed in any::<u64>()) {
        run_world(seed, 40);
    }
}

/// A fixed set of seeds, so every run covers the same ground besides proptest's random ones.
#[test]
fn evaluator_matches_the_reference_on_fixed_seeds() {
    for seed in 0..64 {
        run_world(seed, 40);
    }
}
