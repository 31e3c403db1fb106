//! The deterministic rows every benchmark writes: an Int64 primary key `id`, an Int64
//! `category`, a VarChar(64) `label` and a 128-dimensional float vector `vec`.
//!
//! A batch depends only on the seed and its first id, so the same rows are written whatever
//! the number of writers or the order in which their batches land.

use quiver_core::{Column, ColumnData, DataType, FieldSpec, InsertBatch, SchemaSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Dimension of the vector field.
pub(crate) const DIM: usize = 128;
/// `max_length` of the `label` field.
const LABEL_MAX_LENGTH: u32 = 64;
/// The database every benchmark collection lives in.
pub(crate) const DATABASE: &str = "default";
/// Distinct values of `category`.
const CATEGORIES: i64 = 1_000;

/// The schema of the benchmark collection.
pub(crate) fn schema() -> SchemaSpec {
    SchemaSpec {
        description: "quiver-bench rows".to_owned(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("category", DataType::Int64),
            FieldSpec::new("label", DataType::VarChar { max_length: LABEL_MAX_LENGTH }),
            FieldSpec::new("vec", DataType::FloatVector { dim: DIM as u32 }),
        ],
        enable_dynamic_field: false,
    }
}

/// The rows with ids `first_id .. first_id + rows`: uniform vector components in [-1, 1),
/// a uniform category and a label of 14 to 20 bytes.
pub(crate) fn batch(seed: u64, first_id: i64, rows: usize) -> InsertBatch {
    let mut rng =
        StdRng::seed_from_u64(seed ^ (first_id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut ids = Vec::with_capacity(rows);
    let mut categories = Vec::with_capacity(rows);
    let mut labels = Vec::with_capacity(rows);
    let mut vectors = Vec::with_capacity(rows * DIM);
    for offset in 0..rows {
        let id = first_id + offset as i64;
        let category = rng.random_range(0..CATEGORIES);
        ids.push(id);
        categories.push(category);
        labels.push(format!("label-{category}-{id}"));
        vectors.extend((0..DIM).map(|_| rng.random_range(-1.0f32..1.0)));
    }
    InsertBatch {
        columns: vec![
            ("id".to_owned(), Column::new(ColumnData::Int64(ids))),
            ("category".to_owned(), Column::new(ColumnData::Int64(categories))),
            ("label".to_owned(), Column::new(ColumnData::VarChar(labels))),
            ("vec".to_owned(), Column::new(ColumnData::FloatVector { dim: DIM, data: vectors })),
        ],
    }
}

#[cfg(test)]
mod tests;
