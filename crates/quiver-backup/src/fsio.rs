//! File operations shared by create, verify and restore: opening a file only if it is a
//! regular file with one link (never following a symbolic link), copying while hashing,
//! creating files that must not exist, and making files and directories durable.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{BackupError, Result};
use crate::progress::Progress;

/// Size of the copy buffer.
const CHUNK: usize = 1 << 20;

/// What a file of unexpected type is, or `None` for a regular file with one link or a
/// directory.
pub(crate) fn special_kind(meta: &Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        Some("symbolic link")
    } else if kind.is_block_device() || kind.is_char_device() {
        Some("device file")
    } else if kind.is_fifo() {
        Some("fifo")
    } else if kind.is_socket() {
        Some("socket")
    } else if kind.is_file() && meta.nlink() > 1 {
        Some("hard link (a file with more than one name)")
    } else if kind.is_file() || kind.is_dir() {
        None
    } else {
        Some("special file")
    }
}

/// `symlink_metadata` of `path`, refusing anything but a regular file (with one link) or a
/// directory; `shown` names it in errors.
pub(crate) fn lstat_plain(path: &Path, shown: &str) -> Result<Metadata> {
    let meta = fs::symlink_metadata(path).map_err(|e| BackupError::io("stat", shown, e))?;
    if let Some(what) = special_kind(&meta) {
        return Err(BackupError::SpecialFile { path: shown.to_owned(), what });
    }
    Ok(meta)
}

/// Opens the regular file at `path` for reading, refusing a symbolic link, a hard link and
/// anything not a regular file, and a file swapped between the check and the open (the
/// opened file must be the one checked: same device and inode).
pub(crate) fn open_plain(path: &Path, shown: &str) -> Result<File> {
    let meta = lstat_plain(path, shown)?;
    if !meta.is_file() {
        return Err(BackupError::SpecialFile { path: shown.to_owned(), what: "directory" });
    }
    let file = open_no_follow(path).map_err(|e| BackupError::io("open", shown, e))?;
    let opened = file.metadata().map_err(|e| BackupError::io("stat", shown, e))?;
    if opened.dev() != meta.dev() || opened.ino() != meta.ino() || !opened.is_file() {
        return Err(BackupError::SpecialFile {
            path: shown.to_owned(),
            what: "file replaced while it was opened (a symbolic link race?)",
        });
    }
    Ok(file)
}

/// Opens `path` for reading without following a symbolic link in its last component and
/// without blocking: a fifo swapped in after the check opens at once (and is then refused as
/// not the file checked) instead of waiting for a writer. `O_NONBLOCK` changes nothing for
/// reads of a regular file.
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)
}

/// Creates `path`, which must not exist (mode 0600).
pub(crate) fn create_new(path: &Path, shown: &str) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| BackupError::io("create", shown, e))
}

/// Copies everything `from` holds into `to` (when given), returning the size and BLAKE3
/// hash of the bytes; `shown` names the source in errors. Reads at most `limit` bytes plus
/// one, so a source longer than `limit` is seen as longer without being read whole.
pub(crate) fn copy_hashed(
    from: &mut dyn Read,
    mut to: Option<(&mut dyn Write, &str)>,
    shown: &str,
    limit: u64,
    progress: &mut dyn Progress,
) -> Result<(u64, blake3::Hash)> {
    let mut from = from.take(limit.saturating_add(1));
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size: u64 = 0;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BackupError::io("read", shown, e)),
        };
        let chunk = &buf[..n];
        hasher.update(chunk);
        if let Some((file, name)) = to.as_mut() {
            file.write_all(chunk).map_err(|e| BackupError::io("write", *name, e))?;
        }
        size += n as u64;
        progress.advance(n as u64);
    }
    Ok((size, hasher.finalize()))
}

/// Writes `bytes` to the new file `path` and fsyncs it.
pub(crate) fn write_new(path: &Path, shown: &str, bytes: &[u8]) -> Result<()> {
    let mut file = create_new(path, shown)?;
    file.write_all(bytes).map_err(|e| BackupError::io("write", shown, e))?;
    file.sync_all().map_err(|e| BackupError::io("fsync", shown, e))
}

/// Fsyncs the directory `path`, so that the entries created in it are durable.
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| BackupError::io("fsync directory", path.display(), e))
}

/// Reads at most `limit` bytes of the regular file `path`; a longer file is
/// [`BackupError::TooLarge`].
pub(crate) fn read_bounded(
    path: &Path,
    shown: &str,
    what: &'static str,
    limit: u64,
) -> Result<Vec<u8>> {
    let file = open_plain(path, shown)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| BackupError::io("read", shown, e))?;
    if bytes.len() as u64 > limit {
        return Err(BackupError::TooLarge { path: shown.to_owned(), what, limit });
    }
    Ok(bytes)
}

/// Checks that `path` does not exist or is an empty directory (not a symbolic link), and
/// makes it an existing empty directory (created with mode 0700). Returns whether it was
/// created here.
pub(crate) fn prepare_empty_dir(path: &Path) -> Result<bool> {
    let shown = path.display().to_string();
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let mut entries = fs::read_dir(path).map_err(|e| BackupError::io("list", &shown, e))?;
            if entries.next().is_some() {
                return Err(BackupError::TargetNotEmpty { path: shown });
            }
            Ok(false)
        }
        Ok(_) => Err(BackupError::TargetNotEmpty { path: shown }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Private, as `serve` requires of a data directory.
            fs::DirBuilder::new()
                .mode(0o700)
                .create(path)
                .map_err(|e| BackupError::io("create directory", &shown, e))?;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
            Ok(true)
        }
        Err(e) => Err(BackupError::io("stat", shown, e)),
    }
}

/// Undoes [`prepare_empty_dir`] after a failure: removes what was written (never following
/// symbolic links) and the directory itself when it was created here. Best effort.
pub(crate) fn clean_up(path: &Path, created: bool) {
    if created {
        let _ = fs::remove_dir_all(path);
        return;
    }
    if let Ok(entries) = fs::read_dir(path) {
        for entry in entries.flatten() {
            let child = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => {
                    let _ = fs::remove_dir_all(&child);
                }
                _ => {
                    let _ = fs::remove_file(&child);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_open_after_the_check_neither_follows_a_link_nor_waits_on_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("swapped-in");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        // What the open meets when a fifo replaced the file between lstat and open: a plain
        // open would wait for a writer for ever.
        let (sender, receiver) = mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let kind = open_no_follow(&path).and_then(|f| f.metadata()).map(|m| m.file_type());
            let _ = sender.send(kind.is_ok_and(|k| k.is_fifo()));
        });
        let opened = receiver.recv_timeout(Duration::from_secs(10)).expect("the open blocked");
        assert!(opened, "the fifo was not opened as itself");

        let target = dir.path().join("target");
        fs::write(&target, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(open_no_follow(&link).is_err(), "a symbolic link was followed");
        assert!(open_no_follow(&target).is_ok());
    }
}
