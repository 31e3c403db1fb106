//! `quiver trash`: the recycle bin of a data directory, from the operator's side — list the
//! dropped collections, restore one, purge one or every expired one (partitions included),
//! point-in-time restore of a collection into a new one, and the same for the dropped
//! partitions a collection keeps in its own bin.
//!
//! The commands open the data directory directly (with its master key, like `serve`), so they
//! fail while a server holds it; the message then says to stop the server or to use the REST
//! endpoint. Each restore and purge is recorded as an `admin` event in the directory's audit
//! log, which is opened before anything changes: without the audit key nothing is done.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use quiver_audit::{
    AdminAction, AuditKey, AuditLog, AuditOptions, Event, Outcome, Text, UserName,
    format_timestamp, parse_timestamp,
};
use quiver_engine::{Database, Encryption, EngineError, Options};

use crate::{audit, config, keys};

#[derive(clap::Subcommand)]
pub(crate) enum TrashCommand {
    /// List the dropped collections in the recycle bin: id, database, name, when dropped,
    /// when the bin purges it, and its rows.
    List(DirArgs),
    /// Restore a dropped collection by its id, under its old name or `--as NAME`. Its
    /// database is recreated if it was dropped meanwhile.
    Restore {
        #[command(flatten)]
        dir: DirArgs,
        /// The id `quiver trash list` shows.
        id: u64,
        /// Restore under this name (needed when the old name is taken).
        #[arg(long = "as")]
        name: Option<String>,
    },
    /// Remove a dropped collection for good (files and data key), or every expired collection
    /// and partition.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["id", "expired"])))]
    Purge {
        #[command(flatten)]
        dir: DirArgs,
        /// The id `quiver trash list` shows.
        id: Option<u64>,
        /// Purge every entry older than the retention (`--config`'s, else 7 days).
        #[arg(long)]
        expired: bool,
    },
    /// Create collection `--into` holding exactly the rows collection `--collection` had at
    /// `--at` (inside the retention window), with its schema, partitions and indexes.
    RestoreTo {
        #[command(flatten)]
        dir: DirArgs,
        #[arg(long, default_value = "default")]
        db: String,
        #[arg(long)]
        collection: String,
        /// RFC 3339 in UTC: 2026-11-28T10:00:00Z or 2026-11-28T10:00:00.250Z.
        #[arg(long)]
        at: String,
        #[arg(long)]
        into: String,
    },
    /// List the dropped partitions of a collection: id, name, when dropped, when the bin
    /// purges it, and its rows.
    Partitions {
        #[command(flatten)]
        dir: DirArgs,
        #[command(flatten)]
        of: CollectionArgs,
    },
    /// Restore a dropped partition, with its rows, by the id `quiver trash partitions` shows,
    /// under its old name or `--as NAME`.
    RestorePartition {
        #[command(flatten)]
        dir: DirArgs,
        #[command(flatten)]
        of: CollectionArgs,
        id: i64,
        #[arg(long = "as")]
        name: Option<String>,
    },
    /// Remove a dropped partition and its files for good.
    PurgePartition {
        #[command(flatten)]
        dir: DirArgs,
        #[command(flatten)]
        of: CollectionArgs,
        id: i64,
    },
}

/// The collection whose partition bin a command reads.
#[derive(clap::Args)]
pub(crate) struct CollectionArgs {
    #[arg(long, default_value = "default")]
    db: String,
    #[arg(long)]
    collection: String,
}

