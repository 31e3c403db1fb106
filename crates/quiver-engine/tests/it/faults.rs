//! The fault-injection test: a workload on collection `a` runs through a `FaultyBackend` that
//! fails its n-th write or n-th sync, for every n the workload reaches, against a model of the
//! acknowledged operations.
//!
//! For each trial it checks that
//! * the call during which the fault fired fails, with the injected error, and no other call
//!   fails; every acknowledged insert, upsert or delete performed a sync before it returned;
//! * afterwards every kind of write to `a` is refused (fail-stop), while reads keep working and
//!   show the acknowledged state, or that state plus the failed operation when its log record
//!   had become durable before a later step of the call failed;
//! * collection `b` of the same database keeps accepting writes;
//! * `reopen_collection` ends the fail-stop: the reopened `a` holds the model, or the model
//!   plus the failed operation applied whole (a failed fsync may still have written the data;
//!   never a part of it), and at least what the reads showed before; it accepts writes again;
//! * a reopen of the whole directory with a plain backend finds exactly that state.
//!
//! The whole test runs twice: as it is, and with encryption at rest over the faulty backend
//! (so short writes tear encrypted frames and the reopen drops them).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use quiver_engine::{Collection, Database, Encryption, EngineError, Options};
use quiver_storage::{FaultPlan, FaultyBackend, LocalBackend, MasterKey};

use crate::support::{self, dump, options, pks, rows};

/// Small, so that inserts seal segments and rotate the log on their own.
const SEAL_ROWS: usize = 48;

/// One call of the workload.
#[derive(Clone, Debug)]
enum Op {
    Insert { partition: Option<&'static str>, ids: Range<i64>, tag: &'static str },
    Upsert { partition: Option<&'static str>, ids: Range<i64>, tag: &'static str },
    Delete { ids: Range<i64> },
    Flush,
    Compact,
    CreatePartition(&'static str),
    DropPartition(&'static str),
}

impl Op {
    fn run(&self, collection: &Collection) -> Result<(), EngineError> {
        match self {
            Op::Insert { partition, ids, tag } => {
                collection.insert(*partition, rows(ids.clone(), 0, tag)).map(drop)
            }
            Op::Upsert { partition, ids, tag } => {
                collection.upsert(*partition, rows(ids.clone(), 0, tag)).map(drop)
            }
            Op::Delete { ids } => collection.delete(&pks(ids.clone())).map(drop),
            Op::Flush => collection.flush(),
            Op::Compact => collection.compact().map(drop),
            Op::CreatePartition(name) => collection.create_partition(name),
            Op::DropPartition(name) => collection.drop_partition(name),
        }
    }

    /// True for the calls that append a log record.
    fn is_logged(&self) -> bool {
        matches!(self, Op::Insert { .. } | Op::Upsert { .. } | Op::Delete { .. })
    }
}

/// What a collection should hold: its partitions, and each row's partition and tag.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Model {
    partitions: Vec<String>,
    rows: BTreeMap<i64, (String, String)>,
}

impl Model {
    fn new() -> Model {
        Model { partitions: vec!["_default".to_owned()], rows: BTreeMap::new() }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Insert { partition, ids, tag } | Op::Upsert { partition, ids, tag } => {
                let partition = partition.unwrap_or("_default");
                for id in ids.clone() {
                    self.rows.insert(id, (partition.to_owned(), (*tag).to_owned()));
                }
            }
            Op::Delete { ids } => ids.clone().for_each(|id| drop(self.rows.remove(&id))),
            Op::Flush | Op::Compact => {}
            Op::CreatePartition(name) => self.partitions.push((*name).to_owned()),
            Op::DropPartition(name) => {
                self.partitions.retain(|p| p != name);
                self.rows.retain(|_, (partition, _)| partition != name);
            }
        }
    }

    fn applied(&self, op: &Op) -> Model {
        let mut next = self.clone();
        next.apply(op);
        next
    }
}

/// What the collection holds, in the model's terms (rows checked one by one by `dump`).
fn observe(collection: &Collection, context: &str) -> Model {
    let rows = dump(collection).unwrap_or_else(|e| panic!("{context}: {e}"));
    Model {
        partitions: collection.partitions(),
        rows: rows.into_iter().map(|(id, row)| (id, (row.partition, row.tag))).collect(),
    }
}

