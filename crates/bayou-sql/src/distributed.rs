//! Queries over large scans, spread across workers with `datafusion-distributed`.
//!
//! A query is planned as ever; when its plan reads only Parquet files of the lake (every leaf a
//! `DataSourceExec`, so the plan serializes) and they add up to at least
//! [`Distribution::min_bytes`], `DistributedPhysicalOptimizerRule` cuts it into stages whose
//! tasks run on the workers [`Workers::urls`] names (each worker serves
//! `datafusion_distributed::Worker` beside its Flight endpoint). Smaller queries stay here:
//! shipping a plan costs more than scanning a few megabytes.

use std::sync::Arc;

use datafusion::config::ConfigOptions;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::DataFusionError;
use datafusion::physical_optimizer::PhysicalOptimizerRule as _;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_distributed::{DistributedPhysicalOptimizerRule, WorkerResolver};

/// Where distributed queries run: the workers up now.
pub trait Workers: Send + Sync + std::fmt::Debug {
    /// Each worker's endpoint (`http://HOST:PORT`), as of now.
    fn urls(&self) -> Vec<url::Url>;
    /// What workers accept from each other and from the server (the exchange token).
    fn token(&self) -> String;
}

/// The headers every call of a distributed query carries to the workers, and they to each
/// other: the exchange token, without which a worker runs no task.
pub fn credentials(token: &str) -> Result<http::HeaderMap, DataFusionError> {
    let mut headers = http::HeaderMap::new();
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| DataFusionError::Configuration("a malformed exchange token".into()))?;
    headers.insert(http::header::AUTHORIZATION, value);
    Ok(headers)
}

/// When and where queries go distributed.
#[derive(Debug, Clone)]
pub struct Distribution {
    pub workers: Arc<dyn Workers>,
    /// Bytes of Parquet a query must scan to be distributed.
    pub min_bytes: u64,
}

/// [`Workers`] as datafusion-distributed asks for them.
#[derive(Debug)]
pub(crate) struct Resolver(pub(crate) Arc<dyn Workers>);

impl WorkerResolver for Resolver {
    fn get_urls(&self) -> Result<Vec<url::Url>, DataFusionError> {
        Ok(self.0.urls())
    }
}

/// Bytes of the Parquet files `plan` scans; `None` when a leaf is anything else (an in-memory
/// table, a custom scan), which the plan's codec could not send to a worker.
pub(crate) fn parquet_bytes(plan: &Arc<dyn ExecutionPlan>) -> Option<u64> {
    let children = plan.children();
    if children.is_empty() {
        let source = plan.as_any().downcast_ref::<DataSourceExec>()?;
        let files = source
            .data_source()
            .as_any()
            .downcast_ref::<FileScanConfig>()?;
        let bytes = files
            .file_groups
            .iter()
            .flat_map(|g| g.files())
            .map(|f| f.object_meta.size)
            .sum();
        return Some(bytes);
    }
    children
        .into_iter()
        .map(parquet_bytes)
        .try_fold(0u64, |sum, b| Some(sum + b?))
}

/// `plan` spread over the workers when it qualifies (see the module's doc), else as it is;
/// with whether it was.
pub(crate) fn distribute(
    plan: Arc<dyn ExecutionPlan>,
    config: &ConfigOptions,
    distribution: &Distribution,
) -> Result<(Arc<dyn ExecutionPlan>, bool), DataFusionError> {
    let big = parquet_bytes(&plan).is_some_and(|b| b >= distribution.min_bytes);
    if !big || distribution.workers.urls().is_empty() {
        return Ok((plan, false));
    }
    let spread = DistributedPhysicalOptimizerRule.optimize(plan.clone(), config)?;
    let changed = !Arc::ptr_eq(&spread, &plan);
    Ok((spread, changed))
}
