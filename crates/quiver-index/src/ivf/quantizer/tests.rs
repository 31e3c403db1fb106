use super::Quantizer;
use crate::ivf::fixtures::clustered;
use crate::stored::Reader;

fn round_trip(quantizer: &Quantizer, row: &[f32]) -> Vec<f32> {
    let mut code = vec![0u8; row.len()];
    quantizer.encode(row, 1.0, &mut code);
    let mut out = vec![0f32; row.len()];
    quantizer.decode(&code, &mut out);
    out
}

#[test]
fn every_value_is_within_half_a_step() {
    let dim = 16;
    let rows = clustered(500, dim, 4, 1);
    let quantizer = Quantizer::train(&rows, dim, |_| 1.0);
    for row in rows.chunks_exact(dim) {
        for ((x, y), step) in row.iter().zip(round_trip(&quantizer, row)).zip(&quantizer.step) {
            assert!((x - y).abs() <= step * 0.5 + 1e-5, "{x} vs {y} (step {step})");
        }
    }
}

#[test]
fn extremes_map_to_the_first_and_last_code() {
    let rows = [-1.0f32, 10.0, 3.0, 20.0, 0.5, 15.0];
    let quantizer = Quantizer::train(&rows, 2, |_| 1.0);
    let mut code = [0u8; 2];
    quantizer.encode(&[-1.0, 20.0], 1.0, &mut code);
    assert_eq!(code, [0, 255]);
    quantizer.encode(&[3.0, 10.0], 1.0, &mut code);
    assert_eq!(code, [255, 0]);
    // Values outside the trained range (query-like) clamp to the ends.
    quantizer.encode(&[-100.0, 100.0], 1.0, &mut code);
    assert_eq!(code, [0, 255]);
}

#[test]
fn constant_dimensions_and_empty_training_are_exact() {
    let rows = [7.0f32, 1.0, 7.0, 2.0];
    let quantizer = Quantizer::train(&rows, 2, |_| 1.0);
    assert_eq!(round_trip(&quantizer, &[7.0, 1.0])[0], 7.0);
    let empty = Quantizer::train(&[], 3, |_| 1.0);
    assert_eq!(round_trip(&empty, &[0.0, 0.0, 0.0]), [0.0, 0.0, 0.0]);
}

#[test]
fn huge_ranges_stay_finite() {
    let rows = [f32::MAX, -f32::MAX, -f32::MAX, f32::MAX];
    let quantizer = Quantizer::train(&rows, 2, |_| 1.0);
    let decoded = round_trip(&quantizer, &[f32::MAX, 0.0]);
    assert!(decoded.iter().all(|x| x.is_finite()), "{decoded:?}");
    let mut stored = Vec::new();
    quantizer.write(&mut stored);
    assert_eq!(Quantizer::read(&mut Reader::new(&stored), 2), Ok(quantizer));
}

#[test]
fn scaled_rows_are_encoded_scaled() {
    let rows = [3.0f32, 4.0, 0.0, 1.0];
    let norm = |row: &[f32]| 1.0 / row.iter().map(|x| x * x).sum::<f32>().sqrt();
    let quantizer = Quantizer::train(&rows, 2, norm);
    let mut code = [0u8; 2];
    quantizer.encode(&[3.0, 4.0], 0.2, &mut code);
    let mut out = [0f32; 2];
    quantizer.decode(&code, &mut out);
    assert!((out[0] - 0.6).abs() < 0.002 && (out[1] - 0.8).abs() < 0.002, "{out:?}");
}

#[test]
fn stored_grids_must_be_finite_with_non_negative_steps() {
    let encode = |values: &[f32]| values.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let read = |bytes: Vec<u8>| Quantizer::read(&mut Reader::new(&bytes), 2).map(|_| ());
    assert_eq!(read(encode(&[0.0, 1.0, 0.5, 0.0])), Ok(()));
    for bad in [
        [f32::NAN, 1.0, 0.5, 0.0],
        [0.0, f32::INFINITY, 0.5, 0.0],
        [0.0, 1.0, -0.5, 0.0],
        [0.0, 1.0, 0.5, f32::NAN],
        [f32::MAX, 1.0, f32::MAX, 0.0],
    ] {
        assert!(read(encode(&bad)).is_err(), "{bad:?}");
    }
    assert!(read(encode(&[0.0, 1.0, 0.5])).is_err());
}

#[test]
fn scoring_codes_matches_the_distance_to_the_decoded_vector() {
    use quiver_core::Metric;

    use super::widen;
    use crate::distance::{distance, kernels};

    let dim = 24;
    // An offset far from the origin: the L2 expansion around `min` must not lose the
    // distances to cancellation.
    let rows: Vec<f32> = clustered(200, dim, 5, 8).iter().map(|x| x + 500.0).collect();
    let queries: Vec<f32> = clustered(20, dim, 5, 9).iter().map(|x| x + 500.0).collect();
    let quantizer = Quantizer::train(&rows, dim, |_| 1.0);
    let (mut code, mut decoded, mut widened, mut weights) =
        (vec![0u8; dim], vec![0f32; dim], vec![0f32; dim], Vec::new());
    for metric in [Metric::L2, Metric::Ip, Metric::Cosine] {
        for query in queries.chunks_exact(dim) {
            let code_query = quantizer.prepare(metric, query, &mut weights);
            for row in rows.chunks_exact(dim) {
                quantizer.encode(row, 1.0, &mut code);
                quantizer.decode(&code, &mut decoded);
                widen(&code, &mut widened);
                let term = quantizer.row_term(metric, &code, &mut decoded.clone());
                let got = code_query.distance(kernels().dot(&weights, &widened), term);
                let want = distance(metric, query, &decoded);
                let tolerance = match metric {
                    Metric::L2 => 1e-3 * want.max(1.0),
                    Metric::Ip => 1e-5 * want.abs(),
                    Metric::Cosine => 1e-5,
                };
                assert!((got - want).abs() <= tolerance, "{metric:?}: {got} vs {want}");
            }
        }
    }
}
