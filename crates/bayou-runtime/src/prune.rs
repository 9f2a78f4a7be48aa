//! Pruning the run branches that runs left behind: a failed or crashed run keeps its branch
//! for inspection; after a while (`gc --keep-runs-days`) it goes, and with it what only that
//! branch reached.

use std::time::Duration;

use bayou_catalog::{RefKind, RunFilter};
use bayou_lake::Lake;

use crate::Result;
use crate::record::{self, RunStatus};

/// Runs read at a time.
const PAGE: usize = 1000;

/// Deletes the kept run branch of the run in `row` (only names it when `dry_run`); its record
/// then says the branch is gone.
async fn prune_one(
    lake: &Lake,
    row: &bayou_catalog::RunRow,
    dry_run: bool,
) -> Result<Option<String>> {
    let mut run = record::parse(row)?;
    let Some(branch) = run.run_branch.clone().filter(|_| run.run_branch_kept) else {
        return Ok(None);
    };
    if !dry_run {
        match lake.catalog().delete_ref(&branch, RefKind::Branch).await {
            Ok(_) | Err(bayou_catalog::Error::UnknownRef(_)) => {}
            Err(e) => return Err(e.into()),
        }
        run.run_branch_kept = false;
        record::save(lake, &run).await?;
    }
    Ok(Some(branch))
}

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
    let mut seen = std::collections::HashSet::new();
    for status in [RunStatus::Failed, RunStatus::Crashed] {
        let mut filter = RunFilter {
            status: Some(record::status_of(status).to_string()),
            finished_before_ms: Some(before_ms),
            ..Default::default()
        };
        // Page by start time, newest first: a pruned run still matches the filter, so a
        // page of them must not hide older ones. A page ends at a millisecond; the next one
        // takes that millisecond again (runs seen already are skipped).
        loop {
            let rows = lake.catalog().list_runs(&filter, PAGE).await?;
            for row in rows.iter().filter(|r| seen.insert(r.id.clone())) {
                if let Some(branch) = prune_one(lake, row, dry_run).await? {
                    pruned.push(branch);
                }
            }
            let next = rows.last().map(|r| r.started_ms.saturating_add(1));
            match next {
                Some(next) if rows.len() == PAGE && Some(next) != filter.started_before_ms => {
                    filter.started_before_ms = Some(next);
                }
                _ => break,
            }
        }
    }
    Ok(pruned)
}
