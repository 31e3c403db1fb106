//! The child process of the engine's crash test (`tests/it/crash.rs`), not a tool for users.
//!
//! `quiver-crash-writer <data dir> <seed> [<master key file>]` opens the data directory
//! (encrypted with the key in the file, when one is given), creates the collection
//! `crash` if it is missing, and then writes to it until it is killed: batches of rows are
//! inserted, upserted with new tags, deleted, and now and then the collection is flushed or
//! compacted. The test kills it with SIGKILL at a random moment, reopens the directory and
//! checks that every acknowledged write is there and that no batch is half applied.
//!
//! Protocol on stdout, one line per event, each flushed before the next call starts:
//! * `ready` once the database is open and the existing batches are read;
//! * `begin <op>` before calling the engine, `ack <op>` after the call returned `Ok`, where
//!   `<op>` is `insert <batch> <rows> <tag>`, `upsert <batch> <rows> <tag>`,
//!   `delete <batch> <rows>`, `flush` or `compact`.
//!
//! So at most one operation (the last `begin` without its `ack`) is in flight when the process
//! dies. Batch `b` holds the rows with primary keys `b * 1000 + i` for `i` in `0..rows`; each
//! row's `batch` column is `b` and its `tag` column is the tag of the batch's last write.
//! Vectors are derived from the key and the tag (see [`vector`]; the test has a copy).
//!
//! The next batch number is one above the highest one present in the collection, so a run
//! resumes where the last one stopped. Any error ends the process with a message on stderr and
//! a failing exit code, which the test reports.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use quiver_core::{
    Column, ColumnData, DataType, FieldSpec, InsertBatch, PkValue, SchemaSpec, Value,
};
use quiver_engine::{Collection, Database, Encryption, Options, QueryRequest};
use quiver_storage::MasterKey;

const DIM: usize = 8;
/// Rows per batch are drawn from `1..=MAX_BATCH_ROWS` (fewer than the 1000 keys per batch).
const MAX_BATCH_ROWS: u64 = 200;
/// Above this many live batches, deletes become more frequent, bounding the data set.
const TARGET_LIVE_BATCHES: usize = 150;

type Error = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "quiver-crash-writer: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(seed)) = (args.next(), args.next()) else {
        return Err("usage: quiver-crash-writer <data dir> <seed> [<master key file>]".into());
    };
    let dir = PathBuf::from(dir);
    let mut rng = SplitMix(seed.parse()?);
    let encryption = match args.next() {
        Some(key_file) => Some(Encryption::new(MasterKey::load(&PathBuf::from(key_file))?)),
        None => None,
    };
    // Small segments, so that sealing, log rotation and log file removal happen during a run.
    let options =
        Options { seal_rows: 3000, maintenance_interval: None, encryption, ..Options::default() };
    let db = Database::open(&dir, options)?;
    let collection = if db.has_collection("default", "crash")? {
        db.collection("default", "crash")?
    } else {
        db.create_collection("default", "crash", schema())?
    };
    let mut live = live_batches(&collection)?;
    let mut next_batch = live.keys().next_back().map_or(1, |last| last + 1);
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;

    loop {
        let roll = rng.below(100);
        let delete_share = if live.len() > TARGET_LIVE_BATCHES { 40 } else { 12 };
        // Compaction rewrites every segment holding deletions, so it is kept rare.
        let op = if roll < 1 {
            Op::Compact
        } else if roll < 10 {
            Op::Flush
        } else if roll < 10 + delete_share && !live.is_empty() {
            let batch = pick(&live, &mut rng);
            Op::Delete { batch, rows: live[&batch].0 }
        } else if roll < 25 + delete_share && !live.is_empty() {
            let batch = pick(&live, &mut rng);
            let tag = format!("u{}", rng.below(1_000_000_000));
            Op::Upsert { batch, rows: live[&batch].0, tag }
        } else {
            let batch = next_batch;
            next_batch += 1;
            Op::Insert { batch, rows: 1 + rng.below(MAX_BATCH_ROWS), tag: format!("i{batch}") }
        };
        writeln!(out, "begin {op}")?;
        out.flush()?;
        execute(&collection, &op)?;
        writeln!(out, "ack {op}")?;
        out.flush()?;
        match op {
            Op::Insert { batch, rows, tag } | Op::Upsert { batch, rows, tag } => {
                live.insert(batch, (rows, tag));
            }
            Op::Delete { batch, .. } => {
                live.remove(&batch);
            }
            Op::Flush | Op::Compact => {}
        }
    }
}

