//! STL_SORT: every non-null row's value with the row, sorted by value (then row). A range is
//! two bisections, so the number of matching rows is known before any is materialized.
//! Floats are held as f64 (exact for Float columns) with `-0.0` stored as `0.0`; NaN cannot
//! occur (the data model refuses it, and decoding does too).

use quiver_core::ColumnData;

use super::ScalarIndexError;
use super::bytes::{Reader, put_len, put_u32, put_u64};
use super::scalar::{ColType, Keys, mark};
use crate::eval::bitmap::Bitmap;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Values {
    Int(Vec<i64>),
    Float(Vec<f64>),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sorted {
    values: Values,
    /// `rows[i]` holds `values[i]`.
    rows: Vec<u32>,
}

impl Sorted {
    /// `data` is an integer, Float or Double (the caller checked); `present` its non-null rows.
    pub(super) fn build(data: &ColumnData, mut present: Vec<u32>) -> Sorted {
        let ints = |present: &mut Vec<u32>, value: &dyn Fn(usize) -> i64| {
            present.sort_by_key(|row| value(*row as usize));
            Values::Int(present.iter().map(|row| value(*row as usize)).collect())
        };
        let floats = |present: &mut Vec<u32>, value: &dyn Fn(usize) -> f64| {
            present.sort_by(|a, b| value(*a as usize).total_cmp(&value(*b as usize)));
            Values::Float(present.iter().map(|row| value(*row as usize)).collect())
        };
        let values = match data {
            ColumnData::Int8(v) => ints(&mut present, &|i| i64::from(v[i])),
            ColumnData::Int16(v) => ints(&mut present, &|i| i64::from(v[i])),
            ColumnData::Int32(v) => ints(&mut present, &|i| i64::from(v[i])),
            ColumnData::Int64(v) => ints(&mut present, &|i| v[i]),
            ColumnData::Float(v) => floats(&mut present, &|i| f64::from(v[i]) + 0.0),
            ColumnData::Double(v) => floats(&mut present, &|i| v[i] + 0.0),
            _ => {
                present.clear();
                Values::Int(Vec::new())
            }
        };
        Sorted { values, rows: present }
    }

    pub(super) fn keys(&self) -> Keys<'_> {
        match &self.values {
            Values::Int(v) => Keys::Int(v),
            Values::Float(v) => Keys::Float(v),
        }
    }

    pub(super) fn span(&self, lo: usize, hi: usize) -> &[u32] {
        self.rows.get(lo..hi).unwrap_or(&[])
    }

    pub(super) fn size_bytes(&self) -> usize {
        self.rows.len() * 12
    }

    /// The pair count, the values, then the rows.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        put_len(out, self.rows.len());
        match &self.values {
            Values::Int(v) => v.iter().for_each(|x| put_u64(out, *x as u64)),
            Values::Float(v) => v.iter().for_each(|x| put_u64(out, x.to_bits())),
        }
        for &row in &self.rows {
            put_u32(out, row);
        }
    }

    pub(super) fn decode(
        r: &mut Reader<'_>,
        col_type: ColType,
        seen: &mut Bitmap,
    ) -> Result<Sorted, ScalarIndexError> {
        let n = r.count(12)?;
        let values = match col_type.int_range() {
            Some((min, max)) => {
                let mut values = Vec::with_capacity(n);
                for _ in 0..n {
                    let v = r.i64()?;
                    if !(min..=max).contains(&v) {
                        return Err(r.corrupt("a value is out of the column type's range"));
                    }
                    if values.last().is_some_and(|last| *last > v) {
                        return Err(r.corrupt("values are not sorted"));
                    }
                    values.push(v);
                }
                Values::Int(values)
            }
            None => {
                let mut values: Vec<f64> = Vec::with_capacity(n);
                for _ in 0..n {
                    let v = r.f64()?;
                    if !v.is_finite() || (v == 0.0 && v.is_sign_negative()) {
                        return Err(r.corrupt("a value is not finite or is -0"));
                    }
                    if col_type == ColType::Float && f64::from(v as f32) != v {
                        return Err(r.corrupt("a value is not a Float"));
                    }
                    if values.last().is_some_and(|last| *last > v) {
                        return Err(r.corrupt("values are not sorted"));
                    }
                    values.push(v);
                }
                Values::Float(values)
            }
        };
        let mut rows: Vec<u32> = Vec::with_capacity(n);
        for i in 0..n {
            let row = r.u32()?;
            let same_value = i > 0
                && match &values {
                    Values::Int(v) => v[i - 1] == v[i],
                    Values::Float(v) => v[i - 1] == v[i],
                };
            if same_value && rows.last().is_some_and(|last| *last >= row) {
                return Err(r.corrupt("rows of a value are not strictly ascending"));
            }
            mark(r, seen, row)?;
            rows.push(row);
        }
        Ok(Sorted { values, rows })
    }
}
