//! The one error type of the audit layer, and [`Problem`]: what verification found wrong and
//! where.
//!
//! A [`Problem`] names the file, the line (from 1), the byte offset of that line and, when the
//! line could be read, its sequence number; its [`ProblemKind`] says which check failed. It
//! never contains the text of a record (a tampered record may hold anything).

use std::fmt;
use std::io;

use quiver_storage::StorageError;
use thiserror::Error;

/// A failure of the audit layer.
#[derive(Debug, Error)]
pub enum AuditError {
    /// The storage backend failed while the log was written.
    #[error(transparent)]
    Storage(#[from] StorageError),

    /// Reading a log file, HEAD, the log directory or a key file failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation that failed (`"open"`, `"read"`, `"list"`…).
        op: &'static str,
        /// The file or directory involved.
        path: String,
        #[source]
        source: io::Error,
    },

    /// The log fails verification: it was altered, or files were removed, added or cut short.
    /// [`crate::AuditLog::open`] refuses such a log; [`crate::verify()`] reports the problem in
    /// its report instead.
    #[error("audit log tampered: {0}")]
    Tampered(Box<Problem>),

    /// The log refuses appends because an earlier write or fsync failed (fail-stop); reopen it.
    #[error("audit log stopped after an earlier write or sync failure; reopen it")]
    FailStopped,

    /// Another process (or another `AuditLog` in this one) has the log open for writing.
    #[error("audit log {path} is locked by another writer")]
    Locked { path: String },

