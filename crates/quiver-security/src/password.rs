//! Passwords in memory, the password policy, and generated passwords.
//!
//! [`Secret`] holds a password (or any credential) so that it cannot leak through `Debug` or
//! `Display`, and overwrites its bytes when dropped. The overwrite is best effort without
//! `unsafe`: copies made before the `Secret` existed (a request buffer, a base64 decoder's
//! output) are the caller's to avoid.
//!
//! [`check_password_policy`] is applied whenever a password is set: at least 12 and at most 256
//! bytes (NIST SP 800-63B: length beats composition rules), not one character or a short
//! pattern repeated, not a well-known password (`common_passwords.txt`, compared
//! case-insensitively) and not containing the user name. [`generate_password`] makes one that
//! passes, for the first start and for the operator's tools.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};

use crate::SecurityError;

/// Shortest accepted password, in bytes.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest accepted password, in bytes: bounds the work Argon2 and the MAC do per attempt.
pub const MAX_PASSWORD_LEN: usize = 256;
/// Length of [`generate_password`]'s passwords, in characters (about 139 bits).
pub const GENERATED_PASSWORD_LEN: usize = 24;

/// Passwords attackers try first; see the file's header.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Letters and digits without the look-alikes `0 O o 1 l I`, so a generated password can be
/// read aloud or copied by hand.
const UNAMBIGUOUS_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// A password (or other credential) that never shows itself and is wiped when dropped.
///
/// No `Display`, a redacting `Debug`, no `PartialEq` (comparisons of secrets must be
/// constant-time and belong to `hash` and the credential cache).
pub struct Secret(String);

impl Secret {
    /// Wraps `value`; the `String`'s buffer becomes the secret's and is wiped with it.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// Wraps bytes decoded from a request; `None` (after wiping them) if they are not UTF-8.
    pub fn from_utf8(bytes: Vec<u8>) -> Option<Secret> {
        match String::from_utf8(bytes) {
            Ok(value) => Some(Secret(value)),
            Err(err) => {
                wipe(err.into_bytes());
                None
            }
        }
    }

    /// The secret itself, for hashing or verifying it. Do not copy it anywhere that outlives
    /// the call.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if it is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Clone for Secret {
    fn clone(&self) -> Secret {
        Secret(self.0.clone())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        wipe(std::mem::take(&mut self.0).into_bytes());
    }
}

/// Overwrites every byte of the buffer's allocation, spare capacity included, with zeros.
/// `black_box` keeps the compiler from removing the writes as dead stores.
fn wipe(mut bytes: Vec<u8>) {
    let capacity = bytes.capacity();
    bytes.clear();
    bytes.resize(capacity, 0);
    std::hint::black_box(&mut bytes);
}

/// Checks `password` for `user` against the policy; see the module documentation. The error's
/// reason names the rule, never the password.
pub fn check_password_policy(user: &str, password: &Secret) -> Result<(), SecurityError> {
    match policy_violation(user, password.expose()) {
        None => Ok(()),
        Some(reason) => Err(SecurityError::WeakPassword { reason }),
    }
}

fn policy_violation(user: &str, password: &str) -> Option<&'static str> {
    let bytes = password.as_bytes();
    if bytes.len() < MIN_PASSWORD_LEN {
        return Some("must be at least 12 bytes long");
    }
    if bytes.len() > MAX_PASSWORD_LEN {
        return Some("must be at most 256 bytes long");
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Some("must not be one character repeated");
    }
    if (2..=4).any(|unit| repeats_unit(bytes, unit)) {
        return Some("must not be a short pattern repeated");
    }
    if is_common(password) {
        return Some("is a commonly used password");
    }
    let user = user.as_bytes();
    if user.len() >= 3 && bytes.windows(user.len()).any(|w| w.eq_ignore_ascii_case(user)) {
        return Some("must not contain the user name");
    }
    None
}

/// True if `bytes` is its first `unit` bytes repeated (the last repetition may be partial).
fn repeats_unit(bytes: &[u8], unit: usize) -> bool {
    bytes.len() > unit && bytes.iter().enumerate().skip(unit).all(|(i, b)| *b == bytes[i - unit])
}

/// True if the password is on the embedded list (ASCII case-insensitive; the list is ASCII).
fn is_common(password: &str) -> bool {
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .any(|line| line.eq_ignore_ascii_case(password))
}

/// A new random password for `user` of [`GENERATED_PASSWORD_LEN`] characters from an
/// unambiguous alphabet, drawn from the operating system's generator by rejection sampling (no
/// modulo bias). It passes [`check_password_policy`] for `user`: the rare draw that does not
/// (it contains the user name) is drawn again.
pub fn generate_password(user: &str) -> Result<Secret, SecurityError> {
    let rng = SystemRandom::new();
    loop {
        let candidate = random_string(&rng, GENERATED_PASSWORD_LEN)?;
        if policy_violation(user, candidate.expose()).is_none() {
            return Ok(candidate);
        }
    }
}

fn random_string(rng: &SystemRandom, len: usize) -> Result<Secret, SecurityError> {
    // The largest multiple of the alphabet size that fits in a byte: bytes at or above it are
    // rejected, so every symbol is exactly equally likely.
    let alphabet_len = UNAMBIGUOUS_ALPHABET.len();
    let limit = 256 - 256 % alphabet_len;
    let mut out = Secret(String::with_capacity(len));
    let mut buf = [0u8; 64];
    while out.0.len() < len {
        rng.fill(&mut buf).map_err(|_| SecurityError::Internal {
            reason: "the system random generator failed",
        })?;
        for &byte in &buf {
            if out.0.len() == len {
                break;
            }
            if usize::from(byte) < limit {
                out.0.push(char::from(UNAMBIGUOUS_ALPHABET[usize::from(byte) % alphabet_len]));
            }
        }
    }
    buf.fill(0);
    std::hint::black_box(&mut buf);
    Ok(out)
}

#[cfg(test)]
mod tests;
