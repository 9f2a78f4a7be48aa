//! Python nodes on other machines. A run given a [`Dispatcher`] (the server's workers) hands it
//! each Python node with the files of its inputs ([`RemoteCall`]) and reads back what the node
//! made ([`RemoteDone`]); SQL models, the node cache and the writes stay with the run. On a
//! worker, [`TaskHost`] runs such a node ([`Task`]) exactly as a run here would: the same
//! environment cache, sandbox, limits, warm starts and exchange.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bayou_project::{NodeKind, Project};
use futures::future::BoxFuture;
use tokio::sync::OnceCell;

use crate::exchange::{self, Exchange};
use crate::output::Output;
use crate::python::{CallInputs, Local};
use crate::{
    EnvCache, Error, Event, NodeError, NodeReport, NodeStatus, OnEvent, Result, RunOptions, assets,
    protocol, sandbox, uv, zygote,
};

/// Where a run's Python nodes go when they do not run here.
pub trait Dispatch: Send + Sync {
    /// Whether it can take nodes now (a run decides once, when it starts).
    fn ready(&self) -> bool;
    /// Runs one node elsewhere; its output (a model's) is then at [`RemoteCall::output`].
    fn run_node<'a>(&'a self, call: RemoteCall<'a>)
    -> BoxFuture<'a, Result<RemoteDone, NodeError>>;
    /// Run `run_id` is over: whatever was kept for it elsewhere can go.
    fn run_finished(&self, run_id: &str);
}

/// A [`Dispatch`] as [`RunOptions`] holds it.
#[derive(Clone)]
pub struct Dispatcher(pub Arc<dyn Dispatch>);

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dispatcher")
    }
}

/// Tells a run's dispatcher that the run is over when dropped: finished, failed or stopped.
pub(crate) struct Over<'a> {
    pub(crate) remote: Option<&'a Dispatcher>,
    pub(crate) run_id: &'a str,
}

impl Drop for Over<'_> {
    fn drop(&mut self) {
        if let Some(d) = self.remote {
            d.0.run_finished(self.run_id);
        }
    }
}

/// One Python node to run elsewhere.
pub struct RemoteCall<'a> {
    pub run_id: &'a str,
    pub node: &'a str,
    /// The project's code snapshot: its id and its files.
    pub code_hash: String,
    pub files: &'a [(PathBuf, String)],
    /// Each argument's input file here, and the columns kept of it.
    pub inputs: Vec<RemoteInput>,
    /// Each parameter argument's value as JSON.
    pub params: BTreeMap<String, String>,
    pub secrets: &'a [String],
    /// Where the node's output goes here.
    pub output: PathBuf,
    /// Whether it may run again on another worker when its worker is lost midway (it has no
    /// effect outside its output: no internet access).
    pub retry: bool,
    /// Hears each line the node prints, as it prints it.
    pub on_log: &'a (dyn Fn(String, bool) + Send + Sync),
}

/// One input of a [`RemoteCall`].
#[derive(Debug, Clone)]
pub struct RemoteInput {
    pub argument: String,
    pub path: PathBuf,
    pub columns: Option<Vec<String>>,
}

/// What a node run elsewhere did.
#[derive(Debug, Clone, Default)]
pub struct RemoteDone {
    /// Who ran it.
    pub worker: String,
    /// Why it failed (`None`: it ran).
    pub error: Option<String>,
    /// An expectation's verdict, and why it failed.
    pub passed: Option<bool>,
    pub reason: Option<String>,
    pub log: Vec<String>,
    pub phases_ms: BTreeMap<String, f64>,
    pub overhead_ms: Option<f64>,
    /// Bytes that crossed hosts for this node: its inputs and its output.
    pub moved_bytes: u64,
}

/// A Python call of a run, about to go to its [`Dispatcher`].
pub(crate) struct Remote<'a> {
    pub(crate) local: &'a Local<'a>,
    pub(crate) node: &'a bayou_project::Node,
    pub(crate) inputs: &'a CallInputs,
    pub(crate) params: &'a BTreeMap<String, serde_json::Value>,
}

