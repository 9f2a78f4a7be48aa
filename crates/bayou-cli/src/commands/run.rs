//! `bayou run` and `bayou runs ls|show`.

use std::io::Write;

use bayou_project::Project;
use bayou_runtime::{Event, NodeStatus, Preview, RunRecord, RunStatus};
use serde_json::json;

use super::Ctx;
use crate::cli::{EnvCommand, OutputFormat, PreviewArg, RerunArgs, RunArgs, RunsCommand};
use crate::output::{Exit, Listing, emit, out, time};

/// Live progress on stderr, so stdout stays the result (a table or JSON).
fn progress(event: Event) {
    let mut err = std::io::stderr().lock();
    let _ = match event {
        Event::Started {
            run_id,
            run_branch,
            transaction,
            plan,
        } => {
            let _ = match &run_branch {
                Some(b) if transaction => writeln!(err, "run {run_id}: writing to run branch {b}"),
                Some(b) => writeln!(
                    err,
                    "run {run_id}: writing straight into {b} (--no-transaction)"
                ),
                None => writeln!(
                    err,
                    "run {run_id}: dry run, nothing will be written; the plan:"
                ),
            };
            if run_branch.is_none() {
                for node in plan {
                    let _ = writeln!(
                        err,
                        "  {} [{}] runs in {}; writes {}",
                        node.name, node.kind, node.runs_in, node.writes
                    );
                    for i in &node.inputs {
                        let cols = i
                            .columns
                            .as_ref()
                            .map_or("all columns".to_string(), |c| c.join(", "));
                        let filter = i
                            .filter
                            .as_ref()
                            .map(|f| format!(" where {f}"))
                            .unwrap_or_default();
                        let at = i
                            .reference
                            .as_ref()
                            .map(|r| format!(" at {r}"))
                            .unwrap_or_default();
                        let _ = writeln!(err, "    <- {} {}{at}: {cols}{filter}", i.kind, i.source);
                    }
                }
            }
            Ok(())
        }
        Event::NodeStarted { node } => writeln!(err, "{node:>16} | started"),
        Event::Log { node, line, .. } => writeln!(err, "{node:>16} | {line}"),
        Event::NodeFinished { report } => {
            let what = match report.status {
                NodeStatus::Succeeded if report.cached && report.kind == "expectation" => {
                    "passed (cached)".to_string()
                }
                NodeStatus::Succeeded if report.cached => match report.rows {
                    Some(rows) => format!("cached: {rows} rows"),
                    None => "cached".to_string(),
                },
                NodeStatus::Succeeded if report.kind == "expectation" => "passed".to_string(),
                NodeStatus::Succeeded => format!("done: {} rows", report.rows.unwrap_or(0)),
                NodeStatus::ExpectationFailed => match report.error.as_deref() {
                    None | Some(bayou_runtime::RETURNED_FALSE) => {
                        "expectation returned False".to_string()
                    }
                    Some(reason) => format!("expectation failed: {reason}"),
                },
                NodeStatus::Failed => format!("FAILED: {}", report.error.as_deref().unwrap_or("")),
                NodeStatus::Skipped => "skipped".to_string(),
                NodeStatus::FromLake => "not selected: read from the lake".to_string(),
            };
            writeln!(err, "{:>16} | {what} ({:.2}s)", report.name, report.seconds)
        }
        Event::Warning { message } => writeln!(err, "warning: {message}"),
        Event::Progress { message } => writeln!(err, "{message}"),
        Event::EnvReady { node, env } if env.built => writeln!(
            err,
            "{node:>16} | environment {} built in {:.2}s",
            env.key, env.seconds
        ),
        Event::EnvReady { .. } => Ok(()),
    };
}

