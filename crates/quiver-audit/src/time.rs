//! Timestamps of records: RFC 3339 in UTC with milliseconds, `2025-01-31T23:59:59.123Z`.
//!
//! Written here rather than taken from `chrono` or `time`: the log needs one fixed-width
//! format (so timestamps also sort as text) and its exact inverse, about sixty lines with the
//! day/date conversion of Howard Hinnant's `civil_from_days`, against a date library and its
//! dependencies. Only years 1970 to 9999 are representable; the clock is clamped into that
//! range (a clock before 1970 is wrong anyway, and a record must still be written).

use std::time::{SystemTime, UNIX_EPOCH};

/// The length of every formatted timestamp, in bytes.
pub(crate) const TIMESTAMP_LEN: usize = 24;

/// The last millisecond of the year 9999, the latest representable instant.
const MAX_UNIX_MS: u64 = 253_402_300_799_999;

const MS_PER_DAY: u64 = 86_400_000;

/// Milliseconds since the Unix epoch now, clamped to the representable range.
pub(crate) fn now_unix_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(MAX_UNIX_MS).min(MAX_UNIX_MS)
}

/// Formats `unix_ms` (clamped to year 9999) as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_timestamp(unix_ms: u64) -> String {
    let unix_ms = unix_ms.min(MAX_UNIX_MS);
    let days = unix_ms / MS_PER_DAY;
    let in_day = unix_ms % MS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (second, milli) = (in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// Parses exactly the form [`format_timestamp`] writes; `None` for anything else (another
/// offset, missing milliseconds, a day that does not exist, a leap second).
pub fn parse_timestamp(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() != TIMESTAMP_LEN {
        return None;
    }
    for (idx, expected) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.')] {
        if bytes[idx] != expected {
            return None;
        }
    }
    if bytes[23] != b'Z' {
        return None;
    }
    let year = digits(bytes, 0, 4)?;
    let month = digits(bytes, 5, 2)?;
    let day = digits(bytes, 8, 2)?;
    let hour = digits(bytes, 11, 2)?;
    let minute = digits(bytes, 14, 2)?;
    let second = digits(bytes, 17, 2)?;
    let milli = digits(bytes, 20, 3)?;
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || hour > 23 || minute > 59 {
        return None;
    }
    if second > 59 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * MS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000 + milli)
}

fn digits(bytes: &[u8], start: usize, len: usize) -> Option<u64> {
    let mut value = 0u64;
    for &byte in bytes.get(start..start + len)? {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(byte - b'0');
    }
    Some(value)
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) of the day `days` after 1970-01-01 (Hinnant's algorithm, restricted to
/// dates after the epoch so every quantity is unsigned).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil_from_days`], for a valid date in 1970 or later.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests;
