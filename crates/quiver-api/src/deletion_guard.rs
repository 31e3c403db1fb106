//! The mass-deletion guard: a delete that would remove a large part of a collection needs the
//! request's force flag and the `ForceDelete` privilege.
//!
//! A mistaken `delete(filter="id >= 0")` or a stolen credential used to wipe data is the
//! threat; an ordinary delete must not notice the guard. A deletion is *mass* when it removes
//! more than `max_rows` rows, or more than `max_share_percent` of the collection's rows while
//! also removing more than `min_rows` (so that deleting 2 rows of 3 is not a mass deletion).
//! The force flag is the gRPC metadata `quiver-force-delete: true` or the REST body's
//! `"force": true` (a Quiver extension; Milvus's messages have no such field).
//! Drops are guarded only when the recycle bin is off (`service::mass_deletion`): otherwise
//! they go to the bin, from which an admin restores them.

use std::fmt;

/// The gRPC metadata key that carries the force flag.
pub const FORCE_DELETE_HEADER: &str = "quiver-force-delete";

/// When a deletion counts as a mass deletion. Every value was range-checked by
/// [`DeletionGuard::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeletionGuard {
    max_share_percent: u8,
    max_rows: u64,
    min_rows: u64,
}

/// A setting of the guard out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("deletion guard: {key} must be {range}, not {value}")]
pub struct GuardSettingError {
    pub key: &'static str,
    pub range: &'static str,
    pub value: u64,
}

/// Why a deletion is a mass deletion: shown to the client and recorded in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MassDeletion {
    pub removing: u64,
    pub total: u64,
    pub guard: DeletionGuard,
}

impl Default for DeletionGuard {
    /// Half of a collection (above 1,000 rows), or more than 1,000,000 rows at once.
    fn default() -> DeletionGuard {
        DeletionGuard { max_share_percent: 50, max_rows: 1_000_000, min_rows: 1_000 }
    }
}

impl DeletionGuard {
    /// A guard with these thresholds: `max_share_percent` in 1..=100 (100 turns the share
    /// test off), `max_rows` at least 1, `min_rows` at most `max_rows`.
    pub fn new(
        max_share_percent: u64,
        max_rows: u64,
        min_rows: u64,
    ) -> Result<DeletionGuard, GuardSettingError> {
        let share = u8::try_from(max_share_percent).ok().filter(|p| (1..=100).contains(p));
        let Some(max_share_percent) = share else {
            let key = "max_share_percent";
            return Err(GuardSettingError { key, range: "1..=100", value: max_share_percent });
        };
        if max_rows == 0 {
            return Err(GuardSettingError { key: "max_rows", range: "at least 1", value: 0 });
        }
        if min_rows > max_rows {
            let range = "at most max_rows";
            return Err(GuardSettingError { key: "min_rows", range, value: min_rows });
        }
        Ok(DeletionGuard { max_share_percent, max_rows, min_rows })
    }

    pub fn max_share_percent(&self) -> u64 {
        u64::from(self.max_share_percent)
    }

    pub fn max_rows(&self) -> u64 {
        self.max_rows
    }

    pub fn min_rows(&self) -> u64 {
        self.min_rows
    }

    /// True when removing `removing` rows is no mass deletion of any collection (the
    /// smallest collection, one of exactly those rows, is the worst case).
    pub fn is_never_mass(&self, removing: u64) -> bool {
        self.assess(removing, removing).is_none()
    }

    /// `Some` when removing `removing` of a collection's `total` rows is a mass deletion.
    pub fn assess(&self, removing: u64, total: u64) -> Option<MassDeletion> {
        let over_rows = removing > self.max_rows;
        // removing / total > percent / 100, without division or overflow.
        let over_share = self.max_share_percent < 100
            && removing > self.min_rows
            && u128::from(removing) * 100 > u128::from(total) * u128::from(self.max_share_percent);
        (over_rows || over_share).then_some(MassDeletion { removing, total, guard: *self })
    }
}

impl fmt::Display for MassDeletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let DeletionGuard { max_share_percent, max_rows, min_rows } = self.guard;
        write!(
            f,
            "mass deletion refused: the request would delete {} of {} rows (the guard allows at \
             most {max_rows} rows, or {max_share_percent}% of a collection when deleting more \
             than {min_rows}); repeat it with the force flag ({FORCE_DELETE_HEADER}: true, or \
             \"force\": true over REST) as a user holding the ForceDelete privilege",
            self.removing, self.total
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_guard_allows_ordinary_deletes_and_catches_mass_ones() {
        let guard = DeletionGuard::default();
        // Small collections: most of 3 rows is not a mass deletion.
        assert_eq!(guard.assess(2, 3), None);
        assert_eq!(guard.assess(1_000, 1_000), None);
        // Above the floor, the share decides: 50% is allowed, one row more is not.
        assert_eq!(guard.assess(5_000, 10_000), None);
        let over = guard.assess(5_001, 10_000).unwrap();
        assert_eq!((over.removing, over.total), (5_001, 10_000));
        // The row count decides alone, whatever the share.
        assert_eq!(guard.assess(1_000_000, 100_000_000), None);
        assert!(guard.assess(1_000_001, 100_000_000).is_some());
    }

    #[test]
    fn the_share_test_cannot_overflow_and_can_be_turned_off() {
        let guard = DeletionGuard::new(50, u64::MAX, 0).unwrap();
        assert!(guard.assess(u64::MAX, u64::MAX).is_some());
        assert_eq!(guard.assess(u64::MAX / 2, u64::MAX), None);
        let rows_only = DeletionGuard::new(100, 10, 0).unwrap();
        assert_eq!(rows_only.assess(10, 10), None);
        assert!(rows_only.assess(11, 11).is_some());
    }

    #[test]
    fn a_deletion_is_never_mass_only_up_to_the_floor_and_the_row_cap() {
        let guard = DeletionGuard::new(50, 100, 10).unwrap();
        assert!(guard.is_never_mass(0) && guard.is_never_mass(10));
        assert!(!guard.is_never_mass(11));
        let share_off = DeletionGuard::new(100, 100, 10).unwrap();
        assert!(share_off.is_never_mass(100) && !share_off.is_never_mass(101));
    }

    #[test]
    fn guard_settings_out_of_range_are_refused_by_name() {
        assert_eq!(DeletionGuard::new(0, 10, 0).unwrap_err().key, "max_share_percent");
        assert_eq!(DeletionGuard::new(101, 10, 0).unwrap_err().key, "max_share_percent");
        assert_eq!(DeletionGuard::new(300, 10, 0).unwrap_err().key, "max_share_percent");
        assert_eq!(DeletionGuard::new(50, 0, 0).unwrap_err().key, "max_rows");
        assert_eq!(DeletionGuard::new(50, 10, 11).unwrap_err().key, "min_rows");
        assert!(DeletionGuard::new(1, 1, 1).is_ok());
    }

    #[test]
    fn the_refusal_names_the_numbers_and_the_way_to_force() {
        let text = DeletionGuard::default().assess(6_000, 10_000).unwrap().to_string();
        for needle in ["6000 of 10000", "50%", FORCE_DELETE_HEADER, "ForceDelete", "\"force\""] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }
}
