//! The bayou catalog: git-like versioning for a whole lake of tables.
//!
//! Entry point: [`Catalog`]. Refs (branches and tags) point at commits; a commit carries the
//! operations that changed any number of tables atomically and the root of a content-addressed
//! tree (see `tree.rs`) that maps every table to its Iceberg metadata location. Branch heads move
//! only by compare-and-swap, so concurrent writers never lose a commit.
//!
//! Trade-off: the catalog versions *pointers* to Iceberg metadata, not data. Creating a branch is
//! one row; merging decides per table, and the one case it cannot decide from pointers alone (a
//! table changed on both sides) is handed back to the caller ([`MergePlan::both_changed`]), which
//! knows how to read Iceberg snapshots and can combine two appends.
//!
//! Durable state sits behind the async [`Store`] trait; [`SqlStore`] keeps it in SQLite (embedded)
//! or PostgreSQL (shared by a server), with one set of SQL and migrations.

mod keys;
mod merge;
mod model;
mod sql_store;
mod store;
mod tree;

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::path::Path;
use std::sync::Arc;

use bayou_types::{CommitId, DEFAULT_NAMESPACE, TableKey};
use sha2::{Digest, Sha256};

pub use keys::NewApiKey;
pub use model::{
    ApiKey, Commit, CommitRequest, DiffEntry, KeyKind, Namespace, Operation, Ref, RefKind,
    Resolved, RunFilter, RunRow, TableState,
};
pub use sql_store::{SCHEMA_VERSION, SqlStore};
pub use store::Store;

/// The branch every new lake starts with.
pub const MAIN_BRANCH: &str = "main";

/// Errors from catalog operations. Each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown ref '{0}'\n  hint: list refs with `bayou branch ls` and `bayou tag ls`")]
    UnknownRef(String),
    #[error(
        "'{0}' is ambiguous: several commits start with it\n  hint: give more characters of the commit id"
    )]
    AmbiguousRef(String),
    #[error(
        "'{0}' is a tag or a commit, not a branch: only branches can be written to\n  hint: create a branch from it with `bayou branch create NAME --from-ref {0}`"
    )]
    NotABranch(String),
    #[error(
        "a branch or tag named '{0}' already exists\n  hint: pick another name or remove it first"
    )]
    RefExists(String),
    #[error("unknown table '{table}' at '{at}'\n  hint: list tables with `bayou table ls -r {at}`")]
    UnknownTable { table: String, at: String },
    #[error(
        "table '{0}' already exists\n  hint: append with `bayou table import`, or remove it with `bayou table rm`"
    )]
    TableExists(String),
    #[error("unknown namespace '{0}'\n  hint: create it with `bayou namespace create {0}`")]
    UnknownNamespace(String),
    #[error(
        "namespace '{name}' still holds tables on branch '{branch}' ({tables})\n  hint: remove them first with `bayou table rm`"
    )]
    NamespaceNotEmpty {
        name: String,
        branch: String,
        tables: String,
    },
    #[error("cannot {what} branch '{0}': it is the active branch\n  hint: `bayou checkout` another branch first", what = .1)]
    ActiveBranch(String, &'static str),
    /// A concurrent writer changed the same tables first. Retrying may succeed.
    #[error(
        "conflict on branch '{branch}': {tables} changed since this write started\n  hint: retry; the new state of the branch will be used"
    )]
    Conflict { branch: String, tables: String },
    /// The merge changed the same tables in ways that cannot be combined.
    #[error(
        "cannot merge '{source_ref}' into '{target}': both changed {tables}\n  hint: revert the table on one side (`bayou table revert`), then merge again"
    )]
    MergeConflict {
        source_ref: String,
        target: String,
        tables: String,
    },
    #[error(
        "catalog schema version {found} is newer than this bayou supports ({supported})\n  hint: upgrade bayou"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error(
        "catalog database {location}: {source}\n  hint: check that the database is reachable and writable (for a lake directory: that it is writable and not used by an older bayou)"
    )]
    Store {
        location: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "catalog database {location} stayed locked by another connection; nothing was changed\n  hint: something holds a long transaction on it (another bayou, or a tool with it open): let it finish or stop it, then retry"
    )]
    Locked { location: String },
    #[error("unsupported catalog '{0}'\n  hint: give postgres://USER@HOST/DB or sqlite:PATH")]
    UnsupportedCatalog(String),
    #[error("unknown API key '{0}'\n  hint: list keys with `bayou server key ls`")]
    UnknownApiKey(String),
    #[error("the catalog is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    InvalidName(#[from] bayou_types::Error),
}

