//! Authentication of every request, before any service code runs.
//!
//! A tower layer in front of the whole router: it reads the `authorization` metadata (Milvus's
//! form: base64 of `user:password`, or base64 of an API key token `qvk_…` as pymilvus sends
//! `token=`), verifies it against the security store on a blocking thread (passwords:
//! throttle, credential cache, Argon2id; API keys: throttle, digest, expiry), and attaches the
//! [`Principal`] to the request (for a key, restricted to the key's roles). A value without
//! `:` that is not a key is refused. The credential is never logged. Without a valid
//! credential the request ends here with gRPC UNAUTHENTICATED, as Milvus answers; no method,
//! known or unknown, is reachable without one. There is no internal-caller bypass of any kind
//! (the `sourceId` header of CVE-2025-64513 is ignored like any other header).
//!
//! REST requests (paths under `/v2/`) carry the credential as HTTP does: `Authorization:
//! Bearer user:password`, `Bearer <API key>` or `Basic base64(user:password)`. They pass the
//! same login rate limit and the same verification; a refusal is a JSON envelope (HTTP 401
//! with code 1800, or 429 with code 8 and `Retry-After`) instead of a gRPC status. `/metrics`
//! (the Prometheus scrape) is authenticated and refused the REST way. Exactly one path is
//! served without a credential: `/healthz`, which answers `ok` and nothing else.
//!
//! Each refusal is counted in `quiver_auth_failures_total` by its reason (never by who or
//! from where); an accepted request's user goes to its span and access-log line.
//!
//! The audit log records every refusal (the user claimed, the key id of an API key, the
//! client's address, the method and why) and every acceptance that was a real verification:
//! an Argon2 check of a password or the digest check of an API key. A password found in the
//! verified-credential cache is not recorded again (the log would grow by one fsynced record
//! per request). A verified acceptance whose record cannot be written is refused (fail
//! closed).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use quiver_audit::{AuthMethod, AuthOutcome, Event, Text, UserName};
use quiver_security::{
    API_KEY_ID_LEN, API_KEY_PREFIX, Principal, Secret, SecurityError, SecurityStore, Verification,
    is_api_key_token,
};
use tokio::sync::Semaphore;
use tower::{Layer, Service};

use crate::listener::PeerInfo;
use crate::metrics::{AuthFailure, Metrics, Outcome, spawn_blocking_in_span};
use crate::ratelimit::{RateLimiter, RequestClass, RetryAfter};
use crate::rest;
use crate::service::audit::{AUDIT_UNAVAILABLE, AuditTrail};

/// Longest `authorization` value accepted (base64 of a 255-byte name and a 256-byte password;
/// an API key token is 85 bytes).
const MAX_AUTHORIZATION_LEN: usize = 1024;
/// Argon2 verifications running at once; each uses 19 MiB. Further requests wait.
const MAX_CONCURRENT_VERIFICATIONS: usize = 8;
/// The liveness probe, served without a credential.
const HEALTH_PATH: &str = "/healthz";
/// Paths of the REST API v2.
const REST_PREFIX: &str = "/v2/";
/// The Prometheus scrape, authenticated like the REST API.
const METRICS_PATH: &str = "/metrics";

#[derive(Clone)]
pub(crate) struct AuthLayer {
    security: Arc<SecurityStore>,
    limiter: Arc<RateLimiter>,
    metrics: Arc<Metrics>,
    verifications: Arc<Semaphore>,
    audit: AuditTrail,
}

impl AuthLayer {
    pub(crate) fn new(
        security: Arc<SecurityStore>,
        limiter: Arc<RateLimiter>,
        metrics: Arc<Metrics>,
        audit: AuditTrail,
    ) -> AuthLayer {
        AuthLayer {
            security,
            limiter,
            metrics,
            verifications: Arc::new(Semaphore::new(MAX_CONCURRENT_VERIFICATIONS)),
            audit,
        }
    }

    /// Counts and records a credential that could not be read: absent, or of no accepted
    /// form.
    fn unreadable(&self, value: Option<&http::HeaderValue>, peer: Option<SocketAddr>) {
        let (reason, outcome) = match value {
            None => (AuthFailure::Missing, AuthOutcome::MissingCredential),
            Some(_) => (AuthFailure::Malformed, AuthOutcome::Malformed),
        };
        self.metrics.auth_failure(reason);
        let event =
            Event::Auth { user: None, key_id: None, peer, method: AuthMethod::Missing, outcome };
        self.audit.record_auth_refusal(&event);
    }

