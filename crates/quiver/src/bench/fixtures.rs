//! Small datasets in the format of `dataset.py` for the tests, with exact L2 ground truth,
//! written into scratch directories.

use std::path::PathBuf;

use super::run::ScratchDir;

/// A dataset on disk; its directory goes when it is dropped.
pub(crate) struct Fixture {
    pub(crate) prefix: PathBuf,
    pub(crate) base: Vec<f32>,
    pub(crate) queries: Vec<f32>,
    pub(crate) ground_truth: Vec<i32>,
    _dir: ScratchDir,
}

impl Fixture {
    /// `n` base vectors and `nq` queries of dimension `d` (pseudo-random, repeatable) with the
    /// 100 nearest base rows of each query by L2.
    pub(crate) fn new(n: usize, d: usize, nq: usize) -> Fixture {
        let dir = ScratchDir::create(&std::env::temp_dir()).expect("scratch directory");
        let prefix = dir.path().join("set");
        let mut state = 0x1234_5678_9ABC_DEF0_u64;
        let mut random = move || {
            // splitmix64, scaled to [0, 1).
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
        };
        let base: Vec<f32> = (0..n * d).map(|_| random()).collect();
        let queries: Vec<f32> = (0..nq * d).map(|_| random()).collect();
        let k = 100.min(n);
        let ground_truth = queries
            .chunks_exact(d)
            .flat_map(|query| {
                let mut by_distance: Vec<(f32, i32)> = base
                    .chunks_exact(d)
                    .enumerate()
                    .map(|(row, v)| {
                        let distance = v.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum();
                        (distance, row as i32)
                    })
                    .collect();
                by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                by_distance.into_iter().take(k).map(|(_, row)| row)
            })
            .collect();
        let fixture = Fixture { prefix, base, queries, ground_truth, _dir: dir };
        fixture.write_json(&format!(
            r#"{{"n": {n}, "d": {d}, "nq": {nq}, "k": {k}, "metric": "L2"}}"#
        ));
        fixture.write(".base.f32", &f32_bytes(&fixture.base));
        fixture.write(".query.f32", &f32_bytes(&fixture.queries));
        fixture.write(".gt.i32", &i32_bytes(&fixture.ground_truth));
        fixture
    }

    pub(crate) fn path(&self, suffix: &str) -> PathBuf {
        let mut path = self.prefix.clone().into_os_string();
        path.push(suffix);
        PathBuf::from(path)
    }

    /// Replaces one of the files.
    pub(crate) fn write(&self, suffix: &str, bytes: &[u8]) {
        std::fs::write(self.path(suffix), bytes).expect("writes the fixture");
    }

    pub(crate) fn write_json(&self, text: &str) {
        self.write(".json", text.as_bytes());
    }
}

pub(crate) fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub(crate) fn i32_bytes(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}
