//! The storage seam of the catalog: [`Store`], implemented by [`crate::SqlStore`].
//!
//! A store knows nothing of trees, merges or refs' meaning; it keeps rows and moves a branch head
//! only by compare-and-swap. Everything else lives in [`crate::Catalog`], so a PostgreSQL store
//! only has to implement these few calls.

use async_trait::async_trait;
use bayou_types::CommitId;

use crate::Result;
use crate::model::{ApiKey, Commit, Namespace, Ref, RefKind, RunFilter, RunRow};

/// Durable state of a catalog. Implementations must be safe to share between threads and
/// processes: every method is atomic on its own.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    async fn get_ref(&self, name: &str) -> Result<Option<Ref>>;
    async fn list_refs(&self) -> Result<Vec<Ref>>;
    /// Creates a ref; fails with [`crate::Error::RefExists`] when the name is taken.
    async fn create_ref(&self, reference: &Ref) -> Result<()>;
    /// Deletes a ref if it still points at `expected`; returns whether it did.
    async fn delete_ref(&self, name: &str, expected: &CommitId) -> Result<bool>;
    /// Renames a branch or tag; fails with [`crate::Error::RefExists`] when `to` is taken.
    async fn rename_ref(&self, from: &str, to: &str) -> Result<bool>;
    /// Writes tree nodes and a commit, and moves branch `branch` from `expected` to the commit, all
    /// or nothing. Returns `false` (and writes nothing) when the head is no longer `expected`.
    async fn commit(
        &self,
        nodes: &[(String, Vec<u8>)],
        commit: &Commit,
        branch: &str,
        expected: &CommitId,
    ) -> Result<bool>;
    /// Moves a branch head to an existing commit by compare-and-swap.
    async fn move_ref(
        &self,
        name: &str,
        kind: RefKind,
        expected: &CommitId,
        new: &CommitId,
    ) -> Result<bool>;
    async fn get_commit(&self, id: &CommitId) -> Result<Option<Commit>>;
    /// Removes the commits that neither a ref nor a commit made at or after `before_ms`
    /// reaches through parents (only lists them when `dry_run`), while refs hold still;
    /// returns them.
    async fn expire_commits(&self, before_ms: i64, dry_run: bool) -> Result<Vec<CommitId>>;
    /// The commits made at or after `since_ms`.
    async fn commits_since(&self, since_ms: i64) -> Result<Vec<CommitId>>;
    /// Full ids of commits whose id starts with `prefix` (at most a few).
    async fn commits_with_prefix(&self, prefix: &str) -> Result<Vec<CommitId>>;
    async fn get_node(&self, id: &str) -> Result<Option<Vec<u8>>>;
    async fn list_namespaces(&self) -> Result<Vec<Namespace>>;
    /// Creates a namespace; returns `false` if it existed.
    async fn create_namespace(&self, name: &str) -> Result<bool>;
    /// Removes a namespace; returns `false` if it did not exist.
    async fn delete_namespace(&self, name: &str) -> Result<bool>;
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;
    async fn set_setting(&self, key: &str, value: &str) -> Result<()>;
    /// Sets `key` to `value` unless it has a value already; returns the value it has after.
    /// Concurrent callers all get the one value that won.
    async fn init_setting(&self, key: &str, value: &str) -> Result<String>;
    async fn create_api_key(&self, key: &ApiKey) -> Result<()>;
    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>>;
    /// Every key, revoked ones included, oldest first.
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>>;
    /// Marks a key revoked; returns `false` if it is unknown or revoked already.
    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> Result<bool>;
    /// Writes a run's row, replacing an earlier version of it.
    async fn put_run(&self, run: &RunRow) -> Result<()>;
    async fn get_run(&self, id: &str) -> Result<Option<RunRow>>;
    /// Refreshes a running run's lease, if `holder` still holds it; whether it did.
    async fn heartbeat_run(&self, id: &str, holder: &str, now_ms: i64) -> Result<bool>;
    /// Replaces a running run's status, end and record, if it is still running and its lease
    /// was last refreshed at `seen_heartbeat_ms` (nobody settled or refreshed it since);
    /// whether it did.
    async fn settle_run(&self, run: &RunRow, seen_heartbeat_ms: Option<i64>) -> Result<bool>;
    /// Runs matching `filter`, newest first, at most `limit`.
    async fn list_runs(&self, filter: &RunFilter, limit: usize) -> Result<Vec<RunRow>>;
}
