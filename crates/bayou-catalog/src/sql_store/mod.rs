//! [`SqlStore`]: the catalog store on SQLite (embedded) or PostgreSQL (shared), through sqlx.
//!
//! One set of SQL serves both databases (sqlx's `Any` driver, `$n` placeholders, `ON CONFLICT`),
//! and one migration set (`migrations/`) creates both schemas. A branch head moves by one
//! compare-and-swap `UPDATE`, in the same transaction that writes the commit, so concurrent writers
//! in any number of processes never lose a commit.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use async_trait::async_trait;
use bayou_types::CommitId;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Row, SqlSafeStr};

use crate::model::{ApiKey, Commit, Namespace, Ref, RefKind, RunFilter, RunRow};
use crate::store::Store;
use crate::{Error, Result};

mod expire;

/// The schema migrations, in order. Never edit a released entry: append a new one.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "catalog",
        include_str!("../../migrations/0001_catalog.sql"),
    ),
    (
        2,
        "api keys",
        include_str!("../../migrations/0002_api_keys.sql"),
    ),
    (3, "runs", include_str!("../../migrations/0003_runs.sql")),
    (
        4,
        "runs by log age",
        include_str!("../../migrations/0004_runs_by_log_age.sql"),
    ),
    (
        5,
        "run leases",
        include_str!("../../migrations/0005_run_leases.sql"),
    ),
    (
        6,
        "admin keys",
        include_str!("../../migrations/0006_admin_keys.sql"),
    ),
    (
        7,
        "worker keys",
        include_str!("../../migrations/0007_worker_keys.sql"),
    ),
];

/// The latest schema version this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A catalog store in a SQL database: a SQLite file, or a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// Where the database is, for messages (a PostgreSQL URL without its password).
    location: String,
}

impl SqlStore {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        let Some(text) = path.to_str() else {
            return Err(Error::Corrupt(format!(
                "the catalog path {} is not UTF-8; move the lake to a UTF-8 path",
                path.display()
            )));
        };
        let encoded = text
            .replace('%', "%25")
            .replace('?', "%3F")
            .replace('#', "%23");
        Self::connect_url(&format!("sqlite://{encoded}?mode=rwc"), 4, text).await
    }

    /// A private in-memory SQLite store, for tests.
    pub async fn in_memory() -> Result<Self> {
        // Every connection to `:memory:` is its own database: keep exactly one, forever.
        Self::connect_url("sqlite::memory:", 1, "memory").await
    }

    /// Connects to `url` (`postgres://...` or `sqlite:PATH`) and migrates the database.
    pub async fn connect(url: &str) -> Result<Self> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            return Self::open_sqlite(Path::new(path)).await;
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::UnsupportedCatalog(redact(url)));
        }
        Self::connect_url(url, 16, &redact(url)).await
    }

    async fn connect_url(url: &str, max_connections: u32, location: &str) -> Result<Self> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let location = location.to_string();
        let fail = |e: sqlx::Error| Error::store(&location, e);
        // One plain connection first: a database that is down or refuses us says so at once,
        // where the pool would retry until its acquire timeout.
        if !url.starts_with("sqlite") {
            use sqlx::Connection as _;
            let probe = sqlx::AnyConnection::connect(url).await.map_err(&fail)?;
            let _ = probe.close().await;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(u32::from(max_connections == 1))
            .idle_timeout((max_connections > 1).then_some(Duration::from_secs(600)))
            .max_lifetime((max_connections > 1).then_some(Duration::from_secs(1800)))
            .acquire_timeout(Duration::from_secs(60))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        for pragma in [
                            "PRAGMA busy_timeout = 60000",
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                        ] {
                            sqlx::raw_sql(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(fail)?;
        let store = Self { pool, location };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*name),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        let migrator = Migrator::with_migrations(migrations);
        // PostgreSQL serialises concurrent migrators with an advisory lock; SQLite has none, so
        // two processes creating one lake may race: the loser finds the work done on a retry.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match migrator.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(MigrateError::VersionMissing(found)) => {
                    return Err(Error::SchemaTooNew {
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                // Another process migrating the same new file won a step: take it from there.
                Err(MigrateError::Execute(_) | MigrateError::ExecuteMigration(..))
                    if attempts < 10 =>
                {
                    tokio::time::sleep(Duration::from_millis(10 * attempts)).await;
                    continue;
                }
                Err(e) => {
                    return Err(Error::store(
                        &self.location,
                        sqlx::Error::Migrate(Box::new(e)),
                    ));
                }
            }
        }
    }

    fn fail(&self) -> impl Fn(sqlx::Error) -> Error + '_ {
        |e| Error::store(&self.location, e)
    }
}

