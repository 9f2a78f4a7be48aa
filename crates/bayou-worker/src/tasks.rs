//! The nodes a session is given ([`NodeTask`]): each input fetched from whoever holds it (or
//! mapped where it lies, when this worker holds it), the function run by the runtime's
//! [`TaskHost`], its lines sent up as it prints them, its output held for peers and the server.
//!
//! Tasks live as long as their session: when the session ends, every task of it is dropped
//! (its process killed), so a worker that comes back holds no stale work.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bayou_proto::v1::{NodeDone, NodeLog, NodeTask, WorkerMessage, worker_message};
use bayou_runtime::{Task, TaskHost};
use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::stream::FuturesUnordered;
use futures::{FutureExt as _, StreamExt as _};
use tokio::sync::OnceCell;

use crate::{Holdings, Options};

/// Inputs fetched for a run, by (run, name): each fetched once, its file and its bytes.
type Fetched = Arc<Mutex<HashMap<(String, String), Arc<OnceCell<(PathBuf, u64)>>>>>;

/// What every task of a worker shares: the runtime, the outputs held, and the inputs fetched
/// for each run (fetched once however many of its nodes read them).
#[derive(Debug, Clone)]
pub(crate) struct Tasks {
    host: Arc<TaskHost>,
    holdings: Holdings,
    /// The worker's own Flight URL: an input held there is mapped, not fetched.
    own_url: String,
    server: String,
    ca_pem: Option<Vec<u8>>,
    fetched: Fetched,
    /// The runs this session was given nodes of.
    runs: Arc<Mutex<std::collections::BTreeSet<String>>>,
}

/// The nodes a session runs, each stopped when the server releases its run; every run the
/// session saw is released when it is dropped.
pub(crate) struct Running {
    tasks: Tasks,
    nodes: FuturesUnordered<Abortable<BoxFuture<'static, (String, u64)>>>,
    by_run: HashMap<String, Vec<(u64, AbortHandle)>>,
    assigned: u64,
    _released: Releaser,
}

impl Running {
    pub(crate) fn new(tasks: Tasks) -> Self {
        Self {
            _released: tasks.releaser(),
            tasks,
            nodes: FuturesUnordered::new(),
            by_run: HashMap::new(),
            assigned: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Starts `task`; its lines and its end go to `tx`.
    pub(crate) fn assign(&mut self, task: NodeTask, tx: tokio::sync::mpsc::Sender<WorkerMessage>) {
        self.tasks.saw(&task.run_id);
        let (abort, registration) = AbortHandle::new_pair();
        self.assigned += 1;
        let (run, seq) = (task.run_id.clone(), self.assigned);
        self.by_run
            .entry(run.clone())
            .or_default()
            .push((seq, abort));
        let tasks = self.tasks.clone();
        let node = async move {
            tasks.run(task, tx).await;
            (run, seq)
        };
        self.nodes.push(Abortable::new(node.boxed(), registration));
    }

    /// Stops run `run_id`'s nodes and drops what the worker holds of it.
    pub(crate) fn release(&mut self, run_id: &str) {
        for (_, node) in self.by_run.remove(run_id).unwrap_or_default() {
            node.abort();
        }
        self.tasks.release(run_id);
    }

    /// Waits until a node ends; never, while none runs.
    pub(crate) async fn next_ended(&mut self) {
        match self.nodes.next().await {
            Some(Ok((run, seq))) => {
                if let Some(nodes) = self.by_run.get_mut(&run) {
                    nodes.retain(|(n, _)| *n != seq);
                    if nodes.is_empty() {
                        self.by_run.remove(&run);
                    }
                }
            }
            Some(Err(_aborted)) => {}
            None => std::future::pending().await,
        }
    }
}

/// Releases every run a session saw when dropped (the session ended).
pub(crate) struct Releaser(Tasks);

impl Drop for Releaser {
    fn drop(&mut self) {
        let runs = std::mem::take(&mut *self.0.runs.lock().unwrap_or_else(|e| e.into_inner()));
        for run in runs {
            self.0.release(&run);
        }
    }
}

impl Tasks {
    pub(crate) fn new(options: &Options, holdings: &Holdings) -> Self {
        Self {
            host: options.host.clone(),
            holdings: holdings.clone(),
            own_url: options.flight_url.clone(),
            server: options.server.clone(),
            ca_pem: options.ca_pem.clone(),
            fetched: Arc::default(),
            runs: Arc::default(),
        }
    }

    /// What releases the session's runs when it is dropped.
    pub(crate) fn releaser(&self) -> Releaser {
        Releaser(self.clone())
    }

    /// Notes that the session was given a node of run `run_id`.
    pub(crate) fn saw(&self, run_id: &str) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.insert(run_id.to_string());
    }

    /// Drops what the worker holds of run `run_id`: its outputs, fetched inputs and files.
    pub(crate) fn release(&self, run_id: &str) {
        self.runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(run_id);
        self.holdings.release_run(run_id);
        self.fetched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(run, _), _| run != run_id);
        self.host.release(run_id);
    }

