//! Shared helpers of the integration tests: schemas and a small deterministic generator.

use std::sync::OnceLock;

use quiver_core::{DataType, ElementType, FieldSpec, Schema, SchemaSpec};

/// A schema without the dynamic field: `id` (Int64 key), `age` (Int64), `name` (VarChar),
/// `meta` (JSON), `tags` (Array of VarChar), `vec`.
pub(crate) fn static_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::new(SchemaSpec {
            description: String::new(),
            fields: vec![
                FieldSpec::primary("id", DataType::Int64),
                FieldSpec::new("age", DataType::Int64),
                FieldSpec::new("name", DataType::VarChar { max_length: 32 }),
                FieldSpec::new("meta", DataType::Json),
                FieldSpec::new(
                    "tags",
                    DataType::Array {
                        element: ElementType::VarChar { max_length: 8 },
                        max_capacity: 4,
                    },
                ),
                FieldSpec::new("vec", DataType::FloatVector { dim: 2 }),
            ],
            enable_dynamic_field: false,
        })
        .expect("valid schema")
    })
}

/// A schema with a VarChar primary key `pk` and a vector.
pub(crate) fn string_pk_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::new(SchemaSpec {
            description: String::new(),
            fields: vec![
                FieldSpec::primary("pk", DataType::VarChar { max_length: 16 }),
                FieldSpec::new("vec", DataType::FloatVector { dim: 2 }),
            ],
            enable_dynamic_field: false,
        })
        .expect("valid schema")
    })
}

/// SplitMix64: a tiny deterministic generator, enough for test data.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