enum Op {
    Insert { batch: i64, rows: u64, tag: String },
    Upsert { batch: i64, rows: u64, tag: String },
    Delete { batch: i64, rows: u64 },
    Flush,
    Compact,
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Insert { batch, rows, tag } => write!(f, "insert {batch} {rows} {tag}"),
            Op::Upsert { batch, rows, tag } => write!(f, "upsert {batch} {rows} {tag}"),
            Op::Delete { batch, rows } => write!(f, "delete {batch} {rows}"),
            Op::Flush => write!(f, "flush"),
            Op::Compact => write!(f, "compact"),
        }
    }
}

/// Runs one operation and checks that it affected exactly the rows it should have.
fn execute(collection: &Collection, op: &Op) -> Result<(), Error> {
    let (done, expected) = match op {
        Op::Insert { batch, rows, tag } => {
            (collection.insert(None, rows_of(*batch, *rows, tag))?.count, *rows)
        }
        Op::Upsert { batch, rows, tag } => {
            (collection.upsert(None, rows_of(*batch, *rows, tag))?.count, *rows)
        }
        Op::Delete { batch, rows } => {
            let pks: Vec<PkValue> = (0..*rows).map(|i| PkValue::Int64(id(*batch, i))).collect();
            (collection.delete(&pks)?.count, *rows)
        }
        Op::Flush => return Ok(collection.flush()?),
        Op::Compact => return Ok(collection.compact().map(|_| ())?),
    };
    if done != expected {
        return Err(format!("{op}: the engine reports {done} rows, expected {expected}").into());
    }
    Ok(())
}

/// The batches in the collection: batch number → (rows, tag).
fn live_batches(collection: &Collection) -> Result<BTreeMap<i64, (u64, String)>, Error> {
    let fields = ["batch".to_owned(), "tag".to_owned()];
    let request = QueryRequest {
        filter: None,
        partitions: &[],
        output_fields: &fields,
        offset: 0,
        limit: None,
    };
    let mut live = BTreeMap::new();
    for row in collection.query(&request)? {
        let (Some((_, Value::Int64(batch))), Some((_, Value::VarChar(tag)))) =
            (row.fields.first(), row.fields.get(1))
        else {
            return Err(format!("row {} has unexpected fields", row.pk).into());
        };
        let entry = live.entry(*batch).or_insert((0, tag.clone()));
        entry.0 += 1;
    }
    Ok(live)
}

fn pick(live: &BTreeMap<i64, (u64, String)>, rng: &mut SplitMix) -> i64 {
    let index = rng.below(live.len() as u64) as usize;
    live.keys().nth(index).copied().unwrap_or(0)
}

fn id(batch: i64, row: u64) -> i64 {
    batch * 1000 + row as i64
}

fn schema() -> SchemaSpec {
    SchemaSpec {
        description: "crash test".to_owned(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("batch", DataType::Int64),
            FieldSpec::new("tag", DataType::VarChar { max_length: 64 }),
            FieldSpec::new("vec", DataType::FloatVector { dim: DIM as u32 }),
        ],
        enable_dynamic_field: false,
    }
}

fn rows_of(batch: i64, rows: u64, tag: &str) -> InsertBatch {
    let ids: Vec<i64> = (0..rows).map(|i| id(batch, i)).collect();
    let vectors = ids.iter().flat_map(|id| vector(*id, tag)).collect();
    InsertBatch {
        columns: vec![
            ("batch".to_owned(), Column::new(ColumnData::Int64(vec![batch; ids.len()]))),
            ("tag".to_owned(), Column::new(ColumnData::VarChar(vec![tag.to_owned(); ids.len()]))),
            ("vec".to_owned(), Column::new(ColumnData::FloatVector { dim: DIM, data: vectors })),
            ("id".to_owned(), Column::new(ColumnData::Int64(ids))),
        ],
    }
}

/// The vector of the row with key `id` written with `tag`; `tests/it/support.rs` has a copy.
fn vector(id: i64, tag: &str) -> Vec<f32> {
    let salt = tag.bytes().fold(0i64, |acc, b| acc.wrapping_mul(31).wrapping_add(i64::from(b)));
    (0..DIM as i64)
        .map(|k| {
            let x = id.wrapping_mul(7919).wrapping_add(salt).wrapping_add(k * 104_729);
            (x.rem_euclid(2001) - 1000) as f32 / 1000.0
        })
        .collect()
}

/// A small deterministic generator (splitmix64): the binary has no dependency for this.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