    /// The login rate limit, checked before any verification work: per claimed user name
    /// and per address for passwords, per address for API keys. Over gRPC the refusal is
    /// RESOURCE_EXHAUSTED, which clients do not retry.
    fn admit(
        &self,
        credentials: &Credentials,
        peer_addr: Option<SocketAddr>,
    ) -> Result<(), RetryAfter> {
        let peer = ip_of(peer_addr);
        let now = Instant::now();
        let admitted = match credentials {
            Credentials::Password { user, .. } => {
                self.limiter.check(RequestClass::Login, user, peer, now)
            }
            Credentials::ApiKey(_) => self.limiter.check_address(RequestClass::Login, peer, now),
        };
        if let Err(refusal) = &admitted {
            tracing::debug!(%peer, %refusal, "authentication rate-limited");
            let event = auth_event(credentials, peer_addr, AuthOutcome::RateLimited);
            self.audit.record_auth_refusal(&event);
        }
        admitted
    }

    /// Authenticates a REST request; a refusal is the REST response to send.
    async fn authenticate_rest(
        &self,
        headers: &http::HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Principal, http::Response<tonic::body::Body>> {
        let refusal =
            |response: http::Response<axum::body::Body>| response.map(tonic::body::Body::new);
        let value = headers.get(http::header::AUTHORIZATION);
        let credentials = match parse_rest_authorization(value) {
            Ok(credentials) => credentials,
            Err(reason) => {
                self.unreadable(value, peer);
                return Err(refusal(rest::unauthenticated(reason)));
            }
        };
        self.admit(&credentials, peer)
            .map_err(|r| refusal(rest::rate_limited(&r.to_string(), r.wait)))?;
        self.verify(credentials, peer)
            .await
            .map_err(|status| refusal(rest::status_response(&status)))
    }
}

/// Which front end a request is for, by its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Front {
    Grpc,
    Rest,
    /// `/healthz`: the only path served without a credential.
    Health,
}

