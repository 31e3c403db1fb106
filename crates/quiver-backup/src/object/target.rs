//! A backup written to `s3://bucket/prefix` (see the parent module for the layout).

use std::fs::File;

use crate::error::{BackupError, Result};
use crate::fsio;
use crate::location::S3Location;
use crate::object::Bucket;
use crate::progress::Progress;
use crate::target::Target;

/// Most objects removed by one [`Target::remove_tree`] or clean-up.
const MAX_REMOVED: usize = 10_000_000;

/// A backup being written to an object store: directories are key prefixes (nothing is
/// written for them), a file is a streamed multipart upload hashed while it is read, and a
/// file is visible only once its upload completed.
pub(crate) struct ObjectTarget {
    bucket: Bucket,
}

impl ObjectTarget {
    /// Connects to `location`, which must hold no object yet (as a local backup directory
    /// must be empty).
    pub(crate) fn open(location: &S3Location) -> Result<ObjectTarget> {
        let bucket = Bucket::connect(location)?;
        if bucket.holds_objects()? {
            return Err(BackupError::PrefixNotEmpty { location: location.to_string() });
        }
        Ok(ObjectTarget { bucket })
    }
}

impl Target for ObjectTarget {
    fn make_dir(&mut self, _rel: &str) -> Result<()> {
        Ok(())
    }

    fn copy_in(
        &mut self,
        rel: &str,
        from: &mut File,
        shown: &str,
        progress: &mut dyn Progress,
    ) -> Result<(u64, blake3::Hash)> {
        let key = self.bucket.shown(rel);
        let mut writer = self.bucket.writer(rel);
        match fsio::copy_hashed(from, Some((&mut writer, &key)), shown, u64::MAX - 1, progress) {
            Ok(copied) => {
                writer.finish().map_err(|e| BackupError::io("upload", &key, e))?;
                Ok(copied)
            }
            Err(err) => {
                writer.abort();
                Err(err)
            }
        }
    }

    fn put(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        self.bucket.put(rel, bytes)
    }

    fn remove_tree(&mut self, rel: &str) -> Result<()> {
        for object in self.bucket.list(rel, MAX_REMOVED)? {
            self.bucket.delete(&object.rel)?;
        }
        Ok(())
    }

    fn remove_file(&mut self, rel: &str) -> Result<()> {
        self.bucket.delete(rel)
    }

    fn sync_dirs(&mut self) -> Result<()> {
        Ok(())
    }

    /// Deletes every object under the prefix (it was empty when the backup started).
    fn abandon(&mut self) {
        let _ = self.remove_tree("");
    }
}