impl Error {
    fn store(location: impl std::fmt::Display, source: sqlx::Error) -> Self {
        // SQLite's BUSY and LOCKED with their extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT,
        // BUSY_TIMEOUT, LOCKED_SHAREDCACHE, LOCKED_VTAB), PostgreSQL's lock_not_available.
        let locked = match &source {
            sqlx::Error::Database(db) => matches!(
                db.code().as_deref(),
                Some("5" | "6" | "261" | "262" | "517" | "518" | "773" | "55P03")
            ),
            _ => false,
        };
        match locked {
            true => Self::Locked {
                location: location.to_string(),
            },
            false => Self::Store {
                location: location.to_string(),
                source,
            },
        }
    }

    /// Whether the same request may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Milliseconds since the Unix epoch, as commits and runs record time.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// How many times a commit is rebased onto a moved head before giving up.
const MAX_COMMIT_ATTEMPTS: usize = 10_000;

/// What merging `source` into `target` needs.
#[derive(Debug, Clone)]
pub enum MergePlan {
    /// The target already contains the source.
    UpToDate { head: CommitId },
    /// The target is an ancestor of the source: the target head just moves.
    FastForward { from: CommitId, to: CommitId },
    /// Both sides moved since their merge base.
    ThreeWay(ThreeWay),
}

/// A three-way merge in progress.
#[derive(Debug, Clone)]
pub struct ThreeWay {
    pub source_ref: String,
    pub target: String,
    pub base: CommitId,
    pub source: CommitId,
    pub target_head: CommitId,
    /// Tables changed on the source side only: taken as they are.
    pub clean: Vec<Operation>,
    /// Tables changed on both sides, differently: the caller decides each.
    pub both_changed: Vec<BothChanged>,
}

/// A table changed on both sides of a merge.
#[derive(Debug, Clone)]
pub struct BothChanged {
    pub key: TableKey,
    pub base: Option<TableState>,
    pub source: Option<TableState>,
    pub target: Option<TableState>,
}

/// The versioned catalog over a [`Store`].
#[derive(Debug, Clone)]
pub struct Catalog {
    store: Arc<dyn Store>,
    nodes: Arc<tree::NodeCache>,
}

impl Catalog {
    /// Opens (creating if needed) a SQLite catalog; a new one gets a `main` branch and the
    /// default namespace.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        Self::new(Arc::new(SqlStore::open_sqlite(path).await?)).await
    }

