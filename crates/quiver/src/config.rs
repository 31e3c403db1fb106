//! The server's settings: command line over config file over defaults, resolved in this one
//! place, with every insecure choice either refused or named.
//!
//! Defaults are the secure ones: listen on loopback, TLS on (a generated certificate when none
//! is configured), authentication always on (there is no setting that turns it off).
//! The only relaxation is plaintext on a loopback address with `--insecure` given explicitly.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use std::time::Duration;

use quiver_api::{ClassLimits, DeletionGuard, Limit, Rate, RateLimits, RequestLimits, TlsSettings};
use serde::Deserialize;

/// The default listen address: Milvus's port, on loopback only.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:19530";
/// Smallest memory quota: below it the server could not even start serving.
const MIN_MEMORY_QUOTA: u64 = 64 << 20;
/// Default retention of dropped and deleted data: a week, like the engine's default.
const DEFAULT_RETENTION_HOURS: u64 = 7 * 24;
/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The config file (TOML). Unknown keys are errors: a misspelt security setting must not be
/// silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub(crate) listen: Option<String>,
    pub(crate) data_dir: Option<PathBuf>,
    #[serde(default)]
    pub(crate) tls: TlsFile,
    #[serde(default)]
    pub(crate) limits: LimitsFile,
    #[serde(default)]
    pub(crate) audit: AuditFile,
    #[serde(default)]
    pub(crate) deletion: DeletionFile,
}

/// How long dropped and deleted data stays recoverable, and the mass-deletion guard.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeletionFile {
    /// Dropped collections and partitions stay in the recycle bin, and deleted rows stay
    /// restorable to a point in time, this long (default 168, a week); 0 deletes at once.
    pub(crate) retention_hours: Option<u64>,
    /// A delete of more than this share of a collection (above `guard_min_rows` rows) needs
    /// force and `ForceDelete` (default 50; 100 turns the share test off).
    pub(crate) guard_max_share_percent: Option<u64>,
    /// A delete of more rows than this needs force and `ForceDelete` (default 1,000,000).
    pub(crate) guard_max_rows: Option<u64>,
    /// Deletes of at most this many rows are never mass deletions (default 1,000).
    pub(crate) guard_min_rows: Option<u64>,
}

/// Longest retention: ten years.
const MAX_RETENTION_HOURS: u64 = 10 * 366 * 24;

/// What the audit log records besides authentication, DDL, DCL and writes (always recorded).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditFile {
    /// `true` records every search and query too (default `false`).
    pub(crate) reads: Option<bool>,
}

/// Rate limits per user (each client address gets four times these) and the disk quota.
/// Absent keys keep the defaults of `quiver_api::RateLimits::default()`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsFile {
    pub(crate) read_per_second: Option<u32>,
    pub(crate) read_burst: Option<u32>,
    /// Writes are counted in rows (plus a fixed cost per request).
    pub(crate) write_rows_per_second: Option<u32>,
    pub(crate) write_rows_burst: Option<u32>,
    pub(crate) ddl_per_second: Option<u32>,
    pub(crate) ddl_burst: Option<u32>,
    pub(crate) login_per_second: Option<u32>,
    pub(crate) login_burst: Option<u32>,
    /// Inserts and upserts are refused (deletes and reads go on) while the data directory is
    /// larger than this.
    pub(crate) max_data_bytes: Option<u64>,
    /// Inserts and upserts are refused (deletes and reads go on) while the server's resident
    /// memory is larger than this.
    pub(crate) max_memory_bytes: Option<u64>,
    // Request limits (`quiver_api::Limit`): each may be lowered, none raised above the
    // ceiling the engine enforces anyway.
    pub(crate) max_message_bytes: Option<u64>,
    pub(crate) max_rows_per_write: Option<u64>,
    pub(crate) max_query_vectors: Option<u64>,
    pub(crate) max_topk_window: Option<u64>,
    pub(crate) max_dim: Option<u64>,
    pub(crate) max_varchar_length: Option<u64>,
    pub(crate) max_json_bytes: Option<u64>,
    pub(crate) max_filter_bytes: Option<u64>,
    pub(crate) max_filter_depth: Option<u64>,
    pub(crate) max_output_fields: Option<u64>,
    pub(crate) request_timeout_seconds: Option<u64>,
}

