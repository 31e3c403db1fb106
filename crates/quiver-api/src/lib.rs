//! The Milvus-compatible gRPC service and REST API v2 of Quiver, secure by default.
//!
//! # Layout
//! - `proto.rs`: the wire types and service trait generated from `proto/*.proto` (our own
//!   declarations of Milvus's messages, field numbers checked against pymilvus by
//!   `tests/proto_check.py`).
//! - `server.rs`: the server; `listener.rs`: accept loop and TLS handshakes; `tls.rs`:
//!   certificates (generated on first start) and mutual TLS.
//! - `auth.rs`: authentication of every request, before routing; `deadline.rs`: the request
//!   timeout, answered in the request's protocol.
//! - `limits.rs`: request limits (sizes, counts, top-k, dimension, filter, timeout), each with
//!   a secure default and a ceiling configuration cannot exceed.
//! - `deletion_guard.rs`: the mass-deletion guard (force flag and `ForceDelete` privilege).
//! - `ratelimit.rs`: token buckets per user and per address for reads, writes, DDL and logins;
//!   `quota.rs`: the disk and memory quotas (caps on the data directory's size and the
//!   process's resident memory) that refuse inserts.
//! - `rest/`: Milvus's REST API v2 on the same port, translated into the same handlers.
//! - `metrics/`: Prometheus metrics (`GET /metrics`), request ids, request spans and the
//!   access log, from a layer in front of authentication.
//! - `service/`: one handler per RPC (authorization first, then validation, then the engine);
//!   `convert/`: wire types to domain types and back; `status.rs`: errors to Milvus codes.
//!
//! **Invariant:** no request reaches a handler without an authenticated principal, and no
//! handler touches data before its authorization check.

mod auth;
mod convert;
mod deadline;
mod deletion_guard;
mod error;
mod limits;
mod listener;
mod metrics;
pub mod proto;
mod quota;
mod ratelimit;
mod rest;
mod server;
mod service;
mod status;
pub mod tls;

pub use deletion_guard::{DeletionGuard, FORCE_DELETE_HEADER, GuardSettingError};
pub use error::ApiError;
pub use limits::{Limit, LimitOutOfRange, RequestLimits};
pub use listener::PeerInfo;
pub use quota::{
    DEFAULT_REFRESH as DATA_QUOTA_REFRESH, DataQuota, MemoryQuota, QuotaExceeded, QuotaKind,
};
pub use ratelimit::{
    ClassLimits, FLUSH_COST, LimitScope, Rate, RateLimiter, RateLimits, RequestClass, RetryAfter,
    WRITE_REQUEST_COST,
};
pub use server::serve;
pub use service::audit::{AuditTrail, ReadAuditing};
pub use service::{MilvusApi, rpc_class};
pub use tls::{ServerTls, TlsSettings, server_tls};
