//! The errors of starting and running the server (request failures are
//! [`crate::status::Failure`]s, which travel to the client instead).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ApiError {
    /// Certificates or keys could not be read, generated or used.
    #[error("TLS: {0}")]
    Tls(String),

    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },

    #[error("server failed: {0}")]
    Serve(String),
}
