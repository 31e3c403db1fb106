//! A backup read from `s3://bucket/prefix` (see the parent module for the layout).

use std::collections::BTreeMap;
use std::io::Write;

use crate::error::{BackupError, Result};
use crate::fsio;
use crate::location::S3Location;
use crate::manifest::{DATA_DIR, FileEntry, MANIFEST_FILE, MAX_ENTRIES, Manifest, SIGNATURE_FILE};
use crate::object::Bucket;
use crate::progress::Progress;
use crate::source::{Source, incomplete_if_missing};

/// A backup in an object store.
pub(crate) struct ObjectSource {
    bucket: Bucket,
}

impl ObjectSource {
    /// Connects to the backup at `location`.
    pub(crate) fn open(location: &S3Location) -> Result<ObjectSource> {
        Ok(ObjectSource { bucket: Bucket::connect(location)? })
    }
}

impl Source for ObjectSource {
    fn read_root(&mut self, name: &str, what: &'static str, limit: u64) -> Result<Vec<u8>> {
        let read = self.bucket.reader(name).and_then(|mut reader| {
            let mut bytes = Vec::new();
            let shown = self.bucket.shown(name);
            fsio::copy_hashed(&mut reader, Some((&mut bytes, &shown)), &shown, limit, &mut ())?;
            if bytes.len() as u64 > limit {
                return Err(BackupError::TooLarge { path: shown, what, limit });
            }
            Ok(bytes)
        });
        incomplete_if_missing(name, read)
    }

    /// Lists the prefix (bounded): every object must be the manifest, its signature or a
    /// listed file of the listed size. Directories are not objects, so they are not checked
    /// here (a restore creates them from the signed manifest).
    fn check_listing(&mut self, manifest: &Manifest) -> Result<()> {
        let files: BTreeMap<String, &FileEntry> =
            manifest.files.iter().map(|f| (format!("{DATA_DIR}/{}", f.path), f)).collect();
        // Room for the two root files and one extra object, so that an extra one is named.
        let listed = self.bucket.list("", manifest.files.len().min(MAX_ENTRIES) + 3)?;
        let mut seen = 0usize;
        for object in &listed {
            if object.rel == MANIFEST_FILE || object.rel == SIGNATURE_FILE {
                continue;
            }
            let Some(entry) = files.get(&object.rel) else {
                return Err(BackupError::Extra { path: self.bucket.shown(&object.rel) });
            };
            if object.size != entry.size {
                return Err(BackupError::Changed {
                    path: self.bucket.shown(&object.rel),
                    what: format!("{} bytes, the manifest says {}", object.size, entry.size),
                });
            }
            seen += 1;
        }
        if seen != files.len() {
            let present: std::collections::BTreeSet<&str> =
                listed.iter().map(|o| o.rel.as_str()).collect();
            let missing = files.keys().find(|k| !present.contains(k.as_str()));
            return Err(BackupError::Missing {
                path: missing.map_or_else(|| "a file".to_owned(), |k| self.bucket.shown(k)),
            });
        }
        Ok(())
    }

    fn copy_file(
        &mut self,
        entry: &FileEntry,
        to: Option<(&mut dyn Write, &str)>,
        progress: &mut dyn Progress,
    ) -> Result<(u64, blake3::Hash)> {
        let rel = format!("{DATA_DIR}/{}", entry.path);
        let shown = self.bucket.shown(&rel);
        let mut reader = self.bucket.reader(&rel)?;
        fsio::copy_hashed(&mut reader, to, &shown, entry.size, progress)
    }
}
