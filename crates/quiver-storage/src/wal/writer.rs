//! [`Wal`]: appending records with group commit, fail-stop after an IO failure, rotation to a
//! new file, and removal of files a checkpoint made obsolete.
//!
//! # Group commit
//!
//! [`Wal::append`] only encodes the record into the in-memory `pending` buffer under the state
//! mutex and returns its LSN. [`Wal::wait_durable`] then makes it durable: the first waiter that
//! finds no IO in progress becomes the *leader* of a round. It takes the whole pending buffer
//! and the file, releases the mutex, writes the buffer with one `append` and one `sync`,
//! re-takes the mutex, advances `durable_lsn` to the last record of the buffer and wakes every
//! waiter. Waiters whose LSN is now durable return; the others (whose records were appended
//! during the round) elect the next leader among themselves. So concurrent writers share
//! fsyncs, and while one fsync runs the next batch accumulates.
//!
//! Invariant: while no IO is in progress and the log has not failed, `pending` holds exactly
//! the records with LSNs in `durable_lsn + 1 .. next_lsn`, in order.
//!
//! # Fail-stop
//!
//! If a write or a sync fails, the log is marked failed: the leader of that round gets the
//! original error, and every later (or waiting) call gets [`StorageError::FailStopped`].
//! `durable_lsn` never advances past what a successful sync covered, because after a failed
//! fsync the kernel may have dropped the dirty pages; only reopening the log (which re-reads
//! what reached the file) is safe.

use std::collections::VecDeque;
use std::fmt;
use std::mem;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::backend::{AppendFile, Backend};
use crate::error::{Result, StorageError};
use crate::wal::format::{MAX_RECORD_PAYLOAD, encode_frame};
use crate::wal::recovery::{LogFile, RecoveryInfo, Replay, create_file, recover};

/// A pending buffer that grew beyond this many bytes is freed after its round rather than
/// reused, so one huge batch does not pin its memory forever.
const REUSE_BUFFER_MAX: usize = 4 << 20;

/// The write-ahead log of one collection; see the [module documentation](crate::wal).
///
/// `Send + Sync`; every method takes `&self` and may be called from many threads. Dropping it
/// discards the records not yet made durable (no caller was told they were); call
/// [`Wal::sync`] first for a clean shutdown.
pub struct Wal {
    backend: Arc<dyn Backend>,
    dir: String,
    state: Mutex<State>,
    /// Signalled (notify_all) whenever a round of IO ends, successfully or not.
    round_done: Condvar,
    /// The highest LSN known to be durable; written under the state mutex, read lock-free.
    durable_lsn: AtomicU64,
    /// Mirrors `State::failed` for the lock-free fast path of [`Wal::wait_durable`].
    failed: AtomicBool,
    /// Serialises [`Wal::remove_files_through`] calls, which do their IO without the state
    /// mutex.
    remove_lock: Mutex<()>,
    recovery: RecoveryInfo,
}

/// The mutable state of a [`Wal`], behind its mutex.
struct State {
    /// Encoded frames not yet handed to a leader.
    pending: Vec<u8>,
    /// The LSN the next appended record gets.
    next_lsn: u64,
    /// True while one thread does IO (a commit round or a rotation) without the mutex; it has
    /// taken `file` out.
    io_in_progress: bool,
    /// The current file, open for appending; `None` only while IO is in progress or after a
    /// failed rotation.
    file: Option<Box<dyn AppendFile>>,
    /// The file new records go to.
    current: LogFile,
    /// The older files, oldest first; every record in them is durable.
    older: VecDeque<LogFile>,
    /// Set after a failed write or sync; never cleared.
    failed: bool,
}

