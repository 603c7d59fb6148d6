//! Generates the gRPC service of the `peers` benchmark from a description in
//! Rust: the messages are written by hand with `#[derive(prost::Message)]` in
//! `src/peers/grpc.rs`, so no `.proto` file and no `protoc` are needed.

use tonic_build::manual::{Builder, Method, Service};

fn main() {
    let method = |name: &str, route: &str, input: &str| {
        Method::builder()
            .name(name)
            .route_name(route)
            .input_type(format!("crate::peers::grpc::{input}"))
            .output_type("crate::peers::grpc::Order")
            .codec_path("tonic_prost::ProstCodec")
            .build()
    };
    let orders = Service::builder()
        .name("Orders")
        .package("orders")
        .method(method("place_order", "PlaceOrder", "NewOrder"))
        .method(method("get_order", "GetOrder", "GetOrderRequest"))
        .build();
    Builder::new().build_transport(false).compile(&[orders]);
    println!("cargo:rerun-if-changed=build.rs");
}
