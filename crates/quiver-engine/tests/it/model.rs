//! Model-based property test of the storage engine: random sequences of insert, upsert,
//! delete, flush, compact, partition changes and reopen, run against the engine and against
//! an in-memory reference model, compared after every step.
//!
//! The comparison covers every read path: `count`, `get` of every possible key, a full
//! `query`, and an exact `search` whose hits must be the model's nearest rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use quiver_core::{
    Column, ColumnData, DataType, FieldSpec, InsertBatch, Metric, PkValue, SchemaSpec, Value,
};
use quiver_engine::{Collection, Database, EngineError, Options, QueryRequest, SearchRequest};

use crate::support::reopen;

const KEYS: i64 = 24;
const DIM: usize = 4;

/// One row as the model keeps it: the values of `n`, `s` and `v` (after defaults).
#[derive(Clone, Debug, PartialEq)]
struct ModelRow {
    partition: &'static str,
    n: Option<i32>,
    s: String,
    v: [f32; DIM],
}

#[derive(Clone, Debug)]
struct GenRow {
    id: i64,
    n: Option<i32>,
    /// `None`: null, which the field's default replaces.
    s: Option<String>,
    v: [f32; DIM],
}

#[derive(Clone, Debug)]
enum Op {
    Insert { partition: &'static str, rows: Vec<GenRow> },
    Upsert { partition: &'static str, rows: Vec<GenRow> },
    Delete { ids: Vec<i64> },
    Flush,
    Compact,
    Reopen,
    CreatePartition,
    DropPartition,
}

fn row_strategy() -> impl Strategy<Value = GenRow> {
    (
        0..KEYS,
        proptest::option::of(any::<i32>()),
        proptest::option::of("[a-z]{0,6}"),
        proptest::array::uniform4(-8i8..8),
    )
        .prop_map(|(id, n, s, v)| GenRow { id, n, s, v: v.map(f32::from) })
}

fn partition_strategy() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just("_default"), 1 => Just("p1")]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (partition_strategy(), proptest::collection::vec(row_strategy(), 1..6))
            .prop_map(|(partition, rows)| Op::Insert { partition, rows }),
        4 => (partition_strategy(), proptest::collection::vec(row_strategy(), 1..6))
            .prop_map(|(partition, rows)| Op::Upsert { partition, rows }),
        3 => proptest::collection::vec(0..KEYS, 1..5).prop_map(|ids| Op::Delete { ids }),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
        1 => Just(Op::CreatePartition),
        1 => Just(Op::DropPartition),
    ]
}

fn schema() -> SchemaSpec {
    SchemaSpec {
        description: String::new(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec { nullable: true, ..FieldSpec::new("n", DataType::Int32) },
            FieldSpec {
                nullable: true,
                default_value: Some(Value::VarChar("dflt".to_owned())),
                ..FieldSpec::new("s", DataType::VarChar { max_length: 8 })
            },
            FieldSpec::new("v", DataType::FloatVector { dim: DIM as u32 }),
        ],
        enable_dynamic_field: false,
    }
}

fn options() -> Options {
    // Tiny thresholds, so that writes seal segments and checkpoint the log often.
    Options { seal_rows: 7, maintenance_interval: None, ..Options::default() }
}

fn batch(rows: &[GenRow]) -> InsertBatch {
    let ids = rows.iter().map(|r| r.id).collect();
    let n = rows.iter().map(|r| r.n.unwrap_or(0)).collect();
    let n_valid = rows.iter().map(|r| r.n.is_some()).collect();
    let s = rows.iter().map(|r| r.s.clone().unwrap_or_default()).collect();
    let s_valid = rows.iter().map(|r| r.s.is_some()).collect();
    let v = rows.iter().flat_map(|r| r.v).collect();
    InsertBatch {
        columns: vec![
            ("id".to_owned(), Column::new(ColumnData::Int64(ids))),
            ("n".to_owned(), Column { data: ColumnData::Int32(n), validity: Some(n_valid) }),
            ("s".to_owned(), Column { data: ColumnData::VarChar(s), validity: Some(s_valid) }),
            ("v".to_owned(), Column::new(ColumnData::FloatVector { dim: DIM, data: v })),
        ],
    }
}

