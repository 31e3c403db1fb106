use proptest::collection::vec;
use proptest::prelude::*;

use super::{Neighbor, TopK, merge_topk};

/// Sort everything, drop NaN, keep the first `k`: the definition `TopK` must match.
fn sort_all(items: &[(u64, f32)], k: usize) -> Vec<Neighbor> {
    let mut all: Vec<Neighbor> = items
        .iter()
        .filter(|(_, distance)| !distance.is_nan())
        .map(|&(id, distance)| Neighbor { id, distance })
        .collect();
    all.sort_by(|x, y| {
        x.distance.partial_cmp(&y.distance).expect("no NaN left").then(x.id.cmp(&y.id))
    });
    all.truncate(k);
    all
}

fn collect(items: &[(u64, f32)], k: usize) -> Vec<Neighbor> {
    let mut top = TopK::new(k);
    for &(id, distance) in items {
        top.push(id, distance);
    }
    top.into_sorted_vec()
}

/// Checks `TopK` against sorting everything; `Neighbor`'s `==` treats -0.0 as 0.0.
#[track_caller]
fn check(items: &[(u64, f32)], k: usize, want_ids: &[u64]) {
    let got = collect(items, k);
    assert_eq!(got, sort_all(items, k));
    let got_ids: Vec<u64> = got.iter().map(|n| n.id).collect();
    assert_eq!(got_ids, want_ids);
}

#[test]
fn keeps_the_k_smallest_distances_in_order() {
    check(&[(1, 5.0), (2, 1.0), (3, 3.0), (4, 2.0), (5, 4.0)], 3, &[2, 4, 3]);
    check(&[(1, -1.0), (2, f32::INFINITY), (3, f32::NEG_INFINITY)], 5, &[3, 1, 2]);
}

#[test]
fn ties_go_to_the_smaller_id_whatever_the_push_order() {
    check(&[(5, 1.0), (3, 1.0), (4, 1.0)], 2, &[3, 4]);
    check(&[(3, 1.0), (4, 1.0), (5, 1.0)], 2, &[3, 4]);
    check(&[(9, 1.0), (8, 2.0), (7, 1.0)], 1, &[7]);
    // -0.0 and 0.0 are equal distances, so the smaller id wins.
    check(&[(2, 0.0), (1, -0.0)], 1, &[1]);
    check(&[(1, -0.0), (2, 0.0)], 1, &[1]);
}

#[test]
fn nan_is_never_admitted() {
    check(&[(1, f32::NAN), (2, f32::NAN)], 3, &[]);
    check(&[(1, f32::NAN), (2, 7.0), (3, -f32::NAN)], 3, &[2]);
}

#[test]
fn k_zero_keeps_nothing_and_huge_k_keeps_everything() {
    check(&[(1, 1.0), (2, 2.0)], 0, &[]);
    check(&[(2, 2.0), (1, 1.0)], usize::MAX, &[1, 2]);
}

#[test]
fn threshold_appears_once_full() {
    let mut top = TopK::new(2);
    assert_eq!(top.threshold(), None);
    top.push(1, 3.0);
    assert_eq!(top.threshold(), None);
    top.push(2, 1.0);
    assert_eq!(top.threshold(), Some(3.0));
    top.push(3, 2.0);
    assert_eq!(top.threshold(), Some(2.0));
    top.push(4, 5.0);
    assert_eq!((top.threshold(), top.len()), (Some(2.0), 2));
    assert_eq!(TopK::new(0).threshold(), None);
}

/// Distances drawn from a handful of values (many ties) or from every f32 (NaN, infinities,
/// -0.0, subnormals).
fn distance() -> impl Strategy<Value = f32> {
    prop_oneof![(-3i8..3).prop_map(f32::from), Just(-0.0f32), proptest::num::f32::ANY]
}

fn items() -> impl Strategy<Value = Vec<(u64, f32)>> {
    vec((0u64..40, distance()), 0..200)
}

proptest! {
    #[test]
    fn topk_matches_sorting_everything(items in items(), k in 0usize..50) {
        prop_assert_eq!(collect(&items, k), sort_all(&items, k));
    }

    #[test]
    fn merge_matches_one_collector_over_everything(
        items in items(),
        cuts in vec(0usize..200, 0..6),
        k in 0usize..50,
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(items.len())).collect();
        cuts.sort_unstable();
        let mut lists = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([items.len()]) {
            let part = &items[start..cut];
            // Per-segment results arrive already cut to k, as the engine will pass them.
            lists.push(collect(part, k));
            start = cut;
        }
        prop_assert_eq!(merge_topk(lists, k), sort_all(&items, k));
    }
}
