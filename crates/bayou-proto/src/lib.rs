//! bayou's gRPC API, generated from `proto/bayou/v1/*.proto` by `tonic-prost-build` and checked
//! in, so building bayou needs no `protoc`.
//!
//! Entry point: [`v1`] (`lake_server::LakeServer` for the server, `lake_client::LakeClient` for
//! clients). Trade-off: generated code in the tree is reviewed like code and must be regenerated
//! by hand (`BAYOU_REGENERATE=1 cargo test -p bayou-proto`); a test fails when it drifts.

#![allow(unreachable_pub, clippy::all)]

/// Version 1 of the API.
pub mod v1 {
    include!("gen/bayou.v1.rs");
}

/// The `Any` type URL a [`v1::QueryTicket`] travels under in an Arrow Flight ticket (the same
/// Flight service answers Flight SQL, whose tickets are `Any`s too).
pub const QUERY_TICKET_TYPE_URL: &str = "type.googleapis.com/bayou.v1.QueryTicket";
