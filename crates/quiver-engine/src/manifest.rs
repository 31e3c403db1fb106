//! The collection manifest (`collections/<id>/MANIFEST`): which partitions and sealed
//! segments exist, which of their rows are deleted, and up to which log sequence number the
//! segments hold everything. It is replaced atomically (write, fsync, rename, fsync directory).

use quiver_storage::codec::{CodecError, Decoder, Encoder};
use quiver_storage::{BlockFile, BlockFileWriter};

use crate::EngineError;
use crate::collection::{MAX_TIMELINE_ENTRIES, Timeline};
use crate::index::{IndexSpec, IndexType};
use crate::options::MAX_PARTITIONS;

const KIND: [u8; 8] = *b"QVMANIFS";
/// Version 2 added the purge horizon and the timeline (point-in-time restore); version 1 is
/// still read (no horizon, an empty timeline).
const VERSION: u32 = 2;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PartitionMeta {
    pub(crate) id: i64,
    pub(crate) name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SegmentMeta {
    pub(crate) id: u64,
    pub(crate) partition: i64,
    pub(crate) rows: u64,
    /// Deleted rows and the LSN of their deletion; only deletions at or below the checkpoint.
    pub(crate) deletes: Vec<(u32, u64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Manifest {
    /// Every log record at or below this LSN is reflected in the sealed segments and their
    /// deletes; recovery replays only the records above it.
    pub(crate) checkpoint_lsn: u64,
    pub(crate) next_segment_id: u64,
    pub(crate) next_partition_id: i64,
    pub(crate) next_auto_id: i64,
    pub(crate) partitions: Vec<PartitionMeta>,
    pub(crate) segments: Vec<SegmentMeta>,
    /// The vector indexes defined on the collection (their per-segment files are derived
    /// data, rebuilt when missing or damaged).
    pub(crate) indexes: Vec<IndexSpec>,
    /// Compaction has purged the rows deleted at or below this LSN: no restore can see a
    /// state before it.
    pub(crate) purged_through_lsn: u64,
    /// `(unix millis, lsn)` entries of the collection's timeline, at or below the checkpoint.
    pub(crate) timeline: Vec<(u64, u64)>,
    /// Partitions in the collection's recycle bin, with the unix millis of their drop; their
    /// segments stay listed in `segments` until purged.
    pub(crate) dropped_partitions: Vec<(PartitionMeta, u64)>,
}

pub(crate) fn encode(manifest: &Manifest) -> Vec<u8> {
    let mut enc = Encoder::new();
    enc.put_u64(manifest.checkpoint_lsn);
    enc.put_u64(manifest.next_segment_id);
    enc.put_i64(manifest.next_partition_id);
    enc.put_i64(manifest.next_auto_id);
    enc.put_len(manifest.partitions.len());
    for partition in &manifest.partitions {
        enc.put_i64(partition.id);
        enc.put_str(&partition.name);
    }
    enc.put_len(manifest.segments.len());
    for segment in &manifest.segments {
        enc.put_u64(segment.id);
        enc.put_i64(segment.partition);
        enc.put_u64(segment.rows);
        enc.put_len(segment.deletes.len());
        for (row, lsn) in &segment.deletes {
            enc.put_u32(*row);
            enc.put_u64(*lsn);
        }
    }
    enc.put_len(manifest.indexes.len());
    for spec in &manifest.indexes {
        enc.put_str(&spec.field);
        enc.put_str(&spec.index_name);
        enc.put_str(spec.index_type.as_str());
        enc.put_str(spec.metric.map_or("", |m| m.as_str()));
        // AUTOINDEX's build parameters are implied by the type (and refused when given), so
        // only the type is stored.
        let params = match spec.index_type {
            IndexType::AutoIndex => Vec::new(),
            _ => spec.params(),
        };
        enc.put_len(params.len());
        for (key, value) in &params {
            enc.put_str(key);
            enc.put_str(value);
        }
    }
    enc.put_u64(manifest.purged_through_lsn);
    enc.put_len(manifest.timeline.len());
    for (ms, lsn) in &manifest.timeline {
        enc.put_u64(*ms);
        enc.put_u64(*lsn);
    }
    enc.put_len(manifest.dropped_partitions.len());
    for (partition, dropped_ms) in &manifest.dropped_partitions {
        enc.put_i64(partition.id);
        enc.put_str(&partition.name);
        enc.put_u64(*dropped_ms);
    }
    let mut writer = BlockFileWriter::new(KIND, VERSION);
    writer.add_block(&enc.into_bytes());
    writer.finish()
}

pub(crate) fn decode(path: &str, bytes: Vec<u8>) -> Result<Manifest, EngineError> {
    let file = BlockFile::parse(path, bytes, KIND, VERSION)?;
    let block = file.block(0).ok_or_else(|| EngineError::corrupt(path, 0, "no manifest block"))?;
    let mut dec = Decoder::new(block);
    let codec = |e: CodecError| EngineError::corrupt(path, e.offset as u64, e.reason);
    let mut manifest = decode_body(&mut dec).map_err(codec)?;
    let n_indexes = dec.get_len(quiver_core::MAX_FIELDS as u64).map_err(codec)?;
    for _ in 0..n_indexes {
        let at = dec.position() as u64;
        let texts = decode_index(&mut dec).map_err(codec)?;
        let (field, name, index_type, metric, params) = texts;
        let spec = IndexSpec::parse(&field, &name, &index_type, &metric, &params)
            .map_err(|e| EngineError::corrupt(path, at, format!("stored index: {e}")))?;
        manifest.indexes.push(spec);
    }
    if file.version() >= 2 {
        manifest.purged_through_lsn = dec.get_u64().map_err(codec)?;
        let n = dec.get_len(MAX_TIMELINE_ENTRIES as u64).map_err(codec)?;
        let mut entries = Vec::with_capacity(n.min(dec.remaining() / 16));
        for _ in 0..n {
            entries.push((dec.get_u64().map_err(codec)?, dec.get_u64().map_err(codec)?));
        }
        if Timeline::from_entries(entries.clone()).is_none() {
            return Err(EngineError::corrupt(path, 0, "timeline entries are not increasing"));
        }
        manifest.timeline = entries;
        let n = dec.get_len(MAX_PARTITIONS as u64).map_err(codec)?;
        for _ in 0..n {
            let id = dec.get_i64().map_err(codec)?;
            let name = dec.get_str(quiver_core::MAX_NAME_LEN as u64).map_err(codec)?.to_owned();
            let dropped_ms = dec.get_u64().map_err(codec)?;
            manifest.dropped_partitions.push((PartitionMeta { id, name }, dropped_ms));
        }
    }
    dec.finish().map_err(codec)?;
    Ok(manifest)
}

type IndexTexts = (String, String, String, String, Vec<(String, String)>);

fn decode_index(dec: &mut Decoder<'_>) -> Result<IndexTexts, CodecError> {
    let max = quiver_core::MAX_NAME_LEN as u64;
    let field = dec.get_str(max)?.to_owned();
    let name = dec.get_str(max)?.to_owned();
    let index_type = dec.get_str(32)?.to_owned();
    let metric = dec.get_str(32)?.to_owned();
    let n_params = dec.get_len(16)?;
    let mut params = Vec::with_capacity(n_params);
    for _ in 0..n_params {
        params.push((dec.get_str(64)?.to_owned(), dec.get_str(64)?.to_owned()));
    }
    Ok((field, name, index_type, metric, params))
}

fn decode_body(dec: &mut Decoder<'_>) -> Result<Manifest, CodecError> {
    let checkpoint_lsn = dec.get_u64()?;
    let next_segment_id = dec.get_u64()?;
    let next_partition_id = dec.get_i64()?;
    let next_auto_id = dec.get_i64()?;
    let n_partitions = dec.get_len(MAX_PARTITIONS as u64)?;
    let mut partitions = Vec::with_capacity(n_partitions);
    for _ in 0..n_partitions {
        let id = dec.get_i64()?;
        let name = dec.get_str(quiver_core::MAX_NAME_LEN as u64)?.to_owned();
        partitions.push(PartitionMeta { id, name });
    }
    // A segment entry takes at least 32 bytes, a delete 12: counts are bounded by what remains.
    let n_segments = dec.get_len(dec.remaining() as u64 / 32)?;
    let mut segments = Vec::with_capacity(n_segments);
    for _ in 0..n_segments {
        let id = dec.get_u64()?;
        let partition = dec.get_i64()?;
        let rows = dec.get_u64()?;
        let n_deletes = dec.get_len(dec.remaining() as u64 / 12)?;
        let mut deletes = Vec::with_capacity(n_deletes);
        for _ in 0..n_deletes {
            deletes.push((dec.get_u32()?, dec.get_u64()?));
        }
        segments.push(SegmentMeta { id, partition, rows, deletes });
    }
    Ok(Manifest {
        checkpoint_lsn,
        next_segment_id,
        next_partition_id,
        next_auto_id,
        partitions,
        segments,
        indexes: Vec::new(),
        purged_through_lsn: 0,
        timeline: Vec::new(),
        dropped_partitions: Vec::new(),
    })
}
