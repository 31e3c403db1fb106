//! Tests of column access.

use super::*;

/// Compares `column.value(row)` for every row from 0 to one past the end with `expect`.
#[track_caller]
fn check(column: Column, expect: &[Option<Value>]) {
    let got: Vec<Option<Value>> = (0..expect.len()).map(|row| column.value(row)).collect();
    assert_eq!(got, expect);
}

#[test]
fn vector_rows_are_slices_of_dim() {
    check(
        Column::new(ColumnData::FloatVector { dim: 2, data: vec![1.0, 2.0, 3.0, 4.0] }),
        &[Some(Value::FloatVector(vec![1.0, 2.0])), Some(Value::FloatVector(vec![3.0, 4.0])), None],
    );
}

#[test]
fn zero_dim_vector_column_has_no_rows() {
    // `len()` says such a column has no rows; `value` used to return an empty vector for any row.
    check(Column::new(ColumnData::FloatVector { dim: 0, data: Vec::new() }), &[None, None]);
}

#[test]
fn masked_rows_are_null_and_the_end_is_none() {
    check(
        Column { data: ColumnData::Int8(vec![1, 0, 3]), validity: Some(vec![true, false, true]) },
        &[Some(Value::Int8(1)), Some(Value::Null), Some(Value::Int8(3)), None],
    );
}

#[test]
fn extend_keeps_the_null_mask() {
    let mut column = Column::new(ColumnData::Int8(vec![1]));
    let other = Column { data: ColumnData::Int8(vec![2, 0]), validity: Some(vec![true, false]) };
    column.extend_from(&other, 0..2).unwrap();
    check(column, &[Some(Value::Int8(1)), Some(Value::Int8(2)), Some(Value::Null), None]);
}
