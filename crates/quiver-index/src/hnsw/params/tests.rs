use quiver_core::Metric;

use super::{HnswParams, MAX_EF, check_search_params};
use crate::error::IndexError;
use crate::hnsw::{Hnsw, SearchScratch};

#[track_caller]
fn check_out_of_range(res: Result<(), IndexError>, param: &str, value: i64, min: i64, max: i64) {
    match res {
        Err(IndexError::ParamOutOfRange { param: p, value: v, min: lo, max: hi }) => {
            assert_eq!((p, v, lo, hi), (param, value, min, max));
        }
        other => panic!("expected {param} out of range, got {other:?}"),
    }
}

fn new(m: i64, ef_construction: i64) -> Result<(), IndexError> {
    HnswParams::new(m, ef_construction).map(|_| ())
}

#[test]
fn build_parameters_follow_milvus_ranges() {
    assert!(new(2, 1).is_ok());
    assert!(new(2048, 32768).is_ok());
    check_out_of_range(new(1, 200), "M", 1, 2, 2048);
    check_out_of_range(new(2049, 200), "M", 2049, 2, 2048);
    check_out_of_range(new(-5, 200), "M", -5, 2, 2048);
    check_out_of_range(new(16, 0), "efConstruction", 0, 1, 32768);
    check_out_of_range(new(16, 32769), "efConstruction", 32769, 1, 32768);
    check_out_of_range(new(16, i64::MAX), "efConstruction", i64::MAX, 1, 32768);
}

#[test]
fn search_ef_must_cover_k() {
    assert!(check_search_params(10, 10).is_ok());
    assert!(check_search_params(0, 1).is_ok());
    assert!(check_search_params(MAX_EF, MAX_EF).is_ok());
    check_out_of_range(check_search_params(10, 9), "ef", 9, 10, 32768);
    check_out_of_range(check_search_params(1, 0), "ef", 0, 1, 32768);
    check_out_of_range(check_search_params(1, 32769), "ef", 32769, 1, 32768);
    check_out_of_range(check_search_params(32769, 32769), "k", 32769, 0, 32768);
}

#[test]
fn search_rejects_bad_inputs_with_typed_errors() {
    let vectors = vec![1.0; 4 * 10];
    let index = Hnsw::build(&vectors, 4, Metric::L2, &HnswParams::new(4, 8).unwrap(), 1).unwrap();
    let mut scratch = SearchScratch::new();
    let mut search = |vectors: &[f32], query: &[f32], k, ef| {
        index.search(vectors, query, k, ef, None, &mut scratch).map(|_| ())
    };
    check_out_of_range(search(&vectors, &[0.0; 4], 10, 5), "ef", 5, 10, 32768);
    assert_eq!(
        search(&vectors, &[0.0; 3], 1, 1),
        Err(IndexError::DimMismatch { expected: 4, got: 3 })
    );
    assert_eq!(
        search(&vectors[..8], &[0.0; 4], 1, 1),
        Err(IndexError::RowCountMismatch { expected: 10, got: 2 })
    );
    assert_eq!(
        search(&vectors[..7], &[0.0; 4], 1, 1),
        Err(IndexError::NotWholeRows { len: 7, dim: 4 })
    );
}

#[test]
fn build_rejects_bad_shapes() {
    let params = HnswParams::new(4, 8).unwrap();
    let build =
        |vectors: &[f32], dim| Hnsw::build(vectors, dim, Metric::L2, &params, 1).map(|_| ());
    check_out_of_range(build(&[], 0), "dim", 0, 1, 32768);
    check_out_of_range(build(&[], 40000), "dim", 40000, 1, 32768);
    assert_eq!(build(&[1.0; 5], 2), Err(IndexError::NotWholeRows { len: 5, dim: 2 }));
}

#[test]
fn errors_name_the_parameter_and_range() {
    let err = HnswParams::new(1, 200).unwrap_err();
    assert_eq!(err.to_string(), "M = 1 is out of range: it must be in [2, 2048]");
}
