//! `quiver-bench encryption`: what encryption at rest costs, measured with and without it in
//! the same run.
//!
//! Each repeat runs both modes, each into a fresh data directory, alternating which goes first
//! so that drift on a shared machine weighs on both alike. One run:
//! * **insert**: one writer inserts the rows in batches, each call acknowledged after the
//!   fsync of its log record (the log is where encryption sits on the write path: every
//!   commit round is one encrypted frame); rows are generated before the clock;
//! * **flush**: the growing segment is sealed into a segment file (encrypted whole) and the
//!   manifest swapped;
//! * **search**: single-query top-10 L2 searches over the sealed segment (an exact scan, the
//!   same work in both modes: search reads memory, never the files);
//! * **reopen**: `Database::open` + `Database::collection` with the rows in a segment (warm
//!   page cache), which reads and, encrypted, authenticates and decrypts every file.
//!
//! The key is generated in memory (no key file). Figures are medians over the repeats. Each
//! phase also reports the CPU time the process spent in it (user + system, all threads),
//! which moves much less than wall time with the other load of a shared machine: on such a
//! machine compare the CPU figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, ensure};
use quiver_core::{InsertBatch, Metric};
use quiver_engine::{Collection, Database, Encryption, Options, SearchParams, SearchRequest};
use quiver_storage::MasterKey;

use crate::cpu;
use crate::data::{self, DATABASE, DIM};
use crate::disk;
use crate::stats::{Summary, summarize};

/// The benchmark collection's name.
const COLLECTION: &str = "bench";
/// Hits per query.
const TOP_K: usize = 10;

/// What `quiver-bench encryption` measures.
pub(crate) struct EncryptionConfig {
    pub(crate) data_dir: PathBuf,
    pub(crate) rows: usize,
    pub(crate) batch: usize,
    pub(crate) queries: usize,
    pub(crate) repeats: usize,
    pub(crate) seed: u64,
}

/// The figures of one run.
struct Outcome {
    insert_rows_per_s: f64,
    /// CPU microseconds per row inserted.
    insert_cpu_us_per_row: f64,
    flush_s: f64,
    flush_cpu_s: f64,
    search_qps: f64,
    /// CPU milliseconds per search.
    search_cpu_ms: f64,
    reopen_s: f64,
    reopen_cpu_s: f64,
    /// Bytes under the data directory after the flush.
    bytes: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Off,
    On,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::On => "on",
        }
    }
}

pub(crate) fn run(config: &EncryptionConfig) -> anyhow::Result<()> {
    println!(
        "# quiver-bench encryption: {} rows of dim {DIM}, batches of {}, 1 writer, fsync on; \
         {} single-query top-{TOP_K} searches (exact scan of one sealed segment); reopen with \
         a warm page cache; {} repeats alternating the order of the modes, median",
        config.rows, config.batch, config.queries, config.repeats
    );
    let queries = query_vectors(config);
    let master = MasterKey::generate().context("generating a master key")?;
    let mut off = Vec::with_capacity(config.repeats);
    let mut on = Vec::with_capacity(config.repeats);
    for repeat in 0..config.repeats {
        let order = if repeat % 2 == 0 { [Mode::Off, Mode::On] } else { [Mode::On, Mode::Off] };
        for mode in order {
            let dir = config.data_dir.join(format!("encryption-{}-r{repeat}", mode.name()));
            let encryption = (mode == Mode::On).then(|| Encryption::new(master.clone()));
            let outcome = run_once(&dir, encryption, config, &queries)
                .with_context(|| format!("encryption {} repeat {repeat}", mode.name()))?;
            match mode {
                Mode::Off => off.push(outcome),
                Mode::On => on.push(outcome),
            }
        }
    }
    let off = Figures::of(&off);
    let on = Figures::of(&on);
    for (mode, figures) in [(Mode::Off, &off), (Mode::On, &on)] {
        println!(
            "encryption mode={} rows={} insert_rows_per_s_median={:.0} min={:.0} max={:.0} \
             insert_cpu_us_per_row_median={:.2} flush_s_median={:.3} flush_cpu_s_median={:.3} \
             search_qps_median={:.1} \
             min={:.1} max={:.1} search_cpu_ms_median={:.2} reopen_s_median={:.3} min={:.3} \
             max={:.3} reopen_cpu_s_median={:.3} data_mib={}",
            mode.name(),
            config.rows,
            figures.insert.median,
            figures.insert.min,
            figures.insert.max,
            figures.insert_cpu.median,
            figures.flush.median,
            figures.flush_cpu.median,
            figures.search.median,
            figures.search.min,
            figures.search.max,
            figures.search_cpu.median,
            figures.reopen.median,
            figures.reopen.min,
            figures.reopen.max,
            figures.reopen_cpu.median,
            disk::mib(figures.bytes),
        );
    }
    println!(
        "encryption cost wall: insert_rate={:+.1}% search_rate={:+.1}% flush_time={:+.1}% \
         reopen_time={:+.1}%; cpu: insert={:+.1}% flush={:+.1}% search={:+.1}% reopen={:+.1}% \
         (on relative \
         to off, medians; a lower rate or a higher time or CPU is a cost)",
        percent(on.insert.median, off.insert.median),
        percent(on.search.median, off.search.median),
        percent(on.flush.median, off.flush.median),
        percent(on.reopen.median, off.reopen.median),
        percent(on.insert_cpu.median, off.insert_cpu.median),
        percent(on.flush_cpu.median, off.flush_cpu.median),
        percent(on.search_cpu.median, off.search_cpu.median),
        percent(on.reopen_cpu.median, off.reopen_cpu.median),
    );
    Ok(())
}

