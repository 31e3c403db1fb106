//! The visited set of a graph walk: one generation stamp per node, so starting a new walk is
//! one increment instead of clearing `n` entries (hnswlib's `VisitedList`).

/// Marks nodes visited during the current walk. Reused across walks; grows to the largest
/// graph it has served.
#[derive(Clone, Debug, Default)]
pub(crate) struct Visited {
    marks: Vec<u16>,
    /// The stamp of the current walk; never 0, so fresh entries read as unvisited.
    generation: u16,
}

impl Visited {
    /// Starts a walk over a graph of `n` nodes: every node becomes unvisited.
    pub(crate) fn start(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Every 65535 walks the stamps wrap: clear once, then carry on.
            self.marks.fill(0);
            self.generation = 1;
        }
    }

    /// Marks `node` visited; true when it was not visited before in this walk.
    #[inline(always)]
    pub(crate) fn insert(&mut self, node: u32) -> bool {
        let mark = &mut self.marks[node as usize];
        let fresh = *mark != self.generation;
        *mark = self.generation;
        fresh
    }

    #[inline(always)]
    pub(crate) fn contains(&self, node: u32) -> bool {
        self.marks[node as usize] == self.generation
    }

    pub(crate) fn capacity_bytes(&self) -> usize {
        self.marks.capacity() * size_of::<u16>()
    }
}
