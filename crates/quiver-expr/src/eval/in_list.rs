//! The list of an `in` predicate, indexed once per plan: sorted numbers searched by bisection
//! and a hash set of strings (std's SipHash: the strings come from clients), so a lookup
//! costs O(log n) or O(1) whatever the list's length.
//!
//! `v in [a, b, ...]` means `v == a or v == b or ...` under three-valued logic: true when
//! some element equals `v`, otherwise unknown when some element is of another kind than `v`
//! (only possible for JSON values), otherwise false.

use std::collections::HashSet;
use std::fmt;

use super::value::{Val, canonical_key, cmp_int_float};
use crate::plan::Lit;

#[derive(Clone, Debug)]
pub(crate) struct InList {
    items: Vec<Lit>,
    ints: Vec<i64>,
    /// Sorted by `total_cmp`, `-0.0` stored as `0.0`.
    floats: Vec<f64>,
    strs: HashSet<String>,
    bools: [bool; 2],
    /// Canonical keys of the list elements (`canonical_key`).
    lists: HashSet<String>,
    has_number: bool,
    has_str: bool,
    has_bool: bool,
    has_list: bool,
}

impl InList {
    pub(crate) fn new(items: Vec<Lit>) -> InList {
        let mut list = InList {
            items: Vec::new(),
            ints: Vec::new(),
            floats: Vec::new(),
            strs: HashSet::new(),
            bools: [false; 2],
            lists: HashSet::new(),
            has_number: false,
            has_str: false,
            has_bool: false,
            has_list: false,
        };
        for item in &items {
            match item {
                Lit::Int(v) => list.ints.push(*v),
                Lit::Float(v) => list.floats.push(*v + 0.0),
                Lit::Str(s) => {
                    list.strs.insert(s.clone());
                }
                Lit::Bool(v) => list.bools[usize::from(*v)] = true,
                Lit::List(_) => {
                    list.lists.extend(canonical_key(&Val::from_lit(item)));
                }
            }
        }
        list.ints.sort_unstable();
        list.ints.dedup();
        list.floats.sort_unstable_by(f64::total_cmp);
        list.floats.dedup();
        list.has_number = !list.ints.is_empty() || !list.floats.is_empty();
        list.has_str = !list.strs.is_empty();
        list.has_bool = list.bools.iter().any(|b| *b);
        list.has_list = !list.lists.is_empty();
        list.items = items;
        list
    }

    pub(crate) fn items(&self) -> &[Lit] {
        &self.items
    }

    pub(crate) fn contains_int(&self, v: i64) -> bool {
        if self.ints.binary_search(&v).is_ok() {
            return true;
        }
        if self.floats.is_empty() {
            return false;
        }
        // Only a float exactly equal to `v` matches, and then `v` converts exactly.
        let f = v as f64;
        cmp_int_float(v, f).is_eq() && self.contains_float_only(f)
    }

    pub(crate) fn contains_float(&self, v: f64) -> bool {
        if self.contains_float_only(v) {
            return true;
        }
        const TWO_63: f64 = 9_223_372_036_854_775_808.0;
        // An integral float within i64 equals exactly one integer.
        v.fract() == 0.0
            && (-TWO_63..TWO_63).contains(&v)
            && self.ints.binary_search(&(v as i64)).is_ok()
    }

    fn contains_float_only(&self, v: f64) -> bool {
        let v = v + 0.0;
        self.floats.binary_search_by(|x| x.total_cmp(&v)).is_ok()
    }

    pub(crate) fn contains_str(&self, v: &str) -> bool {
        self.strs.contains(v)
    }

    pub(crate) fn contains_bool(&self, v: bool) -> bool {
        self.bools[usize::from(v)]
    }

    /// Three-valued membership of one row's value.
    pub(crate) fn contains(&self, v: &Val<'_>) -> Option<bool> {
        let (found, other_kinds) = match v {
            Val::Int(i) => (self.contains_int(*i), self.has_str || self.has_bool || self.has_list),
            Val::Float(f) => {
                (self.contains_float(*f), self.has_str || self.has_bool || self.has_list)
            }
            Val::Str(s) => {
                (self.contains_str(s), self.has_number || self.has_bool || self.has_list)
            }
            Val::Bool(b) => {
                (self.contains_bool(*b), self.has_number || self.has_str || self.has_list)
            }
            Val::List(_) => (
                canonical_key(v).is_some_and(|key| self.lists.contains(&key)),
                self.has_number || self.has_str || self.has_bool,
            ),
            Val::Opaque => (false, !self.items.is_empty()),
        };
        if found {
            Some(true)
        } else if other_kinds {
            None
        } else {
            Some(false)
        }
    }
}

impl fmt::Display for InList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Lit::List(self.items.clone()))
    }
}