#[derive(clap::Args)]
pub(crate) struct DirArgs {
    #[arg(long)]
    data_dir: PathBuf,
    /// The master key file [default: DIR.master-key]; QUIVER_MASTER_KEY may hold the key.
    #[arg(long)]
    master_key_file: Option<PathBuf>,
    /// The audit key file [default: DIR.audit-key].
    #[arg(long)]
    audit_key_file: Option<PathBuf>,
    /// The server's config file, for its `[deletion] retention_hours` (what "expired" means
    /// and how far back a point-in-time restore may go) [default: 168 hours].
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Runs a trash command, printing its result.
pub(crate) fn run(command: TrashCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        TrashCommand::List(dir) => {
            let db = open(&dir)?;
            writeln!(
                out,
                "{:<8} {:<16} {:<24} {:<24} {:<24} ROWS",
                "ID", "DB", "NAME", "DROPPED", "EXPIRES"
            )?;
            for entry in db.list_trash() {
                let rows = db
                    .trashed_row_count(entry.id)
                    .map_or_else(|err| format!("unavailable: {err}"), |n| n.to_string());
                writeln!(
                    out,
                    "{:<8} {:<16} {:<24} {:<24} {:<24} {rows}",
                    entry.id,
                    entry.database,
                    entry.name,
                    format_timestamp(entry.dropped_ms),
                    format_timestamp(entry.expires_ms),
                )?;
            }
        }
        TrashCommand::Restore { dir, id, name } => {
            let db = open(&dir)?;
            let log = open_audit(&dir)?;
            let detail = format!("trash id {id} as {}", name.as_deref().unwrap_or("its old name"));
            let result = db.restore_collection(id, name.as_deref());
            record(log, AdminAction::Restore, &detail, result.as_ref().err())?;
            let collection = result.with_context(|| format!("cannot restore trash id {id}"))?;
            writeln!(out, "restored trash id {id} as collection {:?}", collection.name())?;
        }
        TrashCommand::Purge { dir, id, expired } => {
            let db = open(&dir)?;
            let log = open_audit(&dir)?;
            if expired {
                let result = purge_expired(&db);
                let detail = match &result {
                    Ok(purged) => format!("expired trash: {purged}"),
                    Err(_) => "expired trash".to_owned(),
                };
                record(log, AdminAction::Purge, &detail, result.as_ref().err())?;
                let purged = result.context("cannot purge the expired trash")?;
                writeln!(out, "purged {purged}")?;
            } else if let Some(id) = id {
                let result = db.purge_trash(id);
                record(log, AdminAction::Purge, &format!("trash id {id}"), result.as_ref().err())?;
                result.with_context(|| format!("cannot purge trash id {id}"))?;
                writeln!(out, "purged trash id {id}")?;
            }
        }
        TrashCommand::RestoreTo { dir, db: database, collection, at, into } => {
            let at_ms = parse_time(&at)?;
            let db = open(&dir)?;
            let log = open_audit(&dir)?;
            let detail = format!("{database}.{collection} as of {at} into {into}");
            let result = db.restore_collection_as_of(&database, &collection, at_ms, &into);
            record(log, AdminAction::Restore, &detail, result.as_ref().err())?;
            let restored = result
                .map_err(readable_window)
                .with_context(|| format!("cannot restore {detail}"))?;
            writeln!(out, "restored {detail}: {} rows", restored.count())?;
        }
        TrashCommand::Partitions { dir, of } => {
            let db = open(&dir)?;
            let collection = of.open(&db)?;
            writeln!(out, "{:<8} {:<24} {:<24} {:<24} ROWS", "ID", "NAME", "DROPPED", "EXPIRES")?;
            for entry in collection.list_trashed_partitions() {
                writeln!(
                    out,
                    "{:<8} {:<24} {:<24} {:<24} {}",
                    entry.id,
                    entry.name,
                    format_timestamp(entry.dropped_ms),
                    format_timestamp(entry.expires_ms),
                    entry.rows,
                )?;
            }
        }
        TrashCommand::RestorePartition { dir, of, id, name } => {
            let db = open(&dir)?;
            let collection = of.open(&db)?;
            let log = open_audit(&dir)?;
            let as_name = name.as_deref().unwrap_or("its old name");
            let detail = format!("partition id {id} of {}.{} as {as_name}", of.db, of.collection);
            let result = collection.restore_partition(id, name.as_deref());
            record(log, AdminAction::Restore, &detail, result.as_ref().err())?;
            result.with_context(|| format!("cannot restore {detail}"))?;
            writeln!(out, "restored {detail}")?;
        }
        TrashCommand::PurgePartition { dir, of, id } => {
            let db = open(&dir)?;
            let collection = of.open(&db)?;
            let log = open_audit(&dir)?;
            let detail = format!("partition id {id} of {}.{}", of.db, of.collection);
            let result = collection.purge_partition(id);
            record(log, AdminAction::Purge, &detail, result.as_ref().err())?;
            result.with_context(|| format!("cannot purge {detail}"))?;
            writeln!(out, "purged {detail}")?;
        }
    }
    Ok(())
}

impl CollectionArgs {
    fn open(&self, db: &Database) -> anyhow::Result<std::sync::Arc<quiver_engine::Collection>> {
        db.collection(&self.db, &self.collection)
            .with_context(|| format!("cannot open collection {}.{}", self.db, self.collection))
    }
}

/// Purges the expired dropped collections, then the expired dropped partitions of every live
/// collection (what the server's maintenance task does), and says what went.
fn purge_expired(db: &Database) -> Result<String, EngineError> {
    let now = now_ms();
    let collections = db.purge_expired(now)?;
    let mut partitions = Vec::new();
    for database in db.list_databases() {
        for name in db.list_collections(&database)? {
            let collection = db.collection(&database, &name)?;
            for id in collection.purge_expired_partitions(now)? {
                partitions.push(format!("{database}.{name}#{id}"));
            }
        }
    }
    Ok(format!("collections (trash ids) {collections:?}, partitions {partitions:?}"))
}

