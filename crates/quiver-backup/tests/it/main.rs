//! The backup crate's integration tests: real data directories, real files, real crypto.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod consistency;
mod malicious;
mod roundtrip;
mod support;
mod tamper;
