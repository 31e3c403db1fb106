//! The engine's integration tests, in one binary (one link, one process per run).
//!
//! * `crash`: a writer process killed with SIGKILL, again and again, loses nothing it
//!   acknowledged and never leaves a batch half applied;
//! * `corruption`: a flipped byte or a cut in any file is detected and makes only its
//!   collection unavailable, naming the file;
//! * `faults`: a failing write or fsync is never acknowledged, stops writes to its collection
//!   until reopened, and leaves a store equal to the model of what was acknowledged;
//! * `model`: random sequences of writes, flushes, compactions, partition changes and reopens
//!   agree with an in-memory reference model after every step;
//! * `encryption`: no plaintext on disk with encryption on, wrong or missing keys and keyrings
//!   refused by name, tampered files refused naming them, master key rotation;
//! * `api`: the embedded API's contract, one behavior per test;
//! * `index`: vector indexes built in the background, recall, persistence, rebuild, filters;
//! * `filter`: filter expressions in query, count, search and delete by filter;
//! * `scalar_index`: INVERTED and STL_SORT indexes: same filter results with and without,
//!   persistence, rebuild of a damaged file, field types refused;
//! * `trash`: the recycle bin (drop, restore, purge, expiry) and point-in-time restore.

// Test helpers unwrap freely: a failure is a test failure with its location.
#![allow(clippy::unwrap_used)]

mod api;
mod corruption;
mod crash;
mod encryption;
mod faults;
mod filter;
mod index;
mod model;
mod scalar_index;
mod support;
mod trash;
