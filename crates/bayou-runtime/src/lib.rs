//! Runs a bayou project on one machine, transform-audit-write.
//!
//! Entry point: [`run`]. It has the run planned by `bayou_plan::Plan::build` (every problem
//! found before anything is created), then cuts a run branch from the target, executes the models
//! in dependency order (SQL inside DataFusion, next to the scans it reads; Python in a fresh
//! process per function, cloned from its environment's warm zygote ([`zygote`]), in an
//! environment from the [`EnvCache`]), runs the expectations on the
//! in-memory outputs, writes materialized models to the run branch and merges it into the
//! target only if everything passed. A failed run leaves the target untouched and keeps the run
//! branch for inspection. What happens is reported as [`Event`]s, in order; a node that fails
//! says why with a [`NodeError`].
//!
//! Independent nodes run concurrently, up to the core count. Python functions run sandboxed
//! ([`sandbox`]), under limits ([`limits`]) and read their inputs by mapping Arrow IPC files
//! from the run's exchange ([`exchange`]), one file per table however many children read it.
//! Trade-off: SQL models stay in memory unless a Python function reads them (then they move to
//! the exchange), so an all-SQL pipeline never pays for a file it does not need.
//!
//! A run given a `Dispatcher` ([`RunOptions::dispatch`], the server's workers) sends its Python
//! nodes there instead; a worker runs each with a [`TaskHost`], the same code as a local run.

mod assets;
pub mod bytecode;
mod cache;
mod contract;
mod env;
mod event;
mod exchange;
pub mod lease;
mod limits;
mod materialize;
mod node_error;
mod options;
mod output;
mod protocol;
mod prune;
mod python;
mod record;
mod remote;
mod reuse;
mod sandbox;
mod scheduler;
mod store;
mod tools;
mod uv;
mod zygote;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use bayou_lake::Lake;
use bayou_project::{Diagnostic, Diagnostics, NodeKind, ParamValue, Project};
use bayou_sql::QueryEngine;
use bayou_types::CommitId;
use datafusion::common::ScalarValue;

use crate::output::stand_in;

pub use assets::runner_version;
pub use bayou_plan::{PlanInput, PlanNode, lake_secret_key, plan, resolve_params};
pub use bayou_project::DEFAULT_PYTHON;
pub use env::{CacheUsage, EnvCache, EnvInfo, EnvReady, PYARROW_REQUIREMENT, cache_usage};
pub use event::{Event, OnEvent};
pub use exchange::{IpcMessage, IpcWriter, ipc_messages, map_ipc};

/// The reason the runner gives for an expectation that returned `False` (its other reasons are
/// a failed `assert`'s message and an unsupported return type).
pub const RETURNED_FALSE: &str = "expectation returned false";
pub use node_error::NodeError;
pub use options::{Preview, RunOptions};
pub use prune::prune_run_branches;
pub use python::PHASES;
pub use record::{
    NodeReport, NodeStatus, RunRecord, RunStatus, has_code, list_runs, load_code, load_run,
    mark_interrupted, prune_logs, settle_crashed, unknown_run,
};
pub use remote::{
    Dispatch, Dispatcher, RemoteCall, RemoteDone, RemoteInput, Task, TaskHost, TaskOutcome,
    write_code,
};
pub use sandbox::SandboxPolicy;
pub use uv::{UV_VERSION, locate as locate_uv};

