//! The syntax tree the parser produces: what was written, with byte spans, before names are
//! resolved or types checked. `Display` prints a compact S-expression (used by golden tests).

use std::fmt;

use crate::error::Span;

/// One node of the syntax tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// An integer literal's magnitude (a minus sign is a [`UnaryOp::Neg`] around it).
    Int(i128),
    Float(f64),
    Bool(bool),
    Str(String),
    List(Vec<Node>),
    /// `{name}`, replaced by [`crate::Expr::bind`].
    Template(String),
    /// A field, `$meta`, or a path into either.
    Ref(Ref),
    Call {
        func: Func,
        args: Vec<Node>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Node>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Node>,
        right: Box<Node>,
    },
    /// A chained comparison `first op1 middle op2 last` with both operators pointing the same
    /// way (`1 < x <= 5`, `5 > x > 1`).
    Range {
        first: Box<Node>,
        op1: BinaryOp,
        middle: Box<Node>,
        op2: BinaryOp,
        last: Box<Node>,
    },
    In {
        value: Box<Node>,
        list: Box<Node>,
        negated: bool,
    },
    And(Vec<Node>),
    Or(Vec<Node>),
    IsNull {
        operand: Box<Node>,
        negated: bool,
    },
    Exists(Box<Node>),
}

/// A reference to a field or to a value inside a JSON or Array field.
#[derive(Clone, Debug, PartialEq)]
pub struct Ref {
    pub base: RefBase,
    pub path: Vec<PathStep>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RefBase {
    Field(String),
    /// `$meta`.
    Meta,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PathStep {
    Key(String),
    Index(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "**",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Like => "like",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
}

/// The supported functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    JsonContains,
    JsonContainsAll,
    JsonContainsAny,
    ArrayContains,
    ArrayContainsAll,
    ArrayContainsAny,
    ArrayLength,
}

impl Func {
    pub fn name(self) -> &'static str {
        match self {
            Func::JsonContains => "json_contains",
            Func::JsonContainsAll => "json_contains_all",
            Func::JsonContainsAny => "json_contains_any",
            Func::ArrayContains => "array_contains",
            Func::ArrayContainsAll => "array_contains_all",
            Func::ArrayContainsAny => "array_contains_any",
            Func::ArrayLength => "array_length",
        }
    }

    pub fn arity(self) -> usize {
        match self {
            Func::ArrayLength => 1,
            _ => 2,
        }
    }

    /// Looks a function up by its case-insensitive name.
    pub fn from_name(lowercase: &str) -> Option<Func> {
        Some(match lowercase {
            "json_contains" => Func::JsonContains,
            "json_contains_all" => Func::JsonContainsAll,
            "json_contains_any" => Func::JsonContainsAny,
            "array_contains" => Func::ArrayContains,
            "array_contains_all" => Func::ArrayContainsAll,
            "array_contains_any" => Func::ArrayContainsAny,
            "array_length" => Func::ArrayLength,
            _ => return None,
        })
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            NodeKind::Int(v) => write!(f, "{v}"),
            NodeKind::Float(v) => write!(f, "{v:?}"),
            NodeKind::Bool(v) => write!(f, "{v}"),
            NodeKind::Str(s) => write!(f, "{s:?}"),
            NodeKind::List(items) => {
                f.write_str("[")?;
                write_spaced(f, items)?;
                f.write_str("]")
            }
            NodeKind::Template(name) => write!(f, "{{{name}}}"),
            NodeKind::Ref(r) => write!(f, "{r}"),
            NodeKind::Call { func, args } => {
                write!(f, "({}", func.name())?;
                for arg in args {
                    write!(f, " {arg}")?;
                }
                f.write_str(")")
            }
            NodeKind::Unary { op, operand } => {
                let op = match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Plus => "+",
                    UnaryOp::Not => "not",
                };
                write!(f, "({op} {operand})")
            }
            NodeKind::Binary { op, left, right } => {
                write!(f, "({} {left} {right})", op.symbol())
            }
            NodeKind::Range { first, op1, middle, op2, last } => {
                write!(f, "(range {first} {} {middle} {} {last})", op1.symbol(), op2.symbol())
            }
            NodeKind::In { value, list, negated } => {
                let op = if *negated { "not-in" } else { "in" };
                write!(f, "({op} {value} {list})")
            }
            NodeKind::And(items) => {
                f.write_str("(and ")?;
                write_spaced(f, items)?;
                f.write_str(")")
            }
            NodeKind::Or(items) => {
                f.write_str("(or ")?;
                write_spaced(f, items)?;
                f.write_str(")")
            }
            NodeKind::IsNull { operand, negated } => {
                let op = if *negated { "is-not-null" } else { "is-null" };
                write!(f, "({op} {operand})")
            }
            NodeKind::Exists(operand) => write!(f, "(exists {operand})"),
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.base {
            RefBase::Field(name) => f.write_str(name)?,
            RefBase::Meta => f.write_str("$meta")?,
        }
        for step in &self.path {
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

impl fmt::Display for PathStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathStep::Key(key) => write!(f, "[{key:?}]"),
            PathStep::Index(i) => write!(f, "[{i}]"),
        }
    }
}

fn write_spaced(f: &mut fmt::Formatter<'_>, items: &[Node]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}
