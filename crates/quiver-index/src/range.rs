//! Milvus range-search bounds (`radius`, `range_filter`) and which distances they admit.
//!
//! Milvus states the bounds in reported scores, and the direction depends on the metric:
//!
//! * L2 (smaller is closer): a hit has `range_filter <= distance < radius`.
//! * IP and COSINE (larger is closer): a hit has `radius < score <= range_filter`.
//!
//! So `radius` is always the exclusive outer edge and `range_filter` the optional inclusive
//! inner edge. In internal distances (smaller is closer) both cases become
//! `to_distance(range_filter) <= distance < to_distance(radius)`.

#[cfg(test)]
mod tests;

use quiver_core::Metric;

use crate::distance::to_distance;

/// The bounds of a range search, in Milvus's reported-score units.
///
/// Bounds that Milvus would reject as inverted (for L2 `range_filter >= radius`, for IP and
/// COSINE `range_filter <= radius`) admit nothing here; a NaN bound admits nothing either.
/// Validating them for the user is the engine's job.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchRange {
    /// The exclusive outer bound: farther hits (for L2 `distance >= radius`, for IP and
    /// COSINE `score <= radius`) are dropped.
    pub radius: f32,
    /// The optional inclusive inner bound: closer hits (for L2 `distance < range_filter`, for
    /// IP and COSINE `score > range_filter`) are dropped.
    pub range_filter: Option<f32>,
}

impl SearchRange {
    /// Whether an internal `distance` (smaller is closer) lies within the range.
    #[inline]
    pub fn contains(&self, metric: Metric, distance: f32) -> bool {
        let (lower, upper) = self.distance_bounds(metric);
        lower <= distance && distance < upper
    }

    /// `(inclusive lower, exclusive upper)` bounds on the internal distance.
    pub(crate) fn distance_bounds(&self, metric: Metric) -> (f32, f32) {
        let upper = to_distance(metric, self.radius);
        let lower =
            self.range_filter.map_or(f32::NEG_INFINITY, |filter| to_distance(metric, filter));
        (lower, upper)
    }
}