impl Remote<'_> {
    pub(crate) async fn run(
        &self,
        dispatch: &Dispatcher,
        report: &mut NodeReport,
        on_event: OnEvent<'_>,
    ) -> Result<Option<Output>, NodeError> {
        let (node, local) = (self.node, self.local);
        let out_dir = local
            .exchange
            .dir(&node.name, self.inputs.bytes)
            .map_err(NodeError::exchange)?;
        let output = out_dir.join("out.arrow");
        let name = node.name.as_str();
        let on_log = move |line: String, stderr: bool| {
            on_event(Event::Log {
                node: name.to_string(),
                line,
                stderr,
            });
        };
        let call = RemoteCall {
            run_id: local.exchange.run_id(),
            node: name,
            code_hash: local.project.code_hash(),
            files: &local.project.files,
            inputs: self
                .inputs
                .inputs
                .iter()
                .map(|(argument, f)| RemoteInput {
                    argument: argument.clone(),
                    path: f.path.clone(),
                    columns: f.columns.clone(),
                })
                .collect(),
            params: self
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            secrets: &local.secrets,
            output: output.clone(),
            retry: !node.internet_access,
            on_log: &on_log,
        };
        let done = dispatch.0.run_node(call).await?;
        report.worker = Some(done.worker.clone());
        report.moved_bytes = Some(done.moved_bytes);
        report.log.extend(done.log);
        report.phases_ms = done.phases_ms;
        report.overhead_ms = done.overhead_ms;
        if let Some(error) = done.error {
            return Err(NodeError::Function(error));
        }
        if node.is_expectation() {
            report.status = match done.passed {
                Some(true) => NodeStatus::Succeeded,
                _ => {
                    report.error = done.reason;
                    NodeStatus::ExpectationFailed
                }
            };
            return Ok(None);
        }
        let (schema, batches) = exchange::map_ipc(&output).map_err(NodeError::exchange)?;
        Ok(Some(Output {
            schema,
            batches,
            file: Some(output),
        }))
    }
}

/// A node a worker was given to run.
#[derive(Debug, Clone)]
pub struct Task {
    pub run_id: String,
    pub node: String,
    pub code_hash: String,
    /// The project's files by relative path.
    pub files: Vec<(String, String)>,
    /// Each argument's input file on this machine, and the columns kept of it.
    pub inputs: BTreeMap<String, (PathBuf, Option<Vec<String>>)>,
    /// Each parameter argument's value as JSON.
    pub params: BTreeMap<String, String>,
    pub secrets: Vec<String>,
}

/// How a [`Task`] went.
#[derive(Debug)]
pub struct TaskOutcome {
    pub report: NodeReport,
    /// The model's output file (`None`: an expectation, whose verdict is in `passed`), or why
    /// the node failed.
    pub result: std::result::Result<Option<PathBuf>, String>,
    pub passed: Option<bool>,
}

/// What runs nodes on a worker: one environment cache, sandbox, runner and set of warm
/// zygotes for every run, and each run's exchange for as long as the run lasts.
pub struct TaskHost {
    options: RunOptions,
    runner: assets::Runner,
    sandbox: sandbox::Sandbox,
    zygotes: Option<zygote::Zygotes>,
    envs: OnceCell<EnvCache>,
    exchanges: Mutex<HashMap<String, Arc<Exchange>>>,
}

impl std::fmt::Debug for TaskHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskHost")
            .field("cache_dir", &self.options.cache_dir)
            .finish_non_exhaustive()
    }
}

impl TaskHost {
    /// A host with `options`' cache, sandbox, uv, warm starts and exchange directory.
    pub fn new(options: RunOptions) -> Result<Self> {
        let runner = assets::install(&options.cache_dir)?;
        let sandbox = sandbox::Sandbox::new(&options.sandbox)?;
        let zygotes = options
            .warm_starts
            .then(|| zygote::Zygotes::new(&options.cache_dir, &runner));
        Ok(Self {
            options,
            runner,
            sandbox,
            zygotes,
            envs: OnceCell::new(),
            exchanges: Mutex::new(HashMap::new()),
        })
    }

