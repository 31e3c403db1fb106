//! Quotas on what the server holds: a cap on the size of the data directory ([`DataQuota`])
//! and on the server process's resident memory ([`MemoryQuota`]). Over either, inserts and
//! upserts are refused (Milvus code 9 "quota exceeded", legacy `DiskQuotaExhausted` 54 or
//! `MemoryQuotaExhausted` 53; pymilvus does not retry it) while reads, deletes, flushes and
//! compactions go on, so the application or the operator can free space through the API.
//!
//! The memory figure is the process's resident set (`VmRSS` of `/proc/self/status`), read on
//! each check (a few microseconds); where that file does not exist (not Linux) a memory quota
//! cannot be configured.
//!
//! The size is the sum of the lengths of the regular files under the directory (symbolic
//! links are not followed), measured by a walk on the calling (blocking) thread at most once
//! per refresh period ([`DEFAULT_REFRESH`]); there is no background task. Between walks the
//! last figure counts, so the directory can exceed the cap by what the write rate limits let
//! through in one period: leave that margin when choosing the cap. One caller walks at a time;
//! the others use the last figure meanwhile.
//!
//! Free space on the file system is not checked: the standard library cannot read it without
//! `unsafe` code or a new dependency.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How old the measured size may be before a write measures again.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(10);

/// The cap on a data directory's size; see the module documentation.
#[derive(Debug)]
pub struct DataQuota {
    dir: PathBuf,
    max_bytes: u64,
    refresh: Duration,
    measured: Mutex<Measured>,
    measuring: AtomicBool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Measured {
    at: Option<Instant>,
    bytes: u64,
}

/// Which quota refused a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaKind {
    Disk,
    Memory,
}

/// A write refused by a quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub kind: QuotaKind,
    /// The data directory's size, or the process's resident memory, at the last measurement.
    pub used_bytes: u64,
    pub max_bytes: u64,
}

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (used, max) = (self.used_bytes, self.max_bytes);
        match self.kind {
            QuotaKind::Disk => write!(
                f,
                "disk quota exceeded: the data directory holds {used} bytes, more than the {max} \
                 allowed (limits.max_data_bytes); inserts and upserts are refused until data is \
                 deleted (and compacted) or the quota is raised"
            ),
            QuotaKind::Memory => write!(
                f,
                "memory quota exceeded: the server uses {used} bytes of memory, more than the \
                 {max} allowed (limits.max_memory_bytes); inserts and upserts are refused until \
                 collections are released or dropped, or the quota is raised"
            ),
        }
    }
}

/// The cap on the server process's resident memory; see the module documentation.
#[derive(Debug)]
pub struct MemoryQuota {
    max_bytes: u64,
    /// Where the resident set is read (`/proc/self/status`; a test file in tests).
    status_file: PathBuf,
}

/// The file the resident set is read from.
const PROC_STATUS: &str = "/proc/self/status";

impl MemoryQuota {
    /// At most `max_bytes` resident; refused where the resident set cannot be read.
    pub fn new(max_bytes: u64) -> Result<MemoryQuota, String> {
        MemoryQuota::reading(max_bytes, PathBuf::from(PROC_STATUS))
    }

    fn reading(max_bytes: u64, status_file: PathBuf) -> Result<MemoryQuota, String> {
        let quota = MemoryQuota { max_bytes, status_file };
        quota.resident_bytes().map(|_| quota).ok_or_else(|| {
            format!(
                "a memory quota needs the resident set size from {}, which cannot be read here",
                PROC_STATUS
            )
        })
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The process's resident memory now, if it can be read.
    pub fn resident_bytes(&self) -> Option<u64> {
        let status = fs::read_to_string(&self.status_file).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
        let mut words = line["VmRSS:".len()..].split_whitespace();
        let value: u64 = words.next()?.parse().ok()?;
        match words.next()? {
            "kB" => value.checked_mul(1024),
            _ => None,
        }
    }

    /// Refuses a write that would add data while the process is over the cap. A figure that
    /// cannot be read (it could at start) refuses too: the quota fails closed.
    pub fn check(&self) -> Result<(), QuotaExceeded> {
        let used_bytes = self.resident_bytes().unwrap_or(u64::MAX);
        if used_bytes > self.max_bytes {
            return Err(QuotaExceeded {
                kind: QuotaKind::Memory,
                used_bytes,
                max_bytes: self.max_bytes,
            });
        }
        Ok(())
    }
}

impl DataQuota {
    /// At most `max_bytes` in `dir` (the server's data directory).
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> DataQuota {
        DataQuota {
            dir: dir.into(),
            max_bytes,
            refresh: DEFAULT_REFRESH,
            measured: Mutex::new(Measured::default()),
            measuring: AtomicBool::new(false),
        }
    }

