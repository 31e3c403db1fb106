//! Reading the dataset files, and the errors for every kind of bad file.

use super::*;
use crate::bench::fixtures::{Fixture, f32_bytes, i32_bytes};

/// Opens the fixture and expects an error whose message (with its causes) contains each of
/// `expect`, with the fixture's directory written as `DIR`.
#[track_caller]
fn check_error(fixture: &Fixture, expect: &[&str]) {
    let err = match open(&fixture.prefix) {
        Ok(_) => panic!("opened"),
        Err(err) => format!("{err:#}"),
    };
    let dir = fixture.prefix.to_string_lossy().into_owned();
    let err = err.replace(&dir, "DIR/set");
    for part in expect {
        assert!(err.contains(part), "{part:?} not in {err:?}");
    }
}

#[test]
fn reads_a_valid_dataset() {
    let fixture = Fixture::new(300, 8, 20);
    let mut data = open(&fixture.prefix).expect("opens");
    assert_eq!(data.shape, Shape { n: 300, d: 8, nq: 20, k: 100, metric: Metric::L2 });
    assert_eq!(data.queries.len(), 20);
    assert_eq!(data.queries[3], fixture.queries[24..32]);
    assert_eq!(data.ground_truth, fixture.ground_truth);
    // The base vectors come in batches of at most 70 rows, 300 rows in all.
    let mut read = Vec::new();
    let mut batches = 0;
    while let Some(batch) = data.base.next_batch(70).expect("reads") {
        assert!(batch.len() <= 70 * 8);
        read.extend(batch);
        batches += 1;
    }
    assert_eq!((batches, read), (5, fixture.base.clone()));
}

