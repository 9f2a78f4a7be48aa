//! bayou's lake: Apache Iceberg v2 tables in object storage, versioned by the bayou catalog.
//!
//! Entry point: [`Lake`]. A lake is an object-store root (a local directory or `s3://`) plus a
//! catalog database. Every write produces new Parquet data files, an Iceberg snapshot and
//! metadata file, and one catalog commit on a branch, so any Iceberg reader can open a table at
//! any ref by its metadata location.
//!
//! Trade-off: Iceberg's own snapshot refs are not used for branching (each table's metadata
//! has only `main`); branches live in the catalog and cover many tables at once. A table changed
//! on two branches therefore has two metadata files that share history, and a merge of two
//! appends writes a third snapshot holding both sides' files.

mod check;
#[cfg(test)]
mod concurrency_tests;
mod engine;
mod external;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod gc;
mod ownership;
mod partition;
mod reach;
mod remote;
mod scan_cache;
mod schema;
mod source;
mod storage;
mod table;
mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bayou_catalog::{Catalog, CommitRequest, MergePlan, Operation, RefKind, Resolved, TableState};
use bayou_types::{CommitId, TableKey};

pub use bayou_catalog;
pub use check::CheckReport;
pub use engine::{EngineCommit, NewTable, TableChange};
pub use gc::{OrphanFiles, RemovedFile};
pub use iceberg::spec::{DataFile, Snapshot, TableMetadata};
pub use iceberg::spec::{Schema as IcebergSchema, SortOrder, UnboundPartitionSpec};
pub use iceberg::{TableRequirement, TableUpdate};
pub use reach::Reach;
pub use scan_cache::{ScanBytes, ScanCache};
pub use schema::fitting_columns;
pub use source::{FileFormat, NamedFile, SourceFiles, Survey, SurveyColumn, local_files};
pub use storage::{LakeLocation, LakeStorage, Unfinished};
pub use table::TableVersion;

/// Errors from lake operations. Each message names what failed and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Catalog(#[from] bayou_catalog::Error),
    #[error("{0}")]
    InvalidInput(String),
    #[error("cannot read {path}: {source}\n  hint: check that the path exists and is readable")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {file}: {detail}")]
    BadFile { file: String, detail: String },
    #[error(
        "schema mismatch in {source_name}: {detail}\n  hint: make the columns match the table (`bayou table get NAME` shows its schema)"
    )]
    SchemaMismatch { source_name: String, detail: String },
    #[error("storage error at {what}: {source}\n  hint: {}", storage_hint(.source))]
    Storage {
        what: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{what} is not valid Iceberg metadata: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("iceberg: {0}")]
    Iceberg(#[from] iceberg::Error),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error(
        "the lake at {lake} belongs to another catalog (id {theirs}), not to this one (id {ours})\n  hint: everyone sharing a lake must reach it through one catalog: the team's server (--remote URL) or its PostgreSQL catalog (BAYOU_CATALOG=postgres://...); a lake copied elsewhere needs its catalog copied with it"
    )]
    CatalogMismatch {
        lake: String,
        theirs: String,
        ours: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_string(),
            source,
        }
    }

    /// The same error naming `name` as the file it is about (a file read from a staged copy is
    /// named by where it came from).
    pub(crate) fn naming(self, name: &str) -> Self {
        match self {
            Self::Io { source, .. } => Self::Io {
                path: name.to_string(),
                source,
            },
            Self::BadFile { detail, .. } => Self::BadFile {
                file: name.to_string(),
                detail,
            },
            other => other,
        }
    }

    pub(crate) fn storage(what: impl std::fmt::Display, source: object_store::Error) -> Self {
        Self::Storage {
            what: what.to_string(),
            source,
        }
    }
}

