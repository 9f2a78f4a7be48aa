//! `bayou table ls|get|create|import|rm|revert`.

use bayou_service::{ExternalRequest, FileSource, ImportRequest, TableRequest};
use serde_json::json;

use super::Ctx;
use super::table_plan;
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
    let request = TableRequest {
        table: args.name,
        branch: args.branch,
        partitioned_by: args.partitioned_by,
        replace: args.replace,
    };
    let files = FileSource::Uri(args.search_uri);
    let bar = write_bar(ctx, &files);
    let outcome = (ctx.service)
        .create_table(&request, &files, &|done, total| bar.update(done, total))
        .await;
    bar.finish();
    let outcome = outcome.map_err(usage_exit)?;
    report_write(ctx, "created", &outcome)
}

/// `table import`: the files' rows appended, skipping files the table holds already.
async fn import(ctx: &Ctx, args: ImportArgs) -> anyhow::Result<()> {
    let branch = ctx.reference(args.branch.as_deref()).await?;
    let key = ctx.key(&args.name)?;
    let request = ImportRequest {
        table: args.name,
        branch: Some(branch.clone()),
        continue_on_error: args.continue_on_error,
        import_duplicate_files: args.import_duplicate_files,
        best_effort: args.best_effort,
    };
    let files = FileSource::Uri(args.search_uri);
    let bar = write_bar(ctx, &files);
    let imported = (ctx.service)
        .import_data(&request, &files, &|done, total| bar.update(done, total))
        .await;
    bar.finish();
    let imported = imported.map_err(usage_exit)?;
    let Some(outcome) = imported.outcome else {
        return emit_message(
            ctx.format,
            &json!({"imported": 0, "table": key.to_string(), "branch": branch, "notes": imported.notes}),
            &format!(
                "nothing to import into {key}: {}",
                imported.notes.join("; ")
            ),
        );
    };
    for note in &imported.notes {
        crate::output::note(note)?;
    }
    report_write(ctx, "imported", &outcome)
}

/// The progress bar of a table write: the bytes of `files` (sent, then written).
pub(crate) fn write_bar(ctx: &Ctx, files: &FileSource) -> Progress {
    Progress::bytes(
        &format!("importing {}", files.uri()),
        ctx.format == crate::cli::OutputFormat::Table,
    )
}

/// A service error, with exit code 2 when the user's input is what must change.
pub(crate) fn usage_exit(e: bayou_service::Error) -> anyhow::Error {
    match e.kind() {
        bayou_service::ErrorKind::Usage => crate::output::Exit::usage(e.to_string()).into(),
        _ => e.into(),
    }
}

/// Says what a table write did.
pub(crate) fn report_write(
    ctx: &Ctx,
    verb: &str,
    outcome: &bayou_service::WriteOutcome,
) -> anyhow::Result<()> {
    emit_message(
        ctx.format,
        outcome,
        &format!(
            "{verb} {} on {}: {} rows in {} file(s), commit {}",
            outcome.table,
            outcome.branch,
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
        "table:     {key} at {reference}\nrows:      {}\nfiles:     {} ({} bytes)\npartition: {}\nsnapshot:  {} ({} in its history)\nmetadata:  {}",
        info.rows,
        info.data_files,
        info.size_bytes,
        info.partitioning.as_deref().unwrap_or("none"),
        info.snapshot_id
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into()),
        info.snapshots.len(),
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
    let request = TableRequest {
        table: args.name,
        branch: args.branch,
        partitioned_by: args.partitioned_by,
        replace: args.replace,
    };
    let plan = ctx
        .service
        .plan_table(&request, &FileSource::Uri(args.search_uri))
        .await?;
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
    let request = ExternalRequest {
        table: name,
        branch,
        metadata_json_uri,
        search_patterns: search_pattern,
        overwrite,
    };
    let outcome = ctx.service.create_external_table(&request).await?;
    emit_message(
        ctx.format,
        &outcome,
        &format!(
            "registered {} on {}: {} rows in {} file(s) left where they are, commit {}",
            outcome.table,
            outcome.branch,
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