/// The calls made on `a`: every kind of write, with inserts that seal on their own.
fn workload() -> Vec<Op> {
    use Op::*;
    vec![
        Insert { partition: None, ids: 0..20, tag: "a" },
        Upsert { partition: None, ids: 10..30, tag: "b" },
        Delete { ids: 0..5 },
        Flush,
        CreatePartition("p1"),
        Insert { partition: Some("p1"), ids: 100..120, tag: "c" },
        // Moves rows 15..20 from `_default` to `p1`.
        Upsert { partition: Some("p1"), ids: 15..20, tag: "d" },
        Delete { ids: 100..103 },
        // Fills the growing segment of `_default` past SEAL_ROWS: the insert seals.
        Insert { partition: None, ids: 200..240, tag: "e" },
        Delete { ids: 8..12 },
        Flush,
        Compact,
        CreatePartition("p2"),
        Insert { partition: Some("p2"), ids: 300..310, tag: "f" },
        Upsert { partition: None, ids: 300..302, tag: "g" },
        DropPartition("p2"),
        Upsert { partition: None, ids: 100..106, tag: "h" },
        Insert { partition: Some("p1"), ids: 400..410, tag: "i" },
        Flush,
    ]
}

/// Calls made after the collection was reopened, to show it accepts writes again.
fn after_reopen() -> Vec<Op> {
    vec![
        Op::Insert { partition: None, ids: 500..520, tag: "z" },
        Op::Delete { ids: 500..505 },
        Op::Flush,
    ]
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    Write(u64),
    Sync(u64),
}

/// The options of every open, with encryption when the run has it.
fn run_options(encryption: Option<&Encryption>) -> Options {
    Options { encryption: encryption.cloned(), ..options(SEAL_ROWS) }
}

/// A database on `dir` through a faulty backend, with `b` holding some rows and `a` empty.
fn setup(
    dir: &Path,
    plan: &FaultPlan,
    encryption: Option<&Encryption>,
) -> (Database, Arc<Collection>, Arc<Collection>, Model) {
    let local = LocalBackend::new(dir.to_path_buf()).expect("backend");
    let backend = Arc::new(FaultyBackend::new(Arc::new(local), plan.clone()));
    let db = Database::open(dir, Options { backend: Some(backend), ..run_options(encryption) })
        .expect("open");
    let a = db.create_collection("default", "a", support::schema()).expect("create a");
    let b = db.create_collection("default", "b", support::schema()).expect("create b");
    let mut model_b = Model::new();
    for op in [Op::Insert { partition: None, ids: 0..10, tag: "b0" }, Op::Flush] {
        op.run(&b).expect("setup of b");
        model_b.apply(&op);
    }
    (db, a, b, model_b)
}

/// Counts the writes and syncs of the workload with no fault armed.
fn measure(encryption: Option<&Encryption>) -> (u64, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let plan = FaultPlan::new();
    let (_db, a, _b, _) = setup(dir.path(), &plan, encryption);
    let (writes, syncs) = (plan.writes(), plan.syncs());
    for op in workload() {
        op.run(&a).unwrap_or_else(|e| panic!("{op:?} without faults: {e}"));
    }
    (plan.writes() - writes, plan.syncs() - syncs)
}