impl Wal {
    /// Opens (or creates) the log in the directory key `dir`, passing every record in it to
    /// `replay` in LSN order, then repairs a torn tail and returns the log ready for appends.
    ///
    /// `replay` returns the caller's own error type; its first error aborts the open and is
    /// returned as is, and storage errors are converted with `E::from`. If the open fails, the
    /// caller must discard whatever it built from the records it was given. The records are
    /// read one file at a time: the caller can apply them as they come.
    ///
    /// Rules (see the [module documentation](crate::wal) for the media assumption):
    /// * only the last record of the last file may be torn; it is cut off with
    ///   [`Backend::truncate`] and appending continues after the last good record;
    /// * any other damage is [`StorageError::Corrupt`] naming the file and the record offset;
    /// * LSNs must be contiguous from the first remaining file on (older files may have been
    ///   removed by [`Wal::remove_files_through`]);
    /// * `next_lsn_at_least` is the lowest LSN the caller allows for new records, normally its
    ///   checkpoint LSN + 1 (0 or 1 when it has none). With no log files, numbering starts
    ///   there. If every record of the log is below it (all covered by the checkpoint), the
    ///   records are still replayed, then the files are removed and a new file starts there.
    ///   Whether the log reaches back far enough is for the caller to check, with
    ///   [`RecoveryInfo::first_lsn`].
    pub fn open<E: From<StorageError>>(
        backend: Arc<dyn Backend>,
        dir: &str,
        next_lsn_at_least: u64,
        replay: &mut Replay<'_, E>,
    ) -> std::result::Result<Wal, E> {
        let recovered = recover(backend.as_ref(), dir, next_lsn_at_least, replay)?;
        let next_lsn = recovered.info.next_lsn;
        let state = State {
            pending: Vec::new(),
            next_lsn,
            io_in_progress: false,
            file: Some(recovered.file),
            current: recovered.current,
            older: VecDeque::from(recovered.older),
            failed: false,
        };
        Ok(Wal {
            backend,
            dir: dir.to_owned(),
            state: Mutex::new(state),
            round_done: Condvar::new(),
            durable_lsn: AtomicU64::new(next_lsn - 1),
            failed: AtomicBool::new(false),
            remove_lock: Mutex::new(()),
            recovery: recovered.info,
        })
    }

    /// Assigns the next LSN to a record holding `payload` and queues it, without IO; call
    /// [`Wal::wait_durable`] with the returned LSN before acknowledging the write.
    ///
    /// Fails with [`StorageError::TooLarge`] above [`MAX_RECORD_PAYLOAD`] bytes, and with
    /// [`StorageError::FailStopped`] after an IO failure.
    pub fn append(&self, payload: &[u8]) -> Result<u64> {
        if payload.len() > MAX_RECORD_PAYLOAD {
            return Err(StorageError::TooLarge {
                what: "write-ahead log record payload",
                len: payload.len() as u64,
                max: MAX_RECORD_PAYLOAD as u64,
            });
        }
        let payload_crc = crc32c::crc32c(payload);
        let mut state = self.state.lock();
        if state.failed {
            return Err(fail_stopped(&state));
        }
        let lsn = state.next_lsn;
        let Some(next_lsn) = lsn.checked_add(1) else {
            return Err(StorageError::TooLarge {
                what: "log sequence number",
                len: lsn,
                max: u64::MAX - 1,
            });
        };
        encode_frame(&mut state.pending, lsn, payload, payload_crc);
        state.next_lsn = next_lsn;
        Ok(lsn)
    }

    /// [`Wal::append`] then [`Wal::wait_durable`]: returns once the record is durable.
    pub fn append_durable(&self, payload: &[u8]) -> Result<u64> {
        let lsn = self.append(payload)?;
        self.wait_durable(lsn)?;
        Ok(lsn)
    }

    /// Returns once the record `lsn` (and every record before it) is written and synced,
    /// leading commit rounds as needed (see the module documentation).
    ///
    /// After an IO failure this fails (with the original error for the leader of the failed
    /// round, [`StorageError::FailStopped`] otherwise), even for an LSN that was durable
    /// before. Asking for an LSN that was never assigned is
    /// [`StorageError::LsnNotAssigned`].
    pub fn wait_durable(&self, lsn: u64) -> Result<()> {
        if !self.failed.load(Ordering::Acquire) && lsn <= self.durable_lsn() {
            return Ok(());
        }
        let mut state = self.state.lock();
        self.wait_locked(&mut state, lsn)
    }

    /// Makes every record appended so far durable and returns the durable LSN.
    pub fn sync(&self) -> Result<u64> {
        let mut state = self.state.lock();
        let last_lsn = state.next_lsn - 1;
        self.wait_locked(&mut state, last_lsn)?;
        Ok(self.durable_lsn())
    }

    /// The highest LSN that is written and synced (0 if none). Cheap: one atomic load.
    pub fn durable_lsn(&self) -> u64 {
        self.durable_lsn.load(Ordering::Acquire)
    }

    /// The LSN of the last appended record (0 if none was ever assigned).
    pub fn last_lsn(&self) -> u64 {
        self.state.lock().next_lsn - 1
    }

