//! `quiver doctor`: the insecure settings and file permissions of a configuration and a data
//! directory, each with its fix. `serve` runs the same checks and refuses to start on any
//! finding of severity `Refuse`.

use std::fmt;
use std::fs;
use std::path::Path;

use quiver_api::tls::{CA_KEY_FILE, SERVER_KEY_FILE, TLS_DIR};

use crate::config::{self, CliSettings, Settings};

/// The file `serve` writes a generated root password to on first start.
pub(crate) const INITIAL_PASSWORD_FILE: &str = "initial-root-password";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    /// Worth knowing; the server runs.
    Warn,
    /// The server refuses to start.
    Refuse,
}

#[derive(Debug)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    pub(crate) problem: String,
    pub(crate) fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.severity {
            Severity::Warn => "warning",
            Severity::Refuse => "refused",
        };
        write!(f, "{tag}: {}\n  fix: {}", self.problem, self.fix)
    }
}

fn finding(severity: Severity, problem: String, fix: String) -> Finding {
    Finding { severity, problem, fix }
}

/// Every finding for these command-line settings (the config file they name included).
pub(crate) fn examine(cli: &CliSettings) -> Vec<Finding> {
    match config::resolve(cli) {
        Ok(settings) => examine_settings(&settings),
        Err(err) => vec![finding(
            Severity::Refuse,
            format!("{err:#}"),
            "correct the command line or the config file as the message says".to_owned(),
        )],
    }
}

/// Findings for resolved settings: the listener, the key files and the data directory.
pub(crate) fn examine_settings(settings: &Settings) -> Vec<Finding> {
    let mut out = Vec::new();
    match &settings.tls {
        None => out.push(finding(
            Severity::Warn,
            format!(
                "plaintext listener on {} (--insecure): credentials and vectors cross the \
                 loopback interface unencrypted",
                settings.listen
            ),
            "drop --insecure; the server then serves TLS with a generated certificate".to_owned(),
        )),
        Some(tls) => {
            if let Some(key) = &tls.key {
                check_private(&mut out, key, "the configured TLS private key");
            }
            if tls.client_ca.is_none() && !settings.listen.ip().is_loopback() {
                out.push(finding(
                    Severity::Warn,
                    format!(
                        "{} accepts TLS clients without certificates (password only)",
                        settings.listen
                    ),
                    "set tls.client_ca to require client certificates (mutual TLS)".to_owned(),
                ));
            }
        }
    }
    if settings.listen.ip().is_unspecified() {
        out.push(finding(
            Severity::Warn,
            format!("listening on every interface ({})", settings.listen),
            "listen on the one address clients use".to_owned(),
        ));
    }
    if settings.retention.is_zero() {
        out.push(finding(
            Severity::Warn,
            "the recycle bin is off ([deletion] retention_hours = 0): a dropped collection or \
             partition is deleted at once, and deleted rows cannot be restored to a point in time"
                .to_owned(),
            "set [deletion] retention_hours (168, a week, by default)".to_owned(),
        ));
    }
    examine_data_dir(&mut out, &settings.data_dir);
    out
}

fn examine_data_dir(out: &mut Vec<Finding>, dir: &Path) {
    let Ok(meta) = fs::metadata(dir) else {
        return; // Created with mode 0700 on first start.
    };
    if mode(&meta) & 0o077 != 0 {
        out.push(finding(
            Severity::Refuse,
            format!(
                "data directory {} is accessible to other users (mode {:o}): they can read \
                 the vectors and the credential hashes",
                dir.display(),
                mode(&meta) & 0o777
            ),
            format!("chmod 700 {}", dir.display()),
        ));
    }
    let tls_dir = dir.join(TLS_DIR);
    for file in [CA_KEY_FILE, SERVER_KEY_FILE] {
        let path = tls_dir.join(file);
        if path.exists() {
            check_private(out, &path, "a generated TLS private key");
        }
    }
    let initial = dir.join(INITIAL_PASSWORD_FILE);
    if initial.exists() {
        out.push(finding(
            Severity::Warn,
            format!("{} still holds the generated root password", initial.display()),
            format!(
                "store the password in your secret manager (or change it), then rm {}",
                initial.display()
            ),
        ));
    }
    for file in ["catalog.qvc", "security.qvs"] {
        let path = dir.join(file);
        if let Ok(meta) = fs::metadata(&path)
            && mode(&meta) & 0o077 != 0
        {
            out.push(finding(
                Severity::Warn,
                format!(
                    "{} is readable by other users (mode {:o})",
                    path.display(),
                    mode(&meta) & 0o777
                ),
                format!("chmod 600 {}", path.display()),
            ));
        }
    }
}

