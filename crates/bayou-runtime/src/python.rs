//! One Python function invocation: inputs as mapped Arrow IPC files, a fresh sandboxed process in
//! the function's environment, the output mapped back.
//!
//! Inputs are shared, never copied per child: a model's output is one file every child maps
//! (columns are selected inside the function, which costs nothing), and identical scans of a lake
//! table within a run are made once ([`ScanFiles`]). Only an input with its own filter is a new
//! table of its own.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bayou_project::{Input, Node, ParamValue, Project};
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use tokio::io::AsyncBufReadExt;
use tokio::sync::OnceCell;

use crate::exchange::{self, Exchange};
use crate::output::Output;
use crate::protocol;
use crate::{Event, NodeError, NodeReport, NodeStatus, OnEvent, assets, limits, sandbox, zygote};

/// The phases of an invocation as reported in [`NodeReport::phases_ms`], in order. `prepare` is
/// bayou making the inputs available (a scan, when an input is a lake table); `start` is the
/// sandbox, the cgroup and the interpreter; `import` the runner importing pyarrow; `user_load`
/// the user's module being imported; `map_inputs` mapping the inputs; `user_call` the function;
/// `write_output` writing its table; `exit` the process ending; `read_back` bayou mapping it.
pub const PHASES: &[&str] = &[
    "prepare",
    "start",
    "import",
    "user_load",
    "map_inputs",
    "user_call",
    "write_output",
    "exit",
    "read_back",
];

/// Phases that are not the platform's overhead: the user's code, and reading lake data (which
/// any engine does; a model's output needs no preparing).
const NOT_OVERHEAD: &[&str] = &["prepare", "user_load", "user_call"];

/// Scans of lake tables handed to Python functions in this run, one file per distinct scan
/// (table, reference, columns, filter), shared by every function that asks for it.
#[derive(Default)]
pub(crate) struct ScanFiles {
    files: Mutex<HashMap<String, Arc<OnceCell<PathBuf>>>>,
}

impl ScanFiles {
    async fn get(&self, inv: &Invocation<'_>, input: &Input) -> Result<PathBuf, NodeError> {
        let (ctx, engine, refs, exchange, params) = (
            inv.ctx,
            inv.engine,
            inv.refs,
            inv.exchange,
            inv.param_values,
        );
        // A lake table by its resolved name; else a model of the project whose table stands
        // in for its output (not selected, or reused), registered in the session by its name.
        let table = match inv.sources.key(input) {
            Some(key) => format!(
                "{}.{}",
                crate::quote(&key.namespace),
                crate::quote(&key.name)
            ),
            None => crate::quote(&input.source),
        };
        let key = serde_json::json!([input.source, input.reference, input.columns, input.filter])
            .to_string();
        let name = {
            use sha2::Digest;
            format!(
                "scan-{}",
                &hex::encode(sha2::Sha256::digest(key.as_bytes()))[..16]
            )
        };
        let cell = {
            let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
            files.entry(key).or_default().clone()
        };
        cell.get_or_try_init(|| async {
            // `Model('t', ref='v1')` reads the table as of that ref, not the run's base.
            let at_ref = match &input.reference {
                Some(r) => {
                    let at = refs.get(r).map_or(r.as_str(), |c| c.as_str());
                    Some(
                        engine
                            .session(at)
                            .await
                            .map_err(|e| {
                                NodeError::Query(format!(
                                    "reading input '{}' at {r}: {e}",
                                    input.argument
                                ))
                            })?
                            .0,
                    )
                }
                None => None,
            };
            crate::output::sql_to_file(
                at_ref.as_ref().unwrap_or(ctx),
                &scan_sql(input, &table),
                params,
                exchange,
                &name,
            )
            .await
            .map_err(|e| match e {
                NodeError::Query(m) => NodeError::Query(format!(
                    "reading input '{}' ({}): {m}",
                    input.argument, input.source
                )),
                other => other,
            })
        })
        .await
        .cloned()
    }
}

/// The query that reads `input` from `table` (as SQL), its columns and filter pushed into the
/// scan.
fn scan_sql(input: &Input, table: &str) -> String {
    let columns = match &input.columns {
        Some(cols) => cols
            .iter()
            .map(|c| crate::quote(c))
            .collect::<Vec<_>>()
            .join(", "),
        None => "*".to_string(),
    };
    let mut sql = format!("SELECT {columns} FROM {table}");
    if let Some(f) = &input.filter {
        sql.push_str(&format!(" WHERE {f}"));
    }
    sql
}