    /// Runs `task`, sending its lines and then its [`NodeDone`] on `tx`.
    pub(crate) async fn run(&self, task: NodeTask, tx: tokio::sync::mpsc::Sender<WorkerMessage>) {
        let (run_id, node) = (task.run_id.clone(), task.node.clone());
        let log_tx = tx.clone();
        let on_log = |line: String, stderr: bool| {
            // A session whose stream is full drops lines rather than stall the function; the
            // report keeps the last ones.
            let _ = log_tx.try_send(WorkerMessage {
                message: Some(worker_message::Message::Log(NodeLog {
                    run_id: run_id.clone(),
                    node: node.clone(),
                    line,
                    stderr,
                })),
            });
        };
        let checked = plain_names(&task);
        let done = match checked {
            Err(why) => NodeDone {
                run_id: run_id.clone(),
                node: node.clone(),
                error: why,
                ..Default::default()
            },
            Ok(()) => self.fetch_and_run(task, &on_log).await,
        };
        let _ = tx
            .send(WorkerMessage {
                message: Some(worker_message::Message::Done(done)),
            })
            .await;
    }

    async fn fetch_and_run(
        &self,
        task: NodeTask,
        on_log: &(dyn Fn(String, bool) + Sync),
    ) -> NodeDone {
        let (run_id, node) = (task.run_id.clone(), task.node.clone());
        match self.inputs(&task).await {
            Ok((inputs, pulled_bytes)) => {
                let mut done = self.execute(task, inputs, on_log).await;
                done.pulled_bytes = pulled_bytes;
                done
            }
            Err(why) => NodeDone {
                run_id,
                node,
                error: why,
                fetch_failed: true,
                ..Default::default()
            },
        }
    }

    async fn execute(
        &self,
        task: NodeTask,
        inputs: BTreeMap<String, (PathBuf, Option<Vec<String>>)>,
        on_log: &(dyn Fn(String, bool) + Sync),
    ) -> NodeDone {
        let (run_id, node) = (task.run_id.clone(), task.node.clone());
        let task = Task {
            run_id: task.run_id,
            node: task.node,
            code_hash: task.code_hash,
            files: task.files.into_iter().collect(),
            inputs,
            params: task.params_json.into_iter().collect(),
            secrets: task.secrets,
        };
        let outcome = self.host.execute(task, on_log).await;
        let report = outcome.report;
        let error = match outcome.result {
            Ok(Some(file)) => {
                self.holdings.hold(&run_id, &node, &file);
                String::new()
            }
            Ok(None) => String::new(),
            Err(why) => why,
        };
        NodeDone {
            run_id,
            node,
            error,
            passed: outcome.passed,
            reason: report.error.unwrap_or_default(),
            log: report.log,
            phases_ms: report.phases_ms.into_iter().collect(),
            overhead_ms: report.overhead_ms,
            pulled_bytes: 0,
            fetch_failed: false,
        }
    }

    /// Each input's file here: mapped where this worker holds it, else fetched from its
    /// holder (once per run). Returns the files and the bytes fetched for this task.
    async fn inputs(
        &self,
        task: &NodeTask,
    ) -> Result<(BTreeMap<String, (PathBuf, Option<Vec<String>>)>, u64), String> {
        let mut files = BTreeMap::new();
        let mut pulled = 0;
        for (argument, input) in &task.inputs {
            let columns = (!input.columns.is_empty()).then(|| input.columns.clone());
            let here = input.flight_url == self.own_url;
            if let (true, Some(file)) = (here, self.holdings.file(&task.run_id, &input.key)) {
                files.insert(argument.clone(), (file, columns));
                continue;
            }
            let cell = {
                let mut fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
                let key = (task.run_id.clone(), input.key.clone());
                fetched.entry(key).or_default().clone()
            };
            let mut fresh = 0;
            let (file, _) = cell
                .get_or_try_init(|| async {
                    let got = self.fetch(&task.run_id, input).await?;
                    fresh = got.1;
                    Ok::<_, String>(got)
                })
                .await?
                .clone();
            pulled += fresh;
            files.insert(argument.clone(), (file, columns));
        }
        Ok((files, pulled))
    }

    async fn fetch(
        &self,
        run_id: &str,
        input: &bayou_proto::v1::NodeInput,
    ) -> Result<(PathBuf, u64), String> {
        let (url, ca) = match input.flight_url.as_str() {
            "" => (self.server.as_str(), self.ca_pem.as_deref()),
            peer => (peer, None),
        };
        let dest = self
            .host
            .input_path(run_id, &input.key, input.bytes)
            .map_err(|e| e.to_string())?;
        let token = self.holdings.token().ok_or("the session has ended")?;
        let pulled = crate::pull::pull_with(url, ca, &token, run_id, &input.key, &dest)
            .await
            .map_err(|e| e.to_string())?;
        Ok((dest, pulled.bytes))
    }
}

/// Refuses a task whose names would not stay plain file names here: its run id, its node and
/// its inputs' keys all become parts of paths in the worker's exchange.
fn plain_names(task: &NodeTask) -> Result<(), String> {
    let plain = |name: &str| {
        !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let keys = task.inputs.values().map(|i| i.key.as_str());
    let names = [task.run_id.as_str(), task.node.as_str()]
        .into_iter()
        .chain(keys);
    for name in names {
        if !plain(name) {
            return Err(format!(
                "the task names '{name}', which is no plain name: refused"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_leave_the_exchange_are_refused() {
        let mut task = NodeTask {
            run_id: "20261204-abc123".into(),
            node: "trips".into(),
            ..Default::default()
        };
        assert!(plain_names(&task).is_ok());
        for bad in ["../../etc", "/abs", ".hidden", "a/b", ""] {
            task.run_id = bad.into();
            assert!(plain_names(&task).is_err(), "{bad}");
        }
        task.run_id = "r1".into();
        let input = bayou_proto::v1::NodeInput {
            key: "x/../../y".into(),
            ..Default::default()
        };
        task.inputs.insert("d".into(), input);
        assert!(plain_names(&task).is_err());
    }
}
