//! Measures appends per second of the audit log on the local disk: durable appends from one
//! thread (one fsync round each), from several threads (group commit shares the rounds), and
//! buffered appends made durable by one sync.
//!
//! `cargo run --release -p quiver-audit --example audit_append_rate -- [DIR] [THREADS] [SECONDS]`
//! DIR defaults to a temporary directory under the system's temporary directory, which must be
//! on the disk to be measured (not a tmpfs).

#![allow(clippy::print_stdout)] // A measuring tool: its output is the point.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use quiver_audit::{AuditKey, AuditLog, AuditOptions, Event, Outcome, Text, UserName, WriteAction};

fn event(rows: u64) -> Event {
    Event::Write {
        user: UserName::new("bench"),
        peer: "127.0.0.1:40000".parse().ok(),
        action: WriteAction::Insert,
        db: Text::new("default"),
        collection: Text::new("bench_collection"),
        partition: None,
        rows,
        filter: None,
        outcome: Outcome::Ok,
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let temp = tempfile::tempdir()?;
    let root = match args.next().filter(|arg| !arg.is_empty()) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => temp.path().to_owned(),
    };
    let threads: u64 = args.next().map_or(Ok(8), |arg| arg.parse())?;
    let seconds: u64 = args.next().map_or(Ok(3), |arg| arg.parse())?;
    let duration = Duration::from_secs(seconds);

    let rate = durable(&root.join("one"), 1, duration)?;
    println!("{:<36} {rate:>9.0} /s", "durable appends, 1 thread");
    let rate = durable(&root.join("many"), threads, duration)?;
    println!("{:<36} {rate:>9.0} /s", format!("durable appends, {threads} threads"));
    let rate = buffered(&root.join("buffered"), 100_000)?;
    println!("{:<36} {rate:>9.0} /s", "buffered appends, then one sync");
    Ok(())
}

fn open(dir: &Path) -> Result<AuditLog, Box<dyn Error>> {
    Ok(AuditLog::open(dir, AuditKey::from_bytes([42; 32]), AuditOptions::default())?)
}

/// Durable appends per second from `threads` threads for `duration`.
fn durable(dir: &Path, threads: u64, duration: Duration) -> Result<f64, Box<dyn Error>> {
    let log = Arc::new(open(dir)?);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (log, stop, count) = (Arc::clone(&log), Arc::clone(&stop), Arc::clone(&count));
            thread::spawn(move || -> Result<(), quiver_audit::AuditError> {
                while !stop.load(Ordering::Relaxed) {
                    log.append(&event(1))?;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for handle in handles {
        handle.join().map_err(|_| "an appender panicked")??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(count.load(Ordering::Relaxed) as f64 / elapsed)
}

/// Buffered appends per second, `n` of them and the sync that makes them durable.
fn buffered(dir: &Path, n: u64) -> Result<f64, Box<dyn Error>> {
    let log = open(dir)?;
    let start = Instant::now();
    for rows in 0..n {
        log.append_buffered(&event(rows))?;
    }
    log.sync()?;
    Ok(n as f64 / start.elapsed().as_secs_f64())
}
