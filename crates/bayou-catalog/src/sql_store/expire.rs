//! Expiring the commits no ref reaches (`Store::expire_commits`): one transaction that holds
//! the refs still, walks the history and deletes what neither a ref nor a young commit keeps.

use sqlx::Row;

use super::SqlStore;
use crate::{CommitId, Error, Result};

impl SqlStore {
    pub(super) async fn expire(&self, before_ms: i64, dry_run: bool) -> Result<Vec<CommitId>> {
        let fail = self.fail();
        let mut tx = self.pool.begin().await.map_err(&fail)?;
        // No ref may move or appear while the history is walked, or a commit about to go could
        // become reachable. On SQLite, any write statement takes the database's write lock.
        let hold_refs = match tx.backend_name() {
            "PostgreSQL" => "LOCK TABLE refs IN SHARE ROW EXCLUSIVE MODE",
            _ => "UPDATE refs SET head = head WHERE 1 = 0",
        };
        sqlx::raw_sql(hold_refs)
            .execute(&mut *tx)
            .await
            .map_err(&fail)?;
        let heads: Vec<String> = sqlx::query("SELECT head FROM refs")
            .fetch_all(&mut *tx)
            .await
            .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
            .map_err(&fail)?;
        let rows = sqlx::query("SELECT id, parents, time_ms FROM commits")
            .fetch_all(&mut *tx)
            .await
            .map_err(&fail)?;
        let mut commits = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get(0).map_err(&fail)?;
            let parents: String = row.try_get(1).map_err(&fail)?;
            let parents: Vec<String> = serde_json::from_str(&parents)
                .map_err(|e| Error::Corrupt(format!("commit {id}: {e}")))?;
            let time_ms: i64 = row.try_get(2).map_err(&fail)?;
            commits.insert(id, (parents, time_ms));
        }
        let expired = unreachable(&commits, heads, before_ms);
        if !dry_run {
            // In batches: every writer waits for the refs meanwhile.
            for batch in expired.chunks(500) {
                let marks: Vec<String> = (1..=batch.len()).map(|i| format!("${i}")).collect();
                let sql = format!("DELETE FROM commits WHERE id IN ({})", marks.join(", "));
                let mut delete = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in batch {
                    delete = delete.bind(id);
                }
                delete.execute(&mut *tx).await.map_err(&fail)?;
            }
        }
        tx.commit().await.map_err(&fail)?;
        Ok(expired.into_iter().map(CommitId::from_hex).collect())
    }
}

/// The commits (id -> parents, time) that neither a ref head nor a commit made at or after
/// `before_ms` reaches through parents, sorted: a kept commit keeps its whole history.
fn unreachable(
    commits: &std::collections::HashMap<String, (Vec<String>, i64)>,
    heads: Vec<String>,
    before_ms: i64,
) -> Vec<String> {
    let young = commits
        .iter()
        .filter(|(_, (_, time_ms))| *time_ms >= before_ms)
        .map(|(id, _)| id.clone());
    let mut reached = std::collections::HashSet::new();
    let mut stack: Vec<String> = heads.into_iter().chain(young).collect();
    while let Some(id) = stack.pop() {
        if let Some((parents, _)) = commits.get(&id)
            && reached.insert(id)
        {
            stack.extend(parents.iter().cloned());
        }
    }
    let mut gone: Vec<String> = commits
        .keys()
        .filter(|id| !reached.contains(*id))
        .cloned()
        .collect();
    gone.sort();
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_commit_keeps_its_whole_history() {
        let commits: std::collections::HashMap<String, (Vec<String>, i64)> = [
            ("root", vec![], 1),
            ("main", vec!["root"], 2),
            // A deleted branch: an old commit, then a young one on top of it.
            ("old", vec!["root"], 3),
            ("young", vec!["old"], 10),
            // Another deleted branch, all old; and a merge of it that is gone too.
            ("gone", vec!["root"], 4),
            ("gone_merge", vec!["main", "gone"], 5),
        ]
        .into_iter()
        .map(|(id, parents, t)| {
            let parents = parents.into_iter().map(String::from).collect();
            (id.to_string(), (parents, t))
        })
        .collect();
        assert_eq!(
            unreachable(&commits, vec!["main".into()], 10),
            ["gone", "gone_merge"]
        );
        assert_eq!(
            unreachable(&commits, vec!["main".into()], 11),
            ["gone", "gone_merge", "old", "young"]
        );
    }
}
