//! The stored formats against hostile bytes: every truncation, arbitrary bytes, flipped bytes
//! and hand-made corruptions of each field must give an error, never a panic, a hang or a huge
//! allocation.

use proptest::collection::vec;
use proptest::prelude::*;
use quiver_core::Metric;

use super::FORMAT_VERSION;
use crate::error::IndexError;
use crate::ivf::fixtures::{Ivf, KINDS, Kind, clustered};

const ROWS: usize = 60;
const DIM: usize = 3;
const NLIST: i64 = 8;
/// Where the centroids start (the header's length).
const CENTROIDS_AT: usize = 48;
/// Where the list sizes start: after 8 centroids of 3 floats.
const SIZES_AT: usize = CENTROIDS_AT + 4 * 8 * DIM;
const IDS_AT: usize = SIZES_AT + 4 * 8;
const PAYLOAD_AT: usize = IDS_AT + 4 * ROWS;

fn stored(kind: Kind, metric: Metric) -> Vec<u8> {
    let vectors = clustered(ROWS, DIM, 4, 2);
    Ivf::build(kind, &vectors, DIM, metric, NLIST, 1).expect("valid").to_bytes()
}

fn load(kind: Kind, bytes: &[u8]) -> Result<Ivf, IndexError> {
    Ivf::from_bytes(kind, bytes, ROWS, DIM, Metric::L2)
}

/// Loads `bytes` and, if they load, searches them: neither may panic, and hits are rows.
fn load_and_search(kind: Kind, bytes: &[u8], n_rows: usize, dim: usize) {
    if let Ok(index) = Ivf::from_bytes(kind, bytes, n_rows, dim, Metric::L2) {
        let query = vec![0.5; dim];
        let hits = index.search(&query, 5, 1, None).expect("valid search");
        assert!(hits.iter().all(|hit| (hit.id as usize) < n_rows));
    }
}

#[track_caller]
fn check_corrupt(kind: Kind, offset: usize, value: &[u8], reason: &str) {
    let mut bytes = stored(kind, Metric::L2);
    bytes[offset..offset + value.len()].copy_from_slice(value);
    match load(kind, &bytes) {
        Err(IndexError::Corrupt { reason: got, .. }) => assert_eq!(got, reason, "{kind:?}"),
        other => panic!("{kind:?}: expected corrupt ({reason}), got {other:?}"),
    }
}

#[test]
fn the_layout_is_as_documented() {
    for kind in KINDS {
        let bytes = stored(kind, Metric::Cosine);
        let magic: &[u8] = if kind == Kind::Flat { b"QVIVFFLT" } else { b"QVIVFSQ8" };
        assert_eq!(&bytes[..8], magic);
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        assert_eq!(
            [
                u32_at(8),
                u32_at(12),
                u32_at(16),
                u32_at(20),
                u32_at(24),
                u32_at(28),
                u32_at(32),
                u32_at(36)
            ],
            [FORMAT_VERSION, 2, ROWS as u32, 0, DIM as u32, NLIST as u32, NLIST as u32, 0]
        );
        let sizes: u32 = (0..8).map(|l| u32_at(SIZES_AT + 4 * l)).sum();
        assert_eq!(sizes as usize, ROWS);
        let payload = if kind == Kind::Flat { 4 * ROWS * DIM } else { 8 * DIM + ROWS * DIM };
        assert_eq!(bytes.len(), PAYLOAD_AT + payload);
    }
}

