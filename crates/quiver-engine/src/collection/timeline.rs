//! The collection's timeline: which log sequence number was the last one written at a given
//! wall-clock time, for point-in-time restore.
//!
//! Every log record starts with the wall-clock milliseconds of its write; the timeline keeps,
//! for each second in which records were written, the time and LSN of the last of them
//! (resolution: one second; a restore to a time inside a second sees either every record of
//! that second written at or before that time, or, when a later record of the same second
//! moved the entry past it, the state at the end of the previous second with records).
//! Times are made non-decreasing, so a clock stepping back cannot reorder LSNs. The first
//! entry (the collection's creation, or the compaction horizon) never moves.
//!
//! It is bounded: at most [`MAX_TIMELINE_ENTRIES`] entries; beyond that, every other entry of
//! the older half is dropped (the first is kept), so old resolution coarsens while the recent
//! one stays at one second. Compaction prunes it to the retention window. It is stored in
//! the manifest at each checkpoint and rebuilt from the records replayed at open.

/// Most entries a timeline keeps (16 bytes each in the manifest).
pub(crate) const MAX_TIMELINE_ENTRIES: usize = 16_384;

/// `(unix millis, lsn)` pairs, both strictly increasing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timeline {
    entries: Vec<(u64, u64)>,
}

impl Timeline {
    /// A timeline from stored entries, checked to be increasing and bounded.
    pub(crate) fn from_entries(entries: Vec<(u64, u64)>) -> Option<Timeline> {
        let increasing = entries.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1);
        (increasing && entries.len() <= MAX_TIMELINE_ENTRIES).then_some(Timeline { entries })
    }

    pub(crate) fn entries(&self) -> &[(u64, u64)] {
        &self.entries
    }

    /// Records that the record `lsn` was written at `unix_millis`.
    pub(crate) fn record(&mut self, unix_millis: u64, lsn: u64) {
        let several = self.entries.len() > 1;
        match self.entries.last_mut() {
            Some((_, last_lsn)) if lsn <= *last_lsn => {}
            // The first entry is the earliest restorable point: it never moves.
            Some((last_ms, last_lsn)) if unix_millis / 1000 <= *last_ms / 1000 && several => {
                *last_ms = unix_millis.max(*last_ms);
                *last_lsn = lsn;
            }
            Some(_) | None => {
                self.entries.push((unix_millis, lsn));
                if self.entries.len() > MAX_TIMELINE_ENTRIES {
                    self.thin();
                }
            }
        }
    }

    /// Drops every other entry of the older half, keeping the first.
    fn thin(&mut self) {
        let half = self.entries.len() / 2;
        let mut index = 0;
        self.entries.retain(|_| {
            let keep = index >= half || index % 2 == 0;
            index += 1;
            keep
        });
    }

    /// The LSN of the last record written at or before `unix_millis`, as far as the timeline
    /// resolves it; `None` before its first entry.
    pub(crate) fn lsn_at(&self, unix_millis: u64) -> Option<u64> {
        let after = self.entries.partition_point(|(ms, _)| *ms <= unix_millis);
        after.checked_sub(1).map(|i| self.entries[i].1)
    }

    /// The time of the earliest entry whose LSN is at least `lsn`: the earliest time a restore
    /// can see a state no older than `lsn`.
    pub(crate) fn earliest_at_or_after(&self, lsn: u64) -> Option<u64> {
        self.entries.iter().find(|(_, l)| *l >= lsn).map(|(ms, _)| *ms)
    }

    /// Forgets the entries before the last one at or before `unix_millis` (which stays, as the
    /// earliest restorable point).
    pub(crate) fn prune_before(&mut self, unix_millis: u64) {
        let after = self.entries.partition_point(|(ms, _)| *ms <= unix_millis);
        if after > 1 {
            self.entries.drain(..after - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_second_with_the_last_record_of_it() {
        let mut t = Timeline::default();
        t.record(1_000, 0);
        t.record(1_500, 1);
        t.record(5_100, 1);
        t.record(5_900, 2);
        t.record(6_000, 3);
        assert_eq!(t.entries(), &[(1_000, 0), (1_500, 1), (5_900, 2), (6_000, 3)]);
        assert_eq!(t.lsn_at(999), None);
        assert_eq!(t.lsn_at(1_499), Some(0));
        assert_eq!(t.lsn_at(5_899), Some(1));
        assert_eq!(t.lsn_at(5_900), Some(2));
        assert_eq!(t.lsn_at(u64::MAX), Some(3));
    }

    #[test]
    fn a_clock_stepping_back_keeps_times_increasing() {
        let mut t = Timeline::default();
        t.record(1_000, 0);
        t.record(10_000, 1);
        t.record(3_000, 2);
        assert_eq!(t.entries(), &[(1_000, 0), (10_000, 2)]);
    }

    #[test]
    fn it_stays_bounded_and_keeps_its_first_and_newest_entries() {
        let mut t = Timeline::default();
        for i in 0..(3 * MAX_TIMELINE_ENTRIES as u64) {
            t.record(i * 1000, i + 1);
        }
        assert!(t.entries().len() <= MAX_TIMELINE_ENTRIES);
        assert_eq!(t.entries()[0], (0, 1));
        let last = 3 * MAX_TIMELINE_ENTRIES as u64 - 1;
        assert_eq!(t.entries().last(), Some(&(last * 1000, last + 1)));
        assert!(Timeline::from_entries(t.entries().to_vec()).is_some());
    }

    #[test]
    fn pruning_keeps_the_entry_at_the_horizon() {
        let mut t = Timeline::default();
        for i in 0..10 {
            t.record(i * 1000, i + 1);
        }
        t.prune_before(4_500);
        assert_eq!(t.entries()[0], (4_000, 5));
        assert_eq!(t.earliest_at_or_after(7), Some(6_000));
    }
}
