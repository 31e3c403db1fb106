//! Request limits: how large a request may be and what it may ask for, checked before any
//! work or allocation is sized by it.
//!
//! Each [`Limit`] has a secure default, a floor and a ceiling. The ceiling is what the engine
//! and the wire format can take (for example Milvus's `topk + offset ≤ 16384`, a dimension of
//! at most 32768, a VarChar of at most 65535 bytes); configuration may lower a limit down to
//! its floor, never raise it above its ceiling, so that no setting can open a path the engine
//! does not bound on its own. The config file names them in `[limits]` by [`Limit::key`].
//!
//! A request over a limit is refused with a Milvus status before the handler allocates
//! anything for it: code 1102 ("too large") for sizes and counts of what the request carries
//! (message bytes, rows, JSON bytes, filter text, output fields), code 1100 ("invalid
//! parameter") for the parameters Milvus itself checks as ranges (top-k window, nq,
//! dimension, VarChar `max_length`, filter depth), as Milvus does. The message names the
//! value, the limit and the config key.

use std::fmt;
use std::time::Duration;

use quiver_engine::{FilterLimits, MAX_QUERY_VECTORS, MAX_ROWS_PER_WRITE, MAX_TOPK_WINDOW};

use crate::status::{Failure, code};

/// One configurable request limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Bytes of a gRPC message or a REST body, in and out.
    MessageBytes,
    /// Rows of one insert, upsert or delete-by-keys.
    RowsPerWrite,
    /// Query vectors (nq) of one search.
    QueryVectors,
    /// `limit + offset` of a search or query.
    TopkWindow,
    /// Dimension of a vector field at collection creation.
    Dim,
    /// `max_length` of a VarChar field (or VarChar array element) at collection creation.
    VarcharLength,
    /// Bytes of one JSON value (a JSON field or the dynamic field of one row).
    JsonBytes,
    /// Bytes of a filter expression.
    FilterBytes,
    /// Nesting depth of a filter expression.
    FilterDepth,
    /// Output fields named by a search or query.
    OutputFields,
    /// Seconds a request may run before it is answered with a timeout.
    TimeoutSeconds,
}

impl Limit {
    /// Every limit, in the order of the config file's documentation.
    pub const ALL: [Limit; 11] = [
        Limit::MessageBytes,
        Limit::RowsPerWrite,
        Limit::QueryVectors,
        Limit::TopkWindow,
        Limit::Dim,
        Limit::VarcharLength,
        Limit::JsonBytes,
        Limit::FilterBytes,
        Limit::FilterDepth,
        Limit::OutputFields,
        Limit::TimeoutSeconds,
    ];

