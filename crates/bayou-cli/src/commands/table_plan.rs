//! `bayou table create-plan-apply`: the second step of creating a table in two, as bauplan does.
//! The plan is a YAML file ([`TablePlan`]): the columns found in the files with the type each
//! will be stored as, the partitioning, and the conflicts, which the user resolves by hand.

use std::path::Path;

use bayou_service::{FileSource, TablePlan};

use super::Ctx;
use crate::output::Exit;

/// Applies `plan` (read from `file`): creates the table from its files, each column stored as
/// the plan says.
pub(crate) async fn apply(ctx: &Ctx, plan: &TablePlan, file: &str) -> anyhow::Result<()> {
    // Checked here first, so that a problem names the plan file.
    plan.schema(
        file,
        "set each column's type in the plan, delete its conflict, then apply it again",
    )
    .map_err(|e| Exit::usage(e.to_string()))?;
    let files = FileSource::Uri(plan.search_uri.clone());
    let bar = super::table::write_bar(ctx, &files);
    let outcome = (ctx.service)
        .apply_table_plan(plan, &files, &|done, total| bar.update(done, total))
        .await;
    bar.finish();
    let outcome = outcome.map_err(super::table::usage_exit)?;
    super::table::report_write(ctx, "created", &outcome)
}

/// Reads a plan file.
pub(crate) fn read(path: &Path) -> anyhow::Result<TablePlan> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Exit::usage(format!("cannot read the plan {}: {e}", path.display())))?;
    serde_yaml::from_str(&text)
        .map_err(|e| Exit::usage(format!("{} is not a table plan: {e}", path.display())).into())
}
