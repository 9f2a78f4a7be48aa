//! Garbage collection of files: whatever lies under the lake's `tables/` that neither a ref's
//! history nor a commit younger than a grace period reaches (see [`crate::Reach`]), and that
//! was itself written before the grace period, is removed, half-written files of killed writes
//! included. The grace keeps a write in flight safe (its files exist before its commit names
//! them).
//!
//! Trade-off: snapshots are never cut out of a metadata file that a kept commit holds (that
//! would rewrite history); a snapshot is expired when no kept commit holds a version listing
//! it, i.e. with the branch (a failed run's, a deleted one) that made it. The commits no ref
//! reaches go from the catalog in the same `gc` (`Catalog::expire_commits`), so no id is left
//! that would resolve to a version whose files are gone.

use std::collections::HashSet;

use crate::{Error, Lake, Result};

/// A file `gc` removed (or, on a dry run, would remove).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RemovedFile {
    pub location: String,
    pub bytes: u64,
}

/// The files no ref reaches that `gc` removed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OrphanFiles {
    pub dry_run: bool,
    pub files: Vec<RemovedFile>,
    pub bytes: u64,
    /// Files no ref reaches that are younger than the grace period, kept for now.
    pub young_kept: usize,
    /// Files the refs reach (kept).
    pub reachable: usize,
}

impl Lake {
    /// Removes the files under `tables/` that neither a ref nor a commit made at or after
    /// `before_ms` reaches, and that were last written before `before_ms` (only lists them
    /// when `dry_run`); pass the time `Catalog::expire_commits` was given. Refuses to remove
    /// anything from a lake whose history cannot be read whole: a file it could not see might
    /// be needed.
    pub async fn collect_garbage(&self, before_ms: i64, dry_run: bool) -> Result<OrphanFiles> {
        let cutoff = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(before_ms)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let reach = self.reach(before_ms).await?;
        if let Some(first) = reach.problems.first() {
            return Err(Error::InvalidInput(format!(
                "the lake's history cannot be read whole ({} problem(s), first: {first}); nothing was removed\n  hint: `bayou lake check` lists them",
                reach.problems.len()
            )));
        }
        let live: HashSet<String> = reach
            .files
            .iter()
            .filter_map(|f| self.storage.path(f).ok().map(|p| p.to_string()))
            .collect();
        let mut report = OrphanFiles {
            dry_run,
            files: vec![],
            bytes: 0,
            young_kept: 0,
            reachable: reach.files.len(),
        };
        let root = self.storage.location("");
        for object in self.storage.list_objects("tables/").await? {
            if live.contains(object.location.as_ref()) {
                continue;
            }
            if object.last_modified > cutoff {
                report.young_kept += 1;
                continue;
            }
            if !dry_run {
                self.storage.delete(&object.location).await?;
            }
            let relative = object
                .location
                .as_ref()
                .strip_prefix(self.storage.path(&root)?.as_ref())
                .unwrap_or(object.location.as_ref())
                .trim_start_matches('/')
                .to_string();
            report.bytes += object.size;
            report.files.push(RemovedFile {
                location: self.storage.location(&relative),
                bytes: object.size,
            });
        }
        // What killed writes left half-written: never reachable, kept only while young.
        for file in self.storage.list_unfinished("tables/").await? {
            if chrono::DateTime::<chrono::Utc>::from(file.modified) > cutoff {
                report.young_kept += 1;
                continue;
            }
            if !dry_run {
                file.remove()?;
            }
            report.bytes += file.size;
            report.files.push(RemovedFile {
                location: file.path.display().to_string(),
                bytes: file.size,
            });
        }
        Ok(report)
    }
}
