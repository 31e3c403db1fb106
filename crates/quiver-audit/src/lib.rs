//! The tamper-evident audit log: who did what, when, as hash-chained, HMAC-signed JSON lines
//! that a verifier with the audit key checks record by record.
//!
//! Threat: someone with write access to the data directory (a stolen backup, a compromised
//! host account, an insider) edits, removes, reorders or adds audit records, or cuts off the
//! log's tail, to hide what they did. Without the audit key, which is kept apart from the log,
//! every such change is detected by [`verify()`] and located: the first bad record's file, line,
//! byte offset and seq, and what is wrong with it.
//!
//! # How
//!
//! * Each record is one line: `seq` (from 0, continuous across files), `ts` (RFC 3339 UTC with
//!   milliseconds), `prev` (SHA-256 of the previous line), the typed [`Event`], and `mac`, an
//!   HMAC-SHA256 under the audit key over the exact bytes of the line before the `mac` field.
//!   Editing a record breaks its MAC; removing, reordering or inserting records breaks the
//!   sequence or the chain; a forged record needs the key. `line` has the canonical form.
//! * A signed `HEAD` file, replaced after every durable batch, records how many records are
//!   durable and the hash of the last one, so cutting off the tail, or removing the last
//!   files, is detected too (`head`).
//! * Files rotate at a size threshold; the chain runs on across them (`files`).
//! * Appends are durable (fsync) when [`AuditLog::append`] returns, with group commit, and the
//!   log stops at the first IO failure so the server can refuse audited operations (fail
//!   closed) (`writer`). A torn last line after a crash is cut off at the next open and noted
//!   in a Lifecycle record (`recovery`); [`verify()`] reports it as a crash, not as tampering.
//! * Events are typed; no field can take a credential, text is bounded, and API key secrets
//!   and `user:password` tokens are stripped from text (`event`, `text`).
//! * [`read_records`] yields the verified records that pass a [`RecordFilter`], for
//!   `quiver audit show`.
//!
//! # Residual risks
//!
//! * Rollback: someone who can write the directory and keeps an old copy of the log and its
//!   HEAD can put both back: that older state is consistent, so only a reference to a later
//!   record kept elsewhere ([`HeadRef`], given to [`verify()`] as `expect_head`) detects it.
//!   Deleting the whole audit directory likewise looks like a new log ([`OpenInfo::created`]
//!   lets the server notice on a data directory it has used before).
//! * Records appended after the last durable HEAD (buffered read records, a batch whose fsync
//!   was under way at a crash) can be cut off unnoticed, like a crash would.
//! * The log is evidence of tampering, not a prevention of it: someone holding the audit key
//!   can rewrite it entirely.
//!
//! Module map: `event` and `text` (what a record says), `key` ([`AuditKey`]), `line` (the
//! bytes of a record), `head` (HEAD, [`HeadRef`]), `files` (the directory), `walk` (the
//! streaming check), `verify`, `read`, `recovery` (open), `writer` ([`AuditLog`]), `time`
//! (timestamps), `hex`, `error` ([`AuditError`], [`Problem`]). `docs/design/audit-log.md`
//! describes the format for operators and other implementations.

mod error;
mod event;
mod files;
mod head;
mod hex;
mod key;
mod line;
mod read;
mod recovery;
mod text;
mod time;
mod verify;
mod walk;
mod writer;

#[cfg(test)]
mod test_support;

pub use error::{AuditError, Problem, ProblemKind};
pub use event::{
    AdminAction, AuthMethod, AuthOutcome, DclAction, DdlAction, Event, EventKind, LifecycleAction,
    Outcome, ReadAction, WriteAction,
};
pub use head::HeadRef;
pub use key::{AUDIT_KEY_LEN, AuditKey};
pub use line::{GENESIS, MAX_LINE_LEN};
pub use read::{AuditRecord, AuditRecords, RecordFilter, read_records};
pub use text::{FilterText, MAX_FILTER_LEN, MAX_TEXT_LEN, Text, UserName};
pub use time::{format_timestamp, parse_timestamp};
pub use verify::{VerifyReport, verify};
pub use walk::TornTail;
pub use writer::{AuditLog, AuditOptions, DEFAULT_MAX_FILE_BYTES, OpenInfo};
