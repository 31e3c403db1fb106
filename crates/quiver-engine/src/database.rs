//! The embedded database: a data directory holding databases of collections.
//!
//! `Database::open(dir)` takes an exclusive lock on the directory, reads the catalog and
//! opens every collection. A collection whose files fail their checksums is recorded as
//! unavailable (with the error naming the file) while the others serve.
//!
//! With [`crate::Encryption`] every file goes through a `quiver_storage::EncryptedBackend`: the
//! keyring is opened (or, in an empty directory, created) before anything else is read, so a
//! wrong master key is refused by name first. A directory is encrypted or not, never both:
//! opening an encrypted one without a key, or one with data but no keyring with a key, is
//! refused (an unencrypted directory is not converted in place). Each collection gets its own
//! data key before its first file is written, and loses it once its files are removed.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Weak, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use quiver_core::{Name, NameKind, Schema, SchemaSpec};
use quiver_storage::{
    Backend, EncryptedBackend, KEYRING_KEY, KeyId, LocalBackend, MasterKey, StorageError,
    is_encrypted_file,
};

use crate::catalog::{
    self, AliasEntry, CATALOG_KEY, Catalog, CollectionEntry, DEFAULT_DATABASE, DatabaseEntry,
    MAX_ALIASES, MAX_COLLECTIONS, MAX_DATABASES, MAX_PROPERTIES, MAX_PROPERTY_LEN, TrashedEntry,
};
use crate::collection::{Collection, collection_dir};
use crate::index::BuildQueue;
use crate::options::MAX_TRASH;
use crate::{Encryption, EngineError, Options};

mod restore;
mod trash;

pub use trash::TrashEntry;

/// An open data directory. Dropping it stops the background tasks (the sealer and the index
/// builder, after the build in progress).
pub struct Database {
    inner: Arc<Inner>,
    maintenance: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    builder: Option<JoinHandle<()>>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    /// The same backend when the directory is encrypted: its keyring of data keys.
    keys: Option<Arc<EncryptedBackend>>,
    options: Options,
    /// Held for the lifetime of the database: a second process cannot open the directory.
    _lock: File,
    /// Serializes DDL; the catalog in memory always equals the one on disk.
    catalog: Mutex<Catalog>,
    collections: RwLock<HashMap<u64, Slot>>,
    /// Sealed segments waiting for their indexes.
    queue: Arc<BuildQueue>,
}

#[derive(Clone)]
enum Slot {
    Ready(Arc<Collection>),
    Unavailable(Arc<EngineError>),
}

impl Database {
    /// Opens (or initializes, when empty) the data directory at `path`.
    pub fn open(path: &Path, options: Options) -> Result<Database, EngineError> {
        let local = LocalBackend::new(path.to_path_buf())?;
        let lock = lock_dir(path)?;
        let base: Arc<dyn Backend> = match &options.backend {
            Some(backend) => backend.clone(),
            None => Arc::new(local),
        };
        let Storage { backend, keys } = storage(base, options.encryption.as_ref())?;
        let catalog = if backend.exists(CATALOG_KEY)? {
            catalog::decode(backend.read(CATALOG_KEY)?)?
        } else if backend.list("collections")?.is_empty() {
            let catalog = Catalog::initial();
            backend.write_atomic(CATALOG_KEY, &catalog::encode(&catalog))?;
            catalog
        } else {
            return Err(EngineError::corrupt(CATALOG_KEY, 0, "missing, but collections exist"));
        };
        // Directories the catalog does not name are leftovers of a create or drop that a
        // crash interrupted.
        // Collections in the recycle bin keep theirs.
        for name in backend.list("collections")? {
            let known = name.parse::<u64>().is_ok_and(|id| catalog.owns_collection_id(id));
            if !known {
                backend.remove_dir_all(&format!("collections/{name}"))?;
            }
        }
        // Likewise data keys: made before a create that did not reach the catalog, or left
        // after a drop that removed the directory.
        if let Some(keys) = &keys {
            for id in keys.collection_key_ids() {
                if !catalog.owns_collection_id(id) {
                    keys.destroy_collection_key(id)?;
                }
            }
        }
        let queue = Arc::new(BuildQueue::default());
        let mut collections = HashMap::new();
        for entry in &catalog.collections {
            collections.insert(entry.id, open_slot(&backend, entry, &options, &queue));
        }
        let inner = Arc::new(Inner {
            backend,
            keys,
            options: options.clone(),
            _lock: lock,
            catalog: Mutex::new(catalog),
            collections: RwLock::new(collections),
            queue,
        });
        let maintenance = options.maintenance_interval.map(|interval| {
            let (stop, stopped) = mpsc::channel();
            let weak = Arc::downgrade(&inner);
            let handle = std::thread::spawn(move || maintain(weak, stopped, interval));
            (stop, handle)
        });
        let builder = {
            let weak = Arc::downgrade(&inner);
            let queue = inner.queue.clone();
            let threads = match options.index_build_threads {
                0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
                n => n,
            };
            std::thread::spawn(move || build_indexes(weak, &queue, threads))
        };
        Ok(Database { inner, maintenance, builder: Some(builder) })
    }

