//! Reusing an earlier execution's output from the [`crate::cache::NodeCache`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bayou_lake::Lake;
use bayou_types::{CommitId, TableKey};
use datafusion::prelude::SessionContext;

use crate::output::{Output, publish_output, stand_in};
use crate::{Error, NodeReport, NodeStatus, Preview, Result, cache, exchange};

/// Reuses node's earlier output if the cache has one for `fp` that still holds: returns its
/// report and whether it is a REPLACE model whose table needs no writing.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
pub(crate) async fn reuse(
    lake: &Lake,
    ctx: &SessionContext,
    node_cache: &cache::NodeCache,
    fp: &str,
    node: &bayou_project::Node,
    namespace: &str,
    base: &CommitId,
    outputs: &mut HashMap<String, Arc<Output>>,
    preview_rows: Preview,
) -> Result<Option<(NodeReport, bool)>> {
    let Some(entry) = node_cache.get(fp) else {
        return Ok(None);
    };
    let mut report = NodeReport::new(node);
    report.cached = true;
    report.rows = entry.rows;
    let clock = Instant::now();
    let table = match entry.stored {
        cache::Stored::Verdict { passed, reason } => {
            if !passed {
                report.status = NodeStatus::ExpectationFailed;
                report.error = reason;
            }
            false
        }
        cache::Stored::File => {
            let path = node_cache.file(fp);
            let Ok((schema, batches)) = exchange::map_ipc(&path) else {
                node_cache.evict(fp); // damaged: the execution that follows stores it anew
                return Ok(None);
            };
            let output = Output {
                schema,
                batches,
                file: Some(path),
            };
            report.bytes = Some(output.bytes());
            output.preview_into(&mut report, preview_rows);
            publish_output(ctx, outputs, &node.name, output)?;
            false
        }
        cache::Stored::Table {
            table,
            metadata_location,
        } => {
            // Only while the branch still holds the very table it wrote.
            let key =
                TableKey::new(namespace, &node.name).map_err(|e| Error::Usage(e.to_string()))?;
            let current = lake.catalog().get_table(base, &key).await?;
            if table != key.to_string()
                || current.is_none_or(|t| t.metadata_location != metadata_location)
            {
                return Ok(None);
            }
            stand_in(ctx, ctx, namespace, &node.name).await?;
            true
        }
    };
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(Some((report, table)))
}
