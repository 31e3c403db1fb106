//! `quiver quickstart`: the embedded engine end to end on a local data directory.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use quiver_core::{Column, ColumnData, DataType, FieldSpec, InsertBatch, Metric, SchemaSpec};
use quiver_engine::{Database, Options, SearchRequest};

const COLLECTION: &str = "quickstart";
const DIM: usize = 64;

pub(crate) fn run(data_dir: &Path, rows: usize) -> anyhow::Result<()> {
    anyhow::ensure!(rows > 0 && rows <= 1_000_000, "--rows must be between 1 and 1000000");
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let db = Database::open(data_dir, Options::default())
        .with_context(|| format!("cannot open {}", data_dir.display()))?;
    if db.has_collection("default", COLLECTION)? {
        db.drop_collection("default", COLLECTION)?;
    }
    let spec = SchemaSpec {
        description: "quickstart".to_owned(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("title", DataType::VarChar { max_length: 64 }),
            FieldSpec::new("embedding", DataType::FloatVector { dim: DIM as u32 }),
        ],
        enable_dynamic_field: false,
    };
    let collection = db.create_collection("default", COLLECTION, spec)?;
    println!("created collection {COLLECTION:?} in {}", data_dir.display());

    let started = Instant::now();
    for start in (0..rows).step_by(1000) {
        let end = (start + 1000).min(rows);
        collection.insert(None, batch(start..end))?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("inserted {rows} rows in {elapsed:.2}s (each batch acknowledged after fsync)");

    let query = vector(rows as u64 / 2);
    let outputs = vec!["title".to_owned()];
    let request = SearchRequest {
        vector_field: None,
        metric: Metric::L2,
        queries: std::slice::from_ref(&query),
        limit: 3,
        offset: 0,
        partitions: &[],
        output_fields: &outputs,
        filter: None,
        params: quiver_engine::SearchParams::default(),
        range: None,
    };
    print_hits("search (growing segment)", &collection.search(&request)?[0]);
    collection.flush()?;
    drop(collection);
    drop(db);

    let db = Database::open(data_dir, Options::default())?;
    let collection = db.collection("default", COLLECTION)?;
    println!("reopened: {} rows", collection.count());
    print_hits("search (sealed segment, after reopen)", &collection.search(&request)?[0]);
    Ok(())
}

fn print_hits(title: &str, hits: &[quiver_engine::Hit]) {
    println!("{title}:");
    for hit in hits {
        let fields: Vec<String> =
            hit.row.fields.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        println!("  id={} distance={:.4} {}", hit.row.pk, hit.score, fields.join(" "));
    }
}

fn batch(ids: std::ops::Range<usize>) -> InsertBatch {
    let ids: Vec<i64> = ids.map(|i| i as i64).collect();
    let titles = ids.iter().map(|i| format!("document {i}")).collect();
    let vectors = ids.iter().flat_map(|i| vector(*i as u64)).collect();
    InsertBatch {
        columns: vec![
            ("id".to_owned(), Column::new(ColumnData::Int64(ids))),
            ("title".to_owned(), Column::new(ColumnData::VarChar(titles))),
            (
                "embedding".to_owned(),
                Column::new(ColumnData::FloatVector { dim: DIM, data: vectors }),
            ),
        ],
    }
}

/// A deterministic pseudo-random vector per id (splitmix64), so runs are repeatable.
fn vector(seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..DIM)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}
