use super::{distance, id, pack};

#[test]
fn packing_preserves_order_and_round_trips() {
    let values = [f32::NEG_INFINITY, -3.5, -1e-30, -0.0, 0.0, 1e-30, 2.0, f32::INFINITY];
    for (i, &a) in values.iter().enumerate() {
        let p = pack(a, 7);
        assert_eq!(distance(p), a + 0.0);
        assert_eq!(id(p), 7);
        for &b in &values[i..] {
            assert!(pack(a, 1) <= pack(b, 1), "{a} vs {b}");
        }
    }
    assert!(pack(1.0, 2) < pack(1.0, 3));
    assert!(pack(f32::INFINITY, u32::MAX) < pack(f32::NAN, 0));
    assert_eq!(pack(-0.0, 5), pack(0.0, 5));
}
