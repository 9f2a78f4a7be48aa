//! Writing a run's materialized models to its branch, once every node and expectation passed.

use std::collections::HashMap;

use bayou_lake::{Lake, WriteMode};
use bayou_project::Materialization;
use bayou_types::TableKey;
use datafusion::common::ScalarValue;
use futures::StreamExt as _;

use crate::output::Output;
use crate::{Error, Result};

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
    // OVERWRITE_PARTITIONS keeps the existing rows that the overwrite filter does not match
    // and replaces the rest with the model's output, in one new snapshot.
    if let (Materialization::OverwritePartitions, Some(filter)) =
        (&node.materialization, &node.overwrite_filter)
    {
        keep_outside(lake, branch, key, filter, params, &mut write).await?;
    }
    for b in &output.batches {
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

/// Puts the rows of `key` at `branch` that `filter` does not match into `write`, as Iceberg
/// overwrites do: a data file none of whose rows the filter matches is kept as it is, one all
/// of whose rows it matches is dropped, and only the files in between are read (one at a time,
/// streamed) for their rows to keep. Memory is bounded by a batch, not the table. When the
/// write starts the table anew (its schema or partitioning changed), every file's rows to
/// keep are rewritten the same way.
async fn keep_outside(
    lake: &Lake,
    branch: &str,
    key: &TableKey,
    filter: &str,
    params: &HashMap<String, ScalarValue>,
    write: &mut bayou_lake::TableWrite,
) -> Result<()> {
    let head = lake.resolve(branch).await?.commit;
    if lake.catalog().get_table(&head, key).await?.is_none() {
        return Ok(());
    }
    let version = lake.table(&head, branch, key).await?;
    let bad_filter =
        |e: bayou_sql::Error| Error::Usage(format!("overwrite_filter of {key} ({filter}): {e}"));
    let rewrite = match write.builds_on(&version) {
        true => {
            let split = bayou_sql::split_by_filter(lake, key, &version, filter, params)
                .await
                .map_err(bad_filter)?;
            write.keep_files(split.untouched);
            split.straddling
        }
        false => lake.data_files(&version).await?,
    };
    for file in rewrite {
        let mut rows = bayou_sql::rows_outside(lake, key, &version, file, filter, params)
            .await
            .map_err(bad_filter)?;
        while let Some(batch) = rows.next().await {
            let batch =
                batch.map_err(|e| bad_filter(bayou_sql::Error::Execution(e.to_string())))?;
            write.write(&batch).await?;
        }
    }
    Ok(())
}
