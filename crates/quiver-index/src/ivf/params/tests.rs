use super::{IvfParams, MAX_NLIST, check_nprobe};
use crate::error::IndexError;

#[track_caller]
fn check_nlist(nlist: i64, expect: Result<usize, (i64, i64)>) {
    let got = IvfParams::new(nlist).map(|p| p.nlist());
    let expect = expect.map_err(|(min, max)| IndexError::ParamOutOfRange {
        param: "nlist",
        value: nlist,
        min,
        max,
    });
    assert_eq!(got, expect);
}

#[test]
fn nlist_is_checked_against_milvus_range() {
    check_nlist(1, Ok(1));
    check_nlist(128, Ok(128));
    check_nlist(65536, Ok(65536));
    check_nlist(0, Err((1, 65536)));
    check_nlist(-1, Err((1, 65536)));
    check_nlist(65537, Err((1, 65536)));
    check_nlist(i64::MAX, Err((1, 65536)));
}

#[test]
fn nprobe_must_be_positive_and_at_most_nlist() {
    assert_eq!(check_nprobe(1, 1), Ok(()));
    assert_eq!(check_nprobe(16, 128), Ok(()));
    assert_eq!(check_nprobe(128, 128), Ok(()));
    let err = |value, max| IndexError::ParamOutOfRange { param: "nprobe", value, min: 1, max };
    assert_eq!(check_nprobe(0, 128), Err(err(0, 128)));
    assert_eq!(check_nprobe(129, 128), Err(err(129, 128)));
    assert_eq!(check_nprobe(65537, MAX_NLIST), Err(err(65537, 65536)));
    assert_eq!(check_nprobe(usize::MAX, MAX_NLIST), Err(err(i64::MAX, 65536)));
}

#[test]
fn seed_is_replaced_and_nlist_kept() {
    let params = IvfParams::new(64).map(|p| p.with_seed(7));
    assert_eq!(params.map(|p| (p.nlist(), p.seed())), Ok((64, 7)));
}
