//! The typed plan: an expression resolved against a schema, with constants folded and
//! operands typed, ready for evaluation. `Display` prints a compact S-expression.

use std::fmt;

use quiver_core::{Column, DataType, PkValue};

use crate::error::{EvalError, Span};
use crate::eval::bitmap::Bitmap;
use crate::eval::in_list::InList;
use crate::eval::like::LikePattern;
use crate::index::ScalarIndex;

/// A checked filter, evaluated per segment by [`Plan::evaluate`].
#[derive(Clone, Debug)]
pub struct Plan {
    pub(crate) root: Pred,
    /// How many columns `evaluate` expects: one per schema field, `$meta` included.
    pub(crate) num_fields: usize,
    /// The fields the plan reads, each once.
    pub(crate) fields: Vec<FieldRef>,
    pub(crate) pk: Option<Vec<PkValue>>,
}

impl Plan {
    /// One bit per row: set when the row matches.
    ///
    /// `columns` holds one column per schema field in schema order (the dynamic `$meta` field
    /// last), each with `num_rows` rows. Only the fields the plan reads are looked at, but
    /// their types and lengths are checked.
    pub fn evaluate(&self, columns: &[Column], num_rows: usize) -> Result<Bitmap, EvalError> {
        crate::eval::evaluate(self, columns, num_rows)
    }

    /// [`Plan::evaluate`], with the leaves that a field's scalar index answers exactly (a
    /// comparison, range, `in` or `like` of the field with constants, `is null`) taken from
    /// `indexes(field position)` when that is cheaper than a scan. The result is the same
    /// bit for bit, errors included; an index of another row count or column type is ignored.
    pub fn evaluate_indexed<'i>(
        &self,
        columns: &[Column],
        num_rows: usize,
        indexes: &dyn Fn(usize) -> Option<&'i ScalarIndex>,
    ) -> Result<Bitmap, EvalError> {
        crate::eval::evaluate_indexed(self, columns, num_rows, indexes)
    }

    /// The primary keys, when the whole filter is `pk == v` or `pk in [...]` (duplicates
    /// removed, first occurrence kept): such a filter is a key lookup.
    pub fn pk_values(&self) -> Option<&[PkValue]> {
        self.pk.as_deref()
    }

    /// Schema indexes of the fields the plan reads, ascending.
    pub fn referenced_fields(&self) -> Vec<usize> {
        self.fields.iter().map(|f| f.index).collect()
    }
}

/// A field of the schema, by index.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FieldRef {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) data_type: DataType,
}

/// One step of a JSON path, with JSON Pointer's meaning (as Milvus): an object member named
/// `key`, or, on an array, the element `index` when `key` is a canonical array index.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Step {
    pub(crate) key: String,
    pub(crate) index: Option<usize>,
    /// Written as `[0]` rather than `["0"]` (display only).
    pub(crate) written_as_index: bool,
}

/// A constant.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Lit>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub(crate) fn flip(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::Ne => CmpOp::Ne,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
        }
    }

    pub(crate) fn is_ordering(self) -> bool {
        !matches!(self, CmpOp::Eq | CmpOp::Ne)
    }

    /// Whether `ordering` (of left versus right) satisfies the operator.
    pub(crate) fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            CmpOp::Eq => ordering == Equal,
            CmpOp::Ne => ordering != Equal,
            CmpOp::Lt => ordering == Less,
            CmpOp::Le => ordering != Greater,
            CmpOp::Gt => ordering == Greater,
            CmpOp::Ge => ordering != Less,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl ArithOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContainsKind {
    /// `json_contains`, `array_contains`: the one value is an element.
    One,
    /// `*_contains_all`: every value is an element.
    All,
    /// `*_contains_any`: some value is an element.
    Any,
}

/// A value per row.
#[derive(Clone, Debug)]
pub(crate) enum Operand {
    Lit(Lit),
    /// A scalar field: Bool, Int8 to Int64, Float, Double or VarChar.
    Field(FieldRef),
    /// A whole Array field.
    Array(FieldRef),
    /// A path into a JSON field or `$meta` (the root when `path` is empty).
    Json {
        field: FieldRef,
        path: Vec<Step>,
    },
    /// One element of an Array field.
    Elem {
        field: FieldRef,
        index: usize,
    },
    /// `array_length` of an Array field or a JSON path.
    Length(Box<Operand>),
    Neg {
        operand: Box<Operand>,
        span: Span,
    },
    Arith {
        op: ArithOp,
        left: Box<Operand>,
        right: Box<Operand>,
        span: Span,
    },
}

