use proptest::prelude::*;
use quiver_core::{Column, ColumnData};

use super::{ScalarIndex, ScalarIndexError, ScalarIndexKind};
use crate::index::Keys;

fn nullable(data: ColumnData, validity: Vec<bool>) -> Column {
    Column { data, validity: Some(validity) }
}

fn strs(values: &[&str]) -> ColumnData {
    ColumnData::VarChar(values.iter().map(|s| (*s).to_owned()).collect())
}

#[track_caller]
fn check_roundtrip(index: &ScalarIndex) {
    let bytes = index.to_bytes();
    assert_eq!(&ScalarIndex::from_bytes(&bytes, index.num_rows()).unwrap(), index);
    for cut in 0..bytes.len() {
        assert!(ScalarIndex::from_bytes(&bytes[..cut], index.num_rows()).is_err(), "cut {cut}");
    }
    assert!(ScalarIndex::from_bytes(&bytes, index.num_rows() + 1).is_err());
}

#[test]
fn inverted_groups_rows_by_distinct_value_with_nulls_apart() {
    let column = nullable(strs(&["b", "a", "b", "x", "a"]), vec![true, true, true, false, true]);
    let index = ScalarIndex::build(&column, ScalarIndexKind::Inverted).unwrap();
    assert_eq!(index.nulls, vec![3]);
    let Keys::Str(keys) = index.keys() else { panic!("string keys") };
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(index.span(0, 1), [1, 4]);
    assert_eq!(index.span(1, 2), [0, 2]);
    check_roundtrip(&index);
}

#[test]
fn inverted_indexes_integers_and_bools() {
    let ints = Column::new(ColumnData::Int8(vec![3, -1, 3, 0]));
    let index = ScalarIndex::build(&ints, ScalarIndexKind::Inverted).unwrap();
    let Keys::Int(keys) = index.keys() else { panic!("int keys") };
    assert_eq!(keys, [-1, 0, 3]);
    assert_eq!(index.span(2, 3), [0, 2]);
    check_roundtrip(&index);
    let bools = nullable(ColumnData::Bool(vec![true, false, true]), vec![true, true, false]);
    let index = ScalarIndex::build(&bools, ScalarIndexKind::Inverted).unwrap();
    let Keys::Bool(keys) = index.keys() else { panic!("bool keys") };
    assert_eq!(keys, [false, true]);
    check_roundtrip(&index);
}

#[test]
fn sorted_orders_rows_by_value_then_row() {
    let column = nullable(
        ColumnData::Double(vec![2.5, -0.0, 1.0, 2.5, 7.0]),
        vec![true, true, true, true, false],
    );
    let index = ScalarIndex::build(&column, ScalarIndexKind::StlSort).unwrap();
    let Keys::Float(values) = index.keys() else { panic!("float keys") };
    assert_eq!(values, [0.0, 1.0, 2.5, 2.5]);
    assert!(values[0].is_sign_positive(), "-0.0 is stored as 0.0");
    assert_eq!(index.span(0, 4), [1, 2, 0, 3]);
    check_roundtrip(&index);
    let ints = Column::new(ColumnData::Int64(vec![5, i64::MIN, 5, i64::MAX]));
    check_roundtrip(&ScalarIndex::build(&ints, ScalarIndexKind::StlSort).unwrap());
    let floats = Column::new(ColumnData::Float(vec![0.1, -3.0]));
    check_roundtrip(&ScalarIndex::build(&floats, ScalarIndexKind::StlSort).unwrap());
}

#[test]
fn empty_columns_index_and_roundtrip() {
    for kind in [ScalarIndexKind::Inverted, ScalarIndexKind::StlSort] {
        let index = ScalarIndex::build(&Column::new(ColumnData::Int32(vec![])), kind).unwrap();
        check_roundtrip(&index);
    }
}

#[test]
fn unsupported_column_types_are_refused() {
    let check = |data: ColumnData, kind: ScalarIndexKind, type_name: &'static str| {
        let err = ScalarIndex::build(&Column::new(data), kind).unwrap_err();
        assert_eq!(err, ScalarIndexError::Unsupported { kind: kind.as_str(), type_name });
    };
    check(ColumnData::Double(vec![1.0]), ScalarIndexKind::Inverted, "Double");
    check(strs(&["a"]), ScalarIndexKind::StlSort, "VarChar");
    check(ColumnData::Bool(vec![true]), ScalarIndexKind::StlSort, "Bool");
    check(ColumnData::Json(vec!["1".to_owned()]), ScalarIndexKind::Inverted, "JSON");
}

#[test]
fn damaged_bytes_are_refused() {
    let column = Column::new(ColumnData::Int16(vec![4, 1, 4]));
    let bytes = ScalarIndex::build(&column, ScalarIndexKind::Inverted).unwrap().to_bytes();
    // Flip every byte in turn: either refused or, if still valid, a permutation-consistent
    // index of three rows (never a panic).
    for i in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[i] ^= 0xFF;
        if let Ok(index) = ScalarIndex::from_bytes(&damaged, 3) {
            assert_eq!(index.num_rows(), 3);
        }
    }
    // A row listed twice.
    let dup = Column::new(ColumnData::Int64(vec![1, 2]));
    let mut bytes = ScalarIndex::build(&dup, ScalarIndexKind::StlSort).unwrap().to_bytes();
    let len = bytes.len();
    bytes[len - 4..].copy_from_slice(&0u32.to_le_bytes());
    assert!(ScalarIndex::from_bytes(&bytes, 2).is_err());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), n in 0usize..64) {
        let _ = ScalarIndex::from_bytes(&bytes, n);
        // A valid header followed by arbitrary bytes too.
        let mut framed = b"QVSI\x01\x00\x00\x00".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = ScalarIndex::from_bytes(&framed, n);
    }

    #[test]
    fn built_indexes_roundtrip(values in proptest::collection::vec((any::<i16>(), any::<bool>()), 0..40)) {
        let data: Vec<i16> = values.iter().map(|(v, _)| *v % 5).collect();
        let validity: Vec<bool> = values.iter().map(|(_, ok)| *ok).collect();
        let column = nullable(ColumnData::Int16(data), validity);
        for kind in [ScalarIndexKind::Inverted, ScalarIndexKind::StlSort] {
            let index = ScalarIndex::build(&column, kind).unwrap();
            let bytes = index.to_bytes();
            prop_assert_eq!(&ScalarIndex::from_bytes(&bytes, values.len()).unwrap(), &index);
            let cut = bytes.len() / 2;
            prop_assert!(ScalarIndex::from_bytes(&bytes[..cut], values.len()).is_err());
        }
    }
}