impl LimitsFile {
    /// The request limit `limit` as the file sets it.
    fn request_limit(&self, limit: Limit) -> Option<u64> {
        match limit {
            Limit::MessageBytes => self.max_message_bytes,
            Limit::RowsPerWrite => self.max_rows_per_write,
            Limit::QueryVectors => self.max_query_vectors,
            Limit::TopkWindow => self.max_topk_window,
            Limit::Dim => self.max_dim,
            Limit::VarcharLength => self.max_varchar_length,
            Limit::JsonBytes => self.max_json_bytes,
            Limit::FilterBytes => self.max_filter_bytes,
            Limit::FilterDepth => self.max_filter_depth,
            Limit::OutputFields => self.max_output_fields,
            Limit::TimeoutSeconds => self.request_timeout_seconds,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsFile {
    /// `false` turns TLS off: only allowed on loopback with `--insecure`.
    pub(crate) enabled: Option<bool>,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) client_ca: Option<PathBuf>,
}

/// What the command line says; `None` means "not given".
#[derive(Debug, Default)]
pub(crate) struct CliSettings {
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) listen: Option<String>,
    pub(crate) config: Option<PathBuf>,
    pub(crate) insecure: bool,
    /// The master key file of encryption at rest (default: `DIR.master-key`).
    pub(crate) master_key_file: Option<PathBuf>,
    /// The audit key file (default: `DIR.audit-key`).
    pub(crate) audit_key_file: Option<PathBuf>,
}

/// Settings after resolution: what the server runs with.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) data_dir: PathBuf,
    pub(crate) listen: SocketAddr,
    /// `None` only in explicit insecure loopback mode (`--insecure`).
    pub(crate) tls: Option<TlsSettings>,
    pub(crate) rate_limits: RateLimits,
    pub(crate) request_limits: RequestLimits,
    pub(crate) max_data_bytes: Option<u64>,
    pub(crate) max_memory_bytes: Option<u64>,
    /// Where the master key is (or is generated on a first start): beside the data
    /// directory, never inside it (checked at start).
    pub(crate) master_key_file: PathBuf,
    /// Where the audit key is (or is generated on a first start): beside the data directory,
    /// never inside it (checked at start).
    pub(crate) audit_key_file: PathBuf,
    /// Whether searches and queries are audited (`[audit] reads`, default off).
    pub(crate) audit_reads: bool,
    /// How long the recycle bin and deleted rows are kept (`[deletion] retention_hours`).
    pub(crate) retention: Duration,
    /// The mass-deletion guard (`[deletion] guard_*`).
    pub(crate) deletion_guard: DeletionGuard,
}

pub(crate) fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let len = fs::metadata(path).with_context(|| format!("config {}", path.display()))?.len();
    if len > MAX_CONFIG_BYTES {
        bail!("config {}: larger than {MAX_CONFIG_BYTES} bytes", path.display());
    }
    let text = fs::read_to_string(path).with_context(|| format!("config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config {}", path.display()))
}

