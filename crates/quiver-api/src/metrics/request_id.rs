//! Request ids: one per request, in the `x-request-id` response header and on every log line
//! the request causes, so that a client's report and the server's logs meet.
//!
//! A generated id is 16 hex digits: a process-wide counter, offset by a random key drawn at
//! start and scrambled by a bijective mixer, so ids never repeat within a process (2^64
//! requests), are not guessable sequence numbers, and differ between restarts. A client (or
//! a proxy in front) may send its own `x-request-id` to correlate across systems; it is kept
//! only if it is 1 to [`MAX_CLIENT_ID_LEN`] characters of `[A-Za-z0-9._-]`, so it can neither
//! forge log structure nor grow a log line; otherwise the server makes its own.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};

/// The header that carries the id, in requests (optional) and responses (always).
pub(crate) const HEADER: &str = "x-request-id";
/// Longest id accepted from a client.
pub(crate) const MAX_CLIENT_ID_LEN: usize = 64;

/// A request's id: ASCII letters, digits, `.`, `_` and `-` only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequestId(Box<str>);

impl RequestId {
    /// The client's id, if it is acceptable.
    pub(crate) fn from_client(value: &http::HeaderValue) -> Option<RequestId> {
        let bytes = value.as_bytes();
        let acceptable = (1..=MAX_CLIENT_ID_LEN).contains(&bytes.len())
            && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !acceptable {
            return None;
        }
        value.to_str().ok().map(|s| RequestId(s.into()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn header_value(&self) -> Option<http::HeaderValue> {
        http::HeaderValue::from_str(&self.0).ok()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The generator of a process's ids.
#[derive(Debug)]
pub(crate) struct RequestIds {
    key: u64,
    next: AtomicU64,
}

impl RequestIds {
    pub(crate) fn new() -> RequestIds {
        let mut bytes = [0u8; 8];
        let key = match SystemRandom::new().fill(&mut bytes) {
            Ok(()) => u64::from_le_bytes(bytes),
            // Without system randomness ids are still unique; they only become predictable.
            Err(_) => {
                SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
            }
        };
        RequestIds { key, next: AtomicU64::new(0) }
    }

    pub(crate) fn next_id(&self) -> RequestId {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        RequestId(format!("{:016x}", mix(n.wrapping_add(self.key))).into())
    }
}

/// SplitMix64's finalizer: a bijection on `u64` (each step is invertible), so distinct inputs
/// give distinct ids.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