    /// Connects to a catalog database (`postgres://...` or `sqlite:PATH`), creating its schema
    /// and its `main` branch if it is new.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::new(Arc::new(SqlStore::connect(url).await?)).await
    }

    /// Wraps a store, initialising it if it is empty.
    pub async fn new(store: Arc<dyn Store>) -> Result<Self> {
        let catalog = Self {
            store,
            nodes: Arc::default(),
        };
        if catalog.store.get_ref(MAIN_BRANCH).await?.is_none()
            && catalog.store.list_refs().await?.is_empty()
        {
            catalog.init().await?;
        }
        Ok(catalog)
    }

    async fn init(&self) -> Result<()> {
        let (tree, body) = tree::empty_root();
        let mut root = Commit {
            id: CommitId::from_hex(""),
            parents: vec![],
            generation: 0,
            tree: tree.clone(),
            author: "bayou".into(),
            message: "create lake".into(),
            time_ms: now_ms(),
            properties: Default::default(),
            operations: vec![],
        };
        root.id = commit_id(&root);
        // The root commit is written through a placeholder branch CAS: create the branch at
        // the root id, then write the commit row and node with `commit` from that same id.
        match self
            .store
            .create_ref(&Ref {
                name: MAIN_BRANCH.into(),
                kind: RefKind::Branch,
                head: root.id.clone(),
            })
            .await
        {
            Ok(()) => {}
            Err(Error::RefExists(_)) => return Ok(()), // another process initialised it
            Err(e) => return Err(e),
        }
        self.store
            .commit(&[(tree, body)], &root, MAIN_BRANCH, &root.id)
            .await?;
        self.store.create_namespace(DEFAULT_NAMESPACE).await?;
        Ok(())
    }

    // ---- runs ----------------------------------------------------------------------------

    pub async fn put_run(&self, run: &RunRow) -> Result<()> {
        self.store.put_run(run).await
    }

    pub async fn get_run(&self, id: &str) -> Result<Option<RunRow>> {
        self.store.get_run(id).await
    }

    /// Refreshes a running run's lease, if `holder` still holds it; whether it did.
    pub async fn heartbeat_run(&self, id: &str, holder: &str, now_ms: i64) -> Result<bool> {
        self.store.heartbeat_run(id, holder, now_ms).await
    }

    /// Settles a running run whose holder is gone (see [`Store::settle_run`]).
    pub async fn settle_run(&self, run: &RunRow, seen_heartbeat_ms: Option<i64>) -> Result<bool> {
        self.store.settle_run(run, seen_heartbeat_ms).await
    }

    pub async fn list_runs(&self, filter: &RunFilter, limit: usize) -> Result<Vec<RunRow>> {
        self.store.list_runs(filter, limit).await
    }

    /// Sets `key` unless it has a value; returns the value it has after (the one that won).
    pub async fn init_setting(&self, key: &str, value: &str) -> Result<String> {
        self.store.init_setting(key, value).await
    }

    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        self.store.get_setting(key).await
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    // ---- refs ----------------------------------------------------------------------------

    /// Resolves a branch, tag, or (abbreviated) commit id.
    pub async fn resolve(&self, spec: &str) -> Result<Resolved> {
        if let Some(r) = self.store.get_ref(spec).await? {
            return Ok(Resolved {
                commit: r.head,
                reference: Some((r.name, r.kind)),
            });
        }
        if CommitId::looks_like(spec) {
            let lower = spec.to_ascii_lowercase();
            let found = self.store.commits_with_prefix(&lower).await?;
            match found.len() {
                0 => {}
                1 => {
                    return Ok(Resolved {
                        commit: found.into_iter().next().expect("one element"),
                        reference: None,
                    });
                }
                _ => return Err(Error::AmbiguousRef(spec.to_string())),
            }
        }
        Err(Error::UnknownRef(spec.to_string()))
    }

    async fn branch_head(&self, branch: &str) -> Result<CommitId> {
        match self.store.get_ref(branch).await? {
            Some(Ref {
                kind: RefKind::Branch,
                head,
                ..
            }) => Ok(head),
            Some(_) => Err(Error::NotABranch(branch.to_string())),
            None => {
                if self.resolve(branch).await.is_ok() {
                    Err(Error::NotABranch(branch.to_string()))
                } else {
                    Err(Error::UnknownRef(branch.to_string()))
                }
            }
        }
    }

    pub async fn list_refs(&self) -> Result<Vec<Ref>> {
        self.store.list_refs().await
    }

    /// Creates a branch or tag at what `from` resolves to. O(1): no table is copied.
    pub async fn create_ref(&self, name: &str, kind: RefKind, from: &str) -> Result<Ref> {
        bayou_types::validate_name(kind.as_str(), name)?;
        let head = self.resolve(from).await?.commit;
        let r = Ref {
            name: name.to_string(),
            kind,
            head,
        };
        self.store.create_ref(&r).await?;
        Ok(r)
    }

    /// Deletes a branch or tag of the given kind.
    pub async fn delete_ref(&self, name: &str, kind: RefKind) -> Result<Ref> {
        loop {
            let r = match self.store.get_ref(name).await? {
                Some(r) if r.kind == kind => r,
                Some(_) if kind == RefKind::Branch => return Err(Error::NotABranch(name.into())),
                _ => return Err(Error::UnknownRef(name.to_string())),
            };
            if kind == RefKind::Branch && self.active_branch().await? == name {
                return Err(Error::ActiveBranch(name.to_string(), "delete"));
            }
            if self.store.delete_ref(name, &r.head).await? {
                return Ok(r);
            }
        }
    }

    pub async fn rename_branch(&self, from: &str, to: &str) -> Result<()> {
        bayou_types::validate_name("branch", to)?;
        self.branch_head(from).await?;
        if !self.store.rename_ref(from, to).await? {
            return Err(Error::UnknownRef(from.to_string()));
        }
        if self.active_branch().await? == from {
            self.store.set_setting("active_branch", to).await?;
        }
        Ok(())
    }

    /// The branch commands use when none is given (`bayou checkout`).
    pub async fn active_branch(&self) -> Result<String> {
        Ok(self
            .store
            .get_setting("active_branch")
            .await?
            .unwrap_or_else(|| MAIN_BRANCH.to_string()))
    }

    /// The lake's secret key (hex), which encrypts secret parameters: made from `fresh` the
    /// first time it is asked for, and the same for every process after.
    pub async fn secret_key(&self, fresh: impl FnOnce() -> String) -> Result<String> {
        self.setting_or_init("secret_key", fresh).await
    }

    /// Setting `key`, made from `fresh` the first time it is asked for; concurrent callers all
    /// get the one value that won.
    async fn setting_or_init(&self, key: &str, fresh: impl FnOnce() -> String) -> Result<String> {
        if let Some(value) = self.store.get_setting(key).await? {
            return Ok(value);
        }
        self.store.init_setting(key, &fresh()).await
    }

    /// The active branch of one user of a shared catalog (a server's): theirs if they chose
    /// one, else the catalog's.
    pub async fn active_branch_of(&self, user: &str) -> Result<String> {
        match self
            .store
            .get_setting(&format!("active_branch/{user}"))
            .await?
        {
            Some(branch) => Ok(branch),
            None => self.active_branch().await,
        }
    }

    /// Makes `branch` the active one of `user` only.
    pub async fn set_active_branch_of(&self, user: &str, branch: &str) -> Result<()> {
        self.branch_head(branch).await?;
        self.store
            .set_setting(&format!("active_branch/{user}"), branch)
            .await
    }

    /// This catalog's identity: made the first time it is asked for, the same for every process
    /// after (lakes record it, to refuse a second catalog over one root).
    pub async fn id(&self) -> Result<String> {
        self.setting_or_init("catalog_id", || uuid::Uuid::new_v4().to_string())
            .await
    }

    pub async fn set_active_branch(&self, branch: &str) -> Result<()> {
        self.branch_head(branch).await?;
        self.store.set_setting("active_branch", branch).await
    }

    // ---- reading -------------------------------------------------------------------------

    /// Removes the commits that neither a ref nor a commit made at or after `before_ms`
    /// reaches (only lists them when `dry_run`): a deleted branch's, once its newest commit is
    /// old. A kept commit keeps its whole history, and their ids no longer resolve. Making a
    /// ref at, or merging, a commit gc removes meanwhile fails as an unknown ref.
    pub async fn expire_commits(&self, before_ms: i64, dry_run: bool) -> Result<Vec<CommitId>> {
        let expired = self.store.expire_commits(before_ms, dry_run).await?;
        self.nodes.forget_commits(&expired);
        Ok(expired)
    }

    /// The commits made at or after `since_ms` (with the refs, what `gc` keeps).
    pub async fn commits_since(&self, since_ms: i64) -> Result<Vec<CommitId>> {
        self.store.commits_since(since_ms).await
    }

    pub async fn get_commit(&self, id: &CommitId) -> Result<Arc<Commit>> {
        self.nodes.commit(self.store.as_ref(), id).await
    }

    /// A table's state at a commit, or `None` if it does not exist there.
    pub async fn get_table(&self, at: &CommitId, key: &TableKey) -> Result<Option<TableState>> {
        let commit = self.get_commit(at).await?;
        self.nodes.get(self.store.as_ref(), &commit.tree, key).await
    }

    /// Like [`Catalog::get_table`], but a missing table is an error naming `at_name`.
    pub async fn require_table(
        &self,
        at: &CommitId,
        at_name: &str,
        key: &TableKey,
    ) -> Result<TableState> {
        self.get_table(at, key)
            .await?
            .ok_or_else(|| Error::UnknownTable {
                table: key.to_string(),
                at: at_name.to_string(),
            })
    }

    /// Every table at a commit, sorted by key.
    pub async fn list_tables(&self, at: &CommitId) -> Result<Vec<(TableKey, TableState)>> {
        let commit = self.get_commit(at).await?;
        Ok(self
            .nodes
            .list(self.store.as_ref(), &commit.tree)
            .await?
            .into_iter()
            .collect())
    }

    /// Commits reachable from `at` along first parents, newest first: at most `limit`, starting
    /// after `after` when given (for paging).
    pub async fn log(
        &self,
        at: &CommitId,
        limit: usize,
        after: Option<&CommitId>,
    ) -> Result<Vec<Commit>> {
        let mut out = Vec::new();
        let mut next = Some(at.clone());
        let mut skipping = after.is_some();
        while let Some(id) = next {
            if out.len() >= limit {
                break;
            }
            let c = self.get_commit(&id).await?;
            next = c.parents.first().cloned();
            if skipping {
                if Some(&c.id) == after {
                    skipping = false;
                }
                continue;
            }
            out.push((*c).clone());
        }
        Ok(out)
    }

    /// Tables that differ from commit `a` to commit `b`.
    pub async fn diff(&self, a: &CommitId, b: &CommitId) -> Result<Vec<DiffEntry>> {
        let (ca, cb) = (self.get_commit(a).await?, self.get_commit(b).await?);
        self.nodes
            .diff(self.store.as_ref(), &ca.tree, &cb.tree)
            .await
    }

    /// The best common ancestor of two commits (highest generation), if any.
    pub async fn merge_base(&self, a: &CommitId, b: &CommitId) -> Result<Option<CommitId>> {
        if a == b {
            return Ok(Some(a.clone()));
        }
        // Walk down from both sides in generation order, painting commits with the side(s)
        // they are reachable from; the first commit painted by both is the answer. Children
        // have higher generations than parents, so a commit's paint is final when it is popped.
        let mut paint: HashMap<CommitId, u8> = HashMap::new();
        let mut heap = BinaryHeap::new();
        for (id, side) in [(a, 1u8), (b, 2u8)] {
            let c = self.get_commit(id).await?;
            paint.insert(id.clone(), side);
            heap.push((c.generation, id.clone()));
        }
        while let Some((_, id)) = heap.pop() {
            let flags = paint[&id];
            if flags == 3 {
                return Ok(Some(id));
            }
            for parent in self.get_commit(&id).await?.parents.iter().cloned() {
                let old = paint.get(&parent).copied().unwrap_or(0);
                if old | flags != old {
                    paint.insert(parent.clone(), old | flags);
                    let generation = self.get_commit(&parent).await?.generation;
                    heap.push((generation, parent));
                }
            }
        }
        Ok(None)
    }

    // ---- writing -------------------------------------------------------------------------

    /// Commits operations to a branch.
    ///
    /// The commit lands on the branch's current head. If another writer moved the head since
    /// the caller read it, the commit is rebased onto the new head, unless a precondition on a
    /// table no longer holds: then it fails with [`Error::Conflict`] (retryable).
    pub async fn commit(&self, branch: &str, request: CommitRequest) -> Result<Commit> {
        if !request.operations.is_empty() {
            let known = self.list_namespaces().await?;
            for op in &request.operations {
                let ns = &op.key().namespace;
                if !known.iter().any(|n| &n.name == ns) {
                    return Err(Error::UnknownNamespace(ns.clone()));
                }
            }
        }
        for _ in 0..MAX_COMMIT_ATTEMPTS {
            let head = self.branch_head(branch).await?;
            let parent = self.get_commit(&head).await?;
            let store = self.store.as_ref();
            let mut stale = Vec::new();
            for (key, expected) in &request.preconditions {
                let actual = self.nodes.get(store, &parent.tree, key).await?;
                if actual.as_ref().map(|s| &s.metadata_location) != expected.as_ref() {
                    stale.push(key.to_string());
                }
            }
            for op in &request.operations {
                if let Operation::Delete { key } = op
                    && self.nodes.get(store, &parent.tree, key).await?.is_none()
                {
                    return Err(Error::UnknownTable {
                        table: key.to_string(),
                        at: branch.to_string(),
                    });
                }
            }
            if !stale.is_empty() {
                return Err(Error::Conflict {
                    branch: branch.to_string(),
                    tables: stale.join(", "),
                });
            }
            let (tree, nodes) = self
                .nodes
                .apply(store, &parent.tree, &request.operations)
                .await?;
            let mut commit = Commit {
                id: CommitId::from_hex(""),
                parents: vec![head.clone()],
                generation: parent.generation + 1,
                tree,
                author: request.author.clone(),
                message: request.message.clone(),
                time_ms: now_ms(),
                properties: request.properties.clone(),
                operations: request.operations.clone(),
            };
            commit.id = commit_id(&commit);
            if store.commit(&nodes, &commit, branch, &head).await? {
                self.nodes.remember_commit(commit.clone());
                return Ok(commit);
            }
        }
        Err(Error::Conflict {
            branch: branch.to_string(),
            tables: "the branch head".into(),
        })
    }

    // ---- namespaces ----------------------------------------------------------------------

    pub async fn list_namespaces(&self) -> Result<Vec<Namespace>> {
        self.store.list_namespaces().await
    }

    pub async fn create_namespace(&self, name: &str) -> Result<bool> {
        let name = bayou_types::canonical_namespace(name);
        bayou_types::validate_name("namespace", name)?;
        self.store.create_namespace(name).await
    }

    /// Removes an empty namespace (no table in it on any branch).
    pub async fn delete_namespace(&self, name: &str) -> Result<()> {
        let name = bayou_types::canonical_namespace(name);
        self.require_namespace(name).await?;
        for r in self
            .list_refs()
            .await?
            .into_iter()
            .filter(|r| r.kind == RefKind::Branch)
        {
            let tables: Vec<String> = self
                .list_tables(&r.head)
                .await?
                .into_iter()
                .filter(|(k, _)| k.namespace == name)
                .map(|(k, _)| k.to_string())
                .collect();
            if !tables.is_empty() {
                return Err(Error::NamespaceNotEmpty {
                    name: name.to_string(),
                    branch: r.name,
                    tables: tables.join(", "),
                });
            }
        }
        self.store.delete_namespace(name).await?;
        Ok(())
    }

    pub async fn require_namespace(&self, name: &str) -> Result<()> {
        let name = bayou_types::canonical_namespace(name);
        if self.list_namespaces().await?.iter().any(|n| n.name == name) {
            Ok(())
        } else {
            Err(Error::UnknownNamespace(name.to_string()))
        }
    }
}

/// A commit's id: SHA-256 over its content (everything but the id itself).
fn commit_id(c: &Commit) -> CommitId {
    let mut h = Sha256::new();
    let body = serde_json::to_vec(&(
        &c.parents,
        c.generation,
        &c.tree,
        &c.author,
        &c.message,
        c.time_ms,
        &c.properties,
        &c.operations,
    ))
    .expect("commits serialize");
    h.update(&body);
    // Two identical commits in the same millisecond must still differ: mix in randomness.
    h.update(uuid::Uuid::new_v4().as_bytes());
    CommitId::from_hex(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests;
