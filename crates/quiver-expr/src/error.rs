//! The errors of the language: [`ExprError`] for everything found before evaluation (lexing,
//! parsing, limits, binding template values, type checking) and [`EvalError`] for what only
//! the data can reveal (division by zero, overflow) or a caller's mistake (wrong columns).
//!
//! Messages name the rule and the position (a 1-based byte column) and echo at most a short
//! prefix of an identifier, never a literal's content.

use std::fmt;

use thiserror::Error;

/// A byte range of the expression text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The 1-based byte column where the span starts, as messages report it.
    pub fn column(self) -> usize {
        self.start + 1
    }

    /// The smallest span covering `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// An expression that cannot be parsed, bound or type-checked, and where.
///
/// The kind is boxed to keep `Result<_, ExprError>` small on the paths that succeed.
#[derive(Clone, Debug, PartialEq, Error)]
#[error("{kind} at column {}", span.column())]
pub struct ExprError {
    pub kind: Box<ExprErrorKind>,
    pub span: Span,
}

impl ExprError {
    pub(crate) fn new(kind: ExprErrorKind, span: Span) -> ExprError {
        ExprError { kind: Box::new(kind), span }
    }
}

/// Kinds of literal values, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralKind {
    Bool,
    Int,
    Float,
    String,
    List,
}

impl LiteralKind {
    fn noun(self) -> &'static str {
        match self {
            LiteralKind::Bool => "a boolean",
            LiteralKind::Int => "an integer",
            LiteralKind::Float => "a float",
            LiteralKind::String => "a string",
            LiteralKind::List => "a list",
        }
    }
}

/// What an operand is, for messages: "field `age` is Int64", "a string".
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    /// A field of the schema, with Milvus's name of its type.
    Field {
        name: String,
        data_type: &'static str,
    },
    /// One element of an Array field (`tags[0]`).
    Element {
        field: String,
        element: &'static str,
    },
    /// A JSON path (`meta["a"]`, `$meta["color"]` or a dynamic name).
    JsonPath {
        field: String,
    },
    Literal(LiteralKind),
    /// A computed value: arithmetic or `array_length`, typed Int64, Double or JSON.
    Computed {
        data_type: &'static str,
    },
    /// A boolean condition (a comparison, `and`, ...).
    Condition,
}

impl Subject {
    /// The subject as the start of a sentence: "field `age` is Int64".
    pub fn sentence(&self) -> String {
        match self {
            Subject::Field { name, data_type } => format!("field `{name}` is {data_type}"),
            Subject::Element { field, element } => {
                format!("an element of `{field}` is {element}")
            }
            Subject::JsonPath { field } => format!("`{field}` is a JSON path"),
            Subject::Literal(kind) => format!("the literal is {}", kind.noun()),
            Subject::Computed { data_type } => format!("the expression is {data_type}"),
            Subject::Condition => "the operand is a condition".to_owned(),
        }
    }

    /// The subject as an object: "a string", "field `name` (VarChar)".
    pub fn noun(&self) -> String {
        match self {
            Subject::Field { name, data_type } => format!("field `{name}` ({data_type})"),
            Subject::Element { field, element } => format!("an element of `{field}` ({element})"),
            Subject::JsonPath { field } => format!("the JSON path `{field}`"),
            Subject::Literal(kind) => kind.noun().to_owned(),
            Subject::Computed { data_type } => format!("a {data_type} expression"),
            Subject::Condition => "a condition".to_owned(),
        }
    }
}

