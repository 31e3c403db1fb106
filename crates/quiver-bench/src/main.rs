//! The `quiver-bench` command: benchmarks of the embedded engine, reported as medians of
//! repeated runs so that they can be set beside an anchor measured in the same session.
//!
//! - `ingest` (`ingest.rs`): insert throughput with fsync on, per batch size and writers.
//! - `recovery` (`recovery.rs`): reopen time with the rows in the log, then in segments.
//! - `encryption` (`encryption.rs`): insert, search and reopen with and without encryption at
//!   rest, in one run.
//! - `backup` (`backup.rs`): backup create, verify and restore MB/s beside `cp -r`.
//!
//! `data.rs` generates the rows, `stats.rs` summarizes the repeats, `disk.rs` and `rss.rs`
//! report what the engine left on disk and held in memory, `cpu.rs` the CPU time it used.
//! This file parses arguments only.

// A benchmark reports its figures on standard output.
#![allow(clippy::print_stdout)]

mod backup;
mod cpu;
mod data;
mod disk;
mod encryption;
mod ingest;
mod recovery;
mod rss;
mod stats;

use std::path::PathBuf;

use anyhow::ensure;
use clap::{Parser, Subcommand};
use quiver_engine::MAX_ROWS_PER_WRITE;

#[derive(Parser)]
#[command(
    name = "quiver-bench",
    about = "Benchmarks of the Quiver engine (ingest, recovery, encryption)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Insert throughput (rows/s) with fsync on, per batch size and number of writers.
    Ingest {
        /// Scratch directory for the data (each run uses and removes a subdirectory).
        #[arg(long)]
        data_dir: PathBuf,
        /// Rows per insert call, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,100,10000")]
        batch_sizes: Vec<usize>,
        /// Concurrent writer threads, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,8")]
        writers: Vec<usize>,
        /// Rows per run (rounded up to whole batches); default: a few seconds per run,
        /// depending on the batch size and writers.
        #[arg(long)]
        rows_per_run: Option<usize>,
        /// Runs per configuration; the median is reported.
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Seed of the generated rows.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Reopen time with the rows all in the write-ahead log, then all in sealed segments.
    Recovery {
        /// Scratch directory for the data (uses and removes `DIR/recovery`).
        #[arg(long)]
        data_dir: PathBuf,
        /// Rows in the collection.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Reopens per state; the median is reported.
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Seed of the generated rows.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Leave the data directory in place afterwards.
        #[arg(long)]
        keep: bool,
    },
    /// Backup create, verify and restore MB/s for an encrypted collection, beside `cp -r`.
    Backup {
        /// Scratch directory (uses and removes `DIR/source`, `DIR/backup`, ...).
        #[arg(long)]
        data_dir: PathBuf,
        /// Rows of 128 floats (2,000,000: about 1 GB on disk).
        #[arg(long, default_value_t = 2_000_000)]
        rows: usize,
        /// Runs of each operation; the median is reported.
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Seed of the generated rows.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Insert rows/s, search queries/s and reopen time with and without encryption at rest.
    Encryption {
        /// Scratch directory for the data (each run uses and removes a subdirectory).
        #[arg(long)]
        data_dir: PathBuf,
        /// Rows per run.
        #[arg(long, default_value_t = 200_000)]
        rows: usize,
        /// Rows per insert call.
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        /// Searches per run.
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// Runs per mode; the median is reported.
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Seed of the generated rows.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Ingest { data_dir, batch_sizes, writers, rows_per_run, repeats, seed } => {
            ensure!(
                batch_sizes.iter().all(|b| (1..=MAX_ROWS_PER_WRITE).contains(b)),
                "batch sizes must be between 1 and {MAX_ROWS_PER_WRITE}"
            );
            ensure!(writers.iter().all(|w| *w >= 1), "writers must be at least 1");
            ensure!(repeats >= 1 && rows_per_run != Some(0), "repeats and rows must be positive");
            let config = ingest::IngestConfig {
                data_dir,
                batch_sizes,
                writers,
                rows_per_run,
                repeats,
                seed,
            };
            ingest::run(&config)
        }
        Command::Encryption { data_dir, rows, batch, queries, repeats, seed } => {
            ensure!(
                (1..=MAX_ROWS_PER_WRITE).contains(&batch),
                "the batch size must be between 1 and {MAX_ROWS_PER_WRITE}"
            );
            ensure!(
                rows >= 1 && queries >= 1 && repeats >= 1,
                "rows, queries and repeats must be positive"
            );
            let config =
                encryption::EncryptionConfig { data_dir, rows, batch, queries, repeats, seed };
            encryption::run(&config)
        }
        Command::Backup { data_dir, rows, repeats, seed } => {
            backup::run(&backup::BackupConfig { data_dir, rows, repeats, seed })
        }
        Command::Recovery { data_dir, rows, repeats, seed, keep } => {
            ensure!(rows >= 1 && repeats >= 1, "rows and repeats must be positive");
            recovery::run(&recovery::RecoveryConfig { data_dir, rows, repeats, seed, keep })
        }
    }
}