/// Medians of the runs of one mode.
struct Figures {
    insert: Summary,
    insert_cpu: Summary,
    flush: Summary,
    flush_cpu: Summary,
    search: Summary,
    search_cpu: Summary,
    reopen: Summary,
    reopen_cpu: Summary,
    bytes: u64,
}

impl Figures {
    fn of(outcomes: &[Outcome]) -> Figures {
        let pick = |f: fn(&Outcome) -> f64| summarize(&outcomes.iter().map(f).collect::<Vec<_>>());
        Figures {
            insert: pick(|o| o.insert_rows_per_s),
            insert_cpu: pick(|o| o.insert_cpu_us_per_row),
            flush: pick(|o| o.flush_s),
            flush_cpu: pick(|o| o.flush_cpu_s),
            search: pick(|o| o.search_qps),
            search_cpu: pick(|o| o.search_cpu_ms),
            reopen: pick(|o| o.reopen_s),
            reopen_cpu: pick(|o| o.reopen_cpu_s),
            bytes: outcomes.first().map_or(0, |o| o.bytes),
        }
    }
}

fn percent(on: f64, off: f64) -> f64 {
    (on / off - 1.0) * 100.0
}

/// Query vectors drawn like the rows, from another seed.
fn query_vectors(config: &EncryptionConfig) -> Vec<Vec<f32>> {
    let batch = data::batch(config.seed ^ 0x5eed, 0, config.queries);
    let Some((_, column)) = batch.columns.iter().find(|(name, _)| name == "vec") else {
        return Vec::new();
    };
    match &column.data {
        quiver_core::ColumnData::FloatVector { data, .. } => {
            data.chunks_exact(DIM).map(<[f32]>::to_vec).collect()
        }
        _ => Vec::new(),
    }
}

fn options(encryption: Option<Encryption>) -> Options {
    Options { maintenance_interval: None, encryption, ..Options::default() }
}

/// The rows of one run, in batches, generated before the clock.
fn batches(config: &EncryptionConfig) -> Vec<InsertBatch> {
    (0..config.rows.div_ceil(config.batch))
        .map(|index| {
            let first = index * config.batch;
            data::batch(config.seed, first as i64, config.batch.min(config.rows - first))
        })
        .collect()
}

fn run_once(
    dir: &Path,
    encryption: Option<Encryption>,
    config: &EncryptionConfig,
    queries: &[Vec<f32>],
) -> anyhow::Result<Outcome> {
    let dir = disk::fresh_dir(dir)?;
    let rows = config.rows;
    let batches = batches(config);
    let mut outcome = {
        let db = Database::open(&dir, options(encryption.clone()))?;
        let collection = db.create_collection(DATABASE, COLLECTION, data::schema())?;
        let clock = Clock::start();
        for batch in batches {
            collection.insert(None, batch)?;
        }
        let (insert_s, insert_cpu_s) = clock.stop();
        let clock = Clock::start();
        collection.flush()?;
        let (flush_s, flush_cpu_s) = clock.stop();
        let clock = Clock::start();
        for query in queries {
            search(&collection, query)?;
        }
        let (search_s, search_cpu_s) = clock.stop();
        Outcome {
            insert_rows_per_s: rows as f64 / insert_s,
            insert_cpu_us_per_row: insert_cpu_s * 1e6 / rows as f64,
            flush_s,
            flush_cpu_s,
            search_qps: queries.len() as f64 / search_s,
            search_cpu_ms: search_cpu_s * 1e3 / queries.len() as f64,
            reopen_s: 0.0,
            reopen_cpu_s: 0.0,
            bytes: 0,
        }
    };
    outcome.bytes = disk_bytes(&dir)?;
    let clock = Clock::start();
    let db = Database::open(&dir, options(encryption))?;
    let collection = db.collection(DATABASE, COLLECTION)?;
    (outcome.reopen_s, outcome.reopen_cpu_s) = clock.stop();
    ensure!(collection.count() == rows as u64, "{} rows after reopen", collection.count());
    drop(collection);
    drop(db);
    disk::remove(&dir)?;
    Ok(outcome)
}

/// Wall and CPU time of one phase.
struct Clock {
    wall: Instant,
    cpu: Option<f64>,
}

impl Clock {
    fn start() -> Clock {
        Clock { wall: Instant::now(), cpu: cpu::seconds() }
    }

    /// Wall seconds and CPU seconds (NaN where unknown) since the start.
    fn stop(self) -> (f64, f64) {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = match (self.cpu, cpu::seconds()) {
            (Some(start), Some(end)) => end - start,
            _ => f64::NAN,
        };
        (wall, cpu)
    }
}

fn search(collection: &Collection, query: &[f32]) -> anyhow::Result<()> {
    let queries = [query.to_vec()];
    let request = SearchRequest {
        vector_field: None,
        metric: Metric::L2,
        queries: &queries,
        limit: TOP_K,
        offset: 0,
        partitions: &[],
        output_fields: &[],
        filter: None,
        params: SearchParams::default(),
        range: None,
    };
    let hits = collection.search(&request)?;
    ensure!(hits.first().is_some_and(|h| h.len() == TOP_K), "a search found fewer hits");
    Ok(())
}

/// Total size of the files under `dir`, recursively.
fn disk_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { disk_bytes(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}
