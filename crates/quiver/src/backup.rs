//! `quiver backup create|verify|restore`: the operator's side of `quiver-backup`.
//!
//! `create` works beside a running server (it does not take the data directory's lock) and
//! writes an `Admin{Backup}` record into the directory's audit log when it can: while a
//! server runs, the server holds that log, and the command says so and carries on. `restore`
//! writes an `Admin{Restore}` record into the new directory's audit log, under a new audit key
//! at `NEWDIR.audit-key`. The master key is resolved as for `serve` (`QUIVER_MASTER_KEY`, else
//! `--master-key-file`, default `DIR.master-key`); `verify` has no data directory, so it needs
//! `--master-key-file` or `QUIVER_MASTER_KEY`. Progress goes to standard error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use quiver_audit::{AdminAction, AuditKey, AuditLog, AuditOptions, Event, Outcome, Text, UserName};
use quiver_backup::Location;
use quiver_storage::MasterKey;

use crate::keys;

#[derive(clap::Subcommand)]
pub(crate) enum BackupCommand {
    /// Copy DIR into a new backup at PATH (must not exist or be empty): a consistent state of
    /// each collection, even while `serve` runs on DIR; files stay encrypted; a manifest of
    /// BLAKE3 hashes signed with a key derived from the master key is written last.
    Create {
        #[arg(long)]
        data_dir: PathBuf,
        /// Where to write the backup: a local directory, or `s3://bucket/prefix` (which must
        /// hold no object yet).
        #[arg(long)]
        to: PathBuf,
        /// The master key [default: DIR.master-key]; QUIVER_MASTER_KEY may hold it instead.
        #[arg(long)]
        master_key_file: Option<PathBuf>,
        /// DIR's audit key, to record the backup in DIR's audit log [default: DIR.audit-key].
        #[arg(long)]
        audit_key_file: Option<PathBuf>,
    },
    /// Check a backup: its signature, then every file's size and hash, and that it holds
    /// nothing else (no extra files, links or special files). Exits 0 when it holds.
    Verify {
        /// The backup: a directory, or `s3://bucket/prefix`.
        path: PathBuf,
        /// The master key of the backed-up directory (or set QUIVER_MASTER_KEY).
        #[arg(long)]
        master_key_file: Option<PathBuf>,
    },
    /// Restore a verified backup into NEWDIR (must not exist or be empty), then open it to
    /// prove it works. Refuses a backup that does not verify; never writes outside NEWDIR.
    Restore {
        /// The backup: a directory, or `s3://bucket/prefix`.
        path: PathBuf,
        /// The new data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The master key [default: NEWDIR.master-key]; QUIVER_MASTER_KEY may hold it instead.
        #[arg(long)]
        master_key_file: Option<PathBuf>,
    },
}

