//! Python nodes of the server's runs, sent to attached workers ([`Workers`]).
//!
//! A node goes to the session holding most of its inputs' bytes (a parent's output stays on
//! the worker that made it, so a child there maps it with no copy), else to the one running
//! fewest nodes. Each input is named by who holds it: a worker's output by that worker's Flight
//! URL, anything else (a SQL model's output, a scan) is offered by the server itself for the
//! worker to fetch. A model's output is fetched back into the run's exchange, where SQL
//! children, expectations in the run, the node cache and the writes read it.
//!
//! Trade-off: every Python output comes back to the server, so the run can write it and SQL can
//! read it; children on the same worker still map the worker's own copy.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bayou_proto::v1::{NodeInput, NodeTask, ReleaseRun, ServerMessage, server_message};
use bayou_runtime::{NodeError, RemoteCall, RemoteDone};
use futures::future::BoxFuture;

use crate::workers::{Registry, Update};

/// The [`bayou_runtime::Dispatch`] of a server: its attached workers.
#[derive(Debug)]
pub(crate) struct Workers {
    registry: Arc<Registry>,
    /// Outputs fetched back from workers, by their file here: which session holds the
    /// original, under which run and name.
    made: Mutex<HashMap<PathBuf, (String, String, String)>>,
    /// Whether the server runs Python nodes itself while no worker is up.
    local_worker: bool,
}

impl Workers {
    pub(crate) fn new(registry: Arc<Registry>, local_worker: bool) -> Self {
        Self {
            registry,
            made: Mutex::new(HashMap::new()),
            local_worker,
        }
    }

    fn made(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (String, String, String)>> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session to run `call` on (not one `tried` already): the one holding most of its
    /// input bytes, else the one with fewest nodes running. `None` when no worker is up.
    fn choose(&self, call: &RemoteCall<'_>, tried: &[String]) -> Option<String> {
        let holders: Vec<(String, &std::path::Path)> = {
            let made = self.made();
            call.inputs
                .iter()
                .filter_map(|i| {
                    made.get(&i.path)
                        .map(|(s, _, _)| (s.clone(), i.path.as_path()))
                })
                .collect()
        };
        let mut held: HashMap<String, u64> = HashMap::new();
        for (session, path) in holders {
            let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
            *held.entry(session).or_default() += bytes + 1;
        }
        let live = self.registry.live();
        live.iter()
            .filter(|(id, _)| !tried.contains(id))
            .map(|(id, s)| (held.get(id).copied().unwrap_or(0), s.running.len(), id))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(a.2)))
            .map(|(_, _, id)| id.clone())
    }

    /// Each input as the worker finds it: at the worker that made it, else (or `from_server`)
    /// at the server, which holds a copy of every output.
    fn inputs(&self, call: &RemoteCall<'_>, from_server: bool) -> HashMap<String, NodeInput> {
        let made = self.made();
        let live = self.registry.live();
        let mut inputs = HashMap::new();
        for input in &call.inputs {
            let columns = input.columns.clone().unwrap_or_default();
            let made_there = made.get(&input.path).filter(|_| !from_server);
            let at_worker = made_there.and_then(|(session, run, node)| {
                let url = &live.get(session)?.flight_url;
                Some((url.clone(), run == call.run_id, node.clone()))
            });
            let (key, flight_url) = match at_worker {
                Some((url, true, node)) => (node, url),
                _ => {
                    // Named by its file, so every node reading it fetches the same one.
                    let key = held_name(&input.path);
                    self.registry.holdings.hold(call.run_id, &key, &input.path);
                    (key, String::new())
                }
            };
            let found = NodeInput {
                key,
                flight_url,
                columns,
                bytes: std::fs::metadata(&input.path).map_or(0, |m| m.len()),
            };
            inputs.insert(input.argument.clone(), found);
        }
        inputs
    }

    /// Runs `call` on a worker; when that worker is lost and the node may run again, once more
    /// on another.
    async fn run(&self, call: RemoteCall<'_>) -> Result<RemoteDone, NodeError> {
        let mut tried = Vec::new();
        let mut notes = Vec::new();
        let mut from_server = false;
        loop {
            let Some(session) = self.choose(&call, &tried) else {
                return Err(NodeError::Exchange(match tried.last() {
                    Some(id) => lost(id, call.node),
                    None => format!(
                        "no worker is up to run '{}'{}\n  hint: start one with `bayou worker --server URL --key KEY`",
                        call.node,
                        match self.local_worker {
                            true => " (the one attached when the run started went)",
                            false => " (the server runs with --no-local-worker)",
                        }
                    ),
                }));
            };
            match self.attempt(&call, &session, from_server).await {
                Ok(mut done) => {
                    notes.append(&mut done.log);
                    done.log = notes;
                    return Ok(done);
                }
                Err(Failure::Node(e)) => return Err(e),
                // An input's holder could not be reached: once more, every input from the
                // server's copies.
                Err(Failure::Fetch(why)) if !from_server => {
                    let note = format!(
                        "warning: '{}' could not fetch its inputs ({why}); running it again with them from the server",
                        call.node
                    );
                    (call.on_log)(note.clone(), true);
                    notes.push(note);
                    from_server = true;
                }
                Err(Failure::Fetch(why)) => {
                    let why = format!("'{}' could not fetch its inputs: {why}", call.node);
                    return Err(NodeError::Exchange(why));
                }
                Err(Failure::Lost) if call.retry && tried.is_empty() => {
                    let note = format!(
                        "warning: {}; running it again on another worker",
                        lost(&session, call.node).lines().next().unwrap_or_default()
                    );
                    (call.on_log)(note.clone(), true);
                    notes.push(note);
                    tried.push(session);
                }
                Err(Failure::Lost) => return Err(NodeError::Exchange(lost(&session, call.node))),
            }
        }
    }

    /// One attempt at `call` on `session`.
    async fn attempt(
        &self,
        call: &RemoteCall<'_>,
        session: &str,
        from_server: bool,
    ) -> Result<RemoteDone, Failure> {
        let task = NodeTask {
            run_id: call.run_id.to_string(),
            node: call.node.to_string(),
            code_hash: call.code_hash.clone(),
            files: call
                .files
                .iter()
                .map(|(p, t)| (p.display().to_string(), t.clone()))
                .collect(),
            inputs: self.inputs(call, from_server),
            params_json: call.params.clone().into_iter().collect(),
            secrets: call.secrets.to_vec(),
        };
        let (updates_tx, mut updates) = tokio::sync::mpsc::unbounded_channel();
        let key = (call.run_id.to_string(), call.node.to_string());
        let (orders, flight_url) = {
            let mut live = self.registry.live();
            let s = live.get_mut(session).ok_or(Failure::Lost)?;
            s.running.insert(key.clone(), updates_tx);
            (s.orders.clone(), s.flight_url.clone())
        };
        // A node given up on (its run stopped) is no longer counted against the worker.
        let _assigned = Assigned {
            registry: &self.registry,
            session,
            key,
        };
        let order = ServerMessage {
            message: Some(server_message::Message::Assign(task)),
        };
        orders.send(order).map_err(|_| Failure::Lost)?;
        let done = loop {
            match updates.recv().await {
                Some(Update::Log(l)) => (call.on_log)(l.line, l.stderr),
                Some(Update::Done(done)) => break done,
                None => return Err(Failure::Lost),
            }
        };
        if done.fetch_failed {
            return Err(Failure::Fetch(done.error));
        }
        let mut report = RemoteDone {
            worker: session.to_string(),
            error: (!done.error.is_empty()).then_some(done.error),
            passed: done.passed,
            reason: (!done.reason.is_empty()).then_some(done.reason),
            log: done.log,
            phases_ms: done.phases_ms.into_iter().collect(),
            overhead_ms: done.overhead_ms,
            moved_bytes: done.pulled_bytes,
        };
        if report.error.is_some() || report.passed.is_some() {
            return Ok(report);
        }
        // A model: its output comes back for the run's SQL, cache and writes. A worker that
        // went before it could be fetched is lost like one that went mid-node.
        let token = self.registry.exchange_token();
        let pulled =
            bayou_worker::pull(&flight_url, &token, call.run_id, call.node, &call.output).await;
        let pulled = match pulled {
            Ok(p) => p,
            Err(_) if !self.registry.live().contains_key(session) => return Err(Failure::Lost),
            Err(e) => return Err(Failure::Node(NodeError::Exchange(e.to_string()))),
        };
        report.moved_bytes += pulled.bytes;
        self.made().insert(
            call.output.clone(),
            (
                session.to_string(),
                call.run_id.to_string(),
                call.node.to_string(),
            ),
        );
        Ok(report)
    }
}

