//! The two graph walks every HNSW operation is made of, shared by building and searching: the
//! greedy descent through the upper levels and the `ef`-bounded best-first search of one level
//! (hnswlib's `searchBaseLayerST`), plus the reusable scratch they work in.
//!
//! A filter never cuts the walk: rejected nodes are expanded like the others (so the graph
//! stays connected at low pass ratios) but never enter the results, and the walk stops only
//! once it holds `ef` accepted nodes or runs out of candidates.

#[cfg(test)]
mod tests;

use std::collections::BinaryHeap;

use super::graph::{Graph, Slot};
use super::heap::{self, pack};
use super::prefetch::prefetch;
use super::space::{Formula, Query};
use super::visited::Visited;

/// How many rows ahead of the one being scored to prefetch (measured on 128-d rows: one ahead
/// leaves loads exposed, four ahead overflows the CPU's outstanding-miss buffers).
const PREFETCH_AHEAD: usize = 2;

/// Which nodes may enter the results.
pub(crate) trait Accept {
    fn accept(&self, node: u32) -> bool;
}

/// No filter.
pub(crate) struct AcceptAll;

impl Accept for AcceptAll {
    #[inline(always)]
    fn accept(&self, _: u32) -> bool {
        true
    }
}

impl Accept for &dyn Fn(u32) -> bool {
    #[inline(always)]
    fn accept(&self, node: u32) -> bool {
        self(node)
    }
}

/// Reusable memory for searching an [`Hnsw`](super::Hnsw): the visited stamps and the two
/// heaps. Keep one per thread and pass it to every search; after the first few searches a
/// search allocates nothing but its result.
///
/// One scratch may serve several indexes (it grows to the largest).
#[derive(Debug, Default)]
pub struct SearchScratch {
    pub(crate) layer: LayerScratch,
}

impl SearchScratch {
    pub fn new() -> SearchScratch {
        SearchScratch::default()
    }

    /// The heap memory held, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.layer.memory_bytes()
    }
}

/// The working memory of one level search.
#[derive(Debug, Default)]
pub(crate) struct LayerScratch {
    pub(crate) visited: Visited,
    /// Nodes still to expand, as complemented packed pairs so the max-heap pops the closest.
    candidates: BinaryHeap<u64>,
    /// The `ef` closest accepted nodes found, as packed pairs; the top is the farthest.
    pub(crate) top: BinaryHeap<u64>,
    /// The unvisited neighbours of the node being expanded.
    batch: Vec<u32>,
}

impl LayerScratch {
    fn memory_bytes(&self) -> usize {
        self.visited.capacity_bytes()
            + (self.candidates.capacity() + self.top.capacity()) * size_of::<u64>()
            + self.batch.capacity() * size_of::<u32>()
    }
}

/// Walks down from `from_level` to `to_level + 1`, at each level moving to the closest
/// neighbour while that gets closer; returns the node reached and its distance.
///
/// Every level's walk ends: each move strictly lowers the distance, so no node is visited
/// twice at one level.
pub(crate) fn greedy_descent<S: Slot, F: Formula>(
    graph: &Graph<S>,
    from_level: usize,
    to_level: usize,
    mut node: u32,
    mut distance: f32,
    query: &Query<'_, F>,
) -> (u32, f32) {
    for level in (to_level + 1..=from_level).rev() {
        loop {
            let mut moved = false;
            for slot in graph.neighbors(node, level) {
                let neighbor = slot.get();
                let neighbor_distance = query.to(neighbor);
                if neighbor_distance < distance {
                    (node, distance) = (neighbor, neighbor_distance);
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
    }
    (node, distance)
}

/// Best-first search of `level` from `entry`, keeping the `ef` closest accepted nodes in
/// `scratch.top` (and leaving every node it scored marked in `scratch.visited`).
#[allow(clippy::too_many_arguments)] // The walk's inputs; bundling them would only rename them.
pub(crate) fn search_layer<S: Slot, F: Formula, A: Accept>(
    graph: &Graph<S>,
    level: usize,
    entry: u32,
    entry_distance: f32,
    ef: usize,
    query: &Query<'_, F>,
    accept: &A,
    scratch: &mut LayerScratch,
) {
    let LayerScratch { visited, candidates, top, batch } = scratch;
    visited.start(graph.len());
    candidates.clear();
    top.clear();

    visited.insert(entry);
    // The distance a node must beat to enter `top` once it is full.
    let mut bound = f32::INFINITY;
    if accept.accept(entry) {
        top.push(pack(entry_distance, entry));
        bound = entry_distance;
    }
    candidates.push(!pack(entry_distance, entry));

    while let Some(&closest) = candidates.peek() {
        let closest = !closest;
        if heap::distance(closest) > bound && top.len() >= ef {
            break;
        }
        candidates.pop();
        let node = heap::id(closest);

        // Score the unvisited neighbours in two passes: first collect them (the link list and
        // visited stamps are cheap to read), then score them while the rows two places ahead
        // are being fetched. Rows live in DRAM for large segments, so overlapping their loads
        // is most of a search's speed.
        batch.clear();
        for slot in graph.neighbors(node, level) {
            let neighbor = slot.get();
            if visited.insert(neighbor) {
                batch.push(neighbor);
            }
        }
        for &neighbor in batch.iter().take(PREFETCH_AHEAD) {
            query.prefetch(neighbor);
        }
        for (i, &neighbor) in batch.iter().enumerate() {
            if let Some(&ahead) = batch.get(i + PREFETCH_AHEAD) {
                query.prefetch(ahead);
            }
            let distance = query.to(neighbor);
            if top.len() < ef || distance < bound {
                if level == 0 {
                    // A new candidate is likely to be expanded soon: start loading its links
                    // (two lines hold the count and at least 15 ids whatever the alignment).
                    let links = graph.level0_ptr(neighbor).cast::<u8>();
                    prefetch(links);
                    prefetch(links.wrapping_add(64));
                }
                candidates.push(!pack(distance, neighbor));
                if accept.accept(neighbor) {
                    top.push(pack(distance, neighbor));
                    if top.len() > ef {
                        top.pop();
                    }
                    bound = top.peek().map_or(f32::INFINITY, |&worst| heap::distance(worst));
                }
            }
        }
        if level == 0
            && let Some(&next) = candidates.peek()
        {
            prefetch(graph.level0_ptr(heap::id(!next)));
        }
    }
}
