//! Type checking: a syntax tree and a schema to a [`Plan`].
//!
//! Names resolve to fields; on a collection with the dynamic field, a name the schema does
//! not declare means `$meta["name"]`. Constants fold (with checked arithmetic, so overflow
//! and division by zero among constants are errors here). Operands get a static type, and
//! the rules below refuse what cannot be evaluated meaningfully, each error pointing at the
//! operand at fault:
//!
//! * integers compare with integers, floats with integers and floats; as in Milvus an integer
//!   field does not take a float constant (`age > 1.5` is refused);
//! * strings with strings; booleans with booleans, by `==` and `!=` only;
//! * a JSON path compares with any constant (its type is only known per row);
//! * arithmetic combines one field (or JSON path) with constants; `**` only constants;
//! * `like` applies to VarChar fields and JSON paths; `json_contains*`/`array_contains*` (the
//!   two are aliases, as in Milvus) and `array_length` to Array fields and JSON paths;
//! * vector fields cannot be filtered.
//!
//! Constants compared with a Float (32-bit) field are rounded to 32 bits, as Milvus does, so
//! `price == 9.99` matches the stored value.

use std::collections::HashSet;

use quiver_core::{DataType, ElementType, PkValue, Schema};

use crate::ast::{BinaryOp, Func, Node, NodeKind, PathStep, Ref, RefBase, UnaryOp};
use crate::error::{ExprError, ExprErrorKind, LiteralKind, Span, Subject, short_name};
use crate::eval::in_list::InList;
use crate::eval::like::LikePattern;
use crate::eval::value::{self, ArithFault, Val};
use crate::plan::{ArithOp, CmpOp, ContainsKind, FieldRef, Lit, Operand, Plan, Pred, Step};

pub(crate) fn check(root: &Node, schema: &Schema) -> Result<Plan, ExprError> {
    let checker = Checker { schema };
    let pred = checker.pred(root)?;
    let mut fields = Vec::new();
    collect_pred(&pred, &mut fields);
    fields.sort_by_key(|f| f.index);
    fields.dedup_by_key(|f| f.index);
    let pk = pk_values(&pred, schema);
    Ok(Plan { root: pred, num_fields: schema.fields().len(), fields, pk })
}

/// Static types of operands.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    Bool,
    Int,
    Float,
    Str,
    /// Known only per row.
    Json,
    Array(ElementType),
    /// A list constant.
    List,
}

fn ty_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Bool => "Bool",
        Ty::Int => "Int64",
        Ty::Float => "Double",
        Ty::Str => "VarChar",
        Ty::Json => "JSON",
        Ty::Array(_) => "Array",
        Ty::List => "list",
    }
}

fn element_ty(element: ElementType) -> Ty {
    match element {
        ElementType::Bool => Ty::Bool,
        ElementType::Int8 | ElementType::Int16 | ElementType::Int32 | ElementType::Int64 => Ty::Int,
        ElementType::Float | ElementType::Double => Ty::Float,
        ElementType::VarChar { .. } => Ty::Str,
    }
}

fn lit_kind(lit: &Lit) -> LiteralKind {
    match lit {
        Lit::Bool(_) => LiteralKind::Bool,
        Lit::Int(_) => LiteralKind::Int,
        Lit::Float(_) => LiteralKind::Float,
        Lit::Str(_) => LiteralKind::String,
        Lit::List(_) => LiteralKind::List,
    }
}

/// Whether constant `lit` may meet a value of type `ty`.
fn lit_fits(ty: Ty, lit: &Lit) -> bool {
    match (ty, lit) {
        (Ty::Json, _) => true,
        (Ty::Int, Lit::Int(_))
        | (Ty::Float, Lit::Int(_) | Lit::Float(_))
        | (Ty::Str, Lit::Str(_))
        | (Ty::Bool, Lit::Bool(_)) => true,
        (Ty::Array(element), Lit::List(items)) => {
            items.iter().all(|item| lit_fits(element_ty(element), item))
        }
        _ => false,
    }
}

