//! The command's flags, and the plan they make, checked before any file is read: the index's
//! build parameters as a Milvus client sends them, the search settings to measure (one per
//! `ef` or `nprobe`), the filters to measure them under again, and the thread count.

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use anyhow::{bail, ensure};
use quiver_engine::SearchParams;

use super::dataset::RECALL_K;
use super::filtered::{BUCKETS, IdFilter};

/// Most threads accepted by `--threads`.
const MAX_THREADS: usize = 1024;
/// Default sweeps, build parameters, and IVF list count (Milvus's default `nlist`).
const DEFAULT_EF: [usize; 4] = [16, 32, 64, 128];
const DEFAULT_NPROBE: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];
const DEFAULT_M: i64 = 16;
const DEFAULT_EF_CONSTRUCTION: i64 = 200;
const DEFAULT_NLIST: i64 = 128;

#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    /// The dataset: PREFIX.json, PREFIX.base.f32, PREFIX.query.f32 and PREFIX.gt.i32, as
    /// written by ../shared/bench/dataset.py.
    #[arg(long, value_name = "PREFIX")]
    pub(crate) data: PathBuf,
    /// The index to build.
    #[arg(long, value_enum, ignore_case = true, default_value = "HNSW")]
    index: IndexKind,
    /// HNSW: links per node [default: 16].
    #[arg(long)]
    m: Option<i64>,
    /// HNSW: beam width while building [default: 200].
    #[arg(long)]
    ef_construction: Option<i64>,
    /// IVF: number of lists [default: 128].
    #[arg(long)]
    nlist: Option<i64>,
    /// HNSW: search beam widths to measure, comma-separated [default: 16,32,64,128].
    #[arg(long, value_delimiter = ',')]
    ef: Vec<usize>,
    /// IVF: lists probed per search to measure, comma-separated [default: 1,2,4,...,64, up to
    /// nlist].
    #[arg(long, value_delimiter = ',')]
    nprobe: Vec<usize>,
    /// After the unfiltered sweep, measure every search setting again under a filter passing
    /// this share of the rows (`id % 10000 < round(share·10000)`), comma-separated shares in
    /// (0, 1]. The exact filtered top-10 is computed by scanning the base vectors, which are
    /// read into memory for it.
    #[arg(long, value_delimiter = ',', value_name = "SHARES")]
    filter_pass: Option<Vec<f64>>,
    /// Threads for the index build, for qps_all and for the filtered ground truth [default:
    /// the available cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Write a plot of recall@10 against queries/s to this PNG file.
    #[arg(long, value_name = "FILE.png")]
    pub(crate) plot: Option<PathBuf>,
    /// The directory in which the temporary database is created (and removed at the end)
    /// [default: the system's temporary directory].
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

/// The index types the command builds, under Milvus's names.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IndexKind {
    #[value(name = "HNSW")]
    Hnsw,
    #[value(name = "IVF_FLAT")]
    IvfFlat,
    #[value(name = "IVF_SQ8")]
    IvfSq8,
    #[value(name = "FLAT")]
    Flat,
}

impl IndexKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IndexKind::Hnsw => "HNSW",
            IndexKind::IvfFlat => "IVF_FLAT",
            IndexKind::IvfSq8 => "IVF_SQ8",
            IndexKind::Flat => "FLAT",
        }
    }
}

/// What the flags ask for.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) index: IndexKind,
    /// The index's parameters as a Milvus client sends them (`M`, `efConstruction`, `nlist`).
    pub(crate) build_params: Vec<(String, String)>,
    pub(crate) sweep: Vec<Setting>,
    /// The filters under which the sweep is measured again, in the order given.
    pub(crate) filters: Vec<IdFilter>,
    /// Threads for the index build, for `qps_all` and for the filtered ground truth.
    pub(crate) threads: usize,
}

/// One search setting: its label in the output (`ef=64`) and the engine's parameters.
#[derive(Debug)]
pub(crate) struct Setting {
    pub(crate) label: String,
    pub(crate) params: SearchParams,
}