    /// Measures again when the last figure is older than `refresh`.
    pub fn with_refresh(mut self, refresh: Duration) -> DataQuota {
        self.refresh = refresh;
        self
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The last measured size, if any (for metrics).
    pub fn measured_bytes(&self) -> Option<u64> {
        let measured = *self.measured.lock();
        measured.at.map(|_| measured.bytes)
    }

    /// Refuses a write that would add data while the directory is over the cap; measures
    /// first when the last figure is older than the refresh period. May walk the directory:
    /// call it from a blocking thread.
    pub fn check(&self, now: Instant) -> Result<(), QuotaExceeded> {
        let last = *self.measured.lock();
        let stale = last.at.is_none_or(|at| now.saturating_duration_since(at) >= self.refresh);
        let used_bytes = if stale && !self.measuring.swap(true, Ordering::AcqRel) {
            let bytes = directory_size(&self.dir);
            *self.measured.lock() = Measured { at: Some(now), bytes };
            self.measuring.store(false, Ordering::Release);
            bytes
        } else {
            // Fresh, or another caller is measuring: the last figure (none yet counts as 0).
            last.bytes
        };
        if used_bytes > self.max_bytes {
            return Err(QuotaExceeded {
                kind: QuotaKind::Disk,
                used_bytes,
                max_bytes: self.max_bytes,
            });
        }
        Ok(())
    }
}

/// The total length of the regular files under `dir`, without following symbolic links.
/// Entries that vanish or cannot be read while walking (a compaction deleting files) are
/// skipped.
fn directory_size(dir: &Path) -> u64 {
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            // `DirEntry::file_type` and `metadata` do not follow symbolic links.
            let Ok(file_type) = entry.file_type() else { continue };
            if file_type.is_dir() {
                pending.push(entry.path());
            } else if file_type.is_file()
                && let Ok(metadata) = entry.metadata()
            {
                total = total.saturating_add(metadata.len());
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_quota_reads_the_resident_set_and_refuses_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let status = dir.path().join("status");
        let with_rss = |kb: u64| {
            fs::write(&status, format!("Name:\tquiver\nVmPeak:\t 999999 kB\nVmRSS:\t {kb} kB\n"))
                .unwrap()
        };
        with_rss(1000);
        let quota = MemoryQuota::reading(1000 * 1024, status.clone()).unwrap();
        assert_eq!(quota.resident_bytes(), Some(1000 * 1024));
        assert!(quota.check().is_ok(), "at the quota");
        with_rss(1001);
        let refused = quota.check().unwrap_err();
        assert_eq!(refused.kind, QuotaKind::Memory);
        assert_eq!((refused.used_bytes, refused.max_bytes), (1001 * 1024, 1000 * 1024));
        assert!(refused.to_string().contains("limits.max_memory_bytes"), "{refused}");
        // Unreadable after start: refused (fail closed); unreadable at start: not configurable.
        fs::write(&status, "Name:\tquiver\n").unwrap();
        assert!(quota.check().is_err());
        assert!(MemoryQuota::reading(1 << 30, status).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_readable_resident_set() {
        let quota = MemoryQuota::new(u64::MAX).unwrap();
        let rss = quota.resident_bytes().unwrap();
        assert!(rss > 1 << 20, "{rss}");
        assert!(quota.check().is_ok());
        assert!(MemoryQuota::new(1).unwrap().check().is_err());
    }

    fn write(path: &Path, len: usize) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, vec![0u8; len]).unwrap();
    }

    #[test]
    fn counts_regular_files_in_every_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("catalog.qvc"), 100);
        write(&dir.path().join("collections/1/wal/1.wal"), 1000);
        write(&dir.path().join("collections/1/segments/2.qvs"), 10_000);
        fs::create_dir_all(dir.path().join("empty")).unwrap();
        assert_eq!(directory_size(dir.path()), 11_100);
        assert_eq!(directory_size(&dir.path().join("missing")), 0);
    }

    #[test]
    fn symbolic_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        write(&outside.path().join("big"), 50_000);
        write(&dir.path().join("data"), 10);
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link-dir")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("big"), dir.path().join("link-file"))
            .unwrap();
        assert_eq!(directory_size(dir.path()), 10);
    }

    #[test]
    fn writes_are_refused_over_the_cap_until_data_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        let quota = DataQuota::new(dir.path(), 1_000).with_refresh(Duration::from_secs(10));
        let t0 = Instant::now();
        write(&dir.path().join("a"), 1_000);
        quota.check(t0).unwrap(); // at the cap is not over it
        assert_eq!(quota.measured_bytes(), Some(1_000));
        write(&dir.path().join("b"), 1);
        // The figure is fresh for 10 s: the growth is seen at the next measurement only.
        quota.check(t0 + Duration::from_secs(9)).unwrap();
        let refused = quota.check(t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(
            refused,
            QuotaExceeded { kind: QuotaKind::Disk, used_bytes: 1_001, max_bytes: 1_000 }
        );
        assert!(refused.to_string().starts_with("disk quota exceeded"), "{refused}");
        fs::remove_file(dir.path().join("b")).unwrap();
        quota.check(t0 + Duration::from_secs(15)).unwrap_err();
        quota.check(t0 + Duration::from_secs(20)).unwrap();
    }

    #[test]
    fn a_caller_that_finds_a_measurement_running_uses_the_last_figure() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("a"), 10);
        let quota = DataQuota::new(dir.path(), 5);
        quota.measuring.store(true, Ordering::Release);
        // Nothing measured yet and someone else is measuring: 0 bytes count.
        quota.check(Instant::now()).unwrap();
        assert_eq!(quota.measured_bytes(), None);
        quota.measuring.store(false, Ordering::Release);
        quota.check(Instant::now()).unwrap_err();
    }
}
