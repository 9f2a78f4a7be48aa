//! `bayou server`: one lake, shared by a team, behind one port.
//!
//! Entry point: [`serve`]. gRPC (the `bayou.v1.Lake` service), Arrow Flight (bayou's query
//! tickets, and Flight SQL for ADBC/JDBC clients) and plain HTTP (`GET /healthz`) share one
//! listener through tonic's axum router, in plain TCP or TLS ([`Tls`]), with the web UI at `/`
//! calling the same gRPC services as gRPC-web. Every RPC names its caller with an API key
//! (`authorization: Bearer ...`), checked against the hashes in the catalog database; the key's
//! user is the author of what the call writes. `bayou worker`s attach over `bayou.v1.Workers`
//! with worker keys ([`workers`]). Trade-off: each call looks its key up in the
//! database (one indexed read) rather than caching it, so a revoked key stops working at once.

mod api;
mod auth;
mod dispatch;
mod flight;
mod iceberg;
mod runs;
mod session;
mod tls;
mod ui;
mod workers;
mod writes;

use std::future::Future;

use bayou_lake::Lake;

pub use api::LakeApi;
pub use tls::Tls;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("serving on {addr}: {source}")]
    Serve {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use the TLS certificate or key {0}")]
    Tls(String),
}

/// The largest gRPC message either side of the lake API may send.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// How a server serves, beyond its lake and listener.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long finished runs keep their nodes' logs.
    pub keep_logs: std::time::Duration,
    /// Serve TLS (`https://`) with this certificate; `None`: plain `http://`.
    pub tls: Option<Tls>,
    /// How often attached workers send heartbeats; three missed lose the worker.
    pub worker_heartbeat: std::time::Duration,
    /// Run Python nodes in this process while no worker is attached (else they fail, naming
    /// the missing worker).
    pub local_worker: bool,
    /// Bytes of Parquet a query must scan to run across the workers (when any is attached);
    /// `None`: every query runs here.
    pub distribute_above: Option<u64>,
}

/// Serves `lake` on `listener` until `shutdown` completes, running pipelines with the machine's
/// settings in `runs` (caches, uv, sandbox), as `options` say. On shutdown, runs going on are
/// stopped and their records closed before this returns.
pub async fn serve(
    lake: Lake,
    mut runs: bayou_runtime::RunOptions,
    options: Options,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let sweeping = sweep_crashed_runs(lake.clone());
    let registry = std::sync::Arc::new(workers::Registry::new(options.worker_heartbeat));
    // With workers attached, runs send them their Python nodes.
    let workers = dispatch::Workers::new(registry.clone(), options.local_worker);
    runs.dispatch = Some(bayou_runtime::Dispatcher(std::sync::Arc::new(workers)));
    // Queries over large scans run across the workers attached: on a lake in a file system
    // (workers read it where it lies; object stores need credentials workers do not hold yet).
    let mut queries = bayou_service::QueryCache::default();
    if let Some(min_bytes) = options.distribute_above
        && lake.storage().store_url().scheme() == "file"
    {
        queries = queries.with_distribution(bayou_service::Distribution {
            workers: registry.clone(),
            min_bytes,
        });
    }
    let auth = auth::Auth::new(lake, runs, queries);
    let active = std::sync::Arc::new(runs::Runs::new(options.keep_logs));
    // Projects, run records and code snapshots may be larger than gRPC's 4 MiB default.
    let lake_api =
        bayou_proto::v1::lake_server::LakeServer::new(LakeApi::new(auth.clone(), active.clone()))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let flight_api =
        arrow_flight::flight_service_server::FlightServiceServer::new(flight::FlightApi::new(
            auth.clone(),
            bayou_worker::OutputService::new(registry.holdings.clone()),
        ));
    // The web UI calls both as gRPC-web (HTTP/1.1 from a browser); gRPC clients are unchanged.
    use tower_layer::Layer as _;
    let web = tonic_web::GrpcWebLayer::new();
    let grpc = tonic::service::Routes::new(web.layer(lake_api))
        .add_service(web.layer(flight_api))
        .add_service(workers::WorkersApi::server(auth.clone(), registry.clone()))
        .into_axum_router();
    let app = grpc
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .nest("/iceberg", iceberg::router(auth))
        .merge(ui::router());
    // Shutting down stops the runs first: their streams end, then connections can close.
    let stopping = active.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.stop_all();
        registry.close();
    };
    // Small request/answer exchanges: without TCP_NODELAY, Nagle's algorithm and delayed ACKs
    // add ~40 ms to calls (measured by bench/remote.py).
    use axum::serve::ListenerExt as _;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let serving = async {
        match &options.tls {
            Some(tls) => {
                let listener = tls::TlsListener::new(listener, tls);
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            None => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        }
    };
    let served = tokio::select! {
        served = serving => served.map_err(|source| Error::Serve { addr, source }),
        never = sweeping => match never {},
    };
    active.wait().await;
    served
}

/// Settles runs whose process died (their lease ran out: a killed server's runs, or a
/// client's) as crashed, at start and then every lease's length, so that none stays
/// "running" for good even when nobody looks.
async fn sweep_crashed_runs(lake: Lake) -> std::convert::Infallible {
    let mut every = tokio::time::interval(bayou_runtime::lease::LEASE);
    loop {
        every.tick().await;
        // A failure (the catalog unreachable for a moment) is retried at the next tick.
        let _ = bayou_runtime::settle_crashed(&lake).await;
    }
}
