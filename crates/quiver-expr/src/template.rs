//! Template parameters (`{name}` in the text, Milvus's `expr_template_values`): values are
//! placed into the syntax tree as literal nodes. They are never turned into expression text
//! and parsed, so a value cannot change the shape of the expression (the injection of
//! CVE-2026-41705 cannot happen through them).

use std::collections::HashMap;

use crate::ast::{Node, NodeKind};
use crate::error::{ExprError, ExprErrorKind, Span, short_name};
use crate::limits::Limits;

/// A value for a template parameter: the kinds of Milvus's `TemplateValue`.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplateValue {
    Bool(bool),
    Int64(i64),
    Float(f64),
    String(String),
    /// A list; elements may be of mixed kinds (Milvus's `JSONArray`) and may be lists.
    Array(Vec<TemplateValue>),
    /// A JSON value: booleans, numbers, strings and arrays of them. `null` and objects are
    /// refused, as no filter literal has that kind.
    Json(serde_json::Value),
}

/// Replaces every `{name}` in `root` by the value of `name` in `params`.
pub(crate) fn bind(
    root: &Node,
    params: &HashMap<String, TemplateValue>,
    limits: &Limits,
) -> Result<Node, ExprError> {
    if params.len() > limits.max_template_params {
        return Err(ExprError::new(
            ExprErrorKind::TooManyTemplates { max: limits.max_template_params },
            Span::default(),
        ));
    }
    let binder = Binder { params, limits, max_depth: limits.depth() };
    let (node, _) = binder.node(root)?;
    Ok(node)
}

struct Binder<'a> {
    params: &'a HashMap<String, TemplateValue>,
    limits: &'a Limits,
    max_depth: usize,
}