/// Whether `operand` holds 32-bit floats (a Float field, or elements of a Float array).
fn is_f32(operand: &Operand) -> bool {
    match operand {
        Operand::Field(field) => field.data_type == DataType::Float,
        Operand::Elem { field, .. } | Operand::Array(field) => {
            matches!(field.data_type, DataType::Array { element: ElementType::Float, .. })
        }
        _ => false,
    }
}

/// Rounds numeric constants to 32-bit floats.
fn to_f32(lit: Lit) -> Lit {
    match lit {
        Lit::Int(v) => Lit::Float(f64::from(v as f32)),
        Lit::Float(v) => Lit::Float(f64::from(v as f32)),
        Lit::List(items) => Lit::List(items.into_iter().map(to_f32).collect()),
        other => other,
    }
}

/// A constant as a [`Lit`].
fn lit_of(value: Val<'_>) -> Lit {
    match value {
        Val::Bool(v) => Lit::Bool(v),
        Val::Int(v) => Lit::Int(v),
        Val::Float(v) => Lit::Float(v),
        Val::Str(s) => Lit::Str(s.into_owned()),
        Val::List(items) => Lit::List(items.into_iter().map(lit_of).collect()),
        Val::Opaque => Lit::List(Vec::new()),
    }
}

fn err<T>(kind: ExprErrorKind, span: Span) -> Result<T, ExprError> {
    Err(ExprError::new(kind, span))
}

fn cmp_op(op: BinaryOp) -> CmpOp {
    match op {
        BinaryOp::Eq => CmpOp::Eq,
        BinaryOp::Ne => CmpOp::Ne,
        BinaryOp::Lt => CmpOp::Lt,
        BinaryOp::Le => CmpOp::Le,
        BinaryOp::Gt => CmpOp::Gt,
        _ => CmpOp::Ge,
    }
}

fn negate(pred: Pred) -> Pred {
    match pred {
        Pred::Const(v) => Pred::Const(!v),
        pred => Pred::Not(Box::new(pred)),
    }
}

/// A checked operand.
struct Typed {
    op: Operand,
    ty: Ty,
    subject: Subject,
    span: Span,
}

impl Typed {
    fn lit(lit: Lit, span: Span) -> Typed {
        let ty = match &lit {
            Lit::Bool(_) => Ty::Bool,
            Lit::Int(_) => Ty::Int,
            Lit::Float(_) => Ty::Float,
            Lit::Str(_) => Ty::Str,
            Lit::List(_) => Ty::List,
        };
        let subject = Subject::Literal(lit_kind(&lit));
        Typed { op: Operand::Lit(lit), ty, subject, span }
    }

    fn computed(op: Operand, ty: Ty, span: Span) -> Typed {
        Typed { op, ty, subject: Subject::Computed { data_type: ty_name(ty) }, span }
    }

    fn is_lit(&self) -> bool {
        matches!(self.op, Operand::Lit(_))
    }

    fn is_numeric(&self) -> bool {
        matches!(self.ty, Ty::Int | Ty::Float | Ty::Json)
    }
}

struct Checker<'a> {
    schema: &'a Schema,
}

