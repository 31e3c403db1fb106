//! The crash test: a child process (`quiver-crash-writer`, `src/bin/crash_writer.rs`) writes
//! batches and reports each write before it starts and once it is acknowledged; the test kills
//! it with SIGKILL at a random moment, reopens the directory and compares what is there with
//! what was acknowledged. Rounds run back to back on the same directory, so each one also
//! recovers from the previous crash (`QUIVER_CRASH_ROUNDS`, default 50, sets their number).
//!
//! After every kill, for every batch: if no write to it was in flight, it is exactly as its last
//! acknowledged write left it (all its rows with that write's tag, or none after a delete);
//! the batch of the one write in flight is either as before or as that write leaves it, whole.
//! Rows are also checked one by one (vector derived from key and tag, key in its batch's
//! range), so a row assembled from two writes or a batch split across a crash is caught.
//!
//! What a SIGKILL can and cannot catch. Killing the process keeps whatever it had handed to
//! the kernel (the page cache survives), so this test fails when an acknowledgment comes before
//! the record reaches the file: a group commit answering from its in-memory buffer, a log
//! writer buffering in user space, a checkpoint that deletes log files before the manifest
//! covering them is in place, or a recovery that loses, duplicates or half-applies a record
//! (torn tails, orphan segments and log files cut at every point of a seal or compaction are
//! all reached by killing at random). It cannot catch a missing *fsync*, which only a power
//! loss reveals: `faults.rs` covers that, by checking that every acknowledged write performed a
//! sync and that a failed sync is never acknowledged. `checker_rejects_lost_stale_and_partial`
//! shows that the checks below do fail on the states such bugs produce.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use quiver_engine::{Database, Encryption, Options};
use quiver_storage::MasterKey;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{self, dump, options, pks, rows};

/// The options the writer opens the directory with (`src/bin/crash_writer.rs`).
const SEAL_ROWS: usize = 3000;

/// What a batch looks like when its last write is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Batch {
    rows: u64,
    tag: String,
}

/// Batch number → its rows, for every batch that should be present.
type Model = BTreeMap<i64, Batch>;

/// One write of the child, as it reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Insert { batch: i64, rows: u64, tag: String },
    Upsert { batch: i64, rows: u64, tag: String },
    Delete { batch: i64 },
    Flush,
    Compact,
}

impl Op {
    fn parse(words: &[&str]) -> Result<Op, String> {
        let num = |word: Option<&&str>| -> Result<i64, String> {
            word.and_then(|w| w.parse().ok()).ok_or_else(|| format!("bad operation {words:?}"))
        };
        let batch = num(words.get(1));
        let rows = || num(words.get(2)).map(|n| n as u64);
        let tag = || words.get(3).map(|t| (*t).to_owned()).ok_or(format!("no tag in {words:?}"));
        Ok(match words.first().copied() {
            Some("insert") => Op::Insert { batch: batch?, rows: rows()?, tag: tag()? },
            Some("upsert") => Op::Upsert { batch: batch?, rows: rows()?, tag: tag()? },
            Some("delete") => Op::Delete { batch: batch? },
            Some("flush") => Op::Flush,
            Some("compact") => Op::Compact,
            _ => return Err(format!("unknown operation {words:?}")),
        })
    }

    fn apply(&self, model: &mut Model) {
        match self {
            Op::Insert { batch, rows, tag } | Op::Upsert { batch, rows, tag } => {
                model.insert(*batch, Batch { rows: *rows, tag: tag.clone() });
            }
            Op::Delete { batch } => {
                model.remove(batch);
            }
            Op::Flush | Op::Compact => {}
        }
    }
}

/// Splits the child's output into its acknowledged writes, in order, and the write in flight
/// when it died (a `begin` without its `ack`).
fn parse_output(lines: &[String]) -> Result<(Vec<Op>, Option<Op>), String> {
    let mut acked = Vec::new();
    let mut in_flight: Option<Op> = None;
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.split_first() {
            Some((&"ready", [])) => {}
            Some((&"begin", op)) => {
                if let Some(earlier) = in_flight.replace(Op::parse(op)?) {
                    return Err(format!("{line:?} while {earlier:?} was not acknowledged"));
                }
            }
            Some((&"ack", op)) => {
                let op = Op::parse(op)?;
                if in_flight.take().as_ref() != Some(&op) {
                    return Err(format!("{line:?} without its begin"));
                }
                acked.push(op);
            }
            _ => return Err(format!("unexpected output line {line:?}")),
        }
    }
    Ok((acked, in_flight))
}