    /// Run `run_id`'s exchange on this worker, made on first use.
    fn exchange_of(&self, run_id: &str) -> Result<Arc<Exchange>> {
        let mut all = self.exchanges.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(x) = all.get(run_id) {
            return Ok(x.clone());
        }
        let made = Arc::new(Exchange::create(
            &self.options.cache_dir,
            run_id,
            self.options.exchange_dir.as_deref(),
        )?);
        all.insert(run_id.to_string(), made.clone());
        Ok(made)
    }

    /// Where an input `name` of run `run_id` fetched from another host goes.
    pub fn input_path(&self, run_id: &str, name: &str, bytes: u64) -> Result<PathBuf> {
        let dir = self
            .exchange_of(run_id)?
            .dir(&format!("in-{name}"), bytes)?;
        Ok(dir.join("in.arrow"))
    }

    /// Drops run `run_id`'s exchange and every file in it.
    pub fn release(&self, run_id: &str) {
        let gone = self
            .exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(run_id);
        drop(gone);
    }

    async fn envs(&self, on_log: &(dyn Fn(String, bool) + Sync)) -> Result<&EnvCache> {
        self.envs
            .get_or_try_init(|| async {
                let uv = uv::locate(
                    self.options.uv.as_deref(),
                    &self.options.cache_dir,
                    |message| on_log(message.to_string(), true),
                )
                .await?;
                Ok::<_, Error>(EnvCache::new(&self.options.cache_dir).with_uv(uv))
            })
            .await
    }

    /// Runs `task`, telling `on_log` each line the function prints.
    pub async fn execute(&self, task: Task, on_log: &(dyn Fn(String, bool) + Sync)) -> TaskOutcome {
        let clock = Instant::now();
        let project = match self.project(&task) {
            Ok(p) => p,
            Err(e) => return failed(NodeReport::named(&task.node), e),
        };
        let Some(node) = project.nodes.iter().find(|n| n.name == task.node) else {
            let why = format!("the project has no node '{}'", task.node);
            return failed(NodeReport::named(&task.node), why);
        };
        let mut report = NodeReport::new(node);
        let function = match &node.kind {
            NodeKind::Python { function } | NodeKind::Expectation { function } => function,
            NodeKind::Sql { .. } => {
                let why = format!("'{}' is a SQL model: it runs with its run", node.name);
                return failed(report, why);
            }
        };
        let python = match self.envs(on_log).await {
            Ok(envs) => envs.python(&project.python_spec(node), &node.name).await,
            Err(e) => Err(e),
        };
        let python = match python {
            Ok(env) => env.python,
            Err(e) => return failed(report, e),
        };
        let exchange = match self.exchange_of(&task.run_id) {
            Ok(x) => x,
            Err(e) => return failed(report, e),
        };
        let inputs = call_inputs(&task);
        let params = match call_params(&task) {
            Ok(p) => p,
            Err(why) => return failed(report, why),
        };
        let local = Local {
            runner: &self.runner,
            sandbox: &self.sandbox,
            zygotes: self.zygotes.as_ref(),
            exchange: &exchange,
            project: &project,
            secrets: task.secrets.clone(),
        };
        let on_event = |event: Event| match event {
            Event::Log { line, stderr, .. } => on_log(line, stderr),
            Event::Warning { message } => on_log(format!("warning: {message}"), true),
            _ => {}
        };
        let ran = crate::python::run_here(
            &local,
            node,
            function,
            &python,
            &inputs,
            &params,
            clock,
            &mut report,
            &on_event,
        )
        .await;
        report.seconds = clock.elapsed().as_secs_f64();
        match ran {
            Ok(output) => {
                let passed = node
                    .is_expectation()
                    .then_some(report.status == NodeStatus::Succeeded);
                TaskOutcome {
                    result: Ok(output.and_then(|o| o.file)),
                    passed,
                    report,
                }
            }
            Err(e) => failed(report, e),
        }
    }

