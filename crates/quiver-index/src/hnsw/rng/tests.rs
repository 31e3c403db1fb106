use super::draw_levels;

#[test]
fn levels_decay_by_m_and_depend_only_on_the_seed() {
    let levels = draw_levels(100_000, 16, 1);
    assert_eq!(levels, draw_levels(100_000, 16, 1));
    assert_ne!(levels, draw_levels(100_000, 16, 2));
    let at_least = |l: u8| levels.iter().filter(|&&x| x >= l).count() as f64;
    // P(level >= 1) = 1/16 and P(level >= 2) = 1/256.
    assert!((at_least(1) / 100_000.0 - 1.0 / 16.0).abs() < 0.005);
    assert!((at_least(2) / 100_000.0 - 1.0 / 256.0).abs() < 0.001);
}
