//! Writing a run's materialized models to its branch, once every node and expectation passed.

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;
use bayou_lake::{Lake, WriteMode};
use bayou_project::Materialization;
use bayou_sql::QueryEngine;
use bayou_types::TableKey;
use datafusion::common::ScalarValue;

use crate::output::{Output, run_sql};
use crate::{Error, Result, quote};

/// Writes `output`, the output of `node`, as table `key` on `branch` the way its strategy
/// says: a new table or a replacement, an append, or the rows of the partitions its overwrite
/// filter names replaced. One commit, carrying the run's id.
pub(crate) async fn write(
    lake: &Lake,
    branch: &str,
    key: &TableKey,
    node: &bayou_project::Node,
    output: &Output,
    params: &HashMap<String, ScalarValue>,
    run_id: &str,
) -> Result<bayou_lake::WriteOutcome> {
    let mode = match node.materialization {
        Materialization::Append
            if lake
                .catalog()
                .get_table(&lake.resolve(branch).await?.commit, key)
                .await?
                .is_some() =>
        {
            WriteMode::Append
        }
        _ => WriteMode::Replace,
    };
    // OVERWRITE_PARTITIONS keeps the existing rows that the overwrite filter does not
    // match and replaces the rest with the model's output, in one new snapshot.
    let kept = match (&node.materialization, &node.overwrite_filter) {
        (Materialization::OverwritePartitions, Some(filter)) => {
            kept_rows(lake, branch, key, filter, params).await?
        }
        _ => vec![],
    };
    let mut write = lake
        .begin_write(
            branch,
            key,
            mode,
            &output.schema,
            &format!("model '{}'", node.name),
            node.partitioned_by.as_deref(),
        )
        .await?
        .with_properties(crate::run_properties(run_id));
    for b in kept.iter().chain(&output.batches) {
        write.write(b).await?;
    }
    write
        .commit(&format!(
            "run {run_id}: {} {key}",
            if mode == WriteMode::Append {
                "append to"
            } else {
                "replace"
            }
        ))
        .await
        .map_err(Error::from)
}

/// The rows of `key` at `branch` that `filter` does not match (none if the table is new).
pub(crate) async fn kept_rows(
    lake: &Lake,
    branch: &str,
    key: &TableKey,
    filter: &str,
    params: &HashMap<String, ScalarValue>,
) -> Result<Vec<RecordBatch>> {
    if lake
        .catalog()
        .get_table(&lake.resolve(branch).await?.commit, key)
        .await?
        .is_none()
    {
        return Ok(vec![]);
    }
    // A fresh session: the run's session shows model outputs in place of lake tables.
    let (ctx, _, _) = QueryEngine::new(lake.clone()).session(branch).await?;
    let sql = format!(
        "SELECT * FROM {}.{} WHERE NOT COALESCE(({filter}), FALSE)",
        quote(&key.namespace),
        quote(&key.name)
    );
    let output = run_sql(&ctx, &sql, params)
        .await
        .map_err(|e| Error::Usage(format!("overwrite_filter of {key} ({filter}): {e}")))?;
    Ok(output.batches)
}
