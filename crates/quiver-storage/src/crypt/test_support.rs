//! Helpers shared by the encryption tests: encrypted backends over temporary directories.

use std::sync::Arc;

use tempfile::TempDir;

use crate::backend::Backend;
use crate::crypt::{EncryptedBackend, MasterKey};
use crate::local::LocalBackend;

/// An encrypted backend over a fresh temporary directory, with a new keyring under a new
/// master key: the directory, the encrypted backend, the raw backend under it, and the key.
pub(crate) struct Encrypted {
    pub(crate) temp: TempDir,
    pub(crate) backend: Arc<EncryptedBackend>,
    pub(crate) raw: Arc<dyn Backend>,
    pub(crate) master: MasterKey,
}

impl Encrypted {
    pub(crate) fn new() -> Encrypted {
        let temp = tempfile::tempdir().unwrap();
        let raw: Arc<dyn Backend> = Arc::new(LocalBackend::new(temp.path().to_path_buf()).unwrap());
        let master = MasterKey::generate().unwrap();
        let backend = Arc::new(EncryptedBackend::create(raw.clone(), &master).unwrap());
        Encrypted { temp, backend, raw, master }
    }

    /// Opens the same directory again with `master`.
    pub(crate) fn reopen(&self, master: &MasterKey) -> crate::Result<EncryptedBackend> {
        EncryptedBackend::open(self.raw.clone(), master)
    }
}

/// True if `needle` occurs anywhere in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}
