//! `quiver-bench backup`: backup create, verify and restore speed in MB/s for an encrypted,
//! flushed collection (about 1 GB with the defaults: 2,000,000 rows of 128 floats), beside
//! anchors measured in the same run on the same directory: `cp -r`; a plain copy in this
//! process (1 MiB buffer, no hashing), without and with an fsync per file; and opening the
//! restored directory alone (the part of `restore+open` that is the engine's open).
//!
//! `create` and `restore` fsync every file they write and hash every byte; `verify` reads
//! and hashes every byte; `restore` also opens the restored directory (which reads and
//! decrypts every segment). The page cache is warm for all of them, so these are CPU and
//! write-bandwidth figures, not cold-read ones. Figures are medians of the repeats; each
//! repeat runs every operation once, in the same order.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, ensure};
use quiver_engine::{Database, Encryption, Options};
use quiver_storage::MasterKey;

use crate::data::{self, DATABASE};
use crate::disk;
use crate::stats::summarize;

/// The benchmark collection's name.
const COLLECTION: &str = "bench";
/// Rows per insert call while building the collection.
const BUILD_BATCH: usize = 10_000;

/// What `quiver-bench backup` measures.
pub(crate) struct BackupConfig {
    pub(crate) data_dir: PathBuf,
    pub(crate) rows: usize,
    pub(crate) repeats: usize,
    pub(crate) seed: u64,
}

pub(crate) fn run(config: &BackupConfig) -> anyhow::Result<()> {
    ensure!(config.rows >= 1 && config.repeats >= 1, "rows and repeats must be positive");
    let root = &config.data_dir;
    fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    let source = disk::fresh_dir(&root.join("source"))?;
    let master = MasterKey::generate()?;
    let started = Instant::now();
    build(&source, &master, config)?;
    let bytes = tree_bytes(&source)?;
    println!(
        "backup: {} rows x {} floats, encrypted and flushed: {} MiB in {:.1}s",
        config.rows,
        data::DIM,
        disk::mib(bytes),
        started.elapsed().as_secs_f64()
    );
    let mb = bytes as f64 / 1e6;
    let names = [
        "cp -r (anchor)",
        "plain copy (anchor)",
        "plain copy+fsync (anchor)",
        "create",
        "verify",
        "restore+open",
        "open alone (anchor)",
    ];
    let mut secs: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for _ in 0..config.repeats {
        let copy = disk::fresh_dir(&root.join("cp"))?;
        secs[0].push(timed(|| {
            let status = Command::new("cp").arg("-r").arg(&source).arg(&copy).status()?;
            ensure!(status.success(), "cp -r failed: {status}");
            Ok(())
        })?);
        disk::remove(&copy)?;
        let copy = disk::fresh_dir(&root.join("plain"))?;
        secs[1].push(timed(|| plain_copy(&source, &copy, false))?);
        disk::remove(&copy)?;
        let copy = disk::fresh_dir(&root.join("plain"))?;
        secs[2].push(timed(|| plain_copy(&source, &copy, true))?);
        disk::remove(&copy)?;
        let backup = disk::fresh_dir(&root.join("backup"))?;
        secs[3].push(timed(|| {
            Ok(quiver_backup::create(&source, &backup, &master, &mut ()).map(drop)?)
        })?);
        secs[4].push(timed(|| Ok(quiver_backup::verify(&backup, &master, &mut ()).map(drop)?))?);
        let restored = disk::fresh_dir(&root.join("restored"))?;
        secs[5].push(timed(|| {
            Ok(quiver_backup::restore(&backup, &restored, &master, &mut ()).map(drop)?)
        })?);
        secs[6].push(timed(|| {
            drop(Database::open(&restored, options(&master))?);
            Ok(())
        })?);
        disk::remove(&restored)?;
        disk::remove(&backup)?;
    }
    println!("operation                  MB/s (median)   range of {} runs", config.repeats);
    for (name, runs) in names.iter().zip(&secs) {
        let rates: Vec<f64> = runs.iter().map(|s| mb / s).collect();
        let summary = summarize(&rates);
        println!(
            "{name:<26} {:>10.0}        {:.0}..{:.0}",
            summary.median, summary.min, summary.max
        );
    }
    disk::remove(&source)?;
    Ok(())
}

/// The encrypted collection: inserted in batches, then flushed into segments.
fn build(dir: &Path, master: &MasterKey, config: &BackupConfig) -> anyhow::Result<()> {
    let db = Database::open(dir, options(master))?;
    let collection = db.create_collection(DATABASE, COLLECTION, data::schema())?;
    let mut first = 0;
    while first < config.rows {
        let rows = BUILD_BATCH.min(config.rows - first);
        collection.insert(None, data::batch(config.seed, first as i64, rows))?;
        first += rows;
    }
    collection.flush()?;
    Ok(())
}

/// Encrypted, no background sealing, one index build thread (as `restore` opens).
fn options(master: &MasterKey) -> Options {
    Options {
        encryption: Some(Encryption::new(master.clone())),
        maintenance_interval: None,
        index_build_threads: 1,
        ..Options::default()
    }
}

/// Seconds taken by `op`.
fn timed(op: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let started = Instant::now();
    op()?;
    Ok(started.elapsed().as_secs_f64())
}

/// The total size of the regular files under `dir`.
fn tree_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += tree_bytes(&entry.path())?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// Copies the regular files under `from` to `to` with a 1 MiB buffer, without hashing;
/// `fsync`: each file is fsynced, as `create` and `restore` do.
fn plain_copy(from: &Path, to: &Path, fsync: bool) -> anyhow::Result<()> {
    fs::create_dir(to)?;
    let mut buf = vec![0u8; 1 << 20];
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            plain_copy(&entry.path(), &target, fsync)?;
        } else if kind.is_file() {
            let mut src = fs::File::open(entry.path())?;
            let mut dst = fs::File::create(&target)?;
            loop {
                let n = src.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                dst.write_all(&buf[..n])?;
            }
            if fsync {
                dst.sync_all()?;
            }
        }
    }
    Ok(())
}
