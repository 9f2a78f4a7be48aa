//! A model's output as the run holds it ([`Output`]): batches in memory or mapped from the
//! exchange, made visible to later models as tables of the run's DataFusion session.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;

use crate::{Error, NodeError, Preview, Result, exchange};

/// A model's output table: in memory, or mapped from its exchange file (a Python model's
/// output, or a SQL model's that Python functions read).
pub(crate) struct Output {
    pub(crate) schema: SchemaRef,
    pub(crate) batches: Vec<RecordBatch>,
    /// The Arrow IPC file the batches are mapped from.
    pub(crate) file: Option<PathBuf>,
}

impl Output {
    /// Puts its first (or last) rows and its column names into `report`, as `which` asks.
    pub(crate) fn preview_into(&self, report: &mut crate::NodeReport, which: Preview) {
        if which == Preview::Off {
            return;
        }
        report.preview = preview(self, 5, which);
        report.columns = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
    }

    pub(crate) fn rows(&self) -> u64 {
        self.batches.iter().map(|b| b.num_rows() as u64).sum()
    }

    /// Its size: the file's for a mapped table (every mapped buffer reports the whole mapping
    /// as its capacity), else the size of its buffers.
    pub(crate) fn bytes(&self) -> u64 {
        if let Some(len) = self
            .file
            .as_ref()
            .and_then(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
        {
            return len;
        }
        self.batches
            .iter()
            .map(|b| b.get_array_memory_size() as u64)
            .sum()
    }
}

/// Runs `sql` straight into an exchange file for model `name`, one batch in memory at a time,
/// and maps the result: the only copy of the table is the file its readers share. A table
/// that does not fit in shared memory is written again on disk.
pub(crate) async fn sql_to_exchange(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
    exchange: &exchange::Exchange,
    name: &str,
) -> Result<Output, NodeError> {
    let path = sql_to_file(ctx, sql, params, exchange, name).await?;
    let (schema, batches) = exchange::map_ipc(&path).map_err(NodeError::exchange)?;
    Ok(Output {
        schema,
        batches,
        file: Some(path),
    })
}

/// Runs `sql` straight into the exchange file `<name>/out.arrow`, one batch in memory at a
/// time; written again on disk if shared memory fills up. Returns the file.
pub(crate) async fn sql_to_file(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
    exchange: &exchange::Exchange,
    name: &str,
) -> Result<PathBuf, NodeError> {
    let first = exchange.dir(name, 0).map_err(NodeError::exchange)?;
    let dir = match stream_sql(ctx, sql, params, &first).await {
        Err(StreamError::Write(e)) if exchange::is_full(&e) => {
            let disk = exchange.disk_dir(name).map_err(NodeError::exchange)?;
            stream_sql(ctx, sql, params, &disk).await?;
            disk
        }
        other => {
            other?;
            first
        }
    };
    Ok(dir.join("out.arrow"))
}

pub(crate) enum StreamError {
    Query(String),
    Write(Error),
}

impl From<StreamError> for NodeError {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::Query(e) => NodeError::Query(e),
            StreamError::Write(e) => {
                NodeError::Exchange(format!("handing the output to Python: {e}"))
            }
        }
    }
}

/// A model's `sql` planned in `ctx`, its parameters filled in and its columns in the plain
/// types the engine reads as views (what Python and the Iceberg writer expect).
async fn planned(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
) -> datafusion::error::Result<datafusion::prelude::DataFrame> {
    ctx.sql(sql)
        .await?
        .with_param_values(params.clone())
        .and_then(bayou_sql::plain_types)
}

pub(crate) async fn stream_sql(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
    dir: &Path,
) -> Result<(), StreamError> {
    let q = |e: datafusion::error::DataFusionError| StreamError::Query(e.to_string());
    let df = planned(ctx, sql, params).await.map_err(q)?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let mut stream = df.execute_stream().await.map_err(q)?;
    let mut writer =
        exchange::IpcWriter::create(&dir.join("out.arrow"), &schema).map_err(StreamError::Write)?;
    while let Some(batch) = stream.try_next().await.map_err(q)? {
        writer.write(&batch).map_err(StreamError::Write)?;
    }
    writer.finish().map_err(StreamError::Write)
}

/// Makes the lake table `namespace.name`, as `ctx` sees it, the output of model `name`.
pub(crate) async fn stand_in(
    ctx: &SessionContext,
    source: &SessionContext,
    namespace: &str,
    name: &str,
) -> Result<()> {
    let reference = datafusion::sql::TableReference::partial(namespace, name);
    let provider = source
        .table_provider(reference)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    ctx.register_table(name, provider)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(())
}