    /// The backend the database stores its files through, encrypted when the database is:
    /// for other stores that belong in the same directory (the security store).
    pub fn backend(&self) -> Arc<dyn Backend> {
        self.inner.backend.clone()
    }

    /// The id of the master key the data directory is encrypted with; `None` when it is not.
    pub fn master_key_id(&self) -> Option<KeyId> {
        self.inner.keys.as_ref().map(|keys| keys.master_key_id())
    }

    /// How long dropped collections and partitions stay in the recycle bin; zero when a drop
    /// deletes for good.
    pub fn trash_retention(&self) -> std::time::Duration {
        self.inner.options.trash_retention
    }

    pub fn list_databases(&self) -> Vec<String> {
        self.inner.catalog.lock().databases.iter().map(|d| d.name.clone()).collect()
    }

    pub fn create_database(&self, name: &str) -> Result<(), EngineError> {
        Name::new(NameKind::Database, name)?;
        let mut catalog = self.inner.catalog.lock();
        if catalog.databases.iter().any(|d| d.name == name) {
            return Err(EngineError::DatabaseExists { name: name.to_owned() });
        }
        if catalog.databases.len() >= MAX_DATABASES {
            return Err(EngineError::invalid(
                "database",
                format!("at most {MAX_DATABASES} databases"),
            ));
        }
        let mut next = catalog.clone();
        next.databases.push(DatabaseEntry { id: next.next_database_id, name: name.to_owned() });
        next.next_database_id += 1;
        self.commit_catalog(&mut catalog, next)
    }

    pub fn drop_database(&self, name: &str) -> Result<(), EngineError> {
        if name == DEFAULT_DATABASE {
            return Err(EngineError::DefaultDatabase);
        }
        let mut catalog = self.inner.catalog.lock();
        let id = catalog.database(name)?.id;
        if catalog.collections.iter().any(|c| c.database == id) {
            return Err(EngineError::DatabaseNotEmpty { name: name.to_owned() });
        }
        let mut next = catalog.clone();
        next.databases.retain(|d| d.id != id);
        self.commit_catalog(&mut catalog, next)
    }

    /// Creates a collection with a `_default` partition.
    pub fn create_collection(
        &self,
        database: &str,
        name: &str,
        spec: SchemaSpec,
    ) -> Result<Arc<Collection>, EngineError> {
        self.create_collection_with_schema(database, name, Schema::new(spec)?)
    }

