//! `quiver serve`: the server. Resolves the settings, refuses dangerous ones, opens the data
//! directory and its audit log, sets up the root credential on first start, and serves until
//! SIGTERM or SIGINT, then finishes in-flight requests and closes the audit log and the
//! database cleanly.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use anyhow::{Context, bail};
use quiver_api::{AuditTrail, DataQuota, MemoryQuota, MilvusApi, ReadAuditing};
use quiver_audit::{AuditKey, AuditLog, AuditOptions};
use quiver_engine::{Database, Encryption, Options};
use quiver_security::{ROOT_USER, Secret, SecurityStore, generate_password};
use quiver_storage::Backend;

use crate::config::{self, CliSettings};
use crate::doctor::{self, INITIAL_PASSWORD_FILE, Severity};
use crate::{audit, keys};

/// The environment variable that gives the root password on first start.
pub(crate) const ROOT_PASSWORD_ENV: &str = "QUIVER_ROOT_PASSWORD";
/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How often buffered audit records (reads, refused logins) are made durable.
const AUDIT_SYNC_INTERVAL: Duration = Duration::from_secs(1);

pub(crate) fn run(cli: &CliSettings) -> anyhow::Result<()> {
    init_logging();
    let settings = config::resolve(cli)?;
    create_private_dir(&settings.data_dir)?;
    let fresh = fs::read_dir(&settings.data_dir)
        .with_context(|| format!("cannot read {}", settings.data_dir.display()))?
        .next()
        .is_none();
    keys::check_outside(&settings.data_dir, &settings.master_key_file)?;
    let master_key = keys::master_key(&settings.master_key_file, fresh)?;
    let audit_key = audit::serve_key(&settings.data_dir, &settings.audit_key_file, fresh)?;
    let findings = doctor::examine_settings(&settings);
    for finding in findings.iter().filter(|f| f.severity == Severity::Warn) {
        tracing::warn!("{}", finding.problem);
    }
    let refused: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Refuse)
        .map(ToString::to_string)
        .collect();
    if !refused.is_empty() {
        bail!("refusing to start:\n{}", refused.join("\n"));
    }

    let tls = match &settings.tls {
        Some(tls_settings) => {
            let tls = quiver_api::server_tls(&settings.data_dir, tls_settings)?;
            if let Some(dir) = &tls.generated {
                tracing::info!(
                    dir = %dir.display(),
                    "generated a CA and a server certificate; clients verify the server with ca.pem"
                );
            }
            Some(tls.config)
        }
        None => {
            tracing::warn!(
                "TLS is off (--insecure): serving plaintext on loopback only; never use this \
                 mode for data that matters"
            );
            None
        }
    };

    let options = Options {
        encryption: Some(Encryption::new(master_key)),
        trash_retention: settings.retention,
        ..Options::default()
    };
    let db = Database::open(&settings.data_dir, options)
        .with_context(|| format!("cannot open {}", settings.data_dir.display()))?;
    if let Some(id) = db.master_key_id() {
        tracing::info!(key_id = %id, "data encrypted at rest");
    }
    // The security store (password hashes, grants, API key digests) is encrypted with the
    // same keys, through the database's backend.
    let security = open_security(&settings.data_dir, db.backend())?;
    let reads = if settings.audit_reads { ReadAuditing::On } else { ReadAuditing::Off };
    let trail = open_audit(&settings.data_dir, audit_key, fresh, reads)?;
    let mut api = MilvusApi::audited(Arc::new(db), Arc::new(security), trail.clone())
        .with_rate_limits(settings.rate_limits)
        .with_request_limits(settings.request_limits)
        .with_deletion_guard(settings.deletion_guard);
    if let Some(max) = settings.max_data_bytes {
        api = api.with_data_quota(DataQuota::new(&settings.data_dir, max));
    }
    if let Some(max) = settings.max_memory_bytes {
        let quota =
            MemoryQuota::new(max).map_err(|e| anyhow::anyhow!("limits.max_memory_bytes: {e}"))?;
        api = api.with_memory_quota(quota);
    }

    let syncer = spawn_audit_sync(trail.clone());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let local = listener.local_addr()?;
        // Signal handlers exist before anyone learns the server is up.
        let signals = shutdown_signal()?;
        let mode = if tls.is_some() { "tls" } else { "plaintext" };
        // The one line on standard output: scripts and tests wait for it.
        println!("quiver: listening on {local} ({mode})");
        std::io::stdout().flush()?;
        tracing::info!(addr = %local, mode, "serving the Milvus gRPC API");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(quiver_api::serve(listener, tls, api, async {
            let _ = stop_rx.await;
        }));
        signals.await;
        tracing::info!("shutting down: no new connections; finishing in-flight requests");
        let _ = stop_tx.send(());
        match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(err))) => Err(anyhow::Error::new(err)),
            Ok(Err(join)) => Err(anyhow::anyhow!("server task failed: {join}")),
            Err(_) => {
                tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
                Ok(())
            }
        }
    });
    // Dropping the runtime ends the remaining tasks; dropping the last handle on the database
    // (held by the service) stops its background threads. Every acknowledged write is already
    // in the fsynced log.
    runtime.shutdown_timeout(Duration::from_secs(5));
    let (stop, handle) = syncer;
    drop(stop);
    let _ = handle.join();
    close_audit(trail);
    if result.is_ok() {
        tracing::info!("stopped cleanly");
    }
    result
}