/// What a Python invocation needs from the run.
pub(crate) struct Invocation<'a> {
    pub(crate) ctx: &'a SessionContext,
    pub(crate) engine: &'a bayou_sql::QueryEngine,
    /// The commit each `ref=` of the run resolved to.
    pub(crate) refs: &'a BTreeMap<String, bayou_types::CommitId>,
    /// The table each lake-table input reads.
    pub(crate) sources: &'a bayou_plan::Sources,
    pub(crate) project: &'a Project,
    pub(crate) param_values: &'a HashMap<String, ScalarValue>,
    pub(crate) params: &'a BTreeMap<String, ParamValue>,
    /// The interpreter of each Python node's environment (all built before the run starts).
    pub(crate) pythons: &'a HashMap<String, PathBuf>,
    pub(crate) runner: &'a assets::Runner,
    pub(crate) sandbox: &'a sandbox::Sandbox,
    /// Warm starts, unless they are off.
    pub(crate) zygotes: Option<&'a zygote::Zygotes>,
    pub(crate) exchange: &'a Exchange,
    pub(crate) scans: &'a ScanFiles,
    /// The outputs of the models this node reads.
    pub(crate) parents: HashMap<String, Arc<Output>>,
    /// Where Python nodes run when not here: the server's workers.
    pub(crate) dispatch: Option<&'a crate::remote::Dispatcher>,
}

/// What runs a function on this machine: the runner, the sandbox, warm starts, the exchange,
/// and the project it comes from (the same for a run here and for a task on a worker).
pub(crate) struct Local<'a> {
    pub(crate) runner: &'a assets::Runner,
    pub(crate) sandbox: &'a sandbox::Sandbox,
    pub(crate) zygotes: Option<&'a zygote::Zygotes>,
    pub(crate) exchange: &'a Exchange,
    pub(crate) project: &'a Project,
    /// Secret values, masked in every line and message that leaves the function.
    pub(crate) secrets: Vec<String>,
}

/// A function call's inputs: each argument's file (and the columns kept of it).
pub(crate) struct CallInputs {
    pub(crate) inputs: BTreeMap<String, protocol::InputFile>,
    pub(crate) files: Vec<PathBuf>,
    /// Their size, which decides whether the output is expected to fit in shared memory.
    pub(crate) bytes: u64,
}

/// The plaintexts of the secret parameters.
pub(crate) fn secrets(params: &BTreeMap<String, ParamValue>) -> Vec<String> {
    params
        .values()
        .filter_map(|v| match v {
            ParamValue::Secret(s) if !s.plaintext().is_empty() => Some(s.plaintext().to_string()),
            _ => None,
        })
        .collect()
}

/// The function's parameter values by argument (a secret's plaintext: the function gets it).
fn call_params(
    node: &Node,
    params: &BTreeMap<String, ParamValue>,
) -> BTreeMap<String, serde_json::Value> {
    let mut call_params = BTreeMap::new();
    for p in &node.parameters {
        if let (Some(arg), Some(v)) = (&p.argument, params.get(&p.name)) {
            let value = match v {
                ParamValue::Secret(s) => serde_json::Value::from(s.plaintext()),
                other => serde_json::to_value(other).unwrap_or_default(),
            };
            call_params.insert(arg.clone(), value);
        }
    }
    call_params
}

fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Runs `function` of `node`; `Ok(None)` for an expectation (its verdict is in the report).
/// With a dispatcher, it runs on a worker; else here.
pub(crate) async fn run(
    inv: &Invocation<'_>,
    node: &Node,
    function: &str,
    report: &mut NodeReport,
    on_event: OnEvent<'_>,
) -> Result<Option<Output>, NodeError> {
    let clock = Instant::now();
    // Each input is a file the function maps read-only: the parent's own output file when the
    // input reads a model as it is (columns are selected in the function), else a scan file.
    let mut call = CallInputs {
        inputs: BTreeMap::new(),
        files: Vec::new(),
        bytes: 0,
    };
    for input in &node.inputs {
        let parent = inv.parents.get(&input.source);
        let (path, columns) = match parent.and_then(|p| p.file.as_ref().map(|f| (p, f))) {
            Some((parent, file)) if input.filter.is_none() => {
                call.bytes += parent.bytes();
                (file.clone(), input.columns.clone())
            }
            _ => {
                let scan = inv.scans.get(inv, input).await?;
                call.bytes += std::fs::metadata(&scan).map_or(0, |m| m.len());
                (scan, None)
            }
        };
        call.files.push(path.clone());
        call.inputs.insert(
            input.argument.clone(),
            protocol::InputFile { path, columns },
        );
    }
    let params = call_params(node, inv.params);
    let local = Local {
        runner: inv.runner,
        sandbox: inv.sandbox,
        zygotes: inv.zygotes,
        exchange: inv.exchange,
        project: inv.project,
        secrets: secrets(inv.params),
    };
    if let Some(dispatch) = inv.dispatch {
        let call = crate::remote::Remote {
            local: &local,
            node,
            inputs: &call,
            params: &params,
        };
        return call.run(dispatch, report, on_event).await;
    }
    let python = inv.pythons.get(&node.name).cloned().ok_or_else(|| {
        NodeError::Exchange(format!(
            "internal error: no environment was built for '{}'",
            node.name
        ))
    })?;
    run_here(
        &local, node, function, &python, &call, &params, clock, report, on_event,
    )
    .await
}

/// Runs `function` of `node` in a process on this machine, its inputs files here.
#[allow(
    clippy::too_many_arguments,
    reason = "two call sites, each with these values at hand"
)]
pub(crate) async fn run_here(
    local: &Local<'_>,
    node: &Node,
    function: &str,
    python: &Path,
    inputs: &CallInputs,
    params: &BTreeMap<String, serde_json::Value>,
    clock: Instant,
    report: &mut NodeReport,
    on_event: OnEvent<'_>,
) -> Result<Option<Output>, NodeError> {
    // The function's own directory, the one writable place it sees; its output is about the
    // size of its inputs, which decides whether it fits in shared memory. If shared memory fills
    // up as it writes anyway, it runs again with its directory on disk.
    let out_dir = local
        .exchange
        .dir(&node.name, inputs.bytes)
        .map_err(NodeError::exchange)?;
    let call = Call {
        function,
        python,
        inputs: &inputs.inputs,
        input_files: &inputs.files,
        params,
        clock,
    };
    match attempt(local, node, &call, &out_dir, report, on_event).await {
        Err(why) if why.is_no_space() && local.exchange.in_shared_memory(&out_dir) => {
            let msg = format!(
                "shared memory filled up under '{}'; running it again with its output on disk",
                node.name
            );
            on_event(Event::Warning {
                message: msg.clone(),
            });
            report.log.push(format!("warning: {msg}"));
            let disk = local
                .exchange
                .disk_dir(&node.name)
                .map_err(NodeError::exchange)?;
            attempt(local, node, &call, &disk, report, on_event).await
        }
        other => other,
    }
}

/// What every attempt at one invocation shares.
struct Call<'a> {
    function: &'a str,
    python: &'a Path,
    inputs: &'a BTreeMap<String, protocol::InputFile>,
    input_files: &'a [PathBuf],
    params: &'a BTreeMap<String, serde_json::Value>,
    clock: Instant,
}

