//! The steps of `quiver bench`: load the dataset, build the index through the engine, measure
//! each search setting, then each again under each filter of `--filter-pass`, and plot.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail, ensure};
use quiver_core::{Column, ColumnData, DataType, FieldSpec, InsertBatch, PkValue, SchemaSpec};
use quiver_engine::{
    Collection, Database, IndexSpec, Options, RowFilter, SearchParams, SearchRequest,
};

use super::dataset::{Dataset, RECALL_K};
use super::plan::{BenchArgs, Plan};
use super::{bandwidth, dataset, filtered, measure, plot};

/// The collection and its fields.
const COLLECTION: &str = "bench";
const PK_FIELD: &str = "id";
const VECTOR_FIELD: &str = "vector";
/// Rows per insert call, fewer for wide vectors so that one call stays near 64 MiB.
const BATCH_ROWS: usize = 10_000;
const BATCH_BYTES: usize = 64 << 20;
/// How often the index build's progress is checked, and how long it may take at most.
const BUILD_POLL: Duration = Duration::from_millis(5);
const BUILD_DEADLINE: Duration = Duration::from_secs(6 * 3600);

/// Runs the benchmark, writing its result lines to `out` and its progress to standard error.
pub(crate) fn run(args: &BenchArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let plan = Plan::new(args)?;
    if let Some(path) = &args.plot {
        // Found out now rather than after a long run.
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        ensure!(
            dir.is_dir(),
            "cannot write {}: {} is not a directory",
            path.display(),
            dir.display()
        );
    }
    let mut data = dataset::open(&args.data)?;
    let shape = data.shape;
    let params: Vec<String> = plan.build_params.iter().map(|(k, v)| format!(" {k}={v}")).collect();
    progress(&format!(
        "{}: {} x {} {}, {} queries; {}{}, {} threads",
        args.data.display(),
        shape.n,
        shape.d,
        shape.metric,
        shape.nq,
        plan.index.as_str(),
        params.concat(),
        plan.threads
    ));

    let parent = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
    // Declared before the database and the collection, so it is removed after they are
    // closed, also when a step fails.
    let scratch = ScratchDir::create(&parent)?;
    let options = Options {
        // Every row in one growing segment, sealed once by `flush`: one segment, one index.
        seal_rows: usize::MAX,
        seal_bytes: usize::MAX,
        maintenance_interval: None,
        index_build_threads: plan.threads,
        ..Options::default()
    };
    let db = Database::open(scratch.path(), options)
        .with_context(|| format!("cannot open a database in {}", scratch.path().display()))?;
    let collection = db.create_collection("default", COLLECTION, schema(shape.d))?;

    let started = Instant::now();
    insert_all(&collection, &mut data)?;
    collection.flush()?;
    progress(&format!(
        "inserted and sealed {} rows in {:.1}s",
        shape.n,
        started.elapsed().as_secs_f64()
    ));

    let spec = IndexSpec::parse(
        VECTOR_FIELD,
        "",
        plan.index.as_str(),
        shape.metric.as_str(),
        &plan.build_params,
    )?;
    let build_s = build_index(&collection, spec, shape.n)?;
    let peak = measure::peak_rss_mib().map_or("unknown".to_owned(), |mib| format!("{mib:.0}"));
    writeln!(out, "build_s={build_s:.2} peak_rss_mb={peak}")?;

    let mut points = Vec::with_capacity(plan.sweep.len());
    for setting in &plan.sweep {
        let search = |i: usize| search_one(&collection, &data, i, setting.params, None);
        let recall_of = |found: &[Vec<i64>]| measure::recall_at_10(found, &data.ground_truth);
        let measured = measure::measure(&search, shape.nq, plan.threads, &recall_of)
            .with_context(|| format!("search with {}", setting.label))?;
        writeln!(
            out,
            "{} recall@10={:.3} qps_1t={:.0} qps_all={:.0}",
            setting.label, measured.recall, measured.qps_1t, measured.qps_all
        )?;
        if setting.params == SearchParams::default() && plan.build_params.is_empty() {
            // FLAT: every query reads every vector once.
            let scan = measured.qps_1t * (shape.n * shape.d * 4) as f64 / 1e9;
            let memory = bandwidth::read_gb_per_s();
            writeln!(
                out,
                "flat_scan_gb_s={scan:.1} mem_read_gb_s={memory:.1} share={:.2}",
                scan / memory
            )?;
        }
        points.push(measured);
    }
    if !plan.filters.is_empty() {
        measure_filtered(args, &plan, &collection, &data, out)?;
    }

    if let Some(path) = &args.plot {
        let series = [
            plot::Series {
                name: "qps_1t",
                color: plot::BLUE,
                points: points.iter().map(|p| (p.recall, p.qps_1t)).collect(),
            },
            plot::Series {
                name: "qps_all",
                color: plot::ORANGE,
                points: points.iter().map(|p| (p.recall, p.qps_all)).collect(),
            },
        ];
        let image = plot::render(&series)?;
        std::fs::write(path, image).with_context(|| format!("cannot write {}", path.display()))?;
        progress(&format!("wrote {}", path.display()));
    }
    Ok(())
}

/// A line of progress for the person waiting, on standard error so that standard output holds
/// only results.
#[allow(clippy::print_stderr)]
fn progress(line: &str) {
    eprintln!("quiver bench: {line}");
}