impl Front {
    fn of(path: &str) -> Front {
        if path == HEALTH_PATH {
            Front::Health
        } else if path.starts_with(REST_PREFIX) || path == METRICS_PATH {
            Front::Rest
        } else {
            Front::Grpc
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Authenticated<S> {
        Authenticated { inner, layer: self.clone() }
    }
}

#[derive(Clone)]
pub(crate) struct Authenticated<S> {
    inner: S,
    layer: AuthLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<http::Request<B>> for Authenticated<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request; the fresh one waits.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let peer = request.extensions().get::<PeerInfo>().map(|p| p.addr);
            let outcome = request.extensions().get::<Outcome>().cloned();
            let accept = |request: &mut http::Request<B>, principal: Principal| {
                if let Some(outcome) = &outcome {
                    outcome.set_user(&principal.user);
                }
                request.extensions_mut().insert(principal);
            };
            match Front::of(request.uri().path()) {
                Front::Health => return inner.call(request).await,
                Front::Rest => {
                    return match layer.authenticate_rest(request.headers(), peer).await {
                        Ok(principal) => {
                            accept(&mut request, principal);
                            inner.call(request).await
                        }
                        Err(response) => Ok(response),
                    };
                }
                Front::Grpc => {}
            }
            let value = request.headers().get("authorization");
            let result = match parse_authorization(value) {
                Ok(credentials) => match layer.admit(&credentials, peer) {
                    Ok(()) => layer.verify(credentials, peer).await,
                    Err(refusal) => Err(refusal.to_grpc_status()),
                },
                Err(reason) => {
                    layer.unreadable(value, peer);
                    Err(tonic::Status::unauthenticated(reason))
                }
            };
            match result {
                Ok(principal) => {
                    accept(&mut request, principal);
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

impl AuthLayer {
    async fn verify(
        &self,
        credentials: Credentials,
        peer_addr: Option<SocketAddr>,
    ) -> Result<Principal, tonic::Status> {
        let peer = ip_of(peer_addr);
        let _permit = self
            .verifications
            .acquire()
            .await
            .map_err(|_| tonic::Status::unavailable("server is shutting down"))?;
        let security = self.security.clone();
        let method = credentials.method();
        let bad_credentials = match credentials {
            Credentials::Password { .. } => AuthFailure::BadPassword,
            Credentials::ApiKey(_) => AuthFailure::BadApiKey,
        };
        let audit = self.audit.clone();
        let outcome = spawn_blocking_in_span(move || {
            let verified = match &credentials {
                Credentials::Password { user, password } => {
                    security.authenticate_verified(user, password, peer, Instant::now())
                }
                Credentials::ApiKey(token) => {
                    let now_unix =
                        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                    security
                        .authenticate_key(token, peer, Instant::now(), now_unix)
                        .map(|principal| (principal, Verification::Verified))
                }
            };
            let recorded = match &verified {
                Ok((_, Verification::Cached)) | Err(_) => None,
                Ok((principal, Verification::Verified)) => {
                    Some(verified_event(&credentials, principal, peer_addr))
                }
            };
            let refused = match &verified {
                Err(SecurityError::Unauthenticated) => Some(AuthOutcome::BadCredentials),
                Err(SecurityError::Throttled { .. }) => Some(AuthOutcome::Throttled),
                Ok(_) | Err(_) => None,
            };
            if let Some(outcome) = refused {
                audit.record_auth_refusal(&auth_event(&credentials, peer_addr, outcome));
            }
            match recorded {
                Some(event) if audit.record_auth(&event).is_err() => Err(AuditUnavailable),
                Some(_) | None => Ok(verified.map(|(principal, _)| principal)),
            }
        })
        .await;
        let outcome = match outcome {
            Ok(Err(AuditUnavailable)) => {
                self.metrics.auth_failure(AuthFailure::Error);
                return Err(tonic::Status::unavailable(AUDIT_UNAVAILABLE));
            }
            Ok(Ok(verified)) => Ok(verified),
            Err(join) => Err(join),
        };
        let failure = match &outcome {
            Ok(Ok(_)) => None,
            Ok(Err(SecurityError::Unauthenticated)) => Some(bad_credentials),
            Ok(Err(SecurityError::Throttled { .. })) => Some(AuthFailure::Throttled),
            Ok(Err(_)) | Err(_) => Some(AuthFailure::Error),
        };
        if let Some(reason) = failure {
            self.metrics.auth_failure(reason);
        }
        match outcome {
            Ok(Ok(principal)) => Ok(principal),
            Ok(Err(err @ (SecurityError::Unauthenticated | SecurityError::Throttled { .. }))) => {
                tracing::info!(%peer, method, error = %err, "authentication refused");
                Err(tonic::Status::unauthenticated(err.to_string()))
            }
            Ok(Err(err)) => {
                tracing::error!(error = %err, "authentication failed");
                Err(tonic::Status::internal("authentication failed on the server"))
            }
            Err(_) => Err(tonic::Status::internal("authentication failed on the server")),
        }
    }
}

/// A verified credential whose audit record could not be written.
struct AuditUnavailable;

fn ip_of(peer: Option<SocketAddr>) -> IpAddr {
    peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip())
}

/// The audit record of an authentication attempt with `credentials` that ended in `outcome`
/// (never the password or the key's secret: the user claimed, or the key's public id).
fn auth_event(credentials: &Credentials, peer: Option<SocketAddr>, outcome: AuthOutcome) -> Event {
    let (user, key_id, method) = match credentials {
        Credentials::Password { user, .. } => {
            (Some(UserName::new(user)), None, AuthMethod::Password)
        }
        Credentials::ApiKey(token) => (None, api_key_id(token.expose()), AuthMethod::ApiKey),
    };
    Event::Auth { user, key_id, peer, method, outcome }
}

/// The record of a verified credential: the user, and the key's id for an API key.
fn verified_event(
    credentials: &Credentials,
    principal: &Principal,
    peer: Option<SocketAddr>,
) -> Event {
    let method = match credentials {
        Credentials::Password { .. } => AuthMethod::Password,
        Credentials::ApiKey(_) => AuthMethod::ApiKey,
    };
    Event::Auth {
        user: Some(UserName::new(&principal.user)),
        key_id: principal.api_key.as_ref().map(|key| Text::new(&key.id)),
        peer,
        method,
        outcome: AuthOutcome::Ok,
    }
}

/// The id (public part) of an API key token, `qvk_<id>_<secret>`, when it has the shape of
/// one; never any of the secret.
fn api_key_id(token: &str) -> Option<Text> {
    let rest = token.strip_prefix(API_KEY_PREFIX)?;
    let id = rest.get(..API_KEY_ID_LEN)?;
    let shaped = id.bytes().all(|b| b.is_ascii_hexdigit())
        && rest.as_bytes().get(API_KEY_ID_LEN) == Some(&b'_');
    shaped.then(|| Text::new(id))
}

/// What an `authorization` value carries. `Debug` shows no secret.
#[derive(Debug)]
pub(crate) enum Credentials {
    /// `user:password` (the password may contain `:`).
    Password { user: String, password: Secret },
    /// A value without `:` that starts with the API key prefix: the whole value is the token
    /// (whether it is well formed is the store's business, so that a malformed key fails like
    /// a wrong one).
    ApiKey(Secret),
}

impl Credentials {
    /// For logs: which kind of credential failed, never the credential.
    fn method(&self) -> &'static str {
        match self {
            Credentials::Password { .. } => "password",
            Credentials::ApiKey(_) => "api key",
        }
    }
}

/// Reads Milvus's `authorization` value: base64 of `user:password`, or base64 of a token
/// without `:` (pymilvus's `token=`), which Quiver accepts only as one of its API keys. The
/// messages match Milvus's wording where it has one, and never echo the value.
pub(crate) fn parse_authorization(
    value: Option<&http::HeaderValue>,
) -> Result<Credentials, &'static str> {
    let value = value.ok_or("missing authorization in header")?;
    let bytes = value.as_bytes();
    if bytes.len() > MAX_AUTHORIZATION_LEN {
        return Err("invalid token format");
    }
    let decoded = STANDARD.decode(bytes).map_err(|_| "invalid token format")?;
    let decoded = Secret::from_utf8(decoded).ok_or("invalid token format")?;
    credentials(decoded)
}

/// Reads a REST `Authorization` header: `Bearer user:password`, `Bearer <API key>` (Milvus's
/// forms) or `Basic base64(user:password)`. The scheme is matched without regard to case.
pub(crate) fn parse_rest_authorization(
    value: Option<&http::HeaderValue>,
) -> Result<Credentials, &'static str> {
    let value = value.ok_or("user hasn't authenticated: missing Authorization header")?;
    let bytes = value.as_bytes();
    if bytes.len() > MAX_AUTHORIZATION_LEN {
        return Err("invalid token format");
    }
    let scheme_len = bytes.iter().position(|b| *b == b' ').ok_or("invalid token format")?;
    let (scheme, rest) = bytes.split_at(scheme_len);
    let token = rest.trim_ascii();
    if scheme.eq_ignore_ascii_case(b"Bearer") {
        let token = Secret::from_utf8(token.to_vec()).ok_or("invalid token format")?;
        credentials(token)
    } else if scheme.eq_ignore_ascii_case(b"Basic") {
        let decoded = STANDARD.decode(token).map_err(|_| "invalid token format")?;
        let decoded = Secret::from_utf8(decoded).ok_or("invalid token format")?;
        if !decoded.expose().contains(':') {
            return Err("invalid token format: Basic credentials are user:password");
        }
        credentials(decoded)
    } else {
        Err("invalid token format: expected Bearer or Basic credentials")
    }
}

/// A decoded credential: `user:password` (split at the first `:`), or an API key token.
fn credentials(decoded: Secret) -> Result<Credentials, &'static str> {
    if let Some((user, password)) = decoded.expose().split_once(':') {
        if user.is_empty() {
            return Err("invalid token format");
        }
        return Ok(Credentials::Password {
            user: user.to_owned(),
            password: Secret::new(password.to_owned()),
        });
    }
    if is_api_key_token(decoded.expose()) {
        return Ok(Credentials::ApiKey(decoded));
    }
    // Milvus reads any value without ':' as an API key; Quiver's keys all start with `qvk_`.
    Err("invalid token format: expected user:password or a Quiver API key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> http::HeaderValue {
        http::HeaderValue::from_str(&STANDARD.encode(text)).unwrap()
    }

