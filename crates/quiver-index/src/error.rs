//! The crate's error type: what an index build, search or load can refuse, with structured
//! fields so the engine can map each case to a Milvus status without parsing messages.

use std::fmt;

/// Why an index operation was refused.
///
/// `ParamOutOfRange`, `DimMismatch`, `RowCountMismatch` and `NotWholeRows` are the caller's input; `Corrupt`,
/// `UnsupportedVersion` and `StoredMismatch` are about bytes read back from storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexError {
    /// A build or search parameter outside its allowed inclusive range `min..=max`.
    ParamOutOfRange { param: &'static str, value: i64, min: i64, max: i64 },
    /// A vector whose length is not the index's dimension.
    DimMismatch { expected: usize, got: usize },
    /// The vectors passed to a search do not have the row count the index was built over.
    RowCountMismatch { expected: usize, got: usize },
    /// A row-major matrix whose length (`len` floats) is not a whole number of `dim`-float rows.
    NotWholeRows { len: usize, dim: usize },
    /// Serialized index bytes that do not decode: `offset` is where decoding stopped.
    Corrupt { offset: usize, reason: &'static str },
    /// Serialized index bytes of a format version this build cannot read.
    UnsupportedVersion { found: u32, supported: u32 },
    /// Serialized index bytes that decode but describe another segment's vectors (the stored
    /// `field` is `stored`, the caller expects `expected`).
    StoredMismatch { field: &'static str, expected: u64, stored: u64 },
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexError::ParamOutOfRange { param, value, min, max } => {
                write!(f, "{param} = {value} is out of range: it must be in [{min}, {max}]")
            }
            IndexError::DimMismatch { expected, got } => {
                write!(f, "vector dimension {got} does not match the index dimension {expected}")
            }
            IndexError::RowCountMismatch { expected, got } => {
                write!(f, "{got} rows given to an index built over {expected} rows")
            }
            IndexError::NotWholeRows { len, dim } => {
                write!(f, "{len} floats are not a whole number of rows of dimension {dim}")
            }
            IndexError::Corrupt { offset, reason } => {
                write!(f, "corrupt index data at byte {offset}: {reason}")
            }
            IndexError::UnsupportedVersion { found, supported } => {
                write!(
                    f,
                    "index format version {found} is not supported (this build reads {supported})"
                )
            }
            IndexError::StoredMismatch { field, expected, stored } => {
                write!(f, "stored index has {field} {stored}, expected {expected}")
            }
        }
    }
}

impl std::error::Error for IndexError {}

/// `value` as a `usize` when it lies in `min..=max`, else the typed error naming `param`.
pub(crate) fn check_range(
    param: &'static str,
    value: i64,
    min: usize,
    max: usize,
) -> Result<usize, IndexError> {
    let (min, max) = (to_i64(min), to_i64(max));
    if value < min || value > max {
        return Err(IndexError::ParamOutOfRange { param, value, min, max });
    }
    // In range of two `usize` bounds, so the conversion cannot fail.
    Ok(usize::try_from(value).unwrap_or(0))
}

/// Saturating conversion for error reports and range checks.
pub(crate) fn to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
