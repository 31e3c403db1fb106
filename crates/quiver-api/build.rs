//! Compiles our `.proto` files with protox (no system protoc needed): the Milvus-compatible
//! ones, then Quiver's own administrative services, which refer to Milvus's common types by
//! their Rust path instead of generating them twice.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let milvus = ["proto/common.proto", "proto/schema.proto", "proto/milvus.proto"];
    let quiver = "proto/quiver_admin.proto";
    for file in milvus.iter().chain([&quiver]) {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(milvus, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_fds(descriptors)?;

    let descriptors = protox::compile([quiver], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .extern_path(".milvus.proto.common", "crate::proto::common")
        .compile_fds(descriptors)?;
    Ok(())
}
