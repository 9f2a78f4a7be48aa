//! [`RunRecord`]: what a run did, stored in the lake as `runs/<id>.json`, next to the code it
//! ran (`code/<sha256>.json`, content-addressed).

use std::collections::BTreeMap;

use bayou_catalog::{RunFilter, RunRow};
use bayou_lake::Lake;
use bayou_plan::PlanNode;
use bayou_project::{Node, ParamValue, Project};
use bayou_types::CommitId;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// The process running it died before it finished (its lease ran out): nothing of it was
    /// published, and its run branch is kept for inspection.
    Crashed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    Succeeded,
    Failed,
    /// An expectation failed: returned False, failed an `assert` or returned no bool (the
    /// report's `error` says which).
    ExpectationFailed,
    /// Not run because an earlier node failed.
    Skipped,
    /// Not selected (`-m`): its table in the lake stood in for its output.
    FromLake,
}

/// One node's part in a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeReport {
    pub name: String,
    pub kind: String,
    pub status: NodeStatus,
    pub rows: Option<u64>,
    /// When it started (milliseconds since the epoch); `None` for a node that never ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<i64>,
    pub seconds: f64,
    /// The size of the output's Arrow buffers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Reused from an earlier execution with the same fingerprint, not executed.
    #[serde(default)]
    pub cached: bool,
    /// What the node's output is keyed by in the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The table written, for materialized models.
    pub materialized: Option<String>,
    pub error: Option<String>,
    /// The last lines the function printed.
    pub log: Vec<String>,
    /// The first rows of the output, as JSON objects (with `--preview`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preview: Vec<serde_json::Value>,
    /// The output's columns, in order (with `--preview`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Python functions: milliseconds spent in each phase of the invocation (see
    /// [`crate::python::PHASES`]); the user's own code is `user_load` and `user_call`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub phases_ms: BTreeMap<String, f64>,
    /// Python functions: the platform's share of the invocation in milliseconds (sandbox,
    /// interpreter, runner, mapping inputs, returning the output), user code excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead_ms: Option<f64>,
    /// The worker that ran it, when not the run's own process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// Bytes that crossed hosts for it (its inputs to the worker, its output back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_bytes: Option<u64>,
}

impl NodeReport {
    pub(crate) fn new(node: &Node) -> Self {
        let mut report = Self::named(&node.name);
        report.kind = bayou_plan::kind_name(node).into();
        report.status = NodeStatus::Succeeded;
        report
    }

    /// The report of a node known only by its name (a task whose project could not load).
    pub(crate) fn named(name: &str) -> Self {
        Self {
            name: name.to_string(),
            kind: "python".into(),
            status: NodeStatus::Failed,
            rows: None,
            started_ms: Some(crate::env::now_ms()),
            seconds: 0.0,
            bytes: None,
            cached: false,
            fingerprint: None,
            materialized: None,
            error: None,
            log: vec![],
            preview: vec![],
            columns: vec![],
            phases_ms: BTreeMap::new(),
            overhead_ms: None,
            worker: None,
            moved_bytes: None,
        }
    }
}

/// One run of a project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub project: Option<String>,
    /// SHA-256 of the project files; the code is stored at `code/<code_hash>.json`.
    pub code_hash: String,
    pub params: BTreeMap<String, serde_json::Value>,
    pub target_branch: String,
    /// The commit of the target branch the run read from.
    pub base_commit: CommitId,
    pub run_branch: Option<String>,
    pub run_branch_kept: bool,
    pub dry_run: bool,
    pub status: RunStatus,
    /// The plan, in execution order.
    #[serde(default)]
    pub plan: Vec<PlanNode>,
    pub nodes: Vec<NodeReport>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
    /// The target's head after publishing.
    pub published: Option<CommitId>,
    /// Bytes of data files read from object storage and from the local scan cache during the
    /// run (lakes in object storage only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_bytes: Option<bayou_lake::ScanBytes>,
    /// The commit each `ref=` of an input resolved to when the run started.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refs: BTreeMap<String, CommitId>,
    /// The namespace materialized models were written to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The run this one replays (`bayou rerun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
    /// `-a key=value` arguments the run was given (kept for bauplan tooling; bayou reads none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// Whether it wrote through a run branch (false: `--no-transaction`, straight to the target).
    #[serde(default = "yes")]
    pub transaction: bool,
    /// Who ran it: the lake's author (on a server, the API key's user).
    #[serde(default)]
    pub user: String,
    /// Whether its nodes' logs were dropped (they are kept for a while; the rest stays).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub logs_pruned: bool,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    /// The process running it (see [`crate::lease`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// When a crashed run's process was last seen alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_ms: Option<i64>,
}

