//! The bytes of a record line, how they are signed and chained, and their check.
//!
//! A line is one JSON object followed by `\n`:
//!
//! ```text
//! {"seq":7,"ts":"2025-01-31T23:59:59.123Z","prev":"<64 hex>","event":{"kind":"auth",…},"mac":"<64 hex>"}
//! ```
//!
//! # Canonical form
//!
//! The writer serializes `{"seq":…,"ts":…,"prev":…,"event":…}` with serde_json (compact, fields
//! in this order), removes the closing `}`, and calls what remains the *signed prefix* `P`. The
//! line is `P ‖ ,"mac":"<hex of HMAC-SHA256(record key, P)>"}` then `\n`. A verifier never
//! re-serializes: it takes the line as read, requires it to end with exactly `,"mac":"`, 64
//! lowercase hex digits and `"}`, and recomputes the MAC over the bytes before that suffix. Any
//! change to any byte of the line is therefore a MAC mismatch or a malformed suffix (hex is
//! accepted in lowercase only, so even the MAC's own spelling cannot change). Only then is the
//! line parsed as JSON (`serde_json`, unknown and duplicate fields refused) for its sequence
//! number, timestamp, `prev` and event.
//!
//! # Chain
//!
//! `prev` is the lowercase hex SHA-256 of the previous record's line without its `\n` (the
//! bytes between two newlines); for seq 0 it is [`GENESIS`], 64 zeros. Sequence numbers start
//! at 0 and grow by one per record, across files.
//!
//! Record text is JSON-escaped by serde_json (control characters, quotes, and `\n` become
//! escapes), so no field can end a line or forge a second record inside one.

use ring::digest;
use serde::{Deserialize, Serialize};

use crate::error::{AuditError, ProblemKind};
use crate::event::Event;
use crate::hex;
use crate::key::AuditKey;
use crate::time::{format_timestamp, parse_timestamp};

/// The longest record line accepted, in bytes without its newline. Far above the longest line
/// the bounds of the event fields allow (about 32 KiB when every character of a full-length
/// filter needs a six-byte `\u` escape); a longer line is an error for the verifier, never an
/// allocation.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// The `prev` of the record with seq 0.
pub const GENESIS: [u8; 32] = [0; 32];

/// What precedes the hex MAC at the end of every signed line.
pub(crate) const MAC_FIELD: &[u8] = b",\"mac\":\"";
/// What follows it.
pub(crate) const MAC_END: &[u8] = b"\"}";
/// The length of the whole suffix: `,"mac":"` + 64 hex digits + `"}`.
pub(crate) const MAC_SUFFIX_LEN: usize = MAC_FIELD.len() + 64 + MAC_END.len();

/// What a verified line holds.
#[derive(Debug, Clone)]
pub(crate) struct CheckedRecord {
    pub(crate) seq: u64,
    pub(crate) ts: String,
    pub(crate) unix_ms: u64,
    pub(crate) prev: [u8; 32],
    /// SHA-256 of the line without its newline.
    pub(crate) hash: [u8; 32],
    pub(crate) event: Event,
}

#[derive(Serialize)]
struct SignedBody<'a> {
    seq: u64,
    ts: &'a str,
    prev: &'a str,
    event: &'a Event,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRecord {
    seq: u64,
    ts: String,
    prev: String,
    event: Event,
    // Named so that `deny_unknown_fields` accepts the line; its value is the suffix that was
    // already checked byte for byte.
    #[serde(rename = "mac")]
    _mac: serde::de::IgnoredAny,
}

