//! INVERTED: the distinct values of a column, ascending, each with its rows (ascending), in
//! one row array cut by offsets. Equality and `in` cost one bisection per value; a prefix is
//! a run of keys, since keys are ordered by bytes.

use quiver_core::ColumnData;

use super::ScalarIndexError;
use super::bytes::{Reader, put_len, put_u32, put_u64};
use super::scalar::{ColType, Keys, mark};
use crate::eval::bitmap::Bitmap;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum InvKeys {
    Bool(Vec<bool>),
    Int(Vec<i64>),
    Str(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Inverted {
    keys: InvKeys,
    /// `rows[offsets[k]..offsets[k + 1]]` are the rows of key `k`; one more than the keys.
    offsets: Vec<u32>,
    rows: Vec<u32>,
}

/// Groups `present` (ascending rows) by `key`, keys ascending and rows ascending per key:
/// the first row of each group and the offsets.
fn group<K: Ord>(mut present: Vec<u32>, key: impl Fn(u32) -> K) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    // Stable: rows stay ascending within a key.
    present.sort_by_key(|row| key(*row));
    let mut firsts = Vec::new();
    let mut offsets = vec![0u32];
    for (i, &row) in present.iter().enumerate() {
        if i > 0 && key(present[i - 1]) != key(row) {
            offsets.push(i as u32);
        }
        if firsts.len() < offsets.len() {
            firsts.push(row);
        }
    }
    if !present.is_empty() {
        offsets.push(present.len() as u32);
    }
    (firsts, offsets, present)
}

impl Inverted {
    /// `data` is Bool, an integer or VarChar (the caller checked); `present` its non-null rows.
    pub(super) fn build(data: &ColumnData, present: Vec<u32>) -> Inverted {
        let (keys, (offsets, rows)) = match data {
            ColumnData::Bool(v) => {
                let (f, o, r) = group(present, |i| v[i as usize]);
                (InvKeys::Bool(f.iter().map(|i| v[*i as usize]).collect()), (o, r))
            }
            ColumnData::Int8(v) => int_keys(present, |i| i64::from(v[i])),
            ColumnData::Int16(v) => int_keys(present, |i| i64::from(v[i])),
            ColumnData::Int32(v) => int_keys(present, |i| i64::from(v[i])),
            ColumnData::Int64(v) => int_keys(present, |i| v[i]),
            ColumnData::VarChar(v) => {
                let (f, o, r) = group(present, |i| v[i as usize].as_bytes());
                (InvKeys::Str(f.iter().map(|i| v[*i as usize].clone()).collect()), (o, r))
            }
            _ => (InvKeys::Int(Vec::new()), (vec![0], Vec::new())),
        };
        Inverted { keys, offsets, rows }
    }

    pub(super) fn keys(&self) -> Keys<'_> {
        match &self.keys {
            InvKeys::Bool(k) => Keys::Bool(k),
            InvKeys::Int(k) => Keys::Int(k),
            InvKeys::Str(k) => Keys::Str(k),
        }
    }

    pub(super) fn span(&self, lo: usize, hi: usize) -> &[u32] {
        let start = self.offsets.get(lo).copied().unwrap_or(0) as usize;
        let end = self.offsets.get(hi).copied().unwrap_or(0) as usize;
        self.rows.get(start..end).unwrap_or(&[])
    }

    pub(super) fn size_bytes(&self) -> usize {
        let keys = match &self.keys {
            InvKeys::Bool(k) => k.len(),
            InvKeys::Int(k) => k.len() * 8,
            InvKeys::Str(k) => k.iter().map(|s| s.len() + 24).sum(),
        };
        keys + (self.offsets.len() + self.rows.len()) * 4
    }

    /// Per key: the key, the number of its rows, its rows.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        let n_keys = self.offsets.len().saturating_sub(1);
        put_len(out, n_keys);
        for k in 0..n_keys {
            match &self.keys {
                InvKeys::Bool(keys) => out.push(u8::from(keys[k])),
                InvKeys::Int(keys) => put_u64(out, keys[k] as u64),
                InvKeys::Str(keys) => {
                    put_len(out, keys[k].len());
                    out.extend_from_slice(keys[k].as_bytes());
                }
            }
            let rows = self.span(k, k + 1);
            put_len(out, rows.len());
            for &row in rows {
                put_u32(out, row);
            }
        }
    }

    pub(super) fn decode(
        r: &mut Reader<'_>,
        col_type: ColType,
        seen: &mut Bitmap,
    ) -> Result<Inverted, ScalarIndexError> {
        // A key takes at least 1 (Bool), 8 (integer) or 4 (string length) bytes, plus its
        // row count.
        let key_size = match col_type {
            ColType::Bool => 1,
            ColType::VarChar => 4,
            _ => 8,
        };
        let n_keys = r.count(key_size + 4)?;
        let mut keys = match col_type {
            ColType::Bool => InvKeys::Bool(Vec::with_capacity(n_keys)),
            ColType::VarChar => InvKeys::Str(Vec::with_capacity(n_keys)),
            _ => InvKeys::Int(Vec::with_capacity(n_keys)),
        };
        let mut offsets = Vec::with_capacity(n_keys + 1);
        offsets.push(0u32);
        let mut rows: Vec<u32> = Vec::new();
        for _ in 0..n_keys {
            let ascending = match &mut keys {
                InvKeys::Bool(keys) => {
                    let key = match r.u8()? {
                        0 => false,
                        1 => true,
                        _ => return Err(r.corrupt("a Bool key is neither 0 nor 1")),
                    };
                    let ok = keys.last().is_none_or(|last| !*last && key);
                    keys.push(key);
                    ok
                }
                InvKeys::Int(keys) => {
                    let key = r.i64()?;
                    let (min, max) = col_type.int_range().unwrap_or((i64::MIN, i64::MAX));
                    if !(min..=max).contains(&key) {
                        return Err(r.corrupt("a key is out of the column type's range"));
                    }
                    let ok = keys.last().is_none_or(|last| *last < key);
                    keys.push(key);
                    ok
                }
                InvKeys::Str(keys) => {
                    let key = r.str()?;
                    let ok = keys.last().is_none_or(|last| last.as_bytes() < key.as_bytes());
                    keys.push(key.to_owned());
                    ok
                }
            };
            if !ascending {
                return Err(r.corrupt("keys are not strictly ascending"));
            }
            let n = r.count(4)?;
            if n == 0 {
                return Err(r.corrupt("a key without rows"));
            }
            let start = rows.len();
            rows.reserve(n);
            for _ in 0..n {
                let row = r.u32()?;
                if rows.len() > start && rows.last().is_some_and(|last| *last >= row) {
                    return Err(r.corrupt("rows of a key are not strictly ascending"));
                }
                mark(r, seen, row)?;
                rows.push(row);
            }
            offsets.push(rows.len() as u32);
        }
        Ok(Inverted { keys, offsets, rows })
    }
}

fn int_keys(present: Vec<u32>, value: impl Fn(usize) -> i64) -> (InvKeys, (Vec<u32>, Vec<u32>)) {
    let (f, o, r) = group(present, |i| value(i as usize));
    (InvKeys::Int(f.iter().map(|i| value(*i as usize)).collect()), (o, r))
}
