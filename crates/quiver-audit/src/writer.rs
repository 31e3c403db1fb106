//! [`AuditLog`]: appending records with group commit, rotation, HEAD after every durable batch,
//! and fail-stop after an IO failure.
//!
//! # Group commit
//!
//! [`AuditLog::append`] encodes the record under the state mutex (its seq and `prev` depend on
//! the record before it, so this is where the order is decided) into the pending buffer, then
//! waits until it is durable. The first waiter that finds no IO in progress leads a round: it
//! takes every pending record, releases the mutex, appends them with one write per file, one
//! fsync per file, then replaces HEAD, re-takes the mutex, marks the records durable and wakes
//! the other waiters. Records appended during a round go to the next one, so concurrent
//! appenders share fsyncs (as in `quiver_storage::wal`).
//!
//! # Reads: the buffered path
//!
//! [`AuditLog::append_buffered`] only queues the record: it becomes durable with the next
//! round, which the next [`AuditLog::append`], [`AuditLog::sync`] or [`AuditLog::close`]
//! starts, or the buffered append itself once 1 MiB is pending. It is meant for read events
//! (searches and queries), when they are audited: they change no data, so losing the last
//! moments of them in a crash costs some history and no integrity, while waiting for an fsync
//! would add its latency to every search. The server should call [`AuditLog::sync`] on a timer
//! (every second, say) so that buffered records do not wait for the next write. The order of
//! the log is still the order of the calls, and a buffered record is chained and signed like
//! any other.
//!
//! # Rotation
//!
//! When the file the next record would go to holds [`AuditOptions::max_file_bytes`] or more,
//! that record starts a new file, named by its seq, whose first record is a
//! [`LifecycleAction::Rotated`] record naming the previous file. The chain runs on unchanged
//! across the boundary. A round syncs a file before it creates the next one, so only the last
//! file can ever have a torn tail.
//!
//! # Fail-stop
//!
//! If a write, an fsync or the replacement of HEAD fails, the log refuses every later call
//! with [`AuditError::FailStopped`] (the leader of the failed round gets the original error):
//! after a failed fsync the kernel may have dropped the pages, so only a reopen, which re-reads
//! what reached the disk, is safe. Callers fail closed: an operation that must be audited is
//! refused when its record cannot be written.

use std::fmt;
use std::fs::File;
use std::mem;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex, MutexGuard};
use quiver_storage::{AppendFile, Backend, LocalBackend};

use crate::error::AuditError;
use crate::event::{Event, LifecycleAction};
use crate::files::{AUDIT_DIR, LOCK_NAME, file_key, file_name, head_key};
use crate::head::{Head, HeadRef, encode_head};
use crate::key::AuditKey;
use crate::line::encode_record;
use crate::recovery::recover;
use crate::text::Text;
use crate::time::now_unix_ms;
use crate::walk::TornTail;

/// Default size at which a log file is rotated: 64 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;

/// Pending bytes beyond which a buffered append makes the queue durable itself, so that
/// buffered records never pile up in memory.
const MAX_PENDING_BYTES: usize = 1 << 20;

/// How [`AuditLog::open`] sets up the log.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// A file is rotated once it holds this many bytes.
    pub max_file_bytes: u64,
    /// The backend the log is written through; `None` uses local files under the root. A
    /// backend given here must store its keys under the root passed to [`AuditLog::open`]
    /// (such as a `FaultyBackend` around `LocalBackend::new(root)`), because the log is read
    /// back from there.
    pub backend: Option<Arc<dyn Backend>>,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions { max_file_bytes: DEFAULT_MAX_FILE_BYTES, backend: None }
    }
}

/// What [`AuditLog::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInfo {
    /// The log did not exist and was created. A server that finds this on a data directory it
    /// has used before should suspect that the log was deleted.
    pub created: bool,
    /// The log existed and its last record was not a clean close (the process was killed or
    /// crashed).
    pub unclean_shutdown: bool,
    /// A torn last line (crash artefact) that was cut off.
    pub torn_tail: Option<TornTail>,
}

/// The audit log; see the module documentation. `Send + Sync`: share it in an `Arc`.
pub struct AuditLog {
    backend: Arc<dyn Backend>,
    key: AuditKey,
    max_file_bytes: u64,
    state: Mutex<State>,
    /// Signalled whenever a round ends, successfully or not.
    round_done: Condvar,
    /// Number of durable records; written under the mutex, read lock-free.
    durable: AtomicU64,
    /// Mirrors `State::failed`.
    failed: AtomicBool,
    info: OpenInfo,
    /// Held for the life of the log: one writer per directory.
    _lock: File,
}

struct State {
    /// Encoded records not yet handed to a leader, grouped by destination file.
    chunks: Vec<Chunk>,
    pending_bytes: usize,
    /// The seq the next record gets.
    next_seq: u64,
    /// Hash of the last appended line (the next record's `prev`).
    last_hash: [u8; 32],
    /// First seq (name) of the file the next record goes to.
    tail_file: u64,
    /// Bytes in that file, including pending records bound for it.
    tail_file_bytes: u64,
    /// True while a leader does IO without the mutex (it has taken `file`).
    io_in_progress: bool,
    /// The open file and its first seq; `None` until a round opens one.
    file: Option<OpenLogFile>,
    /// The durable end of the log, as HEAD says.
    durable_head: Head,
    /// Set after a failed write or sync; never cleared.
    failed: bool,
}