/// Why an expression was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprErrorKind {
    // Limits.
    TooLong { len: usize, max: usize },
    TooDeep { max: usize },
    ListTooLong { max: usize },
    PathTooDeep { max: usize },
    StringTooLong { max: usize },
    TooManyTemplates { max: usize },

    // Lexing and parsing.
    Empty,
    UnexpectedChar { found: char },
    UnterminatedString,
    InvalidEscape { reason: &'static str },
    InvalidNumber { reason: &'static str },
    Expected { expected: &'static str, found: &'static str },
    NotSupported { what: &'static str },
    UnsupportedFunction { name: String },
    Arity { function: &'static str, expected: usize, found: usize },
    InvalidChain,
    InvalidPathStep,

    // Template parameters.
    MissingTemplateValue { name: String },
    UnboundTemplate { name: String },
    InvalidTemplateValue { name: String, reason: &'static str },

    // Type checking.
    UnknownField { name: String },
    NoDynamicField,
    VectorField { name: String },
    PathOnScalar { subject: Subject },
    ArrayIndex { field: String },
    CompareMismatch { subject: Subject, other: Subject },
    ArithmeticMismatch { subject: Subject, other: Subject },
    OperatorNotApplicable { op: &'static str, subject: Subject },
    NotACondition { subject: Subject },
    NotAValue { context: &'static str },
    NotNumeric { op: &'static str, subject: Subject },
    ArithmeticBetweenFields,
    PowerOnField,
    IntegerLiteralOverflow,
    IntegerOverflow { op: &'static str },
    DivisionByZero { op: &'static str },
    FloatOutOfRange,
    NotConstant { context: &'static str },
    InNeedsList,
    ListElementMismatch { subject: Subject, element: Subject },
    LikeOperand { subject: Subject },
    LikePattern { reason: &'static str },
    NullCheckOperand,
    ExistsOperand,
    FunctionTarget { function: &'static str, subject: Subject },
    FunctionArgument { function: &'static str, expected: &'static str },
    ContainsMismatch { function: &'static str, subject: Subject, value: Subject },
}

impl fmt::Display for ExprErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ExprErrorKind as K;
        match self {
            K::TooLong { len, max } => {
                write!(f, "expression is {len} bytes long, more than the limit of {max}")
            }
            K::TooDeep { max } => write!(f, "expression nests deeper than the limit of {max}"),
            K::ListTooLong { max } => write!(f, "list has more than the limit of {max} elements"),
            K::PathTooDeep { max } => {
                write!(f, "JSON path has more than the limit of {max} steps")
            }
            K::StringTooLong { max } => {
                write!(f, "string is longer than the limit of {max} bytes")
            }
            K::TooManyTemplates { max } => {
                write!(f, "more than the limit of {max} template parameters")
            }
            K::Empty => f.write_str("expression is empty"),
            K::UnexpectedChar { found } => write!(f, "unexpected character {found:?}"),
            K::UnterminatedString => f.write_str("unterminated string literal"),
            K::InvalidEscape { reason } => write!(f, "invalid escape sequence: {reason}"),
            K::InvalidNumber { reason } => write!(f, "invalid number: {reason}"),
            K::Expected { expected, found } => write!(f, "expected {expected}, found {found}"),
            K::NotSupported { what } => write!(f, "{what} is not supported"),
            K::UnsupportedFunction { name } => write!(f, "function `{name}` is not supported"),
            K::Arity { function, expected, found } => {
                let s = if *expected == 1 { "" } else { "s" };
                write!(f, "`{function}` takes {expected} argument{s}, found {found}")
            }
            K::InvalidChain => f.write_str(
                "comparisons chain only as a range around a field, \
                 such as `1 < x <= 5` or `5 > x > 1`",
            ),
            K::InvalidPathStep => f.write_str(
                "a path step is a string or a non-negative integer, as in `field[\"key\"][0]`",
            ),
            K::MissingTemplateValue { name } => {
                write!(f, "no value was given for template parameter `{name}`")
            }
            K::UnboundTemplate { name } => write!(
                f,
                "template parameter `{name}` has no value: bind the parameters before checking"
            ),
            K::InvalidTemplateValue { name, reason } => {
                write!(f, "template parameter `{name}`: {reason}")
            }
            K::UnknownField { name } => write!(f, "field `{name}` does not exist"),
            K::NoDynamicField => {
                f.write_str("`$meta` needs a collection with the dynamic field enabled")
            }
            K::VectorField { name } => {
                write!(f, "field `{name}` is a vector field; vector fields cannot be filtered")
            }
            K::PathOnScalar { subject } => write!(
                f,
                "{}; `[...]` applies only to JSON fields, `$meta` and Array fields",
                subject.sentence()
            ),
            K::ArrayIndex { field } => write!(
                f,
                "Array field `{field}` is indexed by one non-negative integer, as in `{field}[0]`"
            ),
            K::CompareMismatch { subject, other } => {
                write!(f, "{} but is compared with {}", subject.sentence(), other.noun())
            }
            K::ArithmeticMismatch { subject, other } => {
                write!(f, "{} but is combined with {}", subject.sentence(), other.noun())
            }
            K::OperatorNotApplicable { op, subject } => {
                write!(f, "`{op}` does not apply to {}", subject.noun())
            }
            K::NotACondition { subject } => {
                write!(f, "a filter needs a condition, but {}", subject.sentence())
            }
            K::NotAValue { context } => write!(f, "{context} needs a value, not a condition"),
            K::NotNumeric { op, subject } => {
                write!(f, "`{op}` needs numbers, but {}", subject.sentence())
            }
            K::ArithmeticBetweenFields => f.write_str(
                "arithmetic between two fields is not supported: \
                 arithmetic combines one field with constants",
            ),
            K::PowerOnField => f.write_str("`**` applies only to constants"),
            K::IntegerLiteralOverflow => f.write_str("integer literal does not fit in Int64"),
            K::IntegerOverflow { op } => write!(f, "integer overflow in `{op}`"),
            K::DivisionByZero { op } => write!(f, "`{op}` by zero"),
            K::FloatOutOfRange => f.write_str("float value is out of range"),
            K::NotConstant { context } => write!(f, "{context} must be a constant"),
            K::InNeedsList => f.write_str("`in` needs a list such as `[1, 2]` on its right"),
            K::ListElementMismatch { subject, element } => {
                write!(f, "{} but the list holds {}", subject.sentence(), element.noun())
            }
            K::LikeOperand { subject } => write!(
                f,
                "`like` applies to VarChar fields and JSON paths, but {}",
                subject.sentence()
            ),
            K::LikePattern { reason } => write!(f, "invalid `like` pattern: {reason}"),
            K::NullCheckOperand => f.write_str("`is null` applies to a field or a JSON path"),
            K::ExistsOperand => f.write_str(
                "`exists` applies to a JSON path such as `field[\"key\"]` or `$meta[\"key\"]`",
            ),
            K::FunctionTarget { function, subject } => write!(
                f,
                "`{function}` applies to Array fields and JSON paths, but {}",
                subject.sentence()
            ),
            K::FunctionArgument { function, expected } => {
                write!(f, "`{function}` needs {expected}")
            }
            K::ContainsMismatch { function, subject, value } => write!(
                f,
                "`{function}`: {} but the value sought is {}",
                subject.sentence(),
                value.noun()
            ),
        }
    }
}

/// Evaluation failed: the data made an arithmetic operation undefined, or the columns given do
/// not match the schema the plan was checked against.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum EvalError {
    #[error("`{op}` by zero at column {}", span.column())]
    DivisionByZero { op: &'static str, span: Span },

    #[error("integer overflow in `{op}` at column {}", span.column())]
    IntegerOverflow { op: &'static str, span: Span },

    #[error("float result of `{op}` is out of range at column {}", span.column())]
    FloatOverflow { op: &'static str, span: Span },

    #[error("expected {expected} columns (one per schema field), got {got}")]
    ColumnCount { expected: usize, got: usize },

    #[error("field `{field}`: expected a {expected} column, got {got}")]
    ColumnType { field: String, expected: &'static str, got: &'static str },

    #[error("field `{field}`: expected {expected} rows, got {got}")]
    ColumnLength { field: String, expected: usize, got: usize },
}

/// Truncates user-chosen names echoed in messages.
pub(crate) fn short_name(name: &str) -> String {
    const MAX: usize = 64;
    if name.len() <= MAX {
        return name.to_owned();
    }
    let mut end = MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &name[..end])
}
