//! TLS for the listener: the certificates the server presents, generated on first start when
//! none are configured, and the client-certificate check of mutual TLS.
//!
//! Generated material lives under `DATA_DIR/tls/`: a CA (`ca.pem`, `ca.key`) that clients pin,
//! and a server certificate signed by it (`server.pem`, `server.key`) naming `localhost`,
//! `127.0.0.1`, `::1` and the host name. Private keys are written with mode 0600 in a 0700
//! directory, through a temporary file, fsync and rename, so a crash never leaves half a key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::ApiError;

/// Where the certificates come from.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// Server certificate chain (PEM); with `key`. Both absent: generated under the data dir.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// When set, every client must present a certificate signed by one of these CAs.
    pub client_ca: Option<PathBuf>,
}

/// The files generated on first start, relative to the data directory.
pub const TLS_DIR: &str = "tls";
pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca.key";
pub const SERVER_CERT_FILE: &str = "server.pem";
pub const SERVER_KEY_FILE: &str = "server.key";

/// Lifetime of a generated server certificate (the CA/Browser Forum maximum), and of the CA.
const SERVER_VALIDITY_DAYS: i64 = 397;
const CA_VALIDITY_DAYS: i64 = 3650;
/// Largest PEM file read (a chain of a few certificates is a few KiB).
const MAX_PEM_BYTES: u64 = 1 << 20;

/// The TLS configuration of the listener, and where its certificate came from.
pub struct ServerTls {
    pub config: Arc<rustls::ServerConfig>,
    /// Set when the certificate was generated in this call (first start).
    pub generated: Option<PathBuf>,
    pub mutual: bool,
}