    /// Creates a collection with a `_default` partition from a validated schema.
    fn create_collection_with_schema(
        &self,
        database: &str,
        name: &str,
        schema: Schema,
    ) -> Result<Arc<Collection>, EngineError> {
        Name::new(NameKind::Collection, name)?;
        let mut catalog = self.inner.catalog.lock();
        let db = catalog.database(database)?.id;
        if catalog.collections.iter().any(|c| c.database == db && c.name == name) {
            return Err(EngineError::CollectionExists {
                database: database.to_owned(),
                name: name.to_owned(),
            });
        }
        if catalog.alias(db, name).is_some() {
            return Err(name_conflict(database, name, "alias"));
        }
        if catalog.collections.iter().filter(|c| c.database == db).count() >= MAX_COLLECTIONS {
            return Err(EngineError::invalid("collection", "too many collections in the database"));
        }
        let id = catalog.next_collection_id;
        if let Some(keys) = &self.inner.keys {
            keys.create_collection_key(id)?;
        }
        Collection::create_files(self.inner.backend.as_ref(), &collection_dir(id), &schema)?;
        let mut next = catalog.clone();
        let entry = CollectionEntry {
            id,
            database: db,
            name: name.to_owned(),
            created_ms: now_ms(),
            loaded: false,
            properties: Vec::new(),
        };
        next.collections.push(entry.clone());
        next.next_collection_id += 1;
        self.commit_catalog(&mut catalog, next)?;
        let collection = Arc::new(Collection::open(
            self.inner.backend.clone(),
            entry.id,
            &entry.name,
            &self.inner.options,
            self.inner.queue.clone(),
        )?);
        self.inner.collections.write().insert(id, Slot::Ready(collection.clone()));
        Ok(collection)
    }

    /// Drops a collection: moves it to the recycle bin (see [`Database::list_trash`]), where it
    /// stays, stopped and not served, for [`Options::trash_retention`]; its name is free at
    /// once. With a zero retention its data is removed at once. It must be named by its name,
    /// not an alias, and have no aliases left (as in Milvus: an alias silently pointing
    /// nowhere would be worse). A full bin refuses the drop ([`EngineError::TrashFull`]).
    pub fn drop_collection(&self, database: &str, name: &str) -> Result<(), EngineError> {
        let mut catalog = self.inner.catalog.lock();
        let entry = catalog.collection(database, name)?.clone();
        let id = entry.id;
        let aliases: Vec<String> =
            catalog.aliases.iter().filter(|a| a.collection == id).map(|a| a.name.clone()).collect();
        if !aliases.is_empty() {
            return Err(EngineError::CollectionHasAliases { name: name.to_owned(), aliases });
        }
        let keep = !self.inner.options.trash_retention.is_zero();
        if keep && catalog.trash.len() >= MAX_TRASH {
            return Err(EngineError::TrashFull { max: MAX_TRASH });
        }
        let mut next = catalog.clone();
        next.collections.retain(|c| c.id != id);
        if keep {
            next.trash.push(TrashedEntry {
                id,
                database: entry.database,
                database_name: database.to_owned(),
                name: entry.name,
                created_ms: entry.created_ms,
                dropped_ms: now_ms(),
                loaded: entry.loaded,
                properties: entry.properties,
            });
        }
        self.commit_catalog(&mut catalog, next)?;
        if let Some(Slot::Ready(collection)) = self.inner.collections.write().remove(&id) {
            collection.stop();
        }
        if !keep {
            remove_collection_data(&self.inner, id)?;
        }
        Ok(())
    }

    /// Renames a collection, possibly into another database.
    pub fn rename_collection(
        &self,
        database: &str,
        name: &str,
        new_database: &str,
        new_name: &str,
    ) -> Result<(), EngineError> {
        Name::new(NameKind::Collection, new_name)?;
        let mut catalog = self.inner.catalog.lock();
        let id = catalog.collection(database, name)?.id;
        let new_db = catalog.database(new_database)?.id;
        if catalog.collections.iter().any(|c| c.database == new_db && c.name == new_name) {
            return Err(EngineError::CollectionExists {
                database: new_database.to_owned(),
                name: new_name.to_owned(),
            });
        }
        if catalog.alias(new_db, new_name).is_some() {
            return Err(name_conflict(new_database, new_name, "alias"));
        }
        let old_db = catalog.database(database)?.id;
        if new_db != old_db && catalog.aliases.iter().any(|a| a.collection == id) {
            // An alias lives in its collection's database.
            return Err(EngineError::invalid(
                "rename",
                "a collection with aliases cannot move to another database; drop them first",
            ));
        }
        let mut next = catalog.clone();
        for c in next.collections.iter_mut().filter(|c| c.id == id) {
            c.database = new_db;
            c.name = new_name.to_owned();
        }
        self.commit_catalog(&mut catalog, next)?;
        // Handles keep the old display name until the collection is next opened.
        Ok(())
    }

