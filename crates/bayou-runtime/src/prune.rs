//! Pruning the run branches that runs left behind: a failed or crashed run keeps its branch
//! for inspection; after a while (`gc --keep-runs-days`) it goes, and with it what only that
//! branch reached.

use std::time::Duration;

use bayou_catalog::{RefKind, RunFilter};
use bayou_lake::Lake;

use crate::Result;
use crate::record::{self, RunStatus};

/// Deletes the run branches of failed and crashed runs that finished more than `keep` ago
/// (only lists them when `dry_run`); their records then say the branch is gone. Returns the
/// branches.
pub async fn prune_run_branches(lake: &Lake, keep: Duration, dry_run: bool) -> Result<Vec<String>> {
    record::settle_crashed(lake).await?;
    let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    let before_ms = chrono::Utc::now()
        .timestamp_millis()
        .saturating_sub(keep_ms);
    let mut pruned = Vec::new();
    for status in [RunStatus::Failed, RunStatus::Crashed] {
        let filter = RunFilter {
            status: Some(record::status_of(status).to_string()),
            finished_before_ms: Some(before_ms),
            ..Default::default()
        };
        for row in lake.catalog().list_runs(&filter, 10_000).await? {
            let mut run = record::parse(&row)?;
            let Some(branch) = run.run_branch.clone().filter(|_| run.run_branch_kept) else {
                continue;
            };
            if !dry_run {
                match lake.catalog().delete_ref(&branch, RefKind::Branch).await {
                    Ok(_) | Err(bayou_catalog::Error::UnknownRef(_)) => {}
                    Err(e) => return Err(e.into()),
                }
                run.run_branch_kept = false;
                record::save(lake, &run).await?;
            }
            pruned.push(branch);
        }
    }
    Ok(pruned)
}