#[test]
fn the_json_defaults_k_and_metric_and_reads_cosine() {
    let fixture = Fixture::new(300, 8, 20);
    fixture.write_json(r#"{"n": 300, "d": 8, "nq": 20}"#);
    assert_eq!(open(&fixture.prefix).expect("opens").shape.metric, Metric::L2);
    fixture.write_json(r#"{"n": 300, "d": 8, "nq": 20, "k": 100, "metric": "COSINE", "x": [1]}"#);
    assert_eq!(open(&fixture.prefix).expect("other keys are ignored").shape.metric, Metric::Cosine);
    fixture.write_json(r#"{"n": 300, "d": 8, "nq": 20, "metric": "cosine", "note": "x"}"#);
    assert_eq!(open(&fixture.prefix).expect("opens").shape.metric, Metric::Cosine);
}

#[test]
fn refuses_a_bad_json() {
    let fixture = Fixture::new(300, 8, 20);
    let cases: &[(&str, &str)] = &[
        (r#"{"n": "300", "d": 8, "nq": 20}"#, r#""n" must be an integer in 1..=1073741824"#),
        (r#"{"n": 300, "d": 8.5, "nq": 20}"#, r#""d" must be an integer in 1..=32768"#),
        (r#"{"n": 300, "d": 0, "nq": 20}"#, r#""d" must be an integer in 1..=32768"#),
        (r#"{"n": 300, "d": 40000, "nq": 20}"#, r#""d" must be an integer in 1..=32768"#),
        (r#"{"n": -1, "d": 8, "nq": 20}"#, r#""n" must be an integer"#),
        (r#"{"n": 300, "nq": 20}"#, r#""d" is missing"#),
        (r#"{"n": 300, "d": 8, "nq": 20, "k": 5}"#, r#""k" must be an integer in 10..=1000"#),
        (r#"{"n": 300, "d": 8, "nq": 20, "metric": "HAMMING"}"#, r#""metric" "HAMMING" is not"#),
        (r#"{"n": 300, "d": 8, "nq": 20, "metric": 2}"#, r#""metric" must be a string"#),
        (r#"{"n": 1073741824, "d": 32, "nq": 20}"#, "n·d = 34359738368 base values exceeds"),
        (r#"{"n": 300, "d": 8, "nq": 20"#, "not valid JSON: EOF while parsing an object"),
        ("[]", "the json must be an object"),
    ];
    for (json, expect) in cases {
        fixture.write_json(json);
        check_error(&fixture, &["invalid DIR/set.json", expect]);
    }
    fixture.write(".json", &[b'{', 0xFF, b'}']);
    check_error(&fixture, &["DIR/set.json is not UTF-8 text"]);
    fixture.write(".json", &vec![b' '; 70_000]);
    check_error(&fixture, &["DIR/set.json is larger than the 65536 bytes"]);
}

#[test]
fn refuses_missing_files() {
    let fixture = Fixture::new(300, 8, 20);
    for suffix in [".query.f32", ".base.f32", ".json"] {
        std::fs::remove_file(fixture.path(suffix)).expect("removes");
        check_error(&fixture, &[&format!("cannot open DIR/set{suffix}")]);
    }
}

#[test]
fn refuses_files_whose_length_differs_from_the_shape() {
    let fixture = Fixture::new(300, 8, 20);
    let mut base = f32_bytes(&fixture.base);
    base.pop();
    fixture.write(".base.f32", &base);
    check_error(
        &fixture,
        &["DIR/set.base.f32 has 9599 bytes, but the json's shape (n=300, d=8, nq=20, k=100) \
           gives 9600 bytes of base vectors"],
    );

    // A dimension mismatch: the files hold 8 floats per row, the json says 16.
    fixture.write(".base.f32", &f32_bytes(&fixture.base));
    fixture.write_json(r#"{"n": 150, "d": 16, "nq": 20}"#);
    check_error(&fixture, &["DIR/set.query.f32 has 640 bytes", "gives 1280 bytes of queries"]);

    fixture.write_json(r#"{"n": 300, "d": 8, "nq": 20}"#);
    fixture.write(".gt.i32", &i32_bytes(&fixture.ground_truth[..1999]));
    check_error(
        &fixture,
        &["DIR/set.gt.i32 has 7996 bytes", "gives 8000 bytes of ground-truth ids"],
    );
}

#[test]
fn refuses_non_finite_floats_and_foreign_ids() {
    let fixture = Fixture::new(300, 8, 20);
    let mut queries = fixture.queries.clone();
    queries[5 * 8 + 2] = f32::NAN;
    fixture.write(".query.f32", &f32_bytes(&queries));
    check_error(&fixture, &["invalid DIR/set.query.f32: row 5 holds NaN or infinity (at value 2)"]);
    fixture.write(".query.f32", &f32_bytes(&fixture.queries));

    let mut ground_truth = fixture.ground_truth.clone();
    ground_truth[3 * 100 + 7] = 300;
    fixture.write(".gt.i32", &i32_bytes(&ground_truth));
    check_error(
        &fixture,
        &["invalid DIR/set.gt.i32: query 3 holds id 300 at position 7, which is not a base row"],
    );
    ground_truth[3 * 100 + 7] = -1;
    fixture.write(".gt.i32", &i32_bytes(&ground_truth));
    check_error(&fixture, &["query 3 holds id -1 at position 7"]);
    fixture.write(".gt.i32", &i32_bytes(&fixture.ground_truth));

    // The base file is checked as it is streamed.
    let mut base = fixture.base.clone();
    base[250 * 8] = f32::INFINITY;
    fixture.write(".base.f32", &f32_bytes(&base));
    let mut data = open(&fixture.prefix).expect("opens");
    assert!(data.base.next_batch(200).expect("first batch").is_some());
    let err = format!("{:#}", data.base.next_batch(200).expect_err("second batch"));
    assert!(err.contains("row 250 holds NaN or infinity (at value 0)"), "{err}");
    assert!(err.contains("set.base.f32"), "{err}");
}

#[test]
fn read_base_reads_every_base_vector_with_the_same_checks() {
    let fixture = Fixture::new(300, 8, 20);
    let shape = open(&fixture.prefix).expect("opens").shape;
    assert_eq!(read_base(&fixture.prefix, &shape).expect("reads"), fixture.base);

    let mut base = fixture.base.clone();
    base[299 * 8 + 7] = f32::NAN;
    fixture.write(".base.f32", &f32_bytes(&base));
    let err = format!("{:#}", read_base(&fixture.prefix, &shape).expect_err("refused"));
    assert!(err.contains("row 299 holds NaN or infinity (at value 7)"), "{err}");

    fixture.write(".base.f32", &f32_bytes(&fixture.base[..8]));
    let err = format!("{:#}", read_base(&fixture.prefix, &shape).expect_err("refused"));
    assert!(err.contains("set.base.f32 has 32 bytes"), "{err}");
}
