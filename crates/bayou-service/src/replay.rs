//! A past run replayed from its code snapshot: [`replay_spec`], shared by `bayou rerun` and the
//! server's `Rerun` call (the web UI's "rerun").

use bayou_project::{ParamType, Project};
use bayou_runtime::RunRecord;

use crate::{Error, Replay, Result, RunSpec};

/// How a replay differs from the run it replays.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Run from this model on (`--from`), reading the models before it from `parents_from`.
    pub from: Option<String>,
    /// Where the models before `from` are read from: the commit the replayed run published, or
    /// its kept run branch.
    pub parents_from: Option<String>,
    /// Whether the target moves; else the output stays on the kept run branch.
    pub publish: bool,
    pub strict: bool,
    pub jobs: Option<usize>,
}

/// The project of a code snapshot, written to a directory of its own (kept as long as the
/// returned guard lives).
pub fn load_snapshot(files: &[(String, String)]) -> Result<(tempfile::TempDir, Project)> {
    let dir = crate::embedded::snapshot_dir(files)?;
    let (project, _) = Project::load(dir.path()).map_err(|d| Error::Usage(d.to_string()))?;
    Ok((dir, project))
}

/// The run that replays `past` (whose code is `project`): the same target, namespace and
/// parameters over the data commit it started from, into a new run branch. A secret was
/// recorded masked, so it is left to the snapshot's encrypted value instead.
pub fn replay_spec(past: &RunRecord, project: &Project, options: ReplayOptions) -> RunSpec {
    let secret = |name: &str| {
        project
            .config
            .parameters
            .get(name)
            .is_some_and(|p| p.ty == ParamType::Secret)
    };
    let params = past
        .params
        .iter()
        .filter(|(k, _)| !secret(k))
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    RunSpec {
        branch: past.target_branch.clone(),
        namespace: past.namespace.clone(),
        strict: options.strict,
        params,
        transaction: true,
        jobs: options.jobs,
        // A replay executes; the models before `from` come from the cache, or from the tables
        // the replayed run published.
        no_cache: true,
        select: options.from.iter().map(|from| format!("{from}+")).collect(),
        replay: Some(Replay {
            of: past.id.clone(),
            base: past.base_commit.as_str().to_string(),
            pinned_refs: past.refs.clone(),
            parents_from: options.parents_from,
            publish: options.publish,
        }),
        ..Default::default()
    }
}
