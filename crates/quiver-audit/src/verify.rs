//! [`verify()`]: the whole check of an audit log, what `quiver audit verify` runs.
//!
//! Streams every file once (memory bounded by one line of [`crate::MAX_LINE_LEN`] bytes), and
//! reports the first problem with its file, line, byte offset and seq, or that the log is
//! intact. It reads HEAD before listing the files, so it can run while a server appends: the
//! log it lists always reaches the HEAD it read, and a line being written shows up as a torn
//! tail, not as damage.

use std::path::Path;

use crate::error::{AuditError, Problem, ProblemKind};
use crate::files::{AUDIT_DIR, list};
use crate::head::{HEAD_NAME, HeadFile, HeadRef, read_head};
use crate::key::AuditKey;
use crate::walk::{TornTail, Walker};

/// The outcome of [`verify()`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Log files found.
    pub files: u64,
    /// Records verified before the walk ended (all of them when there is no problem).
    pub records: u64,
    /// The last record verified: what to keep elsewhere and pass as the expected head of a
    /// later verification.
    pub last: Option<HeadRef>,
    /// The last durable record according to HEAD (when HEAD is valid and not empty).
    pub head: Option<HeadRef>,
    /// A torn last line after HEAD: the trace of a crash, not a problem (the next open cuts
    /// it off).
    pub torn_tail: Option<TornTail>,
    /// The first problem found; `None` when the log is intact.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    /// True when no problem was found.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// Verifies the audit log under `root` (the directory given to [`crate::AuditLog::open`]; the
/// log is in `root/audit`) with `key`; see the module documentation. With `expect_head`, the
/// log must also contain that record with that hash (a reference kept outside the machine
/// catches a rollback of log and HEAD together).
///
/// Problems with the log are in the report; the error is for failures to read it.
pub fn verify(
    root: &Path,
    key: &AuditKey,
    expect_head: Option<HeadRef>,
) -> Result<VerifyReport, AuditError> {
    let audit_dir = root.join(AUDIT_DIR);
    let head = read_head(&audit_dir.join(HEAD_NAME), key)?;
    let listing = list(&audit_dir)?;
    let mut report = VerifyReport {
        files: listing.files.len() as u64,
        records: 0,
        last: None,
        head: match &head {
            HeadFile::Valid(head) => head.head_ref(),
            HeadFile::Missing | HeadFile::WrongKey | HeadFile::Invalid { .. } => None,
        },
        torn_tail: None,
        problem: None,
    };
    if head == HeadFile::WrongKey {
        report.problem = Some(Problem {
            file: Some(HEAD_NAME.to_owned()),
            line: None,
            offset: None,
            seq: None,
            kind: ProblemKind::WrongKey,
        });
        return Ok(report);
    }
    if let Some(name) = listing.unexpected {
        report.problem = Some(Problem {
            file: Some(name),
            line: None,
            offset: None,
            seq: None,
            kind: ProblemKind::UnexpectedFile,
        });
        return Ok(report);
    }
    let mut walker = Walker::whole(key, &audit_dir, listing.files, head, expect_head);
    let mut last = None;
    loop {
        match walker.next_record() {
            Ok(Some(record)) => {
                report.records += 1;
                last = Some(HeadRef { seq: record.seq, hash: record.hash });
            }
            Ok(None) => break,
            Err(AuditError::Tampered(problem)) => {
                report.problem = Some(*problem);
                break;
            }
            Err(err) => return Err(err),
        }
    }
    report.last = last;
    report.torn_tail = walker.end().torn_tail.clone();
    Ok(report)
}

#[cfg(test)]
mod tests;
