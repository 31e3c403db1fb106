//! Lowercase hexadecimal, the only spelling the log accepts for hashes and MACs: one spelling
//! per value, so a record's bytes cannot change without changing what they mean.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lowercase hex.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Decodes exactly 64 lowercase hex digits; `None` for any other input.
pub(crate) fn decode_32(text: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    decode_into(text, &mut out)?;
    Some(out)
}

/// Decodes exactly `2 * out.len()` lowercase hex digits into `out`.
pub(crate) fn decode_into(text: &[u8], out: &mut [u8]) -> Option<()> {
    if text.len() != out.len() * 2 {
        return None;
    }
    for (slot, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *slot = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(())
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}