/// Runs a backup command; an error is the reason for a non-zero exit.
pub(crate) fn run(command: BackupCommand) -> anyhow::Result<()> {
    match command {
        BackupCommand::Create { data_dir, to, master_key_file, audit_key_file } => {
            let file = master_key_file.unwrap_or_else(|| keys::default_master_key_path(&data_dir));
            let master = load_master_key(&file)?;
            let to = Location::parse(&to)?;
            if let Location::Local(dir) = &to {
                refuse_inside(&data_dir, dir)?;
            }
            let mut progress = ProgressLine::new();
            let result = quiver_backup::create_at(&data_dir, &to, &master, &mut progress);
            progress.finish();
            let outcome = if result.is_ok() { Outcome::Ok } else { Outcome::Failed };
            let audit_key =
                audit_key_file.unwrap_or_else(|| crate::audit::default_key_path(&data_dir));
            audit_backup(&data_dir, &audit_key, &to, outcome);
            let manifest = result.with_context(|| format!("no backup written to {to}"))?;
            println!(
                "backup of {} written to {}: {} files, {} bytes, master key {}",
                data_dir.display(),
                to,
                manifest.total_files,
                manifest.total_bytes,
                manifest.master_key_id
            );
            Ok(())
        }
        BackupCommand::Verify { path, master_key_file } => {
            let master = verify_key(master_key_file.as_deref())?;
            let path = Location::parse(&path)?;
            let mut progress = ProgressLine::new();
            let result = quiver_backup::verify_at(&path, &master, &mut progress);
            progress.finish();
            let manifest = result.with_context(|| format!("backup {path} NOT intact"))?;
            println!(
                "backup {} intact: {} files, {} bytes, signed with master key {}",
                path, manifest.total_files, manifest.total_bytes, manifest.master_key_id
            );
            Ok(())
        }
        BackupCommand::Restore { path, data_dir, master_key_file } => {
            let file = master_key_file.unwrap_or_else(|| keys::default_master_key_path(&data_dir));
            let master = load_master_key(&file)?;
            let path = Location::parse(&path)?;
            let mut progress = ProgressLine::new();
            let result = quiver_backup::restore_at(&path, &data_dir, &master, &mut progress);
            progress.finish();
            let manifest = result
                .with_context(|| format!("cannot restore {path} into {}", data_dir.display()))?;
            audit_restore(&data_dir, &path).with_context(|| {
                format!(
                    "restored {path} into {}, but could not write the audit record of the restore",
                    data_dir.display()
                )
            })?;
            println!(
                "restored {} into {}: {} files, {} bytes; it opens with master key {}",
                path,
                data_dir.display(),
                manifest.total_files,
                manifest.total_bytes,
                master.id()
            );
            Ok(())
        }
    }
}

/// The master key from `QUIVER_MASTER_KEY`, else from `file` (never generated here).
fn load_master_key(file: &Path) -> anyhow::Result<MasterKey> {
    if std::env::var_os(keys::MASTER_KEY_ENV).is_none() && !file.exists() {
        bail!(
            "the master key file {} does not exist: give the key of the backed-up data \
             directory (--master-key-file or {})",
            file.display(),
            keys::MASTER_KEY_ENV
        );
    }
    keys::master_key(file, false)
}

/// `verify` has no data directory to put a default key file beside.
fn verify_key(file: Option<&Path>) -> anyhow::Result<MasterKey> {
    match file {
        Some(file) => load_master_key(file),
        None if std::env::var_os(keys::MASTER_KEY_ENV).is_some() => {
            keys::master_key(Path::new("(unused)"), false)
        }
        None => bail!(
            "give the master key of the backed-up directory: --master-key-file or {}",
            keys::MASTER_KEY_ENV
        ),
    }
}

/// Refuses a backup location inside the data directory (the copy would copy itself).
fn refuse_inside(data_dir: &Path, to: &Path) -> anyhow::Result<()> {
    let data = std::fs::canonicalize(data_dir)
        .with_context(|| format!("data directory {}", data_dir.display()))?;
    let parent = to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if let Ok(parent) = std::fs::canonicalize(parent)
        && parent.starts_with(&data)
    {
        bail!("the backup location {} is inside the data directory", to.display());
    }
    Ok(())
}

/// The local account running the command, for the audit record.
fn local_user() -> UserName {
    let name = std::env::var("USER").unwrap_or_else(|_| "local".to_owned());
    UserName::new(&format!("local:{name}"))
}

