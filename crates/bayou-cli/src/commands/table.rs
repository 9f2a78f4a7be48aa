//! `bayou table ls|get|create|import|rm|revert`.

use bayou_lake::{SourceFiles, Survey, WriteMode};
use serde_json::json;

use super::Ctx;
use super::table_plan::{self, TablePlan};
use crate::cli::{ImportArgs, TableCommand, WriteArgs};
use crate::output::{Listing, emit, emit_message, out};
use crate::progress::Progress;

pub(crate) async fn run(ctx: &Ctx, cmd: TableCommand) -> anyhow::Result<()> {
    match cmd {
        TableCommand::Ls {
            reference,
            namespace,
            name,
        } => ls(ctx, reference, namespace, name).await,
        TableCommand::Get { name, reference } => get(ctx, name, reference).await,
        TableCommand::Create(args) => create(ctx, args).await,
        TableCommand::Import(args) => import(ctx, args).await,
        TableCommand::CreatePlan(args) => create_plan(ctx, args).await,
        TableCommand::CreateExternal {
            name,
            metadata_json_uri,
            search_pattern,
            branch,
            overwrite,
        } => {
            create_external(
                ctx,
                name,
                metadata_json_uri,
                search_pattern,
                branch,
                overwrite,
            )
            .await
        }
        TableCommand::CreatePlanApply { plan } => {
            let parsed = table_plan::read(&plan)?;
            table_plan::apply(ctx, &parsed, &plan.display().to_string()).await
        }

        TableCommand::Rm {
            name,
            branch,
            if_exists,
        } => rm(ctx, name, branch, if_exists).await,
        TableCommand::Revert {
            name,
            to_ref,
            branch,
        } => {
            let branch = ctx.reference(branch.as_deref()).await?;
            let key = ctx.key(&name)?;
            let commit = ctx.service.revert_table(&branch, &key, &to_ref).await?;
            emit_message(
                ctx.format,
                &json!({"reverted": key.to_string(), "to_ref": to_ref, "branch": branch, "commit": commit}),
                &format!(
                    "reverted {key} on {branch} to its state at {to_ref} (commit {})",
                    commit.short()
                ),
            )
        }
    }
}

/// `table create`: the plan of the files, applied at once; conflicts between files stop it.
async fn create(ctx: &Ctx, args: WriteArgs) -> anyhow::Result<()> {
    let staging = tempfile::Builder::new().prefix("bayou-import-").tempdir()?;
    let survey = Survey::of_uri(&args.search_uri, false, staging.path()).await?;
    let plan = TablePlan::infer(
        &args.name,
        &survey,
        args.branch.clone(),
        args.partitioned_by.clone(),
        args.replace,
    );
    // The plan command that writes what `create` was asked for, to edit and apply.
    let mut flags = String::new();
    if let Some(b) = &args.branch {
        flags.push_str(&format!(" -b {b}"));
    }
    if let Some(p) = &args.partitioned_by {
        flags.push_str(&format!(" --partitioned-by '{p}'"));
    }
    if args.replace {
        flags.push_str(" --replace");
    }
    let hint = format!(
        "the files disagree: `bayou table create-plan {} --search-uri '{}'{flags} -p plan.yaml` writes a plan to pick the types in, then `bayou table create-plan-apply --plan plan.yaml`",
        args.name, args.search_uri
    );
    let schema = plan.schema(&args.search_uri, &hint)?;
    let branch = ctx.reference(args.branch.as_deref()).await?;
    let key = ctx.key(&args.name)?;
    let mode = match args.replace {
        true => WriteMode::Replace,
        false => WriteMode::Create,
    };
    let source = survey.into_source(std::sync::Arc::new(schema));
    write_source(
        ctx,
        &branch,
        &key,
        mode,
        &source,
        args.partitioned_by.as_deref(),
    )
    .await
}

