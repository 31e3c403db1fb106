//! A minimal PNG encoder for the benchmark's plot: 8-bit RGB, no scanline filtering, and a zlib
//! stream of stored (uncompressed) deflate blocks, so that no image or compression crate is
//! needed. The file is about as large as the raw pixels (1.2 MB for 800×500), which is fine for
//! a plot that is looked at and thrown away.
//!
//! The checksums are the ones the formats prescribe: CRC-32 (ISO 3309, as in zlib) over each
//! chunk's type and data, and Adler-32 over the uncompressed zlib payload.

#[cfg(test)]
mod tests;

/// The eight bytes every PNG file starts with.
pub(crate) const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
/// Largest payload of a stored deflate block: its length field has 16 bits.
const MAX_STORED_BLOCK: usize = 65_535;
/// Largest width or height accepted; a plot is far smaller, and the bound keeps every size
/// computation below far from overflow.
const MAX_SIDE: u32 = 16_384;

/// Encodes `pixels` (3 bytes per pixel, red, green, blue; rows from the top, pixels from the
/// left) as a PNG file of `width` × `height` pixels.
pub(crate) fn encode_rgb(width: u32, height: u32, pixels: &[u8]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(
        (1..=MAX_SIDE).contains(&width) && (1..=MAX_SIDE).contains(&height),
        "image size {width}x{height} is outside 1..={MAX_SIDE} pixels per side"
    );
    let row_bytes = width as usize * 3;
    anyhow::ensure!(
        pixels.len() == row_bytes * height as usize,
        "{} pixel bytes do not make a {width}x{height} RGB image",
        pixels.len()
    );
    // Each scanline is preceded by its filter type; 0 leaves the bytes as they are.
    let mut scanlines = Vec::with_capacity((row_bytes + 1) * height as usize);
    for row in pixels.chunks_exact(row_bytes) {
        scanlines.push(0);
        scanlines.extend_from_slice(row);
    }
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&be32(width));
    header.extend_from_slice(&be32(height));
    // Bit depth 8, colour type 2 (RGB), compression 0, filter method 0, no interlacing.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);

    let mut out = SIGNATURE.to_vec();
    write_chunk(&mut out, *b"IHDR", &header);
    write_chunk(&mut out, *b"IDAT", &zlib_stored(&scanlines));
    write_chunk(&mut out, *b"IEND", &[]);
    Ok(out)
}

/// Appends one chunk: length, type, data, and the CRC-32 of type and data.
fn write_chunk(out: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
    // Callers pass at most the scanlines of a MAX_SIDE² image plus block headers, well below
    // the 2^31 bytes a chunk may hold.
    out.extend_from_slice(&be32(data.len() as u32));
    out.extend_from_slice(&kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&be32(crc32(&[&kind, data])));
}

/// A zlib stream (RFC 1950) holding `data` in stored deflate blocks (RFC 1951, section 3.2.4).
pub(crate) fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let blocks = data.len().div_ceil(MAX_STORED_BLOCK).max(1);
    let mut out = Vec::with_capacity(data.len() + 5 * blocks + 6);
    // CMF: deflate with a 32 KiB window; FLG: no dictionary, and a check value that makes
    // CMF·256 + FLG a multiple of 31.
    out.extend_from_slice(&[0x78, 0x01]);
    for index in 0..blocks {
        let start = index * MAX_STORED_BLOCK;
        let block = &data[start..(start + MAX_STORED_BLOCK).min(data.len())];
        // BFINAL in bit 0, BTYPE 00 (stored) in bits 1-2; the rest of the byte is padding.
        out.push(u8::from(index + 1 == blocks));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&be32(adler32(data)));
    out
}

/// `value` in network byte order, as PNG and zlib store integers.
fn be32(value: u32) -> [u8; 4] {
    [(value >> 24) as u8, (value >> 16) as u8, (value >> 8) as u8, value as u8]
}

/// The CRC-32 (polynomial 0xEDB88320, reflected, as in zlib and PNG) of the concatenated
/// `parts`.
pub(crate) fn crc32(parts: &[&[u8]]) -> u32 {
    !parts.iter().fold(0xFFFF_FFFF, |crc, part| crc32_update(crc, part))
}

/// Feeds `bytes` into a running CRC register (before the final inversion).
fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &byte in bytes {
        crc = CRC_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc
}

/// The CRC of every byte value, computed at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            bit += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// The Adler-32 checksum of `bytes` (RFC 1950).
pub(crate) fn adler32(bytes: &[u8]) -> u32 {
    const MODULUS: u32 = 65_521;
    // zlib's NMAX: the most bytes after which `b` still fits in 32 bits, so the modulo is
    // taken once per chunk rather than once per byte.
    const CHUNK: usize = 5_552;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in bytes.chunks(CHUNK) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MODULUS;
        b %= MODULUS;
    }
    (b << 16) | a
}