/// Resolves the command line and the config file into settings, refusing the combinations
/// that would expose data: plaintext on a non-loopback address, plaintext without
/// `--insecure`, half a certificate.
pub(crate) fn resolve(cli: &CliSettings) -> anyhow::Result<Settings> {
    let file = match &cli.config {
        Some(path) => read_file_config(path)?,
        None => FileConfig::default(),
    };
    let data_dir = cli
        .data_dir
        .clone()
        .or(file.data_dir.clone())
        .context("no data directory: give --data-dir or data_dir in the config file")?;
    let listen_text = cli.listen.clone().or(file.listen.clone());
    let listen_text = listen_text.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen: SocketAddr = listen_text
        .parse()
        .with_context(|| format!("listen address {listen_text:?} is not IP:PORT"))?;
    let tls_enabled = file.tls.enabled.unwrap_or(!cli.insecure);
    let tls = if tls_enabled {
        if file.tls.cert.is_some() != file.tls.key.is_some() {
            bail!("tls.cert and tls.key must be configured together");
        }
        Some(TlsSettings {
            cert: file.tls.cert.clone(),
            key: file.tls.key.clone(),
            client_ca: file.tls.client_ca.clone(),
        })
    } else {
        None
    };
    if tls.is_none() {
        if !cli.insecure {
            bail!(
                "TLS is off (tls.enabled = false) but --insecure was not given; \
                 remove tls.enabled = false to serve TLS with a generated certificate"
            );
        }
        if !listen.ip().is_loopback() {
            bail!(
                "refusing plaintext on {listen}: without TLS the server listens only on a \
                 loopback address (127.0.0.1 or ::1); configure TLS to serve other hosts"
            );
        }
        if file.tls.client_ca.is_some() {
            bail!("tls.client_ca needs TLS; it cannot be used with --insecure");
        }
    }
    let rate_limits = rate_limits(&file.limits)?;
    let mut request_limits = RequestLimits::default();
    for limit in Limit::ALL {
        if let Some(value) = file.limits.request_limit(limit) {
            request_limits.set(limit, value).map_err(|e| anyhow::anyhow!("[limits]: {e}"))?;
        }
    }
    if file.limits.max_data_bytes == Some(0) {
        bail!("limits.max_data_bytes must be positive (leave it out for no quota)");
    }
    if file.limits.max_memory_bytes.is_some_and(|max| max < MIN_MEMORY_QUOTA) {
        bail!(
            "limits.max_memory_bytes must be at least {MIN_MEMORY_QUOTA} (leave it out for no \
             quota): the server itself needs that much"
        );
    }
    let master_key_file = cli
        .master_key_file
        .clone()
        .unwrap_or_else(|| crate::keys::default_master_key_path(&data_dir));
    let audit_key_file =
        cli.audit_key_file.clone().unwrap_or_else(|| crate::audit::default_key_path(&data_dir));
    let (retention, deletion_guard) = deletion(&file.deletion)?;
    Ok(Settings {
        retention,
        deletion_guard,
        master_key_file,
        audit_key_file,
        audit_reads: file.audit.reads.unwrap_or(false),
        data_dir,
        listen,
        tls,
        rate_limits,
        request_limits,
        max_data_bytes: file.limits.max_data_bytes,
        max_memory_bytes: file.limits.max_memory_bytes,
    })
}

/// The retention and the mass-deletion guard a `[deletion]` section sets (also read by
/// `quiver trash --config`).
pub(crate) fn deletion(file: &DeletionFile) -> anyhow::Result<(Duration, DeletionGuard)> {
    let hours = file.retention_hours.unwrap_or(DEFAULT_RETENTION_HOURS);
    if hours > MAX_RETENTION_HOURS {
        bail!("deletion.retention_hours must be at most {MAX_RETENTION_HOURS}, not {hours}");
    }
    let defaults = DeletionGuard::default();
    let guard = DeletionGuard::new(
        file.guard_max_share_percent.unwrap_or(defaults.max_share_percent()),
        file.guard_max_rows.unwrap_or(defaults.max_rows()),
        file.guard_min_rows.unwrap_or(defaults.min_rows()),
    )
    .map_err(|e| anyhow::anyhow!("[deletion]: {e}"))?;
    Ok((Duration::from_secs(hours * 3600), guard))
}

