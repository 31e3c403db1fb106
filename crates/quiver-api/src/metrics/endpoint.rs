//! `GET /metrics`: the scrape, for callers holding [`METRICS_PRIVILEGE`].
//!
//! The path is authenticated like the REST API (`Authorization: Bearer user:password`,
//! `Bearer <API key>` or `Basic`; Prometheus's `authorization` and `basic_auth` settings send
//! these) and refused like it: 401 with code 1800 without a valid credential, 403 with code
//! 1401 without the privilege.
//!
//! The privilege: Milvus has no metrics privilege, and the metrics name every collection of
//! every database and count authentication failures, so they are cluster-level information
//! (not admin-only: a monitoring credential should not be able to change anything). Quiver
//! takes `DescribeResourceGroup`, a cluster-level, read-only privilege in Milvus's
//! `ClusterReadOnly` group: in Milvus it reveals the same class of information (the server's
//! resources and which collections use them, by name), and Quiver serves no resource-group
//! RPC, so a monitoring role granted only this privilege (`grant_privilege_v2(role,
//! "DescribeResourceGroup", "*", "*")`) can read metrics and nothing else. `admin` holds it,
//! as it holds everything.

use axum::body::Body as AxumBody;
use axum::extract::Request;
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use quiver_security::{Object, Principal, Privilege};

use crate::metrics::exposition::CONTENT_TYPE;
use crate::metrics::layer::record_status;
use crate::metrics::requests::{METRICS_PATH, StatusLabel};
use crate::rest;
use crate::service::{DEFAULT_DB, MilvusApi};
use crate::status::Failure;

/// The privilege a scrape needs, on the cluster; see the module documentation.
pub(crate) const METRICS_PRIVILEGE: Privilege = Privilege::DescribeResourceGroup;

/// The `/metrics` route.
pub(crate) fn router(api: &MilvusApi) -> axum::Router {
    let api = api.clone();
    axum::Router::new().route(METRICS_PATH, get(move |request: Request| scrape(api, request)))
}

async fn scrape(api: MilvusApi, request: Request) -> http::Response<AxumBody> {
    let extensions = request.extensions();
    // The authentication layer attached it; without it, refuse (fail closed).
    let Some(principal) = extensions.get::<Principal>() else {
        record_status(extensions, StatusLabel::Grpc(tonic::Code::Unauthenticated));
        return rest::unauthenticated("user hasn't authenticated");
    };
    let allowed =
        api.security.check_principal(principal, METRICS_PRIVILEGE, &Object::Cluster, DEFAULT_DB);
    if let Err(err) = allowed {
        let failure = Failure::from(err);
        record_status(extensions, StatusLabel::of_failure(&failure));
        return rest::failure_response(failure);
    }
    record_status(extensions, StatusLabel::Ok);
    let text = api.metrics.render(&api.limiter);
    let mut response = http::Response::new(AxumBody::from(text));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}
