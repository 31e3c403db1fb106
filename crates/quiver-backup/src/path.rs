//! The paths a manifest may hold: relative, `/`-separated, each component of
//! `[A-Za-z0-9._-]` and neither `.` nor `..`, bounded in length and depth. Everything a
//! restore writes is `target/` joined with such a path, so it cannot leave the target.

use crate::error::{BackupError, Result};

/// Longest path, in bytes.
pub const MAX_PATH_LEN: usize = 512;
/// Most components of a path.
pub const MAX_DEPTH: usize = 16;

/// Checks `path` against the rules of the module documentation.
pub fn validate(path: &str) -> Result<()> {
    let refuse = |reason| Err(BackupError::UnsafePath { path: path.to_owned(), reason });
    if path.is_empty() {
        return refuse("empty");
    }
    if path.len() > MAX_PATH_LEN {
        return refuse("longer than 512 bytes");
    }
    if path.starts_with('/') {
        return refuse("absolute");
    }
    if path.contains('\\') {
        return refuse("contains a backslash");
    }
    let mut depth = 0;
    for component in path.split('/') {
        depth += 1;
        if depth > MAX_DEPTH {
            return refuse("more than 16 components");
        }
        if component.is_empty() {
            return refuse("empty component (`//` or a trailing `/`)");
        }
        if component == "." || component == ".." {
            return refuse("`.` or `..` component");
        }
        if !component.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return refuse("characters outside [A-Za-z0-9._-]");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn only_plain_relative_paths_are_accepted() {
        for good in ["catalog.qvc", "collections/7/wal/00000000000000000001.wal", "a-b_c.d"] {
            validate(good).unwrap();
        }
        for bad in
            ["", "/etc/passwd", "../x", "a/../b", "a//b", "a/", "./a", "a\\b", "a/b c", "ä", "a\0b"]
        {
            assert!(validate(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(validate(&["a"; 16].join("/")).is_ok());
        assert!(validate(&["a"; 17].join("/")).is_err());
        assert!(validate(&"a".repeat(513)).is_err());
    }
}
