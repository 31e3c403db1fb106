//! The audit directory: where the log files and HEAD live and how they are named.
//!
//! ```text
//! ROOT/audit/LOCK                          held (advisory exclusive lock) by the one writer
//! ROOT/audit/HEAD                          see `head`
//! ROOT/audit/<first seq:020>.jsonl         log files, each named by the seq of its first record
//! ```
//!
//! The names are fixed-width, so their order as text is their order in the log. `HEAD.tmp` is
//! the temporary file of HEAD's atomic replacement and is ignored (a crash may leave it), as
//! is `LOCK`; any other entry is reported as an unexpected file.

use std::fs;
use std::io;
use std::path::Path;

use crate::error::AuditError;
use crate::head::HEAD_NAME;

/// The directory key of the log under the backend root.
pub(crate) const AUDIT_DIR: &str = "audit";

/// The name of the lock file in the audit directory.
pub(crate) const LOCK_NAME: &str = "LOCK";

const LOG_SUFFIX: &str = ".jsonl";
const SEQ_DIGITS: usize = 20;

/// A log file: its name and the seq of its first record according to the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogFileName {
    pub(crate) first_seq: u64,
    pub(crate) name: String,
}

/// The entries of the audit directory, classified.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// The log files in log order.
    pub(crate) files: Vec<LogFileName>,
    /// The first entry (in name order) that is neither a log file, HEAD nor `HEAD.tmp`.
    pub(crate) unexpected: Option<String>,
}

/// The name of the log file whose first record is `first_seq`.
pub(crate) fn file_name(first_seq: u64) -> String {
    format!("{first_seq:020}{LOG_SUFFIX}")
}

/// The backend key of the log file whose first record is `first_seq`.
pub(crate) fn file_key(first_seq: u64) -> String {
    format!("{AUDIT_DIR}/{}", file_name(first_seq))
}

/// The backend key of HEAD.
pub(crate) fn head_key() -> String {
    format!("{AUDIT_DIR}/{HEAD_NAME}")
}

/// The first seq a log file name stands for, if it is exactly a log file name.
pub(crate) fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(LOG_SUFFIX)?;
    if digits.len() != SEQ_DIGITS || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Lists `audit_dir` (a missing directory is empty).
pub(crate) fn list(audit_dir: &Path) -> Result<Listing, AuditError> {
    let shown = audit_dir.display().to_string();
    let entries = match fs::read_dir(audit_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Listing::default()),
        Err(err) => return Err(AuditError::io("list", &shown, err)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|err| AuditError::io("list", &shown, err))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let mut listing = Listing::default();
    for name in names {
        if name == HEAD_NAME || name == LOCK_NAME || name == format!("{HEAD_NAME}.tmp") {
            continue;
        }
        match parse_file_name(&name) {
            Some(first_seq) => listing.files.push(LogFileName { first_seq, name }),
            None => {
                if listing.unexpected.is_none() {
                    listing.unexpected = Some(name);
                }
            }
        }
    }
    Ok(listing)
}
