//! `f32` distance kernels (a scalar reference plus AVX2+FMA and AVX-512F paths picked at run
//! time) and the Milvus metrics built on them.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod dispatch;
mod metric;
mod scalar;

pub use dispatch::{Kernels, kernels};
pub use metric::{PreparedQuery, cosine_similarity, distance, norm, to_distance, to_score};
