//! The catalog (`catalog.qvc`): databases, the names of their collections and aliases, and
//! each collection's load state and properties. It is the one source of truth for names; it
//! is small, changes only on DDL, and is replaced atomically.

use quiver_storage::codec::{CodecError, Decoder, Encoder};
use quiver_storage::{BlockFile, BlockFileWriter};

use crate::EngineError;
use crate::options::MAX_TRASH;

const KIND: [u8; 8] = *b"QVCATLOG";
/// Version 2 added aliases, load state, properties and creation time (version 1 was never
/// released); version 3 the recycle bin. Version 2 is still read (its bin is empty).
const VERSION: u32 = 3;
/// The oldest version read.
const MIN_VERSION: u32 = 2;
pub(crate) const CATALOG_KEY: &str = "catalog.qvc";
pub(crate) const DEFAULT_DATABASE: &str = "default";
/// Most databases (Milvus `rootCoord.maxDatabaseNum`).
pub(crate) const MAX_DATABASES: usize = 64;
/// Most collections per database (Milvus's limit).
pub(crate) const MAX_COLLECTIONS: usize = 65_536;
/// Most aliases per database.
pub(crate) const MAX_ALIASES: usize = 65_536;
/// Most properties per collection, and the longest key and value.
pub(crate) const MAX_PROPERTIES: usize = 64;
pub(crate) const MAX_PROPERTY_LEN: usize = 4096;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DatabaseEntry {
    pub(crate) id: u64,
    pub(crate) name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CollectionEntry {
    pub(crate) id: u64,
    pub(crate) database: u64,
    pub(crate) name: String,
    /// Milliseconds since the Unix epoch.
    pub(crate) created_ms: u64,
    /// Milvus's load state: searches and queries of a released collection are refused.
    pub(crate) loaded: bool,
    /// Collection properties (Milvus `properties`), sorted by key.
    pub(crate) properties: Vec<(String, String)>,
}

/// A dropped collection in the recycle bin: its files and data key are kept under its id
/// until it is restored or purged.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TrashedEntry {
    /// The collection's id, which is also its id in the bin.
    pub(crate) id: u64,
    /// The database it was dropped from, by id and by name (the database may be dropped
    /// meanwhile; a restore recreates it under that name).
    pub(crate) database: u64,
    pub(crate) database_name: String,
    pub(crate) name: String,
    /// Milliseconds since the Unix epoch.
    pub(crate) created_ms: u64,
    pub(crate) dropped_ms: u64,
    pub(crate) loaded: bool,
    pub(crate) properties: Vec<(String, String)>,
}

/// Another name of a collection in the same database.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AliasEntry {
    pub(crate) database: u64,
    pub(crate) name: String,
    pub(crate) collection: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Catalog {
    pub(crate) next_database_id: u64,
    pub(crate) next_collection_id: u64,
    pub(crate) databases: Vec<DatabaseEntry>,
    pub(crate) collections: Vec<CollectionEntry>,
    pub(crate) aliases: Vec<AliasEntry>,
    /// The recycle bin, oldest drop first.
    pub(crate) trash: Vec<TrashedEntry>,
}

impl Catalog {
    /// The catalog of a new data directory: just the `default` database.
    pub(crate) fn initial() -> Catalog {
        Catalog {
            next_database_id: 2,
            next_collection_id: 1,
            databases: vec![DatabaseEntry { id: 1, name: DEFAULT_DATABASE.to_owned() }],
            collections: Vec::new(),
            aliases: Vec::new(),
            trash: Vec::new(),
        }
    }

    /// Whether `id` names a live or a trashed collection (its directory and data key stay).
    pub(crate) fn owns_collection_id(&self, id: u64) -> bool {
        self.collections.iter().any(|c| c.id == id) || self.trash.iter().any(|t| t.id == id)
    }