/// Appends the line of record `seq` (with its `\n`) to `out` and returns its hash (the `prev`
/// of the next record). On error `out` is left as it was.
pub(crate) fn encode_record(
    key: &AuditKey,
    seq: u64,
    unix_ms: u64,
    prev: &[u8; 32],
    event: &Event,
    out: &mut Vec<u8>,
) -> Result<[u8; 32], AuditError> {
    let start = out.len();
    let ts = format_timestamp(unix_ms);
    let prev_hex = hex::encode(prev);
    let body = SignedBody { seq, ts: &ts, prev: &prev_hex, event };
    if let Err(err) = serde_json::to_writer(&mut *out, &body) {
        out.truncate(start);
        return Err(AuditError::Encode { reason: err.to_string() });
    }
    match sign_into(out, start, |signed| key.sign_record(signed)) {
        Some(()) => {}
        None => {
            out.truncate(start);
            return Err(AuditError::Encode { reason: "the body is not a JSON object".to_owned() });
        }
    }
    let line_len = out.len() - start;
    if line_len > MAX_LINE_LEN {
        out.truncate(start);
        return Err(AuditError::RecordTooLarge { len: line_len, max: MAX_LINE_LEN });
    }
    let hash = line_hash(&out[start..]);
    out.push(b'\n');
    Ok(hash)
}

/// Turns the JSON object in `out[start..]` into a signed line: drops its closing `}` and
/// appends the MAC suffix computed by `sign` over what remains. `None` if `out[start..]` does
/// not end with `}`.
pub(crate) fn sign_into(
    out: &mut Vec<u8>,
    start: usize,
    sign: impl FnOnce(&[u8]) -> [u8; 32],
) -> Option<()> {
    if out.len() <= start || out.last() != Some(&b'}') {
        return None;
    }
    out.pop();
    let mac = sign(&out[start..]);
    out.extend_from_slice(MAC_FIELD);
    out.extend_from_slice(hex::encode(&mac).as_bytes());
    out.extend_from_slice(MAC_END);
    Some(())
}

/// Splits a signed line (without newline) into its signed prefix and its MAC; `None` if it
/// does not end with the exact MAC suffix.
pub(crate) fn split_signed(line: &[u8]) -> Option<(&[u8], [u8; 32])> {
    let prefix_len = line.len().checked_sub(MAC_SUFFIX_LEN)?;
    let (prefix, suffix) = line.split_at(prefix_len);
    let hex_digits = suffix.strip_prefix(MAC_FIELD)?.strip_suffix(MAC_END)?;
    let mac = hex::decode_32(hex_digits)?;
    Some((prefix, mac))
}

/// SHA-256 of a line without its newline.
pub(crate) fn line_hash(line: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, line).as_ref());
    out
}

/// Checks one line (without its newline): suffix, MAC, then JSON shape. The chain and the
/// sequence are the caller's to check, with the returned `seq`, `prev` and `hash`.
pub(crate) fn check_record(key: &AuditKey, line: &[u8]) -> Result<CheckedRecord, ProblemKind> {
    if line.is_empty() {
        return Err(ProblemKind::Unparsable { reason: "empty line" });
    }
    let Some((signed, mac)) = split_signed(line) else {
        return Err(ProblemKind::Unparsable {
            reason: "the line does not end with a lowercase hex mac field",
        });
    };
    if !key.verify_record(signed, &mac) {
        return Err(ProblemKind::MacMismatch);
    }
    let stored: StoredRecord = serde_json::from_slice(line)
        .map_err(|err| ProblemKind::Unparsable { reason: json_reason(&err) })?;
    let Some(unix_ms) = parse_timestamp(&stored.ts) else {
        return Err(ProblemKind::Unparsable {
            reason: "ts is not an RFC 3339 UTC timestamp with milliseconds",
        });
    };
    let Some(prev) = hex::decode_32(stored.prev.as_bytes()) else {
        return Err(ProblemKind::Unparsable { reason: "prev is not 64 lowercase hex digits" });
    };
    Ok(CheckedRecord {
        seq: stored.seq,
        ts: stored.ts,
        unix_ms,
        prev,
        hash: line_hash(line),
        event: stored.event,
    })
}

/// A fixed description of a JSON error: the error's own message may quote the input.
pub(crate) fn json_reason(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Io => "invalid JSON",
        serde_json::error::Category::Eof => "the JSON ends early",
        serde_json::error::Category::Data => "JSON without the fields and types of a record",
    }
}

#[cfg(test)]
mod tests;
