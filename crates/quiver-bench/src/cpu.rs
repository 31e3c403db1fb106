//! CPU time of this process (user + system, all threads), from Linux's `/proc/self/stat`.
//!
//! Wall-clock rates move with whatever else the machine runs; CPU time spent by this process
//! moves much less, so a benchmark comparing two code paths on a shared machine reports both.
//! The kernel counts in clock ticks of `USER_HZ`, which is 100 on every Linux configuration
//! we know of (it is part of the user-space ABI): a resolution of 10 ms. On other systems
//! this reports nothing.

/// Clock ticks per second of `/proc/self/stat`'s times.
const USER_HZ: f64 = 100.0;

/// Seconds of CPU this process has used so far (user + system).
pub(crate) fn seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: fields count from
    // the last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}
