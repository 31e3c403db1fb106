//! [`LocalBackend`]: a [`Backend`] over a directory of the local file system, using std only.
//!
//! Every key is validated before it is joined to the root, so nothing outside the root is ever
//! touched (symbolic links placed inside the root by someone else are not guarded against).
//! Directories are fsynced by opening them and calling `sync_all`, which is what makes a newly
//! created, renamed or removed directory entry durable on Linux.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::backend::{AppendFile, Backend};
use crate::error::{Result, StorageError};
use crate::key::{parent_key, validate_key};

/// A backend storing each key as a file under `root`.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    /// Opens the backend rooted at `root`, creating the directory if it is missing.
    pub fn new(root: PathBuf) -> Result<LocalBackend> {
        fs::create_dir_all(&root).map_err(|source| {
            StorageError::io("create root", &root.display().to_string(), source)
        })?;
        Ok(LocalBackend { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    /// Fsyncs the directory holding `key` (the root for a top-level key).
    fn sync_parent(&self, key: &str) -> Result<()> {
        match parent_key(key) {
            Some(parent) => sync_dir(&self.root.join(parent), parent),
            None => sync_dir(&self.root, "."),
        }
    }
}

impl Backend for LocalBackend {
    fn read(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        fs::read(&path).map_err(|source| StorageError::io("read", key, source))
    }

    fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        path.try_exists().map_err(|source| StorageError::io("stat", key, source))
    }

    fn list(&self, dir: &str) -> Result<Vec<String>> {
        let path = self.path(dir)?;
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(source) if source.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StorageError::io("list", dir, source)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StorageError::io("list", dir, source))?;
            let name =
                entry.file_name().into_string().map_err(|name| StorageError::InvalidKey {
                    key: format!("{dir}/{}", name.to_string_lossy()),
                    reason: "file name is not UTF-8",
                })?;
            names.push(name);
        }
        names.sort();
        Ok(names)
    }

    fn create_dir_all(&self, dir: &str) -> Result<()> {
        validate_key(dir)?;
        let mut current = self.root.clone();
        let mut current_key = String::new();
        for component in dir.split('/') {
            let parent = current.clone();
            let parent_key =
                if current_key.is_empty() { ".".to_owned() } else { current_key.clone() };
            current.push(component);
            if !current_key.is_empty() {
                current_key.push('/');
            }
            current_key.push_str(component);
            match fs::create_dir(&current) {
                Ok(()) => sync_dir(&parent, &parent_key)?,
                Err(source) if source.kind() == io::ErrorKind::AlreadyExists => {
                    if !current.is_dir() {
                        return Err(StorageError::io("create dir", &current_key, source));
                    }
                }
                Err(source) => return Err(StorageError::io("create dir", &current_key, source)),
            }
        }
        Ok(())
    }

    fn write_new(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(key)?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| StorageError::io("create", key, source))?;
        file.write_all(bytes).map_err(|source| StorageError::io("write", key, source))?;
        file.sync_all().map_err(|source| StorageError::io("fsync", key, source))?;
        self.sync_parent(key)
    }

    fn write_atomic(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(key)?;
        let tmp_key = format!("{key}.tmp");
        let tmp_path = self.path(&tmp_key)?;
        let mut file = File::create(&tmp_path)
            .map_err(|source| StorageError::io("create", &tmp_key, source))?;
        file.write_all(bytes).map_err(|source| StorageError::io("write", &tmp_key, source))?;
        file.sync_all().map_err(|source| StorageError::io("fsync", &tmp_key, source))?;
        drop(file);
        fs::rename(&tmp_path, &path).map_err(|source| StorageError::io("rename", key, source))?;
        self.sync_parent(key)
    }

    fn open_append(&self, key: &str) -> Result<Box<dyn AppendFile>> {
        let path = self.path(key)?;
        let file = match OpenOptions::new().append(true).open(&path) {
            Ok(file) => file,
            Err(source) if source.kind() == io::ErrorKind::NotFound => {
                let file = OpenOptions::new()
                    .append(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(|source| StorageError::io("create", key, source))?;
                self.sync_parent(key)?;
                file
            }
            Err(source) => return Err(StorageError::io("open", key, source)),
        };
        Ok(Box::new(LocalAppendFile { file, key: key.to_owned() }))
    }

    fn truncate(&self, key: &str, len: u64) -> Result<()> {
        let path = self.path(key)?;
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|source| StorageError::io("open", key, source))?;
        file.set_len(len).map_err(|source| StorageError::io("truncate", key, source))?;
        file.sync_all().map_err(|source| StorageError::io("fsync", key, source))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let from_path = self.path(from)?;
        let to_path = self.path(to)?;
        fs::rename(&from_path, &to_path)
            .map_err(|source| StorageError::io("rename", from, source))?;
        self.sync_parent(to)?;
        if parent_key(from) != parent_key(to) {
            self.sync_parent(from)?;
        }
        Ok(())
    }

    fn remove_file(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Ok(()) => self.sync_parent(key),
            Err(source) if source.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StorageError::io("remove", key, source)),
        }
    }

    fn remove_dir_all(&self, dir: &str) -> Result<()> {
        let path = self.path(dir)?;
        match fs::remove_dir_all(&path) {
            Ok(()) => self.sync_parent(dir),
            Err(source) if source.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StorageError::io("remove dir", dir, source)),
        }
    }
}

/// A file of a [`LocalBackend`] opened in append mode.
#[derive(Debug)]
struct LocalAppendFile {
    file: File,
    key: String,
}

impl AppendFile for LocalAppendFile {
    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes).map_err(|source| StorageError::io("append", &self.key, source))
    }

    fn sync(&mut self) -> Result<()> {
        self.file.sync_data().map_err(|source| StorageError::io("fsync", &self.key, source))
    }
}

/// Fsyncs a directory so that entries created, renamed or removed in it are durable.
fn sync_dir(path: &Path, key: &str) -> Result<()> {
    let dir = File::open(path).map_err(|source| StorageError::io("open dir", key, source))?;
    dir.sync_all().map_err(|source| StorageError::io("fsync dir", key, source))
}

#[cfg(test)]
mod tests;
