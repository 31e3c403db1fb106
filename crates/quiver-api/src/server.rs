//! The server: one listener (TLS unless explicitly insecure on loopback), the authentication
//! layer in front of every route, the Milvus gRPC service and, on the same port, Milvus's REST
//! API v2 (HTTP/1.1 or HTTP/2, told apart by the connection preface) and `/healthz`,
//! request-size and concurrency bounds, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::auth::AuthLayer;
use crate::proto::milvus::milvus_service_server::MilvusServiceServer;
use crate::service::MilvusApi;
use crate::{ApiError, listener, rest};

/// Largest request or response message (Milvus's proxy default is 64 MiB per RPC).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// Concurrent streams (requests) per HTTP/2 connection.
const MAX_STREAMS_PER_CONNECTION: u32 = 256;
/// A request that has not completed by then is cancelled with DEADLINE_EXCEEDED.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Serves the Milvus API on `listener` until `shutdown` completes, then stops accepting,
/// lets in-flight requests finish, and returns.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    api: MilvusApi,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ApiError> {
    let auth = AuthLayer::new(api.security.clone(), api.limiter.clone());
    let rest = rest::router(&api);
    let service = MilvusServiceServer::new(api)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    // The gRPC service keeps tonic's fallback (UNIMPLEMENTED for unknown methods); the REST
    // routes (`/v2/...`, `/healthz`) sit beside it.
    let routes = Routes::from(Routes::new(service).into_axum_router().merge(rest));
    let incoming = listener::incoming(listener, tls);
    tonic::transport::Server::builder()
        .accept_http1(true)
        .max_concurrent_streams(Some(MAX_STREAMS_PER_CONNECTION))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .timeout(REQUEST_TIMEOUT)
        .layer(auth)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| ApiError::Serve(e.to_string()))
}