fn model_row(partition: &'static str, row: &GenRow) -> ModelRow {
    ModelRow {
        partition,
        n: row.n,
        s: row.s.clone().unwrap_or_else(|| "dflt".to_owned()),
        v: row.v,
    }
}

fn has_duplicates(rows: &[GenRow]) -> bool {
    let mut ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.windows(2).any(|w| w[0] == w[1])
}

struct Harness {
    dir: tempfile::TempDir,
    db: Option<Database>,
    collection: Arc<Collection>,
    model: BTreeMap<i64, ModelRow>,
    has_p1: bool,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let db = reopen(dir.path(), options()).unwrap();
        let collection = db.create_collection("default", "model", schema()).unwrap();
        Harness { dir, db: Some(db), collection, model: BTreeMap::new(), has_p1: false }
    }

    fn reopen(&mut self) {
        self.db = None;
        let db = reopen(self.dir.path(), options()).unwrap();
        self.collection = db.collection("default", "model").unwrap();
        self.db = Some(db);
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Insert { partition, rows } => {
                let res = self.collection.insert(Some(partition), batch(rows));
                let partition_missing = *partition == "p1" && !self.has_p1;
                let expect_ok = !has_duplicates(rows)
                    && !partition_missing
                    && rows.iter().all(|r| !self.model.contains_key(&r.id));
                assert_eq!(res.is_ok(), expect_ok, "insert {rows:?} into {partition}: {res:?}");
                if partition_missing && !has_duplicates(rows) {
                    assert!(matches!(res, Err(EngineError::PartitionNotFound { .. })), "{res:?}");
                }
                if expect_ok {
                    for row in rows {
                        self.model.insert(row.id, model_row(partition, row));
                    }
                }
            }
            Op::Upsert { partition, rows } => {
                let res = self.collection.upsert(Some(partition), batch(rows));
                let expect_ok = !has_duplicates(rows) && (*partition == "_default" || self.has_p1);
                assert_eq!(res.is_ok(), expect_ok, "upsert {rows:?} into {partition}: {res:?}");
                if expect_ok {
                    for row in rows {
                        self.model.insert(row.id, model_row(partition, row));
                    }
                }
            }
            Op::Delete { ids } => {
                let pks: Vec<PkValue> = ids.iter().map(|id| PkValue::Int64(*id)).collect();
                let res = self.collection.delete(&pks).unwrap();
                let mut expected: Vec<i64> =
                    ids.iter().copied().filter(|id| self.model.contains_key(id)).collect();
                expected.sort_unstable();
                expected.dedup();
                assert_eq!(res.count, expected.len() as u64, "delete {ids:?}");
                for id in ids {
                    self.model.remove(id);
                }
            }
            Op::Flush => self.collection.flush().unwrap(),
            Op::Compact => {
                self.collection.compact().unwrap();
            }
            Op::Reopen => self.reopen(),
            Op::CreatePartition => {
                let res = self.collection.create_partition("p1");
                assert_eq!(res.is_ok(), !self.has_p1, "create p1: {res:?}");
                self.has_p1 = true;
            }
            Op::DropPartition => {
                let res = self.collection.drop_partition("p1");
                assert_eq!(res.is_ok(), self.has_p1, "drop p1: {res:?}");
                self.has_p1 = false;
                self.model.retain(|_, row| row.partition != "p1");
            }
        }
    }

    /// Every read path agrees with the model.
    fn check(&self, query_vector: &[f32; DIM], ctx: &str) {
        let c = &self.collection;
        assert_eq!(c.count(), self.model.len() as u64, "count {ctx}");
        let all: Vec<String> = vec!["*".to_owned()];
        let keys: Vec<PkValue> = (0..KEYS).map(PkValue::Int64).collect();
        let got: BTreeMap<i64, ModelRow> =
            c.get(&keys, &all).unwrap().into_iter().map(|row| engine_row(self, row)).collect();
        assert_eq!(got, self.model, "get of every key {ctx}");
        let req = QueryRequest {
            filter: None,
            partitions: &[],
            output_fields: &all,
            offset: 0,
            limit: None,
        };
        let queried: Vec<(i64, ModelRow)> =
            c.query(&req).unwrap().into_iter().map(|row| engine_row(self, row)).collect();
        assert_eq!(queried.len(), self.model.len(), "query returns each live row once {ctx}");
        assert_eq!(queried.into_iter().collect::<BTreeMap<_, _>>(), self.model, "query {ctx}");
        let mut partition_sizes = BTreeMap::new();
        for row in self.model.values() {
            *partition_sizes.entry(row.partition).or_insert(0usize) += 1;
        }
        if self.has_p1 {
            let parts = ["p1".to_owned()];
            let req = QueryRequest { partitions: &parts, ..req };
            let n = c.query(&req).unwrap().len();
            assert_eq!(n, partition_sizes.get("p1").copied().unwrap_or(0), "query of p1 {ctx}");
        }
        self.check_search(query_vector, ctx);
    }

    fn check_search(&self, query_vector: &[f32; DIM], ctx: &str) {
        let query = vec![query_vector.to_vec()];
        let k = 5;
        let req = SearchRequest {
            vector_field: None,
            metric: Metric::L2,
            queries: &query,
            limit: k,
            offset: 0,
            partitions: &[],
            output_fields: &[],
            filter: None,
            params: quiver_engine::SearchParams::default(),
            range: None,
        };
        let hits = self.collection.search(&req).unwrap().remove(0);
        let l2 = |v: &[f32; DIM]| -> f32 {
            v.iter().zip(query_vector).map(|(a, b)| (a - b) * (a - b)).sum()
        };
        let mut expected: Vec<f32> = self.model.values().map(|row| l2(&row.v)).collect();
        expected.sort_by(f32::total_cmp);
        expected.truncate(k);
        let scores: Vec<f32> = hits.iter().map(|h| h.score).collect();
        assert_eq!(scores, expected, "search scores are the model's k smallest distances {ctx}");
        for hit in &hits {
            let PkValue::Int64(id) = hit.row.pk else { panic!("pk type") };
            let row = self.model.get(&id).unwrap_or_else(|| panic!("hit {id} is not live {ctx}"));
            assert_eq!(l2(&row.v), hit.score, "hit {id} has the score of its vector {ctx}");
        }
    }
}

