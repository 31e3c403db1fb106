//! Where a backup is: a local directory or `s3://bucket/prefix` in an object store.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{BackupError, Result};
use crate::path;

/// The scheme of a backup kept in S3 (or an S3-compatible store).
pub const S3_SCHEME: &str = "s3://";

/// Where a backup is written or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Local(PathBuf),
    /// Keys under `prefix/` in an S3 bucket (see [`S3Location`]).
    S3(S3Location),
}

/// `s3://bucket/prefix`: the backup's objects are `prefix/manifest.json`, `prefix/manifest.sig`
/// and `prefix/data/...`. Credentials, region and endpoint come from the standard AWS
/// environment variables (see the crate's `object` module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket name.
    pub bucket: String,
    /// The key prefix, without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

impl Location {
    /// `s3://bucket/prefix` is an [`S3Location`]; anything else is a local path.
    pub fn parse(text: &Path) -> Result<Location> {
        let Some(rest) = text.to_str().and_then(|t| t.strip_prefix(S3_SCHEME)) else {
            return Ok(Location::Local(text.to_path_buf()));
        };
        let invalid = |reason: &str| {
            Err(BackupError::Location {
                location: text.display().to_string(),
                reason: reason.to_owned(),
            })
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            return invalid("the bucket name must be 3 to 63 of [a-z0-9.-]");
        }
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() && path::validate(prefix).is_err() {
            return invalid(
                "the prefix must be `/`-separated names of [A-Za-z0-9._-], no `.` or `..`",
            );
        }
        Ok(Location::S3(S3Location { bucket: bucket.to_owned(), prefix: prefix.to_owned() }))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::S3(s3) => write!(f, "{s3}"),
        }
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{S3_SCHEME}{}/{}", self.bucket, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_locations_are_parsed_and_bad_ones_refused() {
        let parsed = Location::parse(Path::new("s3://my-bucket/backups/2026/")).unwrap();
        let want = S3Location { bucket: "my-bucket".into(), prefix: "backups/2026".into() };
        assert_eq!(parsed, Location::S3(want));
        let root = Location::parse(Path::new("s3://bucket")).unwrap();
        assert_eq!(
            root,
            Location::S3(S3Location { bucket: "bucket".into(), prefix: String::new() })
        );
        assert_eq!(Location::parse(Path::new("/tmp/b")).unwrap(), Location::Local("/tmp/b".into()));
        for bad in [
            "s3://",
            "s3://B/x",
            "s3://b/x",
            "s3://bucket/../x",
            "s3://bucket/a//b",
            "s3://bucket/a b",
        ] {
            assert!(Location::parse(Path::new(bad)).is_err(), "{bad} must be refused");
        }
    }
}
