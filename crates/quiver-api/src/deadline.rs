//! The request timeout (`limits.request_timeout_seconds`): a layer in front of everything,
//! authentication included, that answers a request still running at its deadline with a
//! timeout in the request's own protocol.
//!
//! - gRPC (content type `application/grpc…`): status DEADLINE_EXCEEDED. The deadline is the
//!   configured timeout or the client's `grpc-timeout`, whichever is sooner.
//! - Anything else (REST, `/metrics`): the REST envelope with Milvus code 10001, like every
//!   other REST refusal.
//!
//! The answer goes out at the deadline; a handler already running on a blocking thread
//! cannot be interrupted and finishes in the background, its result dropped. Its
//! rate-limit charge was taken before it started, so a client cannot use timeouts to run
//! more work than its limits allow.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderMap;
use tower::{Layer, Service};

use crate::limits::Limit;
use crate::metrics::{Outcome, StatusLabel};
use crate::rest;

/// Longest `grpc-timeout` value: at most 8 digits and a unit, as the gRPC spec allows.
const MAX_GRPC_TIMEOUT_DIGITS: usize = 8;

#[derive(Clone, Copy, Debug)]
pub(crate) struct DeadlineLayer {
    limit: Duration,
}

impl DeadlineLayer {
    pub(crate) fn new(limit: Duration) -> DeadlineLayer {
        DeadlineLayer { limit }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline { inner, limit: self.limit }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Deadline<S> {
    inner: S,
    limit: Duration,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<http::Request<B>> for Deadline<S>
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

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request; the fresh one waits.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let grpc = is_grpc(request.headers());
        let (deadline, by_client) = match grpc.then(|| grpc_timeout(request.headers())).flatten() {
            Some(asked) if asked < self.limit => (asked, true),
            _ => (self.limit, false),
        };
        // The metrics layer outside records the status; a timeout is its own, whatever a
        // late handler would have answered.
        let outcome = request.extensions().get::<Outcome>().cloned();
        Box::pin(async move {
            match tokio::time::timeout(deadline, inner.call(request)).await {
                Ok(result) => result,
                Err(_elapsed) => {
                    if let Some(outcome) = &outcome {
                        outcome.set_status(StatusLabel::Grpc(tonic::Code::DeadlineExceeded));
                    }
                    Ok(timed_out(grpc, deadline, by_client))
                }
            }
        })
    }
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// The client's `grpc-timeout` (`<1 to 8 digits><H|M|S|m|u|n>`); `None` when absent or
/// malformed (then the configured timeout applies).
fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get("grpc-timeout")?.to_str().ok()?;
    let digits = text.get(..text.len().checked_sub(1)?)?;
    if digits.is_empty()
        || digits.len() > MAX_GRPC_TIMEOUT_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    Some(match text.as_bytes().last()? {
        b'H' => Duration::from_secs(value.checked_mul(3600)?),
        b'M' => Duration::from_secs(value.checked_mul(60)?),
        b'S' => Duration::from_secs(value),
        b'm' => Duration::from_millis(value),
        b'u' => Duration::from_micros(value),
        b'n' => Duration::from_nanos(value),
        _ => return None,
    })
}

fn timed_out(grpc: bool, deadline: Duration, by_client: bool) -> http::Response<tonic::body::Body> {
    let message = if by_client {
        format!("the request did not complete within the client's deadline of {deadline:?}")
    } else {
        format!(
            "the request did not complete within {} s (limits.{})",
            deadline.as_secs(),
            Limit::TimeoutSeconds
        )
    };
    let status = tonic::Status::deadline_exceeded(message);
    if grpc {
        status.into_http()
    } else {
        rest::status_response(&status).map(tonic::body::Body::new)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    /// A service that answers after `delay` (a handler that runs that long).
    #[derive(Clone)]
    struct Slow(Duration);

    impl Service<http::Request<()>> for Slow {
        type Response = http::Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = BoxFuture<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            let delay = self.0;
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                Ok(http::Response::new(tonic::body::Body::empty()))
            })
        }
    }

    async fn call(
        limit: Duration,
        handler: Duration,
        headers: &[(&'static str, &str)],
    ) -> (http::Response<tonic::body::Body>, Duration) {
        let mut service = DeadlineLayer::new(limit).layer(Slow(handler));
        let mut request = http::Request::new(());
        *request.headers_mut() = super::tests::headers(headers);
        let started = std::time::Instant::now();
        let response = service.call(request).await.unwrap();
        (response, started.elapsed())
    }

    const GRPC: (&str, &str) = ("content-type", "application/grpc");

    #[tokio::test]
    async fn a_request_within_the_timeout_is_answered_by_its_handler() {
        let (response, _) = call(Duration::from_secs(5), Duration::from_millis(10), &[GRPC]).await;
        assert!(response.headers().get("grpc-status").is_none(), "the handler's own answer");
        let (response, _) = call(Duration::from_secs(5), Duration::from_millis(10), &[]).await;
        assert!(response.headers().get(http::header::CONTENT_TYPE).is_none());
    }

    #[tokio::test]
    async fn a_request_past_the_timeout_gets_deadline_exceeded_in_its_protocol() {
        let limit = Duration::from_millis(100);
        let (grpc, took) = call(limit, Duration::from_secs(30), &[GRPC]).await;
        assert_eq!(grpc.headers()["grpc-status"], "4");
        let message = grpc.headers()["grpc-message"].to_str().unwrap().to_owned();
        assert!(message.contains("request_timeout_seconds"), "{message}");
        assert!(took < Duration::from_secs(10), "answered at the deadline, not by the handler");
        let (rest, _) = call(limit, Duration::from_secs(30), &[]).await;
        assert_eq!(rest.headers()[http::header::CONTENT_TYPE], "application/json");
    }

    #[tokio::test]
    async fn a_sooner_client_deadline_wins_and_a_later_one_does_not() {
        let sooner = [GRPC, ("grpc-timeout", "100m")];
        let (response, took) =
            call(Duration::from_secs(60), Duration::from_secs(30), &sooner).await;
        assert_eq!(response.headers()["grpc-status"], "4");
        assert!(took < Duration::from_secs(10), "{took:?}");
        let later = [GRPC, ("grpc-timeout", "60S")];
        let (response, took) =
            call(Duration::from_millis(100), Duration::from_secs(30), &later).await;
        assert_eq!(response.headers()["grpc-status"], "4");
        assert!(took < Duration::from_secs(10), "{took:?}");
        let message = response.headers()["grpc-message"].to_str().unwrap().to_owned();
        assert!(message.contains("request_timeout_seconds"), "{message}");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn grpc_timeout_units_and_malformed_values() {
        let t = |v: &str| grpc_timeout(&headers(&[("grpc-timeout", v)]));
        assert_eq!(t("2S"), Some(Duration::from_secs(2)));
        assert_eq!(t("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(t("3M"), Some(Duration::from_secs(180)));
        assert_eq!(t("250m"), Some(Duration::from_millis(250)));
        assert_eq!(t("7u"), Some(Duration::from_micros(7)));
        assert_eq!(t("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for bad in ["", "S", "123456789S", "1x", "-1S", "1.5S", "1 S", "1s"] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
        assert_eq!(grpc_timeout(&HeaderMap::new()), None);
    }

    #[test]
    fn only_grpc_content_types_get_grpc_answers() {
        assert!(is_grpc(&headers(&[("content-type", "application/grpc")])));
        assert!(is_grpc(&headers(&[("content-type", "application/grpc+proto")])));
        assert!(!is_grpc(&headers(&[("content-type", "application/json")])));
        assert!(!is_grpc(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn a_rest_timeout_is_the_json_envelope_with_code_10001() {
        let response = timed_out(false, Duration::from_secs(3), false);
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(response.headers()[http::header::CONTENT_TYPE], "application/json");
        let body = axum::body::Body::new(response.into_body());
        let bytes = axum::body::to_bytes(body, 1 << 16).await.unwrap();
        let envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(envelope["code"], 10001, "{envelope}");
        assert!(envelope["message"].as_str().unwrap().contains("within 3 s"), "{envelope}");
        let response = timed_out(true, Duration::from_secs(3), false);
        assert_eq!(response.headers()["grpc-status"], "4", "DEADLINE_EXCEEDED");
    }
}
