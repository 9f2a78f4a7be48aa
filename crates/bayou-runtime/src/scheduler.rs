//! The scheduler of a run's nodes: what every node reads ([`Inputs`], fixed for the run) apart
//! from what the run has done so far ([`State`]), and one small step per phase: take the
//! unselected models from the cache or the lake, start the nodes whose parents are done (reusing
//! cached outputs), record each node as it finishes, skip the rest after a failure, and
//! materialize the outputs on the run branch once everything passed.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bayou_lake::Lake;
use bayou_project::{Materialization, NodeKind, ParamValue, Project};
use bayou_sql::QueryEngine;
use bayou_types::{CommitId, TableKey};
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use futures::stream::FuturesUnordered;

use crate::output::{Output, output_schema, publish_output, run_sql, sql_to_exchange, stand_in};
use crate::reuse::reuse;
use crate::{
    Error, Event, NodeError, NodeReport, NodeStatus, OnEvent, Preview, RETURNED_FALSE, Result,
    RunOptions, RunRecord, cache, contract, exchange, materialize, python,
};

/// What every node of a run reads; nothing here changes while the run goes on.
pub(crate) struct Inputs<'a> {
    pub(crate) lake: &'a Lake,
    pub(crate) project: &'a Project,
    pub(crate) options: &'a RunOptions,
    pub(crate) namespace: &'a str,
    pub(crate) base: &'a CommitId,
    pub(crate) sources: &'a bayou_plan::Sources,
    pub(crate) params: &'a std::collections::BTreeMap<String, ParamValue>,
    pub(crate) selected: &'a [bool],
    /// Where materialized models go; `None` in a dry run.
    pub(crate) run_branch: Option<&'a str>,
    pub(crate) ctx: SessionContext,
    pub(crate) engine: QueryEngine,
    pub(crate) param_values: HashMap<String, ScalarValue>,
    pub(crate) pythons: HashMap<String, std::path::PathBuf>,
    pub(crate) runner: crate::assets::Runner,
    pub(crate) sandbox: &'a crate::sandbox::Sandbox,
    pub(crate) zygotes: Option<crate::zygote::Zygotes>,
    pub(crate) exchange: &'a exchange::Exchange,
    pub(crate) scans: python::ScanFiles,
    pub(crate) node_cache: cache::NodeCache,
    pub(crate) refs: &'a std::collections::BTreeMap<String, CommitId>,
    pub(crate) fps: Vec<String>,
    /// Each node's parents, by index.
    pub(crate) parents: Vec<Vec<usize>>,
    /// Models a Python function reads whole: their outputs go to the exchange, where it maps
    /// them.
    pub(crate) read_by_python: Vec<bool>,
    /// The nodes in topological order.
    pub(crate) sequence: Vec<usize>,
    /// Unselected models the selected ones need (`-m`).
    pub(crate) needed: Vec<bool>,
    /// Where Python nodes run, when not here.
    pub(crate) dispatch: Option<&'a crate::remote::Dispatcher>,
}

/// A node at work: its index, its report so far, and what it made.
type Running<'a> = Pin<
    Box<dyn Future<Output = (usize, NodeReport, Result<Option<Output>, NodeError>)> + Send + 'a>,
>;

/// What the run has done so far.
pub(crate) struct State {
    outputs: HashMap<String, Arc<Output>>,
    /// REPLACE models reused from the cache: their table on the branch is already the output.
    reused_table: Vec<bool>,
    started: Vec<bool>,
    finished: Vec<bool>,
    /// Nodes downstream of a model read from the lake instead of its own output: their
    /// fingerprints assume the output, so they neither reuse nor fill the cache.
    uncacheable: Vec<bool>,
    /// Outputs being copied into the node cache, off the run's critical path.
    caching: Vec<(String, tokio::task::JoinHandle<Result<()>>)>,
    pub(crate) failed: bool,
}

