//! Observability: Prometheus metrics at `GET /metrics`, request ids, per-request tracing spans
//! and the access log.
//!
//! The registry is our own and small: the metrics are a fixed list known at compile time,
//! the text format is simple, and a general-purpose registry would bring dynamic label sets,
//! which is how a server lets its clients grow its memory. Each label value comes from a fixed
//! table or is capped (see `requests.rs` and `collections.rs`); no label ever holds a user
//! name, an address, a key or other request text.
//!
//! | metric | labels |
//! |--------|--------|
//! | `quiver_requests_total` (counter) | `protocol` (`grpc`, `rest`), `method`, `status` |
//! | `quiver_request_duration_seconds` (histogram, 100 µs … 60 s) | `protocol`, `method` |
//! | `quiver_rows_inserted_total`, `quiver_rows_deleted_total` (counters) | `db`, `collection` |
//! | `quiver_auth_failures_total` (counter) | `reason` ([`AuthFailure`]) |
//! | `quiver_rate_limited_total` (counter, read from the rate limiter) | `class` |
//! | `quiver_uptime_seconds`, `quiver_start_time_seconds` (gauges) | |
//!
//! - `exposition.rs`: the text format 0.0.4 (escaping, `# HELP`/`# TYPE`).
//! - `histogram.rs`: the latency histogram (atomics only).
//! - `requests.rs`: request counters by protocol, method and status, and the method tables.
//! - `collections.rs`: row counters per collection, capped.
//! - `request_id.rs`: request ids and the `x-request-id` header.
//! - `layer.rs`: the tower layer in front of authentication that gives every request its id,
//!   span, count and access-log line.
//! - `endpoint.rs`: `GET /metrics` and the privilege it needs.
//!
//! Recording is lock-free on the hot path except for two short read locks: the first sight
//! of a Milvus failure code on a method, and the first write to a collection, take a write
//! lock once.

mod collections;
mod endpoint;
mod exposition;
mod histogram;
mod layer;
mod request_id;
mod requests;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub(crate) use endpoint::router;
pub(crate) use layer::{Outcome, RequestLayer, record_status, spawn_blocking_in_span};
pub(crate) use requests::StatusLabel;

use crate::metrics::collections::{CollectionRows, MAX_COLLECTION_SERIES, RowEvent};
use crate::metrics::exposition::{Exposition, Kind, Value};
use crate::metrics::request_id::RequestIds;
use crate::metrics::requests::RequestMetrics;
use crate::ratelimit::{RateLimiter, RequestClass};

/// Why the authentication layer refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No credential at all.
    Missing,
    /// A credential that is not of an accepted form (bad base64, no `user:`, unknown scheme).
    Malformed,
    /// A wrong password or an unknown user (indistinguishable, by design).
    BadPassword,
    /// An API key that is unknown, wrong, expired or revoked (indistinguishable, by design).
    BadApiKey,
    /// Refused by the failed-login throttle (too many failures for the user or address).
    Throttled,
    /// The check itself failed on the server.
    Error,
}

impl AuthFailure {
    const ALL: [AuthFailure; 6] = [
        AuthFailure::Missing,
        AuthFailure::Malformed,
        AuthFailure::BadPassword,
        AuthFailure::BadApiKey,
        AuthFailure::Throttled,
        AuthFailure::Error,
    ];

    fn label(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::BadPassword => "bad_password",
            AuthFailure::BadApiKey => "bad_api_key",
            AuthFailure::Throttled => "throttled",
            AuthFailure::Error => "error",
        }
    }

    fn index(self) -> usize {
        AuthFailure::ALL.iter().position(|&f| f == self).unwrap_or(0)
    }
}

/// The server's metrics and request-id generator, shared by the layers and the handlers.
#[derive(Debug)]
pub(crate) struct Metrics {
    pub(crate) requests: RequestMetrics,
    rows: CollectionRows,
    auth_failures: [AtomicU64; AuthFailure::ALL.len()],
    pub(crate) request_ids: RequestIds,
    started: Instant,
    started_unix: f64,
}

impl Metrics {
    /// The metrics of a server whose gRPC methods are `rpcs` (snake-case names).
    pub(crate) fn new<'a>(rpcs: impl IntoIterator<Item = &'a str>) -> Metrics {
        Metrics::with_collection_cap(rpcs, MAX_COLLECTION_SERIES)
    }

    fn with_collection_cap<'a>(rpcs: impl IntoIterator<Item = &'a str>, cap: usize) -> Metrics {
        Metrics {
            requests: RequestMetrics::new(rpcs),
            rows: CollectionRows::new(cap),
            auth_failures: Default::default(),
            request_ids: RequestIds::new(),
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }

    /// Counts rows written to a collection by an insert or an upsert.
    pub(crate) fn rows_inserted(&self, db: &str, collection: &str, rows: u64) {
        self.rows.add(RowEvent::Inserted, db, collection, rows);
    }

    /// Counts rows deleted from a collection.
    pub(crate) fn rows_deleted(&self, db: &str, collection: &str, rows: u64) {
        self.rows.add(RowEvent::Deleted, db, collection, rows);
    }

    pub(crate) fn auth_failure(&self, reason: AuthFailure) {
        self.auth_failures[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The scrape: every family, in a fixed order. The rate-limit refusals are read from
    /// `limiter`, which counts them itself.
    pub(crate) fn render(&self, limiter: &RateLimiter) -> String {
        let mut out = Exposition::default();
        self.requests.render(&mut out);
        self.rows.render(&mut out);
        out.family(
            "quiver_auth_failures_total",
            Kind::Counter,
            "Requests refused by authentication, by reason (login rate-limit refusals are in quiver_rate_limited_total{class=\"login\"}).",
        );
        for (reason, n) in AuthFailure::ALL.iter().zip(&self.auth_failures) {
            let labels = [("reason", reason.label())];
            out.sample(
                "quiver_auth_failures_total",
                &labels,
                Value::Int(n.load(Ordering::Relaxed)),
            );
        }
        out.family(
            "quiver_rate_limited_total",
            Kind::Counter,
            "Requests refused by the rate limits, by request class.",
        );
        for class in RequestClass::ALL {
            let labels = [("class", class_label(class))];
            out.sample("quiver_rate_limited_total", &labels, Value::Int(limiter.rejected(class)));
        }
        out.family("quiver_uptime_seconds", Kind::Gauge, "Seconds since the server started.");
        let uptime = self.started.elapsed().as_secs_f64();
        out.sample("quiver_uptime_seconds", &[], Value::Float(uptime));
        out.family(
            "quiver_start_time_seconds",
            Kind::Gauge,
            "When the server started, in seconds since the Unix epoch.",
        );
        out.sample("quiver_start_time_seconds", &[], Value::Float(self.started_unix));
        out.finish()
    }
}

fn class_label(class: RequestClass) -> &'static str {
    match class {
        RequestClass::Read => "read",
        RequestClass::Write => "write",
        RequestClass::Ddl => "ddl",
        RequestClass::Login => "login",
    }
}