pub(crate) async fn run(ctx: &Ctx, args: RunArgs) -> anyhow::Result<()> {
    let mut params = Vec::new();
    for p in &args.params {
        let Some((k, v)) = p.split_once('=') else {
            return Err(Exit::usage(format!("--param {p}: expected NAME=VALUE")).into());
        };
        params.push((k.trim().to_string(), v.to_string()));
    }
    let (project, diagnostics) =
        Project::load(&args.project_dir).map_err(|d| Exit::usage(d.to_string()))?;
    let branch = match &args.reference {
        Some(r) => r.clone(),
        None => default_target(ctx, &args.project_dir).await?,
    };
    // The project's problems that need no lake were reported above (exit 2); the executor
    // loads the snapshot again and reports the rest with the same file:line.
    drop(diagnostics);
    let mut spec = bayou_service::RunSpec {
        branch,
        namespace: args.namespace.clone(),
        dry_run: args.dry_run,
        strict: args.strict,
        params,
        preview: match args.preview {
            PreviewArg::Off => Preview::Off,
            PreviewArg::On | PreviewArg::Head => Preview::Head,
            PreviewArg::Tail => Preview::Tail,
        },
        transaction: !args.no_transaction,
        jobs: args.jobs.map(usize::from),
        no_cache: args.no_cache,
        select: args.select.clone(),
        ..Default::default()
    };
    for a in &args.args {
        let Some((k, v)) = a.split_once('=') else {
            return Err(Exit::usage(format!("--arg {a}: expected KEY=VALUE")).into());
        };
        spec.args.insert(k.trim().to_string(), v.to_string());
    }
    submit(ctx, &project, spec, args.detach).await
}

/// Runs `project` through the service (in process, or on the server), showing its events live.
async fn submit(
    ctx: &Ctx,
    project: &Project,
    spec: bayou_service::RunSpec,
    detach: bool,
) -> anyhow::Result<()> {
    let code_hash = project.code_hash();
    // The code goes over once: a server that has this snapshot gets its hash alone (in process,
    // the files at hand are cheaper than reading the snapshot back).
    let files = match !ctx.is_embedded() && ctx.service.has_code(&code_hash).await? {
        true => Vec::new(),
        false => project
            .files
            .iter()
            .map(|(path, text)| (path.to_string_lossy().into_owned(), text.clone()))
            .collect(),
    };
    let preview = spec.preview;
    let branch = spec.branch.clone();
    let request = bayou_service::RunRequest {
        code_hash,
        files,
        spec,
        detach,
    };
    let quiet = ctx.format == OutputFormat::Json;
    let started = std::sync::Mutex::new(None::<String>);
    let on_event = |e: Event| {
        if let Event::Started { run_id, .. } = &e {
            *started.lock().unwrap_or_else(|p| p.into_inner()) = Some(run_id.to_string());
        }
        if !quiet || matches!(e, Event::Progress { .. }) {
            progress(e);
        }
    };
    let running = ctx.service.run(request, &on_event);
    // Ctrl-C drops the run: its functions are killed (on a server too: it sees the client go),
    // nothing is merged, and the record says it was interrupted.
    let outcome = tokio::select! {
        outcome = running => outcome,
        _ = tokio::signal::ctrl_c() => {
            let id = started.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(id) = id {
                let _ = ctx.service.cancel_run(&id).await;
            }
            return Err(interrupted(&branch));
        }
    };
    match outcome {
        Ok(bayou_service::RunOutcome::Finished(record)) => finish(ctx, &record, preview),
        Ok(bayou_service::RunOutcome::Detached(id)) => crate::output::emit_message(
            ctx.format,
            &json!({"run_id": id, "detached": true}),
            &format!(
                "{id}\nrun {id} goes on on the server; follow it with `bayou job get {id}`, stop it with `bayou job stop {id}`"
            ),
        ),
        Err(e) if e.kind() == bayou_service::ErrorKind::Usage => {
            Err(Exit::usage(e.to_string()).into())
        }
        Err(e) => Err(e.into()),
    }
}

fn interrupted(branch: &str) -> anyhow::Error {
    Exit {
        code: 130,
        message: format!(
            "interrupted: every function was stopped and {branch} is unchanged\n  hint: the run branch, if one was cut, is kept; list branches with `bayou branch ls`"
        ),
    }
    .into()
}

