//! Milvus's RESTful API v2 (`POST /v2/vectordb/<category>/<action>`), served on the gRPC
//! listener and port, over the same authentication, rate limits and handlers.
//!
//! Each endpoint parses its JSON body strictly (unknown fields, wrong types and malformed JSON
//! are code 1801 naming the field; a missing required parameter is 1802), translates it into
//! the protobuf request of the matching RPC and calls that RPC's handler in
//! [`crate::service`], then translates the response into Milvus's REST JSON. So a REST request
//! is authorized, validated and executed exactly as the same request over gRPC.
//!
//! - `collections.rs`, `collection_admin.rs` (properties, flush, compaction), `entities.rs`,
//!   `indexes.rs`, `partitions.rs`, `aliases.rs`, `databases.rs`, `users.rs`, `roles.rs`,
//!   `privilege_groups.rs`: Milvus's endpoints, one handler each.
//! - `api_keys.rs`: API key management (`api_keys/{create,list,revoke}`), a Quiver extension
//!   with no gRPC counterpart: only a caller signed in with a password, for their own keys
//!   (or anyone's with `admin`).
//! - `registry.rs`: every endpoint is added through [`route`], which records its path,
//!   rate-limit class, summary and the JSON Schema of its body type; the router is built from
//!   that record and nothing else, so an endpoint cannot be served unrecorded.
//! - `openapi.rs`: `GET /v2/openapi.json`, the OpenAPI 3.1 document made from the record (its
//!   request schemas are derived with `schemars` from the very serde types that parse the
//!   bodies: a field without a default is required, unknown fields are not allowed).
//! - `values.rs`: JSON rows and values to wire columns and back.
//!
//! The envelope: `{"code":0,"data":…}` on success (search adds `topks`),
//! `{"code":<Milvus code>,"message":"…"}` on failure. Like Milvus, a refusal by the handler is
//! HTTP 200 with its code; the exceptions are authentication (401, code 1800), authorization
//! (403, code 1401), rate limits (429, code 8, with `Retry-After`), an oversized body (413,
//! code 1102, refused by its `Content-Length` before it is read, or as soon as it grows past
//! the limit) and unknown paths (404) or methods (405).
//!
//! Audit: each endpoint is recorded as its gRPC counterpart is (`service/audit.rs`,
//! [`crate::service::audit::rest_event`], from the body's fields and the answer's counts),
//! refused up front while the audit log has failed, and recorded before the answer is sent.
//!
//! `/healthz` answers `ok` to anyone: the authentication layer lets exactly that path through.
//! Everything else under `/v2/`, the OpenAPI document included, needs a credential.

/// Implements [`Body`] for bodies with a `db_name` field.
macro_rules! bodies {
    ($($ty:ty),* $(,)?) => {
        $(impl crate::rest::Body for $ty {
            fn db_name(&self) -> &str {
                &self.db_name
            }
        })*
    };
}

mod aliases;
mod api_keys;
mod collection_admin;
mod collections;
mod databases;
mod entities;
mod indexes;
mod openapi;
mod partitions;
mod privilege_groups;
mod registry;
mod roles;
mod trash;
mod users;
mod values;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod audit_coverage {
    use super::*;
    use crate::service::audit::rest_event;

