//! Resident memory of this process, from Linux's `/proc/self/status` (`VmHWM`, `VmRSS`).
//!
//! `VmHWM` is the peak since the process started, unless [`reset_peak`] (writing `5` to
//! `/proc/self/clear_refs`, Linux 4.0+) lowered it to the current resident size; then it is
//! the peak since that reset. On other systems these report nothing.

/// The peak resident set size in MiB (`VmHWM`).
pub(crate) fn peak_mib() -> Option<f64> {
    status_kib("VmHWM:").map(|kib| kib as f64 / 1024.0)
}

/// The current resident set size in MiB (`VmRSS`).
pub(crate) fn current_mib() -> Option<f64> {
    status_kib("VmRSS:").map(|kib| kib as f64 / 1024.0)
}

/// Resets the peak to the current resident size; false when the kernel refused.
pub(crate) fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// Formats an optional MiB figure for a report line (`na` when unknown).
pub(crate) fn fmt_mib(mib: Option<f64>) -> String {
    mib.map_or_else(|| "na".to_owned(), |mib| format!("{mib:.0}"))
}
