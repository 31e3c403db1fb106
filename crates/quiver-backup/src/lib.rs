//! Verified backups of a Quiver data directory: [`create`] copies it (while a server may be
//! writing it, without taking its lock), [`verify`] checks a backup against its signed
//! manifest, [`restore`] copies a verified backup into a new directory and proves it opens.
//!
//! # Format
//!
//! A backup is a directory: `data/` holds the data directory's files under their own
//! relative paths, byte for byte (so encrypted as they are on disk: a backup is useless
//! without the master key, which is never copied); `manifest.json` lists every directory and
//! file with its size and BLAKE3 hash ([`Manifest`]); `manifest.sig` is the HMAC-SHA256 of
//! the manifest's exact bytes under a key derived from the master key. The manifest and its
//! signature are written last, after every file and directory is fsynced: a backup without a
//! valid signature is incomplete, and [`verify`] says so. Not copied: the lock, the TLS
//! material, the initial root password, the audit log (it has its own key and verifier),
//! temporary files (see `quiver_engine::layout`). Where the backup is written is the
//! `target` module's `Target` and where it is read from the `source` module's `Source`: a
//! local directory, or `s3://bucket/prefix` in an object store ([`Location`], the `object`
//! module: the same layout as keys under the prefix, without directory objects).
//!
//! # Why a copy taken beside a running server is a state the database was in
//!
//! The copy relies on the engine's invariants (`quiver_engine::layout`, verified in
//! `collection/seal.rs`, `collection/mod.rs`, `database.rs` and `quiver-storage`'s log):
//! the catalog, keyring, security store and each collection's `MANIFEST` are replaced
//! atomically by rename; segment and index files are immutable; every manifest change writes
//! its new files first, swaps the manifest, then deletes the files it no longer references;
//! log files are append-only, only the last one grows, and a torn tail is cut off at open;
//! orphans are removed at open. Each collection is copied like this:
//!
//! 1. read the `MANIFEST` bytes `M`;
//! 2. copy every other file of the collection (schema, segments, indexes, then the log files
//!    in name order, which is log order), each through one open descriptor;
//! 3. read `MANIFEST` again: if its bytes differ from `M` (every rewrite changes them; an
//!    encrypted rewrite draws a new salt), or a file vanished during step 2, go back to step
//!    1 (at most [`COLLECTION_ATTEMPTS`] times, then [`BackupError::Unstable`]). A retry
//!    copies the log again but keeps the immutable files it already copied whole (same inode
//!    and size at the source), so it takes little time even while the server seals often.
//!
//! If `MANIFEST` held `M` at both reads, it held `M` throughout (manifests only move
//! forward), so no manifest swap happened during the copy, so no file `M` references was
//! deleted (deletion follows a swap): every segment `M` names was complete before `M` was
//! written and is in the copy (a copy kept from an earlier attempt too: a file still being
//! written when it was copied has grown since, so its size differs and it is copied again).
//! The log files that hold the records above `M`'s checkpoint
//! are removed only after a later checkpoint's swap, so they are in the copy too; each is
//! copied after the previous one, so together they hold a prefix of the log: all records up
//! to some point, the last possibly torn, which the engine cuts off at open (a record is one
//! write call, so a batch is all in or all out). Files written after the listing (new
//! segments of a seal in progress, new index files) are either absent or not referenced by
//! `M`: orphans, removed at open, or indexes, rebuilt. So the restored collection is `M`'s
//! segments plus a prefix of the log above its checkpoint: exactly the collection as it was
//! after some write, the state a crash at that moment would have left.
//!
//! Across collections: the catalog and keyring are read before and after everything; if
//! either changed (a collection created, dropped or renamed, a key added), the whole copy
//! starts over (at most [`ROUNDS`] times). With both unchanged, the set of collections and
//! their keys is the one the catalog names, and each collection is in a state it was in
//! during the copy. Collections are not copied at one instant: like Milvus, Quiver has no
//! transaction across collections, so each collection is consistent on its own, not all of
//! them at one point in time.

mod create;
mod error;
mod fsio;
mod location;
pub mod manifest;
mod object;
pub mod path;
mod progress;
mod restore;
mod source;
mod target;
mod verify;

pub use create::{COLLECTION_ATTEMPTS, ROUNDS, create, create_at};
pub use error::{BackupError, Result};
pub use location::{Location, S3_SCHEME, S3Location};
pub use manifest::{FileEntry, Manifest};
pub use progress::Progress;
pub use restore::{restore, restore_at};
pub use verify::{verify, verify_at};