    /// A key file cannot be used; `reason` says why (never its contents).
    #[error("audit key file {path}: {reason}")]
    KeyFile { path: String, reason: &'static str },

    /// The operating system's random generator failed.
    #[error("the system random generator failed")]
    Random,

    /// A `SEQ:HASH` head reference (such as `--expect-head`) is malformed.
    #[error("invalid head reference: {reason}")]
    InvalidHeadRef { reason: &'static str },

    /// A record would exceed the longest line the format allows. The bounds on every field
    /// make this unreachable; it exists so that a future field cannot silently break readers.
    #[error("audit record of {len} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge { len: usize, max: usize },

    /// Every sequence number was used (after 2^64 − 1 records).
    #[error("audit log sequence numbers are exhausted")]
    SeqExhausted,

    /// serde_json failed to encode a record (not expected: every field is a string, a number
    /// or an enum).
    #[error("encoding an audit record failed: {reason}")]
    Encode { reason: String },
}

impl AuditError {
    pub(crate) fn io(op: &'static str, path: &str, source: io::Error) -> AuditError {
        AuditError::Io { op, path: path.to_owned(), source }
    }
}

/// The first thing verification found wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file name inside the audit directory (`00000000000000000000.jsonl`, `HEAD`), or
    /// `None` for a problem of the log as a whole.
    pub file: Option<String>,
    /// The line number in that file, counting from 1.
    pub line: Option<u64>,
    /// The byte offset of that line in the file.
    pub offset: Option<u64>,
    /// The sequence number of the record involved: the one the line claims when it could be
    /// read, otherwise the one expected there.
    pub seq: Option<u64>,
    /// Which check failed.
    pub kind: ProblemKind,
}

/// Which check failed; see [`Problem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The line is not a record: not JSON of the record's shape, no `mac` field at its end, a
    /// hash or MAC not in lowercase hex, a malformed timestamp, an empty line.
    Unparsable { reason: &'static str },
    /// The line is longer than [`crate::MAX_LINE_LEN`]; it was not read into memory.
    LineTooLong { max: usize },
    /// The MAC does not match the line under the audit key: the record was edited, or forged
    /// by someone without the key.
    MacMismatch,
    /// The record's `prev` is not the hash of the line before it (records from another log
    /// under the same key spliced in).
    ChainBreak,
    /// Records are missing: the next record found is `found` where `expected` was due, and
    /// `expected` appears nowhere later (deleted records or a removed file).
    SeqGap { expected: u64, found: u64 },
    /// Records are out of order: `found` where `expected` was due, and `expected` appears
    /// later (moved), or `found` was already seen (duplicated).
    Reordered { expected: u64, found: u64 },
    /// The file's name says its first record is `name_seq`, but it is `first_seq` (a renamed
    /// or added file).
    FileNameMismatch { name_seq: u64, first_seq: u64 },
    /// A file without any complete record that is not the last file.
    EmptyFile,
    /// A line without its newline at the end of a file that is not the last one.
    TornLine,
    /// The log ends before the record HEAD says was durable: `records` were found, HEAD covers
    /// `head_records` (the tail was cut off, or the last file removed).
    TruncatedBeforeHead { records: u64, head_records: u64 },
    /// The record HEAD names has a different hash than HEAD says.
    HeadMismatch,
    /// Log files exist but HEAD does not.
    HeadMissing,
    /// HEAD is not valid: unparsable, or its MAC does not match.
    HeadInvalid { reason: &'static str },
    /// HEAD names another audit key than the one given: the wrong key, or HEAD was altered.
    WrongKey,
    /// The log does not reach the record of the expected head given by the caller.
    ExpectedHeadNotReached { records: u64 },
    /// The record at the expected head's sequence number has another hash than expected: the
    /// log was rolled back and rewritten, or the reference belongs to another log.
    ExpectedHeadMismatch,
    /// A file in the audit directory that is neither a log file nor HEAD.
    UnexpectedFile,
    /// There is no audit log at all: no log file and no HEAD.
    LogMissing,
}

impl ProblemKind {
    /// True for the kinds that mean something was deleted or cut off (as opposed to altered).
    pub fn is_missing_data(&self) -> bool {
        matches!(
            self,
            ProblemKind::SeqGap { .. }
                | ProblemKind::TruncatedBeforeHead { .. }
                | ProblemKind::ExpectedHeadNotReached { .. }
                | ProblemKind::HeadMissing
                | ProblemKind::LogMissing
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}")?,
            None => f.write_str("the log")?,
        }
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " (byte {offset})")?;
        }
        if let Some(seq) = self.seq {
            write!(f, ", seq {seq}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::Unparsable { reason } => write!(f, "not a valid record: {reason}"),
            ProblemKind::LineTooLong { max } => write!(f, "line longer than {max} bytes"),
            ProblemKind::MacMismatch => {
                f.write_str("MAC mismatch: the record was altered, or forged without the key")
            }
            ProblemKind::ChainBreak => {
                f.write_str("chain break: prev is not the hash of the preceding record")
            }
            ProblemKind::SeqGap { expected, found } => {
                write!(f, "records missing: found seq {found} where seq {expected} was due")
            }
            ProblemKind::Reordered { expected, found } => {
                write!(f, "records reordered: found seq {found} where seq {expected} was due")
            }
            ProblemKind::FileNameMismatch { name_seq, first_seq } => write!(
                f,
                "file is named for seq {name_seq} but its first record is seq {first_seq}"
            ),
            ProblemKind::EmptyFile => f.write_str("a log file without records before the last"),
            ProblemKind::TornLine => {
                f.write_str("a line without its newline at the end of a file that is not the last")
            }
            ProblemKind::TruncatedBeforeHead { records, head_records } => write!(
                f,
                "log truncated: {records} records found, HEAD says {head_records} were durable"
            ),
            ProblemKind::HeadMismatch => {
                f.write_str("the record HEAD names does not have the hash HEAD records")
            }
            ProblemKind::HeadMissing => f.write_str("HEAD is missing while log files exist"),
            ProblemKind::HeadInvalid { reason } => write!(f, "HEAD is invalid: {reason}"),
            ProblemKind::WrongKey => {
                f.write_str("HEAD names a different audit key: wrong key, or HEAD was altered")
            }
            ProblemKind::ExpectedHeadNotReached { records } => {
                write!(f, "the log holds {records} records and does not reach the expected head")
            }
            ProblemKind::ExpectedHeadMismatch => {
                f.write_str("the record at the expected head has another hash than expected")
            }
            ProblemKind::UnexpectedFile => f.write_str("unexpected file in the audit directory"),
            ProblemKind::LogMissing => f.write_str("no audit log: no log file and no HEAD"),
        }
    }
}
