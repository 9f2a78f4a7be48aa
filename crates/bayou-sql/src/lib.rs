//! bayou's SQL engine: DataFusion over the tables of one ref.
//!
//! Entry point: [`QueryEngine::query`]. Every namespace of the lake is a SQL schema and the
//! default namespace is searched first, so `taxi_zones` and `bayou.taxi_zones` both work.
//! Filters prune whole data files by the column bounds in Iceberg manifests before any Parquet
//! is opened, then row groups (and pages) by Parquet statistics. Scans deal row groups out to
//! the cores (`partitions.rs`), read strings as views and cast them back on the way out
//! ([`plain_types`]); a [`QueryCache`] keeps Parquet footers between queries. One optimizer rule
//! of bayou's own aggregates a large table before joining it to small ones (`eager.rs`). A
//! server with workers spreads queries over large scans across them ([`Distribution`]).
//!
//! Trade-off: identifiers are case-sensitive as written (no lower-casing), so mixed-case column
//! names such as `PULocationID` need no quotes; `pulocationid` does not match them.

mod distributed;
mod eager;
mod memory;
mod overwrite;
mod partitions;
mod provider;
mod types;

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bayou_lake::Lake;
use bayou_types::DEFAULT_NAMESPACE;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::TryStreamExt;

pub use distributed::{Distribution, Workers, credentials};
pub use memory::MemoryTable;
pub use overwrite::{FileSplit, rows_outside, split_by_filter};
pub use provider::{LakeCatalog, LakeTable, ScanLog, ScanRecord};
pub use types::plain_types;

/// The SQL catalog name tables are registered under.
pub const SQL_CATALOG: &str = "bayou";

/// Errors from planning or running a query.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Lake(#[from] bayou_lake::Error),
    #[error("invalid SQL: {0}\n  hint: check the query near the position shown")]
    Sql(String),
    #[error("query failed: {0}")]
    Plan(String),
    #[error("query failed while running: {0}")]
    Execution(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A query's result as a stream of batches.
pub struct QueryStream {
    pub schema: SchemaRef,
    pub stream: SendableRecordBatchStream,
    /// The resolved commit the query reads.
    pub commit: bayou_types::CommitId,
    pub scans: ScanLog,
    /// Whether it runs across workers.
    pub distributed: bool,
}

impl QueryStream {
    /// The next batch of the answer, `None` once it is all read.
    pub async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        self.stream
            .try_next()
            .await
            .map_err(|e| Error::Execution(e.to_string()))
            .transpose()
    }

    pub async fn collect(self) -> Result<Vec<RecordBatch>> {
        self.stream
            .try_collect()
            .await
            .map_err(|e| Error::Execution(e.to_string()))
    }
}

/// What queries keep between them: the Parquet footers and page indexes of the data files
/// they read (data files are immutable, so an entry never goes stale; at most 50 MiB, least
/// recently used out first). One per process, shared by every query of every caller.
#[derive(Debug, Clone)]
pub struct QueryCache {
    runtime: Arc<RuntimeEnv>,
    /// Where queries over large scans go (a server's workers); `None`: every query runs here.
    distribution: Option<Distribution>,
}

impl Default for QueryCache {
    fn default() -> Self {
        Self {
            runtime: Arc::new(RuntimeEnv::default()),
            distribution: None,
        }
    }
}

impl QueryCache {
    /// Queries through this cache that scan at least `distribution.min_bytes` of Parquet run
    /// across its workers.
    pub fn with_distribution(mut self, distribution: Distribution) -> Self {
        self.distribution = Some(distribution);
        self
    }
}

/// Runs SQL over a lake.
#[derive(Debug, Clone)]
pub struct QueryEngine {
    lake: Lake,
    cache: QueryCache,
}

impl QueryEngine {
    /// An engine with a cache of its own.
    pub fn new(lake: Lake) -> Self {
        Self::with_cache(lake, QueryCache::default())
    }

    /// An engine sharing `cache` with others over the same storage.
    pub fn with_cache(lake: Lake, cache: QueryCache) -> Self {
        let store_url = lake.storage().store_url().clone();
        cache
            .runtime
            .register_object_store(&store_url, lake.storage().object_store().clone());
        Self { lake, cache }
    }

