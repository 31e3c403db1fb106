//! The recycle bin: dropped collections kept, stopped and not served, with their files and
//! data key, until they are restored, purged by an operator, or expire after
//! [`Options::trash_retention`](crate::Options::trash_retention).
//!
//! The catalog lists them (`TrashedEntry`); their directories are not orphans at open. A trash
//! id is the collection's id: stable, and never reused (ids only grow).

use std::sync::Arc;

use quiver_core::{Name, NameKind};

use super::{
    Database, Inner, MAX_COLLECTIONS, MAX_DATABASES, commit_catalog, name_conflict, open_slot,
    remove_collection_data,
};
use crate::EngineError;
use crate::catalog::{CollectionEntry, DatabaseEntry, TrashedEntry};
use crate::collection::Collection;
use crate::index::BuildQueue;

/// A dropped collection in the recycle bin, as [`Database::list_trash`] shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct TrashEntry {
    /// The id to restore or purge it by (the collection's id).
    pub id: u64,
    /// The database it was dropped from (recreated by a restore if dropped meanwhile).
    pub database: String,
    /// Its name when it was dropped.
    pub name: String,
    /// Milliseconds since the Unix epoch, like the two below.
    pub created_ms: u64,
    pub dropped_ms: u64,
    /// When the maintenance task purges it.
    pub expires_ms: u64,
    pub properties: Vec<(String, String)>,
}

impl Database {
    /// The recycle bin, oldest drop first.
    pub fn list_trash(&self) -> Vec<TrashEntry> {
        let retention = retention_ms(&self.inner);
        let catalog = self.inner.catalog.lock();
        catalog
            .trash
            .iter()
            .map(|t| TrashEntry {
                id: t.id,
                database: t.database_name.clone(),
                name: t.name.clone(),
                created_ms: t.created_ms,
                dropped_ms: t.dropped_ms,
                expires_ms: t.dropped_ms.saturating_add(retention),
                properties: t.properties.clone(),
            })
            .collect()
    }

    /// How many rows the dropped collection `trash_id` holds: it is opened from its files for
    /// the count (and not served).
    pub fn trashed_row_count(&self, trash_id: u64) -> Result<u64, EngineError> {
        Ok(self.open_trashed(trash_id)?.count())
    }

    /// Opens the dropped collection `trash_id` from its files, stopped (it takes no writes)
    /// and not served; the files are read while the catalog lock keeps purges and restores
    /// out, and the collection is held in memory afterwards.
    pub(super) fn open_trashed(&self, trash_id: u64) -> Result<Collection, EngineError> {
        let catalog = self.inner.catalog.lock();
        let entry = trashed(&catalog.trash, trash_id)?;
        let collection = Collection::open(
            self.inner.backend.clone(),
            entry.id,
            &entry.name,
            &self.inner.options,
            Arc::new(BuildQueue::default()),
        )?;
        collection.stop();
        Ok(collection)
    }

    /// Restores the dropped collection `trash_id` under its old name, or `new_name`, into the
    /// database it was dropped from (recreated, empty but for it, if it was dropped
    /// meanwhile), with its rows, partitions, indexes, load state and properties, and serves
    /// it again. Refused when the name is taken ([`EngineError::CollectionExists`], or
    /// [`EngineError::NameConflict`] for an alias), leaving it in the bin.
    pub fn restore_collection(
        &self,
        trash_id: u64,
        new_name: Option<&str>,
    ) -> Result<Arc<Collection>, EngineError> {
        let mut catalog = self.inner.catalog.lock();
        let entry = trashed(&catalog.trash, trash_id)?.clone();
        let name = new_name.unwrap_or(&entry.name);
        Name::new(NameKind::Collection, name)?;
        let mut next = catalog.clone();
        let existing = next
            .databases
            .iter()
            .find(|d| d.id == entry.database)
            .or_else(|| next.databases.iter().find(|d| d.name == entry.database_name))
            .cloned();
        let database = match existing {
            Some(database) => database,
            None => {
                if next.databases.len() >= MAX_DATABASES {
                    return Err(EngineError::invalid(
                        "database",
                        format!("at most {MAX_DATABASES} databases"),
                    ));
                }
                let database =
                    DatabaseEntry { id: next.next_database_id, name: entry.database_name.clone() };
                next.next_database_id += 1;
                next.databases.push(database.clone());
                database
            }
        };
        if next.collections.iter().any(|c| c.database == database.id && c.name == name) {
            return Err(EngineError::CollectionExists {
                database: database.name,
                name: name.to_owned(),
            });
        }
        if next.alias(database.id, name).is_some() {
            return Err(name_conflict(&database.name, name, "alias"));
        }
        if next.collections.iter().filter(|c| c.database == database.id).count() >= MAX_COLLECTIONS
        {
            return Err(EngineError::invalid("collection", "too many collections in the database"));
        }
        next.trash.retain(|t| t.id != trash_id);
        let restored = CollectionEntry {
            id: entry.id,
            database: database.id,
            name: name.to_owned(),
            created_ms: entry.created_ms,
            loaded: entry.loaded,
            properties: entry.properties,
        };
        next.collections.push(restored.clone());
        commit_catalog(&self.inner, &mut catalog, next)?;
        let slot =
            open_slot(&self.inner.backend, &restored, &self.inner.options, &self.inner.queue);
        self.inner.collections.write().insert(restored.id, slot);
        drop(catalog);
        self.collection(&database.name, name)
    }

    /// Removes the dropped collection `trash_id` for good: its files and its data key.
    pub fn purge_trash(&self, trash_id: u64) -> Result<(), EngineError> {
        let mut catalog = self.inner.catalog.lock();
        trashed(&catalog.trash, trash_id)?;
        let mut next = catalog.clone();
        next.trash.retain(|t| t.id != trash_id);
        commit_catalog(&self.inner, &mut catalog, next)?;
        // Were this interrupted, the directory and key are orphans, removed at the next open.
        remove_collection_data(&self.inner, trash_id)
    }

    /// Purges the entries dropped at least [`Options::trash_retention`](crate::Options) before
    /// `now_ms` (milliseconds since the Unix epoch) and returns their ids. The maintenance
    /// task calls it with the current time.
    pub fn purge_expired(&self, now_ms: u64) -> Result<Vec<u64>, EngineError> {
        purge_expired(&self.inner, now_ms)
    }
}

/// See [`Database::purge_expired`].
pub(super) fn purge_expired(inner: &Inner, now_ms: u64) -> Result<Vec<u64>, EngineError> {
    let retention = retention_ms(inner);
    let mut catalog = inner.catalog.lock();
    let expired: Vec<u64> = catalog
        .trash
        .iter()
        .filter(|t| t.dropped_ms.saturating_add(retention) <= now_ms)
        .map(|t| t.id)
        .collect();
    if expired.is_empty() {
        return Ok(expired);
    }
    let mut next = catalog.clone();
    next.trash.retain(|t| !expired.contains(&t.id));
    commit_catalog(inner, &mut catalog, next)?;
    for id in &expired {
        remove_collection_data(inner, *id)?;
    }
    Ok(expired)
}

fn retention_ms(inner: &Inner) -> u64 {
    u64::try_from(inner.options.trash_retention.as_millis()).unwrap_or(u64::MAX)
}

fn trashed(trash: &[TrashedEntry], id: u64) -> Result<&TrashedEntry, EngineError> {
    trash.iter().find(|t| t.id == id).ok_or(EngineError::TrashNotFound { id })
}
