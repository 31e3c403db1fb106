//! Parallel insertion, as hnswlib does it: worker threads take rows in order from a shared
//! counter and insert each one with per-node locks on the link lists it rewrites.
//!
//! Inserting a row: greedy descent from the entry point down to the row's level, then at each
//! level from there to 0 an `efConstruction` search, the heuristic neighbour selection
//! ([`select_neighbors`]) and the reverse links, pruning a neighbour's list with the same
//! heuristic when it is full.
//!
//! Locks: a thread holds at most one node lock at a time (its own list, then each neighbour's
//! in turn), and the entry-point lock is only ever taken first, so there is no lock cycle.
//! Readers do not lock; see [`Graph`] for why a racy read is harmless.
//!
//! Levels depend only on the seed; with one thread the whole graph is reproducible, with more
//! the interleaving of insertions varies from run to run.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;

use crate::error::IndexError;

use super::graph::Graph;
use super::heap;
use super::params::HnswParams;
use super::rng::draw_levels;
use super::search::{AcceptAll, LayerScratch, greedy_descent, search_layer};
use super::space::{Formula, Query, Rows};

/// Where searches start: the node with the highest level (the first one inserted at it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) node: u32,
    pub(crate) level: usize,
}

/// A built graph and its entry point (`None` for zero rows).
pub(crate) struct Built {
    pub(crate) graph: Graph<u32>,
    pub(crate) entry: Option<Entry>,
}

/// Builds the graph over the `n` rows of `rows` with `threads` threads (at least one).
pub(crate) fn build<F: Formula>(
    rows: Rows<'_>,
    n: usize,
    params: &HnswParams,
    threads: usize,
) -> Result<Built, IndexError> {
    let m = params.m();
    let levels = draw_levels(n, m, params.seed());
    let graph = Graph::with_levels(m, &levels)?;
    let Some(&first_level) = levels.first() else {
        return Ok(Built { graph: graph.freeze(), entry: None });
    };
    let shared = Shared {
        rows,
        graph,
        levels,
        locks: (0..n).map(|_| Mutex::new(())).collect(),
        entry: Mutex::new(Entry { node: 0, level: usize::from(first_level) }),
        next: AtomicUsize::new(1),
        // hnswlib raises efConstruction to M the same way: the beam must hold M neighbours.
        ef: params.ef_construction().max(m),
    };
    let threads = threads.clamp(1, n);
    thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(|| shared.work::<F>());
        }
        shared.work::<F>();
    });
    let entry = *lock(&shared.entry);
    Ok(Built { graph: shared.graph.freeze(), entry: Some(entry) })
}

/// The state insertion threads share.
struct Shared<'a> {
    rows: Rows<'a>,
    graph: Graph<AtomicU32>,
    levels: Vec<u8>,
    /// One lock per node, held while its lists are rewritten.
    locks: Vec<Mutex<()>>,
    /// The entry point; held for a whole insertion by a row that will become the new entry.
    entry: Mutex<Entry>,
    /// The next row to insert (row 0 is the initial entry point).
    next: AtomicUsize,
    ef: usize,
}

/// One thread's working memory.
#[derive(Default)]
struct Scratch {
    layer: LayerScratch,
    /// The level search's results, closest first.
    found: Vec<(f32, u32)>,
    /// The neighbours chosen for the new row.
    chosen: Vec<(f32, u32)>,
    /// A full neighbour list plus the new row, and what survives its pruning.
    pruning: Vec<(f32, u32)>,
    pruned: Vec<(f32, u32)>,
    packed: Vec<u64>,
    ids: Vec<u32>,
}

