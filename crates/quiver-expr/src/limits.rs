//! Bounds on what an expression may ask for, enforced while parsing and binding so that no
//! input can exhaust the stack, memory or time of the checker and the evaluator.

/// The limits applied to an expression and its template values.
///
/// The defaults are safe for a server facing untrusted clients; every field can be changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest expression text, in bytes.
    pub max_expr_len: usize,
    /// Deepest nesting: each parenthesis, operator, call and list adds a level, a chain of
    /// `and` (or of `or`) counts once. Values above [`Limits::DEPTH_CEILING`] act as the ceiling.
    pub max_depth: usize,
    /// Most elements of one list literal (`in [...]`, `json_contains_any(.., [...])`), also of a
    /// list bound to a template parameter.
    pub max_list_len: usize,
    /// Most steps of a JSON path (`a["b"][0]` has two).
    pub max_path_depth: usize,
    /// Longest string literal or string template value, in bytes after unescaping.
    pub max_string_len: usize,
    /// Most template parameters an expression may use, and a bind may be given.
    pub max_template_params: usize,
}

impl Limits {
    /// The recursion budget of the checker and the evaluator: `max_depth` never exceeds it, so
    /// the stack a plan needs stays small whatever the configuration says.
    pub const DEPTH_CEILING: usize = 256;

    pub const DEFAULT: Limits = Limits {
        max_expr_len: 64 * 1024,
        max_depth: 64,
        max_list_len: 65_536,
        max_path_depth: 32,
        max_string_len: 65_536,
        max_template_params: 256,
    };

    /// The nesting depth in force.
    pub fn depth(&self) -> usize {
        self.max_depth.min(Limits::DEPTH_CEILING)
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}
