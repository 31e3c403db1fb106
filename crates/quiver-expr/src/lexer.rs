//! The lexer: expression text to tokens with byte spans.
//!
//! Numbers follow Milvus (C-like): decimal, `0x` hexadecimal, `0b` binary, octal with a leading
//! `0` (and `0o`), floats with a fraction and/or an exponent. Strings use `'` or `"` with C
//! escapes; `r"..."` is a raw string. Keywords are case-insensitive.

use crate::error::{ExprError, ExprErrorKind, Span};
use crate::limits::Limits;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// An integer literal's magnitude; literals beyond `u128` saturate, and anything beyond
    /// `i64` is refused by the checker.
    Int(i128),
    Float(f64),
    Str(String),
    Bool(bool),
    Ident(String),
    /// `$meta`, the dynamic field.
    Meta,
    /// A lone `$` (Milvus's struct-element syntax, not supported).
    Dollar,
    And,
    Or,
    Not,
    In,
    Like,
    Exists,
    Is,
    Null,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Shl,
    Shr,
    BitAnd,
    BitOr,
    BitXor,
    BitNot,
    RegexMatch,
    RegexNotMatch,
    Assign,
    Eof,
}

impl Tok {
    /// A description for "expected X, found Y" messages that never echoes user text.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Tok::Int(_) => "an integer",
            Tok::Float(_) => "a float",
            Tok::Str(_) => "a string",
            Tok::Bool(_) => "a boolean",
            Tok::Ident(_) => "an identifier",
            Tok::Meta => "`$meta`",
            Tok::Dollar => "`$`",
            Tok::And => "`and`",
            Tok::Or => "`or`",
            Tok::Not => "`not`",
            Tok::In => "`in`",
            Tok::Like => "`like`",
            Tok::Exists => "`exists`",
            Tok::Is => "`is`",
            Tok::Null => "`null`",
            Tok::LParen => "`(`",
            Tok::RParen => "`)`",
            Tok::LBracket => "`[`",
            Tok::RBracket => "`]`",
            Tok::LBrace => "`{`",
            Tok::RBrace => "`}`",
            Tok::Comma => "`,`",
            Tok::Plus => "`+`",
            Tok::Minus => "`-`",
            Tok::Star => "`*`",
            Tok::Slash => "`/`",
            Tok::Percent => "`%`",
            Tok::Pow => "`**`",
            Tok::Eq => "`==`",
            Tok::Ne => "`!=`",
            Tok::Lt => "`<`",
            Tok::Le => "`<=`",
            Tok::Gt => "`>`",
            Tok::Ge => "`>=`",
            Tok::Shl => "`<<`",
            Tok::Shr => "`>>`",
            Tok::BitAnd => "`&`",
            Tok::BitOr => "`|`",
            Tok::BitXor => "`^`",
            Tok::BitNot => "`~`",
            Tok::RegexMatch => "`=~`",
            Tok::RegexNotMatch => "`!~`",
            Tok::Assign => "`=`",
            Tok::Eof => "the end of the expression",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Span,
}

/// Splits `text` into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(text: &str, limits: &Limits) -> Result<Vec<Token>, ExprError> {
    let mut lexer = Lexer { text, bytes: text.as_bytes(), pos: 0, limits };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.tok == Tok::Eof;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    limits: &'a Limits,
}