/// One run of the function's process with `out_dir` as its output directory.
async fn attempt(
    inv: &Local<'_>,
    node: &Node,
    call: &Call<'_>,
    out_dir: &Path,
    report: &mut NodeReport,
    on_event: OnEvent<'_>,
) -> Result<Option<Output>, NodeError> {
    let (function, python, clock) = (call.function, call.python, call.clock);
    let (inputs, input_files, call_params) = (call.inputs, call.input_files, call.params);
    let output_path = out_dir.join("out.arrow");
    let result_path = out_dir.join("result.json");
    let project_dir = inv
        .project
        .root
        .canonicalize()
        .unwrap_or_else(|_| inv.project.root.clone());
    let request = protocol::Request {
        project_dir: project_dir.clone(),
        file: node.file.clone(),
        function: function.to_string(),
        node: node.name.clone(),
        kind: match node.is_expectation() {
            true => protocol::Kind::Expectation,
            false => protocol::Kind::Model,
        },
        inputs: inputs.clone(),
        params: call_params.clone(),
        output: output_path.clone(),
        result: result_path.clone(),
    };
    let request_path = out_dir.join("request.json");
    let request = serde_json::to_vec(&request).map_err(NodeError::exchange)?;
    std::fs::write(&request_path, request).map_err(NodeError::exchange)?;

    let env_dir = python
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"));
    let runner_dir = inv.runner.script.parent().unwrap_or(Path::new("/"));
    let mounts = sandbox::Mounts {
        env_dir,
        runner_dir,
        project_dir: &project_dir,
        inputs: input_files,
        output_dir: out_dir,
        internet: node.internet_access,
    };
    let cgroup = format!("{}-{}", inv.exchange.run_id(), node.name);
    let limits = match limits::Limits::create(&cgroup, &node.resources) {
        Ok(l) => l,
        Err(why) => {
            let msg = format!(
                "the limits of '{}' cannot be enforced here ({why}); it runs without them",
                node.name
            );
            on_event(Event::Warning {
                message: msg.clone(),
            });
            report.log.push(format!("warning: {msg}"));
            None
        }
    };
    let prepared = clock.elapsed().as_secs_f64();
    let spawned_at = epoch_now();
    let mut child = start(
        inv,
        python,
        &mounts,
        &request_path,
        limits.as_ref(),
        report,
        on_event,
    )
    .await?;
    let (Some(stdout), Some(stderr)) = (child.stdout(), child.stderr()) else {
        return Err(NodeError::Exchange(
            "the function's output pipes are missing".into(),
        ));
    };
    let name = node.name.as_str();
    // A secret the function prints is masked before its line goes anywhere.
    let secrets: Vec<&str> = inv.secrets.iter().map(String::as_str).collect();
    let secrets = &secrets;
    let pump = |reader: Box<dyn tokio::io::AsyncRead + Unpin + Send>, is_err: bool| async move {
        let mut lines = tokio::io::BufReader::new(reader).lines();
        let mut kept: Vec<String> = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let line = mask(line, secrets);
            on_event(Event::Log {
                node: name.to_string(),
                line: line.clone(),
                stderr: is_err,
            });
            kept.push(line);
            if kept.len() > 200 {
                kept.remove(0);
            }
        }
        kept
    };
    let timeout = node
        .resources
        .timeout_seconds
        .or(inv.project.config.timeout_seconds);
    let wait = async {
        match timeout {
            Some(s) => {
                match tokio::time::timeout(std::time::Duration::from_secs(s), child.wait()).await {
                    Ok(status) => status.map(Some),
                    Err(_) => {
                        child.start_kill();
                        Ok(None)
                    }
                }
            }
            None => child.wait().await.map(Some),
        }
    };
    let (out_lines, err_lines, status) =
        tokio::join!(pump(stdout, false), pump(stderr, true), wait);
    let exited_at = epoch_now();
    // What it printed last on stderr explains a death before the runner could report (the
    // sandbox refused to start, the interpreter crashed).
    let said: Vec<&String> = err_lines.iter().filter(|l| !l.trim().is_empty()).collect();
    let last_words: Vec<String> = said[said.len().saturating_sub(3)..]
        .iter()
        .map(|l| l.to_string())
        .collect();
    // Keep what was logged before the process started (a limits warning), then its output.
    report.log.extend(out_lines.into_iter().chain(err_lines));
    let status = status.map_err(NodeError::exchange)?;
    let Some(status) = status else {
        let _ = child.wait().await;
        return Err(NodeError::TimedOut(timeout.unwrap_or(0)));
    };
    // No reply (the process died first) or one that does not parse reads as an empty one.
    let result: protocol::Reply = std::fs::read(&result_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if !status.success()
        && let Some(l) = &limits
    {
        use std::os::unix::process::ExitStatusExt;
        let killed = status.signal() == Some(9) || status.code() == Some(137);
        if l.out_of_memory(killed) {
            return Err(NodeError::OutOfMemory {
                limit_mb: l.memory_bytes.unwrap_or(0) / 1_000_000,
            });
        }
    }
    if !status.success() {
        let why = result
            .error
            .clone()
            .unwrap_or_else(|| match last_words.is_empty() {
                true => format!("the process exited with {status} before reporting"),
                false => format!(
                    "the process exited with {status} before reporting:\n    {}",
                    last_words.join("\n    ")
                ),
            });
        return Err(NodeError::Function(mask(why, secrets)));
    }
    let read_back = Instant::now();
    let output = if node.is_expectation() {
        report.status = if result.passed == Some(true) {
            NodeStatus::Succeeded
        } else {
            report.error = result.reason.clone().map(|r| mask(r, secrets));
            NodeStatus::ExpectationFailed
        };
        None
    } else {
        let (schema, batches) = exchange::map_ipc(&output_path).map_err(NodeError::exchange)?;
        Some(Output {
            schema,
            batches,
            file: Some(output_path),
        })
    };
    record_phases(
        report,
        &result.marks,
        prepared,
        spawned_at,
        exited_at,
        read_back.elapsed().as_secs_f64(),
    );
    Ok(output)
}