impl State {
    pub(crate) fn new(nodes: usize) -> Self {
        Self {
            outputs: HashMap::new(),
            reused_table: vec![false; nodes],
            started: vec![false; nodes],
            finished: vec![false; nodes],
            uncacheable: vec![false; nodes],
            caching: Vec::new(),
            failed: false,
        }
    }

    /// With -m, only the selected nodes run; the unselected models they read come from the
    /// cache or, failing that, from the lake. Any other is an error naming them.
    pub(crate) async fn take_unselected(
        &mut self,
        inputs: &Inputs<'_>,
        record: &mut RunRecord,
        on_event: OnEvent<'_>,
    ) -> Result<()> {
        let mut from_lake = vec![false; self.started.len()];
        let mut missing = Vec::new();
        for &i in &inputs.sequence {
            if inputs.selected[i] {
                continue;
            }
            self.started[i] = true;
            self.finished[i] = true;
            if !inputs.needed[i] {
                continue;
            }
            let report = match self.unselected(inputs, i).await? {
                Some((report, lake)) => {
                    from_lake[i] = lake;
                    report
                }
                None => {
                    missing.push(inputs.project.nodes[i].name.clone());
                    continue;
                }
            };
            on_event(Event::NodeFinished {
                report: Box::new(report.clone()),
            });
            record.nodes.push(report);
        }
        for &i in &inputs.sequence {
            self.uncacheable[i] = inputs.parents[i]
                .iter()
                .any(|&p| from_lake[p] || self.uncacheable[p]);
        }
        if missing.is_empty() {
            return Ok(());
        }
        let one = missing.len() == 1;
        Err(Error::Usage(format!(
            "the selected models read {}, which {} not selected and {} neither a cached output nor a table in namespace '{}'\n  hint: select {} too, e.g. -m +{}",
            missing.join(", "),
            if one { "is" } else { "are" },
            if one { "has" } else { "have" },
            inputs.namespace,
            if one { "it" } else { "them" },
            inputs
                .options
                .select
                .first()
                .map(|p| p.trim_matches('+'))
                .unwrap_or_default(),
        )))
    }

    /// An unselected model's stand-in: its cached output, else its table in the lake (then
    /// `true`); `None` when it has neither.
    async fn unselected(
        &mut self,
        inputs: &Inputs<'_>,
        i: usize,
    ) -> Result<Option<(NodeReport, bool)>> {
        let node = &inputs.project.nodes[i];
        if node.cache
            && let Some(mut report) = self.cached(inputs, i, Preview::Off).await?
        {
            report
                .log
                .push("not selected: reused from the cache".into());
            return Ok(Some((report, false)));
        }
        let key =
            TableKey::new(inputs.namespace, &node.name).map_err(|e| Error::Usage(e.to_string()))?;
        let (at, at_ctx) = match &inputs.options.parents_from {
            Some(r) => {
                let (c, commit, _) = inputs.engine.session(r).await?;
                (commit, Some(c))
            }
            None => (inputs.base.clone(), None),
        };
        if inputs.lake.catalog().get_table(&at, &key).await?.is_none() {
            return Ok(None);
        }
        let from = at_ctx.as_ref().unwrap_or(&inputs.ctx);
        stand_in(&inputs.ctx, from, inputs.namespace, &node.name).await?;
        let mut report = NodeReport::new(node);
        report.status = NodeStatus::FromLake;
        report
            .log
            .push(format!("not selected: read from the lake table {key}"));
        Ok(Some((report, true)))
    }

