//! The data directory's layout as tools beside the engine see it (backups): which paths hold
//! what, and how the engine changes each kind of file. The engine's own code names the same
//! files (`catalog.rs`, `collection/`, the storage layer's keyring and log); this module is
//! the one place that states the rules a copy taken while the engine runs relies on:
//!
//! * [`FileKind::Replaced`]: replaced atomically (written to `NAME.tmp`, fsynced, renamed over
//!   `NAME`): a reader sees the old or the new whole file;
//! * [`FileKind::Immutable`]: written once under a new name, never changed, removed only
//!   after a new manifest stopped referencing it;
//! * [`FileKind::AppendOnly`]: the write-ahead log; only the last file grows, a torn tail is
//!   cut off at the next open;
//! * [`NOT_DATA`]: files and directories that belong to the running process or to other
//!   tools (the lock, TLS material, the initial password, the audit log), never data.
//!
//! Every manifest change writes new files first, swaps the manifest, then deletes what it no
//! longer references; files a crash orphaned (and `*.tmp` leftovers) are removed at the next
//! open.

/// The catalog of databases and collections (replaced atomically).
pub const CATALOG: &str = "catalog.qvc";
/// The keyring of wrapped data keys (replaced atomically).
pub const KEYRING: &str = quiver_storage::KEYRING_KEY;
/// The security store: users, roles, grants (replaced atomically).
pub const SECURITY_STORE: &str = "security.qvs";
/// The directory holding one directory per collection, named by its numeric id.
pub const COLLECTIONS_DIR: &str = "collections";
/// A collection's manifest, relative to its directory (replaced atomically): the list of its
/// sealed segments and the log checkpoint. Its bytes change with every change of the list
/// (an encrypted rewrite always changes them: each write draws a new salt).
pub const MANIFEST: &str = "MANIFEST";
/// A collection's schema file, relative to its directory (written once).
pub const SCHEMA: &str = "schema.qvm";
/// A collection's segment and index files, relative to its directory (immutable).
pub const SEGMENTS_DIR: &str = "segments";
/// A collection's write-ahead log files, relative to its directory (append-only), named by
/// the zero-padded LSN of their first record: name order is log order.
pub const WAL_DIR: &str = "wal";
/// The suffix of the temporary file of an atomic replace; such files are never data.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Top-level entries of a data directory that are not data: the lock file, the TLS
/// material, the generated initial root password and the audit log (which has its own key
/// and its own verification).
pub const NOT_DATA: &[&str] = &["LOCK", "tls", "initial-root-password", "audit"];

/// How the engine changes a file; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Replaced atomically by rename.
    Replaced,
    /// Written once, never changed.
    Immutable,
    /// The write-ahead log: appended to.
    AppendOnly,
}

/// The kind of the data file at the relative `/`-separated `path`; `None` for paths that are
/// not data (see [`NOT_DATA`], temporary files).
pub fn kind_of(path: &str) -> Option<FileKind> {
    let first = path.split('/').next().unwrap_or(path);
    if NOT_DATA.contains(&first) || path.ends_with(TEMP_SUFFIX) {
        return None;
    }
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [COLLECTIONS_DIR, _, name] if *name == MANIFEST => Some(FileKind::Replaced),
        [COLLECTIONS_DIR, _, WAL_DIR, _] => Some(FileKind::AppendOnly),
        [COLLECTIONS_DIR, ..] => Some(FileKind::Immutable),
        _ => Some(FileKind::Replaced),
    }
}

/// The collection id of a name under [`COLLECTIONS_DIR`], if it is one (decimal digits).
pub fn collection_id(name: &str) -> Option<u64> {
    if name.is_empty() || name.len() > 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_classified_by_how_the_engine_changes_them() {
        assert_eq!(kind_of("catalog.qvc"), Some(FileKind::Replaced));
        assert_eq!(kind_of("keyring.qvk"), Some(FileKind::Replaced));
        assert_eq!(kind_of("collections/7/MANIFEST"), Some(FileKind::Replaced));
        assert_eq!(kind_of("collections/7/schema.qvm"), Some(FileKind::Immutable));
        assert_eq!(
            kind_of("collections/7/segments/00000000000000000001.qvs"),
            Some(FileKind::Immutable)
        );
        assert_eq!(
            kind_of("collections/7/wal/00000000000000000001.wal"),
            Some(FileKind::AppendOnly)
        );
        assert_eq!(kind_of("LOCK"), None);
        assert_eq!(kind_of("audit/00000000000000000000.log"), None);
        assert_eq!(kind_of("tls/server.key"), None);
        assert_eq!(kind_of("collections/7/MANIFEST.tmp"), None);
        assert_eq!(collection_id("42"), Some(42));
        assert_eq!(collection_id("x"), None);
    }
}
