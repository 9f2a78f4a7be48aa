//! Keeping a lake whole and small: `gc` (run branches, commits and files no ref reaches) and
//! `lake check`. gc changes what every user can reach, so only the lake's owner may run it:
//! the embedded user, or an admin key on a server.

use std::time::Duration;

use bayou_types::CommitId;

pub use bayou_lake::{CheckReport, RemovedFile};

use crate::{Embedded, Error, Result};

/// What `gc` should do.
#[derive(Debug, Clone, Copy)]
pub struct GcRequest {
    /// What no ref reaches is removed once it is this old (a write in flight is younger).
    pub older_than: Duration,
    /// The branches of failed and crashed runs are kept this long after they finish.
    pub keep_runs: Duration,
    /// List what would go; remove nothing.
    pub dry_run: bool,
}

/// What `gc` removed (or, on a dry run, would remove).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    /// Branches of failed and crashed runs, pruned.
    pub run_branches: Vec<String>,
    /// Commits no ref reaches any more, removed from the catalog. A dry run lists those
    /// unreachable already, not those the pruned branches would leave.
    pub commits: Vec<CommitId>,
    pub files: Vec<RemovedFile>,
    pub bytes: u64,
    /// Files no ref reaches that are younger than `older_than`, kept for now.
    pub young_kept: usize,
    /// Files the refs reach (kept).
    pub reachable: usize,
}

impl Embedded {
    pub(crate) async fn gc(&self, request: &GcRequest) -> Result<GcReport> {
        if !self.admin {
            return Err(Error::Forbidden(format!(
                "only an admin key may collect the lake's garbage ({} is not one)\n  hint: an admin makes one with `bayou server key create --user NAME --admin` on the server's machine",
                self.lake.author()
            )));
        }
        let lake = &self.lake;
        let run_branches =
            bayou_runtime::prune_run_branches(lake, request.keep_runs, request.dry_run).await?;
        let grace_ms = i64::try_from(request.older_than.as_millis()).unwrap_or(i64::MAX);
        let before_ms = bayou_catalog::now_ms().saturating_sub(grace_ms);
        let commits = lake
            .catalog()
            .expire_commits(before_ms, request.dry_run)
            .await?;
        // One cutoff for both: a commit kept for being young keeps its files.
        let files = lake.collect_garbage(before_ms, request.dry_run).await?;
        Ok(GcReport {
            dry_run: request.dry_run,
            run_branches,
            commits,
            files: files.files,
            bytes: files.bytes,
            young_kept: files.young_kept,
            reachable: files.reachable,
        })
    }
}
