//! [`Embedded`]: the [`Service`] over a lake opened in this process.

use async_trait::async_trait;
use bayou_catalog::{Commit, DiffEntry, Namespace, Ref, RefKind, Resolved, TableState};
use bayou_lake::Lake;
use bayou_types::{CommitId, TableKey};

use bayou_project::Project;
use bayou_runtime::{OnEvent, RunOptions, RunRecord};
use futures::StreamExt;

use crate::{
    CheckReport, Error, ExternalRequest, FileSource, GcReport, GcRequest, ImportRequest, Imported,
    MergeOutcome, Progress, QueryResult, Result, RunFilter, RunOutcome, RunRequest, Service,
    TableInfo, TablePlan, TableRequest, WriteOutcome,
};

/// The project of `request` in a directory of its own, which lives as long as the returned
/// guard: its files as sent, or the stored snapshot when only the hash came.
async fn project_dir(lake: &Lake, request: &RunRequest) -> Result<tempfile::TempDir> {
    let files: Vec<(String, String)> = match request.files.is_empty() {
        true => bayou_runtime::load_code(lake, &request.code_hash)
            .await?
            .into_iter()
            .collect(),
        false => request.files.clone(),
    };
    snapshot_dir(&files)
}

/// A code snapshot's files written to a directory of their own, removed with the guard.
pub(crate) fn snapshot_dir(files: &[(String, String)]) -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("bayou-run-")
        .tempdir()
        .map_err(|e| Error::Usage(format!("cannot make a directory for the project: {e}")))?;
    write_snapshot(dir.path(), files)?;
    Ok(dir)
}

/// Writes a code snapshot's files under `dir`. Paths come from another process or from
/// storage: only plain relative paths, which stay inside `dir`, are written.
pub fn write_snapshot(dir: &std::path::Path, files: &[(String, String)]) -> Result<()> {
    bayou_runtime::write_code(dir, files).map_err(|e| Error::Usage(e.to_string()))
}

/// The lake in this process, acting as its author.
#[derive(Debug, Clone)]
pub struct Embedded {
    pub(crate) lake: Lake,
    /// The machine's run settings (caches, uv, sandbox); `None`: this service runs no pipelines.
    runs: Option<RunOptions>,
    /// Whether each user has an active branch of their own (a server's users share a catalog).
    per_user: bool,
    /// Whether calls may read paths of this machine (not when serving a server's callers).
    pub(crate) host_files: bool,
    /// Whether the caller may do what changes the whole lake (`gc`): the lake's owner in this
    /// process, an admin key on a server.
    pub(crate) admin: bool,
    /// What this service's queries keep between them (shared with the server's other callers).
    queries: bayou_sql::QueryCache,
}

impl Embedded {
    pub fn new(lake: Lake) -> Self {
        Self {
            lake,
            runs: None,
            per_user: false,
            host_files: true,
            admin: true,
            queries: Default::default(),
        }
    }

    /// A service that also runs pipelines, with the machine's settings in `template`.
    pub fn with_runs(lake: Lake, template: RunOptions) -> Self {
        Self {
            lake,
            runs: Some(template),
            per_user: false,
            host_files: true,
            admin: true,
            queries: Default::default(),
        }
    }

    /// The same service with an active branch per user (the lake's author), as on a server:
    /// one user's `checkout` does not move another's default branch.
    pub fn per_user(mut self) -> Self {
        self.per_user = true;
        self
    }

    /// The same service reading no paths of this machine: tables are made of files a client
    /// sent or of `s3://` objects (a server's callers are elsewhere).
    pub fn without_host_files(mut self) -> Self {
        self.host_files = false;
        self
    }

    /// The same service for a caller who may (or may not) change the whole lake.
    pub fn with_admin(mut self, admin: bool) -> Self {
        self.admin = admin;
        self
    }

    /// The same service sharing the queries' cache with other services over this lake.
    pub fn with_query_cache(mut self, cache: bayou_sql::QueryCache) -> Self {
        self.queries = cache;
        self
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }
}