/// The branch a run targets without `-r`: the data branch of the project's git branch (created
/// from the active branch when new), else the active branch.
async fn default_target(ctx: &Ctx, dir: &std::path::Path) -> anyhow::Result<String> {
    use crate::git_branch::Target;
    let active = ctx.reference(None).await?;
    let mut err = std::io::stderr().lock();
    let enabled = crate::settings::git_branch_enabled(&ctx.profile);
    match crate::git_branch::target(dir, enabled) {
        Target::None => Ok(active),
        Target::Unusable { git, why } => {
            writeln!(
                err,
                "warning: git branch '{git}' cannot name a data branch ({}); running on {active}",
                why.lines().next().unwrap_or_default()
            )?;
            Ok(active)
        }
        Target::Branch(name) => {
            use bayou_service::ErrorKind::RefExists;
            match ctx
                .service
                .create_ref(&name, bayou_catalog::RefKind::Branch, &active)
                .await
            {
                Ok(_) => writeln!(
                    err,
                    "created data branch {name} from {active} to match git branch {name} (-r BRANCH picks another; BAYOU_GIT_BRANCH=off turns this off)"
                )?,
                Err(e) if e.kind() == RefExists && name != active => {
                    writeln!(err, "running on data branch {name}, as git branch {name}")?;
                }
                Err(e) if e.kind() == RefExists => {}
                Err(e) => return Err(e.into()),
            }
            Ok(name)
        }
    }
}

/// `job logs`: a run's log lines by node; with `follow`, its events live until it ends.
async fn logs(ctx: &Ctx, id: &str, follow: bool) -> anyhow::Result<()> {
    let record = match follow {
        true => {
            let heard = std::sync::atomic::AtomicBool::new(false);
            let on_event = |e: Event| {
                heard.store(true, std::sync::atomic::Ordering::Relaxed);
                progress(e);
            };
            let record = ctx.service.follow_run(id, &on_event).await.map_err(|e| {
                match e.kind() == bayou_service::ErrorKind::Usage {
                    true => Exit::usage(e.to_string()).into(),
                    false => anyhow::Error::from(e),
                }
            })?;
            if heard.into_inner() {
                // Everything was shown as it happened; say how it ended.
                return out(&format!(
                    "run {} {}",
                    record.id,
                    serde_json::to_value(record.status)?
                        .as_str()
                        .unwrap_or("ended")
                ));
            }
            record
        }
        false => match load_run(ctx, id).await? {
            Some(record) => record,
            None => {
                return Err(Exit::usage(bayou_runtime::unknown_run(id)).into());
            }
        },
    };
    if ctx.format == OutputFormat::Json {
        let lines: Vec<_> = record
            .nodes
            .iter()
            .flat_map(|n| n.log.iter().map(|l| json!({"node": n.name, "line": l})))
            .collect();
        return out(&serde_json::to_string_pretty(&lines)?);
    }
    let mut text = String::new();
    for n in &record.nodes {
        for line in &n.log {
            text.push_str(&format!("{:>16} | {line}\n", n.name));
        }
    }
    if record.logs_pruned {
        text.push_str("(the logs of this run were dropped after the server's --keep-logs-days)\n");
    }
    if record.finished_ms.is_none() {
        text.push_str("(still running: --follow shows the rest as it comes)\n");
    }
    out(text.trim_end())
}

/// Run `id`'s record; an id that is no run id is the user's input to fix (exit code 2).
async fn load_run(ctx: &Ctx, id: &str) -> anyhow::Result<Option<RunRecord>> {
    ctx.service
        .get_run(id)
        .await
        .map_err(|e| match e.kind() == bayou_service::ErrorKind::Usage {
            true => Exit::usage(e.to_string()).into(),
            false => anyhow::Error::from(e),
        })
}