/// Opens the data directory like `serve` (encrypted under its master key), without the
/// background tasks.
fn open(dir: &DirArgs) -> anyhow::Result<Database> {
    let data_dir = &dir.data_dir;
    if !data_dir.is_dir() {
        bail!("{} is not a data directory", data_dir.display());
    }
    let key_file =
        dir.master_key_file.clone().unwrap_or_else(|| keys::default_master_key_path(data_dir));
    keys::check_outside(data_dir, &key_file)?;
    let master_key = keys::master_key(&key_file, false)?;
    let retention = match &dir.config {
        Some(path) => config::deletion(&config::read_file_config(path)?.deletion)?.0,
        None => config::deletion(&config::DeletionFile::default())?.0,
    };
    // No maintenance thread: nothing is purged unless the command says so.
    let options = Options {
        encryption: Some(Encryption::new(master_key)),
        maintenance_interval: None,
        trash_retention: retention,
        ..Options::default()
    };
    Database::open(data_dir, options).map_err(|err| match err {
        EngineError::Locked { .. } => anyhow::anyhow!(
            "the data directory {} is in use, most likely by `quiver serve`: stop the server \
             first, or use its REST endpoint (POST /v2/vectordb/collections/restore)",
            data_dir.display()
        ),
        other => anyhow::Error::new(other).context(format!("cannot open {}", data_dir.display())),
    })
}

fn open_audit(dir: &DirArgs) -> anyhow::Result<AuditLog> {
    let path = dir.audit_key_file.clone().unwrap_or_else(|| audit::default_key_path(&dir.data_dir));
    let key = AuditKey::from_file(&path).with_context(|| {
        format!("audit key {} (restores and purges are audited)", path.display())
    })?;
    AuditLog::open(&dir.data_dir, key, AuditOptions::default())
        .with_context(|| format!("cannot open the audit log of {}", dir.data_dir.display()))
}

/// A refused restore time, with the window in RFC 3339 rather than milliseconds.
fn readable_window(err: EngineError) -> anyhow::Error {
    match err {
        EngineError::RestorePointOutOfRange { requested_ms, earliest_ms, latest_ms } => {
            anyhow::anyhow!(
                "{} is outside the restorable window, from {} to now ({})",
                format_timestamp(requested_ms),
                format_timestamp(earliest_ms),
                format_timestamp(latest_ms)
            )
        }
        other => other.into(),
    }
}

/// Appends the admin event of an action, durably, whether it succeeded or not, and closes
/// the log.
fn record(
    log: AuditLog,
    action: AdminAction,
    detail: &str,
    error: Option<&EngineError>,
) -> anyhow::Result<()> {
    let outcome = match error {
        None => Outcome::Ok,
        Some(
            EngineError::TrashNotFound { .. }
            | EngineError::PartitionTrashNotFound { .. }
            | EngineError::CollectionNotFound { .. },
        ) => Outcome::NotFound,
        Some(
            EngineError::InvalidRequest { .. }
            | EngineError::Model(_)
            | EngineError::CollectionExists { .. }
            | EngineError::PartitionExists { .. }
            | EngineError::TooManyPartitions { .. }
            | EngineError::NameConflict { .. }
            | EngineError::RestorePointOutOfRange { .. },
        ) => Outcome::Invalid,
        Some(_) => Outcome::Failed,
    };
    let event = Event::Admin {
        user: UserName::new(&local_user()),
        peer: None,
        action,
        detail: Text::new(detail),
        outcome,
    };
    log.append(&event).context("cannot write the audit record")?;
    log.close().context("cannot close the audit log")?;
    Ok(())
}

/// The local account running the command, as the audit record's user.
fn local_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "local".into())
}

fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// RFC 3339 in UTC, with or without milliseconds.
fn parse_time(text: &str) -> anyhow::Result<u64> {
    let full = match text.strip_suffix('Z') {
        Some(seconds) if text.len() == 20 => format!("{seconds}.000Z"),
        _ => text.to_owned(),
    };
    match parse_timestamp(&full) {
        Some(ms) => Ok(ms),
        None => bail!(
            "--at {text:?} is not an RFC 3339 UTC time such as 2026-11-28T10:00:00Z or \
             2026-11-28T10:00:00.250Z"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times_are_rfc3339_utc_with_or_without_milliseconds() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_time("1970-01-01T00:00:01.250Z").unwrap(), 1250);
        assert!(parse_time("1970-01-01T00:00:01+02:00").is_err());
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("").is_err());
    }
}