/// Builds the rustls configuration: the configured certificate, or the one under
/// `data_dir/tls` (generated when absent). ALPN offers `h2` (gRPC) and `http/1.1` (REST).
pub fn server_tls(data_dir: &Path, settings: &TlsSettings) -> Result<ServerTls, ApiError> {
    let (cert_path, key_path, generated) = match (&settings.cert, &settings.key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone(), None),
        (None, None) => {
            let dir = data_dir.join(TLS_DIR);
            let generated = ensure_generated(&dir)?;
            (dir.join(SERVER_CERT_FILE), dir.join(SERVER_KEY_FILE), generated.then_some(dir))
        }
        _ => {
            return Err(ApiError::Tls(
                "tls.cert and tls.key must be configured together".to_owned(),
            ));
        }
    };
    let chain = read_certs(&cert_path)?;
    let key = read_key(&key_path)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiError::Tls(format!("protocol versions: {e}")))?;
    let builder = match &settings.client_ca {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(path)? {
                roots.add(cert).map_err(|e| ApiError::Tls(format!("{}: {e}", path.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| ApiError::Tls(format!("client CA {}: {e}", path.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| ApiError::Tls(format!("{}: {e}", cert_path.display())))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServerTls { config: Arc::new(config), generated, mutual: settings.client_ca.is_some() })
}

/// Generates the CA and the server certificate unless both exist. Returns whether it did.
fn ensure_generated(dir: &Path) -> Result<bool, ApiError> {
    let files = [CA_CERT_FILE, CA_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE];
    let present = files.iter().filter(|f| dir.join(f).exists()).count();
    if present == files.len() {
        return Ok(false);
    }
    if dir.join(SERVER_CERT_FILE).exists() || dir.join(SERVER_KEY_FILE).exists() {
        // A partial set means someone removed files; regenerating would silently change the
        // identity clients pinned.
        return Err(ApiError::Tls(format!(
            "{} holds an incomplete certificate set; remove the directory to regenerate it",
            dir.display()
        )));
    }
    create_private_dir(dir)?;
    let host = host_name();
    let material = generate(host.as_deref())?;
    write_private(&dir.join(CA_KEY_FILE), material.ca_key.as_bytes())?;
    write_private(&dir.join(CA_CERT_FILE), material.ca_cert.as_bytes())?;
    write_private(&dir.join(SERVER_KEY_FILE), material.server_key.as_bytes())?;
    // The server certificate is written last: its presence marks a complete set.
    write_private(&dir.join(SERVER_CERT_FILE), material.server_cert.as_bytes())?;
    Ok(true)
}

/// PEM texts of a fresh CA and a server certificate signed by it.
pub(crate) struct Generated {
    pub(crate) ca_cert: String,
    pub(crate) ca_key: String,
    pub(crate) server_cert: String,
    pub(crate) server_key: String,
}

pub(crate) fn generate(host: Option<&str>) -> Result<Generated, ApiError> {
    let err = |e: rcgen::Error| ApiError::Tls(format!("certificate generation: {e}"));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let today = (now.as_secs() / 86_400) as i64;

    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = name("Quiver local CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    set_validity(&mut ca, today - 1, today + CA_VALIDITY_DAYS);
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;

    let mut sans = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if let Some(host) = host.filter(|h| *h != "localhost") {
        sans.push(host.to_owned());
    }
    let server_key = KeyPair::generate().map_err(err)?;
    let mut server = CertificateParams::new(sans).map_err(err)?;
    server.distinguished_name = name("Quiver server");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    set_validity(&mut server, today - 1, today + SERVER_VALIDITY_DAYS);
    let issuer = Issuer::new(ca, ca_key);
    let server_cert = server.signed_by(&server_key, &issuer).map_err(err)?;
    Ok(Generated {
        ca_cert: ca_cert.pem(),
        ca_key: issuer.key().serialize_pem(),
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
    })
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

fn set_validity(params: &mut CertificateParams, from_day: i64, to_day: i64) {
    let (y, m, d) = civil_from_days(from_day);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil_from_days(to_day);
    params.not_after = rcgen::date_time_ymd(y, m, d);
}

/// Converts days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as u8, d as u8)
}

/// The machine's host name, when the kernel reports a usable one.
fn host_name() -> Option<String> {
    let raw = fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let host = raw.trim();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    valid.then(|| host.to_owned())
}

fn read_pem(path: &Path) -> Result<Vec<u8>, ApiError> {
    let io = |e: std::io::Error| ApiError::Tls(format!("{}: {e}", path.display()));
    let len = fs::metadata(path).map_err(io)?.len();
    if len > MAX_PEM_BYTES {
        return Err(ApiError::Tls(format!(
            "{}: larger than {MAX_PEM_BYTES} bytes",
            path.display()
        )));
    }
    fs::read(path).map_err(io)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ApiError> {
    let bytes = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Tls(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ApiError::Tls(format!("{}: no certificate in the file", path.display())));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ApiError> {
    let bytes = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| ApiError::Tls(format!("{}: no usable private key ({e})", path.display())))
}

fn create_private_dir(dir: &Path) -> Result<(), ApiError> {
    let io = |e: std::io::Error| ApiError::Tls(format!("{}: {e}", dir.display()));
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io)
}

/// Writes `bytes` to `path` with mode 0600: temporary file, fsync, rename, fsync directory.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ApiError> {
    let io = |e: std::io::Error| ApiError::Tls(format!("{}: {e}", path.display()));
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_784), (2026, 11, 27));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn generated_material_builds_a_server_config_and_keys_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let tls = server_tls(dir.path(), &TlsSettings::default()).unwrap();
        assert!(tls.generated.is_some());
        assert!(!tls.mutual);
        assert_eq!(tls.config.alpn_protocols[0], b"h2");
        #[cfg(unix)]
        for file in [CA_KEY_FILE, SERVER_KEY_FILE] {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(TLS_DIR).join(file)).unwrap().permissions();
            assert_eq!(mode.mode() & 0o777, 0o600, "{file}");
        }
        // A second start reuses the same identity.
        let before = fs::read(dir.path().join(TLS_DIR).join(SERVER_CERT_FILE)).unwrap();
        let again = server_tls(dir.path(), &TlsSettings::default()).unwrap();
        assert!(again.generated.is_none());
        assert_eq!(before, fs::read(dir.path().join(TLS_DIR).join(SERVER_CERT_FILE)).unwrap());
    }

    #[test]
    fn incomplete_or_bad_material_is_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        server_tls(dir.path(), &TlsSettings::default()).unwrap();
        fs::remove_file(dir.path().join(TLS_DIR).join(CA_KEY_FILE)).unwrap();
        let err = server_tls(dir.path(), &TlsSettings::default()).err().unwrap();
        assert!(err.to_string().contains("incomplete"), "{err}");

        let garbage = dir.path().join("garbage.pem");
        fs::write(&garbage, "not a certificate").unwrap();
        let settings = TlsSettings {
            cert: Some(garbage.clone()),
            key: Some(garbage.clone()),
            client_ca: None,
        };
        let err = server_tls(dir.path(), &settings).err().unwrap();
        assert!(err.to_string().contains("garbage.pem"), "{err}");
        let half = TlsSettings { cert: Some(garbage), key: None, client_ca: None };
        assert!(server_tls(dir.path(), &half).is_err());
    }
}