    #[test]
    fn parses_user_and_password_with_colons_in_the_password() {
        let parsed = parse_authorization(Some(&header("root:a:b:c"))).unwrap();
        let Credentials::Password { user, password } = parsed else { panic!("{parsed:?}") };
        assert_eq!(user, "root");
        assert_eq!(password.expose(), "a:b:c");
    }

    const TOKEN: &str =
        "qvk_0123456789abcdef_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn a_value_without_colon_and_with_the_key_prefix_is_an_api_key() {
        let parsed = parse_authorization(Some(&header(TOKEN))).unwrap();
        let Credentials::ApiKey(token) = &parsed else { panic!("{parsed:?}") };
        assert_eq!(token.expose(), TOKEN);
        // A malformed key is still handed to the store, which refuses it like a wrong one.
        let parsed = parse_authorization(Some(&header("qvk_short"))).unwrap();
        assert!(matches!(parsed, Credentials::ApiKey(_)));
    }

    #[test]
    fn a_colon_makes_it_a_password_even_with_the_key_prefix() {
        let parsed = parse_authorization(Some(&header(&format!("{TOKEN}:x")))).unwrap();
        assert!(matches!(parsed, Credentials::Password { ref user, .. } if user == TOKEN));
    }

    #[test]
    fn other_values_without_colon_are_refused_without_echoing_them() {
        for value in ["no-colon", "root", "qvk", "QVK_0123456789abcdef_00", " qvk_x"] {
            let err = parse_authorization(Some(&header(value))).unwrap_err();
            assert!(err.starts_with("invalid token format"), "{value}: {err}");
            assert!(!err.contains(value), "{value}: {err}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_credential() {
        let parsed = parse_authorization(Some(&header(TOKEN))).unwrap();
        let debug = format!("{parsed:?}");
        assert!(!debug.contains("0123456789abcdef"), "{debug}");
        let parsed = parse_authorization(Some(&header("root:hunter2-long-enough"))).unwrap();
        let debug = format!("{parsed:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert_eq!(parsed.method(), "password");
    }

    #[test]
    fn rest_takes_bearer_and_basic_credentials() {
        let value = |text: &str| http::HeaderValue::from_str(text).unwrap();
        let parsed = parse_rest_authorization(Some(&value("Bearer root:a:b"))).unwrap();
        let Credentials::Password { user, password } = parsed else { panic!("{parsed:?}") };
        assert_eq!((user.as_str(), password.expose()), ("root", "a:b"));
        let basic = format!("Basic {}", STANDARD.encode("alice:pw:x"));
        let parsed = parse_rest_authorization(Some(&value(&basic))).unwrap();
        assert!(matches!(parsed, Credentials::Password { ref user, .. } if user == "alice"));
        let parsed = parse_rest_authorization(Some(&value(&format!("bearer {TOKEN}")))).unwrap();
        assert!(matches!(parsed, Credentials::ApiKey(_)));
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer no-colon",
            "Bearer :password",
            "root:password",
            "Digest root:password",
            "Basic %%%",
        ] {
            let err = parse_rest_authorization(Some(&value(bad))).unwrap_err();
            assert!(err.starts_with("invalid token format"), "{bad}: {err}");
        }
        let basic_without_colon = format!("Basic {}", STANDARD.encode(TOKEN));
        assert!(parse_rest_authorization(Some(&value(&basic_without_colon))).is_err());
        assert!(
            parse_rest_authorization(None).unwrap_err().starts_with("user hasn't authenticated")
        );
        let long = value(&format!("Bearer u:{}", "x".repeat(2000)));
        assert!(parse_rest_authorization(Some(&long)).is_err());
    }

    #[test]
    fn only_the_health_path_skips_authentication() {
        assert_eq!(Front::of("/healthz"), Front::Health);
        for path in ["/healthz/", "/healthzz", "/v2/healthz", "/HEALTHZ", "/"] {
            assert_ne!(Front::of(path), Front::Health, "{path}");
        }
        assert_eq!(Front::of("/v2/vectordb/collections/list"), Front::Rest);
        assert_eq!(Front::of("/metrics"), Front::Rest);
        assert_eq!(Front::of("/milvus.proto.milvus.MilvusService/Search"), Front::Grpc);
    }

    #[test]
    fn refuses_missing_malformed_and_oversized_values() {
        assert_eq!(parse_authorization(None).unwrap_err(), "missing authorization in header");
        let not_base64 = http::HeaderValue::from_static("%%%");
        assert_eq!(parse_authorization(Some(&not_base64)).unwrap_err(), "invalid token format");
        assert!(parse_authorization(Some(&header("no-colon"))).is_err());
        assert!(parse_authorization(Some(&header(":password"))).is_err());
        let long = header(&format!("u:{}", "x".repeat(2000)));
        assert_eq!(parse_authorization(Some(&long)).unwrap_err(), "invalid token format");
        let not_utf8 = http::HeaderValue::from_str(&STANDARD.encode([0xff, b':', 0xfe])).unwrap();
        assert!(parse_authorization(Some(&not_utf8)).is_err());
    }
}