    /// Whether `name` names a collection (or an alias of one) in `database`.
    pub fn has_collection(&self, database: &str, name: &str) -> Result<bool, EngineError> {
        let catalog = self.inner.catalog.lock();
        catalog.database(database)?;
        Ok(catalog.resolve(database, name).is_ok())
    }

    /// Names of the collections of a database, sorted.
    pub fn list_collections(&self, database: &str) -> Result<Vec<String>, EngineError> {
        let catalog = self.inner.catalog.lock();
        let db = catalog.database(database)?.id;
        let mut names: Vec<String> = catalog
            .collections
            .iter()
            .filter(|c| c.database == db)
            .map(|c| c.name.clone())
            .collect();
        names.sort();
        Ok(names)
    }

    /// A handle on a collection named by its name or an alias, or why it is unavailable.
    pub fn collection(&self, database: &str, name: &str) -> Result<Arc<Collection>, EngineError> {
        let id = self.inner.catalog.lock().resolve(database, name)?.id;
        match self.inner.collections.read().get(&id) {
            Some(Slot::Ready(collection)) => Ok(collection.clone()),
            Some(Slot::Unavailable(cause)) => Err(EngineError::CollectionUnavailable {
                name: name.to_owned(),
                cause: cause.clone(),
            }),
            None => Err(EngineError::CollectionNotFound {
                database: database.to_owned(),
                name: name.to_owned(),
            }),
        }
    }