/// The benchmark collection: the row number as an Int64 key, and the vector.
fn schema(d: usize) -> SchemaSpec {
    SchemaSpec {
        description: "quiver bench".to_owned(),
        fields: vec![
            FieldSpec::primary(PK_FIELD, DataType::Int64),
            // `d` was checked against MAX_DIM, so it fits.
            FieldSpec::new(VECTOR_FIELD, DataType::FloatVector { dim: d as u32 }),
        ],
        enable_dynamic_field: false,
    }
}

/// Inserts every base vector, in batches, with its row number as the key.
fn insert_all(collection: &Collection, data: &mut Dataset) -> anyhow::Result<()> {
    let d = data.shape.d;
    let batch_rows = (BATCH_BYTES / (d * 4)).clamp(1, BATCH_ROWS);
    let mut next_id = 0i64;
    while let Some(vectors) = data.base.next_batch(batch_rows)? {
        let rows = (vectors.len() / d) as i64;
        let ids: Vec<i64> = (next_id..next_id + rows).collect();
        let batch = InsertBatch {
            columns: vec![
                (PK_FIELD.to_owned(), Column::new(ColumnData::Int64(ids))),
                (
                    VECTOR_FIELD.to_owned(),
                    Column::new(ColumnData::FloatVector { dim: d, data: vectors }),
                ),
            ],
        };
        collection
            .insert(None, batch)
            .with_context(|| format!("cannot insert base rows from {next_id}"))?;
        next_id += rows;
    }
    Ok(())
}

/// Defines the index and waits until the engine reports every sealed row indexed; returns the
/// seconds that took.
fn build_index(collection: &Collection, spec: IndexSpec, rows: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    collection.create_index(spec)?;
    loop {
        let infos = collection.indexes();
        if let Some(error) = infos.iter().find_map(|info| info.last_error.as_ref()) {
            bail!("the index build failed: {error}");
        }
        let pending: u64 = infos.iter().map(|info| info.pending_rows).sum();
        if pending == 0 {
            let seconds = started.elapsed().as_secs_f64();
            let total: u64 = infos.iter().map(|info| info.total_rows).sum();
            ensure!(total == rows as u64, "the collection holds {total} rows, not {rows}");
            return Ok(seconds);
        }
        ensure!(
            started.elapsed() < BUILD_DEADLINE,
            "the index build did not finish within {} s ({pending} rows pending)",
            BUILD_DEADLINE.as_secs()
        );
        std::thread::sleep(BUILD_POLL);
    }
}

/// Computes the exact filtered top-10 of every filter of the plan, then measures every search
/// setting under each filter, writing one line per filter and setting.
fn measure_filtered(
    args: &BenchArgs,
    plan: &Plan,
    collection: &Collection,
    data: &Dataset,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let shape = data.shape;
    let started = Instant::now();
    // Row i of the file was inserted with id i, so the filter's predicate on the row number
    // is its predicate on the key.
    let base = dataset::read_base(&args.data, &shape)?;
    let mut truths = Vec::with_capacity(plan.filters.len());
    for filter in &plan.filters {
        truths.push(filtered::exact_top_10(&base, &shape, &data.queries, filter, plan.threads)?);
    }
    // Freed before anything is timed.
    drop(base);
    progress(&format!(
        "computed the exact filtered top-{RECALL_K} for {} filters in {:.1}s",
        plan.filters.len(),
        started.elapsed().as_secs_f64()
    ));

    for (filter, truth) in plan.filters.iter().zip(&truths) {
        for setting in &plan.sweep {
            let search = |i: usize| search_one(collection, data, i, setting.params, Some(filter));
            let recall_of = |found: &[Vec<i64>]| filtered::recall_at_10(found, truth);
            let measured = measure::measure(&search, shape.nq, plan.threads, &recall_of)
                .with_context(|| {
                    format!("search with {} and filter_pass={}", setting.label, filter.pass())
                })?;
            writeln!(
                out,
                "filter_pass={} {} recall@10={:.3} qps_1t={:.0} qps_all={:.0}",
                filter.pass(),
                setting.label,
                measured.recall,
                measured.qps_1t,
                measured.qps_all
            )?;
        }
    }
    Ok(())
}

/// Searches query `i` alone, as a client's one-vector request, and returns the keys found.
fn search_one(
    collection: &Collection,
    data: &Dataset,
    i: usize,
    params: SearchParams,
    filter: Option<&dyn RowFilter>,
) -> anyhow::Result<Vec<i64>> {
    let request = SearchRequest {
        vector_field: None,
        metric: data.shape.metric,
        queries: std::slice::from_ref(&data.queries[i]),
        limit: RECALL_K,
        offset: 0,
        partitions: &[],
        output_fields: &[],
        filter,
        params,
        range: None,
    };
    let results = collection.search(&request)?;
    let hits = results.first().map_or(&[][..], Vec::as_slice);
    hits.iter()
        .map(|hit| match hit.row.pk {
            PkValue::Int64(id) => Ok(id),
            PkValue::VarChar(_) => bail!("the engine returned a VarChar key for an Int64 field"),
        })
        .collect()
}

/// A fresh directory, removed with everything in it when dropped.
pub(super) struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates `quiver-bench-<pid>-<nanos>` under `parent`; fails rather than reuse one.
    pub(super) fn create(parent: &Path) -> anyhow::Result<ScratchDir> {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let path = parent.join(format!("quiver-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path)
            .with_context(|| format!("cannot create the directory {}", path.display()))?;
        Ok(ScratchDir(path))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a leftover directory in the temporary directory is harmless.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