/// `bayou rerun`: a past run's code snapshot over the data commit it started from, into a new
/// run branch; the target moves only with --publish.
pub(crate) async fn rerun(ctx: &Ctx, args: RerunArgs) -> anyhow::Result<()> {
    let Some(past) = load_run(ctx, &args.run_id).await? else {
        return Err(Exit::usage(format!(
            "no run '{}'\n  hint: list runs with `bayou runs ls`",
            args.run_id
        ))
        .into());
    };
    let files = ctx.service.code(&past.code_hash).await?;
    // The snapshot becomes a project directory of its own for the run's lifetime.
    let (_dir, project) =
        bayou_service::load_snapshot(&files).map_err(|e| Exit::usage(e.to_string()))?;
    let parents_from = match &args.from {
        None => None,
        Some(_) => Some(replay_parents(ctx, &past).await?),
    };
    let options = bayou_service::ReplayOptions {
        from: args.from.clone(),
        parents_from,
        publish: args.publish,
        strict: args.strict,
        jobs: args.jobs.map(usize::from),
    };
    let spec = bayou_service::replay_spec(&past, &project, options);
    submit(ctx, &project, spec, false).await
}

/// Where a replay `--from` a model reads the models before it: the tables the replayed run
/// published, or those still on its kept run branch.
async fn replay_parents(ctx: &Ctx, past: &RunRecord) -> anyhow::Result<String> {
    let kept = past.run_branch.clone().filter(|_| past.run_branch_kept);
    match (&past.published, kept) {
        (Some(commit), _) => Ok(commit.as_str().to_string()),
        (None, Some(branch)) if ctx.service.resolve(&branch).await.is_ok() => Ok(branch),
        _ => Err(Exit::usage(format!(
            "run {} left no tables to start from (it published nothing and its run branch is gone)\n  hint: replay the whole run: bayou rerun {}",
            past.id, past.id
        ))
        .into()),
    }
}

/// Shows a finished run: previews, the node table, the outcome; a failed run is exit code 1.
fn finish(ctx: &Ctx, record: &RunRecord, preview: Preview) -> anyhow::Result<()> {
    if preview != Preview::Off && ctx.format == OutputFormat::Table {
        for n in record.nodes.iter().filter(|n| !n.preview.is_empty()) {
            let which = match preview {
                Preview::Tail => "last",
                _ => "first",
            };
            out(&format!("{} ({which} {} rows):", n.name, n.preview.len()))?;
            out(&preview_table(&n.columns, &n.preview))?;
        }
    }
    report(ctx, record)?;
    if record.status == RunStatus::Failed {
        let target = match record.transaction {
            true => format!("{} is unchanged", record.target_branch),
            false => format!(
                "--no-transaction: what was written before the failure stays in {}",
                record.target_branch
            ),
        };
        return Err(Exit::failed(format!(
            "run {} failed: {}\n  hint: {target}; inspect `bayou runs show {}`{}",
            record.id,
            record.error.as_deref().unwrap_or("a node failed"),
            record.id,
            record
                .run_branch
                .as_ref()
                .filter(|_| record.run_branch_kept)
                .map(|b| format!(" and the run branch {b}"))
                .unwrap_or_default()
        ))
        .into());
    }
    Ok(())
}

/// JSON rows as a readable table.
fn preview_table(headers: &[String], rows: &[serde_json::Value]) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(headers);
    for r in rows {
        table.add_row(headers.iter().map(|h| match &r[h] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }));
    }
    table.to_string()
}