    /// Runs the selected nodes, in parallel up to `--jobs` (the cores by default): a node starts
    /// when every model it reads has finished; the first failure stops new starts.
    pub(crate) async fn run_nodes<'a>(
        &mut self,
        inputs: &'a Inputs<'a>,
        record: &mut RunRecord,
        on_event: OnEvent<'a>,
    ) -> Result<()> {
        let parallel = inputs
            .options
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1);
        let mut running: FuturesUnordered<Running<'a>> = FuturesUnordered::new();
        loop {
            if !self.failed {
                self.start_ready(inputs, record, on_event, &mut running, parallel)
                    .await?;
            }
            if running.is_empty() && self.finished.iter().all(|&f| f) {
                return Ok(());
            }
            let Some((i, report, result)) = futures::StreamExt::next(&mut running).await else {
                if self.failed || self.finished.iter().all(|&f| f) {
                    return Ok(());
                }
                continue; // nodes were reused from the cache; start what they unblocked
            };
            self.complete(inputs, i, report, result, record, on_event)?;
        }
    }

    /// Starts every node whose parents are done, while there is room: a cached output is
    /// reused at once, anything else runs.
    async fn start_ready<'a>(
        &mut self,
        inputs: &'a Inputs<'a>,
        record: &mut RunRecord,
        on_event: OnEvent<'a>,
        running: &mut FuturesUnordered<Running<'a>>,
        parallel: usize,
    ) -> Result<()> {
        for &i in &inputs.sequence {
            if running.len() >= parallel {
                break;
            }
            if self.started[i] || !inputs.parents[i].iter().all(|&p| self.finished[p]) {
                continue;
            }
            self.started[i] = true;
            if self.reused(inputs, i, record, on_event).await? {
                if self.failed {
                    break;
                }
                continue;
            }
            let node = &inputs.project.nodes[i];
            on_event(Event::NodeStarted {
                node: node.name.clone(),
            });
            let parents = inputs.parents[i]
                .iter()
                .filter_map(|&p| {
                    let name = &inputs.project.nodes[p].name;
                    self.outputs.get(name).map(|o| (name.clone(), o.clone()))
                })
                .collect();
            running.push(Box::pin(execute_node(inputs, i, parents, on_event)));
        }
        Ok(())
    }

    /// Reuses node `i`'s cached output if it has one; returns whether it did.
    async fn reused(
        &mut self,
        inputs: &Inputs<'_>,
        i: usize,
        record: &mut RunRecord,
        on_event: OnEvent<'_>,
    ) -> Result<bool> {
        let node = &inputs.project.nodes[i];
        if inputs.options.no_cache || !node.cache || self.uncacheable[i] {
            return Ok(false);
        }
        let Some(mut report) = self.cached(inputs, i, inputs.options.preview).await? else {
            return Ok(false);
        };
        self.finished[i] = true;
        let strict = inputs.options.strict;
        self.failed |= judge(&mut report, record, strict, on_event);
        if let Some(schema) = output_schema(&inputs.ctx, &self.outputs, &node.name).await {
            self.failed |= contract::check(node, &schema, &mut report, record, strict, on_event);
        }
        on_event(Event::NodeFinished {
            report: Box::new(report.clone()),
        });
        record.nodes.push(report);
        Ok(true)
    }

    /// Node `i`'s output from the node cache, kept for its children, if the cache has it.
    async fn cached(
        &mut self,
        inputs: &Inputs<'_>,
        i: usize,
        preview: Preview,
    ) -> Result<Option<NodeReport>> {
        let hit = reuse(
            inputs.lake,
            &inputs.ctx,
            &inputs.node_cache,
            &inputs.fps[i],
            &inputs.project.nodes[i],
            inputs.namespace,
            inputs.base,
            &mut self.outputs,
            preview,
        )
        .await?;
        Ok(hit.map(|(mut report, table)| {
            self.reused_table[i] = table;
            report.fingerprint = Some(inputs.fps[i].clone());
            report
        }))
    }

    /// Records node `i` as finished: its output kept for its children and the cache, its
    /// verdict judged, its failure failing the run.
    fn complete(
        &mut self,
        inputs: &Inputs<'_>,
        i: usize,
        mut report: NodeReport,
        result: Result<Option<Output>, NodeError>,
        record: &mut RunRecord,
        on_event: OnEvent<'_>,
    ) -> Result<()> {
        let node = &inputs.project.nodes[i];
        let strict = inputs.options.strict;
        self.finished[i] = true;
        report.fingerprint = Some(inputs.fps[i].clone());
        let cacheable = node.cache && !self.uncacheable[i];
        match result {
            Ok(Some(output)) => {
                report.rows = Some(output.rows());
                report.bytes = Some(output.bytes());
                self.failed |=
                    contract::check(node, &output.schema, &mut report, record, strict, on_event);
                output.preview_into(&mut report, inputs.options.preview);
                // Reusable by later runs; a REPLACE model's entry is its table, once written
                // (in a dry run, nothing is: then it is the output, like any other model's).
                let output = publish_output(&inputs.ctx, &mut self.outputs, &node.name, output)?;
                if cacheable
                    && (node.materialization != Materialization::Replace
                        || inputs.run_branch.is_none())
                {
                    let copy = cache_output(inputs, i, output, &record.id);
                    self.caching.push((node.name.clone(), copy));
                }
            }
            Ok(None) => {
                if cacheable {
                    let verdict = cache::Stored::Verdict {
                        passed: report.status == NodeStatus::Succeeded,
                        reason: report.error.clone(),
                    };
                    let entry = cache::Entry::new(node, None, &record.id, verdict);
                    let _ = inputs.node_cache.put(&inputs.fps[i], &entry, |_| Ok(()));
                }
                // An expectation: report.status says how it went.
                self.failed |= judge(&mut report, record, strict, on_event);
            }
            Err(e) => {
                report.status = NodeStatus::Failed;
                report.error = Some(e.to_string());
                record.fail(format!("'{}' failed: {e}", node.name));
                self.failed = true;
            }
        }
        on_event(Event::NodeFinished {
            report: Box::new(report.clone()),
        });
        record.nodes.push(report);
        Ok(())
    }

    /// Waits for the outputs still being copied into the node cache; a failure to cache is a
    /// warning, never the run's.
    pub(crate) async fn caching_done(&mut self, on_event: OnEvent<'_>) {
        for (name, copy) in self.caching.drain(..) {
            let failed = match copy.await {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            };
            on_event(Event::Warning {
                message: format!("the output of '{name}' was not cached: {failed}"),
            });
        }
    }

    /// After a failure: the nodes never started are reported skipped.
    pub(crate) fn skip_rest(&self, inputs: &Inputs<'_>, record: &mut RunRecord) {
        for &j in &inputs.sequence {
            if !self.started[j] {
                let mut skipped = NodeReport::new(&inputs.project.nodes[j]);
                skipped.status = NodeStatus::Skipped;
                skipped.started_ms = None;
                record.nodes.push(skipped);
            }
        }
    }

    /// Writes the selected models' outputs to the run branch, once everything (expectations
    /// included) has passed; a REPLACE model reused from the cache is its table already.
    pub(crate) async fn materialize(
        &self,
        inputs: &Inputs<'_>,
        run_branch: &str,
        record: &mut RunRecord,
    ) -> Result<()> {
        let nodes = inputs.project.nodes.iter().enumerate();
        for (i, node) in nodes.filter(|(_, n)| n.materialization != Materialization::None) {
            if !inputs.selected[i] {
                continue; // not part of this run: taken from the cache or the lake, never written
            }
            let key = TableKey::new(inputs.namespace, &node.name)
                .map_err(|e| Error::Usage(e.to_string()))?;
            let mark = |record: &mut RunRecord| {
                if let Some(r) = record.nodes.iter_mut().find(|r| r.name == node.name) {
                    r.materialized = Some(key.to_string());
                }
            };
            if self.reused_table[i] {
                mark(record);
                continue;
            }
            let Some(output) = self.outputs.get(&node.name) else {
                continue;
            };
            let written = materialize::write(
                inputs.lake,
                run_branch,
                &key,
                node,
                output,
                &inputs.param_values,
                &record.id,
            )
            .await?;
            mark(record);
            if node.cache
                && !self.uncacheable[i]
                && node.materialization == Materialization::Replace
            {
                let table = cache::Stored::Table {
                    table: key.to_string(),
                    metadata_location: written.metadata_location,
                };
                let entry = cache::Entry::new(node, Some(output.rows()), &record.id, table);
                let _ = inputs.node_cache.put(&inputs.fps[i], &entry, |_| Ok(()));
            }
        }
        Ok(())
    }
}