struct Chunk {
    file_first_seq: u64,
    bytes: Vec<u8>,
}

struct OpenLogFile {
    first_seq: u64,
    file: Box<dyn AppendFile>,
}

impl AuditLog {
    /// Opens the log in `root/audit`, creating it if there is none, and appends a
    /// [`LifecycleAction::Created`] or [`LifecycleAction::Opened`] record (after a
    /// [`LifecycleAction::TornTailDiscarded`] one when a torn line was cut off), durably.
    ///
    /// Refuses a log that fails the checks of the tail (see `recovery`) with
    /// [`AuditError::Tampered`], and a log another writer holds with [`AuditError::Locked`].
    pub fn open(root: &Path, key: AuditKey, options: AuditOptions) -> Result<AuditLog, AuditError> {
        let backend: Arc<dyn Backend> = match options.backend {
            Some(backend) => backend,
            None => Arc::new(LocalBackend::new(root.to_owned())?),
        };
        backend.create_dir_all(AUDIT_DIR)?;
        let lock = lock_dir(&root.join(AUDIT_DIR))?;
        let recovered = recover(backend.as_ref(), root, &key)?;
        let info = OpenInfo {
            created: recovered.created,
            unclean_shutdown: !recovered.created && !recovered.closed_cleanly,
            torn_tail: recovered.torn_tail.clone(),
        };
        let state = State {
            chunks: Vec::new(),
            pending_bytes: 0,
            next_seq: recovered.head.records,
            last_hash: recovered.head.last,
            tail_file: recovered.tail_file,
            tail_file_bytes: recovered.tail_file_bytes,
            io_in_progress: false,
            file: None,
            durable_head: recovered.head,
            failed: false,
        };
        let log = AuditLog {
            backend,
            key,
            max_file_bytes: options.max_file_bytes.max(1),
            state: Mutex::new(state),
            round_done: Condvar::new(),
            durable: AtomicU64::new(recovered.head.records),
            failed: AtomicBool::new(false),
            info,
            _lock: lock,
        };
        if let Some(torn) = &recovered.torn_tail {
            let detail = format!(
                "cut off a torn line of {} bytes at byte {} of {}",
                torn.len, torn.offset, torn.file
            );
            log.append_buffered(&lifecycle(LifecycleAction::TornTailDiscarded, &detail))?;
        }
        let opening = if recovered.created {
            lifecycle(LifecycleAction::Created, "new audit log, format v1")
        } else if recovered.closed_cleanly {
            lifecycle(LifecycleAction::Opened, "after a clean close")
        } else {
            lifecycle(LifecycleAction::Opened, "after an unclean shutdown (no close record)")
        };
        log.append(&opening)?;
        Ok(log)
    }

    /// Appends `event` and returns its seq once it is durable (fsynced, HEAD updated).
    pub fn append(&self, event: &Event) -> Result<u64, AuditError> {
        let mut state = self.state.lock();
        let seq = self.enqueue(&mut state, event)?;
        self.wait_durable_locked(&mut state, seq + 1)?;
        Ok(seq)
    }

    /// Queues `event` and returns its seq without waiting for it to be durable; see the module
    /// documentation for when this is appropriate.
    pub fn append_buffered(&self, event: &Event) -> Result<u64, AuditError> {
        let mut state = self.state.lock();
        let seq = self.enqueue(&mut state, event)?;
        if state.pending_bytes >= MAX_PENDING_BYTES {
            self.wait_durable_locked(&mut state, seq + 1)?;
        }
        Ok(seq)
    }

    /// Makes every record appended so far durable; returns the last one.
    pub fn sync(&self) -> Result<Option<HeadRef>, AuditError> {
        let mut state = self.state.lock();
        let target = state.next_seq;
        self.wait_durable_locked(&mut state, target)?;
        Ok(state.durable_head.head_ref())
    }

    /// Appends a [`LifecycleAction::Closed`] record, durably, and closes the log; returns the
    /// last record, the reference worth keeping outside the machine.
    pub fn close(self) -> Result<HeadRef, AuditError> {
        let closing = lifecycle(LifecycleAction::Closed, "clean close");
        self.append(&closing)?;
        let head = self.state.lock().durable_head.head_ref();
        head.ok_or(AuditError::FailStopped)
    }

    /// The last durable record (as HEAD records it).
    pub fn head(&self) -> Option<HeadRef> {
        self.state.lock().durable_head.head_ref()
    }

