//! [`FaultyBackend`]: wraps a [`Backend`] and injects write and sync failures on command.
//!
//! Public (not test-only) because the engine's fault-injection tests use it too. A
//! [`FaultPlan`] is a shared handle: the test keeps a clone, hands another to the backend, and
//! arms failures or reads the operation counters while the workload runs.
//!
//! What counts:
//! * a *write* is a call to [`AppendFile::append`], [`Backend::write_new`],
//!   [`Backend::write_atomic`], [`Backend::truncate`] or [`Backend::rename`];
//! * a *sync* is a call to [`AppendFile::sync`], and the durability point inside each
//!   `write_new` and `write_atomic` (one sync per call).
//!
//! How failures look:
//! * a failing `append` first writes a pseudo-random prefix (possibly empty, never all) of the
//!   bytes, like a short write cut off by a full disk; the other write-like operations fail
//!   before doing anything;
//! * a failing sync happens *after* the data was written (and is visible to readers), like
//!   Linux after a failed fsync, where the data may or may not reach the disk;
//! * every injected error is [`StorageError::Io`] with an `io::Error` of kind `Other` and the
//!   message `"injected fault"`.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::{AppendFile, Backend};
use crate::error::{Result, StorageError};

/// The shared, cheaply cloneable control handle of one or more [`FaultyBackend`]s.
#[derive(Clone, Default)]
pub struct FaultPlan {
    state: Arc<PlanState>,
}

#[derive(Default)]
struct PlanState {
    /// Number of write-like operations started so far.
    writes: AtomicU64,
    /// Number of syncs started so far.
    syncs: AtomicU64,
    /// The value of `writes` (counting from 1) whose operation fails; 0 when disarmed.
    fail_write_at: AtomicU64,
    /// The value of `syncs` (counting from 1) whose operation fails; 0 when disarmed.
    fail_sync_at: AtomicU64,
    /// State of the generator choosing short-write lengths (splitmix64).
    rng: AtomicU64,
}

impl FaultPlan {
    /// A plan with no failure armed.
    pub fn new() -> FaultPlan {
        FaultPlan::default()
    }

    /// A plan whose short writes use lengths drawn from `seed`, for reproducible tests.
    pub fn with_seed(seed: u64) -> FaultPlan {
        let plan = FaultPlan::default();
        plan.state.rng.store(seed, Ordering::Relaxed);
        plan
    }

    /// Makes the `n`-th write-like operation from now fail (`n = 1` is the next one; 0 is
    /// treated as 1). Replaces any write failure armed before.
    pub fn fail_nth_write(&self, n: u64) {
        let at = self.state.writes.load(Ordering::SeqCst) + n.max(1);
        self.state.fail_write_at.store(at, Ordering::SeqCst);
    }

    /// Makes the `n`-th sync from now fail (`n = 1` is the next one; 0 is treated as 1).
    /// Replaces any sync failure armed before.
    pub fn fail_nth_sync(&self, n: u64) {
        let at = self.state.syncs.load(Ordering::SeqCst) + n.max(1);
        self.state.fail_sync_at.store(at, Ordering::SeqCst);
    }

    /// Cancels every armed failure.
    pub fn disarm(&self) {
        self.state.fail_write_at.store(0, Ordering::SeqCst);
        self.state.fail_sync_at.store(0, Ordering::SeqCst);
    }

    /// The number of write-like operations made so far.
    pub fn writes(&self) -> u64 {
        self.state.writes.load(Ordering::SeqCst)
    }

    /// The number of syncs made so far.
    pub fn syncs(&self) -> u64 {
        self.state.syncs.load(Ordering::SeqCst)
    }

    /// Counts a write-like operation; true if it is the one armed to fail (then disarms it).
    fn next_write_fails(&self) -> bool {
        let count = self.state.writes.fetch_add(1, Ordering::SeqCst) + 1;
        fire(&self.state.fail_write_at, count)
    }

    /// Counts a sync; true if it is the one armed to fail (then disarms it).
    fn next_sync_fails(&self) -> bool {
        let count = self.state.syncs.fetch_add(1, Ordering::SeqCst) + 1;
        fire(&self.state.fail_sync_at, count)
    }