/// A condition per row, true, false or unknown.
#[derive(Clone, Debug)]
pub(crate) enum Pred {
    Const(bool),
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    /// A boolean operand used as a condition (`flag`, `$meta["on"]`).
    IsTrue(Operand),
    Compare {
        op: CmpOp,
        left: Operand,
        right: Operand,
    },
    Range {
        value: Operand,
        lower: Operand,
        lower_inclusive: bool,
        upper: Operand,
        upper_inclusive: bool,
    },
    In {
        value: Operand,
        list: InList,
    },
    Like {
        value: Operand,
        pattern: LikePattern,
    },
    /// Never unknown: a field or path is null or not.
    IsNull {
        target: Operand,
        negated: bool,
    },
    /// Never unknown: true when the path leads to a non-null value.
    Exists {
        target: Operand,
    },
    Contains {
        kind: ContainsKind,
        function: &'static str,
        target: Operand,
        values: Vec<Lit>,
    },
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Bool(v) => write!(f, "{v}"),
            Lit::Int(v) => write!(f, "{v}"),
            Lit::Float(v) => write!(f, "{v:?}"),
            Lit::Str(s) => write!(f, "{s:?}"),
            Lit::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.written_as_index {
            write!(f, "[{}]", self.key)
        } else {
            write!(f, "[{:?}]", self.key)
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Lit(lit) => write!(f, "{lit}"),
            Operand::Field(field) => write!(f, "{}:{}", field.name, field.data_type),
            Operand::Array(field) => match field.data_type {
                DataType::Array { element, .. } => {
                    write!(f, "{}:Array<{}>", field.name, element.name())
                }
                other => write!(f, "{}:{other}", field.name),
            },
            Operand::Json { field, path } => {
                f.write_str(&field.name)?;
                for step in path {
                    write!(f, "{step}")?;
                }
                Ok(())
            }
            Operand::Elem { field, index } => match field.data_type {
                DataType::Array { element, .. } => {
                    write!(f, "{}[{index}]:{}", field.name, element.name())
                }
                other => write!(f, "{}[{index}]:{other}", field.name),
            },
            Operand::Length(target) => write!(f, "(array_length {target})"),
            Operand::Neg { operand, .. } => write!(f, "(- {operand})"),
            Operand::Arith { op, left, right, .. } => {
                write!(f, "({} {left} {right})", op.symbol())
            }
        }
    }
}

impl fmt::Display for Pred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pred::Const(v) => write!(f, "{v}"),
            Pred::And(items) | Pred::Or(items) => {
                f.write_str(if matches!(self, Pred::And(_)) { "(and" } else { "(or" })?;
                for item in items {
                    write!(f, " {item}")?;
                }
                f.write_str(")")
            }
            Pred::Not(inner) => write!(f, "(not {inner})"),
            Pred::IsTrue(operand) => write!(f, "(is-true {operand})"),
            Pred::Compare { op, left, right } => write!(f, "({} {left} {right})", op.symbol()),
            Pred::Range { value, lower, lower_inclusive, upper, upper_inclusive } => {
                let lo = if *lower_inclusive { "<=" } else { "<" };
                let hi = if *upper_inclusive { "<=" } else { "<" };
                write!(f, "(range {lower} {lo} {value} {hi} {upper})")
            }
            Pred::In { value, list } => write!(f, "(in {value} {list})"),
            Pred::Like { value, pattern } => write!(f, "(like {value} {pattern})"),
            Pred::IsNull { target, negated } => {
                let op = if *negated { "is-not-null" } else { "is-null" };
                write!(f, "({op} {target})")
            }
            Pred::Exists { target } => write!(f, "(exists {target})"),
            Pred::Contains { function, target, values, kind } => {
                write!(f, "({function} {target}")?;
                match kind {
                    ContainsKind::One => {
                        for value in values {
                            write!(f, " {value}")?;
                        }
                    }
                    ContainsKind::All | ContainsKind::Any => {
                        write!(f, " {}", Lit::List(values.clone()))?;
                    }
                }
                f.write_str(")")
            }
        }
    }
}