impl Checker<'_> {
    fn pred(&self, node: &Node) -> Result<Pred, ExprError> {
        let span = node.span;
        match &node.kind {
            NodeKind::And(items) => {
                Ok(Pred::And(items.iter().map(|item| self.pred(item)).collect::<Result<_, _>>()?))
            }
            NodeKind::Or(items) => {
                Ok(Pred::Or(items.iter().map(|item| self.pred(item)).collect::<Result<_, _>>()?))
            }
            NodeKind::Unary { op: UnaryOp::Not, operand } => Ok(negate(self.pred(operand)?)),
            NodeKind::Binary { op: BinaryOp::Like, left, right } => self.like(left, right),
            NodeKind::Binary { op, left, right } if op.is_comparison() => {
                self.compare(cmp_op(*op), left, right)
            }
            NodeKind::Range { first, op1, middle, op2, last } => {
                self.range(first, *op1, middle, *op2, last)
            }
            NodeKind::In { value, list, negated } => {
                let pred = self.in_list(value, list)?;
                Ok(if *negated { negate(pred) } else { pred })
            }
            NodeKind::IsNull { operand, negated } => self.is_null(operand, *negated),
            NodeKind::Exists(operand) => self.exists(operand),
            NodeKind::Call { func, args } if *func != Func::ArrayLength => {
                self.contains(*func, args)
            }
            NodeKind::Bool(v) => Ok(Pred::Const(*v)),
            _ => {
                let typed = self.operand(node, "a filter")?;
                match (typed.ty, typed.op) {
                    (Ty::Bool, Operand::Lit(Lit::Bool(v))) => Ok(Pred::Const(v)),
                    (Ty::Bool | Ty::Json, op) => Ok(Pred::IsTrue(op)),
                    _ => err(ExprErrorKind::NotACondition { subject: typed.subject }, span),
                }
            }
        }
    }

    fn operand(&self, node: &Node, context: &'static str) -> Result<Typed, ExprError> {
        let span = node.span;
        match &node.kind {
            NodeKind::Int(v) => int_lit(*v, span),
            NodeKind::Float(v) => float_lit(*v, span),
            NodeKind::Bool(v) => Ok(Typed::lit(Lit::Bool(*v), span)),
            NodeKind::Str(s) => Ok(Typed::lit(Lit::Str(s.clone()), span)),
            NodeKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match self.operand(item, "a list element")?.op {
                        Operand::Lit(lit) => out.push(lit),
                        _ => {
                            return err(
                                ExprErrorKind::NotConstant { context: "a list element" },
                                item.span,
                            );
                        }
                    }
                }
                Ok(Typed::lit(Lit::List(out), span))
            }
            NodeKind::Template(name) => {
                err(ExprErrorKind::UnboundTemplate { name: short_name(name) }, span)
            }
            NodeKind::Ref(r) => self.reference(r, span),
            NodeKind::Call { func: Func::ArrayLength, args } => {
                let target = self.operand(&args[0], "`array_length`")?;
                match target.op {
                    Operand::Array(_) | Operand::Json { .. } => {
                        Ok(Typed::computed(Operand::Length(Box::new(target.op)), Ty::Int, span))
                    }
                    _ => err(
                        ExprErrorKind::FunctionTarget {
                            function: "array_length",
                            subject: target.subject,
                        },
                        target.span,
                    ),
                }
            }
            NodeKind::Unary { op: UnaryOp::Neg, operand } => {
                if let NodeKind::Int(v) = operand.kind {
                    return int_lit(v.checked_neg().unwrap_or(i128::MAX), span);
                }
                let typed = self.operand(operand, "`-`")?;
                if !typed.is_numeric() {
                    return err(
                        ExprErrorKind::NotNumeric { op: "-", subject: typed.subject },
                        typed.span,
                    );
                }
                match typed.op {
                    Operand::Lit(lit) => match value::negate(&Val::from_lit(&lit)) {
                        Ok(Some(v)) => Ok(Typed::lit(lit_of(v), span)),
                        _ => err(ExprErrorKind::IntegerOverflow { op: "-" }, span),
                    },
                    op => Ok(Typed::computed(
                        Operand::Neg { operand: Box::new(op), span },
                        typed.ty,
                        span,
                    )),
                }
            }
            NodeKind::Unary { op: UnaryOp::Plus, operand } => {
                let typed = self.operand(operand, "`+`")?;
                if !typed.is_numeric() {
                    return err(
                        ExprErrorKind::NotNumeric { op: "+", subject: typed.subject },
                        typed.span,
                    );
                }
                Ok(Typed { span, ..typed })
            }
            NodeKind::Binary { op: BinaryOp::Pow, left, right } => self.power(left, right, span),
            NodeKind::Binary { op, left, right } => {
                let op = match op {
                    BinaryOp::Add => ArithOp::Add,
                    BinaryOp::Sub => ArithOp::Sub,
                    BinaryOp::Mul => ArithOp::Mul,
                    BinaryOp::Div => ArithOp::Div,
                    BinaryOp::Mod => ArithOp::Mod,
                    _ => return err(ExprErrorKind::NotAValue { context }, span),
                };
                self.arith(op, left, right, span)
            }
            _ => err(ExprErrorKind::NotAValue { context }, span),
        }
    }

    fn field_ref(&self, index: usize) -> FieldRef {
        let field = &self.schema.fields()[index];
        FieldRef { index, name: field.name.clone(), data_type: field.data_type }
    }

    fn reference(&self, r: &Ref, span: Span) -> Result<Typed, ExprError> {
        let json = |field: FieldRef, path: Vec<Step>| Typed {
            op: Operand::Json { field, path },
            ty: Ty::Json,
            subject: Subject::JsonPath { field: short_name(&r.to_string()) },
            span,
        };
        let name = match &r.base {
            RefBase::Meta => {
                let Some(index) = self.schema.dynamic_index() else {
                    return err(ExprErrorKind::NoDynamicField, span);
                };
                return Ok(json(self.field_ref(index), steps(&r.path)));
            }
            RefBase::Field(name) => name,
        };
        let declared =
            self.schema.field_index(name).filter(|i| !self.schema.fields()[*i].is_dynamic);
        let Some(index) = declared else {
            let Some(index) = self.schema.dynamic_index() else {
                return err(ExprErrorKind::UnknownField { name: short_name(name) }, span);
            };
            let mut path = vec![Step { key: name.clone(), index: None, written_as_index: false }];
            path.extend(steps(&r.path));
            return Ok(json(self.field_ref(index), path));
        };
        let field = self.field_ref(index);
        let subject = Subject::Field { name: short_name(name), data_type: field.data_type.name() };
        match field.data_type {
            DataType::FloatVector { .. } => {
                err(ExprErrorKind::VectorField { name: short_name(name) }, span)
            }
            DataType::Json => {
                if r.path.is_empty() {
                    let path = Vec::new();
                    return Ok(Typed { subject, ..json(field, path) });
                }
                Ok(json(field, steps(&r.path)))
            }
            DataType::Array { element, .. } => match r.path.as_slice() {
                [] => {
                    Ok(Typed { op: Operand::Array(field), ty: Ty::Array(element), subject, span })
                }
                [PathStep::Index(i)] => {
                    let index = usize::try_from(*i).unwrap_or(usize::MAX);
                    let subject =
                        Subject::Element { field: short_name(name), element: element.name() };
                    Ok(Typed {
                        op: Operand::Elem { field, index },
                        ty: element_ty(element),
                        subject,
                        span,
                    })
                }
                _ => err(ExprErrorKind::ArrayIndex { field: short_name(name) }, span),
            },
            scalar => {
                if !r.path.is_empty() {
                    return err(ExprErrorKind::PathOnScalar { subject }, span);
                }
                let ty = match scalar {
                    DataType::Bool => Ty::Bool,
                    DataType::Float | DataType::Double => Ty::Float,
                    DataType::VarChar { .. } => Ty::Str,
                    _ => Ty::Int,
                };
                Ok(Typed { op: Operand::Field(field), ty, subject, span })
            }
        }
    }

    /// Refuses comparing `r` with `l` (never a constant) by `op`.
    fn comparable(&self, l: &Typed, r: &Typed, op: CmpOp) -> Result<(), ExprError> {
        let ordered = op.is_ordering();
        let span = l.span.to(r.span);
        let mismatch = || {
            err(
                ExprErrorKind::CompareMismatch {
                    subject: l.subject.clone(),
                    other: r.subject.clone(),
                },
                r.span,
            )
        };
        let not_applicable = |subject: &Subject| {
            err(
                ExprErrorKind::OperatorNotApplicable { op: op.symbol(), subject: subject.clone() },
                span,
            )
        };
        match (l.ty, r.ty) {
            (Ty::Json, Ty::Array(_)) | (Ty::Array(_), Ty::Json) => mismatch(),
            (Ty::Json, Ty::List) if ordered => not_applicable(&r.subject),
            (Ty::Json, Ty::Bool) if ordered => not_applicable(&r.subject),
            (Ty::Bool, Ty::Json) if ordered => not_applicable(&l.subject),
            (Ty::Json, _) | (_, Ty::Json) => Ok(()),
            (Ty::Int, Ty::Int) | (Ty::Float, Ty::Float | Ty::Int) | (Ty::Str, Ty::Str) => Ok(()),
            (Ty::Int, Ty::Float) => {
                if r.is_lit() {
                    mismatch()
                } else {
                    Ok(())
                }
            }
            (Ty::Bool, Ty::Bool) => {
                if ordered {
                    not_applicable(&l.subject)
                } else {
                    Ok(())
                }
            }
            (Ty::Array(element), Ty::List) => {
                if ordered {
                    return not_applicable(&l.subject);
                }
                if let Operand::Lit(Lit::List(items)) = &r.op
                    && let Some(bad) = items.iter().find(|i| !lit_fits(element_ty(element), i))
                {
                    let subject = Subject::Element {
                        field: match &l.op {
                            Operand::Array(field) => short_name(&field.name),
                            _ => String::new(),
                        },
                        element: element.name(),
                    };
                    return err(
                        ExprErrorKind::ListElementMismatch {
                            subject,
                            element: Subject::Literal(lit_kind(bad)),
                        },
                        r.span,
                    );
                }
                Ok(())
            }
            _ => mismatch(),
        }
    }

    /// `r` as compared with `l`: constants rounded to 32 bits against Float fields.
    fn adapt(l: &Operand, r: Operand) -> Operand {
        match r {
            Operand::Lit(lit) if is_f32(l) => Operand::Lit(to_f32(lit)),
            r => r,
        }
    }

    fn compare(&self, op: CmpOp, left: &Node, right: &Node) -> Result<Pred, ExprError> {
        let l = self.operand(left, "a comparison")?;
        let r = self.operand(right, "a comparison")?;
        if let (Operand::Lit(a), Operand::Lit(b)) = (&l.op, &r.op) {
            return match value::compare(&Val::from_lit(a), &Val::from_lit(b), op) {
                Some(v) => Ok(Pred::Const(v)),
                None if lit_kind(a) == lit_kind(b) => err(
                    ExprErrorKind::OperatorNotApplicable { op: op.symbol(), subject: l.subject },
                    l.span.to(r.span),
                ),
                None => err(
                    ExprErrorKind::CompareMismatch { subject: l.subject, other: r.subject },
                    r.span,
                ),
            };
        }
        let (l, r, op) = if l.is_lit() { (r, l, op.flip()) } else { (l, r, op) };
        self.comparable(&l, &r, op)?;
        let right = Checker::adapt(&l.op, r.op);
        Ok(Pred::Compare { op, left: l.op, right })
    }

    fn range(
        &self,
        first: &Node,
        op1: BinaryOp,
        middle: &Node,
        op2: BinaryOp,
        last: &Node,
    ) -> Result<Pred, ExprError> {
        let value = self.operand(middle, "a range")?;
        let ascending = matches!(op1, BinaryOp::Lt | BinaryOp::Le);
        let (lower, lower_inclusive, upper, upper_inclusive) = if ascending {
            (first, op1 == BinaryOp::Le, last, op2 == BinaryOp::Le)
        } else {
            (last, op2 == BinaryOp::Ge, first, op1 == BinaryOp::Ge)
        };
        let lower = self.operand(lower, "a range bound")?;
        let upper = self.operand(upper, "a range bound")?;
        self.comparable(&value, &lower, CmpOp::Lt)?;
        self.comparable(&value, &upper, CmpOp::Lt)?;
        Ok(Pred::Range {
            lower: Checker::adapt(&value.op, lower.op),
            lower_inclusive,
            upper: Checker::adapt(&value.op, upper.op),
            upper_inclusive,
            value: value.op,
        })
    }

    fn in_list(&self, value: &Node, list: &Node) -> Result<Pred, ExprError> {
        let v = self.operand(value, "`in`")?;
        let l = self.operand(list, "`in`")?;
        let Operand::Lit(Lit::List(items)) = l.op else {
            return err(ExprErrorKind::InNeedsList, list.span);
        };
        if matches!(v.ty, Ty::Array(_) | Ty::List) {
            return err(
                ExprErrorKind::OperatorNotApplicable { op: "in", subject: v.subject },
                v.span,
            );
        }
        for (i, item) in items.iter().enumerate() {
            if !lit_fits(v.ty, item) {
                let span = match &list.kind {
                    NodeKind::List(nodes) => nodes.get(i).map_or(list.span, |n| n.span),
                    _ => list.span,
                };
                return err(
                    ExprErrorKind::ListElementMismatch {
                        subject: v.subject,
                        element: Subject::Literal(lit_kind(item)),
                    },
                    span,
                );
            }
        }
        if let Operand::Lit(lit) = &v.op {
            let found = InList::new(items).contains(&Val::from_lit(lit));
            return Ok(Pred::Const(found.unwrap_or(false)));
        }
        let items = if is_f32(&v.op) { items.into_iter().map(to_f32).collect() } else { items };
        Ok(Pred::In { value: v.op, list: InList::new(items) })
    }

    fn like(&self, value: &Node, pattern: &Node) -> Result<Pred, ExprError> {
        let v = self.operand(value, "`like`")?;
        if !matches!(v.ty, Ty::Str | Ty::Json) {
            return err(ExprErrorKind::LikeOperand { subject: v.subject }, v.span);
        }
        let p = self.operand(pattern, "`like`")?;
        let Operand::Lit(Lit::Str(text)) = &p.op else {
            return err(
                ExprErrorKind::LikePattern { reason: "the pattern must be a string" },
                p.span,
            );
        };
        let compiled = LikePattern::parse(text)
            .map_err(|reason| ExprError::new(ExprErrorKind::LikePattern { reason }, p.span))?;
        if let Operand::Lit(Lit::Str(s)) = &v.op {
            return Ok(Pred::Const(compiled.matches(s)));
        }
        Ok(Pred::Like { value: v.op, pattern: compiled })
    }

    fn is_null(&self, operand: &Node, negated: bool) -> Result<Pred, ExprError> {
        let NodeKind::Ref(r) = &operand.kind else {
            return err(ExprErrorKind::NullCheckOperand, operand.span);
        };
        let target = self.reference(r, operand.span)?;
        match target.op {
            Operand::Field(_) | Operand::Array(_) | Operand::Json { .. } => {
                Ok(Pred::IsNull { target: target.op, negated })
            }
            _ => err(ExprErrorKind::NullCheckOperand, operand.span),
        }
    }

    fn exists(&self, operand: &Node) -> Result<Pred, ExprError> {
        let NodeKind::Ref(r) = &operand.kind else {
            return err(ExprErrorKind::ExistsOperand, operand.span);
        };
        let target = self.reference(r, operand.span)?;
        match target.op {
            Operand::Json { .. } => Ok(Pred::Exists { target: target.op }),
            _ => err(ExprErrorKind::ExistsOperand, operand.span),
        }
    }

    fn contains(&self, func: Func, args: &[Node]) -> Result<Pred, ExprError> {
        let function = func.name();
        let kind = match func {
            Func::JsonContains | Func::ArrayContains => ContainsKind::One,
            Func::JsonContainsAll | Func::ArrayContainsAll => ContainsKind::All,
            _ => ContainsKind::Any,
        };
        let target = self.operand(&args[0], "a function argument")?;
        let (element, subject) = match (&target.op, target.ty) {
            (Operand::Array(field), Ty::Array(element)) => (
                element_ty(element),
                Subject::Element { field: short_name(&field.name), element: element.name() },
            ),
            (Operand::Json { .. }, _) => (Ty::Json, target.subject.clone()),
            _ => {
                return err(
                    ExprErrorKind::FunctionTarget { function, subject: target.subject },
                    target.span,
                );
            }
        };
        let sought = self.operand(&args[1], "a function argument")?;
        let Operand::Lit(lit) = sought.op else {
            return err(ExprErrorKind::NotConstant { context: "the value sought" }, sought.span);
        };
        let values = match (kind, lit) {
            (ContainsKind::One, lit) => vec![lit],
            (_, Lit::List(items)) => items,
            _ => {
                return err(
                    ExprErrorKind::FunctionArgument {
                        function,
                        expected: "a list of values as its second argument",
                    },
                    sought.span,
                );
            }
        };
        if let Some(bad) = values.iter().find(|v| !lit_fits(element, v)) {
            return err(
                ExprErrorKind::ContainsMismatch {
                    function,
                    subject,
                    value: Subject::Literal(lit_kind(bad)),
                },
                sought.span,
            );
        }
        let values =
            if is_f32(&target.op) { values.into_iter().map(to_f32).collect() } else { values };
        Ok(Pred::Contains { kind, function, target: target.op, values })
    }

    fn arith(
        &self,
        op: ArithOp,
        left: &Node,
        right: &Node,
        span: Span,
    ) -> Result<Typed, ExprError> {
        let symbol = op.symbol();
        let l = self.operand(left, "arithmetic")?;
        let r = self.operand(right, "arithmetic")?;
        for side in [&l, &r] {
            if !side.is_numeric() {
                return err(
                    ExprErrorKind::NotNumeric { op: symbol, subject: side.subject.clone() },
                    side.span,
                );
            }
        }
        match (&l.op, &r.op) {
            (Operand::Lit(a), Operand::Lit(b)) => {
                return match value::arith(op, &Val::from_lit(a), &Val::from_lit(b)) {
                    Ok(Some(v)) => Ok(Typed::lit(lit_of(v), span)),
                    Ok(None) => {
                        err(ExprErrorKind::NotNumeric { op: symbol, subject: l.subject }, span)
                    }
                    Err(fault) => err(const_fault(fault, symbol), span),
                };
            }
            (Operand::Lit(_), _) | (_, Operand::Lit(_)) => {}
            _ => return err(ExprErrorKind::ArithmeticBetweenFields, span),
        }
        let (field_side, lit_side) = if l.is_lit() { (&r, &l) } else { (&l, &r) };
        if field_side.ty == Ty::Int && matches!(lit_side.op, Operand::Lit(Lit::Float(_))) {
            return err(
                ExprErrorKind::ArithmeticMismatch {
                    subject: field_side.subject.clone(),
                    other: lit_side.subject.clone(),
                },
                lit_side.span,
            );
        }
        let zero_divisor = matches!(r.op, Operand::Lit(Lit::Int(0)))
            || matches!(r.op, Operand::Lit(Lit::Float(z)) if z == 0.0);
        if matches!(op, ArithOp::Div | ArithOp::Mod) && zero_divisor {
            return err(ExprErrorKind::DivisionByZero { op: symbol }, r.span);
        }
        let ty = if l.ty == Ty::Json || r.ty == Ty::Json {
            Ty::Json
        } else if l.ty == Ty::Float || r.ty == Ty::Float {
            Ty::Float
        } else {
            Ty::Int
        };
        let operand = Operand::Arith { op, left: Box::new(l.op), right: Box::new(r.op), span };
        Ok(Typed::computed(operand, ty, span))
    }

    fn power(&self, left: &Node, right: &Node, span: Span) -> Result<Typed, ExprError> {
        let l = self.operand(left, "`**`")?;
        let r = self.operand(right, "`**`")?;
        for side in [&l, &r] {
            if !side.is_numeric() {
                return err(
                    ExprErrorKind::NotNumeric { op: "**", subject: side.subject.clone() },
                    side.span,
                );
            }
        }
        let (Operand::Lit(a), Operand::Lit(b)) = (&l.op, &r.op) else {
            return err(ExprErrorKind::PowerOnField, span);
        };
        let lit = match (a, b) {
            (Lit::Int(base), Lit::Int(exp)) if *exp >= 0 => match int_pow(*base, *exp) {
                Some(v) => Lit::Int(v),
                None => return err(ExprErrorKind::IntegerOverflow { op: "**" }, span),
            },
            _ => {
                let as_f64 = |lit: &Lit| match lit {
                    Lit::Int(v) => *v as f64,
                    Lit::Float(v) => *v,
                    _ => 0.0,
                };
                let v = as_f64(a).powf(as_f64(b));
                if !v.is_finite() {
                    return err(ExprErrorKind::FloatOutOfRange, span);
                }
                Lit::Float(v)
            }
        };
        Ok(Typed::lit(lit, span))
    }
}

