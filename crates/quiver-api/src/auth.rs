//! Authentication of every request, before any service code runs.
//!
//! A tower layer in front of the whole router: it reads the `authorization` metadata (Milvus's
//! form: base64 of `user:password`), verifies it against the security store (throttle,
//! credential cache, Argon2id) on a blocking thread, and attaches the [`Principal`] to the
//! request. Without a valid credential the request ends here with gRPC UNAUTHENTICATED, as
//! Milvus answers; no method, known or unknown, is reachable without one. There is no
//! internal-caller bypass of any kind (the `sourceId` header of CVE-2025-64513 is ignored like
//! any other header).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use quiver_security::{Principal, Secret, SecurityError, SecurityStore};
use tokio::sync::Semaphore;
use tower::{Layer, Service};

use crate::listener::PeerInfo;

/// Longest `authorization` value accepted (base64 of a 255-byte name and a 256-byte password).
const MAX_AUTHORIZATION_LEN: usize = 1024;
/// Argon2 verifications running at once; each uses 19 MiB. Further requests wait.
const MAX_CONCURRENT_VERIFICATIONS: usize = 8;

#[derive(Clone)]
pub(crate) struct AuthLayer {
    security: Arc<SecurityStore>,
    verifications: Arc<Semaphore>,
}

impl AuthLayer {
    pub(crate) fn new(security: Arc<SecurityStore>) -> AuthLayer {
        AuthLayer {
            security,
            verifications: Arc::new(Semaphore::new(MAX_CONCURRENT_VERIFICATIONS)),
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
            let peer = request
                .extensions()
                .get::<PeerInfo>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.addr.ip());
            let credentials = parse_authorization(request.headers().get("authorization"));
            let result = match credentials {
                Ok((user, password)) => layer.verify(user, password, peer).await,
                Err(reason) => Err(tonic::Status::unauthenticated(reason)),
            };
            match result {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
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
        user: String,
        password: Secret,
        peer: IpAddr,
    ) -> Result<Principal, tonic::Status> {
        let _permit = self
            .verifications
            .acquire()
            .await
            .map_err(|_| tonic::Status::unavailable("server is shutting down"))?;
        let security = self.security.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            security.authenticate(&user, &password, peer, Instant::now())
        })
        .await;
        match outcome {
            Ok(Ok(principal)) => Ok(principal),
            Ok(Err(err @ (SecurityError::Unauthenticated | SecurityError::Throttled { .. }))) => {
                tracing::info!(%peer, error = %err, "authentication refused");
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

/// Splits Milvus's `authorization` value: base64 of `user:password`. The messages match
/// Milvus's wording where it has one, and never echo the value.
pub(crate) fn parse_authorization(
    value: Option<&http::HeaderValue>,
) -> Result<(String, Secret), &'static str> {
    let value = value.ok_or("missing authorization in header")?;
    let bytes = value.as_bytes();
    if bytes.len() > MAX_AUTHORIZATION_LEN {
        return Err("invalid token format");
    }
    let decoded = STANDARD.decode(bytes).map_err(|_| "invalid token format")?;
    let decoded = Secret::from_utf8(decoded).ok_or("invalid token format")?;
    let Some((user, password)) = decoded.expose().split_once(':') else {
        // Milvus reads a value without ':' as an API key; Quiver has none on this port yet.
        return Err("API keys are not accepted; authenticate with user:password");
    };
    if user.is_empty() {
        return Err("invalid token format");
    }
    Ok((user.to_owned(), Secret::new(password.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> http::HeaderValue {
        http::HeaderValue::from_str(&STANDARD.encode(text)).unwrap()
    }

    #[test]
    fn parses_user_and_password_with_colons_in_the_password() {
        let (user, password) = parse_authorization(Some(&header("root:a:b:c"))).unwrap();
        assert_eq!(user, "root");
        assert_eq!(password.expose(), "a:b:c");
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