/// A database URL fit for messages: the password replaced by `***`.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("catalog values serialize")
}

fn kind_of(text: &str) -> RefKind {
    if text == "tag" {
        RefKind::Tag
    } else {
        RefKind::Branch
    }
}

fn row_to_ref(row: &AnyRow) -> sqlx::Result<Ref> {
    Ok(Ref {
        name: row.try_get(0)?,
        kind: kind_of(&row.try_get::<String, _>(1)?),
        head: CommitId::from_hex(row.try_get::<String, _>(2)?),
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[async_trait]
impl Store for SqlStore {
    async fn get_ref(&self, name: &str) -> Result<Option<Ref>> {
        sqlx::query("SELECT name, kind, head FROM refs WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .and_then(|row| row.as_ref().map(row_to_ref).transpose())
            .map_err(self.fail())
    }

    async fn list_refs(&self) -> Result<Vec<Ref>> {
        sqlx::query("SELECT name, kind, head FROM refs ORDER BY kind, name")
            .fetch_all(&self.pool)
            .await
            .and_then(|rows| rows.iter().map(row_to_ref).collect())
            .map_err(self.fail())
    }

    async fn create_ref(&self, r: &Ref) -> Result<()> {
        // The commit must still be there as the ref is made (gc may have expired it since it
        // was resolved); only a new catalog's first ref comes before its root commit.
        match sqlx::query(
            "INSERT INTO refs (name, kind, head) SELECT $1, $2, $3
             WHERE EXISTS (SELECT 1 FROM commits WHERE id = $3)
                OR NOT EXISTS (SELECT 1 FROM refs)",
        )
        .bind(&r.name)
        .bind(r.kind.as_str())
        .bind(r.head.as_str())
        .execute(&self.pool)
        .await
        {
            Ok(done) if done.rows_affected() == 0 => match self.get_ref(&r.name).await? {
                Some(_) => Err(Error::RefExists(r.name.clone())),
                None => Err(Error::UnknownRef(r.head.to_string())),
            },
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(Error::RefExists(r.name.clone())),
            Err(e) => Err(self.fail()(e)),
        }
    }

    async fn delete_ref(&self, name: &str, expected: &CommitId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM refs WHERE name = $1 AND head = $2")
            .bind(name)
            .bind(expected.as_str())
            .execute(&self.pool)
            .await
            .map_err(self.fail())?;
        Ok(done.rows_affected() == 1)
    }

    async fn rename_ref(&self, from: &str, to: &str) -> Result<bool> {
        match sqlx::query("UPDATE refs SET name = $1 WHERE name = $2")
            .bind(to)
            .bind(from)
            .execute(&self.pool)
            .await
        {
            Ok(done) => Ok(done.rows_affected() == 1),
            Err(e) if is_unique_violation(&e) => Err(Error::RefExists(to.to_string())),
            Err(e) => Err(self.fail()(e)),
        }
    }

    async fn commit(
        &self,
        nodes: &[(String, Vec<u8>)],
        c: &Commit,
        branch: &str,
        expected: &CommitId,
    ) -> Result<bool> {
        let fail = self.fail();
        let mut tx = self.pool.begin().await.map_err(&fail)?;
        // The compare-and-swap comes first: on SQLite it takes the write lock before anything
        // is read, so the transaction never has to upgrade a stale read snapshot.
        let moved = sqlx::query(
            "UPDATE refs SET head = $1 WHERE name = $2 AND kind = 'branch' AND head = $3",
        )
        .bind(c.id.as_str())
        .bind(branch)
        .bind(expected.as_str())
        .execute(&mut *tx)
        .await
        .map_err(&fail)?;
        if moved.rows_affected() != 1 {
            tx.rollback().await.map_err(&fail)?;
            return Ok(false);
        }
        // A merge's other parent must still be there: gc may have expired it since it was
        // read (the ref update above waited for gc to finish). `expected` is a head: kept.
        for parent in c.parents.iter().filter(|p| *p != expected) {
            let found = sqlx::query("SELECT 1 FROM commits WHERE id = $1")
                .bind(parent.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(&fail)?;
            if found.is_none() {
                tx.rollback().await.map_err(&fail)?;
                return Err(Error::UnknownRef(parent.to_string()));
            }
        }
        for (id, body) in nodes {
            sqlx::query(
                "INSERT INTO tree_nodes (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(body.as_slice())
            .execute(&mut *tx)
            .await
            .map_err(&fail)?;
        }
        sqlx::query(
            "INSERT INTO commits
             (id, parents, generation, tree, author, message, time_ms, properties, operations)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(c.id.as_str())
        .bind(json(&c.parents))
        .bind(c.generation as i64)
        .bind(&c.tree)
        .bind(&c.author)
        .bind(&c.message)
        .bind(c.time_ms)
        .bind(json(&c.properties))
        .bind(json(&c.operations))
        .execute(&mut *tx)
        .await
        .map_err(&fail)?;
        tx.commit().await.map_err(&fail)?;
        Ok(true)
    }

    async fn move_ref(
        &self,
        name: &str,
        kind: RefKind,
        expected: &CommitId,
        new: &CommitId,
    ) -> Result<bool> {
        // A commit gc expired meanwhile is not moved to: the caller sees a conflict, and its
        // retry finds the commit gone.
        let done = sqlx::query(
            "UPDATE refs SET head = $1 WHERE name = $2 AND kind = $3 AND head = $4
               AND EXISTS (SELECT 1 FROM commits WHERE id = $1)",
        )
        .bind(new.as_str())
        .bind(name)
        .bind(kind.as_str())
        .bind(expected.as_str())
        .execute(&self.pool)
        .await
        .map_err(self.fail())?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_commit(&self, id: &CommitId) -> Result<Option<Commit>> {
        let row = sqlx::query(
            "SELECT parents, generation, tree, author, message, time_ms, properties, operations
             FROM commits WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(self.fail())?;
        let Some(row) = row else {
            return Ok(None);
        };
        commit_from_row(id, &row).map(Some)
    }

    async fn expire_commits(&self, before_ms: i64, dry_run: bool) -> Result<Vec<CommitId>> {
        self.expire(before_ms, dry_run).await
    }

    async fn commits_since(&self, since_ms: i64) -> Result<Vec<CommitId>> {
        sqlx::query("SELECT id FROM commits WHERE time_ms >= $1")
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| r.try_get::<String, _>(0).map(CommitId::from_hex))
                    .collect()
            })
            .map_err(self.fail())
    }

    async fn commits_with_prefix(&self, prefix: &str) -> Result<Vec<CommitId>> {
        // Callers pass hex digits only, so the prefix holds no LIKE wildcard.
        let rows = sqlx::query("SELECT id FROM commits WHERE id LIKE $1 LIMIT 5")
            .bind(format!("{prefix}%"))
            .fetch_all(&self.pool)
            .await
            .map_err(self.fail())?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map(CommitId::from_hex))
            .collect::<sqlx::Result<_>>()
            .map_err(self.fail())
    }

    async fn get_node(&self, id: &str) -> Result<Option<Vec<u8>>> {
        sqlx::query("SELECT body FROM tree_nodes WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .and_then(|row| row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose())
            .map_err(self.fail())
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>> {
        let rows = sqlx::query("SELECT name, created_ms FROM namespaces ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(self.fail())?;
        rows.iter()
            .map(|r| {
                Ok(Namespace {
                    name: r.try_get(0)?,
                    created_ms: r.try_get(1)?,
                })
            })
            .collect::<sqlx::Result<_>>()
            .map_err(self.fail())
    }

    async fn create_namespace(&self, name: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO namespaces (name, created_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(crate::now_ms())
        .execute(&self.pool)
        .await
        .map_err(self.fail())?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_namespace(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM namespaces WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(self.fail())?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .and_then(|row| row.map(|r| r.try_get::<String, _>(0)).transpose())
            .map_err(self.fail())
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map_err(self.fail())?;
        self.get_setting(key)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("setting '{key}' vanished as it was written")))
    }

    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, user_name, secret_hash, created_ms, revoked_ms, admin, worker)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.id)
        .bind(&key.user)
        .bind(&key.secret_hash)
        .bind(key.created_ms)
        .bind(key.revoked_ms)
        .bind(i64::from(key.admin))
        .bind(i64::from(key.worker))
        .execute(&self.pool)
        .await
        .map_err(self.fail())?;
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>> {
        sqlx::query(
            "SELECT id, user_name, secret_hash, created_ms, revoked_ms, admin, worker FROM api_keys WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .and_then(|row| row.as_ref().map(key_from_row).transpose())
        .map_err(self.fail())
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        sqlx::query(
            "SELECT id, user_name, secret_hash, created_ms, revoked_ms, admin, worker FROM api_keys
             ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(key_from_row).collect())
        .map_err(self.fail())
    }

    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL")
                .bind(at_ms)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(self.fail())?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_run(&self, run: &RunRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO runs (id, user_name, status, kind, target_branch, started_ms, finished_ms,
                               logs_kept, record, holder, heartbeat_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id) DO UPDATE SET user_name = excluded.user_name,
                 status = excluded.status, kind = excluded.kind,
                 target_branch = excluded.target_branch, started_ms = excluded.started_ms,
                 finished_ms = excluded.finished_ms, logs_kept = excluded.logs_kept,
                 record = excluded.record, holder = excluded.holder,
                 heartbeat_ms = excluded.heartbeat_ms",
        )
        .bind(&run.id)
        .bind(&run.user)
        .bind(&run.status)
        .bind(&run.kind)
        .bind(&run.target_branch)
        .bind(run.started_ms)
        .bind(run.finished_ms)
        .bind(i64::from(run.logs_kept))
        .bind(&run.record)
        .bind(run.holder.as_deref())
        .bind(run.heartbeat_ms)
        .execute(&self.pool)
        .await
        .map_err(self.fail())?;
        Ok(())
    }

    async fn heartbeat_run(&self, id: &str, holder: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE runs SET heartbeat_ms = $1
             WHERE id = $2 AND holder = $3 AND status = 'running'",
        )
        .bind(now_ms)
        .bind(id)
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(self.fail())?;
        Ok(done.rows_affected() == 1)
    }

    async fn settle_run(&self, run: &RunRow, seen_heartbeat_ms: Option<i64>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE runs SET status = $1, finished_ms = $2, record = $3
             WHERE id = $4 AND status = 'running'
               AND (heartbeat_ms = $5 OR (heartbeat_ms IS NULL AND $5 IS NULL))",
        )
        .bind(&run.status)
        .bind(run.finished_ms)
        .bind(&run.record)
        .bind(&run.id)
        .bind(seen_heartbeat_ms)
        .execute(&self.pool)
        .await
        .map_err(self.fail())?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_run(&self, id: &str) -> Result<Option<RunRow>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .and_then(|row| row.as_ref().map(run_from_row).transpose())
            .map_err(self.fail())
    }

    async fn list_runs(&self, filter: &RunFilter, limit: usize) -> Result<Vec<RunRow>> {
        // One statement for every filter: an absent one is NULL and matches all.
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR user_name = $2)
               AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR finished_ms < $4)
               AND ($5 IS NULL OR logs_kept = $5) AND ($7 IS NULL OR started_ms < $7)
               AND ($8 IS NULL OR target_branch = $8)
             ORDER BY started_ms DESC, id DESC LIMIT $6"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.status.as_deref())
            .bind(filter.user.as_deref())
            .bind(filter.kind.as_deref())
            .bind(filter.finished_before_ms)
            .bind(filter.logs_kept.map(i64::from))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(filter.started_before_ms)
            .bind(filter.branch.as_deref())
            .fetch_all(&self.pool)
            .await
            .and_then(|rows| rows.iter().map(run_from_row).collect())
            .map_err(self.fail())
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map_err(self.fail())?;
        Ok(())
    }
}

fn run_from_row(row: &AnyRow) -> sqlx::Result<RunRow> {
    Ok(RunRow {
        id: row.try_get(0)?,
        user: row.try_get(1)?,
        status: row.try_get(2)?,
        kind: row.try_get(3)?,
        target_branch: row.try_get(4)?,
        started_ms: row.try_get(5)?,
        finished_ms: row.try_get(6)?,
        logs_kept: row.try_get::<i64, _>(7)? != 0,
        record: row.try_get(8)?,
        holder: row.try_get(9)?,
        heartbeat_ms: row.try_get(10)?,
    })
}

const RUN_COLUMNS: &str = "id, user_name, status, kind, target_branch, started_ms, finished_ms, \
                           logs_kept, record, holder, heartbeat_ms";

fn key_from_row(row: &AnyRow) -> sqlx::Result<ApiKey> {
    Ok(ApiKey {
        id: row.try_get(0)?,
        user: row.try_get(1)?,
        secret_hash: row.try_get(2)?,
        created_ms: row.try_get(3)?,
        revoked_ms: row.try_get(4)?,
        admin: row.try_get::<i64, _>(5)? != 0,
        worker: row.try_get::<i64, _>(6)? != 0,
    })
}

fn commit_from_row(id: &CommitId, row: &AnyRow) -> Result<Commit> {
    let get = |e: sqlx::Error| Error::Corrupt(format!("commit {id}: {e}"));
    let text = |i: usize| row.try_get::<String, _>(i).map_err(get);
    let corrupt = |e: serde_json::Error| Error::Corrupt(format!("commit {id}: {e}"));
    Ok(Commit {
        id: id.clone(),
        parents: serde_json::from_str(&text(0)?).map_err(corrupt)?,
        generation: row.try_get::<i64, _>(1).map_err(get)? as u64,
        tree: text(2)?,
        author: text(3)?,
        message: text(4)?,
        time_ms: row.try_get(5).map_err(get)?,
        properties: serde_json::from_str(&text(6)?).map_err(corrupt)?,
        operations: serde_json::from_str(&text(7)?).map_err(corrupt)?,
    })
}

#[cfg(test)]
mod tests;
