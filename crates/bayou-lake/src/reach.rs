//! [`Reach`]: what the catalog's refs reach, and the commits made since a time (which `gc`
//! keeps, and whose ids resolve). Every commit of every branch and tag (all parents, merges
//! included), the table versions those commits hold, and every file their
//! snapshots name: metadata, manifest lists, manifests, data and delete files, and the
//! statistics files engines attach to them. `lake check` verifies it; `gc` keeps it and
//! nothing else.

use std::collections::{BTreeSet, HashSet};

use bayou_types::CommitId;

use crate::{Lake, Result, table};

/// What the refs reach, and what could not be read on the way.
#[derive(Debug, Default)]
pub struct Reach {
    pub refs: usize,
    pub commits: usize,
    /// Metadata locations of the table versions the commits hold.
    pub metadata: BTreeSet<String>,
    /// Every file those versions name (their metadata files included), as absolute locations.
    pub files: BTreeSet<String>,
    /// What could not be read (a location and why): a lake with any is not collected.
    pub problems: Vec<String>,
}

impl Lake {
    /// Walks the history of every ref and of every commit made at or after `since_ms`, and
    /// every table version they hold (see [`Reach`]).
    pub async fn reach(&self, since_ms: i64) -> Result<Reach> {
        let refs = self.catalog.list_refs().await?;
        let mut reach = Reach {
            refs: refs.len(),
            ..Default::default()
        };
        let mut stack: Vec<CommitId> = refs.into_iter().map(|r| r.head).collect();
        stack.extend(self.catalog.commits_since(since_ms).await?);
        let mut seen = HashSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let commit = self.catalog.get_commit(&id).await?;
            stack.extend(commit.parents.iter().cloned());
            for (_, state) in self.catalog.list_tables(&id).await? {
                reach.metadata.insert(state.metadata_location);
            }
        }
        reach.commits = seen.len();
        let mut read = HashSet::new();
        let locations: Vec<String> = reach.metadata.iter().cloned().collect();
        for location in locations {
            self.reach_version(&location, &mut read, &mut reach).await;
        }
        Ok(reach)
    }

    /// Adds the files of the table version at `location` (every snapshot it lists) to `reach`;
    /// `read` holds the manifest lists and manifests read already (versions share most).
    async fn reach_version(&self, location: &str, read: &mut HashSet<String>, reach: &mut Reach) {
        reach.files.insert(location.to_string());
        let version = match table::load(&self.storage, location).await {
            Ok(v) => v,
            Err(e) => return reach.problems.push(format!("{location}: {e}")),
        };
        let format = version.metadata.format_version();
        // Statistics (Puffin) files an engine attached: kept with the version naming them.
        let metadata = &version.metadata;
        reach.files.extend(
            metadata
                .statistics_iter()
                .map(|s| s.statistics_path.clone())
                .chain(
                    metadata
                        .partition_statistics_iter()
                        .map(|s| s.statistics_path.clone()),
                ),
        );
        for snapshot in version.metadata.snapshots() {
            let list = snapshot.manifest_list().to_string();
            reach.files.insert(list.clone());
            if !read.insert(list.clone()) {
                continue;
            }
            let parsed = match self.storage.read(&list).await {
                Ok(bytes) => table::parse_manifest_list(&bytes, format, &list),
                Err(e) => Err(e),
            };
            let manifests = match parsed {
                Ok(l) => l.consume_entries().into_iter().collect::<Vec<_>>(),
                Err(e) => return reach.problems.push(format!("{list}: {e}")),
            };
            for manifest in manifests {
                let path = manifest.manifest_path;
                reach.files.insert(path.clone());
                if !read.insert(path.clone()) {
                    continue;
                }
                let parsed = match self.storage.read(&path).await {
                    Ok(bytes) => table::parse_manifest(&bytes, &path),
                    Err(e) => Err(e),
                };
                match parsed {
                    Ok(m) => reach.files.extend(
                        m.entries()
                            .iter()
                            .filter(|e| e.is_alive())
                            .map(|e| e.data_file().file_path().to_string()),
                    ),
                    Err(e) => reach.problems.push(format!("{path}: {e}")),
                }
            }
        }
    }
}