fn check_private(out: &mut Vec<Finding>, path: &Path, what: &str) {
    match fs::metadata(path) {
        Ok(meta) if mode(&meta) & 0o077 != 0 => out.push(finding(
            Severity::Refuse,
            format!(
                "{what} {} is readable by other users (mode {:o})",
                path.display(),
                mode(&meta) & 0o777
            ),
            format!("chmod 600 {}", path.display()),
        )),
        Ok(_) => {}
        Err(err) => out.push(finding(
            Severity::Refuse,
            format!("{what} {}: {err}", path.display()),
            "point the setting at a readable key file".to_owned(),
        )),
    }
}

#[cfg(unix)]
fn mode(meta: &fs::Metadata) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions())
}

#[cfg(not(unix))]
fn mode(_meta: &fs::Metadata) -> u32 {
    0
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn cli(dir: &Path, listen: &str, insecure: bool) -> CliSettings {
        CliSettings {
            data_dir: Some(dir.to_path_buf()),
            listen: Some(listen.to_owned()),
            config: None,
            insecure,
            master_key_file: None,
            audit_key_file: None,
        }
    }

    fn refusals(findings: &[Finding]) -> Vec<&Finding> {
        findings.iter().filter(|f| f.severity == Severity::Refuse).collect()
    }

    #[test]
    fn a_private_data_dir_on_loopback_with_tls_is_clean() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let findings = examine(&cli(dir.path(), "127.0.0.1:19530", false));
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn world_readable_data_dir_and_keys_are_refused_with_their_fix() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let tls = dir.path().join(TLS_DIR);
        fs::create_dir(&tls).unwrap();
        fs::write(tls.join(SERVER_KEY_FILE), "key").unwrap();
        fs::set_permissions(tls.join(SERVER_KEY_FILE), fs::Permissions::from_mode(0o644)).unwrap();
        let findings = examine(&cli(dir.path(), "127.0.0.1:19530", false));
        let refused = refusals(&findings);
        assert_eq!(refused.len(), 2, "{findings:?}");
        assert!(refused.iter().any(|f| f.fix.starts_with("chmod 700")), "{findings:?}");
        assert!(refused.iter().any(|f| f.fix.starts_with("chmod 600")), "{findings:?}");
    }

    #[test]
    fn plaintext_is_refused_off_loopback_and_warned_on_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let off_loopback = examine(&cli(dir.path(), "0.0.0.0:19530", true));
        assert_eq!(refusals(&off_loopback).len(), 1, "{off_loopback:?}");
        let on_loopback = examine(&cli(dir.path(), "127.0.0.1:19530", true));
        assert!(refusals(&on_loopback).is_empty(), "{on_loopback:?}");
        assert!(on_loopback.iter().any(|f| f.problem.contains("plaintext")), "{on_loopback:?}");
    }

    #[test]
    fn leftover_initial_password_and_open_listener_are_warned() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(dir.path().join(INITIAL_PASSWORD_FILE), "x").unwrap();
        let findings = examine(&cli(dir.path(), "0.0.0.0:19530", false));
        assert!(refusals(&findings).is_empty(), "{findings:?}");
        let text: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|t| t.contains(INITIAL_PASSWORD_FILE)), "{text:?}");
        assert!(text.iter().any(|t| t.contains("every interface")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("client_ca")), "{text:?}");
    }

    #[test]
    fn a_recycle_bin_turned_off_is_warned_with_its_fix() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let config = dir.path().join("quiver.toml");
        fs::write(&config, "[deletion]\nretention_hours = 0\n").unwrap();
        let data = dir.path().join("data");
        let findings =
            examine(&CliSettings { config: Some(config), ..cli(&data, "127.0.0.1:1", false) });
        assert!(refusals(&findings).is_empty(), "{findings:?}");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].problem.contains("recycle bin is off"), "{findings:?}");
        assert!(findings[0].fix.contains("retention_hours"), "{findings:?}");
    }
}