    /// A pseudo-random length in `0..len` (0 when `len` is 0).
    fn short_len(&self, len: usize) -> usize {
        let Ok(len_u64) = u64::try_from(len) else { return 0 };
        if len_u64 == 0 {
            return 0;
        }
        let seed = self.state.rng.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        let value = splitmix64(seed) % len_u64;
        usize::try_from(value).unwrap_or(0)
    }
}

impl fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultPlan")
            .field("writes", &self.writes())
            .field("syncs", &self.syncs())
            .field("fail_write_at", &self.state.fail_write_at.load(Ordering::SeqCst))
            .field("fail_sync_at", &self.state.fail_sync_at.load(Ordering::SeqCst))
            .finish()
    }
}

/// True if `count` is the armed trigger; clears the trigger so it fires once.
fn fire(trigger: &AtomicU64, count: u64) -> bool {
    trigger.compare_exchange(count, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok()
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn injected(op: &'static str, key: &str) -> StorageError {
    StorageError::io(op, key, io::Error::other("injected fault"))
}

/// A [`Backend`] that forwards to `inner` and fails the operations its [`FaultPlan`] says.
#[derive(Debug)]
pub struct FaultyBackend {
    inner: Arc<dyn Backend>,
    plan: FaultPlan,
}

impl FaultyBackend {
    /// Wraps `inner`; failures are armed through `plan` (keep a clone of it).
    pub fn new(inner: Arc<dyn Backend>, plan: FaultPlan) -> FaultyBackend {
        FaultyBackend { inner, plan }
    }

    /// The plan controlling this backend.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }
}

impl Backend for FaultyBackend {
    fn read(&self, key: &str) -> Result<Vec<u8>> {
        self.inner.read(key)
    }

    fn exists(&self, key: &str) -> Result<bool> {
        self.inner.exists(key)
    }

    fn list(&self, dir: &str) -> Result<Vec<String>> {
        self.inner.list(dir)
    }

    fn create_dir_all(&self, dir: &str) -> Result<()> {
        self.inner.create_dir_all(dir)
    }

    fn write_new(&self, key: &str, bytes: &[u8]) -> Result<()> {
        if self.plan.next_write_fails() {
            return Err(injected("write", key));
        }
        let sync_fails = self.plan.next_sync_fails();
        self.inner.write_new(key, bytes)?;
        if sync_fails {
            return Err(injected("fsync", key));
        }
        Ok(())
    }

    fn write_atomic(&self, key: &str, bytes: &[u8]) -> Result<()> {
        if self.plan.next_write_fails() {
            return Err(injected("write", key));
        }
        let sync_fails = self.plan.next_sync_fails();
        self.inner.write_atomic(key, bytes)?;
        if sync_fails {
            return Err(injected("fsync", key));
        }
        Ok(())
    }

    fn open_append(&self, key: &str) -> Result<Box<dyn AppendFile>> {
        let inner = self.inner.open_append(key)?;
        Ok(Box::new(FaultyAppendFile { inner, plan: self.plan.clone(), key: key.to_owned() }))
    }

    fn truncate(&self, key: &str, len: u64) -> Result<()> {
        if self.plan.next_write_fails() {
            return Err(injected("truncate", key));
        }
        self.inner.truncate(key, len)
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        if self.plan.next_write_fails() {
            return Err(injected("rename", from));
        }
        self.inner.rename(from, to)
    }

    fn remove_file(&self, key: &str) -> Result<()> {
        self.inner.remove_file(key)
    }

    fn remove_dir_all(&self, dir: &str) -> Result<()> {
        self.inner.remove_dir_all(dir)
    }
}

/// An [`AppendFile`] of a [`FaultyBackend`].
struct FaultyAppendFile {
    inner: Box<dyn AppendFile>,
    plan: FaultPlan,
    key: String,
}

impl AppendFile for FaultyAppendFile {
    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        if self.plan.next_write_fails() {
            let prefix = bytes.get(..self.plan.short_len(bytes.len())).unwrap_or_default();
            if !prefix.is_empty() {
                self.inner.append(prefix)?;
            }
            return Err(injected("append", &self.key));
        }
        self.inner.append(bytes)
    }

    fn sync(&mut self) -> Result<()> {
        if self.plan.next_sync_fails() {
            return Err(injected("fsync", &self.key));
        }
        self.inner.sync()
    }
}

#[cfg(test)]
mod tests;
