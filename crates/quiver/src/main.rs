//! The `quiver` command: the server (`quiver serve`), the security check of a configuration
//! (`quiver doctor`), the embedded quickstart and the index benchmark (`quiver bench`).

// A command-line tool reports to its user on standard output.
#![allow(clippy::print_stdout)]

mod audit;
mod backup;
mod bench;
mod config;
mod doctor;
mod keys;
mod quickstart;
mod serve;
mod trash;

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
    /// Serve the Milvus gRPC API (pymilvus works unchanged) with TLS and authentication.
    Serve(ServeArgs),
    /// List the insecure settings and file permissions of a configuration and a data
    /// directory, with the fix for each. Exits 1 when `serve` would refuse to start.
    Doctor {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        insecure: bool,
    },
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
    /// Manage the master key of encryption at rest.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Verify or read the tamper-evident audit log of a data directory.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Create, verify and restore verified backups of a data directory.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// The recycle bin: list, restore or purge dropped collections, and point-in-time restore.
    #[command(subcommand)]
    Trash(trash::TrashCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-wrap every data key under a new master key (the data files are not rewritten) and
    /// replace the key file. Stop the server first.
    Rotate {
        #[arg(long)]
        data_dir: PathBuf,
        /// The current key file [default: DIR.master-key]; it receives the new key.
        #[arg(long)]
        master_key_file: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// The data directory (created with mode 0700 when missing).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The listen address [default: 127.0.0.1:19530].
    #[arg(long)]
    listen: Option<String>,
    /// A TOML config file (listen, data_dir, [tls] cert, key, client_ca, enabled).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Serve plaintext (only on a loopback address). Authentication stays on.
    #[arg(long)]
    insecure: bool,
    /// The master key of encryption at rest [default: DIR.master-key, beside the data
    /// directory; generated on a first start]. QUIVER_MASTER_KEY may hold the key instead.
    #[arg(long)]
    master_key_file: Option<PathBuf>,
    /// The key of the tamper-evident audit log [default: DIR.audit-key, beside the data
    /// directory; generated on a first start].
    #[arg(long)]
    audit_key_file: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(&config::CliSettings {
            data_dir: args.data_dir,
            listen: args.listen,
            config: args.config,
            insecure: args.insecure,
            master_key_file: args.master_key_file,
            audit_key_file: args.audit_key_file,
        }),
        Command::Doctor { config, data_dir, listen, insecure } => {
            let findings = doctor::examine(&config::CliSettings {
                data_dir,
                listen,
                config,
                insecure,
                master_key_file: None,
                audit_key_file: None,
            });
            for finding in &findings {
                println!("{finding}");
            }
            if findings.is_empty() {
                println!("no insecure settings found");
            }
            if findings.iter().any(|f| f.severity == doctor::Severity::Refuse) {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Quickstart { data_dir, rows } => quickstart::run(&data_dir, rows),
        Command::Bench(args) => bench::run(&args, &mut std::io::stdout().lock()),
        Command::Keys(KeysCommand::Rotate { data_dir, master_key_file }) => {
            let file = master_key_file.unwrap_or_else(|| keys::default_master_key_path(&data_dir));
            keys::rotate(&data_dir, &file)
        }
        Command::Trash(command) => trash::run(command),
        Command::Backup(command) => backup::run(command),
        Command::Audit(command) => {
            if !audit::run(command)? {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