/// Errors that stop a run before or outside its nodes. A node that fails is not an error: the
/// run completes with [`RunStatus::Failed`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The project has problems (exit code 2).
    #[error("{0}")]
    Project(Diagnostics),
    /// Bad command-line input (exit code 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Lake(#[from] bayou_lake::Error),
    #[error(transparent)]
    Sql(#[from] bayou_sql::Error),
    #[error("cannot build the Python environment of '{node}': {detail}")]
    Env { node: String, detail: String },
    /// A tool bayou needs (uv, bubblewrap) is missing or unusable.
    #[error("cannot use {tool}: {detail}")]
    Tool { tool: &'static str, detail: String },
    #[error("cannot use {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// Whether this is the user's input to fix (exit code 2) rather than a failure (1).
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::Project(_) | Self::Usage(_))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn scalar(v: &ParamValue) -> ScalarValue {
    match v {
        ParamValue::Int(i) => ScalarValue::Int64(Some(*i)),
        ParamValue::Float(f) => ScalarValue::Float64(Some(*f)),
        ParamValue::Bool(b) => ScalarValue::Boolean(Some(*b)),
        ParamValue::Str(s) => ScalarValue::Utf8(Some(s.clone())),
        ParamValue::Secret(s) => ScalarValue::Utf8(Some(s.plaintext().to_string())),
    }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Runs a project. `diagnostics` are the problems [`Project::load`] found; they are reported
/// together with the ones that need the lake, and any problem stops the run before it starts.
pub async fn run(
    lake: &Lake,
    project: &Project,
    diagnostics: Vec<Diagnostic>,
    options: &RunOptions,
    on_event: OnEvent<'_>,
) -> Result<RunRecord> {
    let planned = bayou_plan::Plan::build(
        lake,
        project,
        diagnostics,
        &bayou_plan::PlanOptions {
            branch: &options.branch,
            base: options.base.as_deref(),
            namespace: options.namespace.as_deref(),
            params: &options.params,
            select: &options.select,
            pinned_refs: &options.pinned_refs,
        },
    )
    .await?;
    // Decided once per run: with workers ready, every Python node runs on one of them (they
    // build its environment), so this process needs neither uv nor a sandbox for it.
    let remote = options.dispatch.as_ref().filter(|d| d.0.ready());
    let here = match remote {
        Some(_) => vec![false; planned.selected.len()],
        None => planned.selected.clone(),
    };
    let tools = tools::Tools::prepare(project, &here, options, on_event).await?;
    lake.catalog().require_namespace(&planned.namespace).await?;

    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let run_branch = (!options.dry_run && options.transaction).then(|| format!("run/{run_id}"));
    // Where the models are written: the run branch, or the target itself without a transaction.
    let write_branch =
        (!options.dry_run).then(|| run_branch.clone().unwrap_or_else(|| options.branch.clone()));
    let mut record = begin(lake, project, options, &planned, &run_id, &run_branch).await?;
    let base = planned.base.clone();
    on_event(Event::Started {
        run_id: run_id.clone(),
        run_branch: write_branch.clone(),
        transaction: run_branch.is_some(),
        plan: record.plan.clone(),
    });

    // From here on the run holds its lease: if this process dies, the next look settles it.
    let holder = record.holder.clone().unwrap_or_default();
    let work = async {
        let scans_before = lake.storage().scan_cache().map(|c| c.bytes());
        let outcome = match exchange::Exchange::create(
            &options.cache_dir,
            &run_id,
            options.exchange_dir.as_deref(),
        ) {
            Ok(exchange) => {
                // Whatever workers keep for the run goes when it ends, or is stopped.
                let _over = remote::Over {
                    remote,
                    run_id: &run_id,
                };
                execute(
                    lake,
                    project,
                    options,
                    &planned,
                    &tools,
                    remote,
                    write_branch.as_deref(),
                    &exchange,
                    &mut record,
                    on_event,
                )
                .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            stopped(lake, &mut record, run_branch.as_deref(), e).await?;
        }
        record.finished_ms = Some(chrono::Utc::now().timestamp_millis());
        if let (Some(before), Some(cache)) = (scans_before, lake.storage().scan_cache()) {
            let after = cache.bytes();
            record.scan_bytes = Some(bayou_lake::ScanBytes {
                from_storage: after.from_storage - before.from_storage,
                from_cache: after.from_cache - before.from_cache,
            });
        }

        publish(
            lake,
            options,
            run_branch.as_deref(),
            write_branch.is_some(),
            &base,
            &mut record,
        )
        .await?;
        record::save(lake, &record).await?;
        Ok(record)
    };
    lease::held(lake, &run_id, &holder, work).await
}

/// The run's record, saved "running" with its code snapshot before its run branch is cut, so a
/// run stopped at any point has a record to close.
async fn begin(
    lake: &Lake,
    project: &Project,
    options: &RunOptions,
    planned: &bayou_plan::Plan,
    run_id: &str,
    run_branch: &Option<String>,
) -> Result<RunRecord> {
    let mut record = RunRecord::new(
        run_id,
        project,
        &planned.params,
        &options.branch,
        &planned.base,
        run_branch.clone(),
        options.dry_run,
    );
    record.plan = planned.nodes.clone();
    record.replay_of = options.replay_of.clone();
    record.args = options.args.clone();
    record.transaction = options.transaction;
    record.refs = planned.refs.clone();
    record.namespace = Some(planned.namespace.clone());
    record.user = lake.author().to_string();
    record::save_code(lake, project).await?;
    record::save(lake, &record).await?;
    if let Some(b) = run_branch {
        let cut = lake
            .catalog()
            .create_ref(b, bayou_catalog::RefKind::Branch, planned.base.as_str())
            .await;
        if let Err(e) = cut {
            record.fail(format!("cutting the run branch {b}: {e}"));
            record.run_branch_kept = false;
            record.finished_ms = Some(chrono::Utc::now().timestamp_millis());
            record::save(lake, &record).await?;
            return Err(e.into());
        }
    }
    Ok(record)
}

/// A run that stopped with an error: recorded as failed. A problem with what was asked (say,
/// -m leaving a parent nowhere to come from) is the user's to fix, exit code 2: nothing ran, so
/// the record is closed, no run branch is worth keeping, and the error is returned.
async fn stopped(
    lake: &Lake,
    record: &mut RunRecord,
    run_branch: Option<&str>,
    e: Error,
) -> Result<()> {
    record.fail(e.to_string());
    if !e.is_usage() {
        return Ok(());
    }
    record.finished_ms = Some(chrono::Utc::now().timestamp_millis());
    if let Some(b) = run_branch {
        let _ = lake
            .catalog()
            .delete_ref(b, bayou_catalog::RefKind::Branch)
            .await;
        record.run_branch_kept = false;
    }
    record::save(lake, record).await?;
    Err(e)
}

/// A run that succeeded merges its run branch into the target (unless it is a kept replay);
/// one without a transaction already wrote there. Either way the record says what the target
/// holds now.
async fn publish(
    lake: &Lake,
    options: &RunOptions,
    run_branch: Option<&str>,
    wrote: bool,
    base: &CommitId,
    record: &mut RunRecord,
) -> Result<()> {
    if run_branch.is_none() && wrote {
        // Written straight into the target, failed or not: what it holds now is what the run
        // published.
        match lake.resolve(&options.branch).await {
            Ok(head) => record.published = (head.commit != *base).then_some(head.commit),
            Err(e) => record.fail(format!("reading '{}' after the run: {e}", options.branch)),
        }
    }
    if record.status != RunStatus::Running {
        return Ok(());
    }
    record.status = RunStatus::Succeeded;
    match run_branch {
        Some(b) if options.publish => {
            match lake
                .merge_with(b, &options.branch, &run_properties(&record.id))
                .await
            {
                Ok(outcome) => {
                    record.published = Some(match outcome {
                        bayou_lake::MergeOutcome::UpToDate { head }
                        | bayou_lake::MergeOutcome::FastForward { head }
                        | bayou_lake::MergeOutcome::Merged { head, .. } => head,
                    });
                    let _ = lake
                        .catalog()
                        .delete_ref(b, bayou_catalog::RefKind::Branch)
                        .await;
                    record.run_branch_kept = false;
                }
                Err(e) => record.fail(format!("publishing to '{}' failed: {e}", options.branch)),
            }
        }
        _ => {}
    }
    Ok(())
}

/// The properties of every commit a run makes: its id, under bayou's key and bauplan's (whose
/// tooling looks for the job id), so `bayou commit --property bayou_run_id=ID` finds them.
pub(crate) fn run_properties(run_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("bayou_run_id".to_string(), run_id.to_string()),
        ("bpln_job_id".to_string(), run_id.to_string()),
    ])
}

impl From<bayou_plan::Error> for Error {
    fn from(e: bayou_plan::Error) -> Self {
        match e {
            bayou_plan::Error::Project(d) => Self::Project(d),
            bayou_plan::Error::Usage(m) => Self::Usage(m),
            bayou_plan::Error::Lake(e) => Self::Lake(e),
            bayou_plan::Error::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<bayou_catalog::Error> for Error {
    fn from(e: bayou_catalog::Error) -> Self {
        Self::Lake(bayou_lake::Error::Catalog(e))
    }
}

/// Keeps the node cache under `cache` within `max_bytes`, least recently used entries out first.
/// Returns the bytes removed.
pub fn trim_node_cache(cache: &Path, max_bytes: u64) -> u64 {
    cache::NodeCache::new(cache).trim(max_bytes)
}

/// Executes the planned nodes: environments first, then the scheduler (`scheduler.rs`), then
/// the outputs written to the run branch once everything passed.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
async fn execute(
    lake: &Lake,
    project: &Project,
    options: &RunOptions,
    planned: &bayou_plan::Plan,
    tools: &tools::Tools,
    remote: Option<&remote::Dispatcher>,
    run_branch: Option<&str>,
    exchange: &exchange::Exchange,
    record: &mut RunRecord,
    on_event: OnEvent<'_>,
) -> Result<()> {
    let engine = QueryEngine::new(lake.clone());
    let (ctx, _, _) = engine.session(planned.base.as_str()).await?;
    // A bare name that resolved in the run's namespace reads that table in SQL models too.
    for key in planned.sources.shadowing() {
        stand_in(&ctx, &ctx, &key.namespace, &key.name).await?;
    }
    if options.sandbox == SandboxPolicy::Off && tools.python {
        let msg = "Python functions run without a sandbox (BAYOU_SANDBOX=off): they can read and write whatever you can";
        record.warnings.push(msg.to_string());
        on_event(Event::Warning {
            message: msg.to_string(),
        });
    }
    // Every environment the run needs is ready before any data is read: a bad pin fails the
    // run at once.
    let pythons = match tools.environments(project, on_event).await {
        Ok(pythons) => pythons,
        Err(report) => {
            record.fail(report.error.clone().unwrap_or_default());
            record.nodes.push(report);
            return Ok(());
        }
    };
    let mut inputs = inputs(
        lake, project, options, planned, tools, run_branch, exchange, ctx, engine, pythons,
    )
    .await?;
    inputs.dispatch = remote;
    let mut state = scheduler::State::new(project.nodes.len());
    let ran = run_and_materialize(&mut state, &inputs, run_branch, record, on_event).await;
    // Outputs are copied into the node cache while the run goes on; done before the exchange
    // they are copied from is removed, whatever the outcome.
    state.caching_done(on_event).await;
    ran
}

/// Runs the nodes and, once everything passed, writes the outputs to the run branch.
async fn run_and_materialize(
    state: &mut scheduler::State,
    inputs: &scheduler::Inputs<'_>,
    run_branch: Option<&str>,
    record: &mut RunRecord,
    on_event: OnEvent<'_>,
) -> Result<()> {
    state.take_unselected(inputs, record, on_event).await?;
    state.run_nodes(inputs, record, on_event).await?;
    if state.failed {
        // Nodes never started are skipped; the target branch is not touched.
        state.skip_rest(inputs, record);
        return Ok(());
    }
    match run_branch {
        Some(branch) => state.materialize(inputs, branch, record).await,
        None => Ok(()),
    }
}

/// The SQL models some Python function reads whole (every column, no filter): their output goes
/// straight to the exchange, one file every such child maps. The others stay in memory, and a
/// function that reads a few of their columns gets a file of just those.
fn read_whole_by_python(project: &Project, parents: &[Vec<usize>]) -> Vec<bool> {
    let mut whole = vec![false; project.nodes.len()];
    for (i, node) in project.nodes.iter().enumerate() {
        if matches!(node.kind, NodeKind::Sql { .. }) {
            continue;
        }
        for input in &node.inputs {
            let all =
                input.columns.is_none() && input.filter.is_none() && input.reference.is_none();
            let parent = parents[i]
                .iter()
                .find(|&&p| project.nodes[p].name == input.source);
            if let (true, Some(&p)) = (all, parent) {
                whole[p] = true;
            }
        }
    }
    whole
}

/// What every node of the run reads, worked out once: fingerprints, the DAG's shape, the
/// parameters as SQL values, the runner.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
async fn inputs<'a>(
    lake: &'a Lake,
    project: &'a Project,
    options: &'a RunOptions,
    planned: &'a bayou_plan::Plan,
    tools: &'a tools::Tools,
    run_branch: Option<&'a str>,
    exchange: &'a exchange::Exchange,
    ctx: datafusion::prelude::SessionContext,
    engine: QueryEngine,
    pythons: HashMap<String, std::path::PathBuf>,
) -> Result<scheduler::Inputs<'a>> {
    let fps = bayou_plan::fingerprints(
        lake,
        project,
        &planned.params,
        &planned.base,
        &planned.refs,
        &planned.sources,
        &bayou_plan::Runtime {
            runner: &assets::runner_version(),
            env_key: &EnvCache::key,
        },
    )
    .await?;
    let dag = project.dag();
    let parents: Vec<Vec<usize>> = (0..dag.len()).map(|i| dag.parents(i).to_vec()).collect();
    let read_by_python = read_whole_by_python(project, &parents);
    let runner = assets::install(&options.cache_dir)?;
    Ok(scheduler::Inputs {
        lake,
        project,
        options,
        namespace: planned.namespace.as_str(),
        base: &planned.base,
        sources: &planned.sources,
        params: &planned.params,
        selected: &planned.selected,
        run_branch,
        ctx,
        engine,
        param_values: planned
            .params
            .iter()
            .map(|(k, v)| (k.clone(), scalar(v)))
            .collect(),
        pythons,
        zygotes: options
            .warm_starts
            .then(|| zygote::Zygotes::new(&options.cache_dir, &runner)),
        runner,
        sandbox: &tools.sandbox,
        exchange,
        scans: python::ScanFiles::default(),
        node_cache: cache::NodeCache::new(&options.cache_dir),
        refs: &planned.refs,
        fps,
        parents,
        read_by_python,
        sequence: dag.order(),
        needed: dag.needed(&planned.selected),
        dispatch: None,
    })
}
