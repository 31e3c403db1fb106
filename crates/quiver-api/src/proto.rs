//! The wire types and the service trait, generated at build time from `proto/*.proto` (our
//! declarations of Milvus's messages, with Milvus's names and field numbers).

#![allow(
    clippy::all,
    unreachable_pub,
    missing_docs,
    elided_lifetimes_in_paths,
    reason = "generated code"
)]

pub mod common {
    tonic::include_proto!("milvus.proto.common");
}

pub mod schema {
    tonic::include_proto!("milvus.proto.schema");
}

pub mod milvus {
    tonic::include_proto!("milvus.proto.milvus");
}

/// Quiver's own administrative services (`proto/quiver_admin.proto`): the recycle bin.
pub mod admin {
    tonic::include_proto!("quiver.admin.v1");
}