/// The schema of model `name`'s output as the run holds it: its own output, or the lake table
/// standing in for it.
pub(crate) async fn output_schema(
    ctx: &SessionContext,
    outputs: &HashMap<String, Arc<Output>>,
    name: &str,
) -> Option<SchemaRef> {
    match outputs.get(name) {
        Some(o) => Some(o.schema.clone()),
        None => ctx.table_provider(name).await.ok().map(|t| t.schema()),
    }
}

/// Makes a model's output visible to the models after it, as a table named after the model.
pub(crate) fn publish_output(
    ctx: &SessionContext,
    outputs: &mut HashMap<String, Arc<Output>>,
    name: &str,
    output: Output,
) -> Result<()> {
    let output = Arc::new(output);
    let partitions = dealt(&output.batches, ctx.copied_config().target_partitions());
    let table = MemTable::try_new(output.schema.clone(), partitions)
        .map_err(|e| Error::Internal(e.to_string()))?;
    ctx.register_table(name, Arc::new(table))
        .map_err(|e| Error::Internal(e.to_string()))?;
    outputs.insert(name.to_string(), output);
    Ok(())
}

/// `batches` dealt out to `n` partitions (slices of at most 64k rows, zero-copy), so the
/// models reading them scan on every core rather than one.
fn dealt(batches: &[RecordBatch], n: usize) -> Vec<Vec<RecordBatch>> {
    const ROWS: usize = 64 * 1024;
    let mut parts = vec![Vec::new(); n.max(1)];
    let slices = batches.iter().flat_map(|b| {
        (0..b.num_rows().div_ceil(ROWS))
            .map(move |i| b.slice(i * ROWS, ROWS.min(b.num_rows() - i * ROWS)))
    });
    for (i, slice) in slices.enumerate() {
        let k = i % parts.len();
        parts[k].push(slice);
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        parts.push(Vec::new());
    }
    parts
}

pub(crate) async fn run_sql(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
) -> Result<Output, NodeError> {
    let df = planned(ctx, sql, params).await.map_err(NodeError::query)?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let batches: Vec<RecordBatch> = df
        .execute_stream()
        .await
        .map_err(NodeError::query)?
        .try_collect()
        .await
        .map_err(NodeError::query)?;
    Ok(Output {
        schema,
        batches,
        file: None,
    })
}

/// The first (or, with [`Preview::Tail`], the last) `n` rows of an output as JSON objects.
pub(crate) fn preview(output: &Output, n: usize, which: Preview) -> Vec<serde_json::Value> {
    let skip = match which {
        Preview::Tail => (output.rows() as usize).saturating_sub(n),
        _ => 0,
    };
    let mut writer = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::JsonArray>(Vec::new());
    let (mut skip, mut left) = (skip, n);
    for b in &output.batches {
        if left == 0 {
            break;
        }
        if skip >= b.num_rows() {
            skip -= b.num_rows();
            continue;
        }
        let take = left.min(b.num_rows() - skip);
        if writer.write(&b.slice(skip, take)).is_err() {
            return vec![];
        }
        skip = 0;
        left -= take;
    }
    if writer.finish().is_err() {
        return vec![];
    }
    serde_json::from_slice(&writer.into_inner()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let column = Arc::new(Int64Array::from_iter_values(0..rows));
        RecordBatch::try_new(schema, vec![column]).unwrap()
    }

    #[test]
    fn a_large_output_is_dealt_to_every_partition_with_no_row_lost() {
        let batches = [batch(200_000), batch(10)];
        let parts = dealt(&batches, 2);
        assert_eq!(parts.len(), 2);
        let rows = |p: &Vec<RecordBatch>| p.iter().map(|b| b.num_rows()).sum::<usize>();
        assert!(parts.iter().all(|p| rows(p) > 0));
        assert_eq!(parts.iter().map(rows).sum::<usize>(), 200_010);
        let mut values: Vec<i64> = parts
            .iter()
            .flatten()
            .flat_map(|b| {
                let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                (0..c.len()).map(|i| c.value(i)).collect::<Vec<_>>()
            })
            .collect();
        values.sort_unstable();
        let mut expected: Vec<i64> = (0..200_000).chain(0..10).collect();
        expected.sort_unstable();
        assert_eq!(values, expected);
    }

    #[test]
    fn an_empty_output_is_one_empty_partition() {
        assert_eq!(dealt(&[], 4), vec![Vec::<RecordBatch>::new()]);
    }
}