    /// Number of durable records. Cheap: one atomic load.
    pub fn durable_records(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// True once an IO failure stopped the log.
    pub fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// What open found.
    pub fn open_info(&self) -> &OpenInfo {
        &self.info
    }

    /// Assigns the next seq to `event`, signs and chains it into the pending buffer (starting
    /// a new file first when the current one is full).
    fn enqueue(&self, state: &mut State, event: &Event) -> Result<u64, AuditError> {
        if state.failed {
            return Err(AuditError::FailStopped);
        }
        if state.tail_file_bytes >= self.max_file_bytes {
            let (old_file, old_bytes) = (state.tail_file, state.tail_file_bytes);
            state.tail_file = state.next_seq;
            state.tail_file_bytes = 0;
            let detail = format!("continues from {}", file_name(old_file));
            if let Err(err) = self.encode(state, &lifecycle(LifecycleAction::Rotated, &detail)) {
                (state.tail_file, state.tail_file_bytes) = (old_file, old_bytes);
                return Err(err);
            }
        }
        self.encode(state, event)
    }

    fn encode(&self, state: &mut State, event: &Event) -> Result<u64, AuditError> {
        let seq = state.next_seq;
        let next_seq = seq.checked_add(1).ok_or(AuditError::SeqExhausted)?;
        let tail_file = state.tail_file;
        if state.chunks.last().is_none_or(|chunk| chunk.file_first_seq != tail_file) {
            state.chunks.push(Chunk { file_first_seq: tail_file, bytes: Vec::new() });
        }
        let Some(chunk) = state.chunks.last_mut() else {
            return Err(AuditError::FailStopped);
        };
        let before = chunk.bytes.len();
        let hash = encode_record(
            &self.key,
            seq,
            now_unix_ms(),
            &state.last_hash,
            event,
            &mut chunk.bytes,
        )?;
        let added = chunk.bytes.len() - before;
        state.pending_bytes += added;
        state.tail_file_bytes += added as u64;
        state.next_seq = next_seq;
        state.last_hash = hash;
        Ok(seq)
    }

    /// Waits, leading rounds as needed, until `records` records are durable.
    fn wait_durable_locked(
        &self,
        state: &mut MutexGuard<'_, State>,
        records: u64,
    ) -> Result<(), AuditError> {
        loop {
            if state.failed {
                return Err(AuditError::FailStopped);
            }
            if records <= self.durable.load(Ordering::Acquire) {
                return Ok(());
            }
            if state.io_in_progress {
                self.round_done.wait(state);
            } else {
                self.commit_round(state)?;
            }
        }
    }

    /// Leads one round: writes and syncs everything pending, then HEAD, without the mutex.
    fn commit_round(&self, state: &mut MutexGuard<'_, State>) -> Result<(), AuditError> {
        let chunks = mem::take(&mut state.chunks);
        state.pending_bytes = 0;
        let target = Head { records: state.next_seq, last: state.last_hash };
        let file = state.file.take();
        state.io_in_progress = true;
        let written = MutexGuard::unlocked(state, || self.write_round(file, chunks, &target));
        state.io_in_progress = false;
        let result = match written {
            Ok(file) => {
                state.file = file;
                state.durable_head = target;
                self.durable.store(target.records, Ordering::Release);
                Ok(())
            }
            Err(err) => {
                state.failed = true;
                self.failed.store(true, Ordering::Release);
                Err(err)
            }
        };
        self.round_done.notify_all();
        result
    }

    /// The IO of a round: each chunk appended to its file (a file is synced before the next
    /// one is opened), the last file synced, then HEAD replaced.
    fn write_round(
        &self,
        mut file: Option<OpenLogFile>,
        chunks: Vec<Chunk>,
        head: &Head,
    ) -> Result<Option<OpenLogFile>, AuditError> {
        let mut unsynced = false;
        for chunk in chunks {
            if chunk.bytes.is_empty() {
                continue;
            }
            let is_open = file.as_ref().is_some_and(|open| open.first_seq == chunk.file_first_seq);
            if !is_open {
                if let Some(open) = file.as_mut()
                    && unsynced
                {
                    open.file.sync()?;
                }
                drop(file.take());
                let opened = self.backend.open_append(&file_key(chunk.file_first_seq))?;
                file = Some(OpenLogFile { first_seq: chunk.file_first_seq, file: opened });
            }
            if let Some(open) = file.as_mut() {
                open.file.append(&chunk.bytes)?;
                unsynced = true;
            }
        }
        if let Some(open) = file.as_mut()
            && unsynced
        {
            open.file.sync()?;
        }
        self.backend.write_atomic(&head_key(), &encode_head(&self.key, head)?)?;
        Ok(file)
    }
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("durable_records", &self.durable_records())
            .field("failed", &self.is_failed())
            .finish_non_exhaustive()
    }
}

fn lifecycle(action: LifecycleAction, detail: &str) -> Event {
    Event::Lifecycle { action, detail: Text::new(detail) }
}

/// Takes the audit directory's lock file; fails at once when another writer holds it.
fn lock_dir(audit_dir: &Path) -> Result<File, AuditError> {
    let lock_path = audit_dir.join(LOCK_NAME);
    let shown = lock_path.display().to_string();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| AuditError::io("open lock file", &shown, source))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(_) => Err(AuditError::Locked { path: audit_dir.display().to_string() }),
    }
}

#[cfg(test)]
mod tests;