    /// Every endpoint that changes something (its rate-limit class is DDL or write) is audited
    /// as a change and makes an event, even from an empty body: a new endpoint cannot be
    /// served unrecorded.
    #[test]
    fn every_changing_rest_endpoint_is_recorded() {
        let env = crate::service::data::testkit::env();
        let ctx = Ctx::local("root", "default");
        let mut changes = 0;
        for endpoint in endpoints(&env.api).endpoints {
            let path = endpoint.path.strip_prefix(registry::PREFIX).unwrap();
            let rpc = match endpoint.class {
                Class::Rpc(rpc) => Some(rpc),
                Class::Own(_) => None,
            };
            let changing =
                matches!(endpoint.class.resolve(), Some(RequestClass::Ddl | RequestClass::Write));
            let class = audit::rest_class(rpc, path);
            if trash::SELF_AUDITED.contains(&path) {
                // Recorded by the handler it calls (`MilvusApi::audited_call`), so the REST
                // layer must not record it a second time (`service::protection_tests`).
                assert_eq!(class, AuditClass::NotAudited, "{path}");
                continue;
            }
            assert_eq!(changing, class == AuditClass::Change, "{path}");
            if changing {
                changes += 1;
                let event =
                    rest_event(rpc, path, &json!({}), &ctx, quiver_audit::Outcome::Ok, None);
                assert!(event.is_some(), "{path} makes no audit event");
            }
        }
        assert!(changes >= 35, "{changes}");
    }
}

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body as AxumBody;
use axum::extract::Request;
use axum::routing::{MethodRouter, any, get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use quiver_security::Principal;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};
use tokio_stream::StreamExt;

use crate::limits::Limit;
use crate::listener::PeerInfo;
use crate::metrics::{StatusLabel, record_status, spawn_blocking_in_span};
use crate::ratelimit::RequestClass;
use crate::rest::registry::{Built, Class, Routes};
use crate::service::audit::{self, AuditClass};
use crate::service::{Ctx, DEFAULT_DB, MilvusApi};
use crate::status::{Failure, code};

/// Longest error detail taken from the JSON parser (it may quote the input).
const MAX_DETAIL_CHARS: usize = 256;
/// The header that names the database when the body does not (`dbName`).
const DB_NAME_HEADER: &str = "db-name";

/// REST's own Milvus codes.
pub(crate) mod rest_code {
    /// Not authenticated (HTTP 401).
    pub(crate) const UNAUTHENTICATED: i32 = 1800;
    /// The body is not the JSON this endpoint takes.
    pub(crate) const BAD_REQUEST: i32 = 1801;
    /// A required parameter is missing.
    pub(crate) const MISSING_PARAMETER: i32 = 1802;
    /// The rows of an insert or upsert do not fit the schema.
    pub(crate) const BAD_INSERT_DATA: i32 = 1804;
    /// A privilege is missing (HTTP 403): Milvus's `ErrPrivilegeNotPermitted`.
    pub(crate) const PERMISSION_DENIED: i32 = 1401;
    /// Service unavailable (shutting down).
    pub(crate) const UNAVAILABLE: i32 = 2;
    /// No such endpoint, or a feature not served.
    pub(crate) const UNIMPLEMENTED: i32 = 10;
    pub(crate) const CANCELED: i32 = 10000;
    pub(crate) const TIMEOUT: i32 = 10001;
}

/// A successful endpoint's `data` and, for searches, the hits per query.
pub(crate) struct Reply {
    data: Json,
    topks: Option<Vec<i64>>,
}

impl Reply {
    pub(crate) fn data(data: Json) -> Reply {
        Reply { data, topks: None }
    }

    /// `{}`, what most DDL endpoints answer.
    pub(crate) fn empty() -> Reply {
        Reply::data(json!({}))
    }
}

/// A request body of an endpoint. Its JSON Schema (derived from the same serde attributes
/// that parse it) is the endpoint's request schema in `/v2/openapi.json`.
pub(crate) trait Body: DeserializeOwned + JsonSchema + Send + 'static {
    /// The database the body names (`dbName`), empty when none.
    fn db_name(&self) -> &str;

    /// What the request costs in its rate-limit class (writes are charged per row).
    fn cost(&self) -> u64 {
        1
    }
}

/// An endpoint's handler: runs on a blocking thread, like the gRPC handlers it calls.
type Handler<T> = fn(&MilvusApi, &Ctx, T) -> Result<Reply, Failure>;

/// `missing required parameters` (1802) unless `value` is set.
pub(crate) fn required<'a>(value: &'a str, name: &str) -> Result<&'a str, Failure> {
    if value.trim().is_empty() {
        return Err(missing(name));
    }
    Ok(value)
}

pub(crate) fn missing(name: &str) -> Failure {
    Failure::new(rest_code::MISSING_PARAMETER, format!("missing required parameters: {name}"))
}