/// Records the backup in DIR's audit log when the log can be opened; says why not otherwise.
fn audit_backup(data_dir: &Path, key_path: &Path, to: &Location, outcome: Outcome) {
    if !key_path.exists() {
        #[allow(clippy::print_stderr, reason = "a note to the operator")]
        {
            eprintln!(
                "quiver: note: the backup is not recorded in an audit log: {} has no audit key \
                 at {}",
                data_dir.display(),
                key_path.display()
            );
        }
        return;
    }
    let event = Event::Admin {
        user: local_user(),
        peer: None,
        action: AdminAction::Backup,
        detail: Text::new(&to.to_string()),
        outcome,
    };
    let written = AuditKey::from_file(key_path)
        .map_err(anyhow::Error::from)
        .and_then(|key| Ok(AuditLog::open(data_dir, key, AuditOptions::default())?))
        .and_then(|log| {
            log.append(&event)?;
            log.close()?;
            Ok(())
        });
    if let Err(err) = written {
        let locked = err
            .downcast_ref::<quiver_audit::AuditError>()
            .is_some_and(|e| matches!(e, quiver_audit::AuditError::Locked { .. }));
        let why = if locked { "a running server holds it".to_owned() } else { format!("{err:#}") };
        #[allow(clippy::print_stderr, reason = "a note to the operator")]
        {
            eprintln!(
                "quiver: note: the backup is not recorded in the audit log of {} ({why})",
                data_dir.display()
            );
        }
    }
}

/// Records the restore in NEWDIR's audit log, under a new key at `NEWDIR.audit-key` (or the
/// existing one there).
fn audit_restore(data_dir: &Path, from: &Location) -> anyhow::Result<()> {
    let key_path = crate::audit::default_key_path(data_dir);
    let key = if key_path.exists() {
        AuditKey::from_file(&key_path)
    } else {
        AuditKey::create_file(&key_path)
    }
    .with_context(|| format!("audit key {}", key_path.display()))?;
    let log = AuditLog::open(data_dir, key, AuditOptions::default())?;
    log.append(&Event::Admin {
        user: local_user(),
        peer: None,
        action: AdminAction::Restore,
        detail: Text::new(&from.to_string()),
        outcome: Outcome::Ok,
    })?;
    log.close()?;
    Ok(())
}

/// A progress line on standard error: bytes done of the total and MB/s, redrawn in place
/// (`\r`) at most ten times a second on a terminal, one line every five seconds otherwise.
struct ProgressLine {
    terminal: bool,
    phase: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    drawn: Option<Instant>,
}

impl ProgressLine {
    fn new() -> ProgressLine {
        ProgressLine {
            terminal: std::io::stderr().is_terminal(),
            phase: "",
            total: 0,
            done: 0,
            started: Instant::now(),
            drawn: None,
        }
    }

    fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let mb = |bytes: u64| bytes as f64 / 1e6;
        format!(
            "{}: {:.1} / {:.1} MB ({:.1} MB/s)",
            self.phase,
            mb(self.done),
            mb(self.total.max(self.done)),
            mb(self.done) / secs
        )
    }

    fn draw(&mut self, last: bool) {
        if self.phase.is_empty() {
            return;
        }
        let every = if self.terminal { Duration::from_millis(100) } else { Duration::from_secs(5) };
        let due = self.drawn.is_none_or(|at| at.elapsed() >= every);
        if !last && !due {
            return;
        }
        if !last && self.drawn.is_none() && !self.terminal {
            // The first line waits for the first period, so quick runs stay quiet in logs.
            if self.started.elapsed() < every {
                return;
            }
        }
        self.drawn = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(err, "\r\x1b[2K{}{}", self.line(), if last { "\n" } else { "" })
        } else {
            writeln!(err, "{}", self.line())
        };
        let _ = err.flush();
    }

    /// Draws the final state of the phase.
    fn finish(&mut self) {
        if self.done > 0 {
            self.draw(true);
        }
        self.phase = "";
    }
}

impl quiver_backup::Progress for ProgressLine {
    fn start(&mut self, phase: &'static str, total: u64) {
        if !self.phase.is_empty() && self.phase != phase && self.done > 0 {
            self.draw(true);
        }
        self.phase = phase;
        self.total = total;
        self.done = 0;
        self.started = Instant::now();
        self.drawn = None;
    }

    fn advance(&mut self, bytes: u64) {
        self.done = self.done.saturating_add(bytes);
        self.draw(false);
    }
}