/// The name the server offers the file at `path` under: `in-` and a hash of the path.
fn held_name(path: &std::path::Path) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
    format!("in-{}", &hex::encode(digest)[..16])
}

/// Why an attempt did not give the node's outcome.
enum Failure {
    /// Its worker went (died, cut off, stopped) before the node was done.
    Lost,
    /// It could not be sent or its output not fetched.
    Node(NodeError),
    /// The worker could not fetch an input; the node never ran.
    Fetch(String),
}

fn lost(worker: &str, node: &str) -> String {
    format!(
        "worker {worker} was lost while it ran '{node}'\n  hint: see `bayou worker ls`; run again once a worker is up"
    )
}

/// A node assigned to a session, forgotten when its dispatch ends however it ends.
struct Assigned<'a> {
    registry: &'a Registry,
    session: &'a str,
    key: (String, String),
}

impl Drop for Assigned<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.registry.live().get_mut(self.session) {
            s.running.remove(&self.key);
        }
    }
}

impl bayou_runtime::Dispatch for Workers {
    fn ready(&self) -> bool {
        !self.local_worker || !self.registry.live().is_empty()
    }

    fn run_node<'a>(
        &'a self,
        call: RemoteCall<'a>,
    ) -> BoxFuture<'a, Result<RemoteDone, NodeError>> {
        Box::pin(self.run(call))
    }

    fn run_finished(&self, run_id: &str) {
        self.registry.holdings.release_run(run_id);
        self.made().retain(|_, (_, run, _)| run != run_id);
        for session in self.registry.live().values() {
            let release = ServerMessage {
                message: Some(server_message::Message::Release(ReleaseRun {
                    run_id: run_id.to_string(),
                })),
            };
            let _ = session.orders.send(release);
        }
    }
}