fn const_fault(fault: ArithFault, op: &'static str) -> ExprErrorKind {
    match fault {
        ArithFault::DivisionByZero => ExprErrorKind::DivisionByZero { op },
        ArithFault::IntegerOverflow => ExprErrorKind::IntegerOverflow { op },
        ArithFault::FloatOverflow => ExprErrorKind::FloatOutOfRange,
    }
}

fn int_pow(base: i64, exp: i64) -> Option<i64> {
    match u32::try_from(exp) {
        Ok(exp) => base.checked_pow(exp),
        Err(_) => match base {
            0 | 1 => Some(base),
            -1 => Some(if exp % 2 == 0 { 1 } else { -1 }),
            _ => None,
        },
    }
}

fn int_lit(value: i128, span: Span) -> Result<Typed, ExprError> {
    match i64::try_from(value) {
        Ok(v) => Ok(Typed::lit(Lit::Int(v), span)),
        Err(_) => err(ExprErrorKind::IntegerLiteralOverflow, span),
    }
}

fn float_lit(value: f64, span: Span) -> Result<Typed, ExprError> {
    if !value.is_finite() {
        return err(ExprErrorKind::FloatOutOfRange, span);
    }
    Ok(Typed::lit(Lit::Float(value), span))
}

/// JSON path steps, with JSON Pointer's reading of array indexes.
fn steps(path: &[PathStep]) -> Vec<Step> {
    path.iter()
        .map(|step| match step {
            PathStep::Key(key) => {
                Step { key: key.clone(), index: canonical_index(key), written_as_index: false }
            }
            PathStep::Index(i) => {
                Step { key: i.to_string(), index: usize::try_from(*i).ok(), written_as_index: true }
            }
        })
        .collect()
}