/// The REST API's routes (the gRPC service is merged beside them by the server): the
/// endpoints, their OpenAPI document, `/healthz`, and 404 for anything else under `/v2/`.
pub(crate) fn router(api: &MilvusApi) -> axum::Router {
    let Built { router, endpoints, schemas } = endpoints(api);
    let document = openapi::document(&endpoints, schemas);
    router
        .route("/healthz", get(healthz))
        .route(openapi::PATH, openapi::route(api.clone(), &document))
        .route("/v2/{*rest}", any(not_found))
}

/// Every endpoint, registered (see `registry.rs`).
pub(crate) fn endpoints(api: &MilvusApi) -> Built {
    let mut routes = Routes::new(api);
    collections::routes(&mut routes);
    collection_admin::routes(&mut routes);
    entities::routes(&mut routes);
    indexes::routes(&mut routes);
    partitions::routes(&mut routes);
    aliases::routes(&mut routes);
    databases::routes(&mut routes);
    users::routes(&mut routes);
    roles::routes(&mut routes);
    privilege_groups::routes(&mut routes);
    api_keys::routes(&mut routes);
    trash::routes(&mut routes);
    routes.finish()
}

/// Liveness only: no version, no state, nothing else.
async fn healthz() -> &'static str {
    "ok"
}

async fn not_found() -> http::Response<AxumBody> {
    envelope(StatusCode::NOT_FOUND, rest_code::UNIMPLEMENTED, "no such endpoint", None)
}

async fn method_not_allowed() -> http::Response<AxumBody> {
    envelope(
        StatusCode::METHOD_NOT_ALLOWED,
        rest_code::BAD_REQUEST,
        "the REST API v2 takes POST requests only",
        None,
    )
}

/// Adds and records the endpoint `/v2/vectordb/<path>`, whose rate-limit class is `class`:
/// the name of the gRPC method it translates into (sharing its class), or a class of its own.
/// `summary` is its one line in the OpenAPI document.
pub(crate) fn route<T: Body>(
    routes: &mut Routes,
    path: &str,
    class: impl Into<Class>,
    summary: &'static str,
    handler: Handler<T>,
) {
    let class = class.into();
    // Every endpoint's class is checked by a test; an unknown RPC would get the strictest.
    let resolved = class.resolve().unwrap_or(RequestClass::Ddl);
    let rpc = match class {
        Class::Rpc(rpc) => Some(rpc),
        Class::Own(_) => None,
    };
    let audited = Audited { rpc, path: Arc::from(path), class: audit::rest_class(rpc, path) };
    let method_router = endpoint(routes.api().clone(), resolved, audited, handler);
    routes.add::<T>(path, class, summary, method_router);
}

/// What the audit record of an endpoint needs: the gRPC method it translates into, its path
/// (under `/v2/vectordb/`) and its audit class.
#[derive(Clone)]
struct Audited {
    rpc: Option<&'static str>,
    path: Arc<str>,
    class: AuditClass,
}

fn endpoint<T: Body>(
    api: MilvusApi,
    class: RequestClass,
    audited: Audited,
    handler: Handler<T>,
) -> MethodRouter {
    post(move |request: Request| run(api, class, audited, handler, request))
        .fallback(method_not_allowed)
}

