//! How a refusal travels back: a Milvus `Status` inside the response (code and legacy
//! error code as Milvus sends them, so pymilvus reacts as it does against Milvus), or a gRPC
//! status for authentication and authorization failures (which clients must not retry).

use quiver_engine::EngineError;
use quiver_security::SecurityError;

use crate::proto::common::{ErrorCode, Status};
use crate::quota::{QuotaExceeded, QuotaKind};
use crate::ratelimit::RetryAfter;

/// Milvus error numbers (`merr`) that Quiver sends.
pub(crate) mod code {
    pub(crate) const INTERNAL: i32 = 5;
    pub(crate) const RATE_LIMITED: i32 = 8;
    pub(crate) const QUOTA_EXCEEDED: i32 = 9;
    pub(crate) const COLLECTION_NOT_FOUND: i32 = 100;
    pub(crate) const COLLECTION_NOT_LOADED: i32 = 101;
    pub(crate) const PARTITION_NOT_FOUND: i32 = 200;
    pub(crate) const INDEX_NOT_FOUND: i32 = 700;
    pub(crate) const INDEX_DUPLICATE: i32 = 702;
    pub(crate) const DATABASE_NOT_FOUND: i32 = 800;
    pub(crate) const INVALID_PARAMETER: i32 = 1100;
    pub(crate) const MISSING_PARAMETER: i32 = 1101;
    pub(crate) const TOO_LARGE: i32 = 1102;
    pub(crate) const PRIVILEGE_GROUP_NAME: i32 = 1402;
    pub(crate) const ALIAS_NOT_FOUND: i32 = 1600;
    pub(crate) const ALIAS_CONFLICT: i32 = 1601;
    pub(crate) const ALIAS_EXISTS: i32 = 1602;
    pub(crate) const UNSUPPORTED: i32 = 3000;
}

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Travels as the response's `status` (the RPC itself succeeds at the gRPC level).
    Milvus { code: i32, legacy: ErrorCode, reason: String },
    /// Travels as the gRPC status (UNAUTHENTICATED, PERMISSION_DENIED, ...).
    Grpc(tonic::Status),
}

