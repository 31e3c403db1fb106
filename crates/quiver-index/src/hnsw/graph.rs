//! The link storage of an HNSW graph.
//!
//! Level 0 holds every node and is the hot path of every search, so it is one flat array with a
//! fixed stride of `1 + 2M` `u32`s per node: a count, then up to `2M` neighbour ids (unused
//! slots are 0). Upper levels hold about `n / (M - 1)` lists in all; node `i`'s lists for
//! levels `1..=level(i)` sit back to back in a second flat array, each `1 + M` `u32`s, starting
//! at `upper_start[i]` (so `level(i)` is implied by `upper_start[i + 1] - upper_start[i]`).
//!
//! The storage is generic over its slot: `AtomicU32` while building, so insertion threads can
//! read lists that other threads are rewriting (each read sees some id that was written there,
//! and every id ever written is `< n`), then `u32` for searching.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::IndexError;

/// One `u32` of link storage.
pub(crate) trait Slot: Send + Sync {
    fn get(&self) -> u32;
}

impl Slot for u32 {
    #[inline(always)]
    fn get(&self) -> u32 {
        *self
    }
}

impl Slot for AtomicU32 {
    #[inline(always)]
    fn get(&self) -> u32 {
        // Relaxed: a concurrent rewrite may be half done, which only makes the reader's view
        // of the graph slightly stale; every value it can see is a valid id or count.
        self.load(Ordering::Relaxed)
    }
}

/// The link lists of every node at every level.
#[derive(Debug)]
pub(crate) struct Graph<S> {
    m: usize,
    level0: Vec<S>,
    upper: Vec<S>,
    /// `n + 1` offsets into `upper`.
    upper_start: Vec<u32>,
}

impl<S: Slot> Graph<S> {
    pub(crate) fn m(&self) -> usize {
        self.m
    }

    pub(crate) fn len(&self) -> usize {
        self.upper_start.len() - 1
    }

    /// The capacity of a list at `level`.
    pub(crate) fn max_degree(&self, level: usize) -> usize {
        if level == 0 { 2 * self.m } else { self.m }
    }

    pub(crate) fn level(&self, node: u32) -> usize {
        let node = node as usize;
        (self.upper_start[node + 1] - self.upper_start[node]) as usize / (1 + self.m)
    }

    /// The whole list of `node` at `level` (which must be `<= level(node)`): the count slot,
    /// then the capacity's id slots.
    #[inline(always)]
    pub(crate) fn list(&self, node: u32, level: usize) -> &[S] {
        if level == 0 {
            let stride = 1 + 2 * self.m;
            let start = node as usize * stride;
            &self.level0[start..start + stride]
        } else {
            let stride = 1 + self.m;
            let start = self.upper_start[node as usize] as usize + (level - 1) * stride;
            &self.upper[start..start + stride]
        }
    }

    /// The neighbour ids of `node` at `level` (at most the capacity, whatever the count says).
    #[inline(always)]
    pub(crate) fn neighbors(&self, node: u32, level: usize) -> &[S] {
        let list = self.list(node, level);
        let count = (list[0].get() as usize).min(list.len() - 1);
        &list[1..1 + count]
    }

    /// The address of `node`'s level-0 list, for prefetching.
    #[inline(always)]
    pub(crate) fn level0_ptr(&self, node: u32) -> *const S {
        self.level0.as_ptr().wrapping_add(node as usize * (1 + 2 * self.m))
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        (self.level0.capacity() + self.upper.capacity()) * size_of::<S>()
            + self.upper_start.capacity() * size_of::<u32>()
    }
}

impl Graph<AtomicU32> {
    /// Empty lists for nodes with the given levels (each `<= MAX_LEVEL`).
    pub(crate) fn with_levels(m: usize, levels: &[u8]) -> Result<Graph<AtomicU32>, IndexError> {
        let upper_start = upper_offsets(m, levels)?;
        let upper_len = upper_start.last().copied().unwrap_or(0) as usize;
        let level0_len = levels.len() * (1 + 2 * m);
        Ok(Graph {
            m,
            level0: (0..level0_len).map(|_| AtomicU32::new(0)).collect(),
            upper: (0..upper_len).map(|_| AtomicU32::new(0)).collect(),
            upper_start,
        })
    }

    /// Replaces the list of `node` at `level` with `ids` (at most the capacity). The caller
    /// holds `node`'s lock, so writers never interleave; readers may see a mix of the old and
    /// new lists, which only ever holds valid ids.
    pub(crate) fn set(&self, node: u32, level: usize, ids: &[u32]) {
        let list = self.list(node, level);
        debug_assert!(ids.len() < list.len());
        let count = ids.len().min(list.len() - 1);
        for (slot, &id) in list[1..].iter().zip(&ids[..count]) {
            slot.store(id, Ordering::Relaxed);
        }
        for slot in &list[1 + count..] {
            slot.store(0, Ordering::Relaxed);
        }
        list[0].store(count as u32, Ordering::Relaxed);
    }

    /// Appends `id` to the list of `node` at `level`, which must have room (caller holds the
    /// lock).
    pub(crate) fn push(&self, node: u32, level: usize, id: u32) {
        let list = self.list(node, level);
        let count = list[0].load(Ordering::Relaxed) as usize;
        debug_assert!(count + 1 < list.len());
        list[1 + count].store(id, Ordering::Relaxed);
        list[0].store(count as u32 + 1, Ordering::Relaxed);
    }

    /// The storage for searching, once every insertion thread has finished.
    pub(crate) fn freeze(self) -> Graph<u32> {
        Graph {
            m: self.m,
            level0: self.level0.into_iter().map(AtomicU32::into_inner).collect(),
            upper: self.upper.into_iter().map(AtomicU32::into_inner).collect(),
            upper_start: self.upper_start,
        }
    }
}

impl Graph<u32> {
    /// Reassembles decoded storage; `level0` and `upper` must have the sizes `levels` and `m`
    /// imply (the decoder reads exactly those sizes).
    pub(crate) fn from_parts(
        m: usize,
        levels: &[u8],
        level0: Vec<u32>,
        upper: Vec<u32>,
    ) -> Result<Graph<u32>, IndexError> {
        let upper_start = upper_offsets(m, levels)?;
        debug_assert_eq!(level0.len(), levels.len() * (1 + 2 * m));
        debug_assert_eq!(upper.len(), upper_start.last().copied().unwrap_or(0) as usize);
        Ok(Graph { m, level0, upper, upper_start })
    }

    pub(crate) fn level0_raw(&self) -> &[u32] {
        &self.level0
    }

    pub(crate) fn upper_raw(&self) -> &[u32] {
        &self.upper
    }
}

/// Prefix sums of each node's upper-level storage, in `u32`s. Fails when the total does not fit
/// a `u32` (billions of rows; far beyond a segment).
fn upper_offsets(m: usize, levels: &[u8]) -> Result<Vec<u32>, IndexError> {
    let mut offsets = Vec::with_capacity(levels.len() + 1);
    let mut total: u32 = 0;
    offsets.push(0);
    for &level in levels {
        let size = u32::try_from(usize::from(level) * (1 + m)).ok();
        total = match size.and_then(|size| total.checked_add(size)) {
            Some(total) => total,
            None => {
                return Err(IndexError::ParamOutOfRange {
                    param: "rows",
                    value: i64::try_from(levels.len()).unwrap_or(i64::MAX),
                    min: 0,
                    max: i64::from(u32::MAX / 2),
                });
            }
        };
        offsets.push(total);
    }
    Ok(offsets)
}