fn yes() -> bool {
    true
}

impl RunRecord {
    pub(crate) fn new(
        id: &str,
        project: &Project,
        params: &BTreeMap<String, ParamValue>,
        target: &str,
        base: &CommitId,
        run_branch: Option<String>,
        dry_run: bool,
    ) -> Self {
        Self {
            id: id.to_string(),
            project: project.config.name.clone(),
            code_hash: project.code_hash(),
            params: params
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
                .collect(),
            target_branch: target.to_string(),
            base_commit: base.clone(),
            run_branch_kept: run_branch.is_some(),
            run_branch,
            dry_run,
            status: RunStatus::Running,
            plan: vec![],
            nodes: vec![],
            warnings: vec![],
            error: None,
            published: None,
            replay_of: None,
            args: BTreeMap::new(),
            transaction: true,
            namespace: None,
            refs: BTreeMap::new(),
            scan_bytes: None,
            user: String::new(),
            logs_pruned: false,
            started_ms: chrono::Utc::now().timestamp_millis(),
            finished_ms: None,
            holder: Some(crate::lease::this_process()),
            last_seen_ms: None,
        }
    }

    pub(crate) fn fail(&mut self, why: String) {
        self.status = RunStatus::Failed;
        if self.error.is_none() {
            self.error = Some(why);
        }
    }
}

/// What kind of run a record is, as `job ls --kind` names it.
fn kind_of(record: &RunRecord) -> &'static str {
    match (&record.replay_of, record.dry_run) {
        (Some(_), _) => "rerun",
        (None, true) => "dry-run",
        (None, false) => "run",
    }
}

pub(crate) fn status_of(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "running",
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "failed",
        RunStatus::Crashed => "crashed",
    }
}

/// Writes a run's record into the catalog's run history.
pub(crate) async fn save(lake: &Lake, record: &RunRecord) -> Result<()> {
    let body = serde_json::to_string(record).map_err(|e| Error::Internal(e.to_string()))?;
    let row = RunRow {
        id: record.id.clone(),
        user: record.user.clone(),
        status: status_of(record.status).to_string(),
        kind: kind_of(record).to_string(),
        target_branch: record.target_branch.clone(),
        started_ms: record.started_ms,
        finished_ms: record.finished_ms,
        logs_kept: !record.logs_pruned,
        record: body,
        holder: record.holder.clone(),
        // Saving is a sign of life too.
        heartbeat_ms: Some(chrono::Utc::now().timestamp_millis()),
    };
    lake.catalog().put_run(&row).await?;
    Ok(())
}

pub(crate) fn parse(row: &RunRow) -> Result<RunRecord> {
    serde_json::from_str(&row.record)
        .map_err(|e| Error::Internal(format!("run record {}: {e}", row.id)))
}

/// Moves run records an older bayou kept as `runs/<id>.json` objects into the catalog, once.
async fn adopt_legacy_records(lake: &Lake) -> Result<()> {
    const DONE: &str = "runs_adopted";
    if lake.catalog().setting(DONE).await?.is_some() {
        return Ok(());
    }
    for location in lake.storage().list("runs/").await? {
        let bytes = lake.storage().read(&location).await?;
        if let Ok(mut record) = serde_json::from_slice::<RunRecord>(&bytes) {
            if record.user.is_empty() {
                // Who ran it was not recorded then.
                record.user = "unknown".to_string();
            }
            save(lake, &record).await?;
        }
    }
    lake.catalog().init_setting(DONE, "1").await?;
    Ok(())
}

/// Drops the nodes' logs of runs that finished more than `age` ago (the rest of each record
/// stays); returns how many records were pruned.
pub async fn prune_logs(lake: &Lake, age: std::time::Duration) -> Result<usize> {
    let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
    let before_ms = chrono::Utc::now().timestamp_millis().saturating_sub(age_ms);
    let filter = RunFilter {
        finished_before_ms: Some(before_ms),
        logs_kept: Some(true),
        ..Default::default()
    };
    let rows = lake.catalog().list_runs(&filter, 1000).await?;
    for row in &rows {
        let mut record = parse(row)?;
        for node in &mut record.nodes {
            node.log.clear();
        }
        record.logs_pruned = true;
        save(lake, &record).await?;
    }
    Ok(rows.len())
}