    /// True once an IO failure stopped the log.
    pub fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Makes everything appended so far durable, then starts a new file whose first LSN is
    /// [`Wal::last_lsn`] + 1 (its header written and synced, its directory entry fsynced).
    /// Returns the last LSN stored in the older files: a checkpoint covering it may then call
    /// [`Wal::remove_files_through`].
    ///
    /// If the current file holds no record yet, nothing changes. A failure stops the log.
    pub fn rotate(&self) -> Result<u64> {
        let mut state = self.state.lock();
        loop {
            if state.failed {
                return Err(fail_stopped(&state));
            }
            if state.io_in_progress {
                self.round_done.wait(&mut state);
            } else if self.durable_lsn() < state.next_lsn - 1 {
                self.commit_round(&mut state)?;
            } else {
                break;
            }
        }
        let first_lsn = state.next_lsn;
        if state.current.first_lsn == first_lsn {
            return Ok(first_lsn - 1);
        }
        let Some(old_file) = state.file.take() else {
            return Err(self.stop(&mut state));
        };
        state.io_in_progress = true;
        let backend = self.backend.as_ref();
        let created =
            MutexGuard::unlocked(&mut state, || create_file(backend, &self.dir, first_lsn));
        state.io_in_progress = false;
        let result = match created {
            Ok((log_file, file)) => {
                let old = mem::replace(&mut state.current, log_file);
                state.older.push_back(old);
                state.file = Some(file);
                drop(old_file);
                Ok(first_lsn - 1)
            }
            Err(err) => {
                self.stop(&mut state);
                Err(err)
            }
        };
        self.round_done.notify_all();
        result
    }

    /// Deletes the older files all of whose records have an LSN at most `lsn`, oldest first
    /// (so a crash midway leaves a contiguous log). Never deletes the current file.
    pub fn remove_files_through(&self, lsn: u64) -> Result<()> {
        let _serial = self.remove_lock.lock();
        let doomed: Vec<String> = {
            let state = self.state.lock();
            if state.failed {
                return Err(fail_stopped(&state));
            }
            let mut doomed = Vec::new();
            for (index, file) in state.older.iter().enumerate() {
                let next_first =
                    state.older.get(index + 1).map_or(state.current.first_lsn, |f| f.first_lsn);
                if next_first.saturating_sub(1) > lsn {
                    break;
                }
                doomed.push(file.key.clone());
            }
            doomed
        };
        for key in doomed {
            self.backend.remove_file(&key)?;
            let mut state = self.state.lock();
            if state.older.front().is_some_and(|file| file.key == key) {
                state.older.pop_front();
            }
        }
        Ok(())
    }

    /// The directory key of the log.
    pub fn dir(&self) -> &str {
        &self.dir
    }

    /// The keys of the log files, oldest first; the last one is the current file.
    pub fn file_keys(&self) -> Vec<String> {
        let state = self.state.lock();
        state.older.iter().chain([&state.current]).map(|file| file.key.clone()).collect()
    }

    /// What [`Wal::open`] found and repaired.
    pub fn recovery_info(&self) -> &RecoveryInfo {
        &self.recovery
    }

    /// Waits, leading commit rounds as needed, until `lsn` is durable. Called with the mutex
    /// held.
    fn wait_locked(&self, state: &mut MutexGuard<'_, State>, lsn: u64) -> Result<()> {
        loop {
            if state.failed {
                return Err(fail_stopped(state));
            }
            if lsn <= self.durable_lsn() {
                return Ok(());
            }
            if lsn >= state.next_lsn {
                return Err(StorageError::LsnNotAssigned {
                    path: self.dir.clone(),
                    lsn,
                    last_lsn: state.next_lsn - 1,
                });
            }
            if state.io_in_progress {
                self.round_done.wait(state);
            } else {
                self.commit_round(state)?;
            }
        }
    }

    /// Leads one commit round: writes and syncs the whole pending buffer without the mutex.
    /// Called with the mutex held and no IO in progress.
    fn commit_round(&self, state: &mut MutexGuard<'_, State>) -> Result<()> {
        let Some(mut file) = state.file.take() else {
            return Err(self.stop(state));
        };
        let batch = mem::take(&mut state.pending);
        let target_lsn = state.next_lsn - 1;
        state.io_in_progress = true;
        let written = MutexGuard::unlocked(state, || {
            file.append(&batch)?;
            file.sync()
        });
        state.io_in_progress = false;
        state.file = Some(file);
        match &written {
            Ok(()) => {
                self.durable_lsn.store(target_lsn, Ordering::Release);
                if state.pending.is_empty() && batch.capacity() <= REUSE_BUFFER_MAX {
                    let mut batch = batch;
                    batch.clear();
                    state.pending = batch;
                }
            }
            Err(_) => {
                self.stop(state);
            }
        }
        self.round_done.notify_all();
        written
    }

    /// Marks the log failed and returns the error later callers get.
    fn stop(&self, state: &mut State) -> StorageError {
        state.failed = true;
        self.failed.store(true, Ordering::Release);
        fail_stopped(state)
    }
}

impl fmt::Debug for Wal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("durable_lsn", &self.durable_lsn())
            .field("failed", &self.is_failed())
            .finish_non_exhaustive()
    }
}

fn fail_stopped(state: &State) -> StorageError {
    StorageError::FailStopped { path: state.current.key.clone() }
}

#[cfg(test)]
mod tests;