    /// Opens a collection again from its files: after a storage failure stopped its writes,
    /// or after an operator repaired its files.
    pub fn reopen_collection(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Arc<Collection>, EngineError> {
        let catalog = self.inner.catalog.lock();
        let entry = catalog.collection(database, name)?.clone();
        if let Some(Slot::Ready(old)) = self.inner.collections.read().get(&entry.id) {
            old.stop();
        }
        let slot = open_slot(&self.inner.backend, &entry, &self.inner.options, &self.inner.queue);
        self.inner.collections.write().insert(entry.id, slot);
        drop(catalog);
        self.collection(database, name)
    }

    /// The own name of the collection `name` names (its name, or an alias of it). Cheaper
    /// than [`Database::collection_info`] on request paths that only need the name.
    pub fn resolve_name(&self, database: &str, name: &str) -> Result<String, EngineError> {
        Ok(self.inner.catalog.lock().resolve(database, name)?.name.clone())
    }

    /// What the catalog knows of a collection named by its name or an alias.
    pub fn collection_info(
        &self,
        database: &str,
        name: &str,
    ) -> Result<CollectionInfo, EngineError> {
        let catalog = self.inner.catalog.lock();
        let entry = catalog.resolve(database, name)?;
        let mut aliases: Vec<String> = catalog
            .aliases
            .iter()
            .filter(|a| a.collection == entry.id)
            .map(|a| a.name.clone())
            .collect();
        aliases.sort();
        Ok(CollectionInfo {
            id: entry.id,
            name: entry.name.clone(),
            database_id: entry.database,
            created_ms: entry.created_ms,
            loaded: entry.loaded,
            properties: entry.properties.clone(),
            aliases,
        })
    }

    /// Records Milvus's load state of a collection (`LoadCollection` / `ReleaseCollection`).
    pub fn set_loaded(&self, database: &str, name: &str, loaded: bool) -> Result<(), EngineError> {
        let mut catalog = self.inner.catalog.lock();
        let id = catalog.resolve(database, name)?.id;
        let mut next = catalog.clone();
        for c in next.collections.iter_mut().filter(|c| c.id == id) {
            if c.loaded == loaded {
                return Ok(());
            }
            c.loaded = loaded;
        }
        self.commit_catalog(&mut catalog, next)
    }

    /// Sets and removes collection properties (Milvus `AlterCollection`).
    pub fn alter_properties(
        &self,
        database: &str,
        name: &str,
        set: &[(String, String)],
        delete: &[String],
    ) -> Result<(), EngineError> {
        for (key, value) in set {
            if key.is_empty() || key.len() > MAX_PROPERTY_LEN || value.len() > MAX_PROPERTY_LEN {
                return Err(EngineError::invalid(
                    "property",
                    format!("keys must be 1..={MAX_PROPERTY_LEN} bytes, values at most as long"),
                ));
            }
        }
        let mut catalog = self.inner.catalog.lock();
        let id = catalog.resolve(database, name)?.id;
        let mut next = catalog.clone();
        for c in next.collections.iter_mut().filter(|c| c.id == id) {
            c.properties.retain(|(k, _)| !delete.contains(k));
            for (key, value) in set {
                match c.properties.iter_mut().find(|(k, _)| k == key) {
                    Some(entry) => entry.1 = value.clone(),
                    None => c.properties.push((key.clone(), value.clone())),
                }
            }
            if c.properties.len() > MAX_PROPERTIES {
                return Err(EngineError::invalid(
                    "property",
                    format!("a collection has at most {MAX_PROPERTIES} properties"),
                ));
            }
            c.properties.sort();
        }
        self.commit_catalog(&mut catalog, next)
    }

    /// Gives collection `collection` the other name `alias` in the same database.
    pub fn create_alias(
        &self,
        database: &str,
        alias: &str,
        collection: &str,
    ) -> Result<(), EngineError> {
        Name::new(NameKind::Alias, alias)?;
        let mut catalog = self.inner.catalog.lock();
        let db = catalog.database(database)?.id;
        let target = catalog.collection(database, collection)?.id;
        if catalog.alias(db, alias).is_some() {
            return Err(EngineError::AliasExists {
                database: database.to_owned(),
                name: alias.to_owned(),
            });
        }
        if catalog.collections.iter().any(|c| c.database == db && c.name == alias) {
            return Err(name_conflict(database, alias, "collection"));
        }
        if catalog.aliases.iter().filter(|a| a.database == db).count() >= MAX_ALIASES {
            return Err(EngineError::invalid("alias", "too many aliases in the database"));
        }
        let mut next = catalog.clone();
        next.aliases.push(AliasEntry { database: db, name: alias.to_owned(), collection: target });
        self.commit_catalog(&mut catalog, next)
    }

    /// Points an existing alias at another collection of the same database, atomically.
    pub fn alter_alias(
        &self,
        database: &str,
        alias: &str,
        collection: &str,
    ) -> Result<(), EngineError> {
        let mut catalog = self.inner.catalog.lock();
        let db = catalog.database(database)?.id;
        let target = catalog.collection(database, collection)?.id;
        if catalog.alias(db, alias).is_none() {
            return Err(alias_not_found(database, alias));
        }
        let mut next = catalog.clone();
        for a in next.aliases.iter_mut().filter(|a| a.database == db && a.name == alias) {
            a.collection = target;
        }
        self.commit_catalog(&mut catalog, next)
    }

    pub fn drop_alias(&self, database: &str, alias: &str) -> Result<(), EngineError> {
        let mut catalog = self.inner.catalog.lock();
        let db = catalog.database(database)?.id;
        if catalog.alias(db, alias).is_none() {
            return Err(alias_not_found(database, alias));
        }
        let mut next = catalog.clone();
        next.aliases.retain(|a| !(a.database == db && a.name == alias));
        self.commit_catalog(&mut catalog, next)
    }

    /// The name of the collection an alias points at.
    pub fn describe_alias(&self, database: &str, alias: &str) -> Result<String, EngineError> {
        let catalog = self.inner.catalog.lock();
        let db = catalog.database(database)?.id;
        let target = catalog.alias(db, alias).ok_or_else(|| alias_not_found(database, alias))?;
        let entry = catalog.collections.iter().find(|c| c.id == target.collection);
        entry.map(|c| c.name.clone()).ok_or_else(|| alias_not_found(database, alias))
    }

    /// Aliases of a database, or of one collection of it, sorted.
    pub fn list_aliases(
        &self,
        database: &str,
        collection: Option<&str>,
    ) -> Result<Vec<String>, EngineError> {
        let catalog = self.inner.catalog.lock();
        let db = catalog.database(database)?.id;
        let target = match collection {
            Some(name) => Some(catalog.collection(database, name)?.id),
            None => None,
        };
        let mut names: Vec<String> = catalog
            .aliases
            .iter()
            .filter(|a| a.database == db && target.is_none_or(|id| a.collection == id))
            .map(|a| a.name.clone())
            .collect();
        names.sort();
        Ok(names)
    }

    fn commit_catalog(&self, current: &mut Catalog, next: Catalog) -> Result<(), EngineError> {
        commit_catalog(&self.inner, current, next)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.maintenance.take() {
            drop(stop);
            let _ = handle.join();
        }
        self.inner.queue.stop();
        if let Some(handle) = self.builder.take() {
            let _ = handle.join();
        }
    }
}

/// What the catalog records of a collection.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectionInfo {
    pub id: u64,
    /// The collection's own name (also when it was looked up by an alias).
    pub name: String,
    pub database_id: u64,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    pub loaded: bool,
    pub properties: Vec<(String, String)>,
    pub aliases: Vec<String>,
}

