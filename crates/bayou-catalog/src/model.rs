//! What the catalog stores: refs, commits, operations and table states.

use std::collections::BTreeMap;

use bayou_types::{CommitId, TableKey};
use serde::{Deserialize, Serialize};

/// Where a table is at one commit: its Iceberg metadata file and current snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableState {
    /// Absolute location of the Iceberg `*.metadata.json` file.
    pub metadata_location: String,
    /// The table's current snapshot in that metadata (`None` for a table with no data yet).
    pub snapshot_id: Option<i64>,
}

/// One change to the set of tables, carried by a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Create or update a table.
    Put { key: TableKey, state: TableState },
    /// Remove a table.
    Delete { key: TableKey },
}

impl Operation {
    pub fn key(&self) -> &TableKey {
        match self {
            Self::Put { key, .. } | Self::Delete { key } => key,
        }
    }
}

/// A commit as stored: its tree root plus the operations that produced it from its first parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    pub id: CommitId,
    /// First parent is the branch the commit was made on; a merge has a second.
    pub parents: Vec<CommitId>,
    /// 1 + the largest generation of the parents (0 for the root commit).
    pub generation: u64,
    /// Root node of the table tree after this commit.
    pub tree: String,
    pub author: String,
    pub message: String,
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub properties: BTreeMap<String, String>,
    pub operations: Vec<Operation>,
}

/// Whether a ref moves (branch) or not (tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    Branch,
    Tag,
}

impl RefKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Branch => "branch",
            Self::Tag => "tag",
        }
    }
}

/// A named pointer to a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ref {
    pub name: String,
    pub kind: RefKind,
    pub head: CommitId,
}

/// What a user-supplied ref string resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub commit: CommitId,
    /// The ref's name and kind, or `None` when the user named a commit id.
    pub reference: Option<(String, RefKind)>,
}

impl Resolved {
    /// The branch name, if this resolved through a branch.
    pub fn branch(&self) -> Option<&str> {
        match &self.reference {
            Some((name, RefKind::Branch)) => Some(name),
            _ => None,
        }
    }
}

/// One table that differs between two commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffEntry {
    pub key: TableKey,
    pub from: Option<TableState>,
    pub to: Option<TableState>,
}

impl DiffEntry {
    pub fn change(&self) -> &'static str {
        match (&self.from, &self.to) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            _ => "changed",
        }
    }
}

/// Everything a new commit says, apart from where it goes.
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    pub operations: Vec<Operation>,
    /// Tables that must be in this state (by metadata location; `None` = absent) for the
    /// commit to apply. A writer that read a table and wrote a new version of it sets this, so two
    /// writers of the same table never overwrite each other.
    pub preconditions: Vec<(TableKey, Option<String>)>,
    pub message: String,
    pub author: String,
    pub properties: BTreeMap<String, String>,
}

/// A namespace: a group of tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Namespace {
    pub name: String,
    pub created_ms: i64,
}

/// An API key of a server's user, as stored: the secret itself is never kept, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The public part of the key, shown in listings.
    pub id: String,
    pub user: String,
    #[serde(skip_serializing)]
    pub secret_hash: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
    /// Whether the key may do what changes the whole lake (`gc`), not only its user's work.
    pub admin: bool,
    /// A worker's key: it attaches a `bayou worker` (its user is the worker's name) and may
    /// call nothing else.
    pub worker: bool,
}

impl ApiKey {
    /// What the key may do.
    pub fn kind(&self) -> KeyKind {
        match (self.worker, self.admin) {
            (true, _) => KeyKind::Worker,
            (false, true) => KeyKind::Admin,
            (false, false) => KeyKind::User,
        }
    }
}

/// What a new key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Its user's work.
    User,
    /// Its user's work and what changes the whole lake (`gc`).
    Admin,
    /// Attaching a `bayou worker`, nothing else.
    Worker,
}

impl KeyKind {
    /// How listings name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
            Self::Worker => "worker",
        }
    }
}

/// A run as the catalog keeps it: the columns runs are found by, and the record itself (JSON of
/// the runtime's `RunRecord`, which the catalog does not read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    pub user: String,
    pub status: String,
    /// `run`, `dry-run` or `rerun`.
    pub kind: String,
    pub target_branch: String,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    /// Whether the record still holds its nodes' logs (they are dropped after a while).
    pub logs_kept: bool,
    pub record: String,
    /// The process running it (a running run's lease), and when it last said so.
    pub holder: Option<String>,
    pub heartbeat_ms: Option<i64>,
}

/// Which runs to list; `None` matches every value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFilter {
    pub status: Option<String>,
    pub user: Option<String>,
    pub kind: Option<String>,
    /// Only runs into this branch.
    pub branch: Option<String>,
    /// Only runs that finished before this time.
    pub finished_before_ms: Option<i64>,
    /// Only runs that started before this time (a page after the runs seen already).
    pub started_before_ms: Option<i64>,
    pub logs_kept: Option<bool>,
}