fn engine_row(harness: &Harness, row: quiver_engine::Row) -> (i64, ModelRow) {
    let PkValue::Int64(id) = row.pk else { panic!("pk type") };
    let field = |name: &str| {
        row.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).expect(name)
    };
    let n = match field("n") {
        Value::Null => None,
        Value::Int32(n) => Some(n),
        other => panic!("n is {other:?}"),
    };
    let Value::VarChar(s) = field("s") else { panic!("s type") };
    let Value::FloatVector(v) = field("v") else { panic!("v type") };
    // The engine does not report a row's partition; take it from the model, and check it
    // through the partition-restricted query in `check`.
    let partition = harness.model.get(&id).map(|r| r.partition).unwrap_or("?");
    (id, ModelRow { partition, n, s, v: v.try_into().expect("dim") })
}

fn run(ops: &[Op], query_vector: [f32; DIM]) {
    let mut harness = Harness::new();
    for (step, op) in ops.iter().enumerate() {
        harness.apply(op);
        harness.check(&query_vector, &format!("after step {step} ({op:?})"));
    }
    // Finally, everything survives a reopen.
    harness.reopen();
    harness.check(&query_vector, "after the final reopen");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_model(
        ops in proptest::collection::vec(op_strategy(), 1..40),
        query in proptest::array::uniform4(-8i8..8),
    ) {
        run(&ops, query.map(f32::from));
    }
}

/// `QUIVER_MODEL_CASES` raises the number of random sequences for a longer soak.
fn cases() -> u32 {
    std::env::var("QUIVER_MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96)
}