#[async_trait]
impl Service for Embedded {
    fn describe(&self) -> String {
        self.lake.location().display()
    }

    async fn set_active_branch(&self, branch: &str) -> Result<()> {
        let catalog = self.lake.catalog();
        match self.per_user {
            true => {
                catalog
                    .set_active_branch_of(self.lake.author(), branch)
                    .await?
            }
            false => catalog.set_active_branch(branch).await?,
        }
        Ok(())
    }

    async fn merge(&self, source: &str, into: &str) -> Result<MergeOutcome> {
        Ok(self.lake.merge(source, into).await?)
    }

    async fn table_info(&self, reference: &str, key: &TableKey) -> Result<TableInfo> {
        let version = self.lake.table_at(reference, key).await?;
        Ok(TableInfo::of(
            key.to_string(),
            reference.to_string(),
            &version,
        )?)
    }

    async fn drop_table(&self, branch: &str, key: &TableKey) -> Result<CommitId> {
        Ok(self.lake.drop_table(branch, key).await?)
    }

    async fn revert_table(
        &self,
        branch: &str,
        key: &TableKey,
        reference: &str,
    ) -> Result<CommitId> {
        Ok(self.lake.revert_table(branch, key, reference).await?)
    }

    async fn plan_table(&self, request: &TableRequest, files: &FileSource) -> Result<TablePlan> {
        self.plan_files(request, files).await
    }

