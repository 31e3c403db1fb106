//! CRC-32 and Adler-32 against known values, and PNG round trips through a strict decoder.

use super::*;

#[track_caller]
fn check_crc32(input: &[u8], expect: u32) {
    assert_eq!(crc32(&[input]), expect, "crc32 of {} bytes", input.len());
    // The same bytes in two parts.
    let (head, tail) = input.split_at(input.len() / 2);
    assert_eq!(crc32(&[head, tail]), expect, "crc32 of {} bytes in parts", input.len());
}

#[track_caller]
fn check_adler32(input: &[u8], expect: u32) {
    assert_eq!(adler32(input), expect, "adler32 of {} bytes", input.len());
}

#[test]
fn crc32_matches_known_vectors() {
    check_crc32(b"", 0);
    check_crc32(b"123456789", 0xCBF4_3926);
    check_crc32(b"The quick brown fox jumps over the lazy dog", 0x414F_A339);
    check_crc32(b"IEND", 0xAE42_6082);
    // Reference values from Python's zlib.crc32 and zlib.adler32.
    check_crc32(&[0xFF; 100_000], 0x68C6_CEC4);
}

#[test]
fn adler32_matches_known_vectors() {
    check_adler32(b"", 1);
    check_adler32(b"Wikipedia", 0x11E6_0398);
    check_adler32(b"123456789", 0x091E_01DE);
    // Long enough to take the modulo many times, with the largest byte value.
    check_adler32(&[0xFF; 100_000], 0x149A_302C);
}

/// What a PNG decoder reads back from an 8-bit RGB file.
struct Decoded {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
    chunk_types: Vec<String>,
    stored_blocks: usize,
}

fn read_be32(bytes: &[u8], at: usize) -> u32 {
    u32::from(bytes[at]) << 24
        | u32::from(bytes[at + 1]) << 16
        | u32::from(bytes[at + 2]) << 8
        | u32::from(bytes[at + 3])
}

/// A strict decoder for exactly what the encoder may produce: it checks the signature, every
/// chunk's CRC, the zlib header, each stored block's LEN/NLEN, the Adler-32 and the filter
/// bytes.
fn decode(png: &[u8]) -> Decoded {
    assert_eq!(png[..8], SIGNATURE, "signature");
    let (mut at, mut chunk_types, mut idat, mut header) = (8, Vec::new(), Vec::new(), None);
    while at < png.len() {
        let len = read_be32(png, at) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        let stored_crc = read_be32(png, at + 8 + len);
        assert_eq!(crc32(&[&png[at + 4..at + 8 + len]]), stored_crc, "crc of chunk {kind:?}");
        chunk_types.push(String::from_utf8(kind.to_vec()).expect("ascii chunk type"));
        match kind {
            b"IHDR" => header = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        at += 12 + len;
    }
    assert_eq!(at, png.len(), "no trailing bytes");
    let header = header.expect("IHDR");
    assert_eq!(header.len(), 13);
    let (width, height) = (read_be32(&header, 0), read_be32(&header, 4));
    assert_eq!(header[8..], [8, 2, 0, 0, 0], "8-bit RGB, no interlacing");

    assert_eq!(idat[0] & 0x0F, 8, "deflate");
    assert_eq!((u32::from(idat[0]) << 8 | u32::from(idat[1])) % 31, 0, "zlib FCHECK");
    let (mut at, mut raw, mut stored_blocks) = (2, Vec::new(), 0);
    loop {
        let block_header = idat[at];
        assert_eq!(block_header >> 1, 0, "stored block");
        let len = usize::from(u16::from_le_bytes([idat[at + 1], idat[at + 2]]));
        let nlen = u16::from_le_bytes([idat[at + 3], idat[at + 4]]);
        assert_eq!(nlen, !(len as u16), "NLEN is the complement of LEN");
        raw.extend_from_slice(&idat[at + 5..at + 5 + len]);
        at += 5 + len;
        stored_blocks += 1;
        if block_header & 1 == 1 {
            break;
        }
    }
    assert_eq!(read_be32(&idat, at), adler32(&raw), "adler32");
    assert_eq!(at + 4, idat.len(), "nothing after the adler32");

    let row_bytes = width as usize * 3;
    assert_eq!(raw.len(), (row_bytes + 1) * height as usize);
    let mut pixels = Vec::new();
    for line in raw.chunks_exact(row_bytes + 1) {
        assert_eq!(line[0], 0, "filter type none");
        pixels.extend_from_slice(&line[1..]);
    }
    Decoded { width, height, pixels, chunk_types, stored_blocks }
}

#[track_caller]
fn check_round_trip(width: u32, height: u32, expect_blocks: usize) {
    let pixels: Vec<u8> = (0..width * height * 3).map(|i| (i * 7 % 251) as u8).collect();
    let png = encode_rgb(width, height, &pixels).expect("encodes");
    let decoded = decode(&png);
    assert_eq!((decoded.width, decoded.height), (width, height));
    assert_eq!(decoded.chunk_types, ["IHDR", "IDAT", "IEND"]);
    assert_eq!(decoded.stored_blocks, expect_blocks);
    assert!(decoded.pixels == pixels, "pixels survive the round trip");
}

#[test]
fn encodes_a_decodable_png() {
    check_round_trip(1, 1, 1);
    check_round_trip(3, 2, 1);
    // 120 rows of 1 + 600 bytes: 72,120 bytes, so two stored blocks.
    check_round_trip(200, 120, 2);
    // The plot's size: 500 rows of 2,401 bytes, 19 blocks.
    check_round_trip(800, 500, 19);
}

#[test]
fn an_empty_zlib_payload_is_one_final_empty_block() {
    assert_eq!(zlib_stored(&[]), [0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0, 0, 0, 1]);
}

#[track_caller]
fn check_refused(width: u32, height: u32, bytes: usize, expect: &str) {
    let err = encode_rgb(width, height, &vec![0; bytes]).expect_err("refused");
    assert!(err.to_string().contains(expect), "{err}");
}

#[test]
fn refuses_inconsistent_sizes() {
    check_refused(2, 2, 11, "11 pixel bytes do not make a 2x2 RGB image");
    check_refused(0, 2, 0, "outside 1..=16384");
    check_refused(20_000, 1, 60_000, "outside 1..=16384");
}