fn err<T>(kind: ExprErrorKind, start: usize, end: usize) -> Result<T, ExprError> {
    Err(ExprError::new(kind, Span::new(start, end)))
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> u8 {
        self.bytes.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn next_token(&mut self) -> Result<Token, ExprError> {
        while matches!(self.peek(0), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let start = self.pos;
        if start >= self.bytes.len() {
            return Ok(Token { tok: Tok::Eof, span: Span::new(start, start) });
        }
        let c = self.peek(0);
        let (tok, len) = match c {
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b'{' => (Tok::LBrace, 1),
            b'}' => (Tok::RBrace, 1),
            b',' => (Tok::Comma, 1),
            b'+' => (Tok::Plus, 1),
            b'-' => (Tok::Minus, 1),
            b'*' if self.peek(1) == b'*' => (Tok::Pow, 2),
            b'*' => (Tok::Star, 1),
            b'/' => (Tok::Slash, 1),
            b'%' => (Tok::Percent, 1),
            b'=' if self.peek(1) == b'=' => (Tok::Eq, 2),
            b'=' if self.peek(1) == b'~' => (Tok::RegexMatch, 2),
            b'=' => (Tok::Assign, 1),
            b'!' if self.peek(1) == b'=' => (Tok::Ne, 2),
            b'!' if self.peek(1) == b'~' => (Tok::RegexNotMatch, 2),
            b'!' => (Tok::Not, 1),
            b'<' if self.peek(1) == b'=' => (Tok::Le, 2),
            b'<' if self.peek(1) == b'<' => (Tok::Shl, 2),
            b'<' => (Tok::Lt, 1),
            b'>' if self.peek(1) == b'=' => (Tok::Ge, 2),
            b'>' if self.peek(1) == b'>' => (Tok::Shr, 2),
            b'>' => (Tok::Gt, 1),
            b'&' if self.peek(1) == b'&' => (Tok::And, 2),
            b'&' => (Tok::BitAnd, 1),
            b'|' if self.peek(1) == b'|' => (Tok::Or, 2),
            b'|' => (Tok::BitOr, 1),
            b'^' => (Tok::BitXor, 1),
            b'~' => (Tok::BitNot, 1),
            b'$' => {
                if self.text[start..].starts_with("$meta") && !is_ident_byte(self.peek(5)) {
                    (Tok::Meta, 5)
                } else {
                    (Tok::Dollar, 1)
                }
            }
            b'"' | b'\'' => return self.string(start, false),
            b'0'..=b'9' => return self.number(start),
            b'.' if self.peek(1).is_ascii_digit() => return self.number(start),
            b'r' | b'R' if matches!(self.peek(1), b'"' | b'\'') => {
                self.pos += 1;
                return self.string(start, true);
            }
            c if c.is_ascii_alphabetic() || c == b'_' => return Ok(self.word(start)),
            _ => {
                let found = self.text[start..].chars().next().unwrap_or('\0');
                return err(
                    ExprErrorKind::UnexpectedChar { found },
                    start,
                    start + found.len_utf8(),
                );
            }
        };
        self.pos += len;
        Ok(Token { tok, span: Span::new(start, self.pos) })
    }

    fn word(&mut self, start: usize) -> Token {
        while is_ident_byte(self.peek(0)) {
            self.pos += 1;
        }
        let word = &self.text[start..self.pos];
        let tok = match word.to_ascii_lowercase().as_str() {
            "and" => Tok::And,
            "or" => Tok::Or,
            "not" => Tok::Not,
            "in" => Tok::In,
            "like" => Tok::Like,
            "exists" => Tok::Exists,
            "is" => Tok::Is,
            "null" => Tok::Null,
            "true" => Tok::Bool(true),
            "false" => Tok::Bool(false),
            _ => Tok::Ident(word.to_owned()),
        };
        Token { tok, span: Span::new(start, self.pos) }
    }

    fn number(&mut self, start: usize) -> Result<Token, ExprError> {
        let radix_prefix = if self.peek(0) == b'0' {
            match self.peek(1) {
                b'x' | b'X' => Some(16),
                b'b' | b'B' => Some(2),
                b'o' | b'O' => Some(8),
                _ => None,
            }
        } else {
            None
        };
        if let Some(radix) = radix_prefix {
            self.pos += 2;
            let digits_start = self.pos;
            while self.peek(0).is_ascii_alphanumeric() {
                self.pos += 1;
            }
            let digits = &self.text[digits_start..self.pos];
            if radix == 16 && matches!(self.peek(0), b'.') {
                return err(
                    ExprErrorKind::NotSupported { what: "a hexadecimal float" },
                    start,
                    self.pos + 1,
                );
            }
            if radix == 16 && digits.bytes().any(|b| b == b'p' || b == b'P') {
                return err(
                    ExprErrorKind::NotSupported { what: "a hexadecimal float" },
                    start,
                    self.pos,
                );
            }
            if digits.is_empty() {
                return err(
                    ExprErrorKind::InvalidNumber { reason: "a radix prefix needs digits" },
                    start,
                    self.pos,
                );
            }
            let value = parse_radix(digits, radix).ok_or_else(|| {
                ExprError::new(
                    ExprErrorKind::InvalidNumber { reason: "digit out of range for the radix" },
                    Span::new(start, self.pos),
                )
            })?;
            return Ok(Token { tok: Tok::Int(value), span: Span::new(start, self.pos) });
        }

        while self.peek(0).is_ascii_digit() {
            self.pos += 1;
        }
        let mut is_float = false;
        if self.peek(0) == b'.' {
            is_float = true;
            self.pos += 1;
            while self.peek(0).is_ascii_digit() {
                self.pos += 1;
            }
        }
        if matches!(self.peek(0), b'e' | b'E') {
            let sign = usize::from(matches!(self.peek(1), b'+' | b'-'));
            if self.peek(1 + sign).is_ascii_digit() {
                is_float = true;
                self.pos += 1 + sign;
                while self.peek(0).is_ascii_digit() {
                    self.pos += 1;
                }
            } else {
                return err(
                    ExprErrorKind::InvalidNumber { reason: "an exponent needs digits" },
                    start,
                    self.pos + 1,
                );
            }
        }
        if is_ident_byte(self.peek(0)) || self.peek(0) == b'.' {
            return err(
                ExprErrorKind::InvalidNumber { reason: "a number runs into other characters" },
                start,
                self.pos + 1,
            );
        }
        let literal = &self.text[start..self.pos];
        let span = Span::new(start, self.pos);
        if is_float {
            let value: f64 = literal.parse().map_err(|_| {
                ExprError::new(ExprErrorKind::InvalidNumber { reason: "malformed float" }, span)
            })?;
            return Ok(Token { tok: Tok::Float(value), span });
        }
        let value = if literal.len() > 1 && literal.starts_with('0') {
            // A leading zero means octal, as in C and Milvus.
            parse_radix(&literal[1..], 8).ok_or_else(|| {
                ExprError::new(
                    ExprErrorKind::InvalidNumber {
                        reason: "digit 8 or 9 in an octal literal (a leading 0 means octal)",
                    },
                    span,
                )
            })?
        } else {
            parse_radix(literal, 10).ok_or_else(|| {
                ExprError::new(ExprErrorKind::InvalidNumber { reason: "malformed integer" }, span)
            })?
        };
        Ok(Token { tok: Tok::Int(value), span })
    }

    fn string(&mut self, start: usize, raw: bool) -> Result<Token, ExprError> {
        let quote = self.peek(0);
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return err(ExprErrorKind::UnterminatedString, start, self.pos);
            };
            match b {
                b'\n' | b'\r' => return err(ExprErrorKind::UnterminatedString, start, self.pos),
                _ if b == quote => {
                    self.pos += 1;
                    break;
                }
                b'\\' if raw => {
                    // A backslash only keeps the next character from ending the string; both
                    // stay in the value.
                    let next = self.bytes.get(self.pos + 1).copied();
                    if matches!(next, None | Some(b'\n' | b'\r')) {
                        return err(ExprErrorKind::UnterminatedString, start, self.pos + 1);
                    }
                    out.push('\\');
                    self.pos += 1;
                    self.push_char(&mut out);
                }
                b'\\' => self.escape(&mut out)?,
                _ => self.push_char(&mut out),
            }
            if out.len() > self.limits.max_string_len {
                return err(
                    ExprErrorKind::StringTooLong { max: self.limits.max_string_len },
                    start,
                    self.pos,
                );
            }
        }
        Ok(Token { tok: Tok::Str(out), span: Span::new(start, self.pos) })
    }

    /// Appends the character at `pos` (never splitting UTF-8) and moves past it.
    fn push_char(&mut self, out: &mut String) {
        let c = self.text[self.pos..].chars().next().unwrap_or('\0');
        out.push(c);
        self.pos += c.len_utf8();
    }

    fn escape(&mut self, out: &mut String) -> Result<(), ExprError> {
        let start = self.pos;
        let c = self.peek(1);
        self.pos += 2;
        let simple = match c {
            b'n' => Some('\n'),
            b't' => Some('\t'),
            b'r' => Some('\r'),
            b'\\' => Some('\\'),
            b'"' => Some('"'),
            b'\'' => Some('\''),
            b'?' => Some('?'),
            b'a' => Some('\u{07}'),
            b'b' => Some('\u{08}'),
            b'f' => Some('\u{0C}'),
            b'v' => Some('\u{0B}'),
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            return Ok(());
        }
        let code = match c {
            b'x' => self.hex_digits(start, 2)?,
            b'u' => self.hex_digits(start, 4)?,
            b'U' => self.hex_digits(start, 8)?,
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    let d = self.peek(0);
                    if !(b'0'..=b'7').contains(&d) {
                        break;
                    }
                    value = value * 8 + u32::from(d - b'0');
                    self.pos += 1;
                }
                value
            }
            0 => return err(ExprErrorKind::UnterminatedString, start, self.bytes.len()),
            _ => {
                let end =
                    start + 1 + self.text[start + 1..].chars().next().map_or(1, char::len_utf8);
                return err(
                    ExprErrorKind::InvalidEscape {
                        reason: "unknown escape (known: \\n \\t \\r \\\\ \\\" \\' \\xHH \\uXXXX)",
                    },
                    start,
                    end,
                );
            }
        };
        if matches!(c, b'x' | b'0'..=b'7') && code > 0x7F {
            return err(
                ExprErrorKind::InvalidEscape {
                    reason: "a byte escape above 0x7F is not valid UTF-8; use \\u00XX",
                },
                start,
                self.pos,
            );
        }
        let Some(ch) = char::from_u32(code) else {
            return err(
                ExprErrorKind::InvalidEscape { reason: "not a Unicode scalar value" },
                start,
                self.pos,
            );
        };
        out.push(ch);
        Ok(())
    }

    fn hex_digits(&mut self, start: usize, n: usize) -> Result<u32, ExprError> {
        let mut value = 0u32;
        for _ in 0..n {
            let d = self.peek(0);
            let Some(digit) = (d as char).to_digit(16) else {
                // At the end of the text there is no character to point at.
                let end = (self.pos + 1).min(self.bytes.len());
                return err(
                    ExprErrorKind::InvalidEscape { reason: "expected a hexadecimal digit" },
                    start,
                    end,
                );
            };
            value = value.wrapping_mul(16).wrapping_add(digit);
            self.pos += 1;
        }
        Ok(value)
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Parses digits in `radix`, saturating at `i128::MAX` (the checker refuses it anyway); `None`
/// for a digit outside the radix.
fn parse_radix(digits: &str, radix: u32) -> Option<i128> {
    let mut value: i128 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        value = value.saturating_mul(i128::from(radix)).saturating_add(i128::from(d));
    }
    Some(value)
}