/// The batches in the directory, after checking each row and that every batch is whole: keys
/// `batch * 1000 + 0..rows`, one tag, in `_default`.
fn observe(db: &Database) -> Result<Model, String> {
    if !db.has_collection("default", "crash").map_err(|e| e.to_string())? {
        return Ok(Model::new());
    }
    let collection = db.collection("default", "crash").map_err(|e| format!("open: {e}"))?;
    let mut batches: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for (id, row) in dump(&collection)? {
        if row.partition != "_default" || id.div_euclid(1000) != row.batch {
            return Err(format!("row {id} is in batch {} of {}", row.batch, row.partition));
        }
        batches.entry(row.batch).or_default().push((id, row.tag));
    }
    let mut model = Model::new();
    for (batch, rows) in batches {
        let keys: Vec<i64> = rows.iter().map(|(id, _)| id - batch * 1000).collect();
        let whole: Vec<i64> = (0..rows.len() as i64).collect();
        if keys != whole {
            return Err(format!("batch {batch} is partly present: rows {keys:?}"));
        }
        let tag = rows[0].1.clone();
        if let Some((id, other)) = rows.iter().find(|(_, t)| *t != tag) {
            return Err(format!("batch {batch} mixes writes: tag {tag:?}, row {id} {other:?}"));
        }
        model.insert(batch, Batch { rows: rows.len() as u64, tag });
    }
    Ok(model)
}

/// Compares the observed batches with the acknowledged ones; the batch of the write in flight
/// may also be as that write leaves it.
fn check(acked: &Model, in_flight: Option<&Op>, observed: &Model) -> Result<(), String> {
    let mut with_in_flight = acked.clone();
    if let Some(op) = in_flight {
        op.apply(&mut with_in_flight);
    }
    for batch in acked.keys().chain(observed.keys()).chain(with_in_flight.keys()) {
        let (want, got) = (acked.get(batch), observed.get(batch));
        if got == want || got == with_in_flight.get(batch) {
            continue;
        }
        return Err(format!(
            "batch {batch}: acknowledged {want:?}, in flight {in_flight:?}, found {got:?}"
        ));
    }
    Ok(())
}

/// When to kill the child.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// This long after it reported `ready` (its database is open): in the middle of writing.
    AfterReady(Duration),
    /// This long after it was started: often while it opens and recovers the directory.
    AfterSpawn(Duration),
}

