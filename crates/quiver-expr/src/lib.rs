//! Milvus's filter-expression language, without I/O: text is parsed into a syntax tree
//! ([`parse`] → [`Expr`]), template parameters are bound as values ([`Expr::bind`]), the
//! tree is checked against a collection schema into a typed [`Plan`] ([`Expr::check`]), and
//! the plan is evaluated over a segment's columns into a row [`Bitmap`] ([`Plan::evaluate`]),
//! or with per-segment scalar indexes ([`ScalarIndex`], INVERTED and STL_SORT) answering the
//! leaves they can ([`Plan::evaluate_indexed`]).
//!
//! Every step is bounded by [`Limits`]; errors carry the byte span at fault and print its
//! 1-based column. Nothing here panics on input.
//!
//! Semantics in brief (the module docs of `eval`, `typecheck`, `eval::value` and
//! `eval::like` have the details): three-valued logic where null and mismatched JSON values
//! are unknown and unknown rows never match; `not` binds tighter than comparisons, as in
//! Milvus; division by zero and integer overflow are errors, at check time for constants and
//! at evaluation otherwise.

pub mod ast;
mod error;
mod eval;
pub mod fuzz;
mod index;
mod lexer;
mod limits;
mod parser;
mod plan;
mod template;
mod typecheck;

use std::collections::HashMap;
use std::fmt;

use quiver_core::Schema;

pub use error::{EvalError, ExprError, ExprErrorKind, LiteralKind, Span, Subject};
pub use eval::bitmap::Bitmap;
pub use index::{ScalarIndex, ScalarIndexError, ScalarIndexKind};
pub use limits::Limits;
pub use plan::Plan;
pub use template::TemplateValue;

/// A parsed expression: its syntax tree and the limits it was parsed under (which binding
/// applies too).
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    root: ast::Node,
    limits: Limits,
}

/// Parses a filter expression.
pub fn parse(text: &str, limits: &Limits) -> Result<Expr, ExprError> {
    let root = parser::parse_text(text, limits)?;
    Ok(Expr { root, limits: *limits })
}

/// Parses, binds `params` and checks against `schema` in one go.
pub fn compile(
    text: &str,
    params: &HashMap<String, TemplateValue>,
    schema: &Schema,
    limits: &Limits,
) -> Result<Plan, ExprError> {
    parse(text, limits)?.bind(params)?.check(schema)
}

impl Expr {
    pub fn root(&self) -> &ast::Node {
        &self.root
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replaces every template parameter `{name}` by its value in `params`, as a literal of
    /// the syntax tree (never as text). A parameter without a value is an error; values the
    /// expression does not use are ignored, as Milvus does.
    pub fn bind(&self, params: &HashMap<String, TemplateValue>) -> Result<Expr, ExprError> {
        let root = template::bind(&self.root, params, &self.limits)?;
        Ok(Expr { root, limits: self.limits })
    }

    /// Resolves names against `schema` and checks types, into an evaluable plan.
    pub fn check(&self, schema: &Schema) -> Result<Plan, ExprError> {
        typecheck::check(&self.root, schema)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}