impl Binder<'_> {
    /// The bound copy of `node` and its depth (the bound values count).
    fn node(&self, node: &Node) -> Result<(Node, usize), ExprError> {
        let span = node.span;
        let (kind, child_depth) = match &node.kind {
            NodeKind::Template(name) => {
                let Some(value) = self.params.get(name) else {
                    return Err(ExprError::new(
                        ExprErrorKind::MissingTemplateValue { name: short_name(name) },
                        span,
                    ));
                };
                return self.value(name, value, span, 1);
            }
            NodeKind::Int(_)
            | NodeKind::Float(_)
            | NodeKind::Bool(_)
            | NodeKind::Str(_)
            | NodeKind::Ref(_) => return Ok((node.clone(), 1)),
            NodeKind::List(items) => {
                let (items, depth) = self.nodes(items)?;
                (NodeKind::List(items), depth)
            }
            NodeKind::And(items) => {
                let (items, depth) = self.nodes(items)?;
                (NodeKind::And(items), depth)
            }
            NodeKind::Or(items) => {
                let (items, depth) = self.nodes(items)?;
                (NodeKind::Or(items), depth)
            }
            NodeKind::Call { func, args } => {
                let (args, depth) = self.nodes(args)?;
                (NodeKind::Call { func: *func, args }, depth)
            }
            NodeKind::Unary { op, operand } => {
                let (operand, depth) = self.node(operand)?;
                (NodeKind::Unary { op: *op, operand: Box::new(operand) }, depth)
            }
            NodeKind::Binary { op, left, right } => {
                let (left, l) = self.node(left)?;
                let (right, r) = self.node(right)?;
                (
                    NodeKind::Binary { op: *op, left: Box::new(left), right: Box::new(right) },
                    l.max(r),
                )
            }
            NodeKind::Range { first, op1, middle, op2, last } => {
                let (first, a) = self.node(first)?;
                let (middle, b) = self.node(middle)?;
                let (last, c) = self.node(last)?;
                let kind = NodeKind::Range {
                    first: Box::new(first),
                    op1: *op1,
                    middle: Box::new(middle),
                    op2: *op2,
                    last: Box::new(last),
                };
                (kind, a.max(b).max(c))
            }
            NodeKind::In { value, list, negated } => {
                let (value, a) = self.node(value)?;
                let (list, b) = self.node(list)?;
                let kind = NodeKind::In {
                    value: Box::new(value),
                    list: Box::new(list),
                    negated: *negated,
                };
                (kind, a.max(b))
            }
            NodeKind::IsNull { operand, negated } => {
                let (operand, depth) = self.node(operand)?;
                (NodeKind::IsNull { operand: Box::new(operand), negated: *negated }, depth)
            }
            NodeKind::Exists(operand) => {
                let (operand, depth) = self.node(operand)?;
                (NodeKind::Exists(Box::new(operand)), depth)
            }
        };
        let depth = self.depth(child_depth + 1, span)?;
        Ok((Node { kind, span }, depth))
    }

    fn nodes(&self, items: &[Node]) -> Result<(Vec<Node>, usize), ExprError> {
        let mut depth = 0;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let (item, d) = self.node(item)?;
            depth = depth.max(d);
            out.push(item);
        }
        Ok((out, depth))
    }

    fn depth(&self, depth: usize, span: Span) -> Result<usize, ExprError> {
        if depth > self.max_depth {
            return Err(ExprError::new(ExprErrorKind::TooDeep { max: self.max_depth }, span));
        }
        Ok(depth)
    }

    /// The literal node for `value`, which stands at nesting `depth`.
    fn value(
        &self,
        name: &str,
        value: &TemplateValue,
        span: Span,
        depth: usize,
    ) -> Result<(Node, usize), ExprError> {
        self.depth(depth, span)?;
        let invalid = |reason| {
            ExprError::new(
                ExprErrorKind::InvalidTemplateValue { name: short_name(name), reason },
                span,
            )
        };
        let kind = match value {
            TemplateValue::Bool(v) => NodeKind::Bool(*v),
            TemplateValue::Int64(v) => NodeKind::Int(i128::from(*v)),
            TemplateValue::Float(v) => {
                if !v.is_finite() {
                    return Err(invalid("a float must be finite"));
                }
                NodeKind::Float(*v)
            }
            TemplateValue::String(s) => NodeKind::Str(self.string(s, span)?),
            TemplateValue::Array(items) => {
                self.list_len(items.len(), span)?;
                let mut out = Vec::with_capacity(items.len());
                let mut child_depth = 0;
                for item in items {
                    let (node, d) = self.value(name, item, span, depth + 1)?;
                    child_depth = child_depth.max(d);
                    out.push(node);
                }
                return Ok((Node { kind: NodeKind::List(out), span }, child_depth + 1));
            }
            TemplateValue::Json(json) => return self.json(name, json, span, depth),
        };
        Ok((Node { kind, span }, 1))
    }

    fn json(
        &self,
        name: &str,
        json: &serde_json::Value,
        span: Span,
        depth: usize,
    ) -> Result<(Node, usize), ExprError> {
        self.depth(depth, span)?;
        let invalid = |reason| {
            ExprError::new(
                ExprErrorKind::InvalidTemplateValue { name: short_name(name), reason },
                span,
            )
        };
        let kind = match json {
            serde_json::Value::Null => return Err(invalid("JSON null is not a filter value")),
            serde_json::Value::Object(_) => {
                return Err(invalid("a JSON object is not a filter value"));
            }
            serde_json::Value::Bool(v) => NodeKind::Bool(*v),
            serde_json::Value::Number(n) => {
                if let Some(v) = n.as_i64() {
                    NodeKind::Int(i128::from(v))
                } else if let Some(v) = n.as_u64() {
                    NodeKind::Int(i128::from(v))
                } else {
                    match n.as_f64() {
                        Some(v) if v.is_finite() => NodeKind::Float(v),
                        _ => return Err(invalid("a float must be finite")),
                    }
                }
            }
            serde_json::Value::String(s) => NodeKind::Str(self.string(s, span)?),
            serde_json::Value::Array(items) => {
                self.list_len(items.len(), span)?;
                let mut out = Vec::with_capacity(items.len());
                let mut child_depth = 0;
                for item in items {
                    let (node, d) = self.json(name, item, span, depth + 1)?;
                    child_depth = child_depth.max(d);
                    out.push(node);
                }
                return Ok((Node { kind: NodeKind::List(out), span }, child_depth + 1));
            }
        };
        Ok((Node { kind, span }, 1))
    }

    fn string(&self, s: &str, span: Span) -> Result<String, ExprError> {
        if s.len() > self.limits.max_string_len {
            return Err(ExprError::new(
                ExprErrorKind::StringTooLong { max: self.limits.max_string_len },
                span,
            ));
        }
        Ok(s.to_owned())
    }

    fn list_len(&self, len: usize, span: Span) -> Result<(), ExprError> {
        if len > self.limits.max_list_len {
            return Err(ExprError::new(
                ExprErrorKind::ListTooLong { max: self.limits.max_list_len },
                span,
            ));
        }
        Ok(())
    }
}
