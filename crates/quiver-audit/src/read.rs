//! Reading the log: [`read_records`] yields the verified records that pass a
//! [`RecordFilter`], for `quiver audit show`.
//!
//! Every line is verified as [`crate::verify()`] does, shown or not, so a record is yielded only
//! if the log up to it is intact; the first problem is yielded as [`AuditError::Tampered`] and
//! ends the iteration (the records before it were genuine). HEAD is checked at the end, so the
//! last item of a log whose tail was cut off is that error. Filtering happens after
//! verification: filters make the output shorter, not the check.

use std::ops::RangeInclusive;
use std::path::Path;

use crate::error::{AuditError, Problem, ProblemKind};
use crate::event::{Event, EventKind};
use crate::files::{AUDIT_DIR, list};
use crate::head::{HEAD_NAME, HeadFile, read_head};
use crate::key::AuditKey;
use crate::walk::Walker;

/// Which records [`read_records`] yields; every condition given must hold (`None` or empty
/// means any).
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Records of events by this user (exact match).
    pub user: Option<String>,
    /// Records of events of these kinds.
    pub kinds: Vec<EventKind>,
    /// Records of events about this database (exact match).
    pub db: Option<String>,
    /// Records of events about this collection (exact match).
    pub collection: Option<String>,
    /// Records written at or after this time (Unix milliseconds).
    pub since_ms: Option<u64>,
    /// Records written before this time (Unix milliseconds).
    pub until_ms: Option<u64>,
    /// Records with these sequence numbers.
    pub seqs: Option<RangeInclusive<u64>>,
}

impl RecordFilter {
    /// True if `record` passes every condition.
    pub fn matches(&self, record: &AuditRecord) -> bool {
        let event = &record.event;
        self.user.as_deref().is_none_or(|user| event.user() == Some(user))
            && (self.kinds.is_empty() || self.kinds.contains(&event.kind()))
            && self.db.as_deref().is_none_or(|db| event.db() == Some(db))
            && self.collection.as_deref().is_none_or(|name| event.collection() == Some(name))
            && self.since_ms.is_none_or(|since| record.unix_ms >= since)
            && self.until_ms.is_none_or(|until| record.unix_ms < until)
            && self.seqs.as_ref().is_none_or(|seqs| seqs.contains(&record.seq))
    }
}

/// A verified record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: u64,
    /// The timestamp as written (RFC 3339, UTC, milliseconds).
    pub ts: String,
    /// The same instant in Unix milliseconds.
    pub unix_ms: u64,
    pub event: Event,
}

/// The iterator of [`read_records`].
pub struct AuditRecords<'k> {
    walker: Option<Walker<'k>>,
    /// A problem found before the walk (wrong key, unexpected file), yielded first.
    early: Option<Problem>,
    filter: RecordFilter,
}

/// The verified records of the log under `root` that pass `filter`, in log order; see the
/// module documentation.
pub fn read_records<'k>(
    root: &Path,
    key: &'k AuditKey,
    filter: RecordFilter,
) -> Result<AuditRecords<'k>, AuditError> {
    let audit_dir = root.join(AUDIT_DIR);
    let head = read_head(&audit_dir.join(HEAD_NAME), key)?;
    let listing = list(&audit_dir)?;
    let early = if head == HeadFile::WrongKey {
        Some(Problem {
            file: Some(HEAD_NAME.to_owned()),
            line: None,
            offset: None,
            seq: None,
            kind: ProblemKind::WrongKey,
        })
    } else {
        listing.unexpected.clone().map(|name| Problem {
            file: Some(name),
            line: None,
            offset: None,
            seq: None,
            kind: ProblemKind::UnexpectedFile,
        })
    };
    let walker = Walker::whole(key, &audit_dir, listing.files, head, None);
    Ok(AuditRecords { walker: Some(walker), early, filter })
}

impl Iterator for AuditRecords<'_> {
    type Item = Result<AuditRecord, AuditError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(problem) = self.early.take() {
            self.walker = None;
            return Some(Err(AuditError::Tampered(Box::new(problem))));
        }
        loop {
            let walker = self.walker.as_mut()?;
            match walker.next_record() {
                Ok(Some(checked)) => {
                    let record = AuditRecord {
                        seq: checked.seq,
                        ts: checked.ts,
                        unix_ms: checked.unix_ms,
                        event: checked.event,
                    };
                    if self.filter.matches(&record) {
                        return Some(Ok(record));
                    }
                }
                Ok(None) => {
                    self.walker = None;
                    return None;
                }
                Err(err) => {
                    self.walker = None;
                    return Some(Err(err));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