    async fn create_table(
        &self,
        request: &TableRequest,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<WriteOutcome> {
        self.create_from_files(request, files, progress).await
    }

    async fn apply_table_plan(
        &self,
        plan: &TablePlan,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<WriteOutcome> {
        self.apply_plan(plan, files, progress).await
    }

    async fn import_data(
        &self,
        request: &ImportRequest,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<Imported> {
        self.import_files(request, files, progress).await
    }

    async fn encrypt_secret(&self, name: &str, plaintext: &str) -> Result<String> {
        let key = bayou_runtime::lake_secret_key(&self.lake)
            .await
            .map_err(bayou_runtime::Error::from)?;
        key.encrypt(name, plaintext).map_err(Error::Usage)
    }

    async fn create_external_table(&self, request: &ExternalRequest) -> Result<WriteOutcome> {
        self.register_external(request).await
    }

    async fn collect_garbage(&self, request: &GcRequest) -> Result<GcReport> {
        self.gc(request).await
    }

    async fn check_lake(&self) -> Result<CheckReport> {
        Ok(self.lake.check().await?)
    }

    async fn whoami(&self) -> Result<String> {
        Ok(self.lake.author().to_string())
    }

    async fn active_branch(&self) -> Result<String> {
        let catalog = self.lake.catalog();
        Ok(match self.per_user {
            true => catalog.active_branch_of(self.lake.author()).await?,
            false => catalog.active_branch().await?,
        })
    }

    async fn list_refs(&self) -> Result<Vec<Ref>> {
        Ok(self.lake.catalog().list_refs().await?)
    }

    async fn resolve(&self, spec: &str) -> Result<Resolved> {
        Ok(self.lake.catalog().resolve(spec).await?)
    }

    async fn create_ref(&self, name: &str, kind: RefKind, from: &str) -> Result<Ref> {
        Ok(self.lake.catalog().create_ref(name, kind, from).await?)
    }

    async fn delete_ref(&self, name: &str, kind: RefKind) -> Result<Ref> {
        // A server's user cannot delete the branch their own commands use, as on a laptop.
        if self.per_user && kind == RefKind::Branch && self.active_branch().await? == name {
            return Err(bayou_catalog::Error::ActiveBranch(name.to_string(), "delete").into());
        }
        Ok(self.lake.catalog().delete_ref(name, kind).await?)
    }

    async fn rename_branch(&self, from: &str, to: &str) -> Result<()> {
        let was_active = self.per_user && self.active_branch().await? == from;
        self.lake.catalog().rename_branch(from, to).await?;
        if was_active {
            self.set_active_branch(to).await?;
        }
        Ok(())
    }

    async fn list_tables(&self, at: &CommitId) -> Result<Vec<(TableKey, TableState)>> {
        Ok(self.lake.catalog().list_tables(at).await?)
    }

    async fn diff(&self, a: &CommitId, b: &CommitId) -> Result<Vec<DiffEntry>> {
        Ok(self.lake.catalog().diff(a, b).await?)
    }

    async fn log(
        &self,
        at: &CommitId,
        limit: usize,
        after: Option<&CommitId>,
    ) -> Result<Vec<Commit>> {
        Ok(self.lake.catalog().log(at, limit, after).await?)
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>> {
        Ok(self.lake.catalog().list_namespaces().await?)
    }

    async fn create_namespace(&self, name: &str) -> Result<bool> {
        Ok(self.lake.catalog().create_namespace(name).await?)
    }

    async fn delete_namespace(&self, name: &str) -> Result<()> {
        Ok(self.lake.catalog().delete_namespace(name).await?)
    }

    async fn code(&self, code_hash: &str) -> Result<Vec<(String, String)>> {
        let files = bayou_runtime::load_code(&self.lake, code_hash).await?;
        Ok(files.into_iter().collect())
    }

    async fn has_code(&self, code_hash: &str) -> Result<bool> {
        Ok(bayou_runtime::has_code(&self.lake, code_hash).await?)
    }

    async fn run(&self, request: RunRequest, on_event: OnEvent<'_>) -> Result<RunOutcome> {
        let Some(template) = &self.runs else {
            return Err(Error::Usage("this service does not run pipelines".into()));
        };
        if request.detach {
            return Err(Error::Usage(
                "--detach needs a server to keep the run going\n  hint: run with --remote URL, or without --detach"
                    .into(),
            ));
        }
        let dir = project_dir(&self.lake, &request).await?;
        let (project, diagnostics) =
            Project::load(dir.path()).map_err(|d| Error::Usage(d.to_string()))?;
        // A client that sent its files without their hash (the Python SDK, which leaves
        // picking the project's files to the project loader) is not checked against one.
        let hashed = !request.code_hash.is_empty();
        if !request.files.is_empty() && hashed && project.code_hash() != request.code_hash {
            return Err(Error::Usage(
                "the project files do not match their hash: send them again".into(),
            ));
        }
        let options = request.spec.over(template);
        let record =
            bayou_runtime::run(&self.lake, &project, diagnostics, &options, on_event).await?;
        Ok(RunOutcome::Finished(Box::new(record)))
    }

    async fn get_run(&self, id: &str) -> Result<Option<RunRecord>> {
        Ok(bayou_runtime::load_run(&self.lake, id).await?)
    }

    async fn list_runs(&self, filter: &RunFilter, limit: usize) -> Result<Vec<RunRecord>> {
        Ok(bayou_runtime::list_runs(&self.lake, filter, limit).await?)
    }

    async fn follow_run(&self, id: &str, _on_event: OnEvent<'_>) -> Result<RunRecord> {
        // Runs of an embedded lake live in their own processes: only their records are shared.
        bayou_runtime::load_run(&self.lake, id)
            .await?
            .ok_or_else(|| Error::Usage(bayou_runtime::unknown_run(id)))
    }

    async fn cancel_run(&self, id: &str) -> Result<()> {
        // In process, the caller stopped the run by dropping it; what is left is the record
        // (a finished one is left as it is).
        Ok(bayou_runtime::mark_interrupted(&self.lake, id).await?)
    }

    async fn query(&self, reference: &str, sql: &str) -> Result<QueryResult> {
        let engine = bayou_sql::QueryEngine::with_cache(self.lake.clone(), self.queries.clone());
        let result = engine.query(reference, sql).await?;
        Ok(QueryResult {
            schema: result.schema,
            commit: result.commit,
            batches: result
                .stream
                .map(|batch| {
                    batch.map_err(|e| Error::from(bayou_sql::Error::Execution(e.to_string())))
                })
                .boxed(),
        })
    }
}