    pub(crate) fn database(&self, name: &str) -> Result<&DatabaseEntry, EngineError> {
        self.databases
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| EngineError::DatabaseNotFound { name: name.to_owned() })
    }

    /// The collection called `name` in `database`, by its name only.
    pub(crate) fn collection(
        &self,
        database: &str,
        name: &str,
    ) -> Result<&CollectionEntry, EngineError> {
        let db = self.database(database)?;
        self.collections.iter().find(|c| c.database == db.id && c.name == name).ok_or_else(|| {
            EngineError::CollectionNotFound { database: database.to_owned(), name: name.to_owned() }
        })
    }

    /// The collection called `name` in `database`, by its name or one of its aliases.
    pub(crate) fn resolve(
        &self,
        database: &str,
        name: &str,
    ) -> Result<&CollectionEntry, EngineError> {
        let db = self.database(database)?.id;
        let id = match self.aliases.iter().find(|a| a.database == db && a.name == name) {
            Some(alias) => alias.collection,
            None => return self.collection(database, name),
        };
        self.collections.iter().find(|c| c.id == id).ok_or_else(|| {
            EngineError::CollectionNotFound { database: database.to_owned(), name: name.to_owned() }
        })
    }

    pub(crate) fn alias(&self, db: u64, name: &str) -> Option<&AliasEntry> {
        self.aliases.iter().find(|a| a.database == db && a.name == name)
    }
}

pub(crate) fn encode(catalog: &Catalog) -> Vec<u8> {
    let mut enc = Encoder::new();
    enc.put_u64(catalog.next_database_id);
    enc.put_u64(catalog.next_collection_id);
    enc.put_len(catalog.databases.len());
    for db in &catalog.databases {
        enc.put_u64(db.id);
        enc.put_str(&db.name);
    }
    enc.put_len(catalog.collections.len());
    for c in &catalog.collections {
        enc.put_u64(c.id);
        enc.put_u64(c.database);
        enc.put_str(&c.name);
        enc.put_u64(c.created_ms);
        enc.put_bool(c.loaded);
        enc.put_len(c.properties.len());
        for (key, value) in &c.properties {
            enc.put_str(key);
            enc.put_str(value);
        }
    }
    enc.put_len(catalog.aliases.len());
    for a in &catalog.aliases {
        enc.put_u64(a.database);
        enc.put_str(&a.name);
        enc.put_u64(a.collection);
    }
    enc.put_len(catalog.trash.len());
    for t in &catalog.trash {
        enc.put_u64(t.id);
        enc.put_u64(t.database);
        enc.put_str(&t.database_name);
        enc.put_str(&t.name);
        enc.put_u64(t.created_ms);
        enc.put_u64(t.dropped_ms);
        enc.put_bool(t.loaded);
        enc.put_len(t.properties.len());
        for (key, value) in &t.properties {
            enc.put_str(key);
            enc.put_str(value);
        }
    }
    let mut writer = BlockFileWriter::new(KIND, VERSION);
    writer.add_block(&enc.into_bytes());
    writer.finish()
}

pub(crate) fn decode(bytes: Vec<u8>) -> Result<Catalog, EngineError> {
    let file = BlockFile::parse(CATALOG_KEY, bytes, KIND, VERSION)?;
    if file.version() < MIN_VERSION {
        return Err(EngineError::corrupt(
            CATALOG_KEY,
            0,
            format!("catalog format version {} is not supported", file.version()),
        ));
    }
    let block =
        file.block(0).ok_or_else(|| EngineError::corrupt(CATALOG_KEY, 0, "no catalog block"))?;
    decode_body(&mut Decoder::new(block), file.version())
        .map_err(|e| EngineError::corrupt(CATALOG_KEY, e.offset as u64, e.reason))
}

fn decode_properties(dec: &mut Decoder<'_>) -> Result<Vec<(String, String)>, CodecError> {
    let n_properties = dec.get_len(MAX_PROPERTIES as u64)?;
    let mut properties = Vec::with_capacity(n_properties);
    for _ in 0..n_properties {
        let key = dec.get_str(MAX_PROPERTY_LEN as u64)?.to_owned();
        properties.push((key, dec.get_str(MAX_PROPERTY_LEN as u64)?.to_owned()));
    }
    Ok(properties)
}