/// `table import`: the files' rows appended, skipping files the table holds already.
async fn import(ctx: &Ctx, args: ImportArgs) -> anyhow::Result<()> {
    let branch = ctx.reference(args.branch.as_deref()).await?;
    let key = ctx.key(&args.name)?;
    if !matches!(
        ctx.lake()?.resolve(&branch).await?.reference,
        Some((_, bayou_catalog::RefKind::Branch))
    ) {
        return Err(bayou_catalog::Error::NotABranch(branch).into());
    }
    let table = ctx.lake()?.table_at(&branch, &key).await?;
    let staging = tempfile::Builder::new().prefix("bayou-import-").tempdir()?;
    let mut survey =
        Survey::of_uri(&args.search_uri, args.continue_on_error, staging.path()).await?;
    let mut notes: Vec<String> = survey
        .skipped
        .iter()
        .map(|(f, why)| format!("skipped {f}: {why}"))
        .collect();
    if !args.import_duplicate_files {
        let held = table.imported_files();
        survey.retain(|identity, origin| {
            let keep = !held.contains(identity);
            if !keep {
                notes.push(format!(
                    "skipped {origin}: the table has it already (--import-duplicate-files imports it again)"
                ));
            }
            keep
        });
        if survey.files.is_empty() {
            return emit_message(
                ctx.format,
                &json!({"imported": 0, "table": key.to_string(), "branch": branch, "notes": notes}),
                &format!("nothing to import into {key}: {}", notes.join("; ")),
            );
        }
    }
    let incoming = survey.merged_schema(
        "import the files that disagree separately, each with the columns the table has",
    )?;
    let schema = match args.best_effort {
        false => incoming,
        true => {
            let (fits, rest) =
                bayou_lake::fitting_columns(table.arrow_schema()?.as_ref(), &incoming);
            notes.extend(rest.into_iter().map(|r| format!("left out {r}")));
            std::sync::Arc::new(fits)
        }
    };
    let source = survey.into_source(schema);
    for note in &notes {
        crate::output::note(note)?;
    }
    write_source(ctx, &branch, &key, WriteMode::Append, &source, None).await
}

/// Writes `source` into table `key` on `branch`, with progress, and reports what it did.
pub(crate) async fn write_source(
    ctx: &Ctx,
    branch: &str,
    key: &bayou_types::TableKey,
    mode: WriteMode,
    source: &SourceFiles,
    partitioned_by: Option<&str>,
) -> anyhow::Result<()> {
    let progress = Progress::bytes(
        &format!("importing {} file(s)", source.files.len()),
        ctx.format == crate::cli::OutputFormat::Table,
    );
    let report = |done: u64, total: u64| progress.update(done, total);
    let outcome = ctx
        .lake()?
        .write_files(branch, key, mode, source, partitioned_by, &report)
        .await;
    progress.finish();
    let outcome = outcome?;
    let verb = if mode == WriteMode::Append {
        "imported"
    } else {
        "created"
    };
    emit_message(
        ctx.format,
        &outcome,
        &format!(
            "{verb} {key} on {branch}: {} rows in {} file(s), commit {}",
            outcome.rows_written,
            outcome.files_written,
            outcome.commit.short()
        ),
    )
}

async fn ls(
    ctx: &Ctx,
    reference: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
) -> anyhow::Result<()> {
    let namespace = namespace.map(|ns| bayou_types::canonical_namespace(&ns).to_string());
    let reference = ctx.reference(reference.as_deref()).await?;
    let service = &ctx.service;
    let head = service.resolve(&reference).await?.commit;
    if let Some(ns) = &namespace
        && !service
            .list_namespaces()
            .await?
            .iter()
            .any(|n| &n.name == ns)
    {
        return Err(bayou_catalog::Error::UnknownNamespace(ns.clone()).into());
    }
    let tables: Vec<_> = service
        .list_tables(&head)
        .await?
        .into_iter()
        .filter(|(k, _)| namespace.as_ref().is_none_or(|ns| &k.namespace == ns))
        .filter(|(k, _)| name.as_ref().is_none_or(|n| k.name.contains(n.as_str())))
        .collect();
    let mut listing = Listing::new(vec!["namespace", "table", "snapshot"]);
    let mut value = Vec::new();
    for (key, state) in &tables {
        let snap = state
            .snapshot_id
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        listing.push(vec![key.namespace.clone(), key.name.clone(), snap]);
        value.push(json!({
            "namespace": key.namespace, "name": key.name,
            "snapshot_id": state.snapshot_id, "metadata_location": state.metadata_location,
        }));
    }
    emit(ctx.format, &value, listing)
}

