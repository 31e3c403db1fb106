//! Row counters per collection (`{db, collection}`), with a cap on the number of series.
//!
//! Collection names are chosen by clients with the privilege to create collections, so the
//! number of series is bounded: the first [`MAX_COLLECTION_SERIES`] (database, collection)
//! pairs that write get series of their own, and every later pair counts in one
//! `{db="_other",collection="_other"}` series (the operator sees that it exists and grows).
//! The names are the collections' own (aliases resolved by the handler) and the series live
//! as long as the process: a dropped collection's counts stay, as counters should.
//!
//! Each counted event is a [`RowEvent`]: adding one (another per-collection row metric) is a
//! variant, its name and its help text.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::metrics::exposition::{Exposition, Kind, Value};

/// Series (database, collection pairs) counted separately before the rest fold into `_other`.
pub(crate) const MAX_COLLECTION_SERIES: usize = 10_000;
/// The label values of the series that collects the pairs beyond the cap.
pub(crate) const OTHER: &str = "_other";

/// What happened to rows of a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RowEvent {
    /// Rows written by an insert or an upsert (an upsert's replaced rows are not reported by
    /// the engine and count here only).
    Inserted,
    /// Rows deleted by a delete (by filter or by keys; only rows that existed).
    Deleted,
}

impl RowEvent {
    pub(crate) const ALL: [RowEvent; 2] = [RowEvent::Inserted, RowEvent::Deleted];

    fn index(self) -> usize {
        match self {
            RowEvent::Inserted => 0,
            RowEvent::Deleted => 1,
        }
    }

    fn metric(self) -> &'static str {
        match self {
            RowEvent::Inserted => "quiver_rows_inserted_total",
            RowEvent::Deleted => "quiver_rows_deleted_total",
        }
    }

    fn help(self) -> &'static str {
        match self {
            RowEvent::Inserted => "Rows written by inserts and upserts, per collection.",
            RowEvent::Deleted => "Rows deleted, per collection.",
        }
    }
}

#[derive(Debug, Default)]
struct RowCounters {
    counts: [AtomicU64; RowEvent::ALL.len()],
}

impl RowCounters {
    fn add(&self, event: RowEvent, rows: u64) {
        self.counts[event.index()].fetch_add(rows, Ordering::Relaxed);
    }

    fn load(&self) -> [u64; RowEvent::ALL.len()] {
        std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed))
    }
}

#[derive(Debug, Default)]
struct Series {
    /// Database → collection → counters. Nested so that a lookup borrows the names instead of
    /// building a key.
    by_db: HashMap<String, HashMap<String, RowCounters>>,
    len: usize,
}

/// The per-collection row counters.
#[derive(Debug)]
pub(crate) struct CollectionRows {
    max_series: usize,
    series: RwLock<Series>,
    other: RowCounters,
}

impl CollectionRows {
    pub(crate) fn new(max_series: usize) -> CollectionRows {
        CollectionRows {
            max_series,
            series: RwLock::new(Series::default()),
            other: RowCounters::default(),
        }
    }

    /// Counts `rows` rows of `event` for the collection (a read lock and an atomic add; the
    /// first write of a collection takes the write lock once).
    pub(crate) fn add(&self, event: RowEvent, db: &str, collection: &str, rows: u64) {
        if rows == 0 {
            return;
        }
        if let Some(counters) = self.series.read().by_db.get(db).and_then(|c| c.get(collection)) {
            counters.add(event, rows);
            return;
        }
        let mut series = self.series.write();
        let Series { by_db, len } = &mut *series;
        let known = by_db.get(db).is_some_and(|c| c.contains_key(collection));
        if !known && *len >= self.max_series {
            drop(series);
            self.other.add(event, rows);
            return;
        }
        if !known {
            *len += 1;
        }
        by_db
            .entry(db.to_owned())
            .or_default()
            .entry(collection.to_owned())
            .or_default()
            .add(event, rows);
    }

    /// One family per [`RowEvent`], series sorted by database then collection, `_other` last
    /// (once it has counted anything).
    pub(crate) fn render(&self, out: &mut Exposition) {
        let mut rows: Vec<(String, String, [u64; RowEvent::ALL.len()])> = {
            let series = self.series.read();
            series
                .by_db
                .iter()
                .flat_map(|(db, collections)| {
                    collections.iter().map(move |(c, n)| (db.clone(), c.clone(), n.load()))
                })
                .collect()
        };
        rows.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let other = self.other.load();
        if other.iter().any(|&n| n > 0) {
            rows.push((OTHER.to_owned(), OTHER.to_owned(), other));
        }
        for event in RowEvent::ALL {
            out.family(event.metric(), Kind::Counter, event.help());
            for (db, collection, counts) in &rows {
                let labels = [("db", db.as_str()), ("collection", collection.as_str())];
                out.sample(event.metric(), &labels, Value::Int(counts[event.index()]));
            }
        }
    }
}