async fn run<T: Body>(
    api: MilvusApi,
    class: RequestClass,
    audited: Audited,
    handler: Handler<T>,
    request: Request,
) -> http::Response<AxumBody> {
    let (parts, body) = request.into_parts();
    // Every return records its status for the metrics and the access log.
    let record = |status: StatusLabel| record_status(&parts.extensions, status);
    // The authentication layer attached it; without it, refuse (fail closed).
    let Some(principal) = parts.extensions.get::<Principal>().cloned() else {
        record(StatusLabel::Grpc(tonic::Code::Unauthenticated));
        return unauthenticated("user hasn't authenticated");
    };
    let peer_addr = parts.extensions.get::<PeerInfo>().map(|p| p.addr);
    let bytes = match read_body(&parts.headers, body, api.limits.max_message_bytes()).await {
        Ok(bytes) => bytes,
        Err(response) => {
            let code = match response.status() {
                StatusCode::PAYLOAD_TOO_LARGE => code::TOO_LARGE,
                _ => rest_code::BAD_REQUEST,
            };
            record(StatusLabel::Milvus(code));
            return response;
        }
    };
    let request: T = match parse(&bytes) {
        Ok(request) => request,
        Err(failure) => {
            record(StatusLabel::of_failure(&failure));
            return failure_response(failure);
        }
    };
    let db = match request.db_name().trim() {
        "" => header_db(&parts.headers).unwrap_or(DEFAULT_DB).to_owned(),
        name => name.to_owned(),
    };
    let ctx = Ctx::new(principal, db, peer_addr);
    let cost = request.cost();
    if let Err(refusal) =
        api.limiter.check_cost(class, Some(&ctx.user), ctx.peer, cost, Instant::now())
    {
        tracing::debug!(user = %ctx.user, peer = %ctx.peer, %refusal, "REST request rate-limited");
        record(StatusLabel::Milvus(code::RATE_LIMITED));
        return rate_limited(&refusal.to_string(), refusal.wait);
    }
    if let Err(failure) = api.audit.admit(audited.class) {
        record(StatusLabel::of_failure(&failure));
        return failure_response(failure);
    }
    // The body's fields, for the audit record (only when it is recorded: a second parse; it
    // cannot fail after the first, and would leave the names empty, not the record out).
    let body = api
        .audit
        .records(audited.class)
        .then(|| serde_json::from_slice::<Json>(&bytes).unwrap_or(Json::Null));
    drop(bytes);
    let outcome = spawn_blocking_in_span(move || {
        let result = handler(&api, &ctx, request);
        let Some(body) = body else { return result };
        let reply = result.as_ref().ok().map(|reply| &reply.data);
        let outcome = audit::outcome_of(&result);
        let event = audit::rest_event(audited.rpc, &audited.path, &body, &ctx, outcome, reply);
        api.audit.record(audited.class, event)?;
        result
    })
    .await;
    let result = outcome.unwrap_or_else(|err| {
        // A handler panicked: a bug, never an input. The server keeps serving.
        tracing::error!(error = %err, "REST handler panicked");
        Err(Failure::internal("internal error"))
    });
    record(StatusLabel::of(&result));
    match result {
        Ok(reply) => success(reply),
        Err(failure) => failure_response(failure),
    }
}

fn header_db(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(DB_NAME_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Reads the body, refusing one that declares or reaches more than `max` bytes (the same
/// bound as a gRPC message, `limits.max_message_bytes`) without reading (or buffering) more
/// than that.
async fn read_body(
    headers: &HeaderMap,
    body: AxumBody,
    max: usize,
) -> Result<Vec<u8>, http::Response<AxumBody>> {
    let too_large = || {
        envelope(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::TOO_LARGE,
            &format!(
                "the request body is larger than {max} bytes (limits.{})",
                Limit::MessageBytes
            ),
            None,
        )
    };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if let Some(declared) = declared {
        match declared.trim().parse::<u64>() {
            Ok(len) if len > max as u64 => return Err(too_large()),
            Ok(_) => {}
            Err(_) => {
                return Err(failure_response(Failure::new(
                    rest_code::BAD_REQUEST,
                    "the Content-Length header is not a number",
                )));
            }
        }
    }
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| {
            tracing::debug!(error = %err, "REST request body unreadable");
            failure_response(Failure::new(rest_code::BAD_REQUEST, "the request body is unreadable"))
        })?;
        if bytes.len() + chunk.len() > max {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Parses a body: 1801 with the parser's message (which names the field and position) for
/// anything that is not the JSON object the endpoint takes, 1802 for a required field left
/// out.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::new(
            rest_code::BAD_REQUEST,
            "can only accept json format request: the request body is empty ({} is a valid \
             body for an endpoint without required parameters)",
        ));
    }
    match axum::Json::<T>::from_bytes(bytes) {
        Ok(axum::Json(value)) => Ok(value),
        Err(rejection) => {
            let text = rejection.body_text();
            let detail = text
                .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                .or_else(|| text.strip_prefix("Failed to parse the request body as JSON: "))
                .unwrap_or(&text);
            // A field the body type has no default for (required in the OpenAPI document):
            // Milvus's 1802, naming it.
            if let Some(field) = missing_field(detail) {
                return Err(missing(&shorten(&field)));
            }
            Err(Failure::new(
                rest_code::BAD_REQUEST,
                format!("invalid request body: {}", shorten(detail)),
            ))
        }
    }
}

