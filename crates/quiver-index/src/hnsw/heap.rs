//! `(distance, id)` pairs packed into one `u64` whose integer order is the [`TopK`] order
//! (distance by `total_cmp` with `-0.0` folded into `0.0`, then id), so the search heaps are
//! plain `BinaryHeap<u64>`s with single-instruction comparisons.
//!
//! [`TopK`]: crate::TopK

#[cfg(test)]
mod tests;

/// Packs `(distance, id)`; NaN sorts after every number.
#[inline(always)]
pub(crate) fn pack(distance: f32, id: u32) -> u64 {
    // Adding positive zero turns -0.0 into 0.0 and leaves every other value unchanged.
    let bits = (distance + 0.0).to_bits();
    // Flip negatives entirely and set the sign bit of positives: the usual map from IEEE
    // floats to unsigned integers that preserves order.
    let key = if bits & 0x8000_0000 != 0 { !bits } else { bits | 0x8000_0000 };
    (u64::from(key) << 32) | u64::from(id)
}

/// The distance of a packed pair.
#[inline(always)]
pub(crate) fn distance(packed: u64) -> f32 {
    let key = (packed >> 32) as u32;
    let bits = if key & 0x8000_0000 != 0 { key & 0x7fff_ffff } else { !key };
    f32::from_bits(bits)
}

/// The id of a packed pair.
#[inline(always)]
pub(crate) fn id(packed: u64) -> u32 {
    packed as u32
}
