//! `lake check`: every ref resolves, every table version a commit of the catalog holds parses,
//! and every file those versions name exists.

use futures::StreamExt as _;

use crate::{Lake, Result};

/// What a check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub refs: usize,
    pub commits: usize,
    /// Table versions (metadata files) the history holds.
    pub table_versions: usize,
    /// Files those versions name, each checked to exist.
    pub files: usize,
    /// Each problem: a location and what is wrong with it. Empty: the lake is whole.
    pub problems: Vec<String>,
}

impl Lake {
    /// Checks the lake (see the module's doc). Problems are reported, not returned as errors.
    pub async fn check(&self) -> Result<CheckReport> {
        // Every commit the catalog holds: any of them resolves by its id.
        let reach = self.reach(i64::MIN).await?;
        let mut problems = reach.problems;
        let storage = &self.storage;
        let mut looked = futures::stream::iter(reach.files.iter().cloned())
            .map(|file: String| async move {
                let found = storage.exists(&file).await;
                (file, found)
            })
            .buffer_unordered(16);
        while let Some((file, found)) = looked.next().await {
            match found {
                Ok(true) => {}
                Ok(false) => problems.push(format!("{file}: missing")),
                Err(e) => problems.push(format!("{file}: {e}")),
            }
        }
        problems.sort();
        problems.dedup();
        Ok(CheckReport {
            refs: reach.refs,
            commits: reach.commits,
            table_versions: reach.metadata.len(),
            files: reach.files.len(),
            problems,
        })
    }
}
