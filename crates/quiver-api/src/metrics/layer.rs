//! The outermost tower layer: every request, whatever becomes of it, gets an id, a tracing
//! span, a count and a latency in the metrics, and one access-log line.
//!
//! It sits in front of the authentication layer so that refused requests (no credential, a
//! wrong one, the login rate limit) are seen too. It attaches an [`Outcome`] to the request
//! for the layers and handlers behind it: the authentication layer fills in the user, and the
//! gRPC and REST handlers the status (a Milvus code travels inside a successful HTTP
//! response, where this layer cannot see it). When nobody filled in the status, it is read
//! from the response itself ([`StatusLabel::of_response`]).
//!
//! The span (`request`, with `request_id`, `protocol`, `method`, `peer`, and `user` once
//! authenticated) covers the authentication and the handler; handlers run on blocking
//! threads through [`spawn_blocking_in_span`], which enters it there, so anything they log
//! carries the request id. The access-log line (target `quiver::access`, level info;
//! `/healthz` at debug, as probes are frequent) has the same fields plus `status` and
//! `duration_ms`; it never has a credential, a token or a body. A request whose future is
//! dropped before it completes (the client went away, or the server-wide deadline) is
//! counted and logged as `CANCELLED`.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use tower::{Layer, Service};
use tracing::Instrument;

use crate::listener::PeerInfo;
use crate::metrics::Metrics;
use crate::metrics::request_id::{self, RequestId};
use crate::metrics::requests::{MethodId, StatusLabel};

/// The target of access-log events (`QUIVER_LOG=info,quiver::access=off` silences them).
pub(crate) const ACCESS_LOG_TARGET: &str = "quiver::access";

/// What the layers and handlers behind [`RequestLayer`] report about a request (a request
/// extension). The first value set wins.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outcome(Arc<OutcomeSlots>);

#[derive(Debug, Default)]
struct OutcomeSlots {
    status: OnceLock<StatusLabel>,
    user: OnceLock<String>,
}

impl Outcome {
    /// Records how the request ended.
    pub(crate) fn set_status(&self, status: StatusLabel) {
        let _ = self.0.status.set(status);
    }

    /// Records who the request was authenticated as (and adds it to the request's span).
    pub(crate) fn set_user(&self, user: &str) {
        if self.0.user.set(user.to_owned()).is_ok() {
            tracing::Span::current().record("user", user);
        }
    }

    fn status(&self) -> Option<StatusLabel> {
        self.0.status.get().copied()
    }

    fn user(&self) -> Option<&str> {
        self.0.user.get().map(String::as_str)
    }
}

/// Records the status of a request that carries an [`Outcome`] (requests that did not come
/// through [`RequestLayer`], as in unit tests, carry none).
pub(crate) fn record_status(extensions: &http::Extensions, status: StatusLabel) {
    if let Some(outcome) = extensions.get::<Outcome>() {
        outcome.set_status(status);
    }
}

/// [`tokio::task::spawn_blocking`] with the caller's span entered on the blocking thread (a
/// thread does not inherit it), so that what `f` logs carries the request's id.
pub(crate) fn spawn_blocking_in_span<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
}

#[derive(Clone)]
pub(crate) struct RequestLayer {
    metrics: Arc<Metrics>,
}

impl RequestLayer {
    pub(crate) fn new(metrics: Arc<Metrics>) -> RequestLayer {
        RequestLayer { metrics }
    }
}

impl<S> Layer<S> for RequestLayer {
    type Service = Observed<S>;

    fn layer(&self, inner: S) -> Observed<S> {
        Observed { inner, metrics: self.metrics.clone() }
    }
}

#[derive(Clone)]
pub(crate) struct Observed<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<http::Request<B>> for Observed<S>
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
        let metrics = self.metrics.clone();
        let id = request
            .headers()
            .get(request_id::HEADER)
            .and_then(RequestId::from_client)
            .unwrap_or_else(|| metrics.request_ids.next_id());
        let method = metrics.requests.method(request.uri().path());
        let peer = request
            .extensions()
            .get::<PeerInfo>()
            .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |p| p.addr);
        let outcome = Outcome::default();
        request.extensions_mut().insert(outcome.clone());
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            protocol = method.protocol.name(),
            method = metrics.requests.method_name(method),
            %peer,
            user = tracing::field::Empty,
        );
        let mut in_flight =
            InFlight { metrics, method, id, peer, outcome, start: Instant::now(), done: false };
        Box::pin(async move {
            let result = inner.call(request).instrument(span).await;
            match result {
                Ok(mut response) => {
                    let status = in_flight
                        .outcome
                        .status()
                        .unwrap_or_else(|| StatusLabel::of_response(&response));
                    if let Some(value) = in_flight.id.header_value() {
                        response.headers_mut().insert(request_id::HEADER, value);
                    }
                    in_flight.finish(status);
                    Ok(response)
                }
                Err(err) => {
                    in_flight.finish(StatusLabel::Grpc(tonic::Code::Internal));
                    Err(err)
                }
            }
        })
    }
}

/// A request between its arrival and its response; dropped unfinished, it counts as
/// cancelled.
struct InFlight {
    metrics: Arc<Metrics>,
    method: MethodId,
    id: RequestId,
    peer: SocketAddr,
    outcome: Outcome,
    start: Instant,
    done: bool,
}

impl InFlight {
    fn finish(&mut self, status: StatusLabel) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let elapsed = self.start.elapsed();
        self.metrics.requests.record(self.method, status, elapsed);
        let method = self.metrics.requests.method_name(self.method);
        let protocol = self.method.protocol.name();
        let status = status.label();
        let duration_ms = elapsed.as_secs_f64() * 1e3;
        let user = self.outcome.user();
        let (id, peer) = (self.id.as_str(), self.peer);
        if method == "healthz" {
            tracing::debug!(target: ACCESS_LOG_TARGET, request_id = id, protocol, method, status, duration_ms, user, %peer, "request");
        } else {
            tracing::info!(target: ACCESS_LOG_TARGET, request_id = id, protocol, method, status, duration_ms, user, %peer, "request");
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.finish(StatusLabel::Grpc(tonic::Code::Cancelled));
    }
}
