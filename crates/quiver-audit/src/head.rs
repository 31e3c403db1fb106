//! The HEAD file: how far the log is known to reach, signed, so that cutting off its tail is
//! detected.
//!
//! HEAD is one signed line in the canonical form of records (see `line`), under the HEAD key:
//!
//! ```text
//! {"records":N,"last":"<64 hex>","key_id":"<16 hex>","mac":"<64 hex>"}
//! ```
//!
//! `records` is the number of durable records (the last one has seq `records - 1`), `last`
//! the hash of that record's line ([`crate::GENESIS`] when `records` is 0), `key_id` the id of
//! the audit key (see `key`). The writer replaces HEAD atomically after every commit round,
//! once the round's records are durable, and creates it (with `records` 0) before the first log
//! file exists. Hence the log always reaches HEAD, even after a crash: a log that ends before
//! HEAD's record, or has another line there, was cut or rewritten.
//!
//! [`HeadRef`] is the public form, `SEQ:HASH` as text: what an operator copies elsewhere and
//! gives back to `verify` as the expected head, which also catches a rollback of both the log
//! and HEAD to an older state.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::hex;
use crate::key::{AuditKey, KEY_ID_LEN};
use crate::line::{json_reason, sign_into, split_signed};

/// The name of the HEAD file in the audit directory.
pub(crate) const HEAD_NAME: &str = "HEAD";

/// The longest HEAD file read (a valid one is under 200 bytes).
const MAX_HEAD_LEN: u64 = 1024;

/// A record of the log by sequence number and line hash: `SEQ:HASH` as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadRef {
    /// The record's sequence number.
    pub seq: u64,
    /// SHA-256 of the record's line (without its newline).
    pub hash: [u8; 32],
}

impl HeadRef {
    /// Parses `SEQ:HASH` (decimal sequence number, 64 lowercase hex digits).
    pub fn parse(text: &str) -> Result<HeadRef, AuditError> {
        let invalid = |reason: &'static str| AuditError::InvalidHeadRef { reason };
        let Some((seq, hash)) = text.trim().split_once(':') else {
            return Err(invalid("expected SEQ:HASH"));
        };
        if seq.is_empty() || !seq.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(invalid("SEQ is not a decimal number"));
        }
        let seq = seq.parse().map_err(|_| invalid("SEQ is too large"))?;
        let hash = hex::decode_32(hash.as_bytes())
            .ok_or_else(|| invalid("HASH is not 64 lowercase hex digits"))?;
        Ok(HeadRef { seq, hash })
    }
}

impl fmt::Display for HeadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, hex::encode(&self.hash))
    }
}

/// The contents of HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// Number of durable records.
    pub(crate) records: u64,
    /// Hash of the last durable record's line, or [`crate::GENESIS`].
    pub(crate) last: [u8; 32],
}

impl Head {
    /// The last durable record, if there is one.
    pub(crate) fn head_ref(&self) -> Option<HeadRef> {
        let seq = self.records.checked_sub(1)?;
        Some(HeadRef { seq, hash: self.last })
    }
}

/// What reading HEAD found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadFile {
    Missing,
    /// Names another key (by key id).
    WrongKey,
    /// Unparsable or MAC mismatch.
    Invalid {
        reason: &'static str,
    },
    Valid(Head),
}

#[derive(Serialize)]
struct SignedHead<'a> {
    records: u64,
    last: &'a str,
    key_id: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredHead {
    records: u64,
    last: String,
    key_id: String,
    #[serde(rename = "mac")]
    _mac: serde::de::IgnoredAny,
}

/// The bytes of the HEAD file for `head` (one signed line with its newline).
pub(crate) fn encode_head(key: &AuditKey, head: &Head) -> Result<Vec<u8>, AuditError> {
    let last = hex::encode(&head.last);
    let key_id = hex::encode(&key.key_id());
    let body = SignedHead { records: head.records, last: &last, key_id: &key_id };
    let mut out =
        serde_json::to_vec(&body).map_err(|err| AuditError::Encode { reason: err.to_string() })?;
    sign_into(&mut out, 0, |signed| key.sign_head(signed))
        .ok_or_else(|| AuditError::Encode { reason: "HEAD is not a JSON object".to_owned() })?;
    out.push(b'\n');
    Ok(out)
}

/// Reads and checks the HEAD file at `path` (at most [`MAX_HEAD_LEN`] bytes are read).
pub(crate) fn read_head(path: &Path, key: &AuditKey) -> Result<HeadFile, AuditError> {
    let shown = path.display().to_string();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(HeadFile::Missing),
        Err(err) => return Err(AuditError::io("open", &shown, err)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_HEAD_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| AuditError::io("read", &shown, err))?;
    if bytes.len() as u64 > MAX_HEAD_LEN {
        return Ok(HeadFile::Invalid { reason: "longer than a HEAD file can be" });
    }
    Ok(decode_head(key, &bytes))
}

/// Checks the bytes of a HEAD file. The key id is compared first, so that a wrong key is told
/// apart from a damaged HEAD.
pub(crate) fn decode_head(key: &AuditKey, bytes: &[u8]) -> HeadFile {
    let Some(line) = bytes.strip_suffix(b"\n") else {
        return HeadFile::Invalid { reason: "no newline at the end" };
    };
    let stored: StoredHead = match serde_json::from_slice(line) {
        Ok(stored) => stored,
        Err(err) => return HeadFile::Invalid { reason: json_reason(&err) },
    };
    let mut key_id = [0u8; KEY_ID_LEN];
    if hex::decode_into(stored.key_id.as_bytes(), &mut key_id).is_none() {
        return HeadFile::Invalid { reason: "key_id is not 16 lowercase hex digits" };
    }
    if key_id != key.key_id() {
        return HeadFile::WrongKey;
    }
    let Some((signed, mac)) = split_signed(line) else {
        return HeadFile::Invalid { reason: "it does not end with a lowercase hex mac field" };
    };
    if !key.verify_head(signed, &mac) {
        return HeadFile::Invalid { reason: "MAC mismatch" };
    }
    let Some(last) = hex::decode_32(stored.last.as_bytes()) else {
        return HeadFile::Invalid { reason: "last is not 64 lowercase hex digits" };
    };
    HeadFile::Valid(Head { records: stored.records, last })
}

#[cfg(test)]
mod tests;
