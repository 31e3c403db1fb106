//! What [`crate::AuditLog::open`] finds on disk: a new log, or where an existing one ends.
//!
//! * No HEAD and no log file: a new log. HEAD (0 records) is written before any log file, so
//!   that log files without HEAD can only mean that HEAD was removed.
//! * HEAD present: the files from the one holding HEAD's record to the end are checked as
//!   `verify` would (`Walker::tail`); the log must reach HEAD. Older files are not read: open
//!   costs one file, not the whole history (`verify` is the whole check).
//! * A torn last line after HEAD (a crash in the middle of an append) is cut off with
//!   [`Backend::truncate`] and reported, for the Lifecycle record the log then writes.
//! * Anything else, including an unexpected file, HEAD missing beside log files, a HEAD under
//!   another key, is [`AuditError::Tampered`]: the log is not opened, and the operator runs
//!   `verify` to see the whole report.

use std::path::Path;

use quiver_storage::Backend;

use crate::error::{AuditError, Problem, ProblemKind};
use crate::event::{Event, LifecycleAction};
use crate::files::{AUDIT_DIR, file_key, head_key, list};
use crate::head::{HEAD_NAME, Head, HeadFile, encode_head, read_head};
use crate::key::AuditKey;
use crate::line::GENESIS;
use crate::walk::{TornTail, Walker};

/// Where the log stands after open's checks and repairs.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// The durable end of the log (all of it: records after HEAD are durable too).
    pub(crate) head: Head,
    /// The file the next record goes to, and its length.
    pub(crate) tail_file: u64,
    pub(crate) tail_file_bytes: u64,
    /// True when the log was new.
    pub(crate) created: bool,
    /// The torn line that was cut off.
    pub(crate) torn_tail: Option<TornTail>,
    /// True when the last record was a clean close.
    pub(crate) closed_cleanly: bool,
}

/// Examines (and creates or repairs) the log in `root/audit`; see the module documentation.
pub(crate) fn recover(
    backend: &dyn Backend,
    root: &Path,
    key: &AuditKey,
) -> Result<Recovered, AuditError> {
    let audit_dir = root.join(AUDIT_DIR);
    let head = read_head(&audit_dir.join(HEAD_NAME), key)?;
    let listing = list(&audit_dir)?;
    if let Some(name) = listing.unexpected {
        return Err(tampered(Some(name), ProblemKind::UnexpectedFile));
    }
    let head = match head {
        HeadFile::Missing if listing.files.is_empty() => {
            let empty = Head { records: 0, last: GENESIS };
            backend.write_atomic(&head_key(), &encode_head(key, &empty)?)?;
            empty
        }
        HeadFile::Missing => return Err(tampered(head_name(), ProblemKind::HeadMissing)),
        HeadFile::WrongKey => return Err(tampered(head_name(), ProblemKind::WrongKey)),
        HeadFile::Invalid { reason } => {
            return Err(tampered(head_name(), ProblemKind::HeadInvalid { reason }));
        }
        HeadFile::Valid(head) => head,
    };
    let created = head.records == 0 && listing.files.is_empty();
    let mut walker = Walker::tail(key, &audit_dir, listing.files, head);
    let mut closed_cleanly = false;
    while let Some(record) = walker.next_record()? {
        closed_cleanly =
            matches!(record.event, Event::Lifecycle { action: LifecycleAction::Closed, .. });
    }
    let end = walker.end().clone();
    if let Some(torn) = &end.torn_tail
        && let Some((file, _)) = &end.last_file
    {
        backend.truncate(&file_key(file.first_seq), torn.offset)?;
    }
    let (tail_file, tail_file_bytes) = match &end.last_file {
        Some((file, len)) => (file.first_seq, *len),
        None => (end.next_seq, 0),
    };
    Ok(Recovered {
        head: Head { records: end.next_seq, last: end.last_hash.unwrap_or(GENESIS) },
        tail_file,
        tail_file_bytes,
        created,
        torn_tail: end.torn_tail,
        closed_cleanly,
    })
}

fn head_name() -> Option<String> {
    Some(HEAD_NAME.to_owned())
}

fn tampered(file: Option<String>, kind: ProblemKind) -> AuditError {
    AuditError::Tampered(Box::new(Problem { file, line: None, offset: None, seq: None, kind }))
}