/// Kills the child if the test panics while it runs.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the writer on `dir` (encrypted with the master key in `key_file`, if any) and kills it;
/// returns its stdout lines, exit status and stderr.
fn run_child(
    dir: &Path,
    key_file: Option<&Path>,
    seed: u64,
    kill: Kill,
) -> (Vec<String>, ExitStatus, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quiver-crash-writer"));
    command.arg(dir).arg(seed.to_string());
    if let Some(key_file) = key_file {
        command.arg(key_file);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start quiver-crash-writer");
    let stdout = child.stdout.take().expect("child stdout");
    let mut stderr = child.stderr.take().expect("child stderr");
    let mut guard = ChildGuard(child);
    let (lines_tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            // A line cut off by the kill (no newline) was not fully reported: drop it.
            match stdout.read_line(&mut line) {
                Ok(_) if line.ends_with('\n') => {
                    let _ = lines_tx.send(line.trim_end().to_owned());
                }
                _ => return,
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut seen = Vec::new();
    match kill {
        Kill::AfterReady(delay) => {
            // A child that dies or hangs ends the wait; its exit status tells which.
            while let Ok(line) = lines.recv_timeout(Duration::from_secs(60)) {
                let ready = line == "ready";
                seen.push(line);
                if ready {
                    std::thread::sleep(delay);
                    break;
                }
            }
        }
        Kill::AfterSpawn(delay) => std::thread::sleep(delay),
    }
    // `Child::kill` sends SIGKILL on Unix.
    let _ = guard.0.kill();
    let status = guard.0.wait().expect("wait for quiver-crash-writer");
    reader.join().expect("stdout reader");
    seen.extend(lines.try_iter());
    let errors = errors.join().expect("stderr reader");
    (seen, status, errors)
}

#[cfg(unix)]
fn killed(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(9)
}

#[cfg(not(unix))]
fn killed(status: ExitStatus) -> bool {
    !status.success()
}

#[test]
fn acknowledged_batches_survive_sigkill() {
    eprintln!("{}", survive_sigkill(false));
}

/// The same through encryption at rest: the log's torn frames, the keyring and every file
/// encrypted, recovered after each kill.
#[test]
fn acknowledged_batches_survive_sigkill_when_encrypted() {
    eprintln!("{}", survive_sigkill(true));
}

/// Serializes the crash tests: a child spawned by one holds, from its fork to its exec, a copy
/// of every descriptor of this process, among them the directory lock of the other test's
/// database, so the other test's writer would find its directory locked.
static ONE_WRITER_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the rounds; returns a summary for the test to print.
fn survive_sigkill(encrypted: bool) -> String {
    let _serial = ONE_WRITER_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let keys = tempfile::tempdir().expect("key directory");
    let key_file = keys.path().join("master.key");
    let options = if encrypted {
        let master = MasterKey::generate_to(&key_file).expect("master key");
        Options { encryption: Some(Encryption::new(master)), ..options(SEAL_ROWS) }
    } else {
        options(SEAL_ROWS)
    };
    let key_file = encrypted.then_some(key_file.as_path());
    let rounds: usize = std::env::var("QUIVER_CRASH_ROUNDS")
        .ok()
        .map(|n| n.parse().expect("QUIVER_CRASH_ROUNDS must be a number"))
        .unwrap_or(50);
    let seed = support::seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut model = Model::new();
    let (mut acks, mut in_flight_applied, mut in_flight_absent) = (0, 0, 0);
    for round in 0..rounds {
        let kill = if rng.random_ratio(1, 5) {
            Kill::AfterSpawn(Duration::from_millis(rng.random_range(1..=40)))
        } else {
            Kill::AfterReady(Duration::from_millis(rng.random_range(5..=150)))
        };
        let (lines, status, errors) = run_child(dir.path(), key_file, rng.random(), kill);
        let context = format!("seed {seed} (QUIVER_TEST_SEED), round {round}, kill {kill:?}");
        assert!(killed(status), "{context}: the writer exited by itself ({status}): {errors}");
        let (acked, in_flight) =
            parse_output(&lines).unwrap_or_else(|e| panic!("{context}: {e}\n{lines:#?}"));
        acks += acked.len();
        for op in &acked {
            op.apply(&mut model);
        }
        let db = Database::open(dir.path(), options.clone())
            .unwrap_or_else(|e| panic!("{context}: reopen failed: {e}"));
        let observed = observe(&db).unwrap_or_else(|e| panic!("{context}: {e}"));
        check(&model, in_flight.as_ref(), &observed).unwrap_or_else(|e| {
            panic!("{context}: {e}\nlast lines of the writer: {:#?}", last(&lines, 5))
        });
        if let Some(Op::Insert { batch, .. } | Op::Upsert { batch, .. } | Op::Delete { batch }) =
            &in_flight
        {
            if observed.get(batch) == model.get(batch) {
                in_flight_absent += 1;
            } else {
                in_flight_applied += 1;
            }
        }
        // The write in flight settled one way or the other; the next round starts from there.
        model = observed;
    }
    assert!(acks > 0, "seed {seed}: the writer never acknowledged a write");
    if encrypted {
        assert!(dir.path().join(quiver_storage::KEYRING_KEY).exists(), "seed {seed}: no keyring");
    }
    format!(
        "crash test (encrypted: {encrypted}): {rounds} rounds in {:.1}s, {acks} acknowledged writes, write in flight \
         applied {in_flight_applied} times and absent {in_flight_absent} times, {} batches \
         at the end (seed {seed})",
        started.elapsed().as_secs_f64(),
        model.len(),
    )
}

fn last(lines: &[String], n: usize) -> &[String] {
    &lines[lines.len().saturating_sub(n)..]
}

/// The checks above fail on what lost or torn writes leave behind, so the crash test can fail.
#[test]
fn checker_rejects_lost_stale_and_partial() {
    let batch = |rows, tag: &str| Batch { rows, tag: tag.to_owned() };
    let acked: Model = [(1, batch(3, "i1")), (2, batch(2, "u7"))].into();
    let insert_3 = Op::Insert { batch: 3, rows: 4, tag: "i3".to_owned() };
    let delete_1 = Op::Delete { batch: 1 };

    // Accepted: exactly the acknowledged state, with or without the write in flight.
    check(&acked, None, &acked).expect("the acknowledged state");
    let mut applied = acked.clone();
    insert_3.apply(&mut applied);
    check(&acked, Some(&insert_3), &applied).expect("the write in flight applied");
    check(&acked, Some(&insert_3), &acked).expect("the write in flight absent");

    // Rejected: an acknowledged batch lost (acknowledged before it was written).
    let lost: Model = [(2, batch(2, "u7"))].into();
    assert!(check(&acked, None, &lost).is_err());
    assert!(check(&acked, Some(&insert_3), &lost).is_err());
    // Rejected: an acknowledged upsert rolled back to the batch's earlier tag.
    let stale: Model = [(1, batch(3, "i1")), (2, batch(2, "i2"))].into();
    assert!(check(&acked, None, &stale).is_err());
    // Rejected: an acknowledged delete undone.
    let mut deleted = acked.clone();
    delete_1.apply(&mut deleted);
    assert!(check(&deleted, None, &acked).is_err());
    // Rejected: the write in flight half applied, and a write that was never made.
    let half: Model = [(1, batch(3, "i1")), (2, batch(2, "u7")), (3, batch(2, "i3"))].into();
    assert!(check(&acked, Some(&insert_3), &half).is_err());
    assert!(check(&acked, None, &applied).is_err());

    // `observe` rejects a batch with a row missing and a batch mixing two writes.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(dir.path(), options(SEAL_ROWS)).expect("open");
    let collection = db.create_collection("default", "crash", support::schema()).expect("create");
    collection.insert(None, rows([1000, 1002], 1, "i1")).expect("insert");
    let err = observe(&db).expect_err("a batch with a hole");
    assert!(err.contains("partly present"), "{err}");
    collection.delete(&pks([1000, 1002])).expect("delete");
    collection.insert(None, rows([2000], 2, "i2")).expect("insert");
    collection.insert(None, rows([2001], 2, "u9")).expect("insert");
    let err = observe(&db).expect_err("a batch mixing writes");
    assert!(err.contains("mixes writes"), "{err}");
}