    /// The key in the config file's `[limits]` section.
    pub fn key(self) -> &'static str {
        match self {
            Limit::MessageBytes => "max_message_bytes",
            Limit::RowsPerWrite => "max_rows_per_write",
            Limit::QueryVectors => "max_query_vectors",
            Limit::TopkWindow => "max_topk_window",
            Limit::Dim => "max_dim",
            Limit::VarcharLength => "max_varchar_length",
            Limit::JsonBytes => "max_json_bytes",
            Limit::FilterBytes => "max_filter_bytes",
            Limit::FilterDepth => "max_filter_depth",
            Limit::OutputFields => "max_output_fields",
            Limit::TimeoutSeconds => "request_timeout_seconds",
        }
    }

    /// The smallest and the largest value configuration may set.
    pub fn range(self) -> (u64, u64) {
        match self {
            Limit::MessageBytes => (64 << 10, 256 << 20),
            Limit::RowsPerWrite => (1, MAX_ROWS_PER_WRITE as u64),
            Limit::QueryVectors => (1, MAX_QUERY_VECTORS as u64),
            Limit::TopkWindow => (1, MAX_TOPK_WINDOW as u64),
            Limit::Dim => (1, u64::from(quiver_core::MAX_DIM)),
            Limit::VarcharLength => (1, u64::from(quiver_core::MAX_VARCHAR_LENGTH)),
            Limit::JsonBytes => (2, quiver_core::MAX_JSON_BYTES as u64),
            Limit::FilterBytes => (1, 1 << 20),
            Limit::FilterDepth => (1, FilterLimits::DEPTH_CEILING as u64),
            Limit::OutputFields => (1, crate::convert::fields::MAX_OUTPUT_FIELDS as u64),
            Limit::TimeoutSeconds => (1, 3600),
        }
    }

    /// The value in force when configuration does not set one.
    pub fn default_value(self) -> u64 {
        match self {
            // Milvus's proxy default per RPC.
            Limit::MessageBytes => 64 << 20,
            Limit::FilterBytes => FilterLimits::DEFAULT.max_expr_len as u64,
            Limit::FilterDepth => FilterLimits::DEFAULT.max_depth as u64,
            Limit::TimeoutSeconds => 300,
            // The ceiling: what the engine and Milvus allow.
            Limit::RowsPerWrite
            | Limit::OutputFields
            | Limit::QueryVectors
            | Limit::TopkWindow
            | Limit::Dim
            | Limit::VarcharLength
            | Limit::JsonBytes => self.range().1,
        }
    }

    /// What the limit counts, for messages.
    fn what(self) -> &'static str {
        match self {
            Limit::MessageBytes => "the request's size in bytes",
            Limit::RowsPerWrite => "rows per write",
            Limit::QueryVectors => "nq (query vectors per search)",
            Limit::TopkWindow => "limit + offset",
            Limit::Dim => "a vector field's dim",
            Limit::VarcharLength => "a VarChar field's max_length",
            Limit::JsonBytes => "bytes of one JSON value",
            Limit::FilterBytes => "bytes of the filter expression",
            Limit::FilterDepth => "nesting depth of the filter expression",
            Limit::OutputFields => "output fields",
            Limit::TimeoutSeconds => "seconds a request may run",
        }
    }

    /// The Milvus code of a refusal: 1100 for Milvus's range checks, 1102 for sizes.
    pub(crate) fn code(self) -> i32 {
        match self {
            Limit::TopkWindow
            | Limit::QueryVectors
            | Limit::Dim
            | Limit::VarcharLength
            | Limit::FilterDepth => code::INVALID_PARAMETER,
            Limit::MessageBytes
            | Limit::RowsPerWrite
            | Limit::JsonBytes
            | Limit::FilterBytes
            | Limit::OutputFields
            | Limit::TimeoutSeconds => code::TOO_LARGE,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A configured value outside its limit's range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("limits.{limit} = {value} is out of range: it must be between {min} and {max}")]
pub struct LimitOutOfRange {
    pub limit: Limit,
    pub value: u64,
    pub min: u64,
    pub max: u64,
}

/// The request limits in force; [`RequestLimits::default`] is the secure default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    values: [u64; Limit::ALL.len()],
}

impl Default for RequestLimits {
    fn default() -> RequestLimits {
        RequestLimits { values: Limit::ALL.map(Limit::default_value) }
    }
}

impl RequestLimits {
    /// The value of `limit`.
    pub fn get(&self, limit: Limit) -> u64 {
        self.values[limit.index()]
    }

    /// Sets `limit` to `value`, refusing a value outside [`Limit::range`].
    pub fn set(&mut self, limit: Limit, value: u64) -> Result<(), LimitOutOfRange> {
        let (min, max) = limit.range();
        if !(min..=max).contains(&value) {
            return Err(LimitOutOfRange { limit, value, min, max });
        }
        self.values[limit.index()] = value;
        Ok(())
    }

    /// `limit` as a `usize` (every range fits one).
    pub(crate) fn size(&self, limit: Limit) -> usize {
        usize::try_from(self.get(limit)).unwrap_or(usize::MAX)
    }

    /// Allows `value` iff it is at most the limit; otherwise the limit's Milvus code with a
    /// message naming the value, the limit and its config key.
    pub(crate) fn check(&self, limit: Limit, value: u64) -> Result<(), Failure> {
        self.check_for(limit, value, None)
    }

    /// [`RequestLimits::check`] about a named thing (a field), which the message names.
    pub(crate) fn check_for(
        &self,
        limit: Limit,
        value: u64,
        subject: Option<&str>,
    ) -> Result<(), Failure> {
        let max = self.get(limit);
        if value <= max {
            return Ok(());
        }
        let what = limit.what();
        let text = format!("{what} is {value}, more than the limit of {max} (limits.{limit})");
        Err(Failure::new(
            limit.code(),
            match subject {
                Some(subject) => format!("{}: {text}", quiver_core::truncated(subject)),
                None => text,
            },
        ))
    }

    /// [`RequestLimits::check`] for a count.
    pub(crate) fn check_len(&self, limit: Limit, len: usize) -> Result<(), Failure> {
        self.check(limit, u64::try_from(len).unwrap_or(u64::MAX))
    }

    /// The limits applied to filter expressions.
    pub(crate) fn filter(&self) -> FilterLimits {
        FilterLimits {
            max_expr_len: self.size(Limit::FilterBytes),
            max_depth: self.size(Limit::FilterDepth),
            ..FilterLimits::DEFAULT
        }
    }

    /// Largest gRPC message or REST body, in and out.
    pub fn max_message_bytes(&self) -> usize {
        self.size(Limit::MessageBytes)
    }

    /// How long a request may run.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.get(Limit::TimeoutSeconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_their_ranges_and_ceilings_are_milvus_values() {
        let limits = RequestLimits::default();
        for limit in Limit::ALL {
            let (min, max) = limit.range();
            assert!((min..=max).contains(&limits.get(limit)), "{limit}");
        }
        assert_eq!(limits.get(Limit::TopkWindow), 16_384);
        assert_eq!(limits.get(Limit::QueryVectors), 16_384);
        assert_eq!(limits.get(Limit::Dim), 32_768);
        assert_eq!(limits.get(Limit::VarcharLength), 65_535);
        assert_eq!(limits.max_message_bytes(), 64 << 20);
        assert_eq!(limits.request_timeout(), Duration::from_secs(300));
    }

    #[test]
    fn configuration_cannot_leave_a_limits_range() {
        let mut limits = RequestLimits::default();
        for limit in Limit::ALL {
            let (min, max) = limit.range();
            assert!(limits.set(limit, min).is_ok());
            assert!(limits.set(limit, max).is_ok());
            let err = limits.set(limit, max + 1).unwrap_err();
            assert_eq!((err.min, err.max, err.value), (min, max, max + 1));
            assert!(err.to_string().contains(limit.key()), "{err}");
            assert!(limits.set(limit, min - 1).is_err(), "{limit} below its floor");
            assert_eq!(limits.get(limit), max, "a refused value changes nothing");
        }
    }

    #[test]
    fn check_allows_the_limit_and_refuses_one_past_it_with_the_limits_code() {
        let limits = RequestLimits::default();
        for limit in Limit::ALL {
            let max = limits.get(limit);
            assert!(limits.check(limit, max).is_ok(), "{limit} at the limit");
            let Err(Failure::Milvus { code, reason, .. }) = limits.check(limit, max + 1) else {
                panic!("{limit} past the limit must be a Milvus status");
            };
            assert_eq!(code, limit.code());
            assert!([code::INVALID_PARAMETER, code::TOO_LARGE].contains(&code));
            assert!(reason.contains(limit.key()) && reason.contains(&max.to_string()), "{reason}");
        }
    }

    #[test]
    fn keys_are_unique() {
        let keys: std::collections::HashSet<_> = Limit::ALL.iter().map(|l| l.key()).collect();
        assert_eq!(keys.len(), Limit::ALL.len());
        for (i, limit) in Limit::ALL.iter().enumerate() {
            assert_eq!(limit.index(), i, "ALL is in declaration order");
        }
    }
}
