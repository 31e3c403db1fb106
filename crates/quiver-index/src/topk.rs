//! Bounded top-k collection by internal distance, and merging of per-segment results.
//!
//! Order is total and deterministic: ascending distance, ties broken by the smaller id. That
//! makes the result of a search independent of the order rows were visited in, which is what
//! lets the exact search serve as the oracle for approximate ones.

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Pre-allocation cap: `k` may come straight from a request, so never reserve more than this
/// up front; the heap grows as rows are actually admitted.
const MAX_PREALLOCATED: usize = 4096;

/// One search hit: a row id (a row offset for [`flat_search`](crate::flat_search); the engine
/// maps it to a primary key) and its internal distance (smaller is closer; see
/// [`to_score`](crate::to_score)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbor {
    pub id: u64,
    pub distance: f32,
}

/// Keeps the `k` closest `(id, distance)` pairs pushed into it.
///
/// A max-heap of at most `k` entries whose top is the current worst, so a push costs O(1) when
/// it is rejected against the worst and O(log k) otherwise. NaN distances are never admitted.
/// `-0.0` is stored as `0.0`, so the two tie like the equal numbers they are. Ids are not
/// deduplicated: pushing one id twice may return it twice.
#[derive(Clone, Debug)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    pub fn new(k: usize) -> TopK {
        TopK { k, heap: BinaryHeap::with_capacity(k.min(MAX_PREALLOCATED)) }
    }

    /// Offers one candidate. Ignored when `distance` is NaN, when `k` is 0, and when the
    /// collector is full and the candidate is not closer than the worst kept one (by distance,
    /// then id).
    #[inline]
    pub fn push(&mut self, id: u64, distance: f32) {
        if distance.is_nan() {
            return;
        }
        // Adding positive zero turns -0.0 into 0.0 and leaves every other value unchanged.
        let entry = Entry { distance: distance + 0.0, id };
        if self.heap.len() < self.k {
            self.heap.push(entry);
            return;
        }
        if let Some(mut worst) = self.heap.peek_mut()
            && entry < *worst
        {
            // Replacing the top and dropping `worst` sifts the new entry down: O(log k).
            *worst = entry;
        }
    }

    /// The distance a candidate must beat (or tie with a smaller id) to be admitted, once `k`
    /// candidates are held; `None` while there is still room. Index searches use it to prune.
    pub fn threshold(&self) -> Option<f32> {
        if self.heap.len() < self.k {
            return None;
        }
        self.heap.peek().map(|worst| worst.distance)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The kept candidates, closest first (ascending distance, then ascending id).
    pub fn into_sorted_vec(self) -> Vec<Neighbor> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|entry| Neighbor { id: entry.id, distance: entry.distance })
            .collect()
    }
}

/// Merges per-segment result lists into the overall `k` closest, in [`TopK`] order.
///
/// The lists need not be sorted. Ids are not deduplicated, so the engine must give every
/// segment's rows distinct ids before merging.
pub fn merge_topk(lists: Vec<Vec<Neighbor>>, k: usize) -> Vec<Neighbor> {
    let mut top = TopK::new(k);
    for neighbor in lists.into_iter().flatten() {
        top.push(neighbor.id, neighbor.distance);
    }
    top.into_sorted_vec()
}

/// A heap entry, ordered by distance then id. Distances are never NaN and never -0.0 (see
/// [`TopK::push`]), so `total_cmp` agrees with the `<` on floats.
#[derive(Clone, Copy, Debug)]
struct Entry {
    distance: f32,
    id: u64,
}

impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> Ordering {
        self.distance.total_cmp(&other.distance).then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}
