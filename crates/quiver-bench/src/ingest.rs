//! `quiver-bench ingest`: insert throughput with fsync on, per batch size and number of
//! concurrent writers.
//!
//! Each configuration runs `repeats` times, each time into a fresh collection in a fresh data
//! directory. W writer threads share the batches round-robin and call `Collection::insert`,
//! which returns only after the fsync covering the write (writers share fsyncs through the
//! log's group commit). The clock covers the whole run, from the moment every writer is ready
//! until the last one is acknowledged; the rows are generated before it starts. Sealing stays
//! at the default thresholds (it is part of the ingest cost) with the background task off,
//! and the report says how many segment files each run sealed and the smallest one.

use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::thread;
use std::time::Instant;

use anyhow::{Context, anyhow, ensure};
use quiver_core::InsertBatch;
use quiver_engine::{Collection, Database, Options};

use crate::data::{self, DATABASE};
use crate::disk;
use crate::stats::{percentile, summarize};

/// What `quiver-bench ingest` measures.
pub(crate) struct IngestConfig {
    pub(crate) data_dir: PathBuf,
    pub(crate) batch_sizes: Vec<usize>,
    pub(crate) writers: Vec<usize>,
    /// Rows per run for every configuration; `None` picks [`default_rows`].
    pub(crate) rows_per_run: Option<usize>,
    pub(crate) repeats: usize,
    pub(crate) seed: u64,
}

/// Rows per run that take roughly 2 to 5 seconds on the 2-core development machine (virtual
/// disk, fdatasync about 0.1 to 0.3 ms): a batch of one row costs one fsync, shared by the
/// writers waiting at the same time; larger batches are bound by validating, encoding,
/// copying and writing the bytes, and the largest runs cross the default seal threshold
/// (256 MiB, about 480,000 rows of this shape), so sealing is part of what they measure.
pub(crate) fn default_rows(batch: usize, writers: usize) -> usize {
    let concurrent = writers > 1;
    match batch {
        1 if concurrent => 30_000,
        1 => 10_000,
        2..=999 if concurrent => 800_000,
        2..=999 => 400_000,
        _ if concurrent => 1_200_000,
        _ => 800_000,
    }
}

/// The batches of one configuration, dealt round-robin to the writers.
struct Plan {
    batch: usize,
    writers: usize,
    batches: usize,
}

impl Plan {
    fn new(batch: usize, writers: usize, rows: usize) -> Plan {
        Plan { batch, writers, batches: rows.div_ceil(batch).max(1) }
    }

    fn rows(&self) -> usize {
        self.batches * self.batch
    }

    /// The rows of writer `writer`, generated ahead of the clock.
    fn work_of(&self, writer: usize, seed: u64) -> Vec<InsertBatch> {
        (writer..self.batches)
            .step_by(self.writers)
            .map(|index| data::batch(seed, (index * self.batch) as i64, self.batch))
            .collect()
    }
}

/// One timed run.
struct Outcome {
    seconds: f64,
    /// Duration of every insert call, in milliseconds.
    call_ms: Vec<f64>,
    /// Sizes in bytes of the segment files the run sealed.
    segments: Vec<u64>,
}

pub(crate) fn run(config: &IngestConfig) -> anyhow::Result<()> {
    let defaults = Options::default();
    println!(
        "# quiver-bench ingest: fsync on (group commit), seal_rows={} seal_bytes={} (defaults), \
         background maintenance off; rows generated before the clock; {} repeats, median",
        defaults.seal_rows, defaults.seal_bytes, config.repeats
    );
    for &batch in &config.batch_sizes {
        for &writers in &config.writers {
            let rows = config.rows_per_run.unwrap_or_else(|| default_rows(batch, writers));
            let plan = Plan::new(batch, writers, rows);
            let mut rates = Vec::with_capacity(config.repeats);
            let mut call_ms = Vec::new();
            let mut segments = Vec::with_capacity(config.repeats);
            let mut smallest_segment: Option<u64> = None;
            for repeat in 0..config.repeats {
                let dir = config.data_dir.join(format!("ingest-b{batch}-w{writers}-r{repeat}"));
                let outcome = run_once(&dir, &plan, config.seed).with_context(|| {
                    format!("ingest batch={batch} writers={writers} repeat={repeat}")
                })?;
                rates.push(plan.rows() as f64 / outcome.seconds);
                call_ms.extend(outcome.call_ms);
                segments.push(outcome.segments.len());
                smallest_segment = outcome.segments.iter().copied().chain(smallest_segment).min();
            }
            let rate = summarize(&rates);
            println!(
                "ingest batch={batch} writers={writers} rows={} rows_per_s_median={:.0} min={:.0} \
                 max={:.0} run_s_median={:.2} sealed_segments={} smallest_segment_mib={} \
                 call_ms_p50={:.2} call_ms_p99={:.2} call_ms_max={:.1}",
                plan.rows(),
                rate.median,
                rate.min,
                rate.max,
                plan.rows() as f64 / rate.median,
                segments.iter().map(usize::to_string).collect::<Vec<_>>().join("/"),
                smallest_segment.map_or_else(|| "-".to_owned(), disk::mib),
                percentile(&call_ms, 50.0),
                percentile(&call_ms, 99.0),
                percentile(&call_ms, 100.0),
            );
        }
    }
    Ok(())
}

fn run_once(dir: &Path, plan: &Plan, seed: u64) -> anyhow::Result<Outcome> {
    let dir = disk::fresh_dir(dir)?;
    let options = Options { maintenance_interval: None, ..Options::default() };
    let db = Database::open(&dir, options)?;
    let collection = db.create_collection(DATABASE, "bench", data::schema())?;
    let work: Vec<Vec<InsertBatch>> =
        (0..plan.writers).map(|writer| plan.work_of(writer, seed)).collect();
    let ready = Barrier::new(plan.writers + 1);
    let (seconds, results) = thread::scope(|scope| {
        let handles: Vec<_> = work
            .into_iter()
            .map(|batches| {
                let (collection, ready) = (&collection, &ready);
                scope.spawn(move || write_all(collection, ready, batches))
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        let results: Vec<_> = handles.into_iter().map(|handle| handle.join()).collect();
        (start.elapsed().as_secs_f64(), results)
    });
    let mut call_ms = Vec::with_capacity(plan.batches);
    for result in results {
        call_ms.extend(result.map_err(|_| anyhow!("a writer thread panicked"))??);
    }
    let count = collection.count();
    ensure!(count == plan.rows() as u64, "{count} rows visible after inserting {}", plan.rows());
    let segments = disk::file_sizes(&disk::collection_dir(&dir, collection.id()).join("segments"))?;
    drop(collection);
    drop(db);
    disk::remove(&dir)?;
    Ok(Outcome { seconds, call_ms, segments })
}

/// One writer: waits for the others, then inserts its batches one call at a time.
fn write_all(
    collection: &Collection,
    ready: &Barrier,
    batches: Vec<InsertBatch>,
) -> anyhow::Result<Vec<f64>> {
    ready.wait();
    let mut call_ms = Vec::with_capacity(batches.len());
    for batch in batches {
        let start = Instant::now();
        collection.insert(None, batch)?;
        call_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(call_ms)
}