impl Shared<'_> {
    fn work<F: Formula>(&self) {
        let mut scratch = Scratch::default();
        loop {
            let node = self.next.fetch_add(1, Ordering::Relaxed);
            if node >= self.levels.len() {
                return;
            }
            // `n` fits a `u32` (checked by the caller).
            self.insert::<F>(node as u32, &mut scratch);
        }
    }

    fn insert<F: Formula>(&self, node: u32, scratch: &mut Scratch) {
        let level = usize::from(self.levels[node as usize]);
        let query: Query<'_, F> = self.rows.query_for_row(node);

        let entry_guard = lock(&self.entry);
        let entry = *entry_guard;
        // A row that raises the top level keeps the entry lock until it is linked, so no
        // other insertion starts from an entry point that is about to change.
        let held = if level > entry.level {
            Some(entry_guard)
        } else {
            drop(entry_guard);
            None
        };

        let start = query.to(entry.node);
        let (mut current, mut current_distance) =
            greedy_descent(&self.graph, entry.level, level, entry.node, start, &query);
        for layer in (0..=level.min(entry.level)).rev() {
            search_layer(
                &self.graph,
                layer,
                current,
                current_distance,
                self.ef,
                &query,
                &AcceptAll,
                &mut scratch.layer,
            );
            scratch.packed.clear();
            scratch.packed.extend(scratch.layer.top.drain());
            scratch.packed.sort_unstable();
            scratch.found.clear();
            scratch.found.extend(
                scratch
                    .packed
                    .iter()
                    .map(|&p| (heap::distance(p), heap::id(p)))
                    .filter(|&(_, id)| id != node),
            );
            select_neighbors::<F>(self.rows, &scratch.found, self.graph.m(), &mut scratch.chosen);
            if let Some(&(distance, closest)) = scratch.chosen.first() {
                (current, current_distance) = (closest, distance);
            }
            self.connect::<F>(node, layer, scratch);
        }

        if let Some(mut entry) = held {
            *entry = Entry { node, level };
        }
    }

    /// Links `node` to `scratch.chosen` at `level` and each of them back to `node`.
    fn connect<F: Formula>(&self, node: u32, level: usize, scratch: &mut Scratch) {
        let Scratch { chosen, pruning, pruned, ids, .. } = scratch;
        ids.clear();
        ids.extend(chosen.iter().map(|&(_, id)| id));
        {
            let _guard = lock(&self.locks[node as usize]);
            self.graph.set(node, level, ids);
        }
        let capacity = self.graph.max_degree(level);
        for &(distance, neighbor) in chosen.iter() {
            let _guard = lock(&self.locks[neighbor as usize]);
            let current = self.graph.neighbors(neighbor, level);
            if current.iter().any(|slot| slot.load(Ordering::Relaxed) == node) {
                continue;
            }
            if current.len() < capacity {
                self.graph.push(neighbor, level, node);
                continue;
            }
            // Full: keep the best `capacity` of the old list plus `node` by the heuristic.
            pruning.clear();
            pruning.push((distance, node));
            for slot in current {
                let other = slot.load(Ordering::Relaxed);
                pruning.push((self.rows.between::<F>(neighbor, other), other));
            }
            pruning.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            select_neighbors::<F>(self.rows, pruning, capacity, pruned);
            ids.clear();
            ids.extend(pruned.iter().map(|&(_, id)| id));
            self.graph.set(neighbor, level, ids);
        }
    }
}

/// The HNSW paper's neighbour-selection heuristic (hnswlib's `getNeighborsByHeuristic2`): walk
/// the candidates closest first and keep one unless it is closer to an already kept neighbour
/// than to the base point, up to `max` kept. This keeps links pointing in diverse directions,
/// which is what lets greedy search cross between clusters.
///
/// `candidates` are `(distance to the base point, id)` sorted ascending; with at most `max` of
/// them all are kept.
pub(crate) fn select_neighbors<F: Formula>(
    rows: Rows<'_>,
    candidates: &[(f32, u32)],
    max: usize,
    out: &mut Vec<(f32, u32)>,
) {
    out.clear();
    if candidates.len() <= max {
        out.extend_from_slice(candidates);
        return;
    }
    for &(distance, candidate) in candidates {
        if out.len() >= max {
            break;
        }
        let diverse = out.iter().all(|&(_, kept)| rows.between::<F>(candidate, kept) >= distance);
        if diverse {
            out.push((distance, candidate));
        }
    }
}

/// Locks a mutex, ignoring poisoning: the data they guard (`()` and a plain `Entry`) cannot be
/// left half-updated by a panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