/// What to do about a storage error, by its kind.
fn storage_hint(source: &object_store::Error) -> &'static str {
    use object_store::Error as E;
    match source {
        E::NotFound { .. } => {
            "the object is missing; `bayou lake check` lists every file a lake misses"
        }
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            "check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the role) for this bucket"
        }
        _ if out_of_space(source) => {
            "the disk or quota under the lake is full: free space there, then retry; the catalog was not changed (once there is room, `bayou gc --older-than 1h` removes what failed writes left)"
        }
        _ => {
            "check that the object store is up and reachable (AWS_ENDPOINT_URL, the network); the catalog was not changed, so retry once it is back"
        }
    }
}

/// Whether an error comes from a full disk or an exhausted quota (ENOSPC, EDQUOT).
fn out_of_space(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && (io.kind() == std::io::ErrorKind::StorageFull
                || io.kind() == std::io::ErrorKind::QuotaExceeded)
        {
            return true;
        }
        next = e.source();
    }
    false
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a write relates to the table's current contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Create a new table; fails if it exists.
    Create,
    /// Add rows to an existing table.
    Append,
    /// Replace all rows of a table, creating it if needed.
    Replace,
}

/// What a committed write did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteOutcome {
    pub table: String,
    pub branch: String,
    pub commit: CommitId,
    pub snapshot_id: Option<i64>,
    pub rows_written: u64,
    pub files_written: usize,
    pub metadata_location: String,
}

/// What a merge did.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum MergeOutcome {
    UpToDate {
        head: CommitId,
    },
    FastForward {
        head: CommitId,
    },
    Merged {
        head: CommitId,
        /// Tables changed on both sides whose appends were combined.
        combined: Vec<String>,
        tables_changed: usize,
    },
}

/// Reports progress of long work: `(done, total)` in bytes.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// A lake: storage plus catalog.
#[derive(Debug, Clone)]
pub struct Lake {
    location: LakeLocation,
    storage: LakeStorage,
    catalog: Catalog,
    /// Who the commits made through this handle are by.
    author: String,
}

/// How to open a lake: settings the caller resolved (the CLI from its flags and environment).
#[derive(Debug, Clone)]
pub struct LakeSettings {
    /// The author of the commits made through the lake.
    pub author: String,
    /// The catalog database: a URL (`postgres://...`, `sqlite:PATH`) for any lake, or the path
    /// of an `s3://` lake's SQLite file. `None`: `catalog.db` inside a local lake, one per
    /// `s3://` lake under `catalogs_dir`.
    pub catalog: Option<String>,
    /// Where `s3://` lakes keep their catalog databases by default (`~/.bayou/catalogs`).
    pub catalogs_dir: PathBuf,
}

