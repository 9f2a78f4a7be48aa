//! The `Service` API: the one seam between bayou's clients and a lake.
//!
//! Entry points: the [`Service`] trait, [`Embedded`] (the lake in this process) and [`wire`]
//! (conversions to and from `bayou-proto` messages, shared by the server and the client).
//! Trade-off: the API speaks the catalog's own model types (refs, commits, table states), so an
//! embedded call costs nothing extra, and the wire maps them field by field; a new call is added
//! to the trait, the `.proto`, [`Embedded`], the server and the client together.

mod embedded;
mod error;
mod imports;
mod maintain;
mod replay;
mod runs;
mod tables;
pub mod wire;
mod writes;

use std::pin::Pin;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
pub use bayou_catalog::{
    Commit, DiffEntry, Namespace, Ref, RefKind, Resolved, RunFilter, TableState,
};
pub use bayou_lake::{
    Error as LakeError, MergeOutcome, NamedFile, Progress, WriteMode, WriteOutcome, local_files,
};
pub use bayou_runtime::{Event, OnEvent, RunRecord};
pub use bayou_sql::{Distribution, QueryCache, Workers as QueryWorkers};
use bayou_types::{CommitId, TableKey};
pub use embedded::{Embedded, write_snapshot};
pub use error::{Error, ErrorKind, Result};
pub use imports::{
    Conflict, ExternalRequest, FileSource, ImportRequest, Imported, PlannedColumn, TablePlan,
    TableRequest, plan_here,
};
pub use maintain::{CheckReport, GcReport, GcRequest, RemovedFile};
pub use replay::{ReplayOptions, load_snapshot, replay_spec};
pub use runs::{Replay, RunRequest, RunSpec, RunUpdate};
pub use tables::{Column, TableInfo, TableSnapshot};

/// Record batches as they arrive.
pub type BatchStream = Pin<Box<dyn futures::Stream<Item = Result<RecordBatch>> + Send>>;

/// A query's answer: its schema, the commit it read, and its rows as a stream.
pub struct QueryResult {
    pub schema: SchemaRef,
    pub commit: CommitId,
    pub batches: BatchStream,
}

/// How a run call ended: the run finished (passed or failed), or it goes on detached.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    Finished(Box<RunRecord>),
    Detached(String),
}

/// What a client can ask of a lake. Every call acts as one user (the embedded lake's author, or
/// the owner of the API key a server was reached with).
#[async_trait]
pub trait Service: Send + Sync {
    /// Where the lake is, for people: its location, or the server's URL.
    fn describe(&self) -> String;
    /// The user calls act as.
    async fn whoami(&self) -> Result<String>;
    /// The branch commands use when none is given.
    async fn active_branch(&self) -> Result<String>;
    async fn list_refs(&self) -> Result<Vec<Ref>>;
    /// A branch, tag or (abbreviated) commit id.
    async fn resolve(&self, spec: &str) -> Result<Resolved>;
    async fn create_ref(&self, name: &str, kind: RefKind, from: &str) -> Result<Ref>;
    async fn delete_ref(&self, name: &str, kind: RefKind) -> Result<Ref>;
    async fn rename_branch(&self, from: &str, to: &str) -> Result<()>;
    /// Makes `branch` the one commands use when none is given.
    async fn set_active_branch(&self, branch: &str) -> Result<()>;
    /// Merges any ref into a branch: fast-forward, or a merge commit (appends on both sides of
    /// a table combine; other changes to one table on both sides conflict, naming the tables).
    async fn merge(&self, source: &str, into: &str) -> Result<MergeOutcome>;
    async fn table_info(&self, reference: &str, key: &TableKey) -> Result<TableInfo>;
    /// Removes a table from a branch; returns the commit.
    async fn drop_table(&self, branch: &str, key: &TableKey) -> Result<CommitId>;
    /// Sets a table on a branch back to its state at `reference`; returns the commit.
    async fn revert_table(&self, branch: &str, key: &TableKey, reference: &str)
    -> Result<CommitId>;
    /// The plan for making a table of `files`: each column with the type it will be stored
    /// as, and the conflicts between files (nothing is written).
    async fn plan_table(&self, request: &TableRequest, files: &FileSource) -> Result<TablePlan>;
    /// Makes a table of `files` (planned and applied at once; refused while files conflict).
    async fn create_table(
        &self,
        request: &TableRequest,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<WriteOutcome>;
    /// Makes the table of `plan` from `files` (the plan's `search_uri`, or the files sent for
    /// it), each column stored as the plan says.
    async fn apply_table_plan(
        &self,
        plan: &TablePlan,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<WriteOutcome>;
    /// Appends the rows of `files` to a table, skipping files it holds already.
    async fn import_data(
        &self,
        request: &ImportRequest,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<Imported>;
    /// The value of secret parameter `name`, encrypted with the lake's key: a project file can
    /// hold it, and only runs on this lake can read it.
    async fn encrypt_secret(&self, name: &str, plaintext: &str) -> Result<String>;
    /// Registers files that stay where they are as a table.
    async fn create_external_table(&self, request: &ExternalRequest) -> Result<WriteOutcome>;
    async fn list_tables(&self, at: &CommitId) -> Result<Vec<(TableKey, TableState)>>;
    async fn diff(&self, a: &CommitId, b: &CommitId) -> Result<Vec<DiffEntry>>;
    /// First-parent history from `at`, newest first: at most `limit`, after `after` if given.
    async fn log(
        &self,
        at: &CommitId,
        limit: usize,
        after: Option<&CommitId>,
    ) -> Result<Vec<Commit>>;
    async fn list_namespaces(&self) -> Result<Vec<Namespace>>;
    /// Returns `false` when it existed.
    async fn create_namespace(&self, name: &str) -> Result<bool>;
    async fn delete_namespace(&self, name: &str) -> Result<()>;
    /// Runs SQL over the tables of `reference` (a ref or commit); rows stream as they are made.
    async fn query(&self, reference: &str, sql: &str) -> Result<QueryResult>;
    /// Whether the code snapshot `code_hash` is stored already (a run may then send the hash
    /// alone).
    async fn has_code(&self, code_hash: &str) -> Result<bool>;
    /// The project files of code snapshot `code_hash`, by path.
    async fn code(&self, code_hash: &str) -> Result<Vec<(String, String)>>;
    /// Runs a project transform-audit-write; `on_event` hears each event as it happens.
    async fn run(&self, request: RunRequest, on_event: OnEvent<'_>) -> Result<RunOutcome>;
    async fn get_run(&self, id: &str) -> Result<Option<RunRecord>>;
    /// The newest runs `filter` matches, newest first.
    async fn list_runs(&self, filter: &RunFilter, limit: usize) -> Result<Vec<RunRecord>>;
    /// Stops a run that is going on (its functions are killed, its target is unchanged) and
    /// records it as interrupted; a finished run stays as it is.
    async fn cancel_run(&self, id: &str) -> Result<()>;
    /// Follows run `id`: `on_event` hears its events from the start and live until it ends
    /// (where it runs on a server); returns its record. A run that has ended, or that runs in
    /// another process of an embedded lake, gives its record as it is.
    async fn follow_run(&self, id: &str, on_event: OnEvent<'_>) -> Result<RunRecord>;
    /// Prunes failed and crashed runs' branches kept long enough, then removes the commits and
    /// files no ref reaches that are old enough; only the lake's owner (an admin key) may.
    async fn collect_garbage(&self, request: &GcRequest) -> Result<GcReport>;
    /// Verifies the lake: every ref resolves, every table version parses, every file exists.
    async fn check_lake(&self) -> Result<CheckReport>;
}