pub(crate) async fn save_code(lake: &Lake, project: &Project) -> Result<()> {
    let location = lake
        .storage()
        .location(&format!("code/{}.json", project.code_hash()));
    if lake.storage().exists(&location).await? {
        return Ok(());
    }
    let files: BTreeMap<String, &str> = project
        .files
        .iter()
        .map(|(p, t)| (p.display().to_string(), t.as_str()))
        .collect();
    let body = serde_json::to_vec(&files).map_err(|e| Error::Internal(e.to_string()))?;
    lake.storage().put(&location, body).await?;
    Ok(())
}

/// What to say of a run id that names no run, everywhere one is looked up.
pub fn unknown_run(id: &str) -> String {
    format!("unknown run '{id}'\n  hint: list runs with `bayou job ls`")
}

/// Whether the code snapshot `code_hash` is stored.
pub async fn has_code(lake: &Lake, code_hash: &str) -> Result<bool> {
    if code_hash.is_empty() || !code_hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(false);
    }
    let location = lake.storage().location(&format!("code/{code_hash}.json"));
    Ok(lake.storage().exists(&location).await?)
}

/// The project files a run ran, by path, from its content-addressed snapshot.
pub async fn load_code(lake: &Lake, code_hash: &str) -> Result<BTreeMap<String, String>> {
    if code_hash.is_empty() || !code_hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!(
            "'{code_hash}' is no code snapshot id"
        )));
    }
    let location = lake.storage().location(&format!("code/{code_hash}.json"));
    let bytes = lake.storage().read(&location).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Internal(format!("code snapshot {code_hash}: {e}")))
}

/// Why a stopped run failed: Ctrl-C, `job stop`, a client that went away, a server shutting
/// down.
const INTERRUPTED: &str = "interrupted: stopped before it finished";

/// Records that run `id` was interrupted (Ctrl-C, `job stop`, a client gone), so it does not
/// stay "running" for good. A run stopped while it published may have published all the same
/// (a merge is one atomic commit): then its record says so, since the target holds its output.
pub async fn mark_interrupted(lake: &Lake, id: &str) -> Result<()> {
    let Some(mut record) = load_run(lake, id).await? else {
        return Ok(());
    };
    if record.finished_ms.is_some() {
        return Ok(());
    }
    close(lake, &mut record, INTERRUPTED.into()).await?;
    record.finished_ms = Some(chrono::Utc::now().timestamp_millis());
    save(lake, &record).await
}

/// Closes a run that stopped before it finished, failed for `why`, unless its publication
/// landed all the same (a merge is one atomic commit).
async fn close(lake: &Lake, record: &mut RunRecord, why: String) -> Result<()> {
    match (published_by(lake, record).await?, record.transaction) {
        // Through a run branch, the run's commits reach the target only by its final merge.
        (Some(head), true) => {
            record.status = RunStatus::Succeeded;
            record.published = Some(head);
        }
        // Without one, what it wrote before it stopped stays in the target.
        (published, false) => {
            record.published = published;
            record.fail(why);
        }
        (None, true) => record.fail(why),
    }
    Ok(())
}

/// Run `row`, settled if it is "running" but its holder is gone (see [`crate::lease`]): then
/// it is recorded as crashed (or as published, if its merge landed before it died), with when
/// it was last seen. Of two settling at once, one wins and the other reads what it recorded.
async fn settled(lake: &Lake, row: RunRow) -> Result<RunRecord> {
    let record = parse(&row)?;
    let now = chrono::Utc::now().timestamp_millis();
    let seen = row.heartbeat_ms.unwrap_or(row.started_ms);
    if record.status != RunStatus::Running || !crate::lease::gone(row.holder.as_deref(), seen, now)
    {
        return Ok(record);
    }
    let mut closed = record.clone();
    let seen_at = chrono::DateTime::from_timestamp_millis(seen).map_or_else(
        || seen.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    );
    let kept = match &closed.run_branch {
        Some(b) => format!("; its run branch {b} is kept for inspection"),
        None => String::new(),
    };
    let why = format!(
        "crashed: the process running it ({}) stopped before it finished; last seen {seen_at}{kept}",
        row.holder.as_deref().unwrap_or("unrecorded")
    );
    close(lake, &mut closed, why).await?;
    if closed.status == RunStatus::Failed {
        closed.status = RunStatus::Crashed;
    }
    closed.last_seen_ms = Some(seen);
    closed.finished_ms = Some(seen);
    let body = serde_json::to_string(&closed).map_err(|e| Error::Internal(e.to_string()))?;
    let new_row = RunRow {
        status: status_of(closed.status).to_string(),
        finished_ms: closed.finished_ms,
        record: body,
        ..row.clone()
    };
    if lake
        .catalog()
        .settle_run(&new_row, row.heartbeat_ms)
        .await?
    {
        return Ok(closed);
    }
    // Refreshed or settled by someone else meanwhile: what is recorded now stands.
    match lake.catalog().get_run(&row.id).await? {
        Some(now) => parse(&now),
        None => Ok(record),
    }
}