    /// A DataFusion session whose tables are the lake's tables at `reference`.
    pub async fn session(
        &self,
        reference: &str,
    ) -> Result<(SessionContext, bayou_types::CommitId, ScanLog)> {
        let resolved = self.lake.resolve(reference).await?;
        let mut config = SessionConfig::new()
            .with_default_catalog_and_schema(SQL_CATALOG, DEFAULT_NAMESPACE)
            .with_information_schema(true);
        let opts = config.options_mut();
        opts.sql_parser.enable_ident_normalization = false;
        // Late materialization (`pushdown_filters`) measured 2.5x slower on the taxi benchmark's
        // filtered count; row-group and page pruning by statistics stay on either way.
        opts.execution.parquet.pushdown_filters = false;
        if let Some(d) = &self.cache.distribution {
            use datafusion_distributed::DistributedExt as _;
            config.set_distributed_worker_resolver(distributed::Resolver(d.workers.clone()));
            // A task per data file (at most one per worker and stage).
            config
                .set_distributed_files_per_task(1)
                .and_then(|()| {
                    let token = distributed::credentials(&d.workers.token())?;
                    config.set_distributed_passthrough_headers(token)
                })
                .map_err(|e| Error::Plan(e.to_string()))?;
        }
        let ctx = SessionContext::new_with_config_rt(config, self.cache.runtime.clone());
        ctx.add_optimizer_rule(Arc::new(eager::EagerAggregation));
        let scans = ScanLog::default();
        let catalog =
            LakeCatalog::new(&self.lake, &resolved.commit, reference, scans.clone()).await?;
        ctx.register_catalog(SQL_CATALOG, Arc::new(catalog));
        Ok((ctx, resolved.commit, scans))
    }

    /// Plans and starts `sql` at `reference`. Queries only read: statements that would create,
    /// change or write anything (`CREATE`, `INSERT`, `COPY ... TO`, `SET`) are refused, so a
    /// query can never write files behind the catalog's back (on a server, as its host).
    pub async fn query(&self, reference: &str, sql: &str) -> Result<QueryStream> {
        let (ctx, commit, scans) = self.session(reference).await?;
        let read_only = datafusion::execution::context::SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = ctx
            .sql_with_options(sql, read_only)
            .await
            .map_err(|e| match classify(e) {
                Error::Plan(msg) if msg.contains("not supported") || msg.contains("not allowed") => {
                    Error::Sql(format!(
                        "{msg}\n  hint: `bayou query` only reads; write tables with `bayou table create|import` or a project's models"
                    ))
                }
                Error::Plan(msg) if msg.starts_with("table '") && msg.ends_with("' not found") => {
                    let quoted = &msg["table '".len()..msg.len() - "' not found".len()];
                    let name = quoted.strip_prefix("bayou.").unwrap_or(quoted);
                    Error::Plan(format!(
                        "table '{name}' not found\n  hint: `bayou table ls` lists the tables (`--ref REF` those of another ref)"
                    ))
                }
                other => other,
            })?;
        let df = plain_types(df).map_err(classify)?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let plan = df.create_physical_plan().await.map_err(classify)?;
        let (plan, distributed) = match &self.cache.distribution {
            Some(d) => {
                distributed::distribute(plan, ctx.state().config_options(), d).map_err(classify)?
            }
            None => (plan, false),
        };
        let stream =
            datafusion::physical_plan::execute_stream(plan, ctx.task_ctx()).map_err(classify)?;
        Ok(QueryStream {
            schema,
            stream,
            commit,
            scans,
            distributed,
        })
    }
}

fn classify(e: datafusion::error::DataFusionError) -> Error {
    use datafusion::error::DataFusionError as E;
    match e.find_root() {
        E::SQL(err, _) => Error::Sql(err.to_string()),
        E::External(inner) => Error::Plan(inner.to_string()),
        E::Plan(msg) => Error::Plan(msg.clone()),
        other => Error::Plan(other.to_string()),
    }
}
