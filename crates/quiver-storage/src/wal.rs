//! The write-ahead log of one collection: records with contiguous log sequence numbers (LSNs),
//! written with group commit, recovered at open.
//!
//! A log lives in a directory key (e.g. `collections/7/wal`) as a sequence of files, each named
//! by the LSN of its first record (`00000000000000000001.wal`); its `format` submodule documents the bytes.
//! LSNs are `u64`, start at 1 and grow by exactly 1 per record across files. Writers call
//! [`Wal::append`] (no IO, returns the LSN) and then [`Wal::wait_durable`], which shares one
//! write and one fsync among all concurrent writers (see the `writer` submodule). A checkpoint calls
//! [`Wal::rotate`] and, once the checkpoint is durable, [`Wal::remove_files_through`].
//!
//! # Media assumption and recovery rules
//!
//! We assume what a crash of the process (or of the machine, after whose restart the file
//! system is consistent) can do to the log: data that was fsynced is intact, and data written
//! after the last fsync may be missing from the end of the file, either cut short or read back
//! as zero bytes where the file was extended before its data reached the disk. Bytes are never
//! silently changed in place. Rotation syncs a file before the next one is created, so only the
//! end of the *last* file can be affected. Hence, at [`Wal::open`]:
//!
//! * only the last record of the last file may be *torn*: the file ends inside its frame (fewer
//!   bytes than a frame header remain, or the frame header is valid per its CRC but the payload
//!   extends past the end of the file), or every byte from the record start to the end of the
//!   file is zero. A torn record is cut off (with [`crate::Backend::truncate`]) and the log
//!   continues after the last good record. Likewise a last file whose header is incomplete or
//!   all zero (a crash while rotating) is re-initialised;
//! * anything else is [`crate::StorageError::Corrupt`] naming the file key and the byte offset
//!   of the damaged record: a header or payload CRC mismatch in a record whose bytes are all
//!   present, a bad record followed by more bytes, a bad file header, a non-contiguous LSN, any
//!   damage in a file other than the last.
//!
//! A single flipped byte anywhere in the log is therefore always detected (it cannot turn a
//! complete record into a torn one: a torn record is recognised only by the file length or by a
//! run of zeros), while a crash in the middle of an append recovers cleanly.
//!
//! Through [`crate::EncryptedBackend`] the same rules hold one layer down: each commit round is
//! one encrypted frame of whole records, a torn frame is dropped (and cut off when the file is
//! reopened for appending) before the log reads the file, and damage is an authentication
//! failure naming the file.

mod format;
mod recovery;
mod writer;

#[cfg(test)]
mod test_support;

pub use format::MAX_RECORD_PAYLOAD;
pub use recovery::{RecoveryInfo, Replay};
pub use writer::Wal;
