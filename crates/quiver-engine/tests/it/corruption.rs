//! The corruption test: damage every kind of file of a data directory (flip one byte, cut the
//! file short, remove a log file, append garbage) and check that opening detects it.
//!
//! The fixture holds two collections, `victim` and `bystander`, each with rows in sealed
//! segments, deletions in the manifest and log records after the checkpoint; the victim's log
//! spans three files after its checkpoint (two seals failed after rotating the log), so damage
//! to a log file that is not the last one is covered as well. Every trial damages a fresh copy
//! of the pristine directory. For a per-collection file, the database must open, the victim
//! must be `CollectionUnavailable` with an error naming the damaged file, and the bystander
//! must serve exactly its pristine rows and search results; for the catalog, the open must
//! fail naming `catalog.qvc`. The victim never opens with data other than its pristine data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use quiver_core::Metric;
use quiver_engine::{Collection, Database, EngineError, Hit, Options, SearchRequest};
use quiver_storage::{FaultPlan, FaultyBackend, LocalBackend};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tempfile::TempDir;

use crate::support::{self, Stored, copy_dir, dump, options, pks, rows, vector};

const TRIALS_PER_KIND: usize = 40;
const SEAL_ROWS: usize = 1000;

/// A pristine data directory and what reading it gives.
struct Fixture {
    dir: TempDir,
    /// `collections/<id>` of the victim.
    victim_dir: String,
    victim_rows: BTreeMap<i64, Stored>,
    bystander_rows: BTreeMap<i64, Stored>,
    bystander_hits: Vec<Vec<Hit>>,
}

impl Fixture {
    fn build() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let plan = FaultPlan::new();
        let local = LocalBackend::new(dir.path().to_path_buf()).expect("backend");
        let backend = Arc::new(FaultyBackend::new(Arc::new(local), plan.clone()));
        let db =
            Database::open(dir.path(), Options { backend: Some(backend), ..options(SEAL_ROWS) })
                .expect("open");
        let mut victim =
            db.create_collection("default", "victim", support::schema()).expect("create");
        let bystander =
            db.create_collection("default", "bystander", support::schema()).expect("create");
        for collection in [&victim, &bystander] {
            // Two sealed segments, and deletions of rows of both in the manifest.
            collection.insert(None, rows(0..100, 0, "a")).expect("insert");
            collection.flush().expect("flush");
            collection.insert(None, rows(100..200, 1, "b")).expect("insert");
            collection.delete(&pks(10..20)).expect("delete");
            collection.upsert(None, rows(50..60, 0, "c")).expect("upsert");
            collection.delete(&pks(150..155)).expect("delete");
            collection.flush().expect("flush");
            // Log records after the checkpoint.
            collection.insert(None, rows(200..250, 2, "d")).expect("insert");
            collection.delete(&pks(0..5)).expect("delete");
        }
        // Two seals of the victim fail after rotating its log (the segment write, the second
        // write of the seal, fails): its log keeps three files after the checkpoint.
        for round in 0..2i64 {
            plan.fail_nth_write(2);
            victim.flush().expect_err("the injected failure");
            plan.disarm();
            victim = db.reopen_collection("default", "victim").expect("reopen");
            let first = 300 + 100 * round;
            victim.insert(None, rows(first..first + 30, 3 + round, "e")).expect("insert");
            victim.delete(&pks([100 + round, 200 + round])).expect("delete");
        }
        let victim_dir = format!("collections/{}", victim.id());
        drop((victim, bystander, db));
        let wal_files = list(&dir.path().join(&victim_dir).join("wal"));
        assert_eq!(wal_files.len(), 3, "the victim's log files: {wal_files:?}");
        let segments = list(&dir.path().join(&victim_dir).join("segments"));
        assert_eq!(segments.len(), 2, "the victim's segments: {segments:?}");

