//! A backup taken while a writer inserts numbered batches (and the background sealer swaps
//! manifests) restores to exactly the first k batches, k at least the batches acknowledged
//! before the backup started: batches are atomic and there are no gaps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use quiver_backup::{create, restore};
use quiver_engine::Database;
use quiver_storage::MasterKey;

use crate::support::{self, BATCH, batch, ids, search};

#[test]
fn a_backup_during_writes_restores_exactly_a_prefix_of_the_acknowledged_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let master = MasterKey::generate().unwrap();
    let db = Database::open(&data, support::busy_options(&master)).unwrap();
    let collection = support::create(&db);
    // Some sealed history first, so the copy takes a while.
    for n in 0..40 {
        collection.insert(None, batch(n)).unwrap();
    }
    let done = Arc::new(AtomicUsize::new(40));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (collection, done, stop) = (collection.clone(), done.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 40;
            while !stop.load(Ordering::SeqCst) && n < 4000 {
                collection.insert(None, batch(n)).unwrap();
                n += 1;
                done.store(n, Ordering::SeqCst);
            }
        })
    };
    // Seals on demand too, so that manifests are swapped and log files removed while the
    // backups copy (the copy must then retry the collection).
    let flusher = {
        let (collection, stop) = (collection.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                collection.flush().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        })
    };
    let mut results = Vec::new();
    for round in 0..3 {
        // Let some writes (and seals) happen between backups.
        while done.load(Ordering::SeqCst) < 60 + 60 * round {
            std::thread::yield_now();
        }
        let before = done.load(Ordering::SeqCst);
        let backup = tmp.path().join(format!("backup-{round}"));
        create(&data, &backup, &master, &mut ()).unwrap();
        let after = done.load(Ordering::SeqCst);
        results.push((backup, before, after));
    }
    stop.store(true, Ordering::SeqCst);
    assert!(
        results.iter().any(|(_, before, after)| after > before),
        "no write completed while a backup ran: the test proves nothing"
    );
    writer.join().unwrap();
    flusher.join().unwrap();
    drop(collection);
    drop(db);

    for (round, (backup, before, after)) in results.into_iter().enumerate() {
        let restored = tmp.path().join(format!("restored-{round}"));
        restore(&backup, &restored, &master, &mut ()).unwrap();
        let (_db, collection) = support::open(&restored, &master);
        let got = ids(&collection);
        assert_eq!(got.len() % BATCH, 0, "round {round}: a batch was cut: {} rows", got.len());
        let k = got.len() / BATCH;
        assert!(k >= before, "round {round}: {k} batches restored, {before} were acknowledged");
        // At most the batches written before the backup ended, plus the one in flight.
        assert!(k <= after + 1, "round {round}: {k} batches restored, only {after} written");
        let expected: Vec<i64> = (0..(k * BATCH) as i64).collect();
        assert_eq!(got, expected, "round {round}: the rows are not the first {k} batches");

        let fresh_dir = tmp.path().join(format!("fresh-{round}"));
        let fresh = Database::open(&fresh_dir, support::options(&master)).unwrap();
        let reference = support::create(&fresh);
        for n in 0..k {
            reference.insert(None, batch(n)).unwrap();
        }
        assert_eq!(search(&collection), search(&reference), "round {round}");
    }
}