/// `key` as an array index: digits without a leading zero (or `0` itself).
fn canonical_index(key: &str) -> Option<usize> {
    let canonical = !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_digit())
        && (key == "0" || !key.starts_with('0'));
    if canonical { key.parse().ok() } else { None }
}

fn pk_values(pred: &Pred, schema: &Schema) -> Option<Vec<PkValue>> {
    let pk_index = schema.primary_index();
    let lits: Vec<&Lit> = match pred {
        Pred::Compare { op: CmpOp::Eq, left: Operand::Field(field), right: Operand::Lit(lit) }
            if field.index == pk_index =>
        {
            vec![lit]
        }
        Pred::In { value: Operand::Field(field), list } if field.index == pk_index => {
            list.items().iter().collect()
        }
        _ => return None,
    };
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(lits.len());
    for lit in lits {
        let pk = match lit {
            Lit::Int(v) => PkValue::Int64(*v),
            Lit::Str(s) => PkValue::VarChar(s.clone()),
            _ => return None,
        };
        if seen.insert(pk.clone()) {
            out.push(pk);
        }
    }
    Some(out)
}

fn collect_pred(pred: &Pred, out: &mut Vec<FieldRef>) {
    match pred {
        Pred::Const(_) => {}
        Pred::And(items) | Pred::Or(items) => items.iter().for_each(|p| collect_pred(p, out)),
        Pred::Not(inner) => collect_pred(inner, out),
        Pred::IsTrue(op) | Pred::In { value: op, .. } | Pred::Like { value: op, .. } => {
            collect_operand(op, out);
        }
        Pred::IsNull { target, .. } | Pred::Exists { target } | Pred::Contains { target, .. } => {
            collect_operand(target, out);
        }
        Pred::Compare { left, right, .. } => {
            collect_operand(left, out);
            collect_operand(right, out);
        }
        Pred::Range { value, lower, upper, .. } => {
            collect_operand(value, out);
            collect_operand(lower, out);
            collect_operand(upper, out);
        }
    }
}

fn collect_operand(operand: &Operand, out: &mut Vec<FieldRef>) {
    match operand {
        Operand::Lit(_) => {}
        Operand::Field(field)
        | Operand::Array(field)
        | Operand::Json { field, .. }
        | Operand::Elem { field, .. } => out.push(field.clone()),
        Operand::Length(inner) | Operand::Neg { operand: inner, .. } => collect_operand(inner, out),
        Operand::Arith { left, right, .. } => {
            collect_operand(left, out);
            collect_operand(right, out);
        }
    }
}