/// The field serde found missing, with its path (`schema.fields[0].fieldName`), from the
/// parser's message (`schema.fields[0]: missing field `fieldName` at line 1 column 9`).
fn missing_field(detail: &str) -> Option<String> {
    let (path, rest) = detail.split_once("missing field `")?;
    let (name, _) = rest.split_once('`')?;
    let path = path.trim().trim_end_matches(':').trim();
    Some(if path.is_empty() || path == "." { name.to_owned() } else { format!("{path}.{name}") })
}

/// At most [`MAX_DETAIL_CHARS`] characters of a message that may quote the input.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn success(reply: Reply) -> http::Response<AxumBody> {
    let mut body = serde_json::Map::new();
    body.insert("code".to_owned(), json!(0));
    body.insert("data".to_owned(), reply.data);
    if let Some(topks) = reply.topks {
        body.insert("topks".to_owned(), json!(topks));
    }
    json_response(StatusCode::OK, &Json::Object(body), None)
}

/// The response to a refusal, by where it came from: a Milvus status (HTTP 200 with its
/// code, as Milvus answers) or a gRPC-level status (authentication, authorization, ...).
pub(crate) fn failure_response(failure: Failure) -> http::Response<AxumBody> {
    match failure {
        Failure::Milvus { code, reason, .. } => envelope(StatusCode::OK, code, &reason, None),
        Failure::Grpc(status) => status_response(&status),
    }
}

/// A gRPC-level refusal as a REST response.
pub(crate) fn status_response(status: &tonic::Status) -> http::Response<AxumBody> {
    use tonic::Code;
    let message = status.message();
    let (http, code) = match status.code() {
        Code::Unauthenticated => return unauthenticated(message),
        Code::PermissionDenied => (StatusCode::FORBIDDEN, rest_code::PERMISSION_DENIED),
        Code::ResourceExhausted => (StatusCode::TOO_MANY_REQUESTS, code::RATE_LIMITED),
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => {
            (StatusCode::OK, code::INVALID_PARAMETER)
        }
        Code::Unimplemented => (StatusCode::OK, rest_code::UNIMPLEMENTED),
        Code::DeadlineExceeded => (StatusCode::OK, rest_code::TIMEOUT),
        Code::Cancelled => (StatusCode::OK, rest_code::CANCELED),
        Code::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, rest_code::UNAVAILABLE),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL),
    };
    envelope(http, code, message, None)
}

/// HTTP 401 with code 1800.
pub(crate) fn unauthenticated(message: &str) -> http::Response<AxumBody> {
    envelope(StatusCode::UNAUTHORIZED, rest_code::UNAUTHENTICATED, message, None)
}

/// HTTP 429 with code 8 and `Retry-After` in whole seconds (at least 1).
pub(crate) fn rate_limited(message: &str, wait: Duration) -> http::Response<AxumBody> {
    envelope(StatusCode::TOO_MANY_REQUESTS, code::RATE_LIMITED, message, Some(wait))
}

fn envelope(
    status: StatusCode,
    code: i32,
    message: &str,
    retry_after: Option<Duration>,
) -> http::Response<AxumBody> {
    json_response(status, &json!({ "code": code, "message": message }), retry_after)
}

fn json_response(
    status: StatusCode,
    body: &Json,
    retry_after: Option<Duration>,
) -> http::Response<AxumBody> {
    let mut response = http::Response::new(AxumBody::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(wait) = retry_after {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}
