//! Scalar indexes over one column of a sealed segment, without I/O: INVERTED (each distinct
//! value with its rows) and STL_SORT (the rows sorted by value), their byte format, and the
//! queries the evaluator asks of them (`Plan::evaluate_indexed`).

mod bytes;
mod inverted;
mod scalar;
mod sorted;

pub(crate) use scalar::{ColType, Keys};
pub use scalar::{ScalarIndex, ScalarIndexError, ScalarIndexKind};

#[cfg(test)]
mod tests;
