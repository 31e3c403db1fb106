//! API keys: long random credentials a user creates for programs, each restricted to a subset
//! of the user's roles.
//!
//! # The token
//!
//! A key is shown to its creator once, as a token of [`API_KEY_TOKEN_LEN`] ASCII characters:
//!
//! ```text
//! qvk_<id: 16 lowercase hex digits>_<secret: 64 lowercase hex digits>
//! ```
//!
//! The id (8 random bytes) is not secret: it names the key in the store (listings show it), so
//! a request's key is found by one map lookup. The secret is 32 bytes from the operating
//! system's generator ([`ring::rand::SystemRandom`]). Hex rather than base64: the token is one
//! "word" (double-click selects all of it; base64url's `-` would split it), every token has
//! exactly one spelling (only lowercase is accepted), and `_` can only be a separator. The
//! `qvk_` prefix makes a leaked token easy to recognise (secret scanners, logs) and tells the
//! API layer to treat the value as a key: a Milvus client sends it as `token=` (pymilvus base64s
//! a token that has no `:`).
//!
//! # What is stored
//!
//! Only a digest: HMAC-SHA256 keyed with a fixed, public label, over `id ‖ secret` (the id has
//! a fixed length, so the concatenation is unambiguous). With a public key this is simply a
//! domain-separated SHA-256-class hash; binding the id means a digest copied onto another key
//! record verifies nothing. A fast hash is enough because the secret has 256 bits of entropy:
//! nobody can enumerate the secrets that a stolen digest could come from, so the slow,
//! memory-hard Argon2id that low-entropy passwords need would only cost every request tens of
//! milliseconds for nothing. (This is also why keys need no verified-credential cache: checking
//! one is a microsecond, so every request checks the current store and a revocation takes
//! effect on the next request.) Verification goes through [`ring::hmac::verify`], whose
//! comparison is constant-time (`ring::constant_time::verify_slices_are_equal` is deprecated
//! in ring 0.17.14).
//!
//! A request with an unknown id, a wrong secret, a malformed token or an expired key does the
//! same work (one HMAC) and gets the same error. The lookup by id is not constant-time, and
//! need not be: ids are not secret.
//!
//! # Rules
//!
//! * A key belongs to one user and has a name unique among that user's keys (Milvus's naming
//!   rule: a letter or `_`, then letters, digits and `_`, at most [`MAX_API_KEY_NAME_LEN`]).
//! * Its roles are a subset of the user's explicit roles when it is created (`public` is
//!   implicit for every key and never stored). It holds exactly those: there is no key that
//!   follows the user's future roles.
//! * A key never holds more than its user: every decision uses the key's roles ∩ the user's
//!   current roles. When a role is taken from the user (or dropped) it is also removed from the
//!   user's keys for good: giving the role back to the user does not give it back to the keys.
//!   Deleting the user deletes their keys.
//! * An optional expiry (unix seconds, after creation): from that second on the key is refused.
//! * At most [`MAX_API_KEYS_PER_USER`] keys per user and [`MAX_API_KEYS`] in all.
//! * Changing the user's password does not revoke their keys (they are separate credentials):
//!   revoke them, or delete the user, to cut a compromised account off.

use std::collections::BTreeSet;
use std::fmt;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::SecurityError;
use crate::names::truncated;
use crate::password::Secret;

/// What every API key token starts with.
pub const API_KEY_PREFIX: &str = "qvk_";
/// Length of a key id: 16 lowercase hex digits (8 random bytes).
pub const API_KEY_ID_LEN: usize = 2 * ID_BYTES;
/// Length of a whole token: `qvk_`, the id, `_`, 64 hex digits of secret.
pub const API_KEY_TOKEN_LEN: usize = API_KEY_PREFIX.len() + API_KEY_ID_LEN + 1 + 2 * SECRET_BYTES;
/// Most API keys one user may have.
pub const MAX_API_KEYS_PER_USER: usize = 100;
/// Most API keys in the store.
pub const MAX_API_KEYS: usize = 100_000;
/// Longest API key name.
pub const MAX_API_KEY_NAME_LEN: usize = 64;

const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;
/// The public HMAC key that makes the digest a domain-separated hash (see the module docs).
const DIGEST_LABEL: &[u8] = b"quiver api key digest v1";

/// The stored digest of a key's secret. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KeyDigest(pub(crate) [u8; 32]);

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(<redacted>)")
    }
}

/// One stored key (its id is the map key in `SecurityState::api_keys`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiKeyRecord {
    pub(crate) user: String,
    pub(crate) name: String,
    pub(crate) digest: KeyDigest,
    pub(crate) created_unix_secs: u64,
    /// The first second at which the key is refused; `None`: never expires.
    pub(crate) expires_unix_secs: Option<u64>,
    /// Explicit roles the user held when they were given to the key (never `public`).
    pub(crate) roles: BTreeSet<String>,
}

impl ApiKeyRecord {
    /// True if the key has not expired at `now_unix`.
    pub(crate) fn alive(&self, now_unix: u64) -> bool {
        self.expires_unix_secs.is_none_or(|expires| now_unix < expires)
    }

    pub(crate) fn info(&self, id: &str) -> ApiKeyInfo {
        ApiKeyInfo {
            id: id.to_owned(),
            user: self.user.clone(),
            name: self.name.clone(),
            created_unix_secs: self.created_unix_secs,
            expires_unix_secs: self.expires_unix_secs,
            roles: self.roles.iter().cloned().collect(),
        }
    }
}