impl Lake {
    /// Opens a lake, creating it (with a `main` branch) on first use.
    ///
    /// The catalog database is `settings.catalog` when it is a URL; else `catalog.db` inside a
    /// local lake, and for an `s3://` lake `settings.catalog` or one per lake under
    /// `settings.catalogs_dir`.
    pub async fn open(location: &LakeLocation, settings: &LakeSettings) -> Result<Self> {
        let storage = LakeStorage::open(location)?;
        let catalog = match &settings.catalog {
            Some(url) if url.starts_with("sqlite:") || url.contains("://") => {
                Catalog::connect(url).await?
            }
            _ => {
                let db = match location {
                    LakeLocation::Local(dir) => dir.join("catalog.db"),
                    LakeLocation::S3 { bucket, prefix } => match &settings.catalog {
                        Some(p) => PathBuf::from(p),
                        None => {
                            let slug: String = format!("{bucket}_{prefix}")
                                .chars()
                                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                                .collect();
                            settings.catalogs_dir.join(format!("{slug}.db"))
                        }
                    },
                };
                if let Some(parent) = db.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
                }
                Catalog::open_sqlite(&db).await?
            }
        };
        ownership::claim(&storage, &catalog, &location.display()).await?;
        Ok(Self {
            location: location.clone(),
            storage,
            catalog,
            author: settings.author.clone(),
        })
    }

    /// The same lake, committing as `author` (a server acting for one user).
    pub fn with_author(&self, author: impl Into<String>) -> Self {
        Self {
            author: author.into(),
            ..self.clone()
        }
    }

    /// Who the commits made through this handle are by.
    pub fn author(&self) -> &str {
        &self.author
    }

    pub fn location(&self) -> &LakeLocation {
        &self.location
    }

    /// Puts `cache` in front of the lake's data file reads, for a lake in object storage (a local
    /// lake's files are already on local disk). Returns whether it did.
    pub fn use_scan_cache(&mut self, cache: Arc<ScanCache>) -> bool {
        if matches!(self.location, LakeLocation::Local(_)) {
            return false;
        }
        self.storage.cache_scans(cache);
        true
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn storage(&self) -> &LakeStorage {
        &self.storage
    }

    /// Loads a table's version at a commit; `at_name` names the ref in errors.
    pub async fn table(
        &self,
        at: &CommitId,
        at_name: &str,
        key: &TableKey,
    ) -> Result<TableVersion> {
        let state = self.catalog.require_table(at, at_name, key).await?;
        table::load(&self.storage, &state.metadata_location).await
    }

    /// Loads the table version whose metadata file is at `location` (in the lake's store).
    pub async fn load_version(&self, location: &str) -> Result<TableVersion> {
        table::load(&self.storage, location).await
    }

    /// Loads a table at a ref (branch, tag or commit id).
    pub async fn table_at(&self, reference: &str, key: &TableKey) -> Result<TableVersion> {
        let resolved = self.catalog.resolve(reference).await?;
        self.table(&resolved.commit, reference, key).await
    }

    /// The live data files of a table version (read from its manifests).
    pub async fn data_files(&self, version: &TableVersion) -> Result<Vec<DataFile>> {
        table::data_files(&self.storage, version).await
    }

    /// What a write to `key` on `branch` checks before it reads anything: that `branch` is a
    /// branch, that the namespace exists, and that the table exists (to append) or does not (to
    /// create). Returns the table's state there.
    pub async fn check_write(
        &self,
        branch: &str,
        key: &TableKey,
        mode: WriteMode,
    ) -> Result<Option<TableState>> {
        let head = self.catalog.resolve(branch).await?;
        if head.branch().is_none() {
            return Err(bayou_catalog::Error::NotABranch(branch.to_string()).into());
        }
        self.catalog.require_namespace(&key.namespace).await?;
        let existing = self.catalog.get_table(&head.commit, key).await?;
        match (mode, &existing) {
            (WriteMode::Create, Some(_)) => {
                Err(bayou_catalog::Error::TableExists(key.to_string()).into())
            }
            (WriteMode::Append, None) => Err(bayou_catalog::Error::UnknownTable {
                table: key.to_string(),
                at: branch.to_string(),
            }
            .into()),
            _ => Ok(existing),
        }
    }

    /// Starts a write to `key` on `branch`. Nothing is visible until [`TableWrite::commit`].
    /// A new table gets the partition spec `partitioned_by` (e.g. `day(pickup_datetime),
    /// PULocationID`); existing tables keep theirs.
    pub async fn begin_write(
        &self,
        branch: &str,
        key: &TableKey,
        mode: WriteMode,
        schema: &SchemaRef,
        source_name: &str,
        partitioned_by: Option<&str>,
    ) -> Result<TableWrite> {
        let existing = self.check_write(branch, key, mode).await?;
        let planned_on = existing.as_ref().map(|s| s.metadata_location.clone());
        let stored = schema::storage_schema(schema, source_name)?;
        // check_write refused Create over a table and Append to none.
        let base = match (mode, existing) {
            (WriteMode::Append, Some(state)) => {
                let version = table::load(&self.storage, &state.metadata_location).await?;
                schema::check_append(version.arrow_schema()?.as_ref(), schema, source_name)?;
                Some(version)
            }
            // Replace keeps the table's history when the schema still fits and the partitioning
            // asked for (if any) is the one it has, else starts anew.
            (WriteMode::Replace, Some(state)) => {
                let version = table::load(&self.storage, &state.metadata_location).await?;
                let same_partitioning = match partitioned_by {
                    None => true,
                    Some(spec) => {
                        let wanted =
                            table::new_metadata("memory://spec/", stored.clone(), Some(spec))?;
                        table::partitioning(&wanted) == table::partitioning(&version.metadata)
                    }
                };
                schema::check_append(version.arrow_schema()?.as_ref(), schema, source_name)
                    .ok()
                    .filter(|()| same_partitioning)
                    .map(|()| version)
            }
            (_, None) | (WriteMode::Create, Some(_)) => None,
        };
        let base = match base {
            Some(v) => v,
            None => {
                let table_location = self.storage.new_table_location(key);
                let metadata = table::new_metadata(&table_location, stored, partitioned_by)?;
                // The metadata file of an empty table is written only if the write commits.
                TableVersion {
                    metadata_location: String::new(),
                    metadata: Arc::new(metadata),
                }
            }
        };
        let writer = writer::DataWriter::new(
            self.storage.clone(),
            base.metadata.location(),
            base.metadata.current_schema().clone(),
            base.metadata.default_partition_spec().clone(),
        )?;
        Ok(TableWrite {
            lake: self.clone(),
            branch: branch.to_string(),
            key: key.clone(),
            mode,
            base,
            planned_on,
            kept: Vec::new(),
            writer,
            properties: BTreeMap::new(),
            summary: BTreeMap::new(),
        })
    }

    /// Creates or appends to a table from files (`table create` / `table import`).
    pub async fn write_files(
        &self,
        branch: &str,
        key: &TableKey,
        mode: WriteMode,
        source: &SourceFiles,
        partitioned_by: Option<&str>,
        progress: Progress<'_>,
    ) -> Result<WriteOutcome> {
        let mut write = self
            .begin_write(
                branch,
                key,
                mode,
                &source.schema,
                &source.uri,
                partitioned_by,
            )
            .await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(RecordBatch, u64)>(4);
        let reader_source = source.clone();
        let reader = tokio::task::spawn_blocking(move || {
            reader_source.read(|batch, done| {
                tx.blocking_send((batch, done))
                    .map_err(|_| Error::Internal("the writer stopped".into()))
            })
        });
        let total = source.total_bytes;
        let mut failed = None;
        while let Some((batch, done)) = rx.recv().await {
            if let Err(e) = write.write(&batch).await {
                failed = Some(e);
                break;
            }
            progress(done, total);
        }
        drop(rx);
        let read = reader
            .await
            .map_err(|e| Error::Internal(format!("reader thread: {e}")))?;
        if let Some(e) = failed {
            return Err(e);
        }
        read?;
        progress(total, total);
        let verb = if mode == WriteMode::Append {
            "import"
        } else {
            "create"
        };
        // Which files it read, so a later import can tell a file it already has.
        let identities = source.identities();
        write.summary.insert(
            table::SOURCE_FILES.to_string(),
            serde_json::to_string(&identities).unwrap_or_default(),
        );
        write
            .commit(&format!("{verb} {key} from {}", source.uri))
            .await
    }

    /// Removes a table from a branch (its files stay for other refs that hold it).
    pub async fn drop_table(&self, branch: &str, key: &TableKey) -> Result<CommitId> {
        let commit = self
            .catalog
            .commit(
                branch,
                CommitRequest {
                    operations: vec![Operation::Delete { key: key.clone() }],
                    message: format!("drop {key}"),
                    author: self.author.clone(),
                    ..Default::default()
                },
            )
            .await?;
        Ok(commit.id)
    }

    /// Sets a table on `branch` back to its state at `reference`.
    pub async fn revert_table(
        &self,
        branch: &str,
        key: &TableKey,
        reference: &str,
    ) -> Result<CommitId> {
        let source = self.catalog.resolve(reference).await?;
        let state = self
            .catalog
            .require_table(&source.commit, reference, key)
            .await?;
        let commit = self
            .catalog
            .commit(
                branch,
                CommitRequest {
                    operations: vec![Operation::Put {
                        key: key.clone(),
                        state,
                    }],
                    message: format!("revert {key} to {reference}"),
                    author: self.author.clone(),
                    ..Default::default()
                },
            )
            .await?;
        Ok(commit.id)
    }

    /// Merges `source` (any ref) into branch `target`.
    ///
    /// Tables changed on one side are taken from it; a table both sides only appended to gets a
    /// new snapshot with both sides' files; anything else changed on both sides is a conflict
    /// naming the tables, and the target is left as it was.
    pub async fn merge(&self, source: &str, target: &str) -> Result<MergeOutcome> {
        self.merge_with(source, target, &BTreeMap::new()).await
    }

    /// [`Lake::merge`], with `properties` on the merge commit if it takes one.
    pub async fn merge_with(
        &self,
        source: &str,
        target: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<MergeOutcome> {
        loop {
            let plan = match self.catalog.plan_merge(source, target).await? {
                MergePlan::UpToDate { head } => return Ok(MergeOutcome::UpToDate { head }),
                MergePlan::FastForward { from, to } => {
                    if self.catalog.fast_forward(target, &from, &to).await? {
                        return Ok(MergeOutcome::FastForward { head: to });
                    }
                    continue;
                }
                MergePlan::ThreeWay(plan) => plan,
            };
            let mut resolved = Vec::new();
            let mut combined = Vec::new();
            let mut conflicts = Vec::new();
            for both in &plan.both_changed {
                let (Some(base), Some(src), Some(tgt)) = (&both.base, &both.source, &both.target)
                else {
                    conflicts.push(both.key.to_string());
                    continue;
                };
                let base = table::load(&self.storage, &base.metadata_location).await?;
                let src = table::load(&self.storage, &src.metadata_location).await?;
                let tgt = table::load(&self.storage, &tgt.metadata_location).await?;
                match table::combine_appends(&self.storage, &base, &src, &tgt).await? {
                    Some(v) => {
                        combined.push(both.key.to_string());
                        resolved.push(Operation::Put {
                            key: both.key.clone(),
                            state: state_of(&v),
                        });
                    }
                    None => conflicts.push(both.key.to_string()),
                }
            }
            if !conflicts.is_empty() {
                return Err(bayou_catalog::Error::MergeConflict {
                    source_ref: source.to_string(),
                    target: target.to_string(),
                    tables: conflicts.join(", "),
                }
                .into());
            }
            let tables_changed = plan.clean.len() + resolved.len();
            if let Some(commit) = self
                .catalog
                .commit_merge(&plan, resolved, &self.author, properties)
                .await?
            {
                return Ok(MergeOutcome::Merged {
                    head: commit.id,
                    combined,
                    tables_changed,
                });
            }
        }
    }

    /// Resolves a ref for reading.
    pub async fn resolve(&self, reference: &str) -> Result<Resolved> {
        Ok(self.catalog.resolve(reference).await?)
    }

    /// Whether `reference` names a branch.
    pub async fn is_branch(&self, reference: &str) -> Result<bool> {
        Ok(matches!(
            self.catalog.resolve(reference).await?.reference,
            Some((_, RefKind::Branch))
        ))
    }
}

fn state_of(v: &TableVersion) -> TableState {
    TableState {
        metadata_location: v.metadata_location.clone(),
        snapshot_id: v.snapshot_id(),
    }
}

/// How many times an append re-commits on top of a concurrent writer's version, and how long
/// it waits before each try (exponential, with jitter so that racing writers spread out).
fn append_retries() -> impl Iterator<Item = std::time::Duration> {
    use backon::BackoffBuilder as _;
    backon::ExponentialBuilder::default()
        .with_min_delay(std::time::Duration::from_millis(2))
        .with_max_delay(std::time::Duration::from_millis(200))
        .with_jitter()
        .with_max_times(100)
        .build()
}

/// A write in progress: data files are written as batches arrive; the table changes only at
/// [`TableWrite::commit`].
pub struct TableWrite {
    lake: Lake,
    branch: String,
    key: TableKey,
    mode: WriteMode,
    base: TableVersion,
    /// The table's metadata location on the branch when the write began (none: no table).
    planned_on: Option<String>,
    /// Files of the base version the new snapshot keeps as they are.
    kept: Vec<DataFile>,
    writer: writer::DataWriter,
    properties: BTreeMap<String, String>,
    /// Extra properties of the Iceberg snapshot it makes.
    summary: BTreeMap<String, String>,
}

impl TableWrite {
    /// Properties for the commit (`bayou_run_id` for a run's writes).
    pub fn with_properties(mut self, properties: BTreeMap<String, String>) -> Self {
        self.properties = properties;
        self
    }

    /// Whether this write builds on the table's current version (a replace keeps the table's
    /// history when its schema and partitioning still fit): only then may it keep files.
    pub fn builds_on(&self, version: &TableVersion) -> bool {
        self.planned_on.as_deref() == Some(version.metadata_location.as_str())
            && self.base.metadata_location == version.metadata_location
    }

    /// Keeps `files` of the version this write builds on in the snapshot it makes, untouched
    /// (an overwrite of some partitions keeps the others' files).
    pub fn keep_files(&mut self, files: Vec<DataFile>) {
        self.kept.extend(files);
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).await
    }

    /// The Arrow schema the table stores.
    pub fn schema(&self) -> Result<SchemaRef> {
        self.base.arrow_schema()
    }

    /// Writes the snapshot and metadata and commits them to the branch. An append that lost a
    /// race with another writer of the same table is re-based onto the winner's version.
    pub async fn commit(self, message: &str) -> Result<WriteOutcome> {
        let rows = self.writer.rows;
        let files = self.writer.finish().await?;
        let files_written = files.len();
        let storage = &self.lake.storage;
        let catalog = &self.lake.catalog;
        let change = match self.mode {
            WriteMode::Append => table::Change::Append,
            WriteMode::Create | WriteMode::Replace => table::Change::Overwrite { kept: self.kept },
        };
        let mut base = self.base;
        let mut retries = append_retries();
        loop {
            let version = table::commit_snapshot(
                storage,
                &base,
                files.clone(),
                change.clone(),
                vec![],
                &self.summary,
            )
            .await?;
            let expected = match self.mode {
                WriteMode::Create => None,
                WriteMode::Append => Some(base.metadata_location.clone()),
                // A replace is planned on the table as it was when the write began: a writer
                // that moved it since makes this a conflict, never a silent loss of its commit.
                WriteMode::Replace => self.planned_on.clone(),
            };
            let request = CommitRequest {
                operations: vec![Operation::Put {
                    key: self.key.clone(),
                    state: state_of(&version),
                }],
                preconditions: vec![(self.key.clone(), expected)],
                message: message.to_string(),
                author: self.lake.author.clone(),
                properties: self.properties.clone(),
            };
            match catalog.commit(&self.branch, request).await {
                Ok(commit) => {
                    return Ok(WriteOutcome {
                        table: self.key.to_string(),
                        branch: self.branch.clone(),
                        commit: commit.id,
                        snapshot_id: version.snapshot_id(),
                        rows_written: rows,
                        files_written,
                        metadata_location: version.metadata_location,
                    });
                }
                // An append lost a race: it re-bases onto the winner's version and tries again.
                Err(e) if e.is_retryable() && self.mode == WriteMode::Append => {
                    let Some(wait) = retries.next() else {
                        return Err(e.into());
                    };
                    tokio::time::sleep(wait).await;
                    let head = catalog.resolve(&self.branch).await?.commit;
                    match catalog.get_table(&head, &self.key).await? {
                        Some(state) => {
                            base = table::load(storage, &state.metadata_location).await?;
                        }
                        None => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
