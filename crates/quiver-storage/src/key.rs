//! Validation of backend keys: the relative, `/`-separated names under a backend root.
//!
//! Keys look like object-store keys (`collections/7/wal/00000000000000000001.wal`). A key that
//! could name anything outside the root (absolute, `..`, a drive prefix), or that different
//! platforms would read differently (backslashes, `.` components, empty components, NUL), is
//! rejected with [`StorageError::InvalidKey`] before any file-system call is made.

use std::path::{Component, Path};

use crate::error::{Result, StorageError};

/// The longest key accepted, in bytes; far above any key the engine builds.
pub const MAX_KEY_LEN: usize = 1024;

/// Checks that `key` is a safe relative key; see the module documentation for the rules.
pub fn validate_key(key: &str) -> Result<()> {
    let reject =
        |reason: &'static str| Err(StorageError::InvalidKey { key: key.to_owned(), reason });
    if key.is_empty() {
        return reject("key is empty");
    }
    if key.len() > MAX_KEY_LEN {
        return reject("key is longer than 1024 bytes");
    }
    if key.starts_with('/') {
        return reject("key is absolute");
    }
    if key.contains('\\') {
        return reject("key contains a backslash");
    }
    if key.contains('\0') {
        return reject("key contains a NUL byte");
    }
    for component in key.split('/') {
        match component {
            "" => return reject("key has an empty component"),
            "." => return reject("key has a '.' component"),
            ".." => return reject("key has a '..' component"),
            _ => {}
        }
    }
    // Belt and braces: the platform's own parser must see only plain names (this rejects, for
    // example, a Windows drive prefix such as `C:`).
    let all_normal =
        Path::new(key).components().all(|component| matches!(component, Component::Normal(_)));
    if !all_normal {
        return reject("key is not a plain relative path on this platform");
    }
    Ok(())
}

/// The parent key of `key`, or `None` for a key directly under the root.
pub(crate) fn parent_key(key: &str) -> Option<&str> {
    key.rsplit_once('/').map(|(parent, _)| parent)
}

#[cfg(test)]
mod tests;