fn decode_trash(dec: &mut Decoder<'_>) -> Result<Vec<TrashedEntry>, CodecError> {
    let max_name = quiver_core::MAX_NAME_LEN as u64;
    let n_trash = dec.get_len(MAX_TRASH as u64)?;
    let mut trash = Vec::with_capacity(n_trash.min(dec.remaining() / 40));
    for _ in 0..n_trash {
        let id = dec.get_u64()?;
        let database = dec.get_u64()?;
        let database_name = dec.get_str(max_name)?.to_owned();
        let name = dec.get_str(max_name)?.to_owned();
        let created_ms = dec.get_u64()?;
        let dropped_ms = dec.get_u64()?;
        let loaded = dec.get_bool()?;
        let properties = decode_properties(dec)?;
        trash.push(TrashedEntry {
            id,
            database,
            database_name,
            name,
            created_ms,
            dropped_ms,
            loaded,
            properties,
        });
    }
    Ok(trash)
}

fn decode_body(dec: &mut Decoder<'_>, version: u32) -> Result<Catalog, CodecError> {
    let max_name = quiver_core::MAX_NAME_LEN as u64;
    let next_database_id = dec.get_u64()?;
    let next_collection_id = dec.get_u64()?;
    let n_databases = dec.get_len(MAX_DATABASES as u64)?;
    let mut databases = Vec::with_capacity(n_databases);
    for _ in 0..n_databases {
        let id = dec.get_u64()?;
        databases.push(DatabaseEntry { id, name: dec.get_str(max_name)?.to_owned() });
    }
    let n_collections = dec.get_len((MAX_COLLECTIONS * MAX_DATABASES) as u64)?;
    let mut collections = Vec::with_capacity(n_collections.min(dec.remaining() / 17));
    for _ in 0..n_collections {
        let id = dec.get_u64()?;
        let database = dec.get_u64()?;
        let name = dec.get_str(max_name)?.to_owned();
        let created_ms = dec.get_u64()?;
        let loaded = dec.get_bool()?;
        let properties = decode_properties(dec)?;
        collections.push(CollectionEntry { id, database, name, created_ms, loaded, properties });
    }
    let n_aliases = dec.get_len((MAX_ALIASES * MAX_DATABASES) as u64)?;
    let mut aliases = Vec::with_capacity(n_aliases.min(dec.remaining() / 17));
    for _ in 0..n_aliases {
        let database = dec.get_u64()?;
        let name = dec.get_str(max_name)?.to_owned();
        aliases.push(AliasEntry { database, name, collection: dec.get_u64()? });
    }
    let trash = if version >= 3 { decode_trash(dec)? } else { Vec::new() };
    dec.finish()?;
    Ok(Catalog { next_database_id, next_collection_id, databases, collections, aliases, trash })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Catalog {
        let mut catalog = Catalog::initial();
        catalog.collections.push(CollectionEntry {
            id: 1,
            database: 1,
            name: "live".to_owned(),
            created_ms: 5,
            loaded: true,
            properties: vec![("k".to_owned(), "v".to_owned())],
        });
        catalog
    }

    #[test]
    fn the_recycle_bin_round_trips() {
        let mut catalog = sample();
        catalog.trash.push(TrashedEntry {
            id: 2,
            database: 7,
            database_name: "gone".to_owned(),
            name: "old".to_owned(),
            created_ms: 1,
            dropped_ms: 3,
            loaded: false,
            properties: vec![("a".to_owned(), "b".to_owned())],
        });
        assert_eq!(decode(encode(&catalog)).unwrap(), catalog);
    }

    /// A version 2 catalog is a version 3 body without the bin (the empty bin's count is
    /// the last eight bytes).
    #[test]
    fn a_version_2_catalog_is_read_with_an_empty_bin_and_version_1_is_refused() {
        let catalog = sample();
        let v3 = encode(&catalog);
        let file = BlockFile::parse(CATALOG_KEY, v3, KIND, VERSION).unwrap();
        let body = file.block(0).unwrap();
        let old_body = &body[..body.len() - 8];
        for (version, readable) in [(2, true), (1, false)] {
            let mut writer = BlockFileWriter::new(KIND, version);
            writer.add_block(old_body);
            let decoded = decode(writer.finish());
            assert_eq!(decoded.is_ok(), readable, "version {version}: {decoded:?}");
            if readable {
                assert_eq!(decoded.unwrap(), catalog);
            }
        }
    }
}
