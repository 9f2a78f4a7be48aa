//! The worker registry: `bayou worker`s attached over `Workers.Attach`, what their heartbeats
//! say, and losing the ones that go quiet.
//!
//! Each session is driven by its own response stream: the stream sends the welcome, then reads
//! the worker's messages, answering each heartbeat, until they stop, the stream breaks or three
//! heartbeats are missed; whichever way it ends (even when the connection is dropped under it),
//! the worker is marked lost. A worker that comes back is a new session with a new id.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bayou_proto::v1::workers_server::{Workers, WorkersServer};
use bayou_proto::v1::{
    ListWorkersRequest, ListWorkersResponse, NodeDone, NodeLog, ServerMessage, Welcome,
    WorkerHello, WorkerInfo, WorkerMessage, server_message, worker_message,
};
use tonic::{Request, Response, Status, Streaming};

use crate::auth::Auth;

/// Lost workers kept in the listing (the most recent ones).
const KEEP_LOST: usize = 32;
/// Missed heartbeats after which a worker is lost.
const MISSED: u32 = 3;
/// The shortest heartbeat interval a server asks for.
pub(crate) const MIN_HEARTBEAT: Duration = Duration::from_millis(100);
/// Heartbeats between checks that a worker's key was not revoked.
pub(crate) const RECHECK_EVERY: u32 = 5;

/// The workers this server knows, by session id.
#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) heartbeat: Duration,
    /// What workers present to each other's Flight endpoints; replaced when a worker's key is
    /// revoked, and sent to every live session.
    pub(crate) exchange_token: tokio::sync::watch::Sender<String>,
    workers: Mutex<BTreeMap<String, WorkerInfo>>,
    /// Set when the server shuts down: every session ends, so connections can close.
    pub(crate) closing: tokio::sync::watch::Sender<bool>,
    /// The sessions up now: where their orders go, and the nodes they run.
    live: Mutex<HashMap<String, Live>>,
    /// What the server itself offers workers (inputs of the nodes it assigns), under the
    /// current exchange token.
    pub(crate) holdings: bayou_worker::Holdings,
}

/// A session that is up.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) orders: tokio::sync::mpsc::UnboundedSender<ServerMessage>,
    pub(crate) flight_url: String,
    /// Each node assigned to it and not yet done, and where its updates go.
    pub(crate) running: HashMap<(String, String), tokio::sync::mpsc::UnboundedSender<Update>>,
}

/// What a worker says of a node it was assigned.
#[derive(Debug)]
pub(crate) enum Update {
    Log(NodeLog),
    Done(NodeDone),
}