impl Failure {
    pub(crate) fn new(code: i32, reason: impl Into<String>) -> Failure {
        let reason = bounded(reason.into());
        let legacy = match code {
            code::COLLECTION_NOT_FOUND => ErrorCode::CollectionNotExists,
            code::INVALID_PARAMETER | code::MISSING_PARAMETER | code::TOO_LARGE => {
                ErrorCode::IllegalArgument
            }
            code::INDEX_NOT_FOUND => ErrorCode::IndexNotExist,
            code::RATE_LIMITED => ErrorCode::RateLimit,
            code::QUOTA_EXCEEDED => ErrorCode::DiskQuotaExhausted,
            _ => ErrorCode::UnexpectedError,
        };
        Failure::Milvus { code, legacy, reason }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Failure {
        Failure::new(code::INVALID_PARAMETER, reason)
    }

    pub(crate) fn unsupported(what: impl Into<String>) -> Failure {
        Failure::new(code::UNSUPPORTED, format!("not supported by Quiver: {}", what.into()))
    }

    pub(crate) fn internal(reason: impl Into<String>) -> Failure {
        Failure::new(code::INTERNAL, reason)
    }

    /// A request refused by the rate limiter: Milvus code 8 with legacy `RateLimit` (49)
    /// and `retriable`, which pymilvus retries with backoff (10 ms, ×3, at most 3 s, up to 75
    /// times or the call's timeout), as it does against Milvus.
    pub(crate) fn rate_limited(refusal: RetryAfter) -> Failure {
        Failure::new(code::RATE_LIMITED, refusal.to_string())
    }

    /// A write refused by the disk quota: Milvus code 9 with legacy `DiskQuotaExhausted`
    /// (54), not retriable (pymilvus raises it at once).
    pub(crate) fn quota_exceeded(refusal: QuotaExceeded) -> Failure {
        let legacy = match refusal.kind {
            QuotaKind::Disk => ErrorCode::DiskQuotaExhausted,
            QuotaKind::Memory => ErrorCode::MemoryQuotaExhausted,
        };
        match Failure::new(code::QUOTA_EXCEEDED, refusal.to_string()) {
            Failure::Milvus { code, reason, .. } => Failure::Milvus { code, legacy, reason },
            grpc => grpc,
        }
    }

    /// The Milvus status of this failure; gRPC-level failures have none.
    pub(crate) fn into_status(self) -> Result<Status, tonic::Status> {
        match self {
            Failure::Milvus { code, legacy, reason } => Ok(Status {
                error_code: legacy as i32,
                reason: reason.clone(),
                code,
                retriable: code == code::RATE_LIMITED,
                detail: reason,
                extra_info: Default::default(),
            }),
            Failure::Grpc(status) => Err(status),
        }
    }
}

/// Longest reason a failure carries. Messages quote names and values from the request, each
/// shortened where it is formatted; this is the backstop that keeps any message from echoing
/// a request back at its full size.
const MAX_REASON_BYTES: usize = 2048;

fn bounded(mut reason: String) -> String {
    if reason.len() > MAX_REASON_BYTES {
        let mut cut = MAX_REASON_BYTES;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        reason.push('…');
    }
    reason
}

/// The success status: both codes zero.
pub(crate) fn ok_status() -> Status {
    Status::default()
}

impl From<EngineError> for Failure {
    fn from(err: EngineError) -> Failure {
        let reason = err.to_string();
        let code = match &err {
            EngineError::CollectionNotFound { .. } => code::COLLECTION_NOT_FOUND,
            EngineError::DatabaseNotFound { .. } => code::DATABASE_NOT_FOUND,
            EngineError::PartitionNotFound { .. } => code::PARTITION_NOT_FOUND,
            EngineError::IndexNotFound { .. } => code::INDEX_NOT_FOUND,
            EngineError::IndexExists { .. } => code::INDEX_DUPLICATE,
            EngineError::AliasNotFound { .. } => code::ALIAS_NOT_FOUND,
            EngineError::AliasExists { .. } => code::ALIAS_EXISTS,
            EngineError::NameConflict { .. } => code::ALIAS_CONFLICT,
            EngineError::Model(_)
            | EngineError::Filter(_)
            | EngineError::FilterEval(_)
            | EngineError::MetricMismatch { .. }
            | EngineError::DatabaseExists { .. }
            | EngineError::DatabaseNotEmpty { .. }
            | EngineError::DefaultDatabase
            | EngineError::CollectionExists { .. }
            | EngineError::CollectionHasAliases { .. }
            | EngineError::PartitionExists { .. }
            | EngineError::DefaultPartition
            | EngineError::TooManyPartitions { .. }
            | EngineError::DuplicatePrimaryKey { .. }
            | EngineError::InvalidRequest { .. }
            | EngineError::TrashFull { .. }
            | EngineError::TrashNotFound { .. }
            | EngineError::PartitionTrashNotFound { .. }
            | EngineError::RestorePointOutOfRange { .. } => code::INVALID_PARAMETER,
            EngineError::Index(_) => code::INVALID_PARAMETER,
            // The operator must act: the message names the file or the failure.
            EngineError::Storage(_)
            | EngineError::CollectionUnavailable { .. }
            | EngineError::FailStopped { .. }
            | EngineError::Corrupt { .. }
            | EngineError::Locked { .. } => code::INTERNAL,
        };
        if code == code::INTERNAL {
            tracing::error!(error = %reason, "engine failure");
        }
        Failure::new(code, reason)
    }
}

impl From<SecurityError> for Failure {
    fn from(err: SecurityError) -> Failure {
        let reason = err.to_string();
        match &err {
            SecurityError::Unauthenticated | SecurityError::Throttled { .. } => {
                Failure::Grpc(tonic::Status::unauthenticated(reason))
            }
            SecurityError::PermissionDenied { .. } => {
                Failure::Grpc(tonic::Status::permission_denied(reason))
            }
            SecurityError::InvalidPrivilegeGroupName { .. } => {
                Failure::new(code::PRIVILEGE_GROUP_NAME, reason)
            }
            SecurityError::LimitExceeded { .. } => Failure::new(code::TOO_LARGE, reason),
            SecurityError::Corrupt { .. }
            | SecurityError::Storage(_)
            | SecurityError::Internal { .. }
            | SecurityError::AlreadyInitialized => {
                tracing::error!(error = %reason, "security store failure");
                Failure::internal(reason)
            }
            _ => Failure::invalid(reason),
        }
    }
}

impl From<quiver_core::Error> for Failure {
    fn from(err: quiver_core::Error) -> Failure {
        Failure::invalid(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_never_echoes_a_request_at_full_size() {
        let name = "é".repeat(40_000);
        let err = EngineError::CollectionNotFound { database: "default".into(), name };
        let status = Failure::from(err).into_status().unwrap();
        assert!(
            status.reason.len() <= MAX_REASON_BYTES + '…'.len_utf8(),
            "{}",
            status.reason.len()
        );
        assert!(status.reason.ends_with('…'));
        assert_eq!(status.detail, status.reason);
        let short = Failure::invalid("short").into_status().unwrap();
        assert_eq!(short.reason, "short");
    }

    #[test]
    fn collection_not_found_carries_code_100_and_legacy_4() {
        let err = EngineError::CollectionNotFound { database: "default".into(), name: "c".into() };
        let status = Failure::from(err).into_status().unwrap();
        assert_eq!(status.code, 100);
        assert_eq!(status.error_code, 4);
        assert!(status.reason.contains("\"c\""), "{}", status.reason);
    }

    #[test]
    fn authentication_and_permission_failures_are_grpc_statuses() {
        let unauth = Failure::from(SecurityError::Unauthenticated).into_status().unwrap_err();
        assert_eq!(unauth.code(), tonic::Code::Unauthenticated);
        let denied = SecurityError::PermissionDenied {
            privilege: quiver_security::Privilege::Search,
            user: "u".into(),
            database: "default".into(),
        };
        let denied = Failure::from(denied).into_status().unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(denied.message().contains("PrivilegeSearch"), "{}", denied.message());
    }

    #[test]
    fn success_has_both_codes_zero() {
        let status = ok_status();
        assert_eq!((status.code, status.error_code), (0, 0));
    }
}