/// Starts the function's process: a warm start from its environment's zygote when there is
/// one, else (or when the zygote cannot) a new sandboxed interpreter.
async fn start(
    inv: &Local<'_>,
    python: &Path,
    mounts: &sandbox::Mounts<'_>,
    request: &Path,
    limits: Option<&limits::Limits>,
    report: &mut NodeReport,
    on_event: OnEvent<'_>,
) -> Result<Proc, NodeError> {
    if let Some(zygotes) = inv.zygotes {
        let call = protocol::ZygoteCall {
            request: request.to_path_buf(),
            cwd: mounts.output_dir.to_path_buf(),
            sandbox: inv.sandbox.spec(mounts),
            cgroups: limits.map(limits::Limits::procs_files).unwrap_or_default(),
        };
        let started = match zygotes.start(python, &call).await {
            Ok(mut warm) => warm.started().await.map(|()| warm),
            Err(why) => Err(why),
        };
        match started {
            Ok(warm) => return Ok(Proc::Warm(warm)),
            Err(why) => {
                let line = format!("note: no warm start ({why}); starting a new process");
                on_event(Event::Log {
                    node: report.name.clone(),
                    line: line.clone(),
                    stderr: true,
                });
                report.log.push(line);
            }
        }
    }
    inv.sandbox
        .command(python, mounts, &inv.runner.sdk, limits)
        .arg("-u")
        .arg(&inv.runner.script)
        .arg(request)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map(Proc::Cold)
        .map_err(|e| NodeError::Exchange(format!("cannot start {}: {e}", python.display())))
}

/// A function's process: started anew, or cloned from a zygote.
enum Proc {
    Cold(tokio::process::Child),
    Warm(zygote::WarmChild),
}

type Pipe = Box<dyn tokio::io::AsyncRead + Unpin + Send>;

impl Proc {
    fn stdout(&mut self) -> Option<Pipe> {
        match self {
            Self::Cold(c) => c.stdout.take().map(|p| Box::new(p) as Pipe),
            Self::Warm(w) => w.stdout.take(),
        }
    }

    fn stderr(&mut self) -> Option<Pipe> {
        match self {
            Self::Cold(c) => c.stderr.take().map(|p| Box::new(p) as Pipe),
            Self::Warm(w) => w.stderr.take(),
        }
    }

    async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        match self {
            Self::Cold(c) => c.wait().await,
            Self::Warm(w) => w.wait().await,
        }
    }

    fn start_kill(&mut self) {
        match self {
            Self::Cold(c) => {
                let _ = c.start_kill();
            }
            Self::Warm(w) => w.start_kill(),
        }
    }
}

/// `text` with every secret in it replaced by `***`.
pub(crate) fn mask(mut text: String, secrets: &[&str]) -> String {
    for secret in secrets {
        if text.contains(secret) {
            text = text.replace(secret, "***");
        }
    }
    text
}

/// Fills in the report's phase timings from the runner's wall-clock marks.
fn record_phases(
    report: &mut NodeReport,
    marks: &BTreeMap<String, f64>,
    prepared: f64,
    spawned_at: f64,
    exited_at: f64,
    read_back: f64,
) {
    let mark = |name: &str| marks.get(name).copied();
    let (Some(started), Some(imported), Some(loaded), Some(mapped), Some(called), Some(written)) = (
        mark("started"),
        mark("imported"),
        mark("loaded"),
        mark("mapped"),
        mark("called"),
        mark("written"),
    ) else {
        return;
    };
    let spans = [
        prepared,
        started - spawned_at,
        imported - started,
        loaded - imported,
        mapped - loaded,
        called - mapped,
        written - called,
        exited_at - written,
        read_back,
    ];
    let mut overhead = 0.0;
    for (phase, seconds) in PHASES.iter().zip(spans) {
        let ms = (seconds * 1000.0).max(0.0);
        if !NOT_OVERHEAD.contains(phase) {
            overhead += ms;
        }
        report.phases_ms.insert((*phase).to_string(), ms);
    }
    report.overhead_ms = Some(overhead);
}