/// A new exchange token: 244 random bits.
fn new_token() -> String {
    let random = || uuid::Uuid::new_v4().simple().to_string();
    format!("{}{}", random(), random())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Registry {
    pub(crate) fn new(heartbeat: Duration) -> Self {
        let token = new_token();
        let holdings = bayou_worker::Holdings::default();
        holdings.set_token(Some(token.clone()));
        Self {
            heartbeat: heartbeat.max(MIN_HEARTBEAT),
            exchange_token: tokio::sync::watch::Sender::new(token),
            workers: Mutex::new(BTreeMap::new()),
            closing: tokio::sync::watch::Sender::new(false),
            live: Mutex::new(HashMap::new()),
            holdings,
        }
    }

    /// Replaces the exchange token; every live session is sent the new one.
    pub(crate) fn rotate_token(&self) {
        let token = new_token();
        self.holdings.set_token(Some(token.clone()));
        self.exchange_token.send_replace(token);
    }

    /// The exchange token now.
    pub(crate) fn exchange_token(&self) -> String {
        self.exchange_token.borrow().clone()
    }

    pub(crate) fn live(&self) -> MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands a worker's update to the node it is about.
    pub(crate) fn update(&self, id: &str, update: Update) {
        let (run_id, node) = match &update {
            Update::Log(l) => (&l.run_id, &l.node),
            Update::Done(d) => (&d.run_id, &d.node),
        };
        let key = (run_id.clone(), node.clone());
        let mut live = self.live();
        let Some(session) = live.get_mut(id) else {
            return;
        };
        if matches!(update, Update::Done(_)) {
            if let Some(to) = session.running.remove(&key) {
                let _ = to.send(update);
            }
        } else if let Some(to) = session.running.get(&key) {
            let _ = to.send(update);
        }
    }

    /// Ends every session (the server is shutting down; workers attach again to its successor).
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, WorkerInfo>> {
        self.workers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn attach(
        &self,
        name: &str,
        hello: WorkerHello,
        orders: tokio::sync::mpsc::UnboundedSender<ServerMessage>,
    ) -> String {
        let mut workers = self.lock();
        let id = loop {
            let id = format!(
                "{name}-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            );
            if !workers.contains_key(&id) {
                break id;
            }
        };
        let now = now_ms();
        let live = Live {
            orders,
            flight_url: hello.flight_url.clone(),
            running: HashMap::new(),
        };
        self.live().insert(id.clone(), live);
        let info = WorkerInfo {
            id: id.clone(),
            name: name.to_string(),
            state: "up".into(),
            flight_url: hello.flight_url,
            cores: hello.cores,
            memory_bytes: hello.memory_bytes,
            version: hello.version,
            attached_ms: now,
            last_seen_ms: now,
            stats: None,
        };
        workers.insert(id.clone(), info);
        id
    }

    pub(crate) fn beat(&self, id: &str, stats: bayou_proto::v1::WorkerStats) {
        if let Some(w) = self.lock().get_mut(id) {
            w.last_seen_ms = now_ms();
            w.stats = Some(stats);
        }
    }

    /// Marks session `id` lost, keeping the latest [`KEEP_LOST`] lost ones listed.
    fn lose(&self, id: &str) {
        // Its nodes hear that it is gone (their update channels close).
        self.live().remove(id);
        let mut workers = self.lock();
        if let Some(w) = workers.get_mut(id) {
            w.state = "lost".into();
        }
        let mut lost: Vec<(i64, String)> = workers
            .values()
            .filter(|w| w.state == "lost")
            .map(|w| (w.last_seen_ms, w.id.clone()))
            .collect();
        if lost.len() > KEEP_LOST {
            lost.sort();
            for (_, old) in &lost[..lost.len() - KEEP_LOST] {
                workers.remove(old);
            }
        }
    }

    /// Workers up first, then by when they attached.
    pub(crate) fn list(&self) -> Vec<WorkerInfo> {
        let mut all: Vec<WorkerInfo> = self.lock().values().cloned().collect();
        all.sort_by_key(|w| (w.state != "up", w.attached_ms, w.id.clone()));
        all
    }
}

/// Where distributed queries go: the workers up now (each serves its query tasks beside its
/// Flight endpoint).
impl bayou_service::QueryWorkers for Registry {
    fn urls(&self) -> Vec<url::Url> {
        self.live()
            .values()
            .filter_map(|s| url::Url::parse(&s.flight_url).ok())
            .collect()
    }

    fn token(&self) -> String {
        self.exchange_token()
    }
}

/// Marks its session lost when dropped: however the session's stream ends.
pub(crate) struct Session {
    pub(crate) registry: Arc<Registry>,
    pub(crate) id: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.registry.lose(&self.id);
    }
}

/// The `bayou.v1.Workers` service.
#[derive(Debug, Clone)]
pub(crate) struct WorkersApi {
    auth: Auth,
    registry: Arc<Registry>,
}

impl WorkersApi {
    pub(crate) fn server(auth: Auth, registry: Arc<Registry>) -> WorkersServer<Self> {
        // A node's order carries its project's files, which may exceed gRPC's 4 MiB default.
        WorkersServer::new(Self { auth, registry })
            .max_decoding_message_size(crate::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(crate::MAX_MESSAGE_BYTES)
    }

    /// The worker's hello: its first message, within the time of a few heartbeats.
    async fn hello(&self, inbound: &mut Streaming<WorkerMessage>) -> Result<WorkerHello, Status> {
        let first = tokio::time::timeout(self.registry.heartbeat * MISSED, inbound.message())
            .await
            .map_err(|_| Status::deadline_exceeded("the worker said nothing after attaching"))??;
        let Some(WorkerMessage {
            message: Some(worker_message::Message::Hello(hello)),
        }) = first
        else {
            return Err(Status::invalid_argument(
                "a worker's first message is its hello",
            ));
        };
        let ours = bayou_worker::version();
        if hello.version != ours {
            return Err(Status::failed_precondition(format!(
                "this worker runs bayou {}, the server {ours}\n  hint: run the same bayou release on the server and its workers",
                hello.version
            )));
        }
        Ok(hello)
    }
}

use crate::session::AttachStream;

#[tonic::async_trait]
impl Workers for WorkersApi {
    type AttachStream = AttachStream;

    async fn attach(
        &self,
        request: Request<Streaming<WorkerMessage>>,
    ) -> Result<Response<AttachStream>, Status> {
        let key = self.auth.worker(request.metadata()).await?;
        let token = request
            .metadata()
            .get("authorization")
            .map(|h| crate::auth::bearer(h).to_string())
            .unwrap_or_default();
        let mut inbound = request.into_inner();
        let hello = self.hello(&mut inbound).await?;
        let registry = self.registry.clone();
        // Orders, acks and tokens for the worker: unbounded, so neither a node's dispatch nor
        // a heartbeat's answer ever waits on the stream.
        let (out, out_rx) = tokio::sync::mpsc::unbounded_channel();
        let session = Session {
            id: registry.attach(&key.user, hello, out.clone()),
            registry: registry.clone(),
        };
        // The token welcomed with counts as sent: only later ones go down the stream.
        let tokens = registry.exchange_token.subscribe();
        let exchange_token = tokens.borrow().clone();
        let welcome = ServerMessage {
            message: Some(server_message::Message::Welcome(Welcome {
                worker_id: session.id.clone(),
                heartbeat_ms: u32::try_from(registry.heartbeat.as_millis()).unwrap_or(u32::MAX),
                exchange_token,
            })),
        };
        let reading = crate::session::Reading {
            inbound,
            session,
            quiet: registry.heartbeat * MISSED,
            auth: self.auth.clone(),
            token,
            out,
        };
        let stream = crate::session::stream(welcome, reading, out_rx, tokens, &registry);
        Ok(Response::new(stream))
    }

    async fn list_workers(
        &self,
        request: Request<ListWorkersRequest>,
    ) -> Result<Response<ListWorkersResponse>, Status> {
        self.auth.caller(request.metadata()).await?;
        Ok(Response::new(ListWorkersResponse {
            workers: self.registry.list(),
        }))
    }
}