/// Opens the audit log in the data directory. A log created on a data directory that was not
/// new is reported: the previous log may have been deleted.
fn open_audit(
    data_dir: &Path,
    key: AuditKey,
    fresh: bool,
    reads: ReadAuditing,
) -> anyhow::Result<AuditTrail> {
    let log = AuditLog::open(data_dir, key, AuditOptions::default()).with_context(|| {
        format!("cannot open the audit log of {} (run `quiver audit verify`)", data_dir.display())
    })?;
    let info = log.open_info();
    if info.created && !fresh {
        tracing::warn!(
            "started a new audit log in a data directory that already held data: if it had a \
             log before, that log was removed"
        );
    }
    if info.unclean_shutdown {
        tracing::warn!("the audit log was not closed cleanly (the server was killed or crashed)");
    }
    tracing::info!(reads = reads == ReadAuditing::On, "audit log open");
    Ok(AuditTrail::new(Arc::new(log), reads))
}

/// Makes buffered audit records durable every second until the sender is dropped (cheap
/// when none are pending).
fn spawn_audit_sync(trail: AuditTrail) -> (mpsc::Sender<()>, thread::JoinHandle<()>) {
    let (stop, stopped) = mpsc::channel::<()>();
    let handle = thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(AUDIT_SYNC_INTERVAL) {
            if let Err(err) = trail.sync() {
                // The log is stopped: audited requests are refused from now on.
                tracing::error!(error = %err, "cannot sync the audit log");
            }
        }
    });
    (stop, handle)
}

/// Closes the audit log once the server stopped: a `closed` record and the final head. If a
/// request still holds the log (shutdown timed out), its records are synced instead.
fn close_audit(trail: AuditTrail) {
    match Arc::try_unwrap(trail.into_log()) {
        Ok(log) => match log.close() {
            Ok(head) => tracing::info!(last = %head, "audit log closed"),
            Err(err) => tracing::error!(error = %err, "cannot close the audit log"),
        },
        Err(log) => {
            tracing::warn!("requests still hold the audit log; syncing it instead of closing");
            if let Err(err) = log.sync() {
                tracing::error!(error = %err, "cannot sync the audit log");
            }
        }
    }
}

/// Opens the security store, initializing it on first start with the root password from
/// `QUIVER_ROOT_PASSWORD` or a generated one written once to `DIR/initial-root-password`
/// (mode 0600). The password itself is never logged.
fn open_security(dir: &Path, backend: Arc<dyn Backend>) -> anyhow::Result<SecurityStore> {
    if let Some(store) = SecurityStore::open(backend.clone())? {
        return Ok(store);
    }
    let (password, generated) = match std::env::var(ROOT_PASSWORD_ENV) {
        Ok(value) => (Secret::new(value), false),
        Err(std::env::VarError::NotPresent) => (generate_password(ROOT_USER)?, true),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{ROOT_PASSWORD_ENV} is not UTF-8"),
    };
    if generated {
        let path = dir.join(INITIAL_PASSWORD_FILE);
        write_private_new(&path, format!("{}\n", password.expose()).as_bytes())?;
        tracing::warn!(
            path = %path.display(),
            "generated the root password; read it from this file, store it safely, delete the file"
        );
        println!("quiver: root password written to {}", path.display());
    }
    let store = SecurityStore::initialize(backend, &password)
        .with_context(|| format!("cannot set the root password from {ROOT_PASSWORD_ENV}"))?;
    tracing::info!(user = ROOT_USER, "initialized authentication");
    Ok(store)
}

fn write_private_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file =
        options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// Installs the SIGTERM and SIGINT handlers now; the returned future completes on either.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// The environment variable that picks the log format: `text` (the default) or `json`.
const LOG_FORMAT_ENV: &str = "QUIVER_LOG_FORMAT";

/// Logs to standard error, filtered by `QUIVER_LOG` (`info` by default; e.g.
/// `info,quiver::access=off` silences the access log). `QUIVER_LOG_FORMAT=json` writes one
/// JSON object per line (fields at the top level, the request span's fields under `span`)
/// for log collectors; any other value than `text` or `json` is reported and text is used.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUIVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = std::env::var(LOG_FORMAT_ENV).unwrap_or_default();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format.as_str() {
        "json" => builder.json().flatten_event(true).try_init(),
        _ => builder.try_init(),
    };
    if !matches!(format.as_str(), "" | "text" | "json") {
        tracing::warn!("{LOG_FORMAT_ENV} takes text or json; logging as text");
    }
}
