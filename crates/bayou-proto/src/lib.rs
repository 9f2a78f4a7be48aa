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

/// An endpoint for a `bayou server` at `url` (`http://host:port`, or `https://` checked against
/// the system's CAs and `ca_pem`), for every client of its API (the CLI, workers); the error is
/// the message to show.
pub fn endpoint(url: &str, ca_pem: Option<&[u8]>) -> Result<tonic::transport::Endpoint, String> {
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
    let mut endpoint = Endpoint::from_shared(url.to_string()).map_err(|e| {
        format!(
            "'{url}' is not a server URL: {e}\n  hint: give it as http://HOST:PORT or https://HOST:PORT"
        )
    })?;
    if url.starts_with("https://") {
        let mut tls = ClientTlsConfig::new().with_native_roots();
        if let Some(pem) = ca_pem {
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| format!("cannot use TLS for {url}: {e}"))?;
    }
    Ok(endpoint)
}

/// The `Any` type URL a [`v1::QueryTicket`] travels under in an Arrow Flight ticket (the same
/// Flight service answers Flight SQL, whose tickets are `Any`s too).
pub const QUERY_TICKET_TYPE_URL: &str = "type.googleapis.com/bayou.v1.QueryTicket";

/// The `Any` type URL a [`v1::OutputTicket`] travels under: workers and the server answer it on
/// their Flight endpoints, beside the server's Flight SQL and query tickets.
pub const OUTPUT_TICKET_TYPE_URL: &str = "type.googleapis.com/bayou.v1.OutputTicket";
