//! The parser: tokens to a syntax tree, by precedence climbing with Milvus's precedence
//! (`Plan.g4`, where an earlier alternative binds tighter). From tightest to loosest:
//!
//! | level | operators                          | associativity |
//! |-------|------------------------------------|---------------|
//! | 15    | `exists` (prefix)                  |               |
//! | 14    | `like` (and `=~ !~`, refused)      | left          |
//! | 13    | `**`                               | left (as ANTLR builds it) |
//! | 12    | unary `- + not !` (and `~`, refused) | prefix      |
//! | 11    | `* / %`                            | left          |
//! | 10    | `+ -`                              | left          |
//! | 9     | `<< >>` (refused)                  | left          |
//! | 8     | `in`, `not in`                     | left          |
//! | 7     | `< <= > >=`, ranges `a < x <= b`   | chains only as ranges |
//! | 6     | `== !=`                            | left          |
//! | 5-3   | `& ^ |` (refused)                  | left          |
//! | 2     | `and`, `&&`                        | n-ary         |
//! | 1     | `or`, `||`                         | n-ary         |
//!
//! Primaries are literals, `[...]` lists, `{name}` templates, parentheses, calls, fields and
//! paths (`f["k"][0]`, `$meta["k"]`), each path optionally followed by `is [not] null`.
//! As in Milvus, `not` binds tighter than comparisons: `not a > 1` is `(not a) > 1`; write
//! `not (a > 1)`.
//!
//! The depth of an expression is the height of its tree, a parenthesized expression counting
//! one more than its content and an `and` (or `or`) chain one level. It is checked on the way
//! down (the parser's recursion never exceeds the height) and on the way up (left-leaning
//! chains such as `1 + 1 + ... + 1` are built without recursion), so neither the parser nor
//! the code walking the tree can run out of stack.

use std::collections::HashSet;

use crate::ast::{BinaryOp, Func, Node, NodeKind, PathStep, Ref, RefBase, UnaryOp};
use crate::error::{ExprError, ExprErrorKind, Span, short_name};
use crate::lexer::{Tok, Token, tokenize};
use crate::limits::Limits;

/// Parses `text` under `limits`.
pub(crate) fn parse_text(text: &str, limits: &Limits) -> Result<Node, ExprError> {
    if text.len() > limits.max_expr_len {
        return Err(ExprError::new(
            ExprErrorKind::TooLong { len: text.len(), max: limits.max_expr_len },
            Span::new(limits.max_expr_len, text.len()),
        ));
    }
    let tokens = tokenize(text, limits)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        limits,
        max_depth: limits.depth(),
        depth: 0,
        templates: HashSet::new(),
    };
    if parser.peek() == &Tok::Eof {
        return Err(ExprError::new(ExprErrorKind::Empty, Span::new(0, text.len())));
    }
    let (node, _) = parser.expr(0)?;
    let token = parser.current();
    if token.tok != Tok::Eof {
        return Err(ExprError::new(
            ExprErrorKind::Expected {
                expected: "an operator or the end of the expression",
                found: token.tok.describe(),
            },
            token.span,
        ));
    }
    Ok(node)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    limits: &'a Limits,
    max_depth: usize,
    /// Current recursion depth of [`Parser::expr`].
    depth: usize,
    templates: HashSet<String>,
}

const BP_OR: u8 = 1;
const BP_AND: u8 = 2;
const BP_EQUALITY: u8 = 6;
const BP_RELATIONAL: u8 = 7;
const BP_IN: u8 = 8;
const BP_ADD: u8 = 10;
const BP_MUL: u8 = 11;
const BP_UNARY: u8 = 12;
const BP_POW: u8 = 13;
const BP_LIKE: u8 = 14;
const BP_EXISTS: u8 = 15;

type Parsed = (Node, usize);