/// An API key as listed: never its secret or digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// The public part of the token (`qvk_<id>_…`).
    pub id: String,
    pub user: String,
    pub name: String,
    pub created_unix_secs: u64,
    /// The first second at which the key is refused; `None`: never expires.
    pub expires_unix_secs: Option<u64>,
    /// The roles the key was given, sorted, as restricted since by role removals (`public` is
    /// implicit). What it may do is these ∩ the user's current roles.
    pub roles: Vec<String>,
}

/// True if a credential without `:` is meant as an API key (it has the prefix); whether it is
/// well formed is [`crate::SecurityStore::authenticate_key`]'s business.
pub fn is_api_key_token(value: &str) -> bool {
    value.starts_with(API_KEY_PREFIX)
}

/// Secret bytes on the stack, wiped when dropped (as [`Secret`] does for strings).
pub(crate) struct SecretBytes([u8; SECRET_BYTES]);

impl SecretBytes {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&mut self.0);
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(<redacted>)")
    }
}

/// A token split into its id and secret.
#[derive(Debug)]
pub(crate) struct ParsedToken<'a> {
    pub(crate) id: &'a str,
    pub(crate) secret: SecretBytes,
}

/// Splits a token; `None` unless it is exactly `qvk_`, 16 lowercase hex digits, `_`, 64
/// lowercase hex digits.
pub(crate) fn parse_token(token: &str) -> Option<ParsedToken<'_>> {
    if token.len() != API_KEY_TOKEN_LEN {
        return None;
    }
    let rest = token.strip_prefix(API_KEY_PREFIX)?;
    let (id, rest) = rest.split_at_checked(API_KEY_ID_LEN)?;
    let hex = rest.strip_prefix('_')?;
    if !is_key_id(id) {
        return None;
    }
    let mut secret = SecretBytes([0; SECRET_BYTES]);
    for (byte, pair) in secret.0.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(ParsedToken { id, secret })
}

/// True for a well-formed key id: [`API_KEY_ID_LEN`] lowercase hex digits.
pub(crate) fn is_key_id(id: &str) -> bool {
    id.len() == API_KEY_ID_LEN && id.bytes().all(|b| hex_value(b).is_some())
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

fn label_key() -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, DIGEST_LABEL)
}

/// The digest stored for a key.
pub(crate) fn digest(id: &str, secret: &[u8]) -> KeyDigest {
    let mut ctx = hmac::Context::with_key(&label_key());
    ctx.update(id.as_bytes());
    ctx.update(secret);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    KeyDigest(out)
}

/// True if `secret` is the secret of key `id` with digest `expected`. The HMAC is computed over
/// the same bytes as [`digest`]'s and compared in constant time by [`hmac::verify`].
pub(crate) fn verify(id: &str, secret: &[u8], expected: &KeyDigest) -> bool {
    if id.len() != API_KEY_ID_LEN || secret.len() != SECRET_BYTES {
        return false;
    }
    let mut message = [0u8; API_KEY_ID_LEN + SECRET_BYTES];
    message[..API_KEY_ID_LEN].copy_from_slice(id.as_bytes());
    message[API_KEY_ID_LEN..].copy_from_slice(secret);
    let verified = hmac::verify(&label_key(), &message, &expected.0).is_ok();
    message.fill(0);
    std::hint::black_box(&mut message);
    verified
}

/// The work of [`verify`] for a token whose key does not exist or that is malformed, so that
/// the reply takes as long as for a wrong secret.
pub(crate) fn dummy_verify(secret: &[u8]) {
    let matched = verify("0000000000000000", secret, &KeyDigest([0; 32]));
    std::hint::black_box(matched);
}

/// A freshly generated key: its id, the token to show once, and the digest to store.
pub(crate) struct NewKey {
    pub(crate) id: String,
    pub(crate) token: Secret,
    pub(crate) digest: KeyDigest,
}

/// Draws a new id and secret from the operating system's generator.
pub(crate) fn generate() -> Result<NewKey, SecurityError> {
    let rng = SystemRandom::new();
    let failed = |_| SecurityError::Internal { reason: "the system random generator failed" };
    let mut id_bytes = [0u8; ID_BYTES];
    rng.fill(&mut id_bytes).map_err(failed)?;
    let mut secret = SecretBytes([0; SECRET_BYTES]);
    rng.fill(&mut secret.0).map_err(failed)?;
    let mut id = String::with_capacity(API_KEY_ID_LEN);
    push_hex(&mut id, &id_bytes);
    // Exact capacity: the token is never reallocated, so no unwiped copy is left behind.
    let mut token = String::with_capacity(API_KEY_TOKEN_LEN);
    token.push_str(API_KEY_PREFIX);
    token.push_str(&id);
    token.push('_');
    push_hex(&mut token, secret.as_bytes());
    let digest = digest(&id, secret.as_bytes());
    Ok(NewKey { id, token: Secret::new(token), digest })
}

/// The rule an API key name breaks, if any (Milvus's rule for names, shorter).
pub(crate) fn api_key_name_rule(name: &str) -> Option<&'static str> {
    let Some(first) = name.chars().next() else {
        return Some("must not be empty");
    };
    if name.len() > MAX_API_KEY_NAME_LEN {
        return Some("must be at most 64 characters");
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Some("must start with a letter or an underscore");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some("may contain only letters, digits and underscores");
    }
    None
}

/// Checks an API key name; the error names the rule broken.
pub(crate) fn validate_api_key_name(name: &str) -> Result<(), SecurityError> {
    match api_key_name_rule(name) {
        None => Ok(()),
        Some(reason) => {
            Err(SecurityError::InvalidName { kind: "API key", name: truncated(name), reason })
        }
    }
}

#[cfg(test)]
mod tests;
