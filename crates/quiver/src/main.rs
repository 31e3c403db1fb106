//! The `quiver` command. Today it runs the quickstart against the embedded engine and the
//! index benchmark (`quiver bench`); the server (`quiver serve`) and the operator's tools join
//! it as their issues land.

// A command-line tool reports to its user on standard output.
#![allow(clippy::print_stdout)]

mod bench;
mod quickstart;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "quiver",
    version,
    about = "A secure-by-default, Milvus-compatible vector database"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a collection in a local data directory, insert rows, search them, and show
    /// that the data survives a reopen.
    Quickstart {
        /// The data directory (created when missing).
        #[arg(long, default_value = "./quiver-data")]
        data_dir: PathBuf,
        /// Rows to insert.
        #[arg(long, default_value_t = 10_000)]
        rows: usize,
    },
    /// Build a vector index over a benchmark dataset through the engine and measure build
    /// time, peak memory, recall@10 and queries/s per search setting.
    Bench(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Quickstart { data_dir, rows } => quickstart::run(&data_dir, rows),
        Command::Bench(args) => bench::run(&args, &mut std::io::stdout().lock()),
    }
}
