//! Request counts and latencies per protocol, method and status, with bounded label values.
//!
//! Every label value comes from a fixed set, so no client can grow the number of series:
//! - `method`: for gRPC, the RPCs of the service table (`crate::service`'s `RPC_CLASSES`,
//!   by their gRPC names: `Search`) and of the recycle-bin service (`ListTrash`); for REST, the endpoints the REST router registered, by
//!   their path under `/v2/vectordb/` (`entities/search`), and `healthz`, `metrics` and
//!   `openapi`; anything else is `unknown`.
//! - `status`: `ok`; a Milvus code (a number, from the codes Quiver sends, at most
//!   [`MAX_MILVUS_CODES_PER_METHOD`] per method and then `other`); or a gRPC code name
//!   (`PERMISSION_DENIED`) for refusals at the gRPC level (authentication, authorization, and
//!   the REST refusals that mirror them).
//!
//! The series of each method are allocated when the server starts; recording a request reads
//! a map built at start (no lock), adds to atomics, and takes a per-method read lock only for
//! a Milvus failure code.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::RwLock;

use crate::metrics::exposition::{Exposition, Value};
use crate::metrics::histogram::{Histogram, HistogramSnapshot};
use crate::status::Failure;

/// The path prefix of the Milvus gRPC service's methods.
const GRPC_PREFIX: &str = "/milvus.proto.milvus.MilvusService/";
/// The path prefix of Quiver's recycle-bin gRPC service (`proto/quiver_admin.proto`), whose
/// methods share the gRPC table (their names differ from every Milvus RPC).
const ADMIN_GRPC_PREFIX: &str = "/quiver.admin.v1.RecycleBin/";
/// The path prefix of the REST API v2's endpoints.
pub(crate) const REST_PREFIX: &str = "/v2/vectordb/";
/// The liveness probe and the scrape endpoint (REST-style HTTP paths).
pub(crate) const HEALTH_PATH: &str = "/healthz";
pub(crate) const METRICS_PATH: &str = "/metrics";
/// The method label of a path outside the tables.
pub(crate) const UNKNOWN_METHOD: &str = "unknown";
/// Distinct Milvus codes counted per method before further ones fold into `other`. Quiver
/// sends a few dozen codes in all; the bound only guards against a future mistake.
pub(crate) const MAX_MILVUS_CODES_PER_METHOD: usize = 32;

/// The REST paths outside `/v2/vectordb/`, with their method labels.
const REST_STATIC: [(&str, &str); 3] =
    [(HEALTH_PATH, "healthz"), (METRICS_PATH, "metrics"), ("/v2/openapi.json", "openapi")];

/// How a request arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    Grpc,
    /// The REST API, and the plain HTTP paths `/healthz` and `/metrics`.
    Rest,
}

impl Protocol {
    pub(crate) const ALL: [Protocol; 2] = [Protocol::Grpc, Protocol::Rest];

    /// The protocol of a request, by its path.
    pub(crate) fn of(path: &str) -> Protocol {
        if path == HEALTH_PATH || path == METRICS_PATH || path.starts_with("/v2/") {
            Protocol::Rest
        } else {
            Protocol::Grpc
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::Rest => "rest",
        }
    }
}

/// How a request ended, from a fixed set of values; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusLabel {
    Ok,
    /// A Milvus code in the response (gRPC `status`, REST `code`).
    Milvus(i32),
    /// A gRPC status other than OK (for REST, the refusal it mirrors).
    Grpc(tonic::Code),
}

impl StatusLabel {
    /// The status of a handler's outcome.
    pub(crate) fn of<T>(result: &Result<T, Failure>) -> StatusLabel {
        match result {
            Ok(_) => StatusLabel::Ok,
            Err(failure) => StatusLabel::of_failure(failure),
        }
    }

    pub(crate) fn of_failure(failure: &Failure) -> StatusLabel {
        match failure {
            Failure::Milvus { code: 0, .. } => StatusLabel::Ok,
            Failure::Milvus { code, .. } => StatusLabel::Milvus(*code),
            Failure::Grpc(status) => StatusLabel::of_grpc(status.code()),
        }
    }

    pub(crate) fn of_grpc(code: tonic::Code) -> StatusLabel {
        match code {
            tonic::Code::Ok => StatusLabel::Ok,
            code => StatusLabel::Grpc(code),
        }
    }

    /// The status of a response nobody recorded one for (refused by the authentication layer,
    /// or answered by tonic or the router before any handler ran): the `grpc-status` header
    /// of a gRPC response, else the HTTP status the REST refusals use.
    pub(crate) fn of_response<B>(response: &http::Response<B>) -> StatusLabel {
        if let Some(code) = response.headers().get("grpc-status") {
            return StatusLabel::of_grpc(tonic::Code::from_bytes(code.as_bytes()));
        }
        use http::StatusCode as H;
        use tonic::Code as G;
        let status = response.status();
        match status {
            _ if status.is_success() => StatusLabel::Ok,
            H::BAD_REQUEST => StatusLabel::Grpc(G::InvalidArgument),
            H::UNAUTHORIZED => StatusLabel::Grpc(G::Unauthenticated),
            H::FORBIDDEN => StatusLabel::Grpc(G::PermissionDenied),
            H::NOT_FOUND | H::METHOD_NOT_ALLOWED => StatusLabel::Grpc(G::Unimplemented),
            H::TOO_MANY_REQUESTS => StatusLabel::Grpc(G::ResourceExhausted),
            H::SERVICE_UNAVAILABLE => StatusLabel::Grpc(G::Unavailable),
            H::GATEWAY_TIMEOUT | H::REQUEST_TIMEOUT => StatusLabel::Grpc(G::DeadlineExceeded),
            _ if status.is_server_error() => StatusLabel::Grpc(G::Internal),
            _ => StatusLabel::Grpc(G::Unknown),
        }
    }

