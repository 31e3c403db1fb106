//! Quiver's storage layer: checksummed files, the write-ahead log with group commit, and the
//! storage backends everything is written through.
//!
//! * [`Backend`] is the seam to the medium: files named by relative `/`-separated keys, whole-file
//!   reads and writes, and append-only files for the log. [`LocalBackend`] stores them in a
//!   local directory; [`FaultyBackend`] wraps another backend and injects failures for tests;
//!   [`EncryptedBackend`] wraps another backend and encrypts and authenticates every file
//!   (`crypt`: [`MasterKey`], the keyring of data keys, [`rotate_master_key`]).
//! * [`codec`] is the little-endian binary codec for payloads: every decoded length bounded.
//! * [`BlockFile`] is the versioned, checksummed container of every immutable file.
//! * [`Wal`] is the write-ahead log of one collection.
//!
//! Nothing here panics on bytes read from storage: damage is [`StorageError::Corrupt`] with the
//! file key and the offset of the damaged part.

mod backend;
mod block_file;
pub mod codec;
mod crypt;
mod error;
mod faulty;
mod key;
mod local;
pub mod wal;

pub use backend::{AppendFile, Backend};
pub use block_file::{BlockFile, BlockFileWriter};
pub use codec::{CodecError, Decoder, Encoder};
pub use crypt::{
    DerivedKey, EncryptedBackend, KEY_LEN, KEYRING_KEY, KeyId, MASTER_KEY_PREFIX, MasterKey, Scope,
    is_encrypted_file, rotate_master_key,
};
pub use error::{Result, StorageError};
pub use faulty::{FaultPlan, FaultyBackend};
pub use key::{MAX_KEY_LEN, validate_key};
pub use local::LocalBackend;
pub use wal::{MAX_RECORD_PAYLOAD, RecoveryInfo, Replay, Wal};