fn rate_limits(file: &LimitsFile) -> anyhow::Result<RateLimits> {
    let mut limits = RateLimits::default();
    let classes = [
        (&mut limits.read, file.read_per_second, file.read_burst),
        (&mut limits.write, file.write_rows_per_second, file.write_rows_burst),
        (&mut limits.ddl, file.ddl_per_second, file.ddl_burst),
        (&mut limits.login, file.login_per_second, file.login_burst),
    ];
    for (class, per_second, burst) in classes {
        let Some(user) = class.per_user else { continue };
        let rate = Rate::new(per_second.unwrap_or(user.per_second), burst.unwrap_or(user.burst));
        *class = ClassLimits::user_and_address(rate);
    }
    limits.validate().map_err(|e| anyhow::anyhow!("[limits]: {e}"))?;
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(listen: &str, insecure: bool) -> CliSettings {
        CliSettings {
            data_dir: Some(PathBuf::from("/tmp/d")),
            listen: Some(listen.to_owned()),
            config: None,
            insecure,
            master_key_file: None,
            audit_key_file: None,
        }
    }

    #[test]
    fn defaults_are_loopback_and_tls() {
        let settings = resolve(&CliSettings {
            data_dir: Some(PathBuf::from("/tmp/d")),
            ..CliSettings::default()
        })
        .unwrap();
        assert_eq!(settings.listen, DEFAULT_LISTEN.parse().unwrap());
        assert!(settings.tls.is_some());
    }

    #[test]
    fn insecure_is_only_allowed_on_loopback() {
        assert!(resolve(&cli("127.0.0.1:0", true)).unwrap().tls.is_none());
        assert!(resolve(&cli("[::1]:0", true)).unwrap().tls.is_none());
        let err = resolve(&cli("0.0.0.0:19530", true)).unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        let err = resolve(&cli("10.1.2.3:19530", true)).unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
    }

    #[test]
    fn tls_off_in_the_config_needs_insecure_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quiver.toml");
        fs::write(&path, "[tls]\nenabled = false\n").unwrap();
        let mut settings = cli("127.0.0.1:0", false);
        settings.config = Some(path.clone());
        let err = resolve(&settings).unwrap_err();
        assert!(err.to_string().contains("--insecure"), "{err}");

        fs::write(&path, "[tls]\nenable = true\n").unwrap();
        let err = resolve(&settings).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");

        fs::write(&path, "[tls]\ncert = \"/x.pem\"\n").unwrap();
        let err = resolve(&settings).unwrap_err();
        assert!(err.to_string().contains("together"), "{err}");
    }

    #[test]
    fn limits_come_from_the_file_and_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quiver.toml");
        fs::write(&path, "[limits]\nread_per_second = 10\nmax_data_bytes = 1000\n").unwrap();
        let mut settings = cli("127.0.0.1:0", false);
        settings.config = Some(path.clone());
        let resolved = resolve(&settings).unwrap();
        let read = resolved.rate_limits.read;
        assert_eq!(read.per_user.unwrap().per_second, 10);
        assert_eq!(read.per_address.unwrap().per_second, 40);
        assert_eq!(
            read.per_user.unwrap().burst,
            RateLimits::default().read.per_user.unwrap().burst
        );
        assert_eq!(resolved.max_data_bytes, Some(1000));
        fs::write(&path, "[limits]\nread_per_second = 0\n").unwrap();
        assert!(resolve(&settings).is_err());
        fs::write(&path, "[limits]\nmax_data_bytes = 0\n").unwrap();
        assert!(resolve(&settings).is_err());
        fs::write(&path, "[limits]\nmax_memory_bytes = 1000\n").unwrap();
        assert!(resolve(&settings).unwrap_err().to_string().contains("max_memory_bytes"));
        fs::write(&path, "[limits]\nmax_memory_bytes = 1073741824\n").unwrap();
        assert_eq!(resolve(&settings).unwrap().max_memory_bytes, Some(1 << 30));
        fs::write(&path, "[limits]\nreads_per_second = 5\n").unwrap();
        assert!(resolve(&settings).is_err());
    }

    #[test]
    fn every_request_limit_is_configurable_within_its_range() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quiver.toml");
        let mut settings = cli("127.0.0.1:0", false);
        settings.config = Some(path.clone());
        for limit in Limit::ALL {
            let (min, max) = limit.range();
            fs::write(&path, format!("[limits]\n{} = {min}\n", limit.key())).unwrap();
            let resolved = resolve(&settings).unwrap();
            assert_eq!(resolved.request_limits.get(limit), min, "{limit}");
            for other in Limit::ALL.into_iter().filter(|o| *o != limit) {
                assert_eq!(resolved.request_limits.get(other), other.default_value());
            }
            fs::write(&path, format!("[limits]\n{} = {}\n", limit.key(), max + 1)).unwrap();
            let err = resolve(&settings).unwrap_err();
            assert!(err.to_string().contains(limit.key()), "{err}");
        }
    }

    #[test]
    fn retention_and_the_deletion_guard_default_to_a_week_and_half_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quiver.toml");
        let mut settings = cli("127.0.0.1:0", false);
        let resolved = resolve(&settings).unwrap();
        assert_eq!(resolved.retention, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(resolved.deletion_guard, DeletionGuard::default());
        settings.config = Some(path.clone());
        let text = "[deletion]\nretention_hours = 0\nguard_max_share_percent = 20\n\
                    guard_max_rows = 500\nguard_min_rows = 10\n";
        fs::write(&path, text).unwrap();
        let resolved = resolve(&settings).unwrap();
        assert_eq!(resolved.retention, Duration::ZERO);
        assert_eq!(resolved.deletion_guard, DeletionGuard::new(20, 500, 10).unwrap());
        for (bad, key) in [
            ("retention_hours = 87841", "retention_hours"),
            ("guard_max_share_percent = 0", "max_share_percent"),
            ("guard_max_share_percent = 101", "max_share_percent"),
            ("guard_max_rows = 0", "max_rows"),
            ("guard_max_rows = 5\nguard_min_rows = 6", "min_rows"),
            ("guard_share = 5", "unknown field"),
        ] {
            fs::write(&path, format!("[deletion]\n{bad}\n")).unwrap();
            let err = format!("{:#}", resolve(&settings).unwrap_err());
            assert!(err.contains(key), "{bad}: {err}");
        }
    }

    #[test]
    fn audit_reads_are_off_by_default_and_turned_on_by_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quiver.toml");
        let mut settings = cli("127.0.0.1:0", false);
        let resolved = resolve(&settings).unwrap();
        assert!(!resolved.audit_reads);
        assert_eq!(resolved.audit_key_file, PathBuf::from("/tmp/d.audit-key"));
        settings.config = Some(path.clone());
        fs::write(&path, "[audit]\nreads = true\n").unwrap();
        assert!(resolve(&settings).unwrap().audit_reads);
        fs::write(&path, "[audit]\nread = true\n").unwrap();
        assert!(format!("{:#}", resolve(&settings).unwrap_err()).contains("unknown field"));
        settings.audit_key_file = Some(PathBuf::from("/keys/audit"));
        fs::write(&path, "").unwrap();
        assert_eq!(resolve(&settings).unwrap().audit_key_file, PathBuf::from("/keys/audit"));
    }

    #[test]
    fn command_line_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quiver.toml");
        fs::write(&path, "listen = \"127.0.0.1:1\"\ndata_dir = \"/from/file\"\n").unwrap();
        let settings = resolve(&CliSettings {
            data_dir: None,
            listen: Some("127.0.0.1:2".to_owned()),
            config: Some(path),
            insecure: false,
            master_key_file: None,
            audit_key_file: None,
        })
        .unwrap();
        assert_eq!(settings.listen.port(), 2);
        assert_eq!(settings.data_dir, PathBuf::from("/from/file"));
    }
}