/// Executes node `i`: SQL in DataFusion, Python in its sandboxed environment.
async fn execute_node<'a>(
    inputs: &'a Inputs<'a>,
    i: usize,
    parents: HashMap<String, Arc<Output>>,
    on_event: OnEvent<'a>,
) -> (usize, NodeReport, Result<Option<Output>, NodeError>) {
    let node = &inputs.project.nodes[i];
    let clock = Instant::now();
    let mut report = NodeReport::new(node);
    let ctx = &inputs.ctx;
    let values = &inputs.param_values;
    let result = match &node.kind {
        // A SQL model read by Python goes straight to the exchange.
        NodeKind::Sql { sql } if inputs.read_by_python[i] => {
            sql_to_exchange(ctx, sql, values, inputs.exchange, &node.name)
                .await
                .map(Some)
        }
        NodeKind::Sql { sql } => run_sql(ctx, sql, values).await.map(Some),
        NodeKind::Python { function } | NodeKind::Expectation { function } => {
            let invocation = python::Invocation {
                ctx,
                engine: &inputs.engine,
                refs: inputs.refs,
                sources: inputs.sources,
                project: inputs.project,
                param_values: values,
                params: inputs.params,
                pythons: &inputs.pythons,
                runner: &inputs.runner,
                sandbox: inputs.sandbox,
                zygotes: inputs.zygotes.as_ref(),
                exchange: inputs.exchange,
                scans: &inputs.scans,
                parents,
                dispatch: inputs.dispatch,
            };
            python::run(&invocation, node, function, &mut report, on_event).await
        }
    };
    report.seconds = clock.elapsed().as_secs_f64();
    (i, report, result)
}

