//! Session RPCs: Connect (pymilvus's mandatory handshake), GetVersion, CheckHealth and the
//! small service RPCs. They need authentication (like every RPC) but no privilege.

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::proto::common::{ServerInfo, StateCode};
use crate::proto::milvus as pb;
use crate::service::{Ctx, MilvusApi};
use crate::status::{Failure, ok_status};

/// The Milvus API version Quiver implements, as GetVersion reports it; Quiver's own version
/// follows as semver build metadata, which version comparisons ignore.
pub(crate) const MILVUS_API_VERSION: &str = "v2.6.0";

fn version() -> String {
    format!("{MILVUS_API_VERSION}+quiver.{}", env!("CARGO_PKG_VERSION"))
}

pub(crate) fn connect(
    api: &MilvusApi,
    _ctx: &Ctx,
    _req: pb::ConnectRequest,
) -> Result<pb::ConnectResponse, Failure> {
    Ok(pb::ConnectResponse {
        status: Some(ok_status()),
        server_info: Some(ServerInfo {
            build_tags: version(),
            deploy_mode: "standalone".to_owned(),
            ..Default::default()
        }),
        identifier: api.next_identifier.fetch_add(1, Ordering::Relaxed),
    })
}

pub(crate) fn get_version(
    _api: &MilvusApi,
    _ctx: &Ctx,
    _req: pb::GetVersionRequest,
) -> Result<pb::GetVersionResponse, Failure> {
    Ok(pb::GetVersionResponse { status: Some(ok_status()), version: version() })
}

pub(crate) fn check_health(
    _api: &MilvusApi,
    _ctx: &Ctx,
    _req: pb::CheckHealthRequest,
) -> Result<pb::CheckHealthResponse, Failure> {
    Ok(pb::CheckHealthResponse {
        status: Some(ok_status()),
        is_healthy: true,
        ..Default::default()
    })
}

/// A hybrid timestamp like Milvus's: physical milliseconds shifted over an 18-bit logical part.
pub(crate) fn alloc_timestamp(
    _api: &MilvusApi,
    _ctx: &Ctx,
    _req: pb::AllocTimestampRequest,
) -> Result<pb::AllocTimestampResponse, Failure> {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64);
    Ok(pb::AllocTimestampResponse { status: Some(ok_status()), timestamp: ms.unwrap_or(0) << 18 })
}

pub(crate) fn get_component_states(
    _api: &MilvusApi,
    _ctx: &Ctx,
    _req: pb::GetComponentStatesRequest,
) -> Result<pb::ComponentStates, Failure> {
    Ok(pb::ComponentStates {
        state: Some(pb::ComponentInfo {
            role: "quiver".to_owned(),
            state_code: StateCode::Healthy as i32,
            ..Default::default()
        }),
        subcomponent_states: Vec::new(),
        status: Some(ok_status()),
    })
}

/// Milvus answers GetMetrics with its cluster topology and configuration, which is exactly
/// what an attacker maps first (CVE-2026-26190 came through that surface). Quiver has no such
/// endpoint.
pub(crate) fn get_metrics(
    _api: &MilvusApi,
    _ctx: &Ctx,
    _req: pb::GetMetricsRequest,
) -> Result<pb::GetMetricsResponse, Failure> {
    Err(Failure::unsupported("GetMetrics"))
}
