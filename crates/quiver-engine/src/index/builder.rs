//! The background index builder: a queue of (collection, segment) jobs, served by one thread
//! per database that builds each index with every core.
//!
//! Sealing, compaction, index creation and recovery push jobs; the builder attaches what it
//! builds to the segment if the segment and the index definition still exist by then.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Condvar, Mutex};

/// Build the indexes of one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Job {
    pub(crate) collection: u64,
    pub(crate) segment: u64,
}

#[derive(Debug, Default)]
pub(crate) struct BuildQueue {
    jobs: Mutex<VecDeque<Job>>,
    wake: Condvar,
    stopped: AtomicBool,
}

impl BuildQueue {
    /// Queues the segments of a collection; a segment already queued is not queued twice.
    pub(crate) fn push(&self, collection: u64, segments: &[u64]) {
        if segments.is_empty() {
            return;
        }
        let mut jobs = self.jobs.lock();
        for &segment in segments {
            let job = Job { collection, segment };
            if !jobs.contains(&job) {
                jobs.push_back(job);
            }
        }
        drop(jobs);
        self.wake.notify_all();
    }

    /// The next job, waiting for one; `None` once the queue is stopped.
    pub(crate) fn pop(&self) -> Option<Job> {
        let mut jobs = self.jobs.lock();
        loop {
            if self.stopped.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(job) = jobs.pop_front() {
                return Some(job);
            }
            self.wake.wait(&mut jobs);
        }
    }

    /// Wakes the builder and makes it exit after its current job.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _jobs = self.jobs.lock();
        self.wake.notify_all();
    }
}