async fn get(ctx: &Ctx, name: String, reference: Option<String>) -> anyhow::Result<()> {
    let reference = ctx.reference(reference.as_deref()).await?;
    let key = ctx.key(&name)?;
    let info = ctx.service.table_info(&reference, &key).await?;
    if ctx.format == crate::cli::OutputFormat::Json {
        return out(&serde_json::to_string_pretty(&info)?);
    }
    out(&format!(
        "table:     {key} at {reference}\nrows:      {}\nfiles:     {} ({} bytes)\npartition: {}\nsnapshot:  {}\nmetadata:  {}",
        info.rows,
        info.data_files,
        info.size_bytes,
        info.partitioning.as_deref().unwrap_or("none"),
        info.snapshot_id
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into()),
        info.metadata_location,
    ))?;
    let mut listing = Listing::new(vec!["column", "type", "nullable"]);
    for c in &info.columns {
        listing.push(vec![
            c.name.clone(),
            c.data_type.clone(),
            c.nullable.to_string(),
        ]);
    }
    emit(ctx.format, &info, listing)
}

async fn create_plan(ctx: &Ctx, args: crate::cli::CreatePlanArgs) -> anyhow::Result<()> {
    let staging = tempfile::Builder::new().prefix("bayou-plan-").tempdir()?;
    let survey = Survey::of_uri(&args.search_uri, false, staging.path()).await?;
    let plan = TablePlan::infer(
        &args.name,
        &survey,
        args.branch,
        args.partitioned_by,
        args.replace,
    );
    let yaml = serde_yaml::to_string(&plan)?;
    match &args.save_plan {
        Some(path) => {
            std::fs::write(path, &yaml)?;
            emit_message(
                ctx.format,
                &json!({"plan": path.display().to_string(), "conflicts": plan.conflicts.len()}),
                &format!(
                    "wrote the plan of {} to {} ({} column(s), {} conflict(s)); apply it with `bayou table create-plan-apply --plan {}`",
                    plan.table,
                    path.display(),
                    plan.columns.len(),
                    plan.conflicts.len(),
                    path.display()
                ),
            )
        }
        None if ctx.format == crate::cli::OutputFormat::Json => {
            out(&serde_json::to_string_pretty(&plan)?)
        }
        None => out(&yaml),
    }
}

async fn create_external(
    ctx: &Ctx,
    name: String,
    metadata_json_uri: Option<String>,
    search_pattern: Vec<String>,
    branch: Option<String>,
    overwrite: bool,
) -> anyhow::Result<()> {
    let branch = ctx.reference(branch.as_deref()).await?;
    let key = ctx.key(&name)?;
    let outcome = match &metadata_json_uri {
        Some(uri) => {
            ctx.lake()?
                .register_table(&branch, &key, uri, overwrite)
                .await?
        }
        None => {
            ctx.lake()?
                .register_files(&branch, &key, &search_pattern, overwrite)
                .await?
        }
    };
    emit_message(
        ctx.format,
        &outcome,
        &format!(
            "registered {key} on {branch}: {} rows in {} file(s) left where they are, commit {}",
            outcome.rows_written,
            outcome.files_written,
            outcome.commit.short()
        ),
    )
}

async fn rm(
    ctx: &Ctx,
    name: String,
    branch: Option<String>,
    if_exists: bool,
) -> anyhow::Result<()> {
    let branch = ctx.reference(branch.as_deref()).await?;
    let key = ctx.key(&name)?;
    let head = ctx.service.resolve(&branch).await?.commit;
    let present = ctx
        .service
        .list_tables(&head)
        .await?
        .iter()
        .any(|(k, _)| *k == key);
    if if_exists && !present {
        return emit_message(
            ctx.format,
            &json!({"removed": null, "branch": branch}),
            &format!("no table {key} on {branch}: nothing to remove"),
        );
    }
    let commit = ctx.service.drop_table(&branch, &key).await?;
    emit_message(
        ctx.format,
        &json!({"removed": key.to_string(), "branch": branch, "commit": commit}),
        &format!("removed {key} from {branch} (commit {})", commit.short()),
    )
}