#[test]
fn every_truncation_is_refused() {
    for kind in KINDS {
        let bytes = stored(kind, Metric::L2);
        assert!(load(kind, &bytes).is_ok());
        for len in 0..bytes.len() {
            assert!(load(kind, &bytes[..len]).is_err(), "{kind:?}: {len} bytes loaded");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(load(kind, &longer).is_err());
    }
}

#[test]
fn header_fields_must_match_the_caller_and_the_rules() {
    for kind in KINDS {
        let bytes = stored(kind, Metric::L2);
        let mismatch =
            |field, expected, stored| IndexError::StoredMismatch { field, expected, stored };
        let load_as =
            |n_rows, dim, metric| Ivf::from_bytes(kind, &bytes, n_rows, dim, metric).map(|_| ());
        assert_eq!(load_as(ROWS + 1, DIM, Metric::L2), Err(mismatch("rows", 61, 60)));
        assert_eq!(load_as(ROWS, DIM + 1, Metric::L2), Err(mismatch("dim", 4, 3)));
        assert_eq!(load_as(ROWS, DIM, Metric::Ip), Err(mismatch("metric", 1, 0)));
        let other = if kind == Kind::Flat { Kind::Sq8 } else { Kind::Flat };
        assert!(matches!(
            Ivf::from_bytes(other, &bytes, ROWS, DIM, Metric::L2),
            Err(IndexError::Corrupt { offset: 0, .. })
        ));

        let mut newer = bytes.clone();
        newer[8] = 2;
        assert_eq!(
            load(kind, &newer).map(|_| ()),
            Err(IndexError::UnsupportedVersion { found: 2, supported: FORMAT_VERSION })
        );
        check_corrupt(kind, 12, &[9, 0, 0, 0], "unknown metric code");
        check_corrupt(kind, 28, &[0, 0, 0, 0], "nlist out of range");
        check_corrupt(kind, 28, &[1, 0, 1, 0], "nlist out of range");
        check_corrupt(kind, 32, &[7, 0, 0, 0], "list count is not min(nlist, rows)");
        check_corrupt(kind, 36, &[1, 0, 0, 0], "reserved field is not zero");
    }
}

#[test]
fn lists_must_hold_every_row_once() {
    for kind in KINDS {
        let bytes = stored(kind, Metric::L2);
        let size0 = u32::from_le_bytes([bytes[SIZES_AT], bytes[SIZES_AT + 1], 0, 0]);
        check_corrupt(
            kind,
            SIZES_AT,
            &(size0 + 1).to_le_bytes(),
            "list sizes do not add up to the rows",
        );
        check_corrupt(
            kind,
            SIZES_AT,
            &u32::MAX.to_le_bytes(),
            "list sizes do not add up to the rows",
        );
        check_corrupt(kind, IDS_AT + 8, &(ROWS as u32).to_le_bytes(), "row id out of range");
        let first_id = &bytes[IDS_AT..IDS_AT + 4];
        check_corrupt(kind, IDS_AT + 4, first_id, "row id listed twice");
        check_corrupt(kind, CENTROIDS_AT + 4, &f32::NAN.to_le_bytes(), "centroid is not finite");
    }
    check_corrupt(Kind::Flat, PAYLOAD_AT + 8, &f32::INFINITY.to_le_bytes(), "vector is not finite");
    check_corrupt(
        Kind::Sq8,
        PAYLOAD_AT,
        &f32::NAN.to_le_bytes(),
        "quantizer minimum is not finite",
    );
    check_corrupt(
        Kind::Sq8,
        PAYLOAD_AT + 4 * DIM,
        &(-1.0f32).to_le_bytes(),
        "quantizer step out of range",
    );
}

#[test]
fn huge_headers_are_refused_before_allocating() {
    for kind in KINDS {
        let mut bytes = stored(kind, Metric::L2);
        // A caller-supplied row count and dim that would need petabytes: the length check fails
        // first, with checked arithmetic.
        bytes[16..24].copy_from_slice(&(u32::MAX as u64).to_le_bytes());
        bytes[24..28].copy_from_slice(&32768u32.to_le_bytes());
        bytes[28..32].copy_from_slice(&65536u32.to_le_bytes());
        bytes[32..36].copy_from_slice(&65536u32.to_le_bytes());
        let got = Ivf::from_bytes(kind, &bytes, u32::MAX as usize, 32768, Metric::L2).map(|_| ());
        assert!(matches!(got, Err(IndexError::Corrupt { .. })), "{got:?}");
        let got = Ivf::from_bytes(kind, &bytes, usize::MAX, usize::MAX, Metric::L2).map(|_| ());
        assert!(got.is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in vec(any::<u8>(), 0..600),
        n_rows in 0usize..8,
        dim in 0usize..4,
    ) {
        for kind in KINDS {
            load_and_search(kind, &bytes, n_rows, dim);
        }
    }

    #[test]
    fn a_valid_header_with_arbitrary_fields_and_body_never_panics(
        fields in vec(any::<u32>(), 10),
        body in vec(any::<u8>(), 0..400),
        n_rows in 0usize..8,
        dim in 1usize..4,
        sq8 in any::<bool>(),
    ) {
        let kind = if sq8 { Kind::Sq8 } else { Kind::Flat };
        let mut bytes = if sq8 { b"QVIVFSQ8".to_vec() } else { b"QVIVFFLT".to_vec() };
        bytes.extend(1u32.to_le_bytes());
        // Metric L2 and the caller's shape most of the time, so decoding gets past the header.
        let field = |i: usize, usual: u32| if fields[i] % 4 == 0 { fields[i] } else { usual };
        for (i, usual) in [0, n_rows as u32, 0, dim as u32].into_iter().enumerate() {
            bytes.extend(field(i, usual).to_le_bytes());
        }
        let nlist = fields[4] % 9 + 1;
        let lists = field(5, nlist.min(n_rows as u32));
        for value in [nlist, lists, field(6, 0), fields[7], fields[8]] {
            bytes.extend(value.to_le_bytes());
        }
        bytes.extend(body);
        load_and_search(kind, &bytes, n_rows, dim);
    }

    #[test]
    fn flipped_bytes_never_panic(flips in vec((any::<usize>(), 1u8..=255), 1..4)) {
        for kind in KINDS {
            let mut bytes = stored(kind, Metric::L2);
            for &(at, mask) in &flips {
                let at = at % bytes.len();
                bytes[at] ^= mask;
            }
            load_and_search(kind, &bytes, ROWS, DIM);
        }
    }
}