        let (victim_rows, bystander_rows, bystander_hits) = {
            let tmp = tempfile::tempdir().expect("temp dir");
            let copy = tmp.path().join("data");
            copy_dir(dir.path(), &copy);
            let db = Database::open(&copy, options(SEAL_ROWS)).expect("open the pristine copy");
            let victim = db.collection("default", "victim").expect("victim");
            let bystander = db.collection("default", "bystander").expect("bystander");
            let victim_rows = dump(&victim).expect("victim rows");
            assert!(victim_rows.contains_key(&410) && !victim_rows.contains_key(&101));
            let bystander_rows = dump(&bystander).expect("bystander rows");
            (victim_rows, bystander_rows, search(&bystander))
        };
        Fixture { dir, victim_dir, victim_rows, bystander_rows, bystander_hits }
    }

    /// Keys of the victim's files of one kind.
    fn files(&self, kind: Kind) -> Vec<String> {
        let key = |sub: &str| format!("{}/{sub}", self.victim_dir);
        match kind {
            Kind::Wal => list(&self.dir.path().join(key("wal")))
                .into_iter()
                .map(|name| key(&format!("wal/{name}")))
                .collect(),
            Kind::Segment => list(&self.dir.path().join(key("segments")))
                .into_iter()
                .map(|name| key(&format!("segments/{name}")))
                .collect(),
            Kind::Manifest => vec![key("MANIFEST")],
            Kind::Schema => vec![key("schema.qvm")],
            Kind::Catalog => vec!["catalog.qvc".to_owned()],
        }
    }

    /// A fresh copy of the pristine directory (`.1` keeps the temporary directory alive).
    fn copy(&self) -> (PathBuf, TempDir) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let path = tmp.path().join("data");
        copy_dir(self.dir.path(), &path);
        (path, tmp)
    }

    /// Opens a damaged copy and checks the outcome: the victim unavailable with an error that
    /// contains `names`, or (when `may_recover`) serving exactly its pristine rows; the
    /// bystander serving its pristine rows and hits either way. Returns whether the victim
    /// was unavailable.
    fn check_damaged(&self, path: &Path, names: &str, may_recover: bool, context: &str) -> bool {
        let db = Database::open(path, options(SEAL_ROWS))
            .unwrap_or_else(|e| panic!("{context}: the database did not open: {e}"));
        let unavailable = match db.collection("default", "victim") {
            Err(err @ EngineError::CollectionUnavailable { .. }) => {
                let message = err.to_string();
                assert!(message.contains(names), "{context}: {message:?} does not name {names}");
                true
            }
            Err(err) => panic!("{context}: unexpected error {err}"),
            Ok(victim) => {
                let found = dump(&victim);
                assert!(
                    may_recover && found.as_ref() == Ok(&self.victim_rows),
                    "{context}: the damaged victim opened, with {}",
                    match found {
                        Ok(rows) if rows == self.victim_rows => "its pristine rows".to_owned(),
                        Ok(rows) => format!(
                            "different rows ({} instead of {})",
                            rows.len(),
                            self.victim_rows.len()
                        ),
                        Err(e) => e,
                    }
                );
                false
            }
        };
        let bystander = db.collection("default", "bystander").unwrap_or_else(|e| {
            panic!("{context}: the bystander is unavailable: {e}");
        });
        assert_eq!(dump(&bystander).as_ref(), Ok(&self.bystander_rows), "{context}: bystander");
        assert_eq!(search(&bystander), self.bystander_hits, "{context}: bystander search");
        unavailable
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Wal,
    Segment,
    Manifest,
    Schema,
    Catalog,
}

fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list directory")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8 name"))
        .collect();
    names.sort();
    names
}

fn search(collection: &Collection) -> Vec<Vec<Hit>> {
    let queries = [vector(7, "q"), vector(123, "q")];
    let output = ["tag".to_owned(), "batch".to_owned()];
    let request = SearchRequest {
        vector_field: None,
        metric: Metric::L2,
        queries: &queries,
        limit: 20,
        offset: 0,
        partitions: &[],
        output_fields: &output,
        filter: None,
        params: quiver_engine::SearchParams::default(),
        range: None,
    };
    collection.search(&request).expect("search")
}

fn flip_byte(path: &Path, rng: &mut StdRng) -> String {
    let mut bytes = std::fs::read(path).expect("read");
    let offset = rng.random_range(0..bytes.len());
    let mask = rng.random_range(1..=255u8);
    bytes[offset] ^= mask;
    std::fs::write(path, &bytes).expect("write");
    format!("byte {offset} of {} xor {mask:#04x}", bytes.len())
}

#[test]
fn flipped_byte_in_any_collection_file_makes_only_that_collection_unavailable() {
    let fixture = Fixture::build();
    let seed = support::seed();
    let mut rng = StdRng::seed_from_u64(seed);
    for kind in [Kind::Wal, Kind::Segment, Kind::Manifest, Kind::Schema] {
        let files = fixture.files(kind);
        assert!(!files.is_empty(), "no {kind:?} file in the fixture");
        for trial in 0..TRIALS_PER_KIND {
            let key = &files[rng.random_range(0..files.len())];
            let (path, _tmp) = fixture.copy();
            let what = flip_byte(&path.join(key), &mut rng);
            let context =
                format!("seed {seed} (QUIVER_TEST_SEED), {kind:?} trial {trial}, {key} {what}");
            fixture.check_damaged(&path, key, false, &context);
        }
    }
}

