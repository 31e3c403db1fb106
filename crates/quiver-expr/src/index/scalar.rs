//! [`ScalarIndex`]: one column's index of either kind, its build, its bytes, and the views the
//! evaluator reads (sorted keys, the rows of a run of keys, the null rows).

use quiver_core::{Column, ColumnData};

use super::bytes::{Reader, put_len, put_u32, put_u64};
use super::inverted::Inverted;
use super::sorted::Sorted;
use crate::eval::bitmap::Bitmap;

const MAGIC: [u8; 4] = *b"QVSI";
const VERSION: u32 = 1;

/// Milvus's scalar index types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarIndexKind {
    /// Each distinct value with its rows: Bool, Int8 to Int64, VarChar.
    Inverted,
    /// The rows sorted by value: Int8 to Int64, Float, Double.
    StlSort,
}

impl ScalarIndexKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScalarIndexKind::Inverted => "INVERTED",
            ScalarIndexKind::StlSort => "STL_SORT",
        }
    }

    /// Whether this kind indexes a column of the type named `type_name` (as
    /// `DataType::name` and `ColumnData::type_name` spell it).
    pub fn supports(self, type_name: &str) -> bool {
        match self {
            ScalarIndexKind::Inverted => {
                matches!(type_name, "Bool" | "Int8" | "Int16" | "Int32" | "Int64" | "VarChar")
            }
            ScalarIndexKind::StlSort => {
                matches!(type_name, "Int8" | "Int16" | "Int32" | "Int64" | "Float" | "Double")
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScalarIndexError {
    #[error("{kind} does not index {type_name} columns")]
    Unsupported { kind: &'static str, type_name: &'static str },

    #[error("a scalar index holds at most {} rows, got {rows}", u32::MAX)]
    TooManyRows { rows: usize },

    #[error("scalar index bytes at offset {offset}: {reason}")]
    Corrupt { offset: usize, reason: &'static str },
}

/// The column types an index records, so it is never applied to a column of another type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Float,
    Double,
    VarChar,
}

const COL_TYPES: [ColType; 8] = [
    ColType::Bool,
    ColType::Int8,
    ColType::Int16,
    ColType::Int32,
    ColType::Int64,
    ColType::Float,
    ColType::Double,
    ColType::VarChar,
];

impl ColType {
    pub(crate) fn of(data: &ColumnData) -> Option<ColType> {
        Some(match data {
            ColumnData::Bool(_) => ColType::Bool,
            ColumnData::Int8(_) => ColType::Int8,
            ColumnData::Int16(_) => ColType::Int16,
            ColumnData::Int32(_) => ColType::Int32,
            ColumnData::Int64(_) => ColType::Int64,
            ColumnData::Float(_) => ColType::Float,
            ColumnData::Double(_) => ColType::Double,
            ColumnData::VarChar(_) => ColType::VarChar,
            ColumnData::Json(_) | ColumnData::Array(_) | ColumnData::FloatVector { .. } => {
                return None;
            }
        })
    }

    fn tag(self) -> u8 {
        COL_TYPES.iter().position(|t| *t == self).unwrap_or(0) as u8
    }

    /// The integer range of an integer type.
    pub(super) fn int_range(self) -> Option<(i64, i64)> {
        Some(match self {
            ColType::Int8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
            ColType::Int16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
            ColType::Int32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
            ColType::Int64 => (i64::MIN, i64::MAX),
            ColType::Bool | ColType::Float | ColType::Double | ColType::VarChar => return None,
        })
    }
}

/// An index of one column of one segment; rows are offsets into the segment.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarIndex {
    pub(crate) col_type: ColType,
    pub(crate) n_rows: usize,
    /// The null rows, ascending: every comparison on them is unknown.
    pub(crate) nulls: Vec<u32>,
    pub(crate) body: Body,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Body {
    Inverted(Inverted),
    Sorted(Sorted),
}

/// The sorted keys of an index: the distinct values (INVERTED) or every non-null row's value
/// (STL_SORT), ascending.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Keys<'a> {
    Bool(&'a [bool]),
    Int(&'a [i64]),
    Float(&'a [f64]),
    Str(&'a [String]),
}

impl Keys<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Keys::Bool(k) => k.len(),
            Keys::Int(k) => k.len(),
            Keys::Float(k) => k.len(),
            Keys::Str(k) => k.len(),
        }
    }
}

impl ScalarIndex {
    /// Indexes `column` (with its validity: null rows are listed apart).
    pub fn build(column: &Column, kind: ScalarIndexKind) -> Result<ScalarIndex, ScalarIndexError> {
        let type_name = column.data.type_name();
        let col_type = ColType::of(&column.data).filter(|_| kind.supports(type_name));
        let Some(col_type) = col_type else {
            return Err(ScalarIndexError::Unsupported { kind: kind.as_str(), type_name });
        };
        let n_rows = column.len();
        if u32::try_from(n_rows).is_err() {
            return Err(ScalarIndexError::TooManyRows { rows: n_rows });
        }
        let (nulls, present): (Vec<u32>, Vec<u32>) =
            (0..n_rows as u32).partition(|row| column.is_null(*row as usize));
        let body = match kind {
            ScalarIndexKind::Inverted => Body::Inverted(Inverted::build(&column.data, present)),
            ScalarIndexKind::StlSort => Body::Sorted(Sorted::build(&column.data, present)),
        };
        Ok(ScalarIndex { col_type, n_rows, nulls, body })
    }

    pub fn kind(&self) -> ScalarIndexKind {
        match self.body {
            Body::Inverted(_) => ScalarIndexKind::Inverted,
            Body::Sorted(_) => ScalarIndexKind::StlSort,
        }
    }

    pub fn num_rows(&self) -> usize {
        self.n_rows
    }

    /// Bytes held by the structure, roughly.
    pub fn size_bytes(&self) -> usize {
        self.nulls.len() * 4
            + match &self.body {
                Body::Inverted(inv) => inv.size_bytes(),
                Body::Sorted(sorted) => sorted.size_bytes(),
            }
    }

    pub(crate) fn keys(&self) -> Keys<'_> {
        match &self.body {
            Body::Inverted(inv) => inv.keys(),
            Body::Sorted(sorted) => sorted.keys(),
        }
    }

    /// The rows of keys `lo..hi` (not in row order across keys).
    pub(crate) fn span(&self, lo: usize, hi: usize) -> &[u32] {
        match &self.body {
            Body::Inverted(inv) => inv.span(lo, hi),
            Body::Sorted(sorted) => sorted.span(lo, hi),
        }
    }

    /// The non-null rows.
    pub(crate) fn known(&self) -> Bitmap {
        let mut known = Bitmap::ones(self.n_rows);
        for &row in &self.nulls {
            known.set(row as usize, false);
        }
        known
    }

    /// Versioned bytes: magic, version, kind, column type, rows, null rows, then the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.size_bytes());
        out.extend_from_slice(&MAGIC);
        put_u32(&mut out, VERSION);
        out.push(match self.kind() {
            ScalarIndexKind::Inverted => 0,
            ScalarIndexKind::StlSort => 1,
        });
        out.push(self.col_type.tag());
        put_u64(&mut out, self.n_rows as u64);
        put_len(&mut out, self.nulls.len());
        for &row in &self.nulls {
            put_u32(&mut out, row);
        }
        match &self.body {
            Body::Inverted(inv) => inv.encode(&mut out),
            Body::Sorted(sorted) => sorted.encode(&mut out),
        }
        out
    }

    /// Reads an index of a segment of `n_rows` rows, validating everything: every row is
    /// listed exactly once (null, or under one key), keys are strictly ascending and of the
    /// column's type. Never panics and allocates no more than the bytes justify.
    pub fn from_bytes(bytes: &[u8], n_rows: usize) -> Result<ScalarIndex, ScalarIndexError> {
        let mut r = Reader::new(bytes);
        let magic = [r.u8()?, r.u8()?, r.u8()?, r.u8()?];
        if magic != MAGIC {
            return Err(r.corrupt("not a scalar index"));
        }
        if r.u32()? != VERSION {
            return Err(r.corrupt("unknown version"));
        }
        let kind = match r.u8()? {
            0 => ScalarIndexKind::Inverted,
            1 => ScalarIndexKind::StlSort,
            _ => return Err(r.corrupt("unknown kind")),
        };
        let col_type =
            *COL_TYPES.get(usize::from(r.u8()?)).ok_or_else(|| r.corrupt("unknown column type"))?;
        if !kind.supports(type_name(col_type)) {
            return Err(r.corrupt("kind does not index this column type"));
        }
        let stored_rows = r.u64()?;
        if stored_rows != n_rows as u64 {
            return Err(r.corrupt("row count differs from the segment's"));
        }
        // Every row is listed once as a 4-byte id: the bytes bound the row count, so the
        // bitmap below is justified by the input.
        if n_rows.saturating_mul(4) > bytes.len() || u32::try_from(n_rows).is_err() {
            return Err(r.corrupt("row count exceeds the bytes"));
        }
        let mut seen = Bitmap::zeros(n_rows);
        let n_nulls = r.count(4)?;
        let mut nulls = Vec::with_capacity(n_nulls);
        for _ in 0..n_nulls {
            let row = r.u32()?;
            if nulls.last().is_some_and(|last| *last >= row) {
                return Err(r.corrupt("null rows are not strictly ascending"));
            }
            mark(&mut r, &mut seen, row)?;
            nulls.push(row);
        }
        let body = match kind {
            ScalarIndexKind::Inverted => {
                Body::Inverted(Inverted::decode(&mut r, col_type, &mut seen)?)
            }
            ScalarIndexKind::StlSort => Body::Sorted(Sorted::decode(&mut r, col_type, &mut seen)?),
        };
        r.finish()?;
        if seen.count() != n_rows {
            return Err(r.corrupt("some rows are not listed"));
        }
        Ok(ScalarIndex { col_type, n_rows, nulls, body })
    }
}

/// Records that `row` is listed, refusing a row out of range or listed twice.
pub(super) fn mark(
    r: &mut Reader<'_>,
    seen: &mut Bitmap,
    row: u32,
) -> Result<(), ScalarIndexError> {
    let row = row as usize;
    if row >= seen.len() {
        return Err(r.corrupt("row out of range"));
    }
    if seen.get(row) {
        return Err(r.corrupt("row listed twice"));
    }
    seen.set(row, true);
    Ok(())
}

fn type_name(col_type: ColType) -> &'static str {
    match col_type {
        ColType::Bool => "Bool",
        ColType::Int8 => "Int8",
        ColType::Int16 => "Int16",
        ColType::Int32 => "Int32",
        ColType::Int64 => "Int64",
        ColType::Float => "Float",
        ColType::Double => "Double",
        ColType::VarChar => "VarChar",
    }
}