    /// The task's project, from its code snapshot (written once per snapshot on this worker).
    fn project(&self, task: &Task) -> Result<Project> {
        let plain =
            !task.code_hash.is_empty() && task.code_hash.chars().all(|c| c.is_ascii_hexdigit());
        if !plain {
            return Err(Error::Usage(format!(
                "'{}' is no code snapshot id",
                task.code_hash
            )));
        }
        let dir = self.options.cache_dir.join("code").join(&task.code_hash);
        if !dir.is_dir() {
            self.store_code(task, &dir)?;
        }
        let (project, _) = Project::load(&dir).map_err(|d| Error::Usage(d.to_string()))?;
        Ok(project)
    }
}

impl TaskHost {
    /// Writes the task's code snapshot aside, checks it is what its id says, then puts it at
    /// `dir`: a snapshot that is not never lands in the cache.
    fn store_code(&self, task: &Task, dir: &Path) -> Result<()> {
        let partial = self.options.cache_dir.join("code").join(format!(
            ".{}-{}",
            task.code_hash,
            uuid::Uuid::new_v4().simple()
        ));
        let checked = write_code(&partial, &task.files).and_then(|()| {
            let (project, _) = Project::load(&partial).map_err(|d| Error::Usage(d.to_string()))?;
            match project.code_hash() == task.code_hash {
                true => Ok(()),
                false => Err(Error::Usage(format!(
                    "the code snapshot {} does not hash to its id",
                    task.code_hash
                ))),
            }
        });
        if let Err(e) = checked {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
        if let Err(e) = std::fs::rename(&partial, dir) {
            let _ = std::fs::remove_dir_all(&partial);
            if !dir.is_dir() {
                return Err(Error::io(dir, e));
            }
        }
        Ok(())
    }
}

/// The task's inputs as a call takes them.
fn call_inputs(task: &Task) -> CallInputs {
    let mut inputs = CallInputs {
        inputs: BTreeMap::new(),
        files: Vec::new(),
        bytes: 0,
    };
    for (argument, (path, columns)) in &task.inputs {
        inputs.bytes += std::fs::metadata(path).map_or(0, |m| m.len());
        inputs.files.push(path.clone());
        let file = protocol::InputFile {
            path: path.clone(),
            columns: columns.clone(),
        };
        inputs.inputs.insert(argument.clone(), file);
    }
    inputs
}

/// The task's parameter values; one that is no JSON fails the task, naming it.
fn call_params(task: &Task) -> Result<BTreeMap<String, serde_json::Value>, String> {
    task.params
        .iter()
        .map(|(name, json)| {
            serde_json::from_str(json)
                .map(|v| (name.clone(), v))
                .map_err(|e| format!("parameter '{name}' is no JSON: {e}"))
        })
        .collect()
}

fn failed(report: NodeReport, why: impl std::fmt::Display) -> TaskOutcome {
    TaskOutcome {
        report,
        result: Err(why.to_string()),
        passed: None,
    }
}

/// Writes a code snapshot's files under `dir`. Paths come from another process or from
/// storage: only plain relative paths, which stay inside `dir`, are written.
pub fn write_code(dir: &Path, files: &[(String, String)]) -> Result<()> {
    for (path, text) in files {
        let relative = Path::new(path);
        let plain = relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if path.is_empty() || !plain {
            return Err(Error::Usage(format!(
                "'{path}' is no project file path: files must stay inside the project"
            )));
        }
        let target = dir.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::Usage(format!("cannot write {path}: {e}")))?;
        }
        std::fs::write(&target, text)
            .map_err(|e| Error::Usage(format!("cannot write {path}: {e}")))?;
    }
    Ok(())
}
