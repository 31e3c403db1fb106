//! `quiver audit verify` and `quiver audit show`: the operator's side of the tamper-evident
//! audit log (`quiver-audit`) that `serve` writes under `DIR/audit/`.
//!
//! The audit key lives beside the data directory, never inside it (`DIR.audit-key` by
//! default, [`default_key_path`]): someone who can edit the log but not read that file cannot
//! forge a record. `serve` creates it on first start ([`serve_key`]); these commands only read
//! it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
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

/// The audit key for serving `data_dir`, from `key_file`, resolved like the master key
/// (`crate::keys::master_key`): a key file inside the data directory is refused; a missing
/// file is created (mode 0600) only when the data directory is new (`fresh`); a data
/// directory that holds data and has no audit key is refused, naming the path, never given a
/// new key (that would start a new log and hide the old one's loss).
pub(crate) fn serve_key(data_dir: &Path, key_file: &Path, fresh: bool) -> anyhow::Result<AuditKey> {
    check_key_outside(data_dir, key_file)?;
    if key_file.exists() {
        return AuditKey::from_file(key_file)
            .with_context(|| format!("audit key file {}", key_file.display()));
    }
    if !fresh {
        bail!(
            "the data directory holds data but the audit key file {} does not exist: give the \
             audit key of this data directory (--audit-key-file)",
            key_file.display()
        );
    }
    let key = AuditKey::create_file(key_file)
        .with_context(|| format!("cannot create the audit key file {}", key_file.display()))?;
    tracing::warn!(
        path = %key_file.display(),
        "generated the audit key; keep it apart from the data: it verifies the audit log"
    );
    println!("quiver: audit key written to {}", key_file.display());
    Ok(key)
}

/// Refuses an audit key file inside the data directory, where whoever can edit the log could
/// read the key and forge records. Both must exist or have an existing parent.
fn check_key_outside(data_dir: &Path, key_file: &Path) -> anyhow::Result<()> {
    let data = fs::canonicalize(data_dir)
        .with_context(|| format!("data directory {}", data_dir.display()))?;
    let parent = key_file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let parent = fs::canonicalize(parent)
        .with_context(|| format!("directory of the audit key file {}", key_file.display()))?;
    if parent.starts_with(&data) {
        bail!(
            "the audit key file {} is inside the data directory {}: keep it outside, or anyone \
             who can edit the log can also forge its records",
            key_file.display(),
            data_dir.display()
        );
    }
    Ok(())
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
    fn the_audit_key_is_created_only_for_a_new_data_directory_and_never_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir_all(&data).unwrap();
        let file = dir.path().join("data.audit-key");
        let err = serve_key(&data, &file, false).unwrap_err();
        assert!(err.to_string().contains(&file.display().to_string()), "{err}");
        assert!(!file.exists());
        serve_key(&data, &file, true).unwrap();
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&file).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        // Loaded, not replaced, on the next start.
        let text = fs::read_to_string(&file).unwrap();
        serve_key(&data, &file, false).unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), text);
        let inside = serve_key(&data, &data.join("audit.key"), true).unwrap_err();
        assert!(inside.to_string().contains("inside the data directory"), "{inside}");
        assert!(!data.join("audit.key").exists());
    }

    #[test]
    fn kinds_parse_case_insensitively_and_unknown_ones_are_refused() {
        assert_eq!(parse_kind("DDL").unwrap(), EventKind::Ddl);
        assert_eq!(parse_kind("write").unwrap(), EventKind::Write);
        assert!(parse_kind("writes").unwrap_err().contains("lifecycle"));
    }
}