/// Writes `next` as the catalog, then makes it the one in memory.
fn commit_catalog(inner: &Inner, current: &mut Catalog, next: Catalog) -> Result<(), EngineError> {
    inner.backend.write_atomic(CATALOG_KEY, &catalog::encode(&next))?;
    *current = next;
    Ok(())
}

fn name_conflict(database: &str, name: &str, kind: &'static str) -> EngineError {
    EngineError::NameConflict { database: database.to_owned(), name: name.to_owned(), kind }
}

fn alias_not_found(database: &str, alias: &str) -> EngineError {
    EngineError::AliasNotFound { database: database.to_owned(), name: alias.to_owned() }
}

fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn open_slot(
    backend: &Arc<dyn Backend>,
    entry: &CollectionEntry,
    options: &Options,
    queue: &Arc<BuildQueue>,
) -> Slot {
    match Collection::open(backend.clone(), entry.id, &entry.name, options, queue.clone()) {
        Ok(collection) => Slot::Ready(Arc::new(collection)),
        Err(err) => Slot::Unavailable(Arc::new(err)),
    }
}

/// What a database stores its files through.
struct Storage {
    backend: Arc<dyn Backend>,
    /// The same backend when it encrypts: its keyring of data keys.
    keys: Option<Arc<EncryptedBackend>>,
}

/// The backend the database writes through: `base`, or `base` encrypted. Refuses to mix
/// encrypted and unencrypted data (see the module documentation).
fn storage(
    base: Arc<dyn Backend>,
    encryption: Option<&Encryption>,
) -> Result<Storage, EngineError> {
    let has_keyring = base.exists(KEYRING_KEY)?;
    let Some(encryption) = encryption else {
        if has_keyring {
            return Err(StorageError::EncryptionRequired { path: KEYRING_KEY.to_owned() }.into());
        }
        if catalog_is_encrypted(base.as_ref())? {
            return Err(StorageError::EncryptionRequired { path: CATALOG_KEY.to_owned() }.into());
        }
        return Ok(Storage { backend: base, keys: None });
    };
    let master_key = encryption.master_key();
    let encrypted = if has_keyring {
        EncryptedBackend::open(base, master_key)?
    } else if base.exists(CATALOG_KEY)? || !base.list("collections")?.is_empty() {
        if catalog_is_encrypted(base.as_ref())? {
            return Err(StorageError::KeyringMissing { path: KEYRING_KEY.to_owned() }.into());
        }
        return Err(StorageError::NotEncrypted { path: CATALOG_KEY.to_owned() }.into());
    } else {
        EncryptedBackend::create(base, master_key)?
    };
    let encrypted = Arc::new(encrypted);
    Ok(Storage { backend: encrypted.clone(), keys: Some(encrypted) })
}

