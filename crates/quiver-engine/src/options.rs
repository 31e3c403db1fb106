//! Tunables of the embedded database, with the defaults a production deployment wants.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use quiver_storage::{Backend, MasterKey};

/// How a [`crate::Database`] is opened.
#[derive(Clone, Debug)]
pub struct Options {
    /// A growing segment is sealed once it holds this many rows.
    pub seal_rows: usize,
    /// A growing segment is sealed once it holds this many bytes of row data.
    pub seal_bytes: usize,
    /// A growing segment is sealed once its oldest row is this old.
    pub seal_age: Duration,
    /// How often the background task looks for segments to seal; `None` runs no background
    /// task (tests drive sealing explicitly).
    pub maintenance_interval: Option<Duration>,
    /// Threads each index build uses; 0 uses every core.
    pub index_build_threads: usize,
    /// The storage backend; `None` uses local files under the data directory.
    pub backend: Option<Arc<dyn Backend>>,
    /// Encryption at rest of every file written through the backend; `None` stores files as
    /// they are. A directory is either encrypted or not: `Database::open` refuses a mismatch.
    /// Off by default here (tests and benchmarks need both); the server turns it on.
    pub encryption: Option<Encryption>,
    /// How long a dropped collection stays in the recycle bin, and how long deleted rows stay
    /// restorable by point-in-time restore, before the maintenance task (or `compact`) purges
    /// them. `Duration::ZERO` drops and purges at once (no recycle bin, no restore).
    pub trash_retention: Duration,
}

/// Encryption at rest: the master key that unlocks the data directory's keyring.
///
/// `Debug` shows the key's id only.
#[derive(Clone)]
pub struct Encryption {
    master_key: Arc<MasterKey>,
}

impl Encryption {
    pub fn new(master_key: MasterKey) -> Encryption {
        Encryption { master_key: Arc::new(master_key) }
    }

    pub fn master_key(&self) -> &MasterKey {
        &self.master_key
    }
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryption").field("master_key_id", &self.master_key.id()).finish()
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            seal_rows: 1 << 20,
            seal_bytes: 256 << 20,
            seal_age: Duration::from_secs(600),
            maintenance_interval: Some(Duration::from_secs(1)),
            index_build_threads: 0,
            backend: None,
            encryption: None,
            trash_retention: DEFAULT_TRASH_RETENTION,
        }
    }
}

/// How long dropped collections and deleted rows stay restorable by default: 7 days.
pub const DEFAULT_TRASH_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most collections the recycle bin holds at once, over all databases; a drop beyond it is
/// refused until an operator purges.
pub const MAX_TRASH: usize = 65_536;

/// Most partitions per collection (Milvus's configured ceiling).
pub const MAX_PARTITIONS: usize = 4096;
/// Largest `offset + limit` of a search or query, as in Milvus.
pub const MAX_TOPK_WINDOW: usize = 16_384;
/// Most query vectors per search request, as in Milvus.
pub const MAX_QUERY_VECTORS: usize = 16_384;
/// Largest number of rows in one write, bounded so a WAL record stays far below its limit.
pub const MAX_ROWS_PER_WRITE: usize = 1 << 20;