/// Puts node `i`'s output in the node cache, on a blocking thread: the run goes on meanwhile
/// and waits for it before the exchange it copies from goes ([`State::caching_done`]).
fn cache_output(
    inputs: &Inputs<'_>,
    i: usize,
    output: Arc<Output>,
    run_id: &str,
) -> tokio::task::JoinHandle<Result<()>> {
    let node = &inputs.project.nodes[i];
    let entry = cache::Entry::new(node, Some(output.rows()), run_id, cache::Stored::File);
    let cache = inputs.node_cache.clone();
    let fp = inputs.fps[i].clone();
    tokio::task::spawn_blocking(move || {
        cache.put(&fp, &entry, |dest| match &output.file {
            Some(file) => std::fs::copy(file, dest)
                .map(|_| ())
                .map_err(|e| Error::io(dest, e)),
            None => exchange::write_ipc(dest, &output.schema, &output.batches),
        })
    })
}

/// An expectation's verdict: a warning, or under `--strict` the run's failure (returns `true`).
pub(crate) fn judge(
    report: &mut NodeReport,
    record: &mut RunRecord,
    strict: bool,
    on_event: OnEvent<'_>,
) -> bool {
    if report.status != NodeStatus::ExpectationFailed {
        return false;
    }
    let msg = match report.error.as_deref() {
        None | Some(RETURNED_FALSE) => {
            format!("expectation '{}' returned False", report.name)
        }
        Some(reason) => format!("expectation '{}' failed: {reason}", report.name),
    };
    if strict {
        report.error = Some(msg.clone());
        record.fail(format!("{msg} (--strict)"));
        true
    } else {
        record.warnings.push(msg.clone());
        on_event(Event::Warning { message: msg });
        false
    }
}
