//! Vector indexes in the engine: their definitions (`spec.rs`), the structure built per sealed
//! segment and its file (`built.rs`), and the background builder (`builder.rs`).

mod builder;
mod built;
mod spec;

pub(crate) use builder::BuildQueue;
pub use built::SearchParams;
pub(crate) use built::{BuiltIndex, index_key};
pub use spec::{
    AUTOINDEX_EF_CONSTRUCTION, AUTOINDEX_M, AUTOINDEX_MIN_ROWS, BuildParams, DEFAULT_EF,
    DEFAULT_NLIST, DEFAULT_NPROBE, IndexSpec, IndexType,
};