    /// The label value: `ok`, the Milvus code, or the gRPC code's canonical name.
    pub(crate) fn label(self) -> String {
        match self {
            StatusLabel::Ok => "ok".to_owned(),
            StatusLabel::Milvus(code) => code.to_string(),
            StatusLabel::Grpc(code) => grpc_code_name(code).to_owned(),
        }
    }
}

/// The canonical name of a gRPC code, as gRPC's documentation and clients spell it.
pub(crate) fn grpc_code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Every gRPC code but OK, in numeric order (the order of their series).
const GRPC_FAILURE_CODES: [tonic::Code; 16] = [
    tonic::Code::Cancelled,
    tonic::Code::Unknown,
    tonic::Code::InvalidArgument,
    tonic::Code::DeadlineExceeded,
    tonic::Code::NotFound,
    tonic::Code::AlreadyExists,
    tonic::Code::PermissionDenied,
    tonic::Code::ResourceExhausted,
    tonic::Code::FailedPrecondition,
    tonic::Code::Aborted,
    tonic::Code::OutOfRange,
    tonic::Code::Unimplemented,
    tonic::Code::Internal,
    tonic::Code::Unavailable,
    tonic::Code::DataLoss,
    tonic::Code::Unauthenticated,
];

fn grpc_failure_index(code: tonic::Code) -> usize {
    GRPC_FAILURE_CODES.iter().position(|&c| c == code).unwrap_or(1)
}

/// A method of one protocol's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MethodId {
    pub(crate) protocol: Protocol,
    index: usize,
}

/// The counters of one (protocol, method).
#[derive(Debug, Default)]
struct MethodStats {
    ok: AtomicU64,
    grpc: [AtomicU64; GRPC_FAILURE_CODES.len()],
    /// Milvus codes in order of first appearance (sorted when rendered).
    milvus: RwLock<Vec<(i32, AtomicU64)>>,
    /// Milvus codes beyond [`MAX_MILVUS_CODES_PER_METHOD`].
    other: AtomicU64,
    duration: Histogram,
}

impl MethodStats {
    fn count(&self, status: StatusLabel) {
        match status {
            StatusLabel::Ok => self.ok.fetch_add(1, Ordering::Relaxed),
            StatusLabel::Grpc(code) => {
                self.grpc[grpc_failure_index(code)].fetch_add(1, Ordering::Relaxed)
            }
            StatusLabel::Milvus(code) => self.count_milvus(code),
        };
    }

    fn count_milvus(&self, code: i32) -> u64 {
        if let Some((_, n)) = self.milvus.read().iter().find(|(c, _)| *c == code) {
            return n.fetch_add(1, Ordering::Relaxed);
        }
        let mut codes = self.milvus.write();
        if let Some((_, n)) = codes.iter().find(|(c, _)| *c == code) {
            return n.fetch_add(1, Ordering::Relaxed);
        }
        if codes.len() >= MAX_MILVUS_CODES_PER_METHOD {
            return self.other.fetch_add(1, Ordering::Relaxed);
        }
        codes.push((code, AtomicU64::new(1)));
        0
    }

    /// `(status label, count)` of every status seen, in a stable order: `ok`, gRPC codes by
    /// number, Milvus codes ascending, `other`.
    fn statuses(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut push = |label: String, n: u64| {
            if n > 0 {
                out.push((label, n));
            }
        };
        push("ok".to_owned(), self.ok.load(Ordering::Relaxed));
        for (code, n) in GRPC_FAILURE_CODES.iter().zip(&self.grpc) {
            push(grpc_code_name(*code).to_owned(), n.load(Ordering::Relaxed));
        }
        let mut milvus: Vec<(i32, u64)> =
            self.milvus.read().iter().map(|(c, n)| (*c, n.load(Ordering::Relaxed))).collect();
        milvus.sort_unstable();
        for (code, n) in milvus {
            push(code.to_string(), n);
        }
        push("other".to_owned(), self.other.load(Ordering::Relaxed));
        out
    }
}

/// One protocol's methods: names sorted (so series come out in a stable order), `unknown`
/// among them, and a map from name to index built once.
#[derive(Debug)]
struct MethodTable {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, usize>,
    stats: Vec<MethodStats>,
}