/// One trial; see the module documentation for what it checks.
fn trial(fault: Fault, encryption: Option<&Encryption>) {
    let context = format!("{fault:?}, encrypted: {}", encryption.is_some());
    let dir = tempfile::tempdir().expect("temp dir");
    let plan = FaultPlan::with_seed(match fault {
        Fault::None => 0,
        Fault::Write(n) | Fault::Sync(n) => n,
    });
    let (db, a, b, mut model_b) = setup(dir.path(), &plan, encryption);
    // The absolute counts at which the armed fault fires.
    let (fire_write, fire_sync) = match fault {
        Fault::None => (u64::MAX, u64::MAX),
        Fault::Write(n) => {
            plan.fail_nth_write(n);
            (plan.writes() + n, u64::MAX)
        }
        Fault::Sync(n) => {
            plan.fail_nth_sync(n);
            (u64::MAX, plan.syncs() + n)
        }
    };

    let mut model = Model::new();
    let mut failed = None;
    for op in workload() {
        let (writes, syncs) = (plan.writes(), plan.syncs());
        let result = op.run(&a);
        let fired = (writes < fire_write && fire_write <= plan.writes())
            || (syncs < fire_sync && fire_sync <= plan.syncs());
        match result {
            Ok(()) => {
                assert!(!fired, "{context}: {op:?} was acknowledged although its I/O failed");
                if op.is_logged() {
                    assert!(plan.syncs() > syncs, "{context}: {op:?} acknowledged without a sync");
                }
                model.apply(&op);
            }
            Err(err) => {
                assert!(fired, "{context}: {op:?} failed without an injected fault: {err}");
                assert!(
                    matches!(err, EngineError::Storage(_)) && err.to_string().contains("injected"),
                    "{context}: {op:?} failed with {err} instead of the injected fault"
                );
                failed = Some(op);
                break;
            }
        }
    }
    let Some(failed) = failed else {
        assert!(matches!(fault, Fault::None), "{context}: the fault never fired");
        drop((a, b, db));
        let db = support::reopen(dir.path(), run_options(encryption)).expect("plain reopen");
        let a = db.collection("default", "a").expect("a");
        assert_eq!(observe(&a, &context), model, "{context}: a after reopening the directory");
        return;
    };
    let context = format!("{context}, failed {failed:?}");
    let with_failed = model.applied(&failed);

    // Reads still work and show the acknowledged state (or the failed call's durable record).
    let live = observe(&a, &context);
    assert!(live == model || live == with_failed, "{context}: reads show {live:?}");
    for pk in model.rows.keys().chain(with_failed.rows.keys()) {
        let found = a.get(&pks([*pk]), &[]).expect("get").len();
        assert_eq!(found, usize::from(live.rows.contains_key(pk)), "{context}: get({pk})");
    }
    // Every kind of write is refused until the collection is reopened.
    let refused = [
        Op::Insert { partition: None, ids: 900..901, tag: "x" },
        Op::Upsert { partition: None, ids: 20..21, tag: "x" },
        Op::Delete { ids: 20..30 },
        Op::Flush,
        Op::Compact,
        Op::CreatePartition("p9"),
        Op::DropPartition("p1"),
    ];
    for op in refused {
        match op.run(&a) {
            Err(EngineError::FailStopped { .. } | EngineError::Storage(_)) => {}
            other => panic!("{context}: {op:?} after the failure returned {other:?}"),
        }
    }
    assert_eq!(observe(&a, &context), live, "{context}: a refused write changed the collection");

    // The other collection is not affected.
    for op in [
        Op::Insert { partition: None, ids: 50..60, tag: "b1" },
        Op::Delete { ids: 0..3 },
        Op::Flush,
    ] {
        op.run(&b).unwrap_or_else(|e| panic!("{context}: {op:?} on b: {e}"));
        model_b.apply(&op);
    }
    assert_eq!(observe(&b, &context), model_b, "{context}: b");

    // Reopening ends the fail-stop; the failed call is there whole or not at all, and what
    // reads showed does not go away.
    let a = db.reopen_collection("default", "a").unwrap_or_else(|e| panic!("{context}: {e}"));
    let reopened = observe(&a, &context);
    assert!(
        reopened == with_failed || (reopened == model && live == model),
        "{context}: reopened with {reopened:?}\nacknowledged {model:?}\nreads showed {live:?}"
    );
    let mut model = reopened;
    for op in after_reopen() {
        op.run(&a).unwrap_or_else(|e| panic!("{context}: {op:?} after reopening: {e}"));
        model.apply(&op);
    }
    drop((a, b, db));

    let db = support::reopen(dir.path(), run_options(encryption))
        .unwrap_or_else(|e| panic!("{context}: plain reopen: {e}"));
    let a = db.collection("default", "a").unwrap_or_else(|e| panic!("{context}: {e}"));
    let b = db.collection("default", "b").unwrap_or_else(|e| panic!("{context}: {e}"));
    assert_eq!(observe(&a, &context), model, "{context}: a after reopening the directory");
    assert_eq!(observe(&b, &context), model_b, "{context}: b after reopening the directory");
}

#[test]
fn every_failed_write_or_sync_is_unacknowledged_and_fail_stops() {
    let (writes, syncs) = every_fault(None);
    eprintln!("fault injection: the workload makes {writes} writes and {syncs} syncs");
}

#[test]
fn every_failed_write_or_sync_is_unacknowledged_and_fail_stops_when_encrypted() {
    let encryption = Encryption::new(MasterKey::generate().expect("master key"));
    let (writes, syncs) = every_fault(Some(&encryption));
    eprintln!("fault injection (encrypted): the workload makes {writes} writes and {syncs} syncs");
}

/// Runs a trial for every write and sync the workload makes; returns their numbers.
fn every_fault(encryption: Option<&Encryption>) -> (u64, u64) {
    let (writes, syncs) = measure(encryption);
    assert!(writes >= 20 && syncs >= 20, "the workload made {writes} writes, {syncs} syncs");
    trial(Fault::None, encryption);
    for n in 1..=writes {
        trial(Fault::Write(n), encryption);
    }
    for n in 1..=syncs {
        trial(Fault::Sync(n), encryption);
    }
    (writes, syncs)
}
