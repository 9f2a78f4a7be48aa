//! [`Embedded`]: the [`Service`] over a lake opened in this process.

use async_trait::async_trait;
use bayou_catalog::{Commit, DiffEntry, Namespace, Ref, RefKind, Resolved, TableState};
use bayou_lake::Lake;
use bayou_types::{CommitId, TableKey};

use futures::StreamExt;

use crate::{Error, QueryResult, Result, Service};

/// The lake in this process, acting as its author.
#[derive(Debug, Clone)]
pub struct Embedded {
    lake: Lake,
}

impl Embedded {
    pub fn new(lake: Lake) -> Self {
        Self { lake }
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }
}

#[async_trait]
impl Service for Embedded {
    async fn whoami(&self) -> Result<String> {
        Ok(self.lake.author().to_string())
    }

    async fn active_branch(&self) -> Result<String> {
        Ok(self.lake.catalog().active_branch().await?)
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
        Ok(self.lake.catalog().delete_ref(name, kind).await?)
    }

    async fn rename_branch(&self, from: &str, to: &str) -> Result<()> {
        Ok(self.lake.catalog().rename_branch(from, to).await?)
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

    async fn query(&self, reference: &str, sql: &str) -> Result<QueryResult> {
        let engine = bayou_sql::QueryEngine::new(self.lake.clone());
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