fn node_listing(record: &RunRecord) -> Listing {
    let mut headers = vec![
        "node",
        "kind",
        "status",
        "cached",
        "rows",
        "bytes",
        "seconds",
        "written to",
    ];
    // Runs whose nodes went to workers say which, and what crossed hosts.
    let on_workers = record.nodes.iter().any(|n| n.worker.is_some());
    if on_workers {
        headers.extend(["worker", "moved"]);
    }
    let mut listing = Listing::new(headers);
    for n in &record.nodes {
        let mut row = vec![
            n.name.clone(),
            n.kind.clone(),
            serde_json::to_value(n.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            if n.cached { "yes" } else { "-" }.into(),
            n.rows.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
            n.bytes.map(human_bytes).unwrap_or_else(|| "-".into()),
            format!("{:.2}", n.seconds),
            n.materialized.clone().unwrap_or_else(|| "-".into()),
        ];
        if on_workers {
            row.push(n.worker.clone().unwrap_or_else(|| "server".into()));
            row.push(n.moved_bytes.map(human_bytes).unwrap_or_else(|| "-".into()));
        }
        listing.push(row);
    }
    listing
}

fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn report(ctx: &Ctx, record: &RunRecord) -> anyhow::Result<()> {
    if ctx.format == OutputFormat::Json {
        return out(&serde_json::to_string_pretty(record)?);
    }
    emit(ctx.format, record, node_listing(record))?;
    let total: f64 = record
        .finished_ms
        .map(|f| (f - record.started_ms) as f64 / 1000.0)
        .unwrap_or_default();
    let outcome = match (&record.status, &record.published, record.dry_run) {
        (RunStatus::Succeeded, _, true) => "dry run succeeded; nothing was written".to_string(),
        (RunStatus::Succeeded, Some(head), _) if *head == record.base_commit => format!(
            "succeeded with nothing new to publish; {} stays at commit {}",
            record.target_branch,
            head.short()
        ),
        (RunStatus::Succeeded, Some(head), _) => {
            format!(
                "published to {} (commit {})",
                record.target_branch,
                head.short()
            )
        }
        (RunStatus::Succeeded, None, _) => match record.run_branch.as_ref() {
            Some(b) if record.run_branch_kept => format!(
                "succeeded; its output is on branch {b} and {} is unchanged (publish with `bayou branch merge {b} --into {}`)",
                record.target_branch, record.target_branch
            ),
            _ => "succeeded".to_string(),
        },
        _ => format!("failed; {} is unchanged", record.target_branch),
    };
    let cached = record.nodes.iter().filter(|n| n.cached).count();
    let executed = record
        .nodes
        .iter()
        .filter(|n| !n.cached && !matches!(n.status, NodeStatus::Skipped | NodeStatus::FromLake))
        .count();
    out(&format!(
        "run {} {outcome} in {total:.2}s ({executed} executed, {cached} reused from the cache)",
        record.id
    ))
}

pub(crate) async fn runs(ctx: &Ctx, cmd: RunsCommand) -> anyhow::Result<()> {
    match cmd {
        RunsCommand::Ls {
            limit,
            status,
            user,
            kind,
            branch,
        } => {
            let filter = bayou_service::RunFilter {
                status: status.map(|s| s.as_str().to_string()),
                user,
                kind: kind.map(|k| k.as_str().to_string()),
                branch,
                ..Default::default()
            };
            list_runs(ctx, limit, &filter).await
        }
        RunsCommand::Logs { run_id, follow } => logs(ctx, &run_id, follow).await,
        RunsCommand::Stop { run_id } => stop(ctx, run_id).await,
        RunsCommand::Show { run_id } => show(ctx, run_id).await,
    }
}

pub(crate) fn env(format: OutputFormat, cmd: EnvCommand) -> anyhow::Result<()> {
    let cache = bayou_runtime::EnvCache::new(&crate::settings::cache_dir());
    let (envs, verb) = match cmd {
        EnvCommand::Ls => (cache.list(), None),
        EnvCommand::Prune { keep_days, all } => {
            (cache.prune((!all).then_some(keep_days))?, Some("removed"))
        }
    };
    let mut listing = Listing::new(vec!["env", "python", "packages", "MB", "last used (UTC)"]);
    for e in &envs {
        let packages: Vec<String> = e
            .packages
            .iter()
            .map(|(n, v)| format!("{n}=={v}"))
            .collect();
        listing.push(vec![
            e.key.clone(),
            e.python.clone(),
            packages.join(" "),
            format!("{:.1}", e.size_bytes as f64 / 1e6),
            time(e.last_used_ms),
        ]);
    }
    if let Some(verb) = verb
        && format == OutputFormat::Table
    {
        out(&format!("{verb} {} environment(s)", envs.len()))?;
    }
    emit(format, &envs, listing)
}

async fn list_runs(
    ctx: &Ctx,
    limit: usize,
    filter: &bayou_service::RunFilter,
) -> anyhow::Result<()> {
    let all = ctx.service.list_runs(filter, limit).await?;
    let mut listing = Listing::new(vec![
        "run",
        "started (UTC)",
        "project",
        "user",
        "branch",
        "status",
        "nodes",
    ]);
    for r in &all {
        listing.push(vec![
            r.id.clone(),
            time(r.started_ms),
            r.project.clone().unwrap_or_default(),
            r.user.clone(),
            r.target_branch.clone(),
            format!("{:?}", r.status).to_ascii_lowercase(),
            r.nodes.len().to_string(),
        ]);
    }
    emit(ctx.format, &all, listing)
}

async fn show(ctx: &Ctx, run_id: String) -> anyhow::Result<()> {
    let Some(record) = load_run(ctx, &run_id).await? else {
        return Err(Exit::usage(bayou_runtime::unknown_run(&run_id)).into());
    };
    if ctx.format == OutputFormat::Json {
        return out(&serde_json::to_string_pretty(&record)?);
    }
    out(&format!(
        "run:       {}\nstatus:    {:?}\nbranch:    {} (from commit {})\nrun branch: {}\ncode:      {}\nparams:    {}\n{}",
        record.id,
        record.status,
        record.target_branch,
        record.base_commit.short(),
        record.run_branch.clone().unwrap_or_else(|| "-".into()),
        record.code_hash.get(..12).unwrap_or(&record.code_hash),
        json!(record.params),
        record
            .error
            .as_ref()
            .map(|e| format!("error:     {e}\n"))
            .unwrap_or_default(),
    ))?;
    if let Some(b) = &record.scan_bytes {
        out(&format!(
            "scanned:   {} from object storage, {} from the local scan cache",
            human_bytes(b.from_storage),
            human_bytes(b.from_cache)
        ))?;
    }
    emit(ctx.format, &record, node_listing(&record))?;
    for n in record.nodes.iter().filter(|n| !n.log.is_empty()) {
        out(&format!("\n--- {} log ---", n.name))?;
        out(&n.log.join("\n"))?;
    }
    Ok(())
}

async fn stop(ctx: &Ctx, run_id: String) -> anyhow::Result<()> {
    let Some(record) = load_run(ctx, &run_id).await? else {
        return Err(Exit::usage(bayou_runtime::unknown_run(&run_id)).into());
    };
    if record.finished_ms.is_some() {
        return crate::output::emit_message(
            ctx.format,
            &json!({"stopped": null, "run_id": run_id, "status": record.status}),
            &format!("run {run_id} has finished already: nothing to stop"),
        );
    }
    ctx.service.cancel_run(&run_id).await?;
    // Say what its record says now: a run stopped while it published may have published.
    let after = load_run(ctx, &run_id).await?.unwrap_or(record);
    let outcome = match (after.status, after.transaction) {
        (RunStatus::Succeeded, _) => format!("it had published to {} already", after.target_branch),
        (_, false) => format!(
            "--no-transaction: what it wrote stays in {}",
            after.target_branch
        ),
        _ => format!("{} is unchanged", after.target_branch),
    };
    let elsewhere = match ctx.is_embedded() {
        // An embedded lake's runs live in their own processes: this closes the record only.
        true => {
            "\n  note: a run still going on in another process is not stopped by this; press Ctrl-C where it runs"
        }
        false => "",
    };
    crate::output::emit_message(
        ctx.format,
        &json!({"stopped": run_id, "status": after.status}),
        &format!("stopped run {run_id}; {outcome}{elsewhere}"),
    )
}
