//! `bayou gc` and `bayou lake check`: keeping a lake whole and small, in this process or on a
//! server (gc with an admin key).

use indicatif::HumanBytes;
use serde_json::json;

use bayou_service::GcRequest;

use super::Ctx;
use crate::cli::GcArgs;
use crate::output::{Exit, Listing, emit, out};

pub(crate) async fn gc(ctx: &Ctx, args: GcArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let request = GcRequest {
        older_than: args.older_than,
        keep_runs: std::time::Duration::from_secs(u64::from(args.keep_runs_days) * 86_400),
        dry_run: args.dry_run,
    };
    let files = ctx.service.collect_garbage(&request).await?;
    let seconds = started.elapsed().as_secs_f64();
    let branches = &files.run_branches;
    let mut value = serde_json::to_value(&files)?;
    value["seconds"] = json!(seconds);
    if ctx.format == crate::cli::OutputFormat::Json {
        return out(&serde_json::to_string_pretty(&value)?);
    }
    let verb = match args.dry_run {
        true => "would remove",
        false => "removed",
    };
    let older = humantime::format_duration(args.older_than);
    out(&format!(
        "{verb} {} run branch(es), {} commit(s) and {} file(s), {}; kept {} reachable file(s) and {} younger than {older} ({seconds:.1} s)",
        branches.len(),
        files.commits.len(),
        files.files.len(),
        HumanBytes(files.bytes),
        files.reachable,
        files.young_kept,
    ))?;
    let mut listing = Listing::new(vec!["removed", "bytes"]);
    for branch in branches {
        listing.push(vec![format!("branch {branch}"), String::new()]);
    }
    for file in &files.files {
        listing.push(vec![
            file.location.clone(),
            HumanBytes(file.bytes).to_string(),
        ]);
    }
    match listing.rows.is_empty() {
        true => Ok(()),
        false => emit(ctx.format, &value, listing),
    }
}

pub(crate) async fn check(ctx: &Ctx) -> anyhow::Result<()> {
    let report = ctx.service.check_lake().await?;
    let summary = format!(
        "{} ref(s), {} commit(s), {} table version(s), {} file(s)",
        report.refs, report.commits, report.table_versions, report.files
    );
    match ctx.format {
        crate::cli::OutputFormat::Json => out(&serde_json::to_string_pretty(&report)?)?,
        crate::cli::OutputFormat::Table if report.problems.is_empty() => {
            out(&format!("the lake is whole: {summary}"))?
        }
        crate::cli::OutputFormat::Table => {
            out(&format!("checked {summary}"))?;
            for problem in &report.problems {
                out(&format!("  {problem}"))?;
            }
        }
    }
    match report.problems.len() {
        0 => Ok(()),
        n => Err(Exit::failed(format!(
            "the lake has {n} problem(s)\n  hint: a missing file was removed outside bayou; restore it from a backup, or drop the tables that need it at their refs"
        ))
        .into()),
    }
}