/// True if the catalog exists and is an encrypted file.
fn catalog_is_encrypted(base: &dyn Backend) -> Result<bool, EngineError> {
    match base.read(CATALOG_KEY) {
        Ok(bytes) => Ok(is_encrypted_file(&bytes)),
        Err(err) if err.is_not_found() => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Re-wraps the data keys of the encrypted data directory at `path` under the master key
/// `new`, after opening its keyring with `old` (a wrong `old` is refused naming both key ids);
/// data files are not touched, and afterwards only `new` opens the directory. Holds the
/// directory's lock meanwhile, so it fails with [`EngineError::Locked`] while a server has the
/// directory open.
pub fn rotate_master_key(path: &Path, old: &MasterKey, new: &MasterKey) -> Result<(), EngineError> {
    if !path.is_dir() {
        return Err(StorageError::Io {
            op: "open data directory",
            path: path.display().to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }
        .into());
    }
    let local = LocalBackend::new(path.to_path_buf())?;
    let _lock = lock_dir(path)?;
    quiver_storage::rotate_master_key(&local, old, new)?;
    Ok(())
}

/// Takes the directory's lock file; fails at once when another process holds it.
fn lock_dir(path: &Path) -> Result<File, EngineError> {
    let lock_path = path.join("LOCK");
    let file = File::options().create(true).truncate(false).write(true).open(&lock_path).map_err(
        |source| quiver_storage::StorageError::Io {
            op: "open lock file",
            path: lock_path.display().to_string(),
            source,
        },
    )?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(_) => Err(EngineError::Locked { path: path.display().to_string() }),
    }
}

/// Removes the files and the data key of a collection the catalog no longer names.
fn remove_collection_data(inner: &Inner, id: u64) -> Result<(), EngineError> {
    inner.backend.remove_dir_all(&collection_dir(id))?;
    if let Some(keys) = &inner.keys {
        keys.destroy_collection_key(id)?;
    }
    Ok(())
}

/// Seals growing segments that reached their age and purges the recycle bin's expired
/// entries, until the database is dropped.
fn maintain(inner: Weak<Inner>, stopped: mpsc::Receiver<()>, interval: std::time::Duration) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
        let Some(inner) = inner.upgrade() else { return };
        // A failure leaves the entries for the next round (or an operator's purge).
        let _ = trash::purge_expired(&inner, now_ms());
        let collections: Vec<Arc<Collection>> = inner
            .collections
            .read()
            .values()
            .filter_map(|slot| match slot {
                Slot::Ready(c) => Some(c.clone()),
                Slot::Unavailable(_) => None,
            })
            .collect();
        let now = Instant::now();
        let wall_ms = now_ms();
        for collection in collections {
            // A failure stops the collection's writes; its next writer sees the error.
            let _ = collection.seal_if_due(now);
            let _ = collection.purge_expired_partitions(wall_ms);
        }
    }
}

/// Serves the index-build queue until the database is dropped.
fn build_indexes(inner: Weak<Inner>, queue: &BuildQueue, threads: usize) {
    while let Some(job) = queue.pop() {
        let Some(inner) = inner.upgrade() else { return };
        let collection = match inner.collections.read().get(&job.collection) {
            Some(Slot::Ready(collection)) => collection.clone(),
            Some(Slot::Unavailable(_)) | None => continue,
        };
        drop(inner);
        collection.build_segment_indexes(job.segment, threads);
    }
}
