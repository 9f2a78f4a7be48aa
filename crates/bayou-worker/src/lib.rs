//! `bayou worker`: the data plane's process, next to the data.
//!
//! Entry point: [`serve`]. A worker attaches to a `bayou server` with a worker key over one
//! bidirectional gRPC stream (`bayou.v1.Workers/Attach`, [`session`]): it says what it offers
//! (cores, memory, where its Flight endpoint is), then sends its [`stats`] as heartbeats; when
//! the stream breaks it attaches again, backing off, as a new session. The server sends it
//! Python nodes to run down the same stream (`tasks`): it fetches their inputs from whoever
//! holds them with [`pull`] (streaming the batches into a local Arrow IPC file as they
//! arrive), runs them with the runtime's `TaskHost`, and serves the outputs it holds over
//! Arrow Flight ([`outputs`]).
//!
//! Trade-off: outputs cross as the Arrow messages they are in the exchange file, relayed
//! without decoding on either side (only each header is checked), so moving a table costs
//! about what raw IPC over TCP does (`bench/flight.sh`); a batch's buffers are validated when a
//! reader maps the file, not on arrival. Schemas with dictionaries are decoded and encoded
//! again, since the footer must carry the sender's dictionary ids.

mod ipc_file;
pub mod outputs;
mod pull;
mod queries;
pub mod session;
mod stats;
mod tasks;

use std::path::PathBuf;
use std::time::Duration;

pub use outputs::{Holdings, OutputService};
pub use pull::{Pulled, pull};
pub use stats::{Stats, machine_memory};

/// What can go wrong in a worker.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Talking to the server or a peer failed; `what` says which and what to do.
    #[error("{what}: {source}")]
    Rpc {
        what: String,
        #[source]
        source: Box<tonic::Status>,
    },
    /// The server refused the worker for good (a wrong key, another version): retrying cannot
    /// help.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Connect(String),
    #[error(transparent)]
    Runtime(#[from] bayou_runtime::Error),
    #[error("{0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{0}")]
    Flight(#[from] arrow_flight::error::FlightError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// What a worker and its server must agree on: the release and the Python runner it ships.
pub fn version() -> String {
    format!(
        "{}+{}",
        env!("CARGO_PKG_VERSION"),
        bayou_runtime::runner_version()
    )
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The control plane, `http://host:port` or `https://`.
    pub server: String,
    /// The worker key (`bayou server key create --worker NAME`).
    pub key: String,
    /// A CA certificate (PEM) to trust for an `https://` server beyond the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// Cores offered to nodes.
    pub cores: u32,
    /// Memory offered to nodes, in bytes.
    pub memory_bytes: u64,
    /// Environments, node outputs and exchange files.
    pub cache_dir: PathBuf,
    /// The URL peers reach this worker's Flight endpoint at (its listener's address when the
    /// worker was not told another).
    pub flight_url: String,
    /// How long to wait between attempts to attach, at most.
    pub max_backoff: Duration,
    /// What runs the nodes the server assigns (environments, sandbox, exchange).
    pub host: std::sync::Arc<bayou_runtime::TaskHost>,
}

/// HTTP/2 flow-control windows for moving tables: with the default 64 KiB, a sender waits for
/// the receiver's window update every 64 KiB, which caps a stream at 64 KiB per round trip.
const STREAM_WINDOW: u32 = 16 << 20;
const CONNECTION_WINDOW: u32 = 32 << 20;
/// The largest HTTP/2 frame either side accepts: fewer frames per batch.
const MAX_FRAME: u32 = 1 << 20;

/// A tonic server set up to stream tables (the worker's Flight endpoint).
pub fn flight_server() -> tonic::transport::Server {
    tonic::transport::Server::builder()
        .initial_stream_window_size(Some(STREAM_WINDOW))
        .initial_connection_window_size(Some(CONNECTION_WINDOW))
        .max_frame_size(Some(MAX_FRAME))
        .tcp_nodelay(true)
}

/// Runs a worker: serves `holdings` over Flight on `listener` and keeps a session with the
/// server until `shutdown` completes or the server refuses it for good. `on_session` hears of
/// each session (its welcome, or why it ended) as it happens.
pub async fn serve(
    options: Options,
    listener: tokio::net::TcpListener,
    holdings: Holdings,
    shutdown: impl std::future::Future<Output = ()> + Send,
    on_session: &(dyn Fn(session::Change) + Sync),
) -> Result<()> {
    let service = OutputService::new(holdings.clone());
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    // The same endpoint runs the tasks of the server's distributed queries, for callers with
    // the exchange token only; the tasks it starts call its peers with that token too.
    let queries = tonic::service::interceptor::InterceptedService::new(
        queries::worker().into_worker_server(),
        queries::check(holdings.clone()),
    );
    let flight = flight_server()
        .add_service(service.into_server())
        .add_service(queries)
        .serve_with_incoming(incoming);
    let attached = session::attach_forever(&options, &holdings, on_session);
    tokio::select! {
        served = flight => served.map_err(|e| Error::Connect(format!("serving Flight: {e}"))),
        attached = attached => attached,
        () = shutdown => Ok(()),
    }
}