impl Plan {
    pub(crate) fn new(args: &BenchArgs) -> anyhow::Result<Plan> {
        let threads = match args.threads {
            Some(threads) => threads,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        ensure!((1..=MAX_THREADS).contains(&threads), "--threads must be in 1..={MAX_THREADS}");
        let refuse = |given: bool, flag: &str, applies: &str| -> anyhow::Result<()> {
            ensure!(!given, "{flag} applies to {applies} indexes, not {}", args.index.as_str());
            Ok(())
        };
        let hnsw = args.index == IndexKind::Hnsw;
        let ivf = matches!(args.index, IndexKind::IvfFlat | IndexKind::IvfSq8);
        refuse(!hnsw && args.m.is_some(), "--m", "HNSW")?;
        refuse(!hnsw && args.ef_construction.is_some(), "--ef-construction", "HNSW")?;
        refuse(!hnsw && !args.ef.is_empty(), "--ef", "HNSW")?;
        refuse(!ivf && args.nlist.is_some(), "--nlist", "IVF")?;
        refuse(!ivf && !args.nprobe.is_empty(), "--nprobe", "IVF")?;
        let param = |name: &str, value: i64| (name.to_owned(), value.to_string());
        let (build_params, sweep) = match args.index {
            IndexKind::Hnsw => {
                let m = args.m.unwrap_or(DEFAULT_M);
                let ef_construction = args.ef_construction.unwrap_or(DEFAULT_EF_CONSTRUCTION);
                let efs = if args.ef.is_empty() { DEFAULT_EF.to_vec() } else { args.ef.clone() };
                let sweep = efs
                    .into_iter()
                    .map(|ef| {
                        ensure!(
                            ef >= RECALL_K,
                            "--ef values must be at least {RECALL_K}, the k searched"
                        );
                        Ok(Setting { label: format!("ef={ef}"), params: hnsw_params(ef) })
                    })
                    .collect::<anyhow::Result<_>>()?;
                (vec![param("M", m), param("efConstruction", ef_construction)], sweep)
            }
            IndexKind::IvfFlat | IndexKind::IvfSq8 => {
                let nlist = args.nlist.unwrap_or(DEFAULT_NLIST);
                let nprobes = if args.nprobe.is_empty() {
                    DEFAULT_NPROBE.iter().copied().filter(|p| *p as i64 <= nlist).collect()
                } else {
                    args.nprobe.clone()
                };
                ensure!(!nprobes.is_empty(), "--nlist {nlist} leaves no nprobe to measure");
                let sweep = nprobes
                    .into_iter()
                    .map(|nprobe| Setting {
                        label: format!("nprobe={nprobe}"),
                        params: ivf_params(nprobe),
                    })
                    .collect();
                (vec![param("nlist", nlist)], sweep)
            }
            IndexKind::Flat => {
                let exact = Setting { label: "flat".to_owned(), params: SearchParams::default() };
                (Vec::new(), vec![exact])
            }
        };
        let filters = match &args.filter_pass {
            None => Vec::new(),
            Some(shares) => filters(shares)?,
        };
        Ok(Plan { index: args.index, build_params, sweep, filters, threads })
    }
}

/// The filters of `--filter-pass`: at least one, each share in (0, 1] and passing at least one
/// bucket, no two passing the same rows.
fn filters(shares: &[f64]) -> anyhow::Result<Vec<IdFilter>> {
    ensure!(!shares.is_empty(), "--filter-pass needs at least one share");
    let mut filters: Vec<IdFilter> = Vec::with_capacity(shares.len());
    for &share in shares {
        // Also refuses NaN.
        ensure!(share > 0.0 && share <= 1.0, "--filter-pass values must be in (0, 1], not {share}");
        let filter = IdFilter::new(share);
        ensure!(
            filter.below() > 0,
            "--filter-pass {share} passes no row: shares below {} round to 0 ids in {BUCKETS}",
            0.5 / BUCKETS as f64
        );
        if let Some(same) = filters.iter().find(|f| f.below() == filter.below()) {
            if same.pass() == share {
                bail!("--filter-pass lists {share} twice");
            }
            bail!(
                "--filter-pass {} and {share} pass the same rows (id % {BUCKETS} < {})",
                same.pass(),
                filter.below()
            );
        }
        filters.push(filter);
    }
    Ok(filters)
}

/// HNSW's search parameters.
fn hnsw_params(ef: usize) -> SearchParams {
    SearchParams { ef: Some(ef), nprobe: None }
}

/// IVF's search parameters.
fn ivf_params(nprobe: usize) -> SearchParams {
    SearchParams { ef: None, nprobe: Some(nprobe) }
}
