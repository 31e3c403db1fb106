//! Tests of the row generator: valid for its schema, and deterministic.

use quiver_core::{RowBatch, Schema, WriteKind};

use super::*;

#[test]
fn batches_are_valid_rows_of_the_schema() {
    let schema = Schema::new(schema()).expect("valid schema");
    let rows =
        RowBatch::validate(&schema, batch(7, 1_000, 50), WriteKind::Insert).expect("valid rows");
    assert_eq!(rows.num_rows(), 50);
}

#[test]
fn a_batch_depends_only_on_seed_and_first_id() {
    assert_eq!(batch(7, 100, 10), batch(7, 100, 10));
    assert_ne!(batch(7, 100, 10), batch(8, 100, 10));
    assert_ne!(batch(7, 100, 10), batch(7, 110, 10));
}
