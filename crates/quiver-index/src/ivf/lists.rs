//! The inverted lists: which rows each list holds, as one array of row ids grouped list by list
//! plus the offset where each list starts.
//!
//! A row's *position* is its index in that array. The indexes keep their per-row data (vectors
//! or codes) in position order too, so each list's data is contiguous and a probe reads it as
//! one stream.

use std::ops::Range;

/// Every row filed under exactly one list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lists {
    /// `lists + 1` positions: list `l` is `ids[offsets[l]..offsets[l + 1]]`.
    offsets: Vec<u32>,
    /// Row ids, list by list, ascending within a list.
    ids: Vec<u32>,
}

/// Why stored lists were refused, and at which id (an index into the stored ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListsError {
    /// The list sizes do not add up to the number of rows.
    SizeSum,
    IdOutOfRange(usize),
    DuplicateId(usize),
}

impl Lists {
    /// Files row `i` under list `labels[i]` (each `< lists`). `labels.len()` fits a `u32`.
    pub(crate) fn group(labels: &[u32], lists: usize) -> Lists {
        let mut offsets = vec![0u32; lists + 1];
        for &label in labels {
            offsets[label as usize + 1] += 1;
        }
        for l in 0..lists {
            offsets[l + 1] += offsets[l];
        }
        let mut next = offsets.clone();
        let mut ids = vec![0u32; labels.len()];
        for (row, &label) in labels.iter().enumerate() {
            let slot = &mut next[label as usize];
            ids[*slot as usize] = row as u32;
            *slot += 1;
        }
        Lists { offsets, ids }
    }

    /// Lists read back from storage: `sizes[l]` ids for list `l`, taken in order from `ids`,
    /// which must be a permutation of `0..ids.len()`.
    pub(crate) fn from_stored(sizes: &[u32], ids: Vec<u32>) -> Result<Lists, ListsError> {
        let n = ids.len();
        let mut offsets = Vec::with_capacity(sizes.len() + 1);
        offsets.push(0u32);
        let mut total = 0u64;
        for &size in sizes {
            total += u64::from(size);
            if total > n as u64 {
                return Err(ListsError::SizeSum);
            }
            offsets.push(total as u32);
        }
        if total != n as u64 {
            return Err(ListsError::SizeSum);
        }
        let mut seen = vec![false; n];
        for (i, &id) in ids.iter().enumerate() {
            let Some(seen) = seen.get_mut(id as usize) else {
                return Err(ListsError::IdOutOfRange(i));
            };
            if *seen {
                return Err(ListsError::DuplicateId(i));
            }
            *seen = true;
        }
        Ok(Lists { offsets, ids })
    }

    /// The number of lists.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The positions of list `list`'s rows.
    #[inline]
    pub(crate) fn positions(&self, list: usize) -> Range<usize> {
        self.offsets[list] as usize..self.offsets[list + 1] as usize
    }

    /// Row ids by position.
    pub(crate) fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The number of rows in each list, in list order.
    pub(crate) fn sizes(&self) -> impl Iterator<Item = u32> + '_ {
        self.offsets.windows(2).map(|w| w[1] - w[0])
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        (self.offsets.capacity() + self.ids.capacity()) * size_of::<u32>()
    }
}