#[test]
fn flipped_byte_in_catalog_fails_the_open() {
    let fixture = Fixture::build();
    let seed = support::seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let catalog = &fixture.files(Kind::Catalog)[0];
    for trial in 0..TRIALS_PER_KIND {
        let (path, _tmp) = fixture.copy();
        let what = flip_byte(&path.join(catalog), &mut rng);
        let context = format!("seed {seed} (QUIVER_TEST_SEED), catalog trial {trial}, {what}");
        match Database::open(&path, options(SEAL_ROWS)) {
            Err(err) => {
                let message = err.to_string();
                assert!(message.contains("catalog.qvc"), "{context}: {message:?}");
            }
            Ok(_) => panic!("{context}: the database opened with a damaged catalog"),
        }
    }
}

#[test]
fn truncated_files_are_detected() {
    let fixture = Fixture::build();
    let seed = support::seed();
    let mut rng = StdRng::seed_from_u64(seed);
    // Cutting the last log file is what a crash does to it (its tail is dropped as torn), so
    // only the other log files are cut; a cut at a record boundary shows as an LSN gap at the
    // next file, hence the log directory is what the error must name for them.
    let wal = fixture.files(Kind::Wal);
    let wal_dir = format!("{}/wal", fixture.victim_dir);
    let mut cases: Vec<(String, String)> =
        wal[..wal.len() - 1].iter().map(|key| (key.clone(), wal_dir.clone())).collect();
    for kind in [Kind::Segment, Kind::Manifest, Kind::Schema] {
        cases.extend(fixture.files(kind).into_iter().map(|key| (key.clone(), key)));
    }
    for (key, names) in &cases {
        for trial in 0..TRIALS_PER_KIND / 4 {
            let (path, _tmp) = fixture.copy();
            let file = path.join(key);
            let len = std::fs::metadata(&file).expect("stat").len();
            let cut = rng.random_range(0..len);
            std::fs::OpenOptions::new()
                .write(true)
                .open(&file)
                .and_then(|f| f.set_len(cut))
                .expect("truncate");
            let context = format!(
                "seed {seed} (QUIVER_TEST_SEED), trial {trial}, {key} cut to {cut} of {len} bytes"
            );
            fixture.check_damaged(&path, names, false, &context);
        }
    }
}

#[test]
fn missing_log_file_is_detected() {
    let fixture = Fixture::build();
    let wal = fixture.files(Kind::Wal);
    let wal_dir = format!("{}/wal", fixture.victim_dir);
    // The first file after the checkpoint, and one in the middle of the log. (Without the last
    // file the log simply ends earlier: nothing records where it ended.)
    for key in &wal[..wal.len() - 1] {
        let (path, _tmp) = fixture.copy();
        std::fs::remove_file(path.join(key)).expect("remove");
        fixture.check_damaged(&path, &wal_dir, false, &format!("{key} removed"));
    }
}

#[test]
fn garbage_after_the_last_log_record_is_detected_or_cut_as_a_torn_tail() {
    let fixture = Fixture::build();
    let seed = support::seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let wal = fixture.files(Kind::Wal);
    let last = wal.last().expect("a log file");
    for trial in 0..TRIALS_PER_KIND {
        let (path, _tmp) = fixture.copy();
        let file = path.join(last);
        let mut bytes = std::fs::read(&file).expect("read");
        let len = bytes.len();
        // Shorter than a record header (20 bytes), garbage is indistinguishable from a record
        // cut off by a crash and is dropped; longer, it is a record whose header checksum
        // fails, which must not be dropped silently.
        let garbage =
            if trial % 2 == 0 { rng.random_range(1..20) } else { rng.random_range(20..200) };
        bytes.extend((0..garbage).map(|_| rng.random_range(1..=255u8)));
        std::fs::write(&file, &bytes).expect("write");
        let context = format!(
            "seed {seed} (QUIVER_TEST_SEED), trial {trial}, {garbage} bytes of garbage after {len} in {last}"
        );
        let unavailable = fixture.check_damaged(&path, last, garbage < 20, &context);
        assert_eq!(unavailable, garbage >= 20, "{context}");
        if !unavailable {
            let cut = std::fs::metadata(&file).expect("stat").len();
            assert_eq!(cut, len as u64, "{context}: the torn tail was not cut off");
        }
    }
}