impl Parser<'_> {
    fn current(&self) -> &Token {
        // The token list always ends with `Eof`, and `bump` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek(&self) -> &Tok {
        &self.current().tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        let idx = (self.pos + ahead).min(self.tokens.len() - 1);
        &self.tokens[idx].tok
    }

    fn bump(&mut self) -> Token {
        let token = self.current().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn expect(&mut self, tok: Tok, expected: &'static str) -> Result<Token, ExprError> {
        let token = self.current();
        if token.tok != tok {
            return Err(ExprError::new(
                ExprErrorKind::Expected { expected, found: token.tok.describe() },
                token.span,
            ));
        }
        Ok(self.bump())
    }

    /// Depth of a node built over children of depth `child_depth`.
    fn node_depth(&self, child_depth: usize, span: Span) -> Result<usize, ExprError> {
        let depth = child_depth + 1;
        if depth > self.max_depth {
            return Err(ExprError::new(ExprErrorKind::TooDeep { max: self.max_depth }, span));
        }
        Ok(depth)
    }

    fn expr(&mut self, min_bp: u8) -> Result<Parsed, ExprError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            let span = self.current().span;
            return Err(ExprError::new(ExprErrorKind::TooDeep { max: self.max_depth }, span));
        }
        let result = self.expr_inner(min_bp);
        self.depth -= 1;
        result
    }

    fn expr_inner(&mut self, min_bp: u8) -> Result<Parsed, ExprError> {
        let (mut lhs, mut lhs_depth) = self.prefix()?;
        loop {
            let token = self.current().clone();
            let (bp, op) = match &token.tok {
                Tok::Or => (BP_OR, None),
                Tok::And => (BP_AND, None),
                Tok::Eq => (BP_EQUALITY, Some(BinaryOp::Eq)),
                Tok::Ne => (BP_EQUALITY, Some(BinaryOp::Ne)),
                Tok::Lt => (BP_RELATIONAL, Some(BinaryOp::Lt)),
                Tok::Le => (BP_RELATIONAL, Some(BinaryOp::Le)),
                Tok::Gt => (BP_RELATIONAL, Some(BinaryOp::Gt)),
                Tok::Ge => (BP_RELATIONAL, Some(BinaryOp::Ge)),
                Tok::In => (BP_IN, None),
                Tok::Not if self.peek_at(1) == &Tok::In => (BP_IN, None),
                Tok::Plus => (BP_ADD, Some(BinaryOp::Add)),
                Tok::Minus => (BP_ADD, Some(BinaryOp::Sub)),
                Tok::Star => (BP_MUL, Some(BinaryOp::Mul)),
                Tok::Slash => (BP_MUL, Some(BinaryOp::Div)),
                Tok::Percent => (BP_MUL, Some(BinaryOp::Mod)),
                Tok::Pow => (BP_POW, Some(BinaryOp::Pow)),
                Tok::Like => (BP_LIKE, Some(BinaryOp::Like)),
                Tok::BitAnd | Tok::BitOr | Tok::BitXor => {
                    return not_supported("a bitwise operator", token.span);
                }
                Tok::Shl | Tok::Shr => return not_supported("a shift operator", token.span),
                Tok::RegexMatch | Tok::RegexNotMatch => {
                    return not_supported("regular-expression matching", token.span);
                }
                Tok::Assign => {
                    return not_supported("assignment `=` (compare with `==`)", token.span);
                }
                Tok::Is => {
                    return Err(ExprError::new(ExprErrorKind::NullCheckOperand, token.span));
                }
                _ => break,
            };
            if bp <= min_bp {
                break;
            }
            match token.tok {
                Tok::Or | Tok::And => {
                    self.bump();
                    let (rhs, rhs_depth) = self.expr(bp)?;
                    let is_and = token.tok == Tok::And;
                    let span = lhs.span.to(rhs.span);
                    let (items, depth) = match lhs.kind {
                        NodeKind::And(items) if is_and => (items, lhs_depth),
                        NodeKind::Or(items) if !is_and => (items, lhs_depth),
                        kind => {
                            let depth = self.node_depth(lhs_depth, span)?;
                            (vec![Node { kind, span: lhs.span }], depth)
                        }
                    };
                    let mut items = items;
                    items.push(rhs);
                    lhs_depth = depth.max(self.node_depth(rhs_depth, span)?);
                    let kind = if is_and { NodeKind::And(items) } else { NodeKind::Or(items) };
                    lhs = Node { kind, span };
                }
                Tok::In | Tok::Not => {
                    let negated = token.tok == Tok::Not;
                    self.bump();
                    if negated {
                        self.bump();
                    }
                    let (rhs, rhs_depth) = self.expr(bp)?;
                    let span = lhs.span.to(rhs.span);
                    lhs_depth = self.node_depth(lhs_depth.max(rhs_depth), span)?;
                    lhs = Node {
                        kind: NodeKind::In { value: Box::new(lhs), list: Box::new(rhs), negated },
                        span,
                    };
                }
                _ => {
                    let Some(op) = op else { break };
                    self.bump();
                    let (rhs, rhs_depth) = self.expr(bp)?;
                    if bp == BP_RELATIONAL && is_relational(self.peek()) {
                        let (node, depth) = self.range(lhs, lhs_depth, op, rhs, rhs_depth)?;
                        lhs = node;
                        lhs_depth = depth;
                        if is_relational(self.peek()) {
                            return Err(ExprError::new(
                                ExprErrorKind::InvalidChain,
                                self.current().span,
                            ));
                        }
                        continue;
                    }
                    let span = lhs.span.to(rhs.span);
                    lhs_depth = self.node_depth(lhs_depth.max(rhs_depth), span)?;
                    lhs = Node {
                        kind: NodeKind::Binary { op, left: Box::new(lhs), right: Box::new(rhs) },
                        span,
                    };
                }
            }
        }
        Ok((lhs, lhs_depth))
    }

    /// `first op1 middle` has been read and another relational operator follows.
    fn range(
        &mut self,
        first: Node,
        first_depth: usize,
        op1: BinaryOp,
        middle: Node,
        middle_depth: usize,
    ) -> Result<Parsed, ExprError> {
        let token = self.current().clone();
        let op2 = match token.tok {
            Tok::Lt => BinaryOp::Lt,
            Tok::Le => BinaryOp::Le,
            Tok::Gt => BinaryOp::Gt,
            _ => BinaryOp::Ge,
        };
        let ascending = |op| matches!(op, BinaryOp::Lt | BinaryOp::Le);
        if ascending(op1) != ascending(op2) || !matches!(middle.kind, NodeKind::Ref(_)) {
            return Err(ExprError::new(ExprErrorKind::InvalidChain, token.span));
        }
        self.bump();
        let (last, last_depth) = self.expr(BP_RELATIONAL)?;
        let span = first.span.to(last.span);
        let depth = self.node_depth(first_depth.max(middle_depth).max(last_depth), span)?;
        let kind = NodeKind::Range {
            first: Box::new(first),
            op1,
            middle: Box::new(middle),
            op2,
            last: Box::new(last),
        };
        Ok((Node { kind, span }, depth))
    }

    fn prefix(&mut self) -> Result<Parsed, ExprError> {
        let token = self.bump();
        let span = token.span;
        let leaf = |kind| Ok((Node { kind, span }, 1));
        match token.tok {
            Tok::Int(v) => leaf(NodeKind::Int(v)),
            Tok::Float(v) => leaf(NodeKind::Float(v)),
            Tok::Bool(v) => leaf(NodeKind::Bool(v)),
            Tok::Str(s) => leaf(NodeKind::Str(s)),
            Tok::Ident(name) => {
                if self.peek() == &Tok::LParen {
                    return self.call(name, span);
                }
                let lower = name.to_ascii_lowercase();
                if matches!(lower.as_str(), "iso" | "interval")
                    && matches!(self.peek(), Tok::Str(_))
                {
                    return not_supported("a timestamptz comparison (`ISO '...'`)", span);
                }
                self.reference(RefBase::Field(name), span)
            }
            Tok::Meta => self.reference(RefBase::Meta, span),
            Tok::Dollar => not_supported("struct element access (`$[...]`)", span),
            Tok::LParen => {
                let (inner, depth) = self.expr(0)?;
                let close = self.expect(Tok::RParen, "`)`")?;
                // Parentheses count as a level, so the depth bounds the parser's recursion.
                let depth = self.node_depth(depth, span.to(close.span))?;
                Ok((inner, depth))
            }
            Tok::LBracket => self.list(span),
            Tok::LBrace => {
                let name_token = self.bump();
                let Tok::Ident(name) = name_token.tok else {
                    return Err(ExprError::new(
                        ExprErrorKind::Expected {
                            expected: "a template parameter name",
                            found: name_token.tok.describe(),
                        },
                        name_token.span,
                    ));
                };
                let close = self.expect(Tok::RBrace, "`}`")?;
                let span = span.to(close.span);
                if !self.templates.contains(&name) {
                    if self.templates.len() >= self.limits.max_template_params {
                        return Err(ExprError::new(
                            ExprErrorKind::TooManyTemplates {
                                max: self.limits.max_template_params,
                            },
                            span,
                        ));
                    }
                    self.templates.insert(name.clone());
                }
                Ok((Node { kind: NodeKind::Template(name), span }, 1))
            }
            Tok::Minus | Tok::Plus | Tok::Not => {
                let op = match token.tok {
                    Tok::Minus => UnaryOp::Neg,
                    Tok::Plus => UnaryOp::Plus,
                    _ => UnaryOp::Not,
                };
                let (operand, depth) = self.expr(BP_UNARY)?;
                let span = span.to(operand.span);
                let depth = self.node_depth(depth, span)?;
                Ok((Node { kind: NodeKind::Unary { op, operand: Box::new(operand) }, span }, depth))
            }
            Tok::BitNot => not_supported("a bitwise operator", span),
            Tok::Exists => {
                let (operand, depth) = self.expr(BP_EXISTS)?;
                let span = span.to(operand.span);
                let depth = self.node_depth(depth, span)?;
                Ok((Node { kind: NodeKind::Exists(Box::new(operand)), span }, depth))
            }
            Tok::Null => not_supported("a `null` literal (write `x is null`)", span),
            tok => Err(ExprError::new(
                ExprErrorKind::Expected { expected: "an operand", found: tok.describe() },
                span,
            )),
        }
    }

    fn reference(&mut self, base: RefBase, start: Span) -> Result<Parsed, ExprError> {
        let mut path = Vec::new();
        let mut span = start;
        while self.peek() == &Tok::LBracket {
            let open = self.bump();
            let step_token = self.bump();
            let step = match step_token.tok {
                Tok::Str(key) => PathStep::Key(key),
                Tok::Int(i) => match u64::try_from(i) {
                    Ok(i) => PathStep::Index(i),
                    Err(_) => {
                        return Err(ExprError::new(
                            ExprErrorKind::InvalidPathStep,
                            step_token.span,
                        ));
                    }
                },
                _ => {
                    return Err(ExprError::new(ExprErrorKind::InvalidPathStep, step_token.span));
                }
            };
            let close = self.expect(Tok::RBracket, "`]`")?;
            span = span.to(close.span);
            if path.len() >= self.limits.max_path_depth {
                return Err(ExprError::new(
                    ExprErrorKind::PathTooDeep { max: self.limits.max_path_depth },
                    open.span.to(close.span),
                ));
            }
            path.push(step);
        }
        let node = Node { kind: NodeKind::Ref(Ref { base, path }), span };
        if self.peek() != &Tok::Is {
            return Ok((node, 1));
        }
        self.bump();
        let negated = self.peek() == &Tok::Not;
        if negated {
            self.bump();
        }
        let null = self.expect(Tok::Null, "`null`")?;
        let span = span.to(null.span);
        Ok((Node { kind: NodeKind::IsNull { operand: Box::new(node), negated }, span }, 2))
    }

    fn call(&mut self, name: String, name_span: Span) -> Result<Parsed, ExprError> {
        let Some(func) = Func::from_name(&name.to_ascii_lowercase()) else {
            return Err(ExprError::new(
                ExprErrorKind::UnsupportedFunction { name: short_name(&name) },
                name_span,
            ));
        };
        self.bump(); // `(`
        let mut args = Vec::new();
        let mut depth = 0;
        while self.peek() != &Tok::RParen {
            let (arg, arg_depth) = self.expr(0)?;
            depth = depth.max(arg_depth);
            args.push(arg);
            if self.peek() == &Tok::Comma {
                self.bump();
            } else {
                break;
            }
        }
        let close = self.expect(Tok::RParen, "`,` or `)`")?;
        let span = name_span.to(close.span);
        if args.len() != func.arity() {
            return Err(ExprError::new(
                ExprErrorKind::Arity {
                    function: func.name(),
                    expected: func.arity(),
                    found: args.len(),
                },
                span,
            ));
        }
        let depth = self.node_depth(depth, span)?;
        Ok((Node { kind: NodeKind::Call { func, args }, span }, depth))
    }

    fn list(&mut self, open: Span) -> Result<Parsed, ExprError> {
        let mut items = Vec::new();
        let mut depth = 0;
        while self.peek() != &Tok::RBracket {
            let (item, item_depth) = self.expr(0)?;
            if items.len() >= self.limits.max_list_len {
                return Err(ExprError::new(
                    ExprErrorKind::ListTooLong { max: self.limits.max_list_len },
                    item.span,
                ));
            }
            depth = depth.max(item_depth);
            items.push(item);
            if self.peek() == &Tok::Comma {
                self.bump();
            } else {
                break;
            }
        }
        let close = self.expect(Tok::RBracket, "`,` or `]`")?;
        let span = open.to(close.span);
        let depth = self.node_depth(depth, span)?;
        Ok((Node { kind: NodeKind::List(items), span }, depth))
    }
}

fn is_relational(tok: &Tok) -> bool {
    matches!(tok, Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge)
}

fn not_supported<T>(what: &'static str, span: Span) -> Result<T, ExprError> {
    Err(ExprError::new(ExprErrorKind::NotSupported { what }, span))
}
