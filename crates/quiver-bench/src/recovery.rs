//! `quiver-bench recovery`: the time to reopen a data directory whose rows are all in the
//! write-ahead log, then all in sealed segments.
//!
//! The rows are inserted with sealing off (no row or byte threshold, no background task), so
//! the log holds every one of them; the database is dropped and reopened `repeats` times
//! (`Database::open` plus `Database::collection`, which is what a restarted server does before
//! it serves). Then `Collection::flush` seals everything and checkpoints the log, and the
//! reopen is timed again. Reopens read files the page cache still holds (warm cache).
//!
//! Memory: `peak_rss_mib` is `VmHWM` after it was reset to the resident size just before
//! the reopen (so it is the reopen's own peak, on top of what the process held); where the
//! kernel refuses the reset it is the process peak, and the line says so.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, ensure};
use quiver_engine::{Database, Options};

use crate::data::{self, DATABASE};
use crate::disk;
use crate::rss;
use crate::stats::summarize;

/// Rows per insert call while the collection is built.
const BUILD_BATCH: usize = 10_000;
/// The benchmark collection's name.
const COLLECTION: &str = "bench";

/// What `quiver-bench recovery` measures.
pub(crate) struct RecoveryConfig {
    pub(crate) data_dir: PathBuf,
    pub(crate) rows: usize,
    pub(crate) repeats: usize,
    pub(crate) seed: u64,
    /// Leave the data directory in place afterwards.
    pub(crate) keep: bool,
}

/// Nothing seals: every row stays in the log until an explicit flush.
fn options() -> Options {
    Options {
        seal_rows: usize::MAX,
        seal_bytes: usize::MAX,
        maintenance_interval: None,
        ..Options::default()
    }
}

pub(crate) fn run(config: &RecoveryConfig) -> anyhow::Result<()> {
    let dir = disk::fresh_dir(&config.data_dir.join("recovery"))?;
    println!(
        "# quiver-bench recovery: {} rows, reopen = Database::open + Database::collection, \
         warm page cache; {} repeats, median",
        config.rows, config.repeats
    );
    let collection_dir = build(config, &dir)?;

    let (files, bytes) = disk::files_in(&collection_dir.join("wal"))?;
    // The resets before each series of reopens lower VmHWM: keep the peak seen before each.
    let mut process_peak = rss::peak_mib();
    let wal = reopen_times(config, &dir)?;
    println!(
        "recovery wal_rows={} open_s_median={:.3} min={:.3} max={:.3} wal_files={files} \
         wal_mib={} peak_rss_mib={} rss_after_open_mib={}",
        config.rows,
        wal.seconds.median,
        wal.seconds.min,
        wal.seconds.max,
        disk::mib(bytes),
        wal.peak,
        wal.rss,
    );

    let start = Instant::now();
    {
        let db = Database::open(&dir, options())?;
        db.collection(DATABASE, COLLECTION)?.flush()?;
    }
    let flush_s = start.elapsed().as_secs_f64();
    let (segment_files, segment_bytes) = disk::files_in(&collection_dir.join("segments"))?;
    let (wal_files, wal_bytes) = disk::files_in(&collection_dir.join("wal"))?;
    println!(
        "# flush (open, replay, seal, checkpoint) took {flush_s:.2}s: {segment_files} segment \
         files of {} MiB, {wal_files} log files of {} MiB left",
        disk::mib(segment_bytes),
        disk::mib(wal_bytes)
    );
    process_peak = max_mib(process_peak, rss::peak_mib());
    let sealed = reopen_times(config, &dir)?;
    println!(
        "recovery sealed_rows={} open_s_median={:.3} min={:.3} max={:.3} segment_files=\
         {segment_files} segment_mib={} peak_rss_mib={} rss_after_open_mib={}",
        config.rows,
        sealed.seconds.median,
        sealed.seconds.min,
        sealed.seconds.max,
        disk::mib(segment_bytes),
        sealed.peak,
        sealed.rss,
    );
    process_peak = max_mib(process_peak, rss::peak_mib());
    println!(
        "recovery process_peak_rss_mib={} (VmHWM over the whole run, build included)",
        rss::fmt_mib(process_peak)
    );
    if !config.keep {
        disk::remove(&dir)?;
    }
    Ok(())
}

/// Inserts the rows (nothing seals) and returns the collection's directory.
fn build(config: &RecoveryConfig, dir: &std::path::Path) -> anyhow::Result<PathBuf> {
    let db = Database::open(dir, options())?;
    let collection = db.create_collection(DATABASE, COLLECTION, data::schema())?;
    let start = Instant::now();
    let mut written = 0;
    while written < config.rows {
        let rows = BUILD_BATCH.min(config.rows - written);
        collection
            .insert(None, data::batch(config.seed, written as i64, rows))
            .with_context(|| format!("inserting rows from {written}"))?;
        written += rows;
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "# built {written} rows in {seconds:.1}s ({:.0} rows/s incl. generating them, batches \
         of {BUILD_BATCH}, 1 writer)",
        written as f64 / seconds
    );
    Ok(disk::collection_dir(dir, collection.id()))
}

/// Reopen times and memory of one state of the directory.
struct Reopens {
    seconds: crate::stats::Summary,
    /// Peak resident MiB during the reopens (see the module documentation).
    peak: String,
    /// Resident MiB with the reopened collection loaded, at the last repeat.
    rss: String,
}

fn reopen_times(config: &RecoveryConfig, dir: &std::path::Path) -> anyhow::Result<Reopens> {
    let reset = rss::reset_peak();
    let mut seconds = Vec::with_capacity(config.repeats);
    let mut rss = None;
    for _ in 0..config.repeats {
        let start = Instant::now();
        let db = Database::open(dir, options())?;
        let collection = db.collection(DATABASE, COLLECTION)?;
        seconds.push(start.elapsed().as_secs_f64());
        rss = rss::current_mib();
        let count = collection.count();
        ensure!(count == config.rows as u64, "{count} rows after reopen, {} written", config.rows);
    }
    let peak = rss::fmt_mib(rss::peak_mib());
    Ok(Reopens {
        seconds: summarize(&seconds),
        peak: if reset { peak } else { format!("{peak}(process)") },
        rss: rss::fmt_mib(rss),
    })
}

fn max_mib(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
