//! [`SqliteStore`]: the embedded catalog store, one SQLite file in WAL mode.
//!
//! Writers take SQLite's write lock (`BEGIN IMMEDIATE`) only for the few statements that write a
//! commit and move a head; several processes can share one file.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bayou_types::CommitId;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::model::{Commit, Namespace, Ref, RefKind};
use crate::store::Store;
use crate::{Error, Result};

/// Schema migrations, applied in order; the schema version is `PRAGMA user_version`.
/// Never edit a released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: refs, commits, content-addressed tree nodes, namespaces, settings.
    "CREATE TABLE refs (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('branch', 'tag')),
        head TEXT NOT NULL
    );
    CREATE TABLE commits (
        id TEXT PRIMARY KEY,
        parents TEXT NOT NULL,
        generation INTEGER NOT NULL,
        tree TEXT NOT NULL,
        author TEXT NOT NULL,
        message TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        properties TEXT NOT NULL,
        operations TEXT NOT NULL
    );
    CREATE TABLE tree_nodes (id TEXT PRIMARY KEY, body BLOB NOT NULL);
    CREATE TABLE namespaces (name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
];

/// The latest schema version this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A catalog store in one SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| Error::store(path.display(), e))?;
        Self::init(conn).map_err(|e| match e {
            Error::Store { source, .. } => Error::store(path.display(), source),
            other => other,
        })
    }

    /// An in-memory store, for tests.
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(|e| Error::store("memory", e))?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.busy_timeout(Duration::from_secs(60)).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if version > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        for migration in &MIGRATIONS[version as usize..] {
            tx.execute_batch(migration).map_err(sql)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn sql(e: rusqlite::Error) -> Error {
    Error::store("catalog database", e)
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

fn row_to_ref(row: &rusqlite::Row<'_>) -> rusqlite::Result<Ref> {
    Ok(Ref {
        name: row.get(0)?,
        kind: kind_of(&row.get::<_, String>(1)?),
        head: CommitId::from_hex(row.get::<_, String>(2)?),
    })
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

fn insert_commit(
    tx: &rusqlite::Transaction<'_>,
    nodes: &[(String, Vec<u8>)],
    c: &Commit,
) -> Result<()> {
    let mut put_node = tx
        .prepare_cached("INSERT OR IGNORE INTO tree_nodes (id, body) VALUES (?1, ?2)")
        .map_err(sql)?;
    for (id, body) in nodes {
        put_node.execute(params![id, body]).map_err(sql)?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO commits
         (id, parents, generation, tree, author, message, time_ms, properties, operations)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            c.id.as_str(),
            json(&c.parents),
            c.generation as i64,
            c.tree,
            c.author,
            c.message,
            c.time_ms,
            json(&c.properties),
            json(&c.operations),
        ],
    )
    .map_err(sql)?;
    Ok(())
}

impl Store for SqliteStore {
    fn get_ref(&self, name: &str) -> Result<Option<Ref>> {
        self.conn()
            .query_row(
                "SELECT name, kind, head FROM refs WHERE name = ?1",
                [name],
                row_to_ref,
            )
            .optional()
            .map_err(sql)
    }

    fn list_refs(&self) -> Result<Vec<Ref>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT name, kind, head FROM refs ORDER BY kind, name")
            .map_err(sql)?;
        let rows = stmt.query_map([], row_to_ref).map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    fn create_ref(&self, r: &Ref) -> Result<()> {
        match self.conn().execute(
            "INSERT INTO refs (name, kind, head) VALUES (?1, ?2, ?3)",
            params![r.name, r.kind.as_str(), r.head.as_str()],
        ) {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(Error::RefExists(r.name.clone())),
            Err(e) => Err(sql(e)),
        }
    }

    fn delete_ref(&self, name: &str, expected: &CommitId) -> Result<bool> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM refs WHERE name = ?1 AND head = ?2",
                params![name, expected.as_str()],
            )
            .map_err(sql)?;
        Ok(n == 1)
    }

    fn rename_ref(&self, from: &str, to: &str) -> Result<bool> {
        match self.conn().execute(
            "UPDATE refs SET name = ?2 WHERE name = ?1",
            params![from, to],
        ) {
            Ok(n) => Ok(n == 1),
            Err(e) if is_unique_violation(&e) => Err(Error::RefExists(to.to_string())),
            Err(e) => Err(sql(e)),
        }
    }

    fn commit(
        &self,
        nodes: &[(String, Vec<u8>)],
        commit: &Commit,
        branch: &str,
        expected: &CommitId,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let moved = tx
            .execute(
                "UPDATE refs SET head = ?1 WHERE name = ?2 AND kind = 'branch' AND head = ?3",
                params![commit.id.as_str(), branch, expected.as_str()],
            )
            .map_err(sql)?;
        if moved != 1 {
            return Ok(false);
        }
        insert_commit(&tx, nodes, commit)?;
        tx.commit().map_err(sql)?;
        Ok(true)
    }

    fn move_ref(
        &self,
        name: &str,
        kind: RefKind,
        expected: &CommitId,
        new: &CommitId,
    ) -> Result<bool> {
        let n = self
            .conn()
            .execute(
                "UPDATE refs SET head = ?1 WHERE name = ?2 AND kind = ?3 AND head = ?4",
                params![new.as_str(), name, kind.as_str(), expected.as_str()],
            )
            .map_err(sql)?;
        Ok(n == 1)
    }

    fn get_commit(&self, id: &CommitId) -> Result<Option<Commit>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT parents, generation, tree, author, message, time_ms, properties, operations
                 FROM commits WHERE id = ?1",
            )
            .map_err(sql)?;
        let row = stmt
            .query_row([id.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })
            .optional()
            .map_err(sql)?;
        let Some((parents, generation, tree, author, message, time_ms, props, ops)) = row else {
            return Ok(None);
        };
        let corrupt = |e: serde_json::Error| Error::Corrupt(format!("commit {id}: {e}"));
        Ok(Some(Commit {
            id: id.clone(),
            parents: serde_json::from_str(&parents).map_err(corrupt)?,
            generation: generation as u64,
            tree,
            author,
            message,
            time_ms,
            properties: serde_json::from_str(&props).map_err(corrupt)?,
            operations: serde_json::from_str(&ops).map_err(corrupt)?,
        }))
    }

    fn commits_with_prefix(&self, prefix: &str) -> Result<Vec<CommitId>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT id FROM commits WHERE id >= ?1 AND id < ?2 LIMIT 5")
            .map_err(sql)?;
        let upper = format!("{prefix}\u{7f}");
        let rows = stmt
            .query_map(params![prefix, upper], |r| r.get::<_, String>(0))
            .map_err(sql)?;
        rows.map(|r| r.map(CommitId::from_hex))
            .collect::<rusqlite::Result<_>>()
            .map_err(sql)
    }

    fn get_node(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.conn()
            .prepare_cached("SELECT body FROM tree_nodes WHERE id = ?1")
            .map_err(sql)?
            .query_row([id], |r| r.get(0))
            .optional()
            .map_err(sql)
    }

    fn list_namespaces(&self) -> Result<Vec<Namespace>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT name, created_ms FROM namespaces ORDER BY name")
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Namespace {
                    name: r.get(0)?,
                    created_ms: r.get(1)?,
                })
            })
            .map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    fn create_namespace(&self, name: &str) -> Result<bool> {
        let n = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO namespaces (name, created_ms) VALUES (?1, ?2)",
                params![name, crate::now_ms()],
            )
            .map_err(sql)?;
        Ok(n == 1)
    }

    fn delete_namespace(&self, name: &str) -> Result<bool> {
        let n = self
            .conn()
            .execute("DELETE FROM namespaces WHERE name = ?1", [name])
            .map_err(sql)?;
        Ok(n == 1)
    }

    fn get_setting(&self, key: &str) -> Result<Option<String>> {
        self.conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql)
    }

    fn init_setting(&self, key: &str, value: &str) -> Result<String> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            params![key, value],
        )
        .map_err(sql)?;
        conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .map_err(sql)
    }

    fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(sql)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_a_migrated_database_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        SqliteStore::open(&path)
            .unwrap()
            .set_setting("k", "v")
            .unwrap();
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.get_setting("k").unwrap().as_deref(), Some("v"));
    }

    #[test]
    fn a_database_from_a_newer_bayou_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, Error::SchemaTooNew { .. }), "{err}");
        assert!(err.to_string().contains("upgrade bayou"), "{err}");
    }
}
