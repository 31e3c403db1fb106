//! The bounded strings of events: [`Text`] (names, details), [`UserName`] and [`FilterText`].
//!
//! No event field takes a credential type, and these constructors are the only way to put
//! text into an event. Each bounds the length (so a record always fits in a line) and removes
//! the credentials a caller could pass by mistake:
//!
//! * an API key token (`qvk_<id>_<secret>`) anywhere in any text keeps its id (which names the
//!   key and is not secret) and loses its secret: `qvk_<id>_<redacted>`;
//! * a [`UserName`] keeps only what precedes the first `:`, because Milvus clients send
//!   `user:password` as one token and user names cannot contain `:`.
//!
//! A cut [`Text`] or [`UserName`] ends with `…`; a cut [`FilterText`] says so in its
//! `truncated` field and keeps the original length in `bytes`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Longest [`Text`] or [`UserName`], in bytes (Milvus names are at most 255).
pub const MAX_TEXT_LEN: usize = 256;

/// Longest [`FilterText`] kept, in bytes; longer filters are cut and marked.
pub const MAX_FILTER_LEN: usize = 4096;

/// The prefix of API key tokens (`quiver_security::API_KEY_PREFIX`).
const API_KEY_PREFIX: &str = "qvk_";
/// Hex digits of an API key id.
const API_KEY_ID_LEN: usize = 16;
const REDACTED: &str = "<redacted>";
const ELLIPSIS: char = '…';

/// A name or short description, at most [`MAX_TEXT_LEN`] bytes, API key secrets removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    /// `value` bounded and scrubbed; see the module documentation.
    pub fn new(value: &str) -> Text {
        Text(cut_with_ellipsis(&scrub_api_key_secrets(value), MAX_TEXT_LEN))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(value: &str) -> Text {
        Text::new(value)
    }
}

/// A user name: like [`Text`], and nothing from the first `:` on (the password of a Milvus
/// `user:password` token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    /// `value` up to its first `:`, bounded and scrubbed; see the module documentation.
    pub fn new(value: &str) -> UserName {
        let before_colon = value.split(':').next().unwrap_or_default();
        UserName(cut_with_ellipsis(&scrub_api_key_secrets(before_colon), MAX_TEXT_LEN))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for UserName {
    fn from(value: &str) -> UserName {
        UserName::new(value)
    }
}

/// The text of a filter expression, at most [`MAX_FILTER_LEN`] bytes kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterText {
    /// The expression (API key secrets removed), cut at [`MAX_FILTER_LEN`] bytes.
    text: String,
    /// The length of the expression as given, in bytes.
    bytes: u64,
    /// True if `text` is only the beginning of the expression.
    truncated: bool,
}

impl FilterText {
    /// `value` bounded and scrubbed; see the module documentation.
    pub fn new(value: &str) -> FilterText {
        let scrubbed = scrub_api_key_secrets(value);
        let kept = prefix_at_char_boundary(&scrubbed, MAX_FILTER_LEN);
        FilterText {
            text: kept.to_owned(),
            bytes: value.len() as u64,
            truncated: kept.len() < scrubbed.len(),
        }
    }

    /// The (possibly cut) expression.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True if [`FilterText::text`] is only the beginning of the expression.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl From<&str> for FilterText {
    fn from(value: &str) -> FilterText {
        FilterText::new(value)
    }
}

/// The longest prefix of `value` of at most `max` bytes that ends on a character boundary.
fn prefix_at_char_boundary(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// `value` if it fits in `max` bytes, otherwise its longest prefix that fits with `…` after it.
fn cut_with_ellipsis(value: &str, max: usize) -> String {
    if value.len() <= max {
        return value.to_owned();
    }
    let mut out = prefix_at_char_boundary(value, max - ELLIPSIS.len_utf8()).to_owned();
    out.push(ELLIPSIS);
    out
}

/// Replaces the secret of every API key token in `value` by `<redacted>`. The secret is taken
/// to be the whole run of ASCII letters and digits after `qvk_<16 hex digits>_`, so a token
/// cut short or with a malformed secret is scrubbed too.
fn scrub_api_key_secrets(value: &str) -> Cow<'_, str> {
    if !value.contains(API_KEY_PREFIX) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find(API_KEY_PREFIX) {
        let after_prefix = pos + API_KEY_PREFIX.len();
        out.push_str(&rest[..after_prefix]);
        rest = &rest[after_prefix..];
        let bytes = rest.as_bytes();
        let id_is_hex = bytes.len() > API_KEY_ID_LEN
            && bytes[..API_KEY_ID_LEN].iter().all(u8::is_ascii_hexdigit)
            && bytes[API_KEY_ID_LEN] == b'_';
        if !id_is_hex {
            continue;
        }
        let secret_start = API_KEY_ID_LEN + 1;
        let secret_len =
            bytes[secret_start..].iter().take_while(|byte| byte.is_ascii_alphanumeric()).count();
        if secret_len == 0 {
            continue;
        }
        out.push_str(&rest[..secret_start]);
        out.push_str(REDACTED);
        rest = &rest[secret_start + secret_len..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests;
