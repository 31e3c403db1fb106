//! What the benchmarks look at on disk: fresh directories, and the bytes and files a
//! collection left under its data directory (`collections/<id>/wal`, `.../segments`; see
//! ARCHITECTURE.md).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Removes `path` if it exists and returns it, so a run never sees a previous run's files.
pub(crate) fn fresh_dir(path: &Path) -> anyhow::Result<PathBuf> {
    match fs::remove_dir_all(path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("removing {}", path.display())),
    }
    Ok(path.to_path_buf())
}

/// Removes `path` and everything in it.
pub(crate) fn remove(path: &Path) -> anyhow::Result<()> {
    fresh_dir(path).map(|_| ())
}

/// The directory of a collection's files.
pub(crate) fn collection_dir(data_dir: &Path, collection_id: u64) -> PathBuf {
    data_dir.join("collections").join(collection_id.to_string())
}

/// The number of files directly in `dir` and their total size in bytes (0, 0 when missing).
pub(crate) fn files_in(dir: &Path) -> anyhow::Result<(usize, u64)> {
    let sizes = file_sizes(dir)?;
    Ok((sizes.len(), sizes.iter().sum()))
}

/// The size in bytes of each file directly in `dir` (none when missing).
pub(crate) fn file_sizes(dir: &Path) -> anyhow::Result<Vec<u64>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("listing {}", dir.display())),
    };
    let mut sizes = Vec::new();
    for entry in entries {
        let meta = entry?.metadata()?;
        if meta.is_file() {
            sizes.push(meta.len());
        }
    }
    Ok(sizes)
}

/// Formats a byte count in MiB for a report line.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / (1024.0 * 1024.0))
}
