//! `GET /v2/openapi.json`: an OpenAPI 3.1 document of the REST API, made once when the router
//! is built from the endpoint registry (`registry.rs`).
//!
//! Every path is the `POST` of a recorded endpoint; its request body schema is derived
//! (`schemars`) from the type the endpoint parses its body into, so what the document says a
//! body may contain is what the parser accepts: camelCase names, no unknown fields
//! (`additionalProperties: false`), and a field with a default is not required (a missing
//! required parameter is refused with code 1802 by the endpoint, as the document's summary of
//! the envelope says). Responses: the envelope for HTTP 200 (success and Milvus refusals
//! alike), the error envelope for 401, 403, 413 and 429.
//!
//! The document is served like everything under `/v2/`: only with a credential (the
//! authentication layer refuses the request otherwise, and this handler fails closed without a
//! principal), and charged as one read.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use axum::body::{Body as AxumBody, Bytes};
use axum::extract::Request;
use axum::routing::{MethodRouter, get};
use http::{HeaderValue, StatusCode, header};
use quiver_security::Principal;
use serde_json::{Map, Value as Json, json};

use crate::listener::PeerInfo;
use crate::metrics::{StatusLabel, record_status};
use crate::ratelimit::RequestClass;
use crate::rest::registry::{Endpoint, PREFIX};
use crate::rest::{method_not_allowed, rate_limited, unauthenticated};
use crate::service::MilvusApi;
use crate::status::code;

/// Where the document is served.
pub(crate) const PATH: &str = "/v2/openapi.json";
/// The name of the security scheme (HTTP bearer: `user:password` or an API key).
const SECURITY_SCHEME: &str = "bearer";

/// The document of `endpoints`, whose request schemas refer to `schemas`.
pub(crate) fn document(endpoints: &[Endpoint], mut schemas: Map<String, Json>) -> Json {
    let mut paths = Map::new();
    for endpoint in endpoints {
        let action = endpoint.path.strip_prefix(PREFIX).unwrap_or(&endpoint.path);
        let category = action.split('/').next().unwrap_or(action);
        let operation = json!({
            "operationId": action.replace('/', "_"),
            "summary": endpoint.summary,
            "tags": [category],
            // Which token bucket the request is charged to (`read`, `write`, `DDL`).
            "x-rate-limit-class": endpoint.class.resolve().map(|class| class.name()),
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": endpoint.request } },
            },
            "responses": {
                "200": { "$ref": "#/components/responses/Envelope" },
                "401": { "$ref": "#/components/responses/Unauthenticated" },
                "403": { "$ref": "#/components/responses/PermissionDenied" },
                "413": { "$ref": "#/components/responses/TooLarge" },
                "429": { "$ref": "#/components/responses/RateLimited" },
            },
        });
        paths.insert(endpoint.path.clone(), json!({ "post": operation }));
    }
    schemas.insert("Envelope".to_owned(), envelope_schema());
    schemas.insert("ErrorEnvelope".to_owned(), error_envelope_schema());
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {
                "application/json": { "schema": { "$ref": "#/components/schemas/ErrorEnvelope" } },
            },
        })
    };
    let mut rate_limited = error("Over a rate limit (code 8); retry after `Retry-After` seconds.");
    rate_limited["headers"] = json!({
        "Retry-After": {
            "description": "Whole seconds to wait (at least 1).",
            "schema": { "type": "integer", "minimum": 1 },
        },
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Quiver REST API v2",
            "description": "Milvus's RESTful API v2 (POST /v2/vectordb/<category>/<action>) and \
                Quiver's API key management, on the gRPC port. A refusal by the server is HTTP \
                200 with a non-zero Milvus code in the envelope, except the statuses listed.",
            "version": "2",
        },
        "security": [{ SECURITY_SCHEME: [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`user:password` or an API key (`qvk_...`); HTTP Basic works too.",
                },
            },
            "schemas": schemas,
            "responses": {
                "Envelope": {
                    "description": "code 0 with `data` (and `topks` for searches), or a Milvus \
                        refusal: a non-zero code with `message` (1801 malformed body, 1802 a \
                        missing parameter, 1100 an invalid one, ...).",
                    "content": {
                        "application/json": {
                            "schema": { "$ref": "#/components/schemas/Envelope" },
                        },
                    },
                },
                "Unauthenticated": error("No valid credential (code 1800)."),
                "PermissionDenied": error("A privilege is missing (code 1401)."),
                "TooLarge": error("The body is over the size limit (code 1102)."),
                "RateLimited": rate_limited,
            },
        },
    })
}

/// What every endpoint answers with HTTP 200.
fn envelope_schema() -> Json {
    json!({
        "type": "object",
        "required": ["code"],
        "properties": {
            "code": { "type": "integer", "description": "0 on success, else a Milvus code." },
            "message": { "type": "string" },
            "data": { "description": "The endpoint's result (present on success)." },
            "topks": {
                "type": "array",
                "items": { "type": "integer" },
                "description": "Searches: the hits per query, in the order of `data`.",
            },
        },
        "additionalProperties": false,
    })
}

/// What the statuses other than 200 carry.
fn error_envelope_schema() -> Json {
    json!({
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": { "type": "integer" },
            "message": { "type": "string" },
        },
        "additionalProperties": false,
    })
}

/// The route serving `document` (rendered once).
pub(crate) fn route(api: MilvusApi, document: &Json) -> MethodRouter {
    let bytes = Bytes::from(document.to_string());
    get(move |request: Request| serve(api, bytes, request)).fallback(method_not_allowed)
}

async fn serve(api: MilvusApi, document: Bytes, request: Request) -> http::Response<AxumBody> {
    let record = |status: StatusLabel| record_status(request.extensions(), status);
    // The authentication layer attached it; without it, refuse (fail closed).
    let Some(principal) = request.extensions().get::<Principal>() else {
        record(StatusLabel::Grpc(tonic::Code::Unauthenticated));
        return unauthenticated("user hasn't authenticated");
    };
    let peer = request
        .extensions()
        .get::<PeerInfo>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.addr.ip());
    let admitted =
        api.limiter.check_cost(RequestClass::Read, Some(&principal.user), peer, 1, Instant::now());
    if let Err(refusal) = admitted {
        record(StatusLabel::Milvus(code::RATE_LIMITED));
        return rate_limited(&refusal.to_string(), refusal.wait);
    }
    record(StatusLabel::Ok);
    let mut response = http::Response::new(AxumBody::from(document));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    *response.status_mut() = StatusCode::OK;
    response
}