/// Settles every "running" run whose holder is gone (see [`settled`]); returns how many.
pub async fn settle_crashed(lake: &Lake) -> Result<usize> {
    let running = RunFilter {
        status: Some(status_of(RunStatus::Running).to_string()),
        ..Default::default()
    };
    let mut crashed = 0;
    for row in lake.catalog().list_runs(&running, 1000).await? {
        if settled(lake, row).await?.status != RunStatus::Running {
            crashed += 1;
        }
    }
    Ok(crashed)
}

/// The target's head if a commit of run `record` reached the target since the run started.
async fn published_by(lake: &Lake, record: &RunRecord) -> Result<Option<CommitId>> {
    // A target deleted since is no publication; any other failure is not a "no".
    let head = match lake.resolve(&record.target_branch).await {
        Ok(head) => head,
        Err(bayou_lake::Error::Catalog(bayou_catalog::Error::UnknownRef(_))) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if head.commit == record.base_commit {
        return Ok(None);
    }
    // Newest first, back to where the run started or to commits older than the run (its
    // publication is younger: the same process stamped both), a page at a time.
    let mut cursor = Some(head.commit.clone());
    while let Some(at) = cursor {
        const PAGE: usize = 100;
        let page = lake.catalog().log(&at, PAGE, None).await?;
        for commit in &page {
            if commit.id == record.base_commit || commit.time_ms < record.started_ms {
                return Ok(None);
            }
            let ours = commit
                .properties
                .get("bayou_run_id")
                .is_some_and(|run| *run == record.id);
            if ours {
                return Ok(Some(head.commit));
            }
        }
        cursor = match page.len() {
            PAGE => page.last().and_then(|c| c.parents.first().cloned()),
            _ => None,
        };
    }
    Ok(None)
}

/// A stored run.
pub async fn load_run(lake: &Lake, id: &str) -> Result<Option<RunRecord>> {
    // An id is letters, digits and '-' (`20261122230501-3fa2c1`): never a path out of `runs/`.
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if id.is_empty() || !id.chars().all(plain) {
        return Err(Error::Usage(format!(
            "'{id}' is no run id
  hint: run ids look like 20261122230501-3fa2c1; list them with `bayou runs ls`"
        )));
    }
    adopt_legacy_records(lake).await?;
    match lake.catalog().get_run(id).await? {
        Some(row) => settled(lake, row).await.map(Some),
        None => Ok(None),
    }
}

/// The newest `limit` runs `filter` matches, newest first, from the catalog's index.
pub async fn list_runs(lake: &Lake, filter: &RunFilter, limit: usize) -> Result<Vec<RunRecord>> {
    adopt_legacy_records(lake).await?;
    settle_crashed(lake).await?;
    let rows = lake.catalog().list_runs(filter, limit).await?;
    rows.iter().map(parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lake(dir: &std::path::Path) -> Lake {
        let location = bayou_lake::LakeLocation::parse(dir.to_str().unwrap()).unwrap();
        let settings = bayou_lake::LakeSettings {
            author: "tester".into(),
            catalog: None,
            catalogs_dir: dir.join("catalogs"),
        };
        Lake::open(&location, &settings).await.unwrap()
    }

    /// A record of run `id` that started on main's head and is still "running".
    async fn running(lake: &Lake, id: &str, transaction: bool) -> RunRecord {
        let base = lake.resolve("main").await.unwrap().commit;
        let record: RunRecord = serde_json::from_value(serde_json::json!({
            "id": id, "project": "p", "code_hash": "00", "params": {},
            "target_branch": "main", "base_commit": base, "run_branch": null,
            "run_branch_kept": false, "dry_run": false, "status": "running", "nodes": [],
            "warnings": [], "error": null, "published": null, "transaction": transaction,
            "started_ms": 1, "finished_ms": null,
        }))
        .unwrap();
        save(lake, &record).await.unwrap();
        record
    }

    async fn commit_of(lake: &Lake, id: &str) -> CommitId {
        let request = bayou_catalog::CommitRequest {
            message: "publish".into(),
            author: "tester".into(),
            properties: crate::run_properties(id),
            ..Default::default()
        };
        lake.catalog().commit("main", request).await.unwrap().id
    }

    #[tokio::test]
    async fn a_run_stopped_after_its_merge_landed_is_recorded_as_published() {
        let dir = tempfile::tempdir().unwrap();
        let lake = lake(dir.path()).await;
        running(&lake, "r1", true).await;
        let head = commit_of(&lake, "r1").await;
        mark_interrupted(&lake, "r1").await.unwrap();
        let record = load_run(&lake, "r1").await.unwrap().unwrap();
        assert_eq!(record.status, RunStatus::Succeeded);
        assert_eq!(record.published, Some(head));
        // Another run's commit on the target is not this one's publication.
        running(&lake, "r2", true).await;
        commit_of(&lake, "someone-else").await;
        mark_interrupted(&lake, "r2").await.unwrap();
        let record = load_run(&lake, "r2").await.unwrap().unwrap();
        assert_eq!(record.status, RunStatus::Failed);
        assert!(record.error.unwrap().contains("interrupted"));
        assert_eq!(record.published, None);
    }

    #[tokio::test]
    async fn a_publication_more_than_a_page_of_commits_back_is_still_found() {
        let dir = tempfile::tempdir().unwrap();
        let lake = lake(dir.path()).await;
        running(&lake, "r1", true).await;
        let published = commit_of(&lake, "r1").await;
        for i in 0..150 {
            commit_of(&lake, &format!("later-{i}")).await;
        }
        mark_interrupted(&lake, "r1").await.unwrap();
        let record = load_run(&lake, "r1").await.unwrap().unwrap();
        assert_eq!(record.status, RunStatus::Succeeded);
        assert_ne!(
            record.published,
            Some(published),
            "the head then, not the commit"
        );
        assert!(record.published.is_some());
    }

    /// A lease holder on this machine whose process has exited.
    fn dead_holder() -> String {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let me = crate::lease::this_process();
        let parts: Vec<&str> = me.split('/').collect();
        format!("{}/{}/{pid}/{}", parts[0], parts[1], parts[3])
    }

    async fn held_by(lake: &Lake, id: &str, holder: String) {
        let mut record = running(lake, id, true).await;
        record.holder = Some(holder);
        save(lake, &record).await.unwrap();
    }

    #[tokio::test]
    async fn a_run_whose_process_died_is_settled_as_crashed_by_the_next_look() {
        let dir = tempfile::tempdir().unwrap();
        let lake = lake(dir.path()).await;
        held_by(&lake, "gone", dead_holder()).await;
        held_by(&lake, "alive", crate::lease::this_process()).await;
        let record = load_run(&lake, "gone").await.unwrap().unwrap();
        assert_eq!(record.status, RunStatus::Crashed);
        assert!(
            record.error.as_deref().unwrap_or("").starts_with("crashed"),
            "{:?}",
            record.error
        );
        assert!(record.last_seen_ms.is_some() && record.finished_ms == record.last_seen_ms);
        assert_eq!(
            load_run(&lake, "alive").await.unwrap().unwrap().status,
            RunStatus::Running
        );
        // A run that died after its merge landed published all the same.
        held_by(&lake, "merged", dead_holder()).await;
        let head = commit_of(&lake, "merged").await;
        let listed = list_runs(&lake, &RunFilter::default(), 10).await.unwrap();
        let merged = listed.iter().find(|r| r.id == "merged").unwrap();
        assert_eq!(
            (merged.status, merged.published.clone()),
            (RunStatus::Succeeded, Some(head))
        );
        // Settled once: looking again changes nothing.
        assert_eq!(settle_crashed(&lake).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_run_without_a_transaction_stopped_halfway_failed_and_says_what_stays() {
        let dir = tempfile::tempdir().unwrap();
        let lake = lake(dir.path()).await;
        running(&lake, "r3", false).await;
        let head = commit_of(&lake, "r3").await;
        mark_interrupted(&lake, "r3").await.unwrap();
        let record = load_run(&lake, "r3").await.unwrap().unwrap();
        assert_eq!(record.status, RunStatus::Failed);
        assert_eq!(
            record.published,
            Some(head),
            "what it wrote stays in the target"
        );
        // A finished record is left as it is.
        mark_interrupted(&lake, "r3").await.unwrap();
        assert_eq!(
            load_run(&lake, "r3").await.unwrap().unwrap().status,
            RunStatus::Failed
        );
    }
}
