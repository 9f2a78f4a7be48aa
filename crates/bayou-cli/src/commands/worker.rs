//! `bayou worker` (attach to a server, serve the outputs held) and `bayou worker ls`.

use anyhow::Context as _;
use indicatif::HumanBytes;
use serde::Serialize;
use serde_json::json;

use crate::cli::{OutputFormat, WorkerArgs, WorkerCommand};
use crate::output::{Exit, Listing, emit, note, out, time};

pub(crate) async fn run(
    format: OutputFormat,
    args: WorkerArgs,
    remote: Option<bayou_client::Remote>,
    ca_pem: Option<Vec<u8>>,
) -> anyhow::Result<()> {
    match args.command {
        Some(WorkerCommand::Ls) => ls(format, remote).await,
        None => serve(format, args, ca_pem).await,
    }
}

async fn serve(
    format: OutputFormat,
    args: WorkerArgs,
    ca_pem: Option<Vec<u8>>,
) -> anyhow::Result<()> {
    let server = args.server.clone().ok_or_else(|| {
        Exit::usage("name the server to attach to: --server URL (or BAYOU_WORKER_SERVER)".into())
    })?;
    let key = args.key.clone().ok_or_else(|| {
        Exit::usage(
            "give the worker's key: --key KEY (or BAYOU_WORKER_KEY)\n  hint: an admin makes one with `bayou server key create --worker NAME`".into(),
        )
    })?;
    let memory_bytes = args.memory.unwrap_or_else(bayou_worker::machine_memory);
    let cores = args.cores.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1))
    });
    super::note_if_in_clear("worker key", &server)?;
    let listen = &args.listen;
    let listener = super::listen_on(listen).await?;
    let addr = listener.local_addr()?;
    let flight_url = match &args.advertise {
        Some(url) => url.clone(),
        None if addr.ip().is_unspecified() => {
            let ip = route_to(&server).with_context(|| {
                format!("cannot tell which address peers reach this machine at\n  hint: say it with --advertise http://HOST:{}", addr.port())
            })?;
            format!("http://{}", std::net::SocketAddr::new(ip, addr.port()))
        }
        None => format!("http://{addr}"),
    };
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(crate::settings::cache_dir);
    // The nodes it is given run with this machine's uv, sandbox and warm starts.
    let mut runs = crate::settings::run_options(String::new());
    runs.cache_dir = cache_dir.clone();
    let host = bayou_runtime::TaskHost::new(runs).context("cannot run nodes on this machine")?;
    let options = bayou_worker::Options {
        server: server.clone(),
        key,
        ca_pem,
        cores,
        memory_bytes,
        cache_dir,
        flight_url: flight_url.clone(),
        max_backoff: std::time::Duration::from_secs(5),
        host: std::sync::Arc::new(host),
    };
    // The first line names the Flight endpoint (one line even in JSON), for scripts and tests.
    match format {
        OutputFormat::Json => out(&json!({"flight": flight_url, "server": server}).to_string())?,
        OutputFormat::Table => out(&format!(
            "bayou worker serving outputs on {flight_url} ({cores} cores, {}), attaching to {server}; Ctrl-C stops it",
            HumanBytes(memory_bytes)
        ))?,
    }
    let on_session = move |change: bayou_worker::session::Change| {
        let line = match (change, format) {
            (bayou_worker::session::Change::Attached { worker_id }, OutputFormat::Json) => {
                json!({"attached": worker_id}).to_string()
            }
            (bayou_worker::session::Change::Attached { worker_id }, OutputFormat::Table) => {
                format!("attached as {worker_id}")
            }
            (bayou_worker::session::Change::Lost { reason }, OutputFormat::Json) => {
                json!({"lost": reason}).to_string()
            }
            (bayou_worker::session::Change::Lost { reason }, OutputFormat::Table) => {
                let _ = note(&format!("the session ended ({reason}); attaching again"));
                return;
            }
        };
        let _ = out(&line);
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let holdings = bayou_worker::Holdings::default();
    bayou_worker::serve(options, listener, holdings, shutdown, &on_session)
        .await
        .map_err(|e| match e {
            bayou_worker::Error::Refused(why) => {
                anyhow::anyhow!("the server at {server} refused this worker: {why}")
            }
            other => other.into(),
        })
}

/// The address this machine reaches `url`'s host from: the one its peers on that network
/// reach it at. (A UDP "connect" only picks the route; nothing is sent.)
fn route_to(url: &str) -> anyhow::Result<std::net::IpAddr> {
    let endpoint = bayou_proto::endpoint(url, None).map_err(Exit::usage)?;
    let uri = endpoint.uri();
    let host = uri
        .host()
        .ok_or_else(|| Exit::usage(format!("'{url}' names no host (http://HOST:PORT)")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let target = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{host} has no address"))?;
    let any = match target {
        std::net::SocketAddr::V4(_) => "0.0.0.0:0",
        std::net::SocketAddr::V6(_) => "[::]:0",
    };
    let socket = std::net::UdpSocket::bind(any)?;
    socket.connect(target)?;
    Ok(socket.local_addr()?.ip())
}

/// A worker as `worker ls -O json` shows it.
#[derive(Debug, Serialize)]
struct Worker {
    id: String,
    name: String,
    state: String,
    flight_url: String,
    version: String,
    cores: u32,
    memory_bytes: u64,
    attached_ms: i64,
    last_seen_ms: i64,
    running_nodes: u32,
    memory_used_bytes: u64,
    shared_memory_bytes: u64,
    env_cache_bytes: u64,
    node_cache_bytes: u64,
}

impl From<bayou_client::WorkerInfo> for Worker {
    fn from(w: bayou_client::WorkerInfo) -> Self {
        let stats = w.stats.unwrap_or_default();
        Self {
            id: w.id,
            name: w.name,
            state: w.state,
            flight_url: w.flight_url,
            version: w.version,
            cores: w.cores,
            memory_bytes: w.memory_bytes,
            attached_ms: w.attached_ms,
            last_seen_ms: w.last_seen_ms,
            running_nodes: stats.running_nodes,
            memory_used_bytes: stats.memory_used_bytes,
            shared_memory_bytes: stats.shared_memory_bytes,
            env_cache_bytes: stats.env_cache_bytes,
            node_cache_bytes: stats.node_cache_bytes,
        }
    }
}

async fn ls(format: OutputFormat, remote: Option<bayou_client::Remote>) -> anyhow::Result<()> {
    let workers: Vec<Worker> = match remote {
        Some(remote) => remote
            .list_workers()
            .await?
            .into_iter()
            .map(Worker::from)
            .collect(),
        None => {
            note(
                "this lake is embedded: its nodes run in this process. Workers attach to a `bayou server` (list them with --remote URL)",
            )?;
            Vec::new()
        }
    };
    let mut listing = Listing::new(vec![
        "id",
        "state",
        "flight",
        "cores",
        "memory",
        "running",
        "in use",
        "shared mem",
        "env cache",
        "node cache",
        "last seen",
    ]);
    for w in &workers {
        listing.push(vec![
            w.id.clone(),
            w.state.clone(),
            w.flight_url.clone(),
            w.cores.to_string(),
            HumanBytes(w.memory_bytes).to_string(),
            w.running_nodes.to_string(),
            HumanBytes(w.memory_used_bytes).to_string(),
            HumanBytes(w.shared_memory_bytes).to_string(),
            HumanBytes(w.env_cache_bytes).to_string(),
            HumanBytes(w.node_cache_bytes).to_string(),
            time(w.last_seen_ms),
        ]);
    }
    emit(format, &workers, listing)
}