impl MethodTable {
    fn new(names: impl IntoIterator<Item = String>) -> MethodTable {
        let mut names: Vec<Box<str>> = names.into_iter().map(String::into_boxed_str).collect();
        names.push(UNKNOWN_METHOD.into());
        names.sort_unstable();
        names.dedup();
        let index = names.iter().enumerate().map(|(i, name)| (name.clone(), i)).collect();
        let stats = names.iter().map(|_| MethodStats::default()).collect();
        MethodTable { names, index, stats }
    }

    fn get(&self, name: &str) -> usize {
        match self.index.get(name) {
            Some(&i) => i,
            None => self.index.get(UNKNOWN_METHOD).copied().unwrap_or(0),
        }
    }
}

/// The request counters and latency histograms of both protocols.
#[derive(Debug)]
pub(crate) struct RequestMetrics {
    grpc: MethodTable,
    /// The REST endpoints, known once the router is built ([`RequestMetrics::set_rest_endpoints`],
    /// before the server serves); until then only the static paths.
    rest: OnceLock<MethodTable>,
    rest_static: MethodTable,
}

impl RequestMetrics {
    /// Tables for the gRPC methods named by `rpcs` (snake case, as the service table names
    /// them) and the static REST paths.
    pub(crate) fn new<'a>(rpcs: impl IntoIterator<Item = &'a str>) -> RequestMetrics {
        RequestMetrics {
            grpc: MethodTable::new(rpcs.into_iter().map(grpc_method_name)),
            rest: OnceLock::new(),
            rest_static: MethodTable::new(rest_static_names()),
        }
    }

    /// Adds the REST endpoints (their whole paths, `/v2/vectordb/...`) to the REST table.
    /// Called once, with the router's record of its endpoints, before serving; later calls
    /// (another server over the same service) change nothing.
    pub(crate) fn set_rest_endpoints<'a>(&self, paths: impl IntoIterator<Item = &'a str>) {
        let endpoints = paths.into_iter().filter_map(|p| p.strip_prefix(REST_PREFIX));
        let names = rest_static_names().chain(endpoints.map(str::to_owned));
        let _ = self.rest.set(MethodTable::new(names));
    }

    fn table(&self, protocol: Protocol) -> &MethodTable {
        match protocol {
            Protocol::Grpc => &self.grpc,
            Protocol::Rest => self.rest.get().unwrap_or(&self.rest_static),
        }
    }

    /// The method a request path names (`unknown` when it is in no table).
    pub(crate) fn method(&self, path: &str) -> MethodId {
        let protocol = Protocol::of(path);
        let name = match protocol {
            Protocol::Grpc => {
                path.strip_prefix(GRPC_PREFIX).or_else(|| path.strip_prefix(ADMIN_GRPC_PREFIX))
            }
            Protocol::Rest => match REST_STATIC.iter().find(|(p, _)| *p == path) {
                Some((_, name)) => Some(*name),
                None => path.strip_prefix(REST_PREFIX),
            },
        };
        let table = self.table(protocol);
        MethodId { protocol, index: table.get(name.unwrap_or(UNKNOWN_METHOD)) }
    }

    pub(crate) fn method_name(&self, method: MethodId) -> &str {
        self.table(method.protocol).names.get(method.index).map_or(UNKNOWN_METHOD, |n| n)
    }

    /// Counts a completed request and its duration.
    pub(crate) fn record(&self, method: MethodId, status: StatusLabel, elapsed: Duration) {
        if let Some(stats) = self.table(method.protocol).stats.get(method.index) {
            stats.count(status);
            stats.duration.observe(elapsed);
        }
    }

    /// `quiver_requests_total` and `quiver_request_duration_seconds`: series of methods that
    /// served at least one request.
    pub(crate) fn render(&self, out: &mut Exposition) {
        use crate::metrics::exposition::Kind;
        out.family(
            "quiver_requests_total",
            Kind::Counter,
            "Requests completed, by protocol, method and status (ok, a Milvus code, or a gRPC code name).",
        );
        for protocol in Protocol::ALL {
            let table = self.table(protocol);
            for (name, stats) in table.names.iter().zip(&table.stats) {
                for (status, n) in stats.statuses() {
                    let labels =
                        [("protocol", protocol.name()), ("method", name), ("status", &status)];
                    out.sample("quiver_requests_total", &labels, Value::Int(n));
                }
            }
        }
        out.family(
            "quiver_request_duration_seconds",
            Kind::Histogram,
            "Time from a request's arrival to its response, authentication included.",
        );
        for protocol in Protocol::ALL {
            let table = self.table(protocol);
            for (name, stats) in table.names.iter().zip(&table.stats) {
                let snapshot: HistogramSnapshot = stats.duration.snapshot();
                if snapshot.count() > 0 {
                    let labels = [("protocol", protocol.name()), ("method", &**name)];
                    out.histogram("quiver_request_duration_seconds", &labels, &snapshot);
                }
            }
        }
    }
}

fn rest_static_names() -> impl Iterator<Item = String> {
    REST_STATIC.iter().map(|(_, name)| (*name).to_owned())
}

/// The gRPC name of an RPC from its snake-case name: `operate_privilege_v2` →
/// `OperatePrivilegeV2`.
pub(crate) fn grpc_method_name(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    for word in snake.split('_') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}
