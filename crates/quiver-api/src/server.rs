//! The server: one listener (TLS unless explicitly insecure on loopback), the authentication
//! layer in front of every route, the Milvus gRPC service and, on the same port, Milvus's REST
//! API v2 (HTTP/1.1 or HTTP/2, told apart by the connection preface), `/healthz` and
//! `/metrics`, request-size and concurrency bounds, and graceful shutdown. In front of
//! everything, the request layer (`metrics/layer.rs`) gives each request its id, span, count
//! and access-log line.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::auth::AuthLayer;
use crate::deadline::DeadlineLayer;
use crate::metrics::{self, RequestLayer};
use crate::proto::admin::recycle_bin_server::RecycleBinServer;
use crate::proto::milvus::milvus_service_server::MilvusServiceServer;
use crate::service::MilvusApi;
use crate::{ApiError, listener, rest};

/// Concurrent streams (requests) per HTTP/2 connection.
const MAX_STREAMS_PER_CONNECTION: u32 = 256;

/// Serves the Milvus API on `listener` until `shutdown` completes, then stops accepting,
/// lets in-flight requests finish, and returns.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    api: MilvusApi,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ApiError> {
    let requests = RequestLayer::new(api.metrics.clone());
    let auth = auth_layer(&api);
    let deadline = DeadlineLayer::new(api.limits.request_timeout());
    let routes = routes(api);
    let incoming = listener::incoming(listener, tls);
    tonic::transport::Server::builder()
        .accept_http1(true)
        .max_concurrent_streams(Some(MAX_STREAMS_PER_CONNECTION))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        // Outermost first: every request is observed, whatever answers it; the deadline covers
        // authentication too.
        .layer(requests)
        .layer(deadline)
        .layer(auth)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| ApiError::Serve(e.to_string()))
}

/// The authentication layer of the server serving `api`.
pub(crate) fn auth_layer(api: &MilvusApi) -> AuthLayer {
    AuthLayer::new(
        api.security.clone(),
        api.limiter.clone(),
        api.metrics.clone(),
        api.audit.clone(),
    )
}

/// Every route: the gRPC service (which keeps tonic's fallback, UNIMPLEMENTED for unknown
/// methods) and beside it the REST routes (`/v2/...`, `/healthz`) and `/metrics`.
pub(crate) fn routes(api: MilvusApi) -> Routes {
    let rest = rest::router(&api);
    // The metrics label REST requests by the endpoints the router serves (a second build of
    // the endpoint record, once per server start, keeps the router's interface as it is).
    let endpoints = rest::endpoints(&api).endpoints;
    api.metrics.requests.set_rest_endpoints(endpoints.iter().map(|e| e.path.as_str()));
    let scrape = metrics::router(&api);
    let max_message = api.limits.max_message_bytes();
    let recycle_bin = RecycleBinServer::new(api.clone())
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);
    let service = MilvusServiceServer::new(api)
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);
    let grpc = Routes::new(service).add_service(recycle_bin);
    Routes::from(grpc.into_axum_router().merge(rest).merge(scrape))
}
