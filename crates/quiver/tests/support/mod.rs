//! What the command-line tests share: running the binary, and an encrypted data directory
//! with one collection and the keys beside it.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use quiver_core::{Column, ColumnData, DataType, FieldSpec, InsertBatch, SchemaSpec};
use quiver_engine::{Database, Encryption, Options};
use quiver_storage::MasterKey;

pub(crate) fn quiver(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .current_dir(cwd)
        .env_remove("QUIVER_MASTER_KEY")
        .output()
        .unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An encrypted data directory `data` (key in `data.master-key`, audit key in
/// `data.audit-key`) with one collection of 100 rows, left open like a running server's.
pub(crate) fn data_dir(dir: &Path) -> Database {
    let master = MasterKey::generate_to(&dir.join("data.master-key")).unwrap();
    let options = Options {
        encryption: Some(Encryption::new(master)),
        maintenance_interval: None,
        ..Options::default()
    };
    let db = Database::open(&dir.join("data"), options).unwrap();
    let spec = SchemaSpec {
        description: String::new(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("v", DataType::FloatVector { dim: 4 }),
        ],
        enable_dynamic_field: false,
    };
    let collection = db.create_collection("default", "c", spec).unwrap();
    let ids: Vec<i64> = (0..100).collect();
    let data = ids.iter().flat_map(|i| [*i as f32, 1.0, 2.0, 3.0]).collect();
    collection
        .insert(
            None,
            InsertBatch {
                columns: vec![
                    ("id".to_owned(), Column::new(ColumnData::Int64(ids))),
                    ("v".to_owned(), Column::new(ColumnData::FloatVector { dim: 4, data })),
                ],
            },
        )
        .unwrap();
    quiver_audit::AuditKey::create_file(&dir.join("data.audit-key")).unwrap();
    db
}
