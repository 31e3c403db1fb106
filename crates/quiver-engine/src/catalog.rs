//! The catalog (`catalog.qvc`): databases and the names of their collections. It is the one
//! source of truth for names; it is small, changes only on DDL, and is replaced atomically.

use quiver_storage::codec::{CodecError, Decoder, Encoder};
use quiver_storage::{BlockFile, BlockFileWriter};

use crate::EngineError;

const KIND: [u8; 8] = *b"QVCATLOG";
const VERSION: u32 = 1;
pub(crate) const CATALOG_KEY: &str = "catalog.qvc";
pub(crate) const DEFAULT_DATABASE: &str = "default";
/// Most databases (Milvus `rootCoord.maxDatabaseNum`).
pub(crate) const MAX_DATABASES: usize = 64;
/// Most collections per database (Milvus's limit).
pub(crate) const MAX_COLLECTIONS: usize = 65_536;

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
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Catalog {
    pub(crate) next_database_id: u64,
    pub(crate) next_collection_id: u64,
    pub(crate) databases: Vec<DatabaseEntry>,
    pub(crate) collections: Vec<CollectionEntry>,
}

impl Catalog {
    /// The catalog of a new data directory: just the `default` database.
    pub(crate) fn initial() -> Catalog {
        Catalog {
            next_database_id: 2,
            next_collection_id: 1,
            databases: vec![DatabaseEntry { id: 1, name: DEFAULT_DATABASE.to_owned() }],
            collections: Vec::new(),
        }
    }

    pub(crate) fn database(&self, name: &str) -> Result<&DatabaseEntry, EngineError> {
        self.databases
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| EngineError::DatabaseNotFound { name: name.to_owned() })
    }

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
    }
    let mut writer = BlockFileWriter::new(KIND, VERSION);
    writer.add_block(&enc.into_bytes());
    writer.finish()
}

pub(crate) fn decode(bytes: Vec<u8>) -> Result<Catalog, EngineError> {
    let file = BlockFile::parse(CATALOG_KEY, bytes, KIND, VERSION)?;
    let block =
        file.block(0).ok_or_else(|| EngineError::corrupt(CATALOG_KEY, 0, "no catalog block"))?;
    decode_body(&mut Decoder::new(block))
        .map_err(|e| EngineError::corrupt(CATALOG_KEY, e.offset as u64, e.reason))
}

fn decode_body(dec: &mut Decoder<'_>) -> Result<Catalog, CodecError> {
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
        collections.push(CollectionEntry { id, database, name: dec.get_str(max_name)?.to_owned() });
    }
    dec.finish()?;
    Ok(Catalog { next_database_id, next_collection_id, databases, collections })
}
