//! `quiver audit verify` and `quiver audit show`: the operator's side of the tamper-evident
//! audit log (`quiver-audit`) that `serve` writes under `DIR/audit/`.
//!
//! The audit key lives beside the data directory, never inside it (`DIR.audit-key` by
//! default, [`default_key_path`]): someone who can edit the log but not read that file cannot
//! forge a record. `serve` creates it on first start; these commands only read it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use quiver_audit::{AuditKey, EventKind, HeadRef, RecordFilter, parse_timestamp, read_records};

/// The audit key's default path: `DIR.audit-key`, a sibling of the data directory.
pub(crate) fn default_key_path(data_dir: &Path) -> PathBuf {
    crate::keys::beside(data_dir, ".audit-key")
}

#[derive(clap::Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the whole log: every record's MAC, the hash chain across files, sequence numbers
    /// and the signed HEAD. Exits 0 when it holds; otherwise exits 1 naming the first bad
    /// record (file, line, sequence number, what is wrong).
    Verify {
        #[arg(long)]
        data_dir: PathBuf,
        /// The audit key (default: DIR.audit-key beside the data directory).
        #[arg(long)]
        audit_key_file: Option<PathBuf>,
        /// A head printed by an earlier verify (`SEQ:HASH`), kept elsewhere: the log must
        /// still contain that record, which detects a rollback of the whole directory.
        #[arg(long)]
        expect_head: Option<String>,
    },
    /// Print the verified records that match the filters, one JSON object per line. Stops
    /// with exit 1 at the first record that fails verification.
    Show {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        audit_key_file: Option<PathBuf>,
        /// Only events by this user.
        #[arg(long)]
        user: Option<String>,
        /// Only these kinds (repeatable): auth, ddl, dcl, write, read, admin, lifecycle.
        #[arg(long = "kind", value_parser = parse_kind)]
        kinds: Vec<EventKind>,
        /// Only events about this database.
        #[arg(long)]
        db: Option<String>,
        /// Only events about this collection.
        #[arg(long)]
        collection: Option<String>,
        /// Only records written at or after this time (RFC 3339, e.g. 2026-11-28T10:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Only records written before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
    },
}

fn parse_kind(text: &str) -> Result<EventKind, String> {
    serde_json::from_value(serde_json::Value::String(text.to_ascii_lowercase())).map_err(|_| {
        format!("unknown kind {text:?}: auth, ddl, dcl, write, read, admin or lifecycle")
    })
}

fn load_key(data_dir: &Path, file: Option<&Path>) -> anyhow::Result<AuditKey> {
    let path = file.map_or_else(|| default_key_path(data_dir), Path::to_path_buf);
    AuditKey::from_file(&path).with_context(|| format!("audit key {}", path.display()))
}

/// Runs an audit command; `Ok(false)` means "ran, and found the log not intact".
pub(crate) fn run(command: AuditCommand) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    match command {
        AuditCommand::Verify { data_dir, audit_key_file, expect_head } => {
            let key = load_key(&data_dir, audit_key_file.as_deref())?;
            let expect = expect_head
                .map(|text| HeadRef::parse(&text))
                .transpose()
                .context("--expect-head")?;
            let report = quiver_audit::verify(&data_dir, &key, expect)
                .with_context(|| format!("audit log of {}", data_dir.display()))?;
            if let Some(torn) = &report.torn_tail {
                writeln!(out, "note: {torn:?} (a crash's trace, cut off at the next open)")?;
            }
            if let Some(problem) = &report.problem {
                writeln!(
                    out,
                    "audit log NOT intact: {problem} ({} records verified before it)",
                    report.records
                )?;
                return Ok(false);
            }
            let last = report.last.map_or_else(|| "none".to_owned(), |h| h.to_string());
            writeln!(
                out,
                "audit log intact: {} records in {} files; last record {last} (keep it elsewhere \
                 and pass it as --expect-head later to detect a rollback)",
                report.records, report.files
            )?;
            Ok(true)
        }
        AuditCommand::Show {
            data_dir,
            audit_key_file,
            user,
            kinds,
            db,
            collection,
            since,
            until,
        } => {
            let key = load_key(&data_dir, audit_key_file.as_deref())?;
            let time = |text: Option<String>, flag: &str| {
                text.map(|t| parse_timestamp(&t).with_context(|| format!("--{flag} {t:?}")))
                    .transpose()
            };
            let filter = RecordFilter {
                user,
                kinds,
                db,
                collection,
                since_ms: time(since, "since")?,
                until_ms: time(until, "until")?,
                seqs: None,
            };
            for record in read_records(&data_dir, &key, filter)? {
                let record = match record {
                    Ok(record) => record,
                    Err(err) => {
                        writeln!(out, "audit log NOT intact: {err}")?;
                        return Ok(false);
                    }
                };
                let line = serde_json::json!({
                    "seq": record.seq,
                    "ts": record.ts,
                    "event": record.event,
                });
                writeln!(out, "{line}")?;
            }
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_case_insensitively_and_unknown_ones_are_refused() {
        assert_eq!(parse_kind("DDL").unwrap(), EventKind::Ddl);
        assert_eq!(parse_kind("write").unwrap(), EventKind::Write);
        assert!(parse_kind("writes").unwrap_err().contains("lifecycle"));
    }
}
